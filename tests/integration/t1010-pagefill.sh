#!/bin/sh
# t1010-pagefill: after a random read the daemon puts the rest of the
# chunk into the kernel's page cache (fsops.c, fill_run).  The pages must
# be the right ones, the other pages of the chunk must then not reach the
# daemon, and a fill must never bring back data older than what a
# finished write or truncate left (tests/helpers/fillrace.c: one writer
# rewriting whole chunks, readers checking every page against the last
# version published after close).  With -o direct_io nothing is filled.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fillrace
setup_mounted_vault

F=$HELPERS/fillrace
secs=${FILLRACE_SECONDS:-4}
[ -n "$VAULTFS_TORTURE" ] && secs=${FILLRACE_SECONDS:-60}

head -c 200000 /dev/urandom >"$REF/pages"
cp "$REF/pages" "$MNT/pages"
# the writer's handle is released asynchronously: no fills until it is
umount_vault && mount_vault || abort "remount failed"
ok "random page reads return the right bytes" "$F" pages "$MNT/pages" "$REF/pages"

run "$F" race "$MNT" "$secs" 3
ok "reads racing with rewrites never see older data than a finished write left" \
	test "$RC" = 0
diag_file "$T/out"
run "$F" race "$MNT" "$secs" 3 1
ok "... nor with truncates by path in between" test "$RC" = 0
diag_file "$T/out"
ok "daemon alive" daemon_alive
ok "unmount" umount_vault

# closed_bytes_read PATH: bytes_read of the last close record of PATH
closed_bytes_read() {
	run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" --event close \
		--path "$1" --json
	sed -n 's/.*"bytes_read":\([0-9]*\).*/\1/p' "$T/out" | tail -n 1
}
is "$(closed_bytes_read /pages)" 4096 \
	"one page reached the daemon: the other 15 of its chunk were filled"

mount_vault -o direct_io || abort "mount with -o direct_io failed"
ok "with direct_io: random page reads return the right bytes" \
	"$F" pages "$MNT/pages" "$REF/pages"
ok "unmount" umount_vault
is "$(closed_bytes_read /pages)" 69632 \
	"with direct_io every page read reaches the daemon (17 x 4096)"

done_testing
