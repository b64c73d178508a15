#!/bin/sh
# t4006-memory: the daemon's resident memory stays bounded (issue 6).
#
# VmRSS of the daemon is sampled every 50 ms while
#   - a 2 GiB sparse file (10 GiB with VAULTFS_TORTURE=1) is written and read
#     at random offsets in pieces of up to 1 MiB (tests/helpers/memio.c,
#     which also checks every word read), and
#   - 20,000 files (100,000 with VAULTFS_TORTURE=1) are created in 1000-file
#     directories, stat'ed and sampled.
# The bound, RSS_BOUND_KB (default 65536 = 64 MiB), follows from the design:
# each open document caches about two chunk slots (2 x 68 KiB with 64 KiB
# chunks, at most 2 x 1 MiB), each of the 16 FUSE worker threads holds at
# most one request of up to 1 MiB (max_write, max_readahead) plus a reply
# buffer of the same size, and an inode costs a few hundred bytes: 16 x
# 2 MiB + a few MiB for 100,000 inodes stays under 64 MiB, whatever the file
# sizes.  The peak and the growth are printed.
#
# Leaks: when valgrind is installed, a mount, some work and the unmount run
# under valgrind --leak-check=full (VAULTFS_TORTURE=1 only, or
# LEAKCHECK=1); when the daemon is built with AddressSanitizer (make
# check-asan), its LeakSanitizer report at exit is checked in every run.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper memio
MEMIO=$HELPERS/memio
bound=${RSS_BOUND_KB:-65536}
if [ -n "$VAULTFS_TORTURE" ]; then
	sparse_size=$((10 << 30)) sparse_ops=${MEMIO_OPS:-8000} nfiles=100000
else
	sparse_size=$((2 << 30)) sparse_ops=${MEMIO_OPS:-1500} nfiles=20000
fi
# many files need many descriptors in the daemon (one per inode the kernel
# holds); give it the hard limit, as a daemon serving many files should
ulimit -n "$(ulimit -Hn)" 2>/dev/null

make_vault || abort "vaultctl init failed (exit $RC)"
mount_vault || abort "mount failed (exit $RC)"
pid=$(daemon_pids "$MNT")
[ -n "$pid" ] || abort "cannot find the daemon's pid"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
base=$(rss "$pid")
diag "daemon $pid: VmRSS $base KiB after mounting (fd limit $(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits"))"

# sample PID FILE: VmRSS every 50 ms into FILE until killed
sample() {
	while kill -0 "$1" 2>/dev/null; do
		rss "$1"
		sleep 0.05
	done >"$2"
}
peak() { sort -n "$1" | tail -n 1; }

# --- a big sparse file -----------------------------------------------------------
sample "$pid" "$T/rss.sparse" &
spid=$!
run "$MEMIO" sparse -s 6 -n "$sparse_ops" -z "$sparse_size" "$MNT/sparse.bin"
kill $spid 2>/dev/null
wait $spid 2>/dev/null
is "$RC" 0 "random I/O on a $((sparse_size >> 30)) GiB sparse file, every word read checked"
[ "$RC" = 0 ] && diag "$OUT"
[ "$RC" = 0 ] || { diag_file "$T/out"; diag_file "$T/err"; }
p1=$(peak "$T/rss.sparse")
diag "peak VmRSS during sparse I/O: ${p1:-?} KiB ($(wc -l <"$T/rss.sparse") samples)"
# rss_ok DESC PEAK: the bound holds (not checked for sanitizer builds,
# whose quarantine and shadow memory are hundreds of MiB)
rss_ok() {
	if grep -q -e __asan_init -e __tsan_init "$VAULTFS" 2>/dev/null; then
		skip "$1: RSS bound not meaningful in a sanitizer build"
	else
		ok "$1" test "${2:-999999999}" -lt "$bound"
	fi
}
rss_ok "  peak RSS ${p1:-?} KiB stays under $bound KiB" "$p1"
is "$(stat -c %s "$MNT/sparse.bin")" "$sparse_size" "  the file keeps its size"
rm -f "$MNT/sparse.bin"

# --- many files ----------------------------------------------------------------------
mkdir "$MNT/many"
sample "$pid" "$T/rss.many" &
spid=$!
TIMEOUT=600 run "$MEMIO" create "$MNT/many" "$nfiles"
kill $spid 2>/dev/null
wait $spid 2>/dev/null
# todo DESC WHY: a failing point marked TODO (a known bug, reported)
todo() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $1 # TODO bug: $2"
}
emfile="the daemon keeps one descriptor per inode the kernel remembers; it raises its limit as far as allowed, but past the hard limit it gets EMFILE (limit $(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits"))"
if [ "$RC" = 0 ]; then
	pass "$nfiles files created, stat'ed and sampled"
elif grep -q 'Too many open files' "$T/err"; then
	todo "$nfiles files created, stat'ed and sampled" "$emfile"
	diag "$(cat "$T/err")"
else
	fail "$nfiles files created, stat'ed and sampled (exit $RC)" "$(head -c 300 "$T/err")"
fi
p2=$(peak "$T/rss.many")
diag "peak VmRSS while creating $nfiles files: ${p2:-?} KiB"
rss_ok "  peak RSS ${p2:-?} KiB stays under $bound KiB" "$p2"
n=$(find "$MNT/many" -type f 2>"$T/find.err" | wc -l)
if [ "$n" = "$nfiles" ]; then
	pass "  find counts them all"
elif grep -q 'Too many open files' "$T/find.err" "$T/err"; then
	todo "  find counts them all (found $n)" "$emfile"
else
	fail "  find counts them all" "found $n"
	diag_file "$T/find.err"
fi
ok "the daemon is alive" daemon_alive
nfd=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
diag "daemon holds $nfd descriptors; VmRSS now $(rss "$pid") KiB"
ok "unmount" umount_vault
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "fsck clean after the load"
[ "$RC" = 0 ] || diag_file "$T/out"

# --- running out of descriptors -----------------------------------------------------
# A daemon with only 128 descriptors: it needs none for the files the
# kernel remembers, so creating 300 files one after another works; holding
# 300 open at once must fail with EMFILE at some point, never crash the
# daemon; what was created survives, the create that failed leaves nothing.
(ulimit -n 128 && mount_vault) || abort "mount with 128 descriptors failed"
_mounted="$_mounted $MNT"
mkdir "$MNT/fds" "$MNT/held"
run "$MEMIO" create "$MNT/fds" 300
is "$RC" 0 "128 descriptors: creating 300 files one after another works"
[ "$RC" = 0 ] || diag "$ERR"
run "$MEMIO" hold "$MNT/held" 300
like "$ERR" "*Too many open files*" "128 descriptors: holding 300 files open at once fails with EMFILE"
made=$(sed -n 's/.*creating file \([0-9]*\) of.*/\1/p' "$T/err")
ok "  the daemon is alive" daemon_alive
ok "  unmount" umount_vault
mount_vault || abort "remount failed"
found=$(find "$MNT/fds" -type f | wc -l)
is "$found" 300 "  after a remount the 300 files created one by one are there"
found=$(find "$MNT/held" -type f | wc -l)
is "$found" "${made:-300}" "  and of those held open, the ${made:-300} made before the error, no more"
ok "  unmount" umount_vault
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "  fsck clean"

# --- leaks ------------------------------------------------------------------------------
# leakrun DESC CMD...: mount in the foreground under CMD, do some work,
# unmount; the output of CMD goes to $T/leak.log
leakrun() {
	_d=$1
	shift
	"$@" "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" -f >"$T/leak.log" 2>&1 &
	_lp=$!
	_i=0
	while ! mountpoint -q "$MNT"; do
		_i=$((_i + 1))
		if [ $_i -ge 600 ] || ! kill -0 $_lp 2>/dev/null; then
			fail "$_d: mount in the foreground"
			diag_file "$T/leak.log"
			kill $_lp 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	_mounted="$_mounted $MNT"
	mkdir -p "$MNT/leak"
	"$MEMIO" create "$MNT/leak" 300 >/dev/null
	"$MEMIO" sparse -s 3 -n 100 -z 67108864 "$MNT/leak/sparse" >/dev/null
	ln -s target "$MNT/leak/link"
	mv "$MNT/leak/d0" "$MNT/leak/moved"
	rm -rf "$MNT/leak/moved"
	cat "$MNT/leak/sparse" >/dev/null
	fusermount3 -u "$MNT"
	TIMEOUT=300 tmo sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 0.2; done' sh $_lp
	wait $_lp
}
if grep -q __asan_init "$VAULTFS" 2>/dev/null; then
	leakrun "LeakSanitizer" env ASAN_OPTIONS=detect_leaks=1
	rc=$?
	unlike "$(cat "$T/leak.log")" "*LeakSanitizer*" "AddressSanitizer build: no leaks across mount, work and unmount"
	unlike "$(cat "$T/leak.log")" "*ERROR: AddressSanitizer*" "  and no memory errors"
	grep -A12 -e 'ERROR: LeakSanitizer' -e 'ERROR: AddressSanitizer' "$T/leak.log" | sed 's/^/#   /' | head -n 40
else
	skip "daemon not built with AddressSanitizer (make check-asan runs this)" 2
fi
if command -v valgrind >/dev/null 2>&1 &&
   { [ -n "$VAULTFS_TORTURE" ] || [ -n "$LEAKCHECK" ]; } &&
   ! grep -q __asan_init "$VAULTFS" 2>/dev/null; then
	leakrun "valgrind" valgrind --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 --track-fds=no
	rc=$?
	is "$rc" 0 "valgrind: no definite leaks, no memory errors (exit $rc)"
	grep -e 'definitely lost' -e 'ERROR SUMMARY' "$T/leak.log" | sed 's/^/#   /'
	[ "$rc" = 0 ] || grep -B2 -A15 -e 'definitely lost in' -e 'Invalid' "$T/leak.log" |
		head -n 60 | sed 's/^/#   /'
else
	skip "valgrind leak check (needs valgrind and VAULTFS_TORTURE=1 or LEAKCHECK=1)"
fi
done_testing
