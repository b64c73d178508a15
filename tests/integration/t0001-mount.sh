#!/bin/sh
# t0001-mount: init, mount, unmount, and the ways they must refuse.
. "$(dirname "$0")/lib.sh"
need_fuse

# tree_sum DIR: one checksum over every file's name, mode and content.
tree_sum() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sh -c 'for f; do stat -c "%n %a %s" "$f"; cat "$f"; done' sh |
		sha256sum | cut -d' ' -f1)
}

# --- init ------------------------------------------------------------
make_vault || abort "vaultctl init failed (exit $RC)"
pass "vaultctl init --kdf interactive creates a vault"
ok "vault.keys exists" test -f "$VAULT/vault.keys"
is "$(stat -c %a "$VAULT/vault.keys")" 600 "vault.keys has mode 0600"
ok "data/ exists" test -d "$VAULT/data"
ok "data/vaultfs.dirid exists" test -f "$VAULT/data/vaultfs.dirid"
ok "audit/ exists" test -d "$VAULT/audit"
ok "vault.lock exists" test -f "$VAULT/vault.lock"
ok "auditor key written" test -s "$AUDITOR_KEY"
is "$(stat -c %a "$AUDITOR_KEY")" 600 "auditor key has mode 0600"

keysum=$(sha "$VAULT/vault.keys")

run "$VAULTCTL" init "$VAULT" --passfile "$PASSFILE" \
	--auditor-key-out "$T/auditor2.key" \
	--auditor-passfile "$AUDITOR_PASSFILE" --kdf interactive
isnt "$RC" 0 "init on an existing vault is refused"
like "$ERR" "*$VAULT*" "  and the message names the vault"
is "$(sha "$VAULT/vault.keys")" "$keysum" "  and vault.keys is untouched"

mkdir "$T/nonempty"
echo "precious" >"$T/nonempty/notes.txt"
before=$(tree_sum "$T/nonempty")
run "$VAULTCTL" init "$T/nonempty" --passfile "$PASSFILE" \
	--auditor-key-out "$T/auditor3.key" \
	--auditor-passfile "$AUDITOR_PASSFILE" --kdf interactive
isnt "$RC" 0 "init on a non-empty directory is refused"
like "$ERR" "*$T/nonempty*" "  and the message names the directory"
is "$(tree_sum "$T/nonempty")" "$before" "  and the directory is untouched"
is "$(ls -A "$T/nonempty")" "notes.txt" "  and nothing was added to it"

# --- mount / unmount round trip ---------------------------------------
mount_vault
is "$RC" 0 "vaultfs VAULT MNT --passfile F exits 0"
# The very next command must be able to use the mount.
ok "mounted as soon as vaultfs returns" mountpoint -q "$MNT"
echo "hello vault" >"$MNT/first.txt" 2>"$T/err"
is "$(cat "$MNT/first.txt" 2>&1)" "hello vault" "a file op works right away"
like "$(grep " $MNT " /proc/self/mountinfo)" "*fuse*" "mount is a FUSE mount"
isnt "$(daemon_pids)" "" "a vaultfs daemon runs"

ok "fusermount3 -u unmounts" umount_vault
not_ok "mount point is gone" mountpoint -q "$MNT"
is "$(daemon_pids)" "" "no vaultfs process remains after unmount"
ok "nothing of the mount left in the mount point" test ! -e "$MNT/first.txt"

mount_vault
is "$RC" 0 "mount again"
is "$(cat "$MNT/first.txt" 2>&1)" "hello vault" "file survived the remount"

# --- second mount of the same vault ------------------------------------
mkdir "$T/mnt2"
run "$VAULTFS" "$VAULT" "$T/mnt2" --passfile "$PASSFILE"
isnt "$RC" 0 "second mount of the same vault fails"
like "$ERR" "*already mounted*" "  with a clear message ('already mounted')"
not_ok "  and nothing is mounted there" mountpoint -q "$T/mnt2"
is "$(cat "$MNT/first.txt" 2>&1)" "hello vault" "first mount still works"
echo more >>"$MNT/first.txt"
is "$(tail -n 1 "$MNT/first.txt")" "more" "first mount still writable"
ok "unmount" umount_vault

# --- wrong passphrase --------------------------------------------------
keysum=$(sha "$VAULT/vault.keys")
vsum=$(tree_sum "$VAULT/data")
write_passfile "$T/wrong" "not the passphrase"
run "$VAULTFS" "$VAULT" "$MNT" --passfile "$T/wrong"
is "$RC" 3 "wrong passphrase exits 3"
like "$ERR" "*passphrase*" "  with a message about the passphrase"
like "$ERR" "*$VAULT*" "  naming the vault"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"
is "$(sha "$VAULT/vault.keys")" "$keysum" "  and vault.keys is unchanged"
is "$(tree_sum "$VAULT/data")" "$vsum" "  and data/ is unchanged"
is "$(daemon_pids)" "" "  and no daemon is left"

# --- bad arguments -----------------------------------------------------
run "$VAULTFS" "$T/no-such-vault" "$MNT" --passfile "$PASSFILE"
isnt "$RC" 0 "missing vault fails"
like "$ERR" "*$T/no-such-vault*" "  message names the vault"

mkdir "$T/emptydir"
run "$VAULTFS" "$T/emptydir" "$MNT" --passfile "$PASSFILE"
isnt "$RC" 0 "a directory that is not a vault fails"
like "$ERR" "*$T/emptydir*" "  message names it"

run "$VAULTFS" "$VAULT" "$T/no-such-mnt" --passfile "$PASSFILE"
isnt "$RC" 0 "missing mount point fails"
like "$ERR" "*$T/no-such-mnt*" "  message names the mount point"

true >"$T/plainfile"
run "$VAULTFS" "$VAULT" "$T/plainfile" --passfile "$PASSFILE"
isnt "$RC" 0 "mount point that is not a directory fails"
like "$ERR" "*$T/plainfile*" "  message names the mount point"

run "$VAULTFS" "$VAULT" "$MNT" --passfile "$T/no-such-passfile"
isnt "$RC" 0 "missing passfile fails"
like "$ERR" "*$T/no-such-passfile*" "  message names the passfile"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"

run "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" --bogus-option
is "$RC" 2 "unknown option exits 2"
like "$ERR" "*--bogus-option*" "  message names the option"

run "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" -o nonsense_opt_xyz
isnt "$RC" 0 "garbage -o option fails"
like "$ERR" "*nonsense_opt_xyz*" "  message names the option"
if mountpoint -q "$MNT"; then
	fail "  and nothing is mounted"
	umount_vault
else
	pass "  and nothing is mounted"
fi

run "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" -o ro,dirty_min=12X
is "$RC" 2 "a bad dirty_min exits 2"
like "$ERR" "*dirty_min=12X*" "  message names the option"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"

# --- room for dirty pages (bdi.h): root only, kernel 6.2 and later -----
# bdi_knob NAME: the mount's writeback setting NAME
bdi_knob() { cat "/sys/class/bdi/$(mountpoint -d "$MNT")/$1"; }
if [ "$(id -u)" != 0 ]; then
	skip "dirty_min needs root" 4
elif ! mount_vault; then
	fail "mount for dirty_min (exit $RC)"
elif [ ! -e "/sys/class/bdi/$(mountpoint -d "$MNT")/min_bytes" ]; then
	skip "kernel without /sys/class/bdi/*/min_bytes" 4
	umount_vault
else
	# the kernel stores a fraction of its limit: the value read back
	# differs from the one written by rounding
	# 256 MiB, at most 1/16 of the memory
	want=$(awk '/^MemTotal:/ { b = $2 * 1024 / 16;
		print (b < 268435456 ? int(b) : 268435456) }' /proc/meminfo)
	mb=$(bdi_knob min_bytes)
	ok "default mount reserves min(256 MiB, RAM/16) = $want for dirty pages ($mb)" \
		test "$mb" -ge $((want / 100 * 98)) -a "$mb" -le $((want / 100 * 102))
	# the byte values are read back from ratios of a limit that moves
	# with free memory: compare the ratios
	ok "  and lets the mount hold that much" \
		test "$(bdi_knob max_ratio_fine)" -ge "$(bdi_knob min_ratio_fine)"
	umount_vault
	mount_vault -o dirty_min=0
	is "$(bdi_knob min_bytes)" 0 "dirty_min=0 leaves the kernel's limit"
	umount_vault
	mount_vault -o dirty_min=32M
	mb=$(bdi_knob min_bytes)
	ok "dirty_min=32M reserves about 32 MiB ($mb)" \
		test "$mb" -ge $((31 << 20)) -a "$mb" -le $((33 << 20))
	umount_vault
fi

# --- readahead (bdi.h): root only ----------------------------------------
if [ "$(id -u)" != 0 ]; then
	skip "read_ahead needs root" 4
elif ! mount_vault; then
	fail "mount for read_ahead (exit $RC)"
else
	is "$(bdi_knob read_ahead_kb)" 1024 "default mount reads ahead 1 MiB"
	umount_vault
	mount_vault -o read_ahead=512K
	is "$(bdi_knob read_ahead_kb)" 512 "read_ahead=512K: 512 KiB"
	umount_vault
	mount_vault -o read_ahead=0
	is "$(bdi_knob read_ahead_kb)" 128 "read_ahead=0 leaves the kernel's 128 KiB"
	umount_vault
	mount_vault -o read_ahead=100
	is "$(bdi_knob read_ahead_kb)" 4 "read_ahead=100 is one page, not none"
	umount_vault
fi

run "$VAULTFS" "$VAULT"
is "$RC" 2 "missing mount point operand exits 2"
like "$ERR" "*MOUNTPOINT*" "  and says what is missing"

run "$VAULTFS" --help
is "$RC" 0 "vaultfs --help exits 0"
like "$OUT" "*vaultfs VAULT MOUNTPOINT*" "  and prints the usage"
run "$VAULTCTL" --help
is "$RC" 0 "vaultctl --help exits 0"
run "$VAULTCTL" init --help
is "$RC" 0 "vaultctl init --help exits 0"
like "$OUT$ERR" "*--passfile*" "  and describes --passfile"

# No passfile and no terminal: a clear message, no hang.
run setsid -w "$VAULTFS" "$VAULT" "$MNT" </dev/null
isnt "$RC" 0 "no passfile and no terminal fails"
like "$ERR" "*passfile*" "  and suggests --passfile"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"

# --- unknown format version ---------------------------------------------
mkdir "$T/future"
cp -a "$VAULT/." "$T/future/"
# format is the little-endian u32 right after the 8-byte magic
printf '\143\000\000\000' |
	dd of="$T/future/vault.keys" bs=1 seek=8 conv=notrunc 2>/dev/null
run "$VAULTFS" "$T/future" "$MNT" --passfile "$PASSFILE"
isnt "$RC" 0 "vault with an unknown format version is refused"
like "$ERR" "*format*" "  with a message about the format"
like "$ERR" "*$T/future*" "  naming the vault"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"

# A changed byte in the key store is "damaged", not "wrong passphrase".
mkdir "$T/damaged"
cp -a "$VAULT/." "$T/damaged/"
sz=$(stat -c %s "$T/damaged/vault.keys")
"$HELPERS/fstool" flip "$T/damaged/vault.keys" $((sz - 20)) 2>/dev/null ||
	printf 'X' | dd of="$T/damaged/vault.keys" bs=1 seek=$((sz - 20)) \
		conv=notrunc 2>/dev/null
run "$VAULTFS" "$T/damaged" "$MNT" --passfile "$PASSFILE"
isnt "$RC" 0 "a tampered key store is refused"
isnt "$RC" 3 "  and not reported as a wrong passphrase"
like "$ERR" "*damaged*" "  but as damaged"
not_ok "  and nothing is mounted" mountpoint -q "$MNT"

# --- foreground mode, and SIGTERM ----------------------------------------
"$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" -f >"$T/fg.out" 2>&1 &
fgpid=$!
_mounted="$_mounted $MNT"
i=0
while ! mountpoint -q "$MNT" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
ok "vaultfs -f mounts and stays in the foreground" kill -0 "$fgpid"
is "$(cat "$MNT/first.txt" 2>&1 | head -n 1)" "hello vault" \
	"  and the mount works"
fusermount3 -u "$MNT"
i=0
while kill -0 "$fgpid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$fgpid" 2>/dev/null; then
	fail "  and exits after fusermount3 -u" "still running after 10 s"
	kill -9 "$fgpid"
else
	wait "$fgpid"
	is "$?" 0 "  and exits 0 after fusermount3 -u"
fi

mount_vault || abort "mount failed (exit $RC)"
pids=$(daemon_pids)
# shellcheck disable=SC2086
kill -TERM $pids
i=0
while [ -n "$(daemon_pids)" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
is "$(daemon_pids)" "" "SIGTERM stops the daemon"
not_ok "  and unmounts" mountpoint -q "$MNT"
mount_vault
is "$RC" 0 "  and the vault can be mounted again (lock released)"
is "$(head -n 1 "$MNT/first.txt" 2>&1)" "hello vault" "  with its content"
ok "final unmount" umount_vault

done_testing
