#!/bin/sh
# t4001-crash: crash consistency (issue 6, SECURITY.md section 3).
#
# Several writers (tests/helpers/crashio.c) write, append, truncate, fsync,
# save (temp file + fsync + rename) and rename over each other's files in
# the mount, each logging its calls to a plain file outside the vault.
# Then, at a moment fixed by the seed, one of:
#   daemon  kill -9 the daemon; fusermount3 -uz the dead mount.  Whatever
#           fsync, fdatasync or close returned from, and every rename,
#           unlink and create, reached the backing store and must survive;
#           later writes may be lost (they were in the kernel's cache or the
#           daemon's chunk cache), but never turn into other bytes.
#   writer  kill -9 the writers; the daemon lives, so every call that
#           returned must survive, through a remount too.
#   lazy    fusermount3 -uz while the writers write: they fail, the daemon
#           exits when the last file closes and must have written every
#           call that returned.
# After a remount, crashio check replays each writer's calls and compares
# every file with the states it may be in (the durable one and any later
# one; no byte that was made durable may differ), every file must read
# without error, and vaultctl fsck must exit 0 or 1 with nothing damaged
# (warnings about torn writes or crash debris are allowed and printed).
#
#   CRASH_SEEDS="1 2 3" (20 seeds with VAULTFS_TORTURE=1), CRASH_WRITERS=4.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper crashio
CIO=$HELPERS/crashio

if [ -n "$VAULTFS_TORTURE" ]; then
	seeds=${CRASH_SEEDS:-$(seq 1 20)}
else
	seeds=${CRASH_SEEDS:-1 2 3}
fi
writers=${CRASH_WRITERS:-4}

make_vault --chunk-size 16384 || abort "vaultctl init failed (exit $RC)"

# delay SEED: seconds (with one decimal) before the crash, 0.4 to 2.3
delay() {
	_d=$(( ($1 * 7919 + 13) % 20 + 4 ))
	echo "$((_d / 10)).$((_d % 10))"
}

rounds=0 calls=0 verified=0
# round MODE SEED
round() {
	mode=$1 seed=$2
	dir=$MNT/$mode$seed
	logs=$T/logs.$mode$seed
	mkdir -p "$logs"
	mount_vault || { fail "$mode seed $seed: mount failed"; diag "$ERR"; return; }
	mkdir "$dir"
	start_writers "$CIO" "$seed" "$writers" "$dir" "$logs"
	sleep "$(delay "$seed")"
	dpids=$(daemon_pids "$MNT")
	case $mode in
	daemon)
		# shellcheck disable=SC2086
		kill -9 $dpids
		wait_gone $dpids
		;;
	writer)
		# shellcheck disable=SC2086
		kill -9 $pids
		;;
	lazy)
		fusermount3 -uz "$MNT"
		;;
	esac
	# the writers must stop by themselves (they fail); never hang
	if ! wait_gone $pids; then
		fail "$mode seed $seed: writers still running 10 s after the crash"
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null
	fi
	bad=0
	for p in $pids; do
		{ wait "$p"; } 2>/dev/null
		[ $? -le 1 ] || [ "$mode" = writer ] || bad=$((bad + 1))
	done
	[ $bad = 0 ] || fail "$mode seed $seed: $bad writers crashed"
	# the writers' last errors: those of a dead daemon (ENOTCONN,
	# ECONNABORTED, EIO when the kernel could not write its cache back) or
	# of a path that no longer leads into the mount, nothing else
	cat "$logs"/out* >"$T/outs" 2>/dev/null
	case $mode in
	daemon) expect='not connected\|connection abort\|Input/output error' ;;
	*) expect='No such file' ;;
	esac
	if grep -v -e "$expect" -e 'calls done' "$T/outs" | grep -q .; then
		fail "$mode seed $seed: a writer failed for another reason than the crash"
		diag_file "$T/outs"
	fi
	case $mode in
	writer) umount_vault || fail "$mode seed $seed: unmount failed" ;;
	*)
		mounted "$MNT" && fusermount3 -uz "$MNT"
		wait_gone $dpids || fail "$mode seed $seed: the daemon did not exit"
		;;
	esac
	mount_vault || { fail "$mode seed $seed: remount failed"; diag "$ERR"; return; }
	cmode=daemon
	[ "$mode" = daemon ] || cmode=writer
	w=1
	bad=""
	: >"$T/checks"
	while [ $w -le "$writers" ]; do
		tmo "$CIO" check -M $cmode -s "$seed" -w $w "$dir" "$logs/w$w" \
			>>"$T/checks" 2>&1 || bad="$bad $w"
		w=$((w + 1))
	done
	n=$(sed -n 's/^writer [0-9]*: \([0-9]*\) calls finished.*/\1/p' "$T/checks" |
		awk '{ s += $1 } END { print s + 0 }')
	v=$(sed -n 's/.* \([0-9]*\) durable bytes verified$/\1/p' "$T/checks" |
		awk '{ s += $1 } END { print s + 0 }')
	calls=$((calls + n))
	verified=$((verified + v))
	if [ -z "$bad" ]; then
		pass "$mode seed $seed: $n calls, every file holds what may survive ($v durable bytes checked)"
	else
		fail "$mode seed $seed: writers$bad lost or changed data" \
			"reproduce: crashio check -M $cmode -s $seed -w N DIR LOG (logs in $logs)"
		diag_file "$T/checks"
	fi
	ok "$mode seed $seed: daemon alive after the checks" daemon_alive
	umount_vault || fail "$mode seed $seed: unmount failed"
	run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
	case $RC in
	0 | 1)
		if grep -q '^damaged:' "$T/out"; then
			fail "$mode seed $seed: fsck finds damage after the crash (exit $RC)"
			grep '^damaged:' "$T/out" | head -n 20 | sed 's/^/#   /'
		else
			pass "$mode seed $seed: fsck exit $RC, nothing damaged"
		fi
		grep '^warning:' "$T/out" | head -n 5 | sed 's/^/#   /'
		;;
	*)
		fail "$mode seed $seed: fsck exit status $RC"
		diag_file "$T/err"
		;;
	esac
	rounds=$((rounds + 1))
}

for s in $seeds; do
	round daemon "$s"
done
round writer 101
round lazy 201
if [ -n "$VAULTFS_TORTURE" ]; then
	for s in 102 103 104 105; do round writer $s; done
	for s in 202 203 204 205; do round lazy $s; done
fi
diag "$rounds crash rounds, $calls calls by $writers writers each round," \
	"$verified bytes that were durable checked"
done_testing
