#!/bin/sh
# bench.sh - `make bench`: compare vaultfs with a native directory, plain FUSE
# passthrough (libfuse's passthrough_ll example) and gocryptfs.  See README.
#
# Environment:
#   BENCH_SIZE_MB    size of the sequential/random file (default 256); the
#                    text corpus is half of it, the tree scales with it
#   BENCH_REPEAT     runs per measurement, the median is reported (default 1)
#   BENCH_RAND_OPS   4 KiB operations per random phase (default 20000)
#   BENCH_TARGETS    subset of "native passthrough gocryptfs vaultfs noaudit"
#   BENCH_TMPDIR     where the work directory goes (default /var/tmp)
#   BENCH_OUT        where programs and results.json go (default build/bench)
#   BENCH_PT_OPTS    extra -o options for passthrough_ll (e.g. writeback)
#   BENCH_VAULTFS_OPTS extra -o options for vaultfs (e.g. no_writeback)
#   BENCH_TIMEOUT    seconds before one phase is given up (default 900)
#   BENCH_MOUNTS     timed mounts+unmounts per target and run, the median
#                    is reported (default 5)
#   VAULTFS_BIN      directory holding vaultfs and vaultctl (default bin)
#   VAULTFS_NOAUDIT_BIN  the same, built with -DVAULTFS_BENCH_NO_AUDIT (no
#                    access log; `make bench` builds it into
#                    build/bench-noaudit/bin, the default): target noaudit
#
# Must run as root (drop_caches).  Every target works in one temporary
# directory on one file system; a trap unmounts and removes it.
# Word splitting of $(...) is wanted where the bench-io output is parsed.
# shellcheck disable=SC2046,SC2016,SC1003,SC2154,SC2317
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${BENCH_OUT:-$ROOT/build/bench}
VBIN=${VAULTFS_BIN:-$ROOT/bin}
SIZE=${BENCH_SIZE_MB:-256}
REPEAT=${BENCH_REPEAT:-1}
OPS=${BENCH_RAND_OPS:-20000}
NABIN=${VAULTFS_NOAUDIT_BIN:-$ROOT/build/bench-noaudit/bin}
TARGETS=${BENCH_TARGETS:-native passthrough gocryptfs vaultfs noaudit}
TMPROOT=${BENCH_TMPDIR:-/var/tmp}
LIMIT=${BENCH_TIMEOUT:-900}
MOUNTS=${BENCH_MOUNTS:-5}
ALL_TARGETS="native passthrough gocryptfs vaultfs noaudit"
KEYS="seqw seqr corpw corpr randr randw untar lsr readall rmrf"
MOUNT_KEYS="mount_total mount_kdf mount_other umount"
RSS_KEYS="rss_mount rss_seq rss_meta rss_all"
CORPUS_FILES="text.txt headers.h scripts.txt data.csv"

msg() { printf 'bench: %s\n' "$*" >&2; }
die() { msg "$*"; exit 1; }

for v in SIZE REPEAT OPS LIMIT MOUNTS; do
	eval "val=\$$v"
	case $val in
	''|*[!0-9]*|0) die "BENCH_${v} must be a positive integer, got '$val'" ;;
	esac
done
[ "$SIZE" -ge 8 ] || die "BENCH_SIZE_MB must be at least 8"
[ "$(id -u)" = 0 ] || die "must run as root (it drops the page cache and mounts); try: sudo make bench"
for t in $TARGETS; do
	case " $ALL_TARGETS " in
	*" $t "*) ;;
	*) die "unknown target '$t' in BENCH_TARGETS (known: $ALL_TARGETS)" ;;
	esac
done

CORPUS_MB=$((SIZE / 2))
NFILES=$((SIZE * 5000 / 256))
[ "$NFILES" -ge 200 ] || NFILES=200
NDIRS=$((NFILES / 20))

# ---------------------------------------------------------------- tools
need_pkg() {	# need_pkg COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	msg "installing $2"
	apt-get install -y -qq "$2" >/dev/null 2>&1 ||
	{ apt-get update -qq >/dev/null 2>&1 &&
	  apt-get install -y -qq "$2" >/dev/null 2>&1; }
	command -v "$1" >/dev/null 2>&1
}
need_pkg zstd zstd || msg "zstd is missing: no zstd -3 reference"
need_pkg fusermount3 fuse3 || die "fusermount3 is missing: install fuse3"
HAVE_GOCRYPTFS=1
need_pkg gocryptfs gocryptfs || {
	msg "gocryptfs is missing and could not be installed: column n/a"
	HAVE_GOCRYPTFS=0
}

mkdir -p "$OUT" || die "cannot create '$OUT'"
BIO=$OUT/bench-io
cc -O2 -std=c11 -Wall -Wextra -o "$BIO" "$ROOT/tests/bench/bench-io.c" ||
	die "cannot compile tests/bench/bench-io.c"

HAVE_PT=1
EX=/usr/share/doc/libfuse3-dev/examples
PTSRC=$OUT/passthrough-src
mkdir -p "$PTSRC"
for f in passthrough_ll.c passthrough_helpers.h; do
	if [ -f "$EX/$f" ]; then
		cp "$EX/$f" "$PTSRC/$f"
	elif [ -f "$EX/$f.gz" ]; then
		gzip -dc "$EX/$f.gz" >"$PTSRC/$f"
	else
		HAVE_PT=0
	fi
done
if [ "$HAVE_PT" = 1 ]; then
	cc -O2 -o "$OUT/passthrough_ll" "$PTSRC/passthrough_ll.c" \
		$(pkg-config --cflags --libs fuse3) || HAVE_PT=0
fi
[ "$HAVE_PT" = 1 ] || msg "cannot build libfuse's passthrough_ll (libfuse3-dev examples in $EX): column n/a"

# Argon2id alone, with the parameters the vault records (bench-kdf.c)
KDFB=$OUT/bench-kdf
HAVE_KDF=1
cc -O2 -std=c11 -Wall -Wextra -o "$KDFB" "$ROOT/tests/bench/bench-kdf.c" \
	$(pkg-config --cflags --libs libsodium) || {
	msg "cannot compile tests/bench/bench-kdf.c: no Argon2id rows"
	HAVE_KDF=0
}

HAVE_VAULTFS=1
V_CHUNK='' V_COMP='' V_KDF=''
if [ ! -x "$VBIN/vaultfs" ] || [ ! -x "$VBIN/vaultctl" ]; then
	msg "no vaultfs/vaultctl in '$VBIN' (run make, or set VAULTFS_BIN): column n/a"
	HAVE_VAULTFS=0
fi
# The benchmark-only build without the access log: it must say so at mount
# (checked below), and the normal build must not.
NA_WARNING='BENCHMARK-ONLY BUILD'
HAVE_NOAUDIT=1
if [ ! -x "$NABIN/vaultfs" ] || [ ! -x "$NABIN/vaultctl" ]; then
	case " $TARGETS " in
	*" noaudit "*) msg "no benchmark-only vaultfs in '$NABIN' (make bench builds it; or set VAULTFS_NOAUDIT_BIN): column no-audit n/a" ;;
	esac
	HAVE_NOAUDIT=0
fi

now() { "$BIO" now; }
# a hung file system must not hang the bench: every workload command is
# killed after LIMIT seconds
bio() { timeout -k 10 "$LIMIT" "$BIO" "$@"; }
lim() { timeout -k 10 "$LIMIT" "$@"; }
# alive PID: running and not a zombie
alive() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}
T_START=$(now)

# ---------------------------------------------------------------- work dir
TMP=$(mktemp -d "$TMPROOT/vaultfs-bench.XXXXXX") || die "cannot create a directory in '$TMPROOT'"
# absolute: daemons are found by their mount point argument
TMP=$(cd "$TMP" && pwd) || die "cannot use '$TMP'"
CUR_MNT=
CUR_PID=
cleanup() {
	if [ -n "$CUR_MNT" ]; then
		fusermount3 -u "$CUR_MNT" 2>/dev/null ||
			fusermount3 -u -z "$CUR_MNT" 2>/dev/null
	fi
	if [ -n "$CUR_PID" ]; then
		kill "$CUR_PID" 2>/dev/null
		wait "$CUR_PID" 2>/dev/null
	fi
	# anything still mounted below TMP (a failed phase) goes too
	grep -o " $TMP/[^ ]*" /proc/self/mounts 2>/dev/null | while read -r m; do
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RES=$TMP/results.txt
: >"$RES"
PF=$TMP/pass
AF=$TMP/auditor-pass
(umask 077; printf 'bench-passphrase-not-secret\n' >"$PF";
 printf 'bench-auditor-passphrase\n' >"$AF")

DROP_OK=1
drop_caches() {
	sync
	[ "$DROP_OK" = 1 ] || return 0
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || {
		msg "cannot write /proc/sys/vm/drop_caches: reads may be warm"
		DROP_OK=0
	}
}

# ---------------------------------------------------------------- inputs
# The corpus is made from text files of this machine in sorted order plus a
# generated CSV: reproducible on one machine (installed packages decide the
# text).  Four files of about CORPUS_MB/4 each.
gen_inputs() {
	C=$TMP/corpus
	mkdir -p "$C"
	q=$((CORPUS_MB * 1048576 / 4))
	find /usr/share/common-licenses /usr/share/man/man1 /usr/share/man/man2 \
		/usr/share/man/man3 /usr/share/man/man5 /usr/share/man/man7 \
		/usr/share/man/man8 -type f 2>/dev/null | LC_ALL=C sort |
		xargs -r gzip -dcf 2>/dev/null | head -c "$q" >"$C/text.txt"
	find /usr/include -type f -name '*.h' | LC_ALL=C sort |
		xargs -r cat 2>/dev/null | head -c "$q" >"$C/headers.h"
	find /usr/lib/python3* /usr/share/perl* /usr/share/perl5 -type f \
		\( -name '*.py' -o -name '*.pm' -o -name '*.pl' \) 2>/dev/null |
		LC_ALL=C sort -u | xargs -r cat 2>/dev/null |
		head -c "$q" >"$C/scripts.txt"
	"$BIO" gencsv "$C/data.csv" $((CORPUS_MB - 3 * CORPUS_MB / 4)) 3 ||
		die "cannot generate the CSV"
	for f in text.txt headers.h scripts.txt; do
		n=$(wc -c <"$C/$f")
		[ "$n" -ge "$q" ] ||
			msg "corpus part $f is only $n bytes (this machine has less text)"
	done
	CORPUS_PATHS=
	for f in $CORPUS_FILES; do CORPUS_PATHS="$CORPUS_PATHS $C/$f"; done
	# shellcheck disable=SC2086
	set -- $("$BIO" hash $CORPUS_PATHS)
	CORPUS_BYTES=$1 CORPUS_HASH=$2
	CORPUS_KIB=$((CORPUS_BYTES / 1024))
	ZSTD_KIB=
	if command -v zstd >/dev/null 2>&1; then
		z=0
		for f in $CORPUS_PATHS; do
			z=$((z + $(zstd -3 -q -c "$f" | wc -c)))
		done
		ZSTD_KIB=$((z / 1024))
	fi

	"$BIO" gentree "$TMP/tree.src" "$NFILES" "$NDIRS" 5 ||
		die "cannot generate the file tree"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-cf "$TMP/tree.tar" -C "$TMP/tree.src" . ||
		die "cannot make the tar of the file tree"
	rm -rf "$TMP/tree.src"
}

# ---------------------------------------------------------------- targets
# W work dir, B backing store, M mount point, D where the workload goes.
setup_target() {
	t=$1
	W=$TMP/$t.$2
	B=$W/back
	M=$W/mnt
	mkdir -p "$B" "$M" || return 1
	D=$M
	case $t in
	native)
		D=$B ;;
	passthrough)
		[ "$HAVE_PT" = 1 ] || return 1 ;;
	gocryptfs)
		[ "$HAVE_GOCRYPTFS" = 1 ] || return 1
		gocryptfs -init -q -scryptn 10 -passfile "$PF" "$B" \
			>"$W/init.log" 2>&1 ||
			{ msg "gocryptfs -init failed:"; cat "$W/init.log" >&2; return 1; } ;;
	vaultfs|noaudit)
		if [ "$t" = vaultfs ]; then
			[ "$HAVE_VAULTFS" = 1 ] || return 1
			TBIN=$VBIN
		else
			[ "$HAVE_NOAUDIT" = 1 ] || return 1
			TBIN=$NABIN
		fi
		if "$TBIN/vaultctl" init "$B" --passfile "$PF" \
			--auditor-key-out "$W/auditor.key" --auditor-passfile "$AF" \
			--kdf interactive >"$W/init.log" 2>&1; then
			# the settings vaultctl init chose, for the report
			V_CHUNK=$(sed -n 's/^ *chunk size: *//p' "$W/init.log")
			V_COMP=$(sed -n 's/^ *compression: *//p' "$W/init.log")
			return 0
		fi
		# an older vaultctl without --kdf: try once more without it
		rm -rf "$B" "$W/auditor.key" && mkdir -p "$B"
		"$TBIN/vaultctl" init "$B" --passfile "$PF" \
			--auditor-key-out "$W/auditor.key" --auditor-passfile "$AF" \
			>>"$W/init.log" 2>&1 ||
			{ msg "vaultctl init failed:"; cat "$W/init.log" >&2; return 1; } ;;
	esac
}

# ---------------------------------------------------------------- memory
# Peak RSS of the daemon (VmHWM of /proc/PID/status, KiB).  At mount the
# peak so far (for vaultfs: Argon2id's memory) is noted as group "mount",
# then reset (clear_refs 5), so the peak seen at unmount is that of the
# workload on this mount only; it is noted under RSS_GROUP (seq, rand,
# corpus, meta), and each group keeps its largest value of the run.
HWM_RESET=1
vmhwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status" 2>/dev/null; }
rss_note() {	# rss_note GROUP KIB
	[ -n "$2" ] || return 0
	eval "cur=\${RSSMAX_$1:-0}"
	[ "$2" -gt "$cur" ] && eval "RSSMAX_$1=\$2"
	return 0
}
# the RSSMAX_ variables are read through eval
# shellcheck disable=SC2034
rss_reset() { RSS_GROUP='' RSSMAX_mount='' RSSMAX_seq='' RSSMAX_rand='' RSSMAX_corpus='' RSSMAX_meta=''; }
rss_reset
rss_mib() { [ -z "$1" ] || awk -v k="$1" 'BEGIN { printf "%.3f", k / 1024 }'; }

# Daemons run in the foreground in the background, so their pid is known,
# the unmount can wait for them to finish flushing, and the trap can stop
# exactly them.
do_mount() {
	t=$1
	case $t in
	native) return 0 ;;
	passthrough)
		"$OUT/passthrough_ll" -f -o "source=$B${BENCH_PT_OPTS:+,$BENCH_PT_OPTS}" \
			"$M" >>"$W/daemon.log" 2>&1 & ;;
	gocryptfs)
		gocryptfs -fg -q -passfile "$PF" "$B" "$M" >>"$W/daemon.log" 2>&1 & ;;
	vaultfs|noaudit)
		[ "$t" = vaultfs ] && TBIN=$VBIN || TBIN=$NABIN
		if [ -n "${BENCH_VAULTFS_OPTS:-}" ]; then
			"$TBIN/vaultfs" "$B" "$M" --passfile "$PF" -f \
				-o "$BENCH_VAULTFS_OPTS" >>"$W/daemon.log" 2>&1 &
		else
			"$TBIN/vaultfs" "$B" "$M" --passfile "$PF" -f \
				>>"$W/daemon.log" 2>&1 &
		fi ;;
	esac
	CUR_PID=$!
	CUR_MNT=$M
	i=0
	until mountpoint -q "$M"; do
		if ! alive "$CUR_PID"; then
			wait "$CUR_PID"
			msg "$t: mount failed (exit $?):"
			tail -n 5 "$W/daemon.log" >&2
			CUR_PID='' CUR_MNT=''
			return 1
		fi
		i=$((i + 1))
		if [ "$i" -gt 600 ]; then
			msg "$t: not mounted after 60 s"
			return 1
		fi
		sleep 0.1
	done
	# never compare a build with itself: only noaudit runs without the log
	case $t in
	vaultfs|noaudit)
		if grep -q "$NA_WARNING" "$W/daemon.log"; then
			[ "$t" = noaudit ] ||
				{ msg "$VBIN/vaultfs is a benchmark-only build without the access log"; return 1; }
		else
			[ "$t" = vaultfs ] ||
				{ msg "$NABIN/vaultfs does not say it runs without the access log"; return 1; }
		fi ;;
	esac
	rss_note mount "$(vmhwm "$CUR_PID")"
	if [ "$HWM_RESET" = 1 ] && ! echo 5 >"/proc/$CUR_PID/clear_refs" 2>/dev/null; then
		msg "cannot reset the daemon's peak RSS (clear_refs): peaks include the mount"
		HWM_RESET=0
	fi
}

do_umount() {
	if [ "$1" = native ]; then
		sync
		return 0
	fi
	# the peak just before the unmount and while the daemon flushes
	hwm=$(vmhwm "$CUR_PID")
	fusermount3 -u "$M" || { msg "$1: fusermount3 -u failed"; return 1; }
	CUR_MNT=
	i=0
	while alive "$CUR_PID"; do
		h=$(vmhwm "$CUR_PID")
		[ -n "$h" ] && hwm=$h
		i=$((i + 1))
		if [ "$i" -gt 1200 ]; then
			msg "$1: daemon still running 120 s after unmount: killing it"
			kill "$CUR_PID"
			break
		fi
		sleep 0.1
	done
	wait "$CUR_PID"
	rc=$?
	CUR_PID=
	[ -z "$RSS_GROUP" ] || rss_note "$RSS_GROUP" "$hwm"
	[ "$rc" = 0 ] || { msg "$1: daemon exited with $rc after unmount"; tail -n 5 "$W/daemon.log" >&2; }
	return "$rc"
}

# Unmount, drop the page cache, mount again: the next phase starts cold.
cold() { do_umount "$1" && drop_caches && do_mount "$1"; }

# KiB the backing store takes, measured while unmounted (all flushed).
stored_kib() {
	do_umount "$1" || return 1
	KIB=$(du -sk "$B" | cut -f1)
	drop_caches
	do_mount "$1"
}

# ---------------------------------------------------------------- opening
# The process serving mount point MNT: PROG NAME running with MNT as one of
# its arguments (the trees of other users of the machine differ).
daemon_pid() {	# daemon_pid NAME MNT
	for p in $(pgrep -x "$1"); do
		tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qxF "$2" &&
			{ echo "$p"; return 0; }
	done
	return 1
}
ms() { [ -z "$1" ] || awk -v s="$1" 'BEGIN { printf "%.3f", s * 1000 }'; }
# median of the numbers in FILE, one a line
median_file() { sort -g "$1" | awk '{ v[n++] = $1 } END { if (n) print v[int((n - 1) / 2)] }'; }

# mount_times T: with T unmounted, MOUNTS times: drop the page cache, mount
# the way a user does (no -f: the command returns once the mount is ready)
# and time that, then time the unmount until the daemon has exited, then
# (vaultfs) time Argon2id alone with the vault's parameters.  Records the
# medians in ms; mount_other = mount_total - mount_kdf.
mount_times() {
	t=$1
	[ "$t" = native ] && return 0
	KDF_OPS='' KDF_MEM=''
	case $t in
	vaultfs|noaudit)
		[ "$t" = vaultfs ] && TBIN=$VBIN || TBIN=$NABIN
		if [ "$HAVE_KDF" = 1 ]; then
			set -- $(lim "$TBIN/vaultctl" keys "$B" --passfile "$PF" 2>>"$W/daemon.log" |
				sed -n 's/^kdf: *Argon2id, *\([0-9]*\) passes, *\([0-9]*\) MiB$/\1 \2/p')
			if [ $# = 2 ]; then
				KDF_OPS=$1 KDF_MEM=$(($2 * 1048576))
				V_KDF="Argon2id, $1 passes, $2 MiB"
			else
				msg "$t: no KDF parameters from 'vaultctl keys': no Argon2id row"
			fi
		fi ;;
	esac
	mt=$W/mount-times ut=$W/umount-times kt=$W/kdf-times
	: >"$mt"; : >"$ut"; : >"$kt"
	name=$t
	i=0
	while [ "$i" -lt "$MOUNTS" ]; do
		drop_caches
		case $t in
		passthrough)
			name=passthrough_ll
			set -- $(bio run "$OUT/passthrough_ll" \
				-o "source=$B${BENCH_PT_OPTS:+,$BENCH_PT_OPTS}" "$M" \
				2>>"$W/daemon.log") ;;
		gocryptfs)
			set -- $(bio run gocryptfs -q -passfile "$PF" "$B" "$M" \
				2>>"$W/daemon.log") ;;
		vaultfs|noaudit)
			name=vaultfs
			if [ -n "${BENCH_VAULTFS_OPTS:-}" ]; then
				set -- $(bio run "$TBIN/vaultfs" "$B" "$M" --passfile "$PF" \
					-o "$BENCH_VAULTFS_OPTS" 2>>"$W/daemon.log")
			else
				set -- $(bio run "$TBIN/vaultfs" "$B" "$M" --passfile "$PF" \
					2>>"$W/daemon.log")
			fi ;;
		esac
		if [ $# != 2 ] || [ "$2" != 0 ] || ! mountpoint -q "$M"; then
			msg "$t: timed mount failed (${2:-?}):"
			tail -n 5 "$W/daemon.log" >&2
			fusermount3 -u -z "$M" 2>/dev/null
			return 1
		fi
		echo "$1" >>"$mt"
		CUR_MNT=$M
		if ! pid=$(daemon_pid "$name" "$M"); then
			msg "$t: cannot find the daemon serving '$M'"
			fusermount3 -u -z "$M" && CUR_MNT=''
			return 1
		fi
		set -- $(bio unmount "$M" "$pid" 2>>"$W/daemon.log")
		if [ $# != 1 ]; then
			msg "$t: timed unmount failed"
			fusermount3 -u -z "$M" && CUR_MNT=''
			return 1
		fi
		CUR_MNT=''
		echo "$1" >>"$ut"
		if [ -n "$KDF_OPS" ]; then
			set -- $(lim "$KDFB" "$KDF_OPS" "$KDF_MEM" 1)
			[ $# = 1 ] && echo "$1" >>"$kt"
		fi
		i=$((i + 1))
	done
	tot=$(ms "$(median_file "$mt")")
	rec "$t" mount_total "$tot"
	rec "$t" umount "$(ms "$(median_file "$ut")")"
	kdf=$(ms "$(median_file "$kt")")
	if [ -n "$kdf" ]; then
		rec "$t" mount_kdf "$kdf"
		rec "$t" mount_other "$(awk -v a="$tot" -v b="$kdf" 'BEGIN { printf "%.3f", a - b }')"
	fi
	return 0
}

rec() { [ -z "$3" ] || echo "$1 $2 $3" >>"$RES"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" -v d="$3" 'BEGIN { printf "%.6f", n / d / s }'; }
timed() {	# timed CMD...: sets SECS
	t0=$(now)
	"$@"
	rc=$?
	SECS=$(elapsed "$t0" "$(now)")
	return "$rc"
}
read_all() { lim sh -c 'find "$1" -type f -exec cat {} + >/dev/null' sh "$1"; }
list_all() { lim sh -c 'ls -lR "$1" >/dev/null' sh "$1"; }

run_target() {
	t=$1
	rep=$2
	rss_reset
	PHASE=setup
	setup_target "$t" "$rep" || return 1
	PHASE=mount
	do_mount "$t" || return 1
	stored_kib "$t" || return 1
	base=$KIB

	PHASE="sequential write"
	RSS_GROUP=seq
	set -- $(bio seqwrite "$D/big.bin" "$SIZE" 1) && [ $# = 3 ] || return 1
	rec "$t" seqw "$(rate "$2" "$1" 1048576)"
	whash=$3
	stored_kib "$t" || return 1
	rec "$t" stored_big $((KIB - base))

	PHASE="sequential read"
	set -- $(bio seqread "$D/big.bin") && [ $# = 3 ] || return 1
	if [ "$3" = "$whash" ] && [ "$2" = $((SIZE * 1048576)) ]; then
		rec "$t" seqr "$(rate "$2" "$1" 1048576)"
	else
		msg "$t: WRONG DATA read back from the sequential file"
		rec "$t" seqr BAD
	fi

	PHASE="random read"
	cold "$t" || return 1
	RSS_GROUP=rand
	set -- $(bio randread "$D/big.bin" "$OPS" 11) && [ $# = 2 ] || return 1
	rec "$t" randr "$(rate "$2" "$1" 1)"
	PHASE="random write"
	set -- $(bio randwrite "$D/big.bin" "$OPS" 12) && [ $# = 2 ] || return 1
	rec "$t" randw "$(rate "$2" "$1" 1)"
	rm -f "$D/big.bin" || return 1
	stored_kib "$t" || return 1
	base=$KIB

	PHASE="corpus write"
	RSS_GROUP=corpus
	mkdir "$D/corpus" || return 1
	# shellcheck disable=SC2086
	set -- $(bio writefiles "$D/corpus" $CORPUS_PATHS) && [ $# = 2 ] || return 1
	rec "$t" corpw "$(rate "$2" "$1" 1048576)"
	stored_kib "$t" || return 1
	rec "$t" stored_corpus $((KIB - base))
	PHASE="corpus read"
	files=
	for f in $CORPUS_FILES; do files="$files $D/corpus/$f"; done
	# shellcheck disable=SC2086
	set -- $(bio readfiles $files) && [ $# = 3 ] || return 1
	if [ "$3" = "$CORPUS_HASH" ]; then
		rec "$t" corpr "$(rate "$2" "$1" 1048576)"
	else
		msg "$t: WRONG DATA read back from the corpus"
		rec "$t" corpr BAD
	fi
	rm -rf "$D/corpus" || return 1

	PHASE="untar"
	cold "$t" || return 1
	RSS_GROUP=meta
	mkdir "$D/tree" || return 1
	timed lim tar -xf "$TMP/tree.tar" -C "$D/tree" || return 1
	rec "$t" untar "$SECS"
	n=$(find "$D/tree" -type f | wc -l)
	[ "$n" = "$NFILES" ] || { msg "$t: $n files after untar, expected $NFILES"; return 1; }
	# opening the vault, with the tree in it and the access log of all
	# the phases so far
	PHASE="timed mounts"
	do_umount "$t" || return 1
	mount_times "$t" || return 1
	PHASE="ls -lR"
	drop_caches
	do_mount "$t" || return 1
	timed list_all "$D/tree" || return 1
	rec "$t" lsr "$SECS"
	PHASE="read all files"
	cold "$t" || return 1
	timed read_all "$D/tree" || return 1
	rec "$t" readall "$SECS"
	PHASE="rm -rf"
	cold "$t" || return 1
	timed lim rm -rf "$D/tree" || return 1
	rec "$t" rmrf "$SECS"

	PHASE=unmount
	do_umount "$t" || return 1
	RSS_GROUP=
	all=
	for g in seq rand corpus meta; do
		eval "v=\${RSSMAX_$g:-}"
		[ -n "$v" ] && { [ -z "$all" ] || [ "$v" -gt "$all" ]; } && all=$v
	done
	rec "$t" rss_mount "$(rss_mib "$RSSMAX_mount")"
	rec "$t" rss_seq "$(rss_mib "$RSSMAX_seq")"
	rec "$t" rss_meta "$(rss_mib "$RSSMAX_meta")"
	rec "$t" rss_all "$(rss_mib "$all")"
	rm -rf "$W"
}

# ---------------------------------------------------------------- run
msg "generating inputs: ${SIZE} MiB file, ${CORPUS_MB} MiB corpus, $NFILES files in $NDIRS dirs"
gen_inputs
msg "work directory $TMP; $REPEAT run(s) per target"
FAILED=
rep=1
while [ "$rep" -le "$REPEAT" ]; do
	for t in $TARGETS; do
		case $t in
		passthrough) ok=$HAVE_PT ;;
		gocryptfs) ok=$HAVE_GOCRYPTFS ;;
		vaultfs) ok=$HAVE_VAULTFS ;;
		noaudit) ok=$HAVE_NOAUDIT ;;
		*) ok=1 ;;
		esac
		[ "$ok" = 1 ] || continue
		tt0=$(now)
		if run_target "$t" "$rep"; then
			msg "$t: run $rep done in $(elapsed "$tt0" "$(now)" | cut -d. -f1) s"
		else
			msg "$t: run $rep failed at '$PHASE': its remaining cells show n/a"
			FAILED="$FAILED${FAILED:+, }$t run $rep at $PHASE"
			[ -n "$CUR_MNT" ] && do_umount "$t" >/dev/null 2>&1
			[ -n "$CUR_MNT" ] && { fusermount3 -u -z "$CUR_MNT"; CUR_MNT=; }
			if [ -n "$CUR_PID" ]; then
				kill "$CUR_PID" 2>/dev/null
				wait "$CUR_PID" 2>/dev/null
				CUR_PID=
			fi
			rm -rf "$W"
		fi
	done
	rep=$((rep + 1))
done
T_TOTAL=$(elapsed "$T_START" "$(now)")

# ---------------------------------------------------------------- report
# median T KEY: the median of the runs, BAD if any run read wrong data,
# empty when there is none.
median() {
	awk -v t="$1" -v k="$2" '
		$1 == t && $2 == k { if ($3 == "BAD") bad = 1; else v[n++] = $3 }
		END {
			if (bad) { print "BAD"; exit }
			if (!n) exit
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
				if (v[j] + 0 < v[i] + 0) { x = v[i]; v[i] = v[j]; v[j] = x }
			print v[int((n - 1) / 2)]
		}' "$RES"
}
runs() {	# runs T KEY: JSON array of every run
	awk -v t="$1" -v k="$2" '
		$1 == t && $2 == k { s = s (n++ ? "," : "") ($3 == "BAD" ? "\"BAD\"" : $3) }
		END { printf "[%s]", s }' "$RES"
}
# paired T1 T2 KEY HIGHER: the median over the rounds of T1's run i
# against T2's run i, > 1 when T1 is better (rates: T1 / T2, times: T2 /
# T1).  Every round runs each target once, one after the other, so a
# change of the machine's load between rounds mostly hits both; a ratio of
# the two medians mixed runs minutes apart.  BAD if a run read wrong data.
paired() {
	awk -v t1="$1" -v t2="$2" -v k="$3" -v h="$4" '
		$2 != k { next }
		$1 == t1 { a[na++] = $3 }
		$1 == t2 { b[nb++] = $3 }
		END {
			for (i = 0; i < na && i < nb; i++) {
				if (a[i] == "BAD" || b[i] == "BAD") { print "BAD"; exit }
				if (a[i] + 0 == 0 || b[i] + 0 == 0) continue
				v[n++] = h ? a[i] / b[i] : b[i] / a[i]
			}
			if (!n) exit
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
				if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			printf "%.6f", v[int((n - 1) / 2)]
		}' "$RES"
}
# ratio T KEY HIGHER: vaultfs against target T, two decimals
ratio() {
	r=$(paired vaultfs "$1" "$2" "$3")
	case $r in ''|BAD) echo "$r"; return ;; esac
	awk -v r="$r" 'BEGIN { printf "%.2f", r }'
}
# audit_cost KEY HIGHER: extra time the access log costs, in %: vaultfs
# against noaudit (rates are turned into times: 1/rate)
audit_cost() {
	r=$(paired noaudit vaultfs "$1" "$2")
	case $r in ''|BAD) echo "$r"; return ;; esac
	awk -v r="$r" 'BEGIN { printf "%.1f", r * 100 - 100 }'
}
fmt() {	# fmt VALUE DECIMALS
	case $1 in
	'') echo n/a ;;
	BAD) echo BAD ;;
	*) awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }' ;;
	esac
}
label() {
	case $1 in
	seqw) echo "seq write ${SIZE} MiB incompressible (MiB/s)" ;;
	seqr) echo "seq read ${SIZE} MiB incompressible (MiB/s)" ;;
	corpw) echo "write ${CORPUS_MB} MiB text corpus (MiB/s)" ;;
	corpr) echo "read ${CORPUS_MB} MiB text corpus (MiB/s)" ;;
	randr) echo "random 4 KiB read (IOPS)" ;;
	randw) echo "random 4 KiB write+fsync (IOPS)" ;;
	untar) echo "untar $NFILES files (s)" ;;
	lsr) echo "ls -lR (s)" ;;
	readall) echo "read all $NFILES files (s)" ;;
	rmrf) echo "rm -rf (s)" ;;
	stored_big) echo "${SIZE} MiB incompressible (KiB)" ;;
	stored_corpus) echo "${CORPUS_MB} MiB text corpus (KiB)" ;;
	mount_total) echo "mount: start to ready (ms)" ;;
	mount_kdf) echo "mount: Argon2id part alone (ms)" ;;
	mount_other) echo "mount: other = mount - Argon2id (ms)" ;;
	umount) echo "unmount: until the daemon exits (ms)" ;;
	rss_mount) echo "RSS at mount ready (MiB)" ;;
	rss_seq) echo "RSS seq write+read ${SIZE} MiB (MiB)" ;;
	rss_meta) echo "RSS untar/ls/read/rm $NFILES files (MiB)" ;;
	rss_all) echo "RSS any workload phase (MiB)" ;;
	esac
}
unit() {
	case $1 in
	seqw|seqr|corpw|corpr) echo MiB/s ;;
	randr|randw) echo IOPS ;;
	stored_*) echo KiB ;;
	mount_*|umount) echo ms ;;
	rss_*) echo MiB ;;
	*) echo s ;;
	esac
}
higher() { case $1 in seqw|seqr|corpw|corpr|randr|randw) echo 1 ;; *) echo 0 ;; esac; }
decimals() { case $(unit "$1") in MiB/s|MiB|ms) echo 1 ;; s) echo 2 ;; *) echo 0 ;; esac; }
# audit% only for times and rates the access log can change
timing() { case $1 in stored_*|rss_*|mount_kdf) return 1 ;; esac; }

row() {
	k=$1
	h=$(higher "$k")
	d=$(decimals "$k")
	printf '%-42s' "$(label "$k")"
	for t in $ALL_TARGETS; do printf ' %11s' "$(fmt "$(median "$t" "$k")" "$d")"; done
	r1=$(ratio gocryptfs "$k" "$h")
	r2=$(ratio passthrough "$k" "$h")
	ac=
	timing "$k" && ac=$(audit_cost "$k" "$h")
	printf ' %9s %9s %8s\n' "${r1:-n/a}" "${r2:-n/a}" "${ac:-n/a}"
}

available=
for t in $ALL_TARGETS; do
	grep -q "^$t " "$RES" && available="$available $t"
done
available=${available# }
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | tr -d '"\\')
NPROC=$(nproc)
KERNEL=$(uname -r)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
FSTYPE=$(findmnt -no FSTYPE -T "$TMPROOT" 2>/dev/null || stat -f -c %T "$TMPROOT")
V_FUSE=$(pkg-config --modversion fuse3 2>/dev/null)
V_GOCRYPTFS=$(gocryptfs -version 2>/dev/null | head -n 1 | cut -d';' -f1 | sed 's/^gocryptfs //')
V_ZSTD=$(zstd --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')

echo
echo "vaultfs benchmark - $DATE - $NPROC x $MODEL - Linux $KERNEL"
echo "on $FSTYPE in $TMPROOT; libfuse $V_FUSE, gocryptfs $V_GOCRYPTFS, zstd $V_ZSTD"
echo "vaultfs vaults: chunk size ${V_CHUNK:-?}, compression ${V_COMP:-?} (vaultctl init defaults)"
echo "targets available: ${available:-none}; $REPEAT run(s), median shown; total $(fmt "$T_TOTAL" 0) s"
[ -z "$FAILED" ] || echo "FAILED: $FAILED"
echo "ratios: vaultfs vs gocryptfs / vs passthrough, > 1 means vaultfs is better"
echo "(median over the rounds of vaultfs run i against the other's run i)"
echo "no-audit: benchmark-only vaultfs build without the access log; audit%:"
echo "extra time vaultfs takes with the log, in % of the time without it"
echo "(median over the rounds of vaultfs run i against no-audit run i)"
echo
printf '%-42s %11s %11s %11s %11s %11s %9s %9s %8s\n' workload native passthrough \
	gocryptfs vaultfs no-audit 'v/gocrypt' 'v/passthr' 'audit%'
for k in $KEYS; do row "$k"; done
echo
echo "bytes stored (du -sk of the backing store, lower is better)"
for k in stored_big stored_corpus; do row "$k"; done
printf '%-42s %11s\n' "corpus raw size (KiB)" "$CORPUS_KIB"
printf '%-42s %11s\n' "corpus zstd -3 per file (KiB)" "${ZSTD_KIB:-n/a}"
echo
echo "opening a vault: median of $MOUNTS cold mounts (no -f) of the store with the"
echo "$NFILES-file tree; vaultfs ${V_KDF:-Argon2id, parameters unknown}; budget: other < 100 ms"
for k in $MOUNT_KEYS; do row "$k"; done
echo
echo "daemon peak RSS (VmHWM), largest over the phase's mounts, lower is better;"
if [ "$HWM_RESET" = 1 ]; then
	echo "at mount: the peak so far (vaultfs: Argon2id's memory), then reset"
else
	echo "the peak could NOT be reset at mount: every row includes the mount"
fi
for k in $RSS_KEYS; do row "$k"; done
echo

# ---------------------------------------------------------------- key rotation
# vaultfs only (no other tool rotates keys): the tree of small files plus
# the big file in one vault, unmounted; rotate rewraps every header,
# rotate --reencrypt rewrites every document under a new data key.
ROT_DOCS='' ROT_S='' REENC_S='' ROT_MIB=''
if [ "$HAVE_VAULTFS" = 1 ] && setup_target vaultfs rot && do_mount vaultfs &&
   mkdir "$D/tree" && lim tar -xf "$TMP/tree.tar" -C "$D/tree" &&
   bio seqwrite "$D/big.bin" "$SIZE" 1 >/dev/null && do_umount vaultfs; then
	ROT_DOCS=$((NFILES + 1))
	ROT_MIB=$SIZE
	drop_caches
	timed lim "$VBIN/vaultctl" rotate "$B" --passfile "$PF" >/dev/null &&
		ROT_S=$SECS
	drop_caches
	timed lim "$VBIN/vaultctl" rotate "$B" --passfile "$PF" --reencrypt >/dev/null &&
		REENC_S=$SECS
	rm -rf "$W"
else
	msg "key rotation: could not set up a vault to rotate"
fi
echo "key rotation (vaultfs, ${ROT_DOCS:-?} documents, ${ROT_MIB:-?} MiB of them in one file)"
printf '%-42s %11s\n' "rotate: rewrap every header (s)" "$(fmt "$ROT_S" 2)"
printf '%-42s %11s\n' "rotate --reencrypt: every document (s)" "$(fmt "$REENC_S" 2)"
echo

# ---------------------------------------------------------------- JSON
JSON=$OUT/results.json
jnum() { case $1 in '') echo null ;; BAD) echo '"BAD"' ;; *) echo "$1" ;; esac; }
{
	printf '{\n  "machine": {"nproc": %s, "model_name": "%s", "kernel": "%s", "date": "%s",\n' \
		"$NPROC" "$MODEL" "$KERNEL" "$DATE"
	printf '              "fs_type": "%s", "libfuse": "%s", "gocryptfs": "%s", "zstd": "%s"},\n' \
		"$FSTYPE" "$V_FUSE" "$V_GOCRYPTFS" "$V_ZSTD"
	printf '  "options": {"passthrough": "%s", "vaultfs": "%s"},\n' \
		"${BENCH_PT_OPTS:-}" "${BENCH_VAULTFS_OPTS:-}"
	printf '  "vaultfs_settings": {"chunk_size": "%s", "compression": "%s", "kdf": "%s"},\n' \
		"$V_CHUNK" "$V_COMP" "$V_KDF"
	printf '  "config": {"size_mb": %s, "corpus_mb": %s, "rand_ops": %s, "files": %s, "dirs": %s, "repeat": %s, "mounts": %s},\n' \
		"$SIZE" "$CORPUS_MB" "$OPS" "$NFILES" "$NDIRS" "$REPEAT" "$MOUNTS"
	printf '  "rss_peak_reset_at_mount": %s,\n' \
		"$([ "$HWM_RESET" = 1 ] && echo true || echo false)"
	printf '  "targets_available": ['
	sep=
	for t in $available; do printf '%s"%s"' "$sep" "$t"; sep=', '; done
	printf '],\n  "failed": "%s",\n' "$FAILED"
	printf '  "total_seconds": %s,\n' "$(fmt "$T_TOTAL" 1)"
	printf '  "corpus_kib": %s, "corpus_zstd3_kib": %s, "corpus_hash": "%s",\n' \
		"$CORPUS_KIB" "$(jnum "$ZSTD_KIB")" "$CORPUS_HASH"
	printf '  "rotation": {"documents": %s, "rewrap_seconds": %s, "reencrypt_seconds": %s},\n' \
		"$(jnum "$ROT_DOCS")" "$(jnum "$ROT_S")" "$(jnum "$REENC_S")"
	printf '  "rows": [\n'
	sep=
	for k in $KEYS stored_big stored_corpus $MOUNT_KEYS $RSS_KEYS; do
		h=$(higher "$k")
		printf '%s    {"key": "%s", "name": "%s", "unit": "%s", "higher_is_better": %s,\n' \
			"$sep" "$k" "$(label "$k")" "$(unit "$k")" \
			"$([ "$h" = 1 ] && echo true || echo false)"
		printf '     "median": {'
		s2=
		for t in $ALL_TARGETS; do
			printf '%s"%s": %s' "$s2" "$t" "$(jnum "$(median "$t" "$k")")"
			s2=', '
		done
		printf '},\n     "runs": {'
		s2=
		for t in $ALL_TARGETS; do
			printf '%s"%s": %s' "$s2" "$t" "$(runs "$t" "$k")"
			s2=', '
		done
		ac=
		timing "$k" && ac=$(audit_cost "$k" "$h")
		printf '},\n     "vaultfs_vs_gocryptfs": %s, "vaultfs_vs_passthrough": %s, "audit_cost_percent": %s}' \
			"$(jnum "$(ratio gocryptfs "$k" "$h")")" \
			"$(jnum "$(ratio passthrough "$k" "$h")")" \
			"$(jnum "$ac")"
		sep=',
'
	done
	printf '\n  ]\n}\n'
} >"$JSON"
msg "results in $JSON"
# a phase that failed or read back wrong data fails `make bench`
if [ -n "$FAILED" ] || grep -q ' BAD$' "$RES"; then
	exit 1
fi
exit 0
