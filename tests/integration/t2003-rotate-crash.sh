#!/bin/sh
# t2003-rotate-crash: kill -9 a rotation (rewrap and --reencrypt) at many
# points: after N documents (the test hook VAULTFS_TEST_ROTATE_ABORT_AFTER)
# and at random moments.  After each crash, before any rerun, keys shows
# the rotation unfinished and the vault mounts with every file intact;
# the rerun finishes, fsck is clean, the old KEKs are destroyed and the
# content is identical.
. "$(dirname "$0")/lib.sh"
need_fuse
"$VAULTCTL" rotate --help >/dev/null 2>&1 ||
	skip_all "vaultctl rotate not implemented"

manifest() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		xargs -0 -r sh -c 'for f; do
			printf "%s" "$(stat -c "%n %F %a %s %h" "$f")"
			[ -f "$f" ] && [ ! -L "$f" ] && printf " %s" "$(sha256sum <"$f" | cut -c1-16)"
			echo; done' sh)
}

setup_mounted_vault --chunk-size 16K
for d in a b c; do
	mkdir "$MNT/$d"
	for i in $(seq 1 100); do
		echo "document $d/$i" >"$MNT/$d/f$i"
	done
done
head -c 1048576 /dev/urandom >"$MNT/a/one-mib"
seq 1 200000 >"$MNT/b/numbers"
head -c 4194304 /dev/urandom >"$MNT/hard"
ln "$MNT/hard" "$MNT/c/hard-too"
truncate -s 50M "$MNT/sparse"
printf 'middle' | dd of="$MNT/sparse" bs=1 seek=30000000 conv=notrunc 2>/dev/null
: >"$MNT/empty"
manifest "$MNT" >"$T/m0"
umount_vault || abort "unmount failed"

# after_crash WHAT: the state a crash left behind, before any rerun
after_crash() {
	run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
	case "$1" in
	*"kill -9 after"*)
		# a kill at a random moment may land after the key store
		# recorded the end (while the access log record is written)
		case "$OUT" in
		*"rotation:     none in progress"*)
			pass "$1: the rotation had finished before the kill" ;;
		*)	like "$OUT" "*rotation:     unfinished*" \
				"$1: keys shows the rotation unfinished" ;;
		esac ;;
	*)	like "$OUT" "*rotation:     unfinished*" \
			"$1: keys shows the rotation unfinished" ;;
	esac
	if mount_vault; then
		manifest "$MNT" >"$T/m1"
		if cmp -s "$T/m0" "$T/m1"; then
			pass "$1: before the rerun, the vault mounts and every file reads"
		else
			fail "$1: before the rerun, the vault mounts and every file reads"
			diff "$T/m0" "$T/m1" | head -5 | sed 's/^/# /'
		fi
		umount_vault || abort "unmount failed"
	else
		fail "$1: before the rerun, the vault mounts" "$(cat "$T/err")"
	fi
}

# rerun WHAT: run the same rotation again; it must finish cleanly
rerun() {
	run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" $mode
	is "$RC" 0 "$1: the rerun finishes"
	[ "$RC" = 0 ] || diag_file "$T/err"
	run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
	if [ "$RC" = 0 ] && ! grep -q "warning:" "$T/out"; then
		pass "$1: fsck clean"
	else
		fail "$1: fsck clean (exit $RC)"
		diag_file "$T/out"
	fi
	run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
	n_live=$(grep -cE '^ +[0-9]+  (active|retiring) ' "$T/out")
	is "$n_live" 1 "$1: one live KEK, every older one destroyed"
	like "$OUT" "*rotation:     none in progress*" "$1: no rotation left"
}

# wait_begun: until the key store has been rewritten (the rotation began)
wait_begun() {
	_i=0
	while cmp -s "$VAULT/vault.keys" "$T/keys.before" && [ $_i -lt 500 ]; do
		sleep 0.01
		_i=$((_i + 1))
	done
}

for mode in "" --reencrypt; do
	name=${mode:-rewrap}
	name=${name#--}
	# --- at chosen documents -------------------------------------------------------------
	for n in 1 120 290; do
		VAULTFS_TEST_ROTATE_ABORT_AFTER=$n
		export VAULTFS_TEST_ROTATE_ABORT_AFTER
		run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" $mode
		unset VAULTFS_TEST_ROTATE_ABORT_AFTER
		is "$RC" 137 "$name: killed after document $n"
		after_crash "$name, killed after $n"
		rerun "$name, killed after $n"
	done
	# --- at random moments -----------------------------------------------------------------
	# (a rewrap of these ~300 documents takes a few milliseconds)
	delays="0 0.01 0.03 0.08"
	[ -z "$mode" ] && delays="0 0.001 0.002 0.004"
	for delay in $delays; do
		cp "$VAULT/vault.keys" "$T/keys.before"
		"$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" $mode \
			>"$T/out" 2>"$T/err" &
		pid=$!
		wait_begun
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=$?
		if [ "$rc" = 137 ]; then
			after_crash "$name, kill -9 after ${delay}s"
		else
			# it finished first: nothing to check in between
			skip "$name: rotation finished before the kill" 2
		fi
		rerun "$name, kill -9 after ${delay}s"
	done
done

# --- a crash, then users change documents, then the rerun ------------------------------------
VAULTFS_TEST_ROTATE_ABORT_AFTER=150
export VAULTFS_TEST_ROTATE_ABORT_AFTER
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" --reencrypt
unset VAULTFS_TEST_ROTATE_ABORT_AFTER
is "$RC" 137 "re-encryption killed after 150 documents"
mount_vault || abort "mount after the crash failed"
for d in a b c; do
	echo "changed after the crash" >>"$MNT/$d/f50"
	echo "new after the crash" >"$MNT/$d/new"
done
echo "appended to a hard-linked file" >>"$MNT/c/hard-too"
manifest "$MNT" >"$T/m0"
umount_vault || abort "unmount failed"
mode=--reencrypt
rerun "changed between crash and rerun"
mount_vault || abort "final mount failed"
manifest "$MNT" >"$T/m1"
ok "final content identical, including the changes" cmp -s "$T/m0" "$T/m1"
umount_vault
done_testing
