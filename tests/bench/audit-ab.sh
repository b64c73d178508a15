#!/bin/sh
# audit-ab.sh - what the access log costs on the small-file rows of
# `make bench` (untar, ls -lR, read all, rm -rf), measured as an
# interleaved A/B of two daemons: vaultfs with the log (A) and the
# benchmark-only build without it (B, -DVAULTFS_BENCH_NO_AUDIT).
#
#   make O=build/x OUT_BIN=build/x/bin all
#   make O=build/x/na OUT_BIN=build/x/na/bin \
#        CPPFLAGS=-DVAULTFS_BENCH_NO_AUDIT all
#   VAULTFS_BIN=build/x/bin VAULTFS_NOAUDIT_BIN=build/x/na/bin \
#        sh tests/bench/audit-ab.sh
#
# Every round gives each daemon a fresh vault (vaultctl init --kdf
# interactive) and runs four phases on it: untar AB_FILES small files (20
# per directory), ls -lR, cat every file, rm -rf.  Before each phase the
# daemon is remounted and (AB_DROP=1) the page cache dropped, as bench.sh
# does.  Two ways to interleave (AB_MODE):
#
#   rounds  the daemons take turns, one whole round each, in rotating
#           order: the phases are exactly those of bench.sh
#   fine    all daemons are mounted at once and take turns directory by
#           directory (about 20 files, a few ms) within each phase, in
#           rotating order, so they see the same machine: drift of the
#           load of a busy machine cancels out (the default)
#
# For every phase it records the wall time (in fine mode, the sum over
# the directories) and the daemon's CPU time (all threads, just before
# and just after the phase, before any unmount: to the nanosecond from
# /proc/PID/task/*/schedstat, or utime + stime of /proc/PID/stat when a
# thread ended meanwhile).  On a busy 2-CPU machine the CPU time is the
# steadier of the two.  Prints per phase the median of each, the extra
# cost of the log in % and the median of the per-round ratios (paired).
# ls -lR records nothing: its row shows how large the noise is.
#
# Environment:
#   VAULTFS_BIN          vaultfs + vaultctl with the log (default bin)
#   VAULTFS_NOAUDIT_BIN  the same without it (default build/bench-noaudit/bin)
#   AB_BIN2              optional second build with the log (target audit2,
#                        e.g. before/after a change), run in the same rounds
#   AB_MODE              fine (default) or rounds, see above
#   AB_FILES             files in the tree (default 3000, 20 per directory)
#   AB_ROUNDS            rounds (default 5)
#   AB_DROP              1: drop the page cache before each phase (default 1)
#   AB_TMPDIR            where the work directory goes (default /var/tmp)
#   AB_OUT               where bench-io goes (default build/bench)
#   AB_KEEP              1: keep the raw results file (its path is printed)
#   AB_OPTS              extra -o options for every daemon
#
# Must run as root (mounts, drop_caches).  A trap unmounts what it mounted,
# stops the daemons it started (by pid) and removes the work directory.
# Word splitting of $TARGETS, $UNITS and $(cpu ...) is wanted.
# shellcheck disable=SC2086
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ABIN=${VAULTFS_BIN:-$ROOT/bin}
NBIN=${VAULTFS_NOAUDIT_BIN:-$ROOT/build/bench-noaudit/bin}
MODE=${AB_MODE:-fine}
NFILES=${AB_FILES:-3000}
ROUNDS=${AB_ROUNDS:-5}
DROP=${AB_DROP:-1}
TMPROOT=${AB_TMPDIR:-/var/tmp}
OUT=${AB_OUT:-$ROOT/build/bench}
PHASES="untar lsr readall rmrf"
NA_WARNING='BENCHMARK-ONLY BUILD'
HZ=$(getconf CLK_TCK)

msg() { printf 'audit-ab: %s\n' "$*" >&2; }
die() { msg "$*"; exit 1; }

val=
for v in NFILES ROUNDS; do
	eval "val=\$$v"
	case $val in
	''|*[!0-9]*|0) die "$v must be a positive integer, got '$val'" ;;
	esac
done
case $MODE in
fine|rounds) ;;
*) die "AB_MODE must be fine or rounds, got '$MODE'" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (mounts, drop_caches)"
TARGETS="audit noaudit"
[ -n "${AB_BIN2:-}" ] && TARGETS="audit audit2 noaudit"
for b in "$ABIN" "$NBIN" ${AB_BIN2:-}; do
	if [ ! -x "$b/vaultfs" ] || [ ! -x "$b/vaultctl" ]; then
		die "no vaultfs/vaultctl in '$b'"
	fi
done
command -v fusermount3 >/dev/null 2>&1 || die "fusermount3 is missing"
NDIRS=$((NFILES / 20))
[ "$NDIRS" -ge 1 ] || NDIRS=1

mkdir -p "$OUT" || die "cannot create '$OUT'"
BIO=$OUT/bench-io
if [ ! -x "$BIO" ] || [ -n "$(find "$ROOT/tests/bench/bench-io.c" -newer "$BIO")" ]; then
	cc -O2 -std=c11 -Wall -Wextra -o "$BIO.$$" \
		"$ROOT/tests/bench/bench-io.c" ||
		die "cannot compile tests/bench/bench-io.c"
	mv "$BIO.$$" "$BIO" || die "cannot write '$BIO'"
fi

TMP=$(mktemp -d "$TMPROOT/vaultfs-ab.XXXXXX") || die "cannot make a work dir"
# per target t: PID_t, the daemon serving $TMP/t/mnt ('' when none)
for t in $TARGETS; do eval "PID_$t=''"; done
cleanup() {
	for t in $TARGETS; do
		eval "p=\$PID_$t"
		[ -n "$p" ] || continue
		fusermount3 -u "$TMP/$t/mnt" 2>/dev/null ||
			fusermount3 -u -z "$TMP/$t/mnt" 2>/dev/null
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "${AB_KEEP:-0}" = 1 ]; then
		msg "kept $TMP/results.txt"
		find "$TMP" -mindepth 1 -maxdepth 1 ! -name results.txt \
			-exec rm -rf {} +
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RES=$TMP/results.txt
: >"$RES"
PF=$TMP/pass
AF=$TMP/auditor-pass
(umask 077; printf 'ab-passphrase-not-secret\n' >"$PF";
 printf 'ab-auditor-passphrase\n' >"$AF")

now() { "$BIO" now; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }
alive() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}
# cpu PID: "TID:NS ..." for each thread of PID, NS its CPU time to the
# nanosecond (/proc/PID/task/TID/schedstat)
cpu() {
	for t in $(cd "/proc/$1/task" && echo *); do
		read -r run _ <"/proc/$1/task/$t/schedstat" 2>/dev/null &&
			printf '%s:%s ' "$t" "$run"
	done
}
# CPU seconds (utime + stime, every thread, exited ones included) of PID
ticks() {
	sed 's/.*) //' "/proc/$1/stat" |
		awk -v hz="$HZ" '{ printf "%.4f", ($12 + $13) / hz }'
}
# cpu_delta "BEFORE" "AFTER" TICKS0 TICKS1: CPU seconds between the two
# cpu() snapshots (threads that started meanwhile count in full); when a
# thread ended meanwhile, its time is only in the ticks: their difference
cpu_delta() {
	awk -v a="$1" -v b="$2" -v k0="$3" -v k1="$4" 'BEGIN {
		n = split(a, x, " "); m = split(b, y, " ")
		for (i = 1; i <= m; i++) { split(y[i], f, ":"); after[f[1]] = f[2] }
		for (i = 1; i <= n; i++) {
			split(x[i], f, ":")
			if (!(f[1] in after)) { printf "%.4f", k1 - k0; exit }
			d -= f[2]
		}
		for (t in after) d += after[t]
		printf "%.4f", d / 1e9
	}'
}
drop_caches() {
	sync
	[ "$DROP" = 1 ] || return 0
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null ||
		{ msg "cannot drop the page cache"; DROP=0; }
}
# rotate N WORDS...: the words, starting with the N-th (cyclic)
rotate() {
	n=$1
	shift
	echo "$@" | awk -v r="$n" '{
		for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }'
}

"$BIO" gentree "$TMP/tree.src" "$NFILES" "$NDIRS" 5 ||
	die "cannot generate the file tree"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-cf "$TMP/tree.tar" -C "$TMP/tree.src" . || die "cannot make the tar"
# fine mode: the leaf directories, one tar each
UNITS=$(cd "$TMP/tree.src" && find . -mindepth 1 -type d -links 2 | LC_ALL=C sort)
if [ "$MODE" = fine ]; then
	mkdir "$TMP/units" || die "cannot create '$TMP/units'"
	i=0
	for u in $UNITS; do
		i=$((i + 1))
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			-cf "$TMP/units/$i.tar" -C "$TMP/tree.src" "$u" ||
			die "cannot make the tar of '$u'"
	done
fi
rm -rf "$TMP/tree.src"

# target T: TBIN, W work dir, B backing store, M mount point, PID
target() {
	case $1 in
	audit) TBIN=$ABIN ;;
	audit2) TBIN=$AB_BIN2 ;;
	*) TBIN=$NBIN ;;
	esac
	W=$TMP/$1
	B=$W/back
	M=$W/mnt
	eval "PID=\$PID_$1"
}

setup() {
	target "$1"
	rm -rf "$W"
	mkdir -p "$B" "$M" || return 1
	"$TBIN/vaultctl" init "$B" --passfile "$PF" \
		--auditor-key-out "$W/auditor.key" --auditor-passfile "$AF" \
		--kdf interactive >"$W/init.log" 2>&1 ||
		{ msg "vaultctl init failed:"; cat "$W/init.log" >&2; return 1; }
}

do_mount() {
	target "$1"
	if [ -n "${AB_OPTS:-}" ]; then
		"$TBIN/vaultfs" "$B" "$M" --passfile "$PF" -f -o "$AB_OPTS" \
			>>"$W/daemon.log" 2>&1 &
	else
		"$TBIN/vaultfs" "$B" "$M" --passfile "$PF" -f \
			>>"$W/daemon.log" 2>&1 &
	fi
	PID=$!
	eval "PID_$1=\$PID"
	i=0
	until mountpoint -q "$M"; do
		alive "$PID" ||
			{ msg "$1: mount failed"; tail -n 5 "$W/daemon.log" >&2; eval "PID_$1=''"; return 1; }
		i=$((i + 1))
		[ "$i" -le 600 ] || { msg "$1: not mounted after 60 s"; return 1; }
		sleep 0.1
	done
	# never compare a build with itself
	if grep -q "$NA_WARNING" "$W/daemon.log"; then
		[ "$1" = noaudit ] || { msg "$TBIN/vaultfs has no access log"; return 1; }
	else
		[ "$1" != noaudit ] || { msg "$TBIN/vaultfs has an access log"; return 1; }
	fi
}

do_umount() {
	target "$1"
	fusermount3 -u "$M" || { msg "fusermount3 -u $M failed"; return 1; }
	i=0
	while alive "$PID"; do
		i=$((i + 1))
		[ "$i" -le 1200 ] || { msg "daemon still running after 120 s"; kill "$PID"; break; }
		sleep 0.05
	done
	wait "$PID"
	rc=$?
	eval "PID_$1=''"
	[ "$rc" = 0 ] || { msg "$1: daemon exited with $rc"; tail -n 5 "$W/daemon.log" >&2; }
	return "$rc"
}

# The workloads, on target $1; in fine mode on unit $2 (leaf directory,
# number $3) only.
untar() {
	target "$1"
	if [ $# = 1 ]; then
		mkdir "$M/tree" && tar -xf "$TMP/tree.tar" -C "$M/tree"
	else
		tar -xf "$TMP/units/$3.tar" -C "$M/tree"
	fi
}
lsr() { target "$1"; ls -lR "$M/tree${2:+/$2}" >/dev/null; }
readall() { target "$1"; find "$M/tree${2:+/$2}" -type f -exec cat {} + >/dev/null; }
rmrf() { target "$1"; rm -rf "$M/tree${2:+/$2}"; }

count_files() {
	target "$1"
	n=$(find "$M/tree" -type f | wc -l)
	[ "$n" = "$NFILES" ] || { msg "$1: $n files after untar, expected $NFILES"; return 1; }
}

verify_log() {
	target "$1"
	[ "$1" != noaudit ] || return 0
	"$TBIN/vaultctl" audit verify "$B" --auditor-key "$W/auditor.key" \
		--auditor-passfile "$AF" >"$W/verify.log" 2>&1 ||
		{ msg "$1: audit verify failed:"; tail -n 5 "$W/verify.log" >&2; return 1; }
}

# ---- rounds mode: one target at a time

# phase T NAME: remount cold, run the phase, record wall and daemon CPU
phase() {
	t=$1 p=$2
	do_umount "$t" || return 1
	drop_caches
	do_mount "$t" || return 1
	k0=$(ticks "$PID")
	c0=$(cpu "$PID")
	t0=$(now)
	"$p" "$t" || { msg "$t: phase $p failed"; return 1; }
	t1=$(now)
	c1=$(cpu "$PID")
	k1=$(ticks "$PID")
	echo "$t $p $(elapsed "$t0" "$t1") $(cpu_delta "$c0" "$c1" "$k0" "$k1") $r" >>"$RES"
}

run_target() {
	setup "$1" && do_mount "$1" || return 1
	for p in $PHASES; do
		phase "$1" "$p" || return 1
		if [ "$p" = untar ]; then
			count_files "$1" || return 1
		fi
	done
	do_umount "$1" && verify_log "$1" && rm -rf "$W"
}

# ---- fine mode: all targets at once, taking turns per directory

fine_phase() {
	p=$1
	for t in $TARGETS; do do_umount "$t" || return 1; done
	drop_caches
	for t in $TARGETS; do
		do_mount "$t" || return 1
		[ "$p" != untar ] || mkdir "$M/tree" || return 1
		: >"$TMP/wall.$t"
	done
	for t in $TARGETS; do
		target "$t"
		eval "K0_$t=\$(ticks \$PID); C0_$t=\$(cpu \$PID)"
	done
	i=0
	for u in $UNITS; do
		i=$((i + 1))
		for t in $(rotate "$i" $TARGETS); do
			t0=$(now)
			"$p" "$t" "$u" "$i" || { msg "$t: phase $p failed in $u"; return 1; }
			t1=$(now)
			elapsed "$t0" "$t1" >>"$TMP/wall.$t"
			echo >>"$TMP/wall.$t"
		done
	done
	for t in $TARGETS; do
		target "$t"
		eval "c0=\$C0_$t k0=\$K0_$t"
		c1=$(cpu "$PID")
		k1=$(ticks "$PID")
		w=$(awk '{ s += $1 } END { printf "%.4f", s }' "$TMP/wall.$t")
		echo "$t $p $w $(cpu_delta "$c0" "$c1" "$k0" "$k1") $r" >>"$RES"
	done
}

fine_round() {
	for t in $TARGETS; do
		setup "$t" && do_mount "$t" || return 1
	done
	for p in $PHASES; do
		fine_phase "$p" || return 1
		if [ "$p" = untar ]; then
			for t in $TARGETS; do count_files "$t" || return 1; done
		fi
	done
	for t in $TARGETS; do
		target "$t"
		rm -rf "$M/tree" && do_umount "$t" && verify_log "$t" &&
			rm -rf "$W" || return 1
	done
}

msg "$NFILES files in $NDIRS dirs, $ROUNDS rounds, mode $MODE, drop caches: $DROP"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ "$MODE" = fine ]; then
		fine_round || die "round $r failed"
	else
		# rotate who goes first: none gets the warmer machine every time
		for t in $(rotate "$r" $TARGETS); do
			run_target "$t" || die "round $r: $t failed"
		done
	fi
	msg "round $r done"
	r=$((r + 1))
done

# median T PHASE COLUMN (3 wall, 4 cpu)
median() {
	awk -v t="$1" -v p="$2" -v c="$3" '
		$1 == t && $2 == p { v[n++] = $c }
		END {
			if (!n) exit
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
				if (v[j] + 0 < v[i] + 0) { x = v[i]; v[i] = v[j]; v[j] = x }
			if (n % 2) print v[(n - 1) / 2]
			else printf "%.4f\n", (v[n / 2 - 1] + v[n / 2]) / 2
		}' "$RES"
}
# paired T PHASE COLUMN: median over the rounds of T / noaudit in the same
# round, as extra %: steadier than the ratio of medians while the load of
# the machine drifts
paired() {
	awk -v t="$1" -v p="$2" -v c="$3" '
		$2 == p && $1 == t { a[$5] = $c }
		$2 == p && $1 == "noaudit" { b[$5] = $c }
		END {
			for (r in a) if ((r in b) && b[r] > 0) v[n++] = a[r] / b[r]
			if (!n) { print "n/a"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++)
				if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			printf "%+.1f", (m - 1) * 100
		}' "$RES"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%+.1f", (a / b - 1) * 100; else print "n/a" }'; }

table() {	# table TARGET BIN: TARGET against noaudit
	echo
	echo "$1 = $2 vs noaudit = $NBIN"
	echo "$NFILES files, $ROUNDS rounds, mode $MODE"
	printf '%-8s %8s %8s %7s %7s   %7s %7s %7s %7s\n' phase 'wall A' \
		'wall NA' 'wall%' paired 'cpu A' 'cpu NA' 'cpu%' paired
	for p in $PHASES; do
		wa=$(median "$1" "$p" 3) wn=$(median noaudit "$p" 3)
		ua=$(median "$1" "$p" 4) un=$(median noaudit "$p" 4)
		printf '%-8s %8.3f %8.3f %7s %7s   %7.3f %7.3f %7s %7s\n' "$p" \
			"$wa" "$wn" "$(pct "$wa" "$wn")" "$(paired "$1" "$p" 3)" \
			"$ua" "$un" "$(pct "$ua" "$un")" "$(paired "$1" "$p" 4)"
	done
}
table audit "$ABIN"
[ -n "${AB_BIN2:-}" ] && table audit2 "$AB_BIN2"
echo "(wall and daemon CPU in seconds, medians; % = extra with the access"
echo " log, from the medians; paired = median of the per-round ratios;"
echo " ls -lR records nothing: its row is the noise)"
