#!/bin/sh
# t3007-auditor-key: changing the auditor key (issue 3).
#   vaultctl audit passwd: the old passphrase stops opening the key file,
#   the new one opens it, mode 0600, no temporary file, a wrong current
#   passphrase changes nothing.
#   vaultctl audit rekey: refused while mounted; afterwards new segments
#   are sealed to the new key; verify/show/report take both keys
#   (--auditor-key twice); with one key the other part is reported as
#   sealed to another auditor key (not as tampering) and exits 1; the
#   change is recorded where each auditor can read it; tampering with the
#   old part shows even with the new key only.
. "$(dirname "$0")/lib.sh"
need_fuse
"$VAULTCTL" audit passwd --help >/dev/null 2>&1 ||
	skip_all "vaultctl audit passwd not implemented"

K1=$AUDITOR_KEY
A1=$AUDITOR_PASSFILE
A1N=$T/auditor-new.pass
K2=$T/auditor2.key
A2=$T/auditor2.pass
WRONG=$T/wrong.pass
write_passfile "$A1N" "the new passphrase of the first auditor"
write_passfile "$A2" "the second auditor's passphrase"
write_passfile "$WRONG" "not it"

both() {
	run "$VAULTCTL" audit "$@" "$VAULT" --auditor-key "$K1" \
		--auditor-passfile "$A1N" --auditor-key "$K2" \
		--auditor-passfile "$A2"
}
old_only() {
	run "$VAULTCTL" audit "$@" "$VAULT" --auditor-key "$K1" \
		--auditor-passfile "$A1N"
}
new_only() {
	run "$VAULTCTL" audit "$@" "$VAULT" --auditor-key "$K2" \
		--auditor-passfile "$A2"
}

setup_mounted_vault
echo "before the rekey" >"$MNT/before.txt"
cat "$MNT/before.txt" >/dev/null
umount_vault || abort "unmount failed"

# --- audit passwd -----------------------------------------------------------
mkdir "$T/keys"
cp -p "$K1" "$T/keys/auditor.key"
cp "$K1" "$T/k1.before"
run "$VAULTCTL" audit passwd --auditor-key "$K1" --auditor-passfile "$WRONG" \
	--new-auditor-passfile "$A1N"
is "$RC" 3 "audit passwd with a wrong passphrase: exit 3"
like "$ERR" "*wrong passphrase for auditor key*$K1*" \
	"  with a message naming the key file"
ok "  and the key file is unchanged" cmp -s "$K1" "$T/k1.before"

run "$VAULTCTL" audit passwd --auditor-passfile "$A1"
is "$RC" 2 "audit passwd without --auditor-key: exit 2"
run "$VAULTCTL" audit passwd --auditor-key "$K1" "$VAULT"
is "$RC" 2 "audit passwd with an operand: exit 2"
run setsid -w "$VAULTCTL" audit passwd --auditor-key "$K1" \
	--auditor-passfile "$A1" </dev/null
is "$RC" 2 "no --new-auditor-passfile and no terminal: exit 2"
like "$ERR" "*--new-auditor-passfile*" "  saying which option to use"
ok "  and the key file is unchanged" cmp -s "$K1" "$T/k1.before"

run "$VAULTCTL" audit passwd --auditor-key "$T/keys/auditor.key" \
	--auditor-passfile "$A1" --new-auditor-passfile "$A1N"
is "$RC" 0 "audit passwd: exit 0"
[ "$RC" = 0 ] || diag_file "$T/err"
like "$OUT" "*changed*" "  and says so"
is "$(stat -c %a "$T/keys/auditor.key")" 600 "  the key file is mode 0600"
is "$(ls -A "$T/keys")" "auditor.key" "  no temporary file is left"
mv "$T/keys/auditor.key" "$K1"
run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$K1" \
	--auditor-passfile "$A1"
is "$RC" 3 "the old passphrase no longer opens the key (exit 3)"
run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$K1" \
	--auditor-passfile "$A1N"
is "$RC" 0 "the new passphrase opens it and the log verifies"

# --- audit rekey: refusals ----------------------------------------------------
mount_vault || abort "mount failed"
cp "$VAULT/vault.keys" "$T/keys.before"
run "$VAULTCTL" audit rekey "$VAULT" --passfile "$PASSFILE" \
	--auditor-key-out "$K2" --new-auditor-passfile "$A2" --kdf interactive
is "$RC" 1 "audit rekey on a mounted vault: exit 1"
like "$ERR" "*mounted*unmount*" "  saying to unmount it"
ok "  the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"
ok "  no key file was written" test ! -e "$K2"
umount_vault || abort "unmount failed"

run "$VAULTCTL" audit rekey "$VAULT" --passfile "$WRONG" \
	--auditor-key-out "$K2" --new-auditor-passfile "$A2" --kdf interactive
is "$RC" 3 "audit rekey with a wrong vault passphrase: exit 3"
ok "  the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"
ok "  no key file was written" test ! -e "$K2"
run "$VAULTCTL" audit rekey "$VAULT" --passfile "$PASSFILE" \
	--auditor-key-out "$K1" --new-auditor-passfile "$A2" --kdf interactive
is "$RC" 1 "audit rekey onto an existing key file: exit 1"
like "$ERR" "*exists*" "  saying so"
run "$VAULTCTL" audit rekey "$VAULT" --passfile "$PASSFILE"
is "$RC" 2 "audit rekey without --auditor-key-out: exit 2"

# --- audit rekey ------------------------------------------------------------
nseg_before=$(ls "$VAULT/audit" | grep -c '^seg-')
run "$VAULTCTL" audit rekey "$VAULT" --passfile "$PASSFILE" \
	--auditor-key-out "$K2" --new-auditor-passfile "$A2" --kdf interactive
is "$RC" 0 "audit rekey: exit 0"
[ "$RC" = 0 ] || diag_file "$T/err"
oldfp=$(sed -n 's/^ *old public key: //p' "$T/out")
newfp=$(sed -n 's/^ *new public key: //p' "$T/out")
like "$oldfp$newfp" "????????????????????????????????" \
	"  prints both public key fingerprints"
is "$(stat -c %a "$K2")" 600 "  the new key file is mode 0600"
ok "  the vault passphrase still opens the vault" \
	"$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"

mount_vault || abort "mount after rekey failed"
echo "after the rekey" >"$MNT/after.txt"
cat "$MNT/before.txt" "$MNT/after.txt" >/dev/null
umount_vault || abort "unmount failed"
lastseg=$(ls "$VAULT/audit" | grep '^seg-' | LC_ALL=C sort | tail -n 1)

# --- reading with both keys ---------------------------------------------------
both verify
is "$RC" 0 "verify with both keys: exit 0"
like "$OUT" "*intact*complete history*" "  the whole log is intact"
unlike "$OUT" "*not verified*" "  every segment was read"

both show --json
is "$RC" 0 "show with both keys: exit 0"
like "$OUT" '*"path":"/before.txt"*"event":"settings"*"path":"/after.txt"*' \
	"  lists records from before and after the rekey, in order"
like "$OUT" "*auditor key change: old=$oldfp new=$newfp*" \
	"  the rekey record in the old key's part names both keys"
like "$OUT" "*auditor key changed: old=$oldfp new=$newfp*" \
	"  and again in the new key's part"

both report
is "$RC" 0 "report with both keys: exit 0"

# --- reading with one key -----------------------------------------------------
old_only verify
is "$RC" 1 "verify with the old key only: exit 1"
like "$OUT" "*not verified*wrong key*sealed to another auditor key*$newfp*" \
	"  the new segments: sealed to another auditor key, naming it"
like "$OUT" "*could NOT be verified completely*give the other key*" \
	"  a clear summary: not verified completely, give the other key"
unlike "$OUT" "*DAMAGED*" "  not reported as tampering"
unlike "$OUT" "*damage: *" "  no damage finding"

old_only show --json
is "$RC" 1 "show with the old key only: exit 1"
like "$OUT" '*"path":"/before.txt"*auditor key change: old=*' \
	"  shows the old records and the rekey record"
unlike "$OUT" '*/after.txt*' "  but none of the new key's part"
like "$ERR" "*not read completely*sealed to another auditor key*" \
	"  and warns on stderr"

new_only verify
is "$RC" 1 "verify with the new key only: exit 1"
like "$OUT" "*not verified*sealed to another auditor key*$oldfp*" \
	"  the old segments: sealed to another auditor key, naming it"
like "$OUT" "*could NOT be verified completely*" "  a clear summary"
unlike "$OUT" "*DAMAGED*" "  not reported as tampering"

new_only show --json
is "$RC" 1 "show with the new key only: exit 1"
like "$OUT" '*auditor key changed: old=*"path":"/after.txt"*' \
	"  shows the new part, starting with the rekey record"
unlike "$OUT" '*"event":"create","path":"/before.txt"*' \
	"  but none of the old key's part"

run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$K1" \
	--auditor-key "$K2" --auditor-passfile "$A1N" --auditor-passfile "$A2"
is "$RC" 0 "passfiles after the keys pair up in order too"
run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$K1" \
	--auditor-passfile "$A1N" --auditor-passfile "$A2"
is "$RC" 2 "more passfiles than keys: exit 2"
run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$K2" \
	--auditor-passfile "$A1N" --auditor-key "$K1" --auditor-passfile "$A2"
is "$RC" 3 "passfiles swapped: wrong passphrase, exit 3"
like "$ERR" "*wrong passphrase for auditor key*$K2*" "  naming the key"

# --- tampering with the old part after the rekey -----------------------------
cp -a "$VAULT/audit" "$T/audit.pristine"
first=$(ls "$VAULT/audit" | grep '^seg-' | LC_ALL=C sort | head -n 1)
size=$(stat -c %s "$VAULT/audit/$first")
printf '\001' | dd of="$VAULT/audit/$first" bs=1 seek=$((size - 40)) \
	conv=notrunc 2>/dev/null
new_only verify
is "$RC" 1 "the old part altered, new key only: exit 1"
like "$OUT" "*DAMAGED*" "  reported as damage (its chain no longer links)"
both verify
like "$OUT" "*DAMAGED*$first*" "  with both keys: damage in $first"
rm -rf "$VAULT/audit"
cp -a "$T/audit.pristine" "$VAULT/audit"
both verify
is "$RC" 0 "restored: intact"

# the new part alone is sealed to the new key
isnt "$lastseg" "" "segments after the rekey exist"
ok "the newest segment is sealed to the new key only" \
	sh -c "! '$VAULTCTL' audit show '$VAULT' --auditor-key '$K1' \
		--auditor-passfile '$A1N' --json 2>/dev/null | grep -q after.txt"
is "$(( $(ls "$VAULT/audit" | grep -c '^seg-') > nseg_before ))" 1 \
	"rekey and the mount added segments"

done_testing
