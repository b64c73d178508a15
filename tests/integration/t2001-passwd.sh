#!/bin/sh
# t2001-passwd: vaultctl passwd.  The old passphrase stops working at once
# (exit 3), the new one opens and mounts, content is intact; a wrong
# current passphrase changes nothing; passwd while mounted is refused;
# two key-store writers at once are refused.
. "$(dirname "$0")/lib.sh"
need_fuse
"$VAULTCTL" passwd --help >/dev/null 2>&1 ||
	skip_all "vaultctl passwd not implemented"

# manifest DIR: name, mode, size and checksum of every file
manifest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sh -c 'for f; do printf "%s %s " "$(stat -c "%n %a %s" "$f")" "$(sha256sum <"$f" | cut -c1-16)"; echo; done' sh)
}

setup_mounted_vault
seq 1 50000 >"$MNT/numbers"
head -c 300000 /dev/urandom >"$MNT/random.bin"
mkdir "$MNT/dir"
echo "hello" >"$MNT/dir/hello"
manifest "$MNT" >"$T/m0"
umount_vault || abort "unmount failed"

OLD=$PASSFILE
NEW=$T/new.pass
NEWER=$T/newer.pass
WRONG=$T/wrong.pass
write_passfile "$NEW" "the new passphrase of $TEST_NAME"
write_passfile "$NEWER" "an even newer passphrase"
write_passfile "$WRONG" "not the passphrase"

# --- refusals: nothing changes ------------------------------------------------
cp "$VAULT/vault.keys" "$T/keys.before"
run "$VAULTCTL" passwd "$VAULT" --passfile "$WRONG" --new-passfile "$NEW"
is "$RC" 3 "wrong current passphrase: exit 3"
like "$ERR" "*wrong passphrase*$VAULT*" "  with a message naming the vault"
ok "  and the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"

run "$VAULTCTL" passwd
is "$RC" 2 "no VAULT: exit 2"
run "$VAULTCTL" passwd "$VAULT" --no-such-option
is "$RC" 2 "unknown option: exit 2"
run "$VAULTCTL" passwd "$VAULT" --passfile "$OLD" --kdf cheap
is "$RC" 2 "unknown --kdf preset: exit 2"
run "$VAULTCTL" passwd --help
is "$RC" 0 "--help: exit 0"
like "$OUT" "*--new-passfile*" "  and documents --new-passfile"
run setsid -w "$VAULTCTL" passwd "$VAULT" --passfile "$OLD" </dev/null
is "$RC" 2 "no --new-passfile and no terminal: exit 2"
like "$ERR" "*--new-passfile*" "  saying which option to use"
ok "  and the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"
write_passfile "$T/empty.pass" ""
run "$VAULTCTL" passwd "$VAULT" --passfile "$OLD" --new-passfile "$T/empty.pass"
is "$RC" 1 "empty new passphrase: exit 1"
ok "  and the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"

# another writer of the key store (rotate, passwd) holds its lock
# (one process holds the lock: killing it frees the lock)
(exec 9<"$VAULT" && flock -x 9 && exec sleep 20) >/dev/null 2>&1 &
locker=$!
sleep 0.3
run "$VAULTCTL" passwd "$VAULT" --passfile "$OLD" --new-passfile "$NEW"
is "$RC" 1 "while another passwd or rotate runs: exit 1"
like "$ERR" "*being changed*" "  saying so"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
ok "  and the key store is unchanged" cmp -s "$VAULT/vault.keys" "$T/keys.before"

# --- the change -----------------------------------------------------------------------
run "$VAULTCTL" passwd "$VAULT" --passfile "$OLD" --new-passfile "$NEW"
is "$RC" 0 "passwd: exit 0"
[ "$RC" = 0 ] || diag_file "$T/err"
like "$OUT" "*changed*" "  and says so"
is "$(stat -c %a "$VAULT/vault.keys")" 600 "key store still mode 0600"
ok "no temporary file left beside it" \
	sh -c "! ls '$VAULT' | grep -q tmp"
run "$VAULTCTL" keys "$VAULT" --passfile "$OLD"
is "$RC" 3 "the old passphrase no longer opens the vault (exit 3)"
run "$VAULTFS" "$VAULT" "$MNT" --passfile "$OLD"
isnt "$RC" 0 "nor mounts it"
mountpoint -q "$MNT" && umount_vault
run "$VAULTCTL" fsck "$VAULT" --passfile "$NEW"
is "$RC" 0 "the new one does: fsck clean"
PASSFILE=$NEW
mount_vault || abort "mount with the new passphrase failed"
pass "the new passphrase mounts the vault"
manifest "$MNT" >"$T/m1"
ok "content intact" cmp -s "$T/m0" "$T/m1"

# --- while mounted ---------------------------------------------------------------------
# The change must be recorded in the access log, which the daemon holds.
cp "$VAULT/vault.keys" "$T/keys.mounted"
run "$VAULTCTL" passwd "$VAULT" --passfile "$NEW" --new-passfile "$NEWER"
is "$RC" 1 "passwd while mounted: refused (exit 1)"
like "$ERR" "*mounted*" "  and says the vault is mounted"
ok "  key store untouched" cmp -s "$VAULT/vault.keys" "$T/keys.mounted"
echo "written after passwd" >"$MNT/later"
is "$(cat "$MNT/later")" "written after passwd" "the mount keeps working"
manifest "$MNT" >"$T/m2"
umount_vault || abort "unmount failed"
run "$VAULTCTL" passwd "$VAULT" --passfile "$NEW" --new-passfile "$NEWER"
is "$RC" 0 "passwd after unmount: exit 0"
run "$VAULTFS" "$VAULT" "$MNT" --passfile "$NEW"
isnt "$RC" 0 "the replaced passphrase no longer mounts"
mountpoint -q "$MNT" && umount_vault
PASSFILE=$NEWER
mount_vault || abort "mount with the newer passphrase failed"
manifest "$MNT" >"$T/m3"
ok "the newer one mounts, with everything written" cmp -s "$T/m2" "$T/m3"
umount_vault || abort "unmount failed"

# --- the old key store copy ------------------------------------------------------------
mkdir "$T/oldcopy"
cp "$T/keys.before" "$T/oldcopy/vault.keys"
run "$VAULTCTL" keys "$T/oldcopy" --passfile "$OLD"
isnt "$RC" 3 "an old copy of the key store still opens with the old passphrase"
unlike "$ERR" "*wrong passphrase*" "  (as documented: passwd cannot reach copies)"
done_testing
