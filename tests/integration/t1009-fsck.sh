#!/bin/sh
# t1009-fsck: vaultctl fsck exit codes and reports (0 clean, 1 damage,
# 2 usage or key error).
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
"$VAULTCTL" fsck --help >/dev/null 2>&1 || skip_all "vaultctl fsck not implemented"

# (all but the access log, where fsck records itself)
tree_sum() {
	(cd "$1" && find . -path ./audit -prune -o -type f -print0 |
		LC_ALL=C sort -z | xargs -0 -r cat |
		sha256sum | cut -d' ' -f1)
}

setup_mounted_vault
seq 1 100000 >"$MNT/numbers.txt"
backing_list >"$T/l0"
head -c 200000 /dev/urandom >"$MNT/random.bin"
backing_list >"$T/l1"
victim2=$(backing_new "$T/l0" "$T/l1" | sed 's|^\./||' | grep -v vaultfs.dirid)
mkdir -p "$MNT/projects/alpha"
head -c 150000 /dev/urandom >"$MNT/projects/alpha/report.dat"
echo "short" >"$MNT/projects/note"
ln -s projects/alpha/report.dat "$MNT/link"
long=$(printf 'L%.0s' $(seq 1 220))
echo "long name" >"$MNT/projects/$long"
truncate -s 1000000 "$MNT/sparse"
backing_list >"$T/l0"
head -c 100000 /dev/urandom >"$MNT/projects/alpha/victim.bin"
backing_list >"$T/l1"
victim=$(backing_new "$T/l0" "$T/l1" | sed 's|^\./||' | grep -v vaultfs.dirid)
umount_vault || abort "unmount failed"

# --- clean ---------------------------------------------------------------------------
before=$(tree_sum "$VAULT")
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "fsck of a clean vault exits 0"
[ "$RC" = 0 ] || { diag_file "$T/out"; diag_file "$T/err"; }
is "$(tree_sum "$VAULT")" "$before" "  and changes nothing"
run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE" --event fsck
like "$OUT" "*fsck*start*fsck*done documents=* damaged=0 *" \
	"  and is recorded in the access log, start and result"

# --- usage and key errors ------------------------------------------------------------
write_passfile "$T/wrong" "wrong passphrase"
run "$VAULTCTL" fsck "$VAULT" --passfile "$T/wrong"
is "$RC" 2 "fsck with a wrong passphrase exits 2"
like "$ERR" "*passphrase*" "  with a message about the passphrase"
run "$VAULTCTL" fsck "$T/nonexistent" --passfile "$PASSFILE"
is "$RC" 2 "fsck of a missing vault exits 2"
like "$ERR" "*$T/nonexistent*" "  naming it"
run "$VAULTCTL" fsck
is "$RC" 2 "fsck without a vault operand exits 2"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE" --no-such-option
is "$RC" 2 "fsck with an unknown option exits 2"
run "$VAULTCTL" fsck --help
is "$RC" 0 "fsck --help exits 0"

# --- foreign entries: a warning, not damage ---------------------------------------------
echo "not a vault file" >"$VAULT/data/README.txt"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "a foreign file in data/ is not damage (exit 0)"
like "$OUT$ERR" "*README.txt*" "  but is reported"
rm "$VAULT/data/README.txt"

# --- damage ------------------------------------------------------------------------------
if [ -z "$victim" ] || [ ! -f "$VAULT/data/$victim" ]; then
	abort "cannot find the victim's backing file ('$victim')"
fi
sz=$(stat -c %s "$VAULT/data/$victim")
"$HELPERS/fstool" flip "$VAULT/data/$victim" $((sz - 5000))
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "fsck of a vault with one flipped byte exits 1"
like "$OUT$ERR" "*victim.bin*" "  and names the damaged document"
unlike "$OUT$ERR" "*numbers.txt*" "  and not the good ones"
# a second damaged document, by its header
"$HELPERS/fstool" flip "$VAULT/data/$victim2" 200
"$HELPERS/fstool" flip "$VAULT/data/$victim2" 2248
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "fsck with two damaged documents exits 1"
like "$OUT$ERR" "*victim.bin*" "  names the first"
like "$OUT$ERR" "*random.bin*" "  names the second"
unlike "$OUT$ERR" "*numbers.txt*" "  and not the good ones"

# the mount agrees with fsck
mount_vault || abort "mount failed (exit $RC)"
not_ok "the damaged document does not read" cat "$MNT/projects/alpha/victim.bin"
ok "a good document reads" cat "$MNT/projects/note"
ok "unmount" umount_vault

done_testing
