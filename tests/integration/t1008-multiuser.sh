#!/bin/sh
# t1008-multiuser: one mount as root with allow_other, used by several
# accounts; each owns what it creates and POSIX permissions hold.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
need_cmd setpriv

U1=vaultuser1
U2=vaultuser2
need_users $U1 $U2
uid1=$(id -u $U1); gid1=$(id -g $U1)
uid2=$(id -u $U2); gid2=$(id -g $U2)

make_vault || abort "vaultctl init failed (exit $RC)"
mount_vault -o allow_other || abort "mount -o allow_other failed (exit $RC)"
chmod 0755 "$MNT" || fail "chmod of the mount root"
mkdir "$MNT/shared" && chmod 1777 "$MNT/shared"
is "$(stat -c %a "$MNT/shared")" 1777 "a sticky world-writable directory"
S=$MNT/shared

# --- each user creates files --------------------------------------------------------
ok "$U1 creates a private file (0600)" \
	as $U1 sh -c 'umask 077 && echo "u1 secret" >"$1"' sh "$S/u1-private"
ok "$U1 creates a public file (0644)" \
	as $U1 sh -c 'umask 022 && echo "u1 public" >"$1"' sh "$S/u1-public"
ok "$U1 creates a directory" as $U1 mkdir -m 0755 "$S/u1dir"
ok "$U2 creates a file" as $U2 sh -c 'echo "u2 file" >"$1"' sh "$S/u2-file"
is "$(stat -c %u:%g "$S/u1-private")" "$uid1:$gid1" "the file belongs to $U1"
is "$(stat -c %a "$S/u1-private")" 600 "  with mode 0600"
is "$(stat -c %u:%g "$S/u1dir")" "$uid1:$gid1" "the directory belongs to $U1"
is "$(stat -c %u:%g "$S/u2-file")" "$uid2:$gid2" "$U2's file belongs to $U2"
like "$(ls -ln "$S" | grep u1-public)" "* $uid1 $gid1 *" "ls -ln shows the owner's uid"

# --- permissions ----------------------------------------------------------------------
is "$(try $U2 read "$S/u1-private")" EACCES "$U2 cannot read $U1's 0600 file"
is "$(try $U2 read "$S/u1-public")" OK "$U2 can read $U1's 0644 file"
is "$(try $U2 write "$S/u1-public")" EACCES "$U2 cannot write it"
is "$(try $U2 truncate "$S/u1-public" 0)" EACCES "$U2 cannot truncate it"
is "$(try $U2 chmod "$S/u1-public" 666)" EPERM "$U2 cannot chmod it"
is "$(try $U2 chown "$S/u1-public" "$uid2:$gid2")" EPERM "$U2 cannot chown it"
is "$(try $U2 unlink "$S/u1-public")" EPERM "$U2 cannot remove it (sticky directory)"
is "$(try $U2 rename "$S/u1-public" "$S/stolen")" EPERM "$U2 cannot rename it (sticky directory)"
is "$(try $U2 create "$S/u1dir/intruder")" EACCES "$U2 cannot create in $U1's 0755 directory"
is "$(try $U1 chown "$S/u1-public" "$uid2:$gid2")" EPERM "$U1 cannot give the file away"
is "$(try $U1 chmod "$S/u1-public" 640)" OK "$U1 can chmod its own file"
is "$(stat -c %a "$S/u1-public")" 640 "  mode now 0640"
is "$(try $U2 read "$S/u1-public")" EACCES "  and $U2 can no longer read it"
is "$(try $U1 write "$S/u1-private")" OK "$U1 can write its own file"
is "$(cat "$S/u1-private" 2>&1)" "$(printf 'u1 secret\nx')" "root can read everything"
ok "root can write everything" sh -c 'echo root >>"$1"' sh "$S/u2-file"
ok "root can chown" chown "$uid2:$gid2" "$S/u1-public"
is "$(stat -c %u "$S/u1-public")" "$uid2" "  owner changed"
is "$(try $U2 read "$S/u1-public")" OK "  and the new owner can read it"

# group access: a group-readable file is readable by a group member only
ok "root makes a file for group $gid1 (0640)" sh -c \
	'echo grp >"$1" && chown 0:"$2" "$1" && chmod 0640 "$1"' sh "$S/grpfile" "$gid1"
is "$(try $U1 read "$S/grpfile")" OK "a member of the group can read it"
is "$(try $U2 read "$S/grpfile")" EACCES "a non-member cannot"

# --- after a remount ------------------------------------------------------------------
ls -ln "$S" | awk 'NR > 1 {print $1, $3, $4, $NF}' >"$T/ls.before"
remount -o allow_other || abort "remount failed (exit $RC)"
ls -ln "$S" | awk 'NR > 1 {print $1, $3, $4, $NF}' >"$T/ls.after"
ok "after remount: owners and modes unchanged" diff "$T/ls.before" "$T/ls.after"
is "$(try $U2 read "$S/u1-private")" EACCES "after remount: still no access for $U2"

# --- without allow_other, other accounts see nothing -----------------------------------
umount_vault
mount_vault || abort "mount failed (exit $RC)"
is "$(try $U1 stat "$MNT/shared")" EACCES "without allow_other, $U1 cannot use the mount"
ok "unmount" umount_vault

done_testing
