#!/bin/sh
# t1011-listing: directory listings with READDIRPLUS (fsops.c,
# readdir_fill).  The attributes that come with a listing must be those a
# stat gives (logical sizes, not the backing files'), a caller who may
# read but not search a directory gets names only, and entries that did
# not fit in a reply leave no reference behind in the daemon.
. "$(dirname "$0")/lib.sh"
need_fuse
setup_mounted_vault

# --- attributes from the listing ------------------------------------------
mkdir "$MNT/d"
for n in 0 1 4095 65536 70000 200001; do
	head -c "$n" /dev/urandom >"$MNT/d/f$n"
done
ln -s f0 "$MNT/d/link"
mkdir "$MNT/d/sub"
chmod 640 "$MNT/d/f1"
remount || abort "remount failed"
# cold: the sizes come from the listing, not from earlier stats
ls -ln "$MNT/d" | awk 'NR > 1 { print $1, $5, $9 }' >"$T/ls"
for n in 0 1 4095 65536 70000 200001; do
	like "$(grep " f$n\$" "$T/ls")" "* $n f$n" "ls -l right after mounting shows f$n's size $n"
done
like "$(grep ' f1$' "$T/ls")" "-rw-r-----*" "  and its mode"
like "$(grep ' link$' "$T/ls")" "l*" "  a symbolic link"
like "$(grep ' sub$' "$T/ls")" "d*" "  a directory"
is "$(stat -c %s "$MNT/d/f70000")" 70000 "stat agrees"

# --- read but no search permission: names only -------------------------------
U=vaultuser1
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
   { id $U >/dev/null 2>&1 ||
     useradd -M -U -s /bin/sh -d /nonexistent $U 2>/dev/null; }; then
	remount -o allow_other || abort "remount with allow_other failed"
	chmod 0755 "$MNT"
	mkdir "$MNT/r"
	echo twelve bytes >"$MNT/r/file"
	chmod 0744 "$MNT/r"		# others: read, no search
	remount -o allow_other || abort "remount failed"
	is "$(as $U ls "$MNT/r" 2>&1)" "file" \
		"r-- on a directory: $U gets the names"
	like "$(as $U stat -c %s "$MNT/r/file" 2>&1)" "*ermission denied*" \
		"  but no attributes: stat is refused"
	out=$(as $U ls -ln "$MNT/r" 2>&1)
	like "$out" "*file*" "  ls -l lists the name"
	unlike "$out" "* 13 *" "  but shows no size"
	is "$(stat -c %s "$MNT/r/file")" 13 "  which root does see"
else
	skip "needs root, setpriv and an account $U" 5
fi

# --- many entries: some do not fit in a reply ---------------------------------
# Directories keep a descriptor in the daemon while the kernel holds them,
# so a reference taken for an entry that was not sent would keep one.
remount || abort "remount failed"
mkdir "$MNT/many"
i=0
while [ "$i" -lt 600 ]; do
	mkdir "$MNT/many/dir-with-a-longish-name-$i"
	i=$((i + 1))
done
remount || abort "remount failed"
pid=$(daemon_pids "$MNT")
fds() { ls "/proc/$pid/fd" | wc -l; }
before=$(fds)
is "$(ls -l "$MNT/many" | grep -c '^d')" 600 "ls -l lists 600 directories"
during=$(fds)
ok "  the daemon holds a descriptor for each ($before before, $during after)" \
	test "$during" -ge $((before + 600))
if [ "$(id -u)" = 0 ]; then
	# the kernel forgets what nothing uses; FORGETs arrive soon after
	sync
	k=0
	while [ "$k" -lt 50 ]; do
		echo 2 >/proc/sys/vm/drop_caches
		[ "$(fds)" -le "$before" ] && break
		sleep 0.1
		k=$((k + 1))
	done
	after=$(fds)
	ok "  and none once the kernel forgot them ($after, $before before)" \
		test "$after" -le "$before"
else
	skip "needs root for drop_caches" 1
fi
ok "daemon alive" daemon_alive
ok "unmount" umount_vault
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "fsck clean"
done_testing
