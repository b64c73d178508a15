#!/bin/sh
# t4002-fulldisk: a backing store that runs out of space (issue 6).
#
# The vault lives on a small file system: an 8 MiB tmpfs, and a 16 MiB
# ext4 image on a loop device (skipped where loop devices do not work).
# Filling it through the mount must make the application see ENOSPC (dd
# exits non-zero); documents written before stay intact, also one whose
# chunk was being rewritten when the space ran out (only the range being
# written may hold old or new bytes); creating files and directories fails
# cleanly; after deleting something, writing works again; the daemon
# lives throughout; after unmounting, everything reads back and fsck finds
# nothing damaged.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper damage
need_cmd mount umount dd
DMG=$HELPERS/damage
CHUNK=16384

FS=$T/fs
mkdir "$FS"
fs_mounted=""
cleanup_fs() {
	if [ -n "$fs_mounted" ]; then
		mounted "$MNT" && { fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; }
		_kill_daemons
		umount "$FS" 2>/dev/null || umount -l "$FS" 2>/dev/null
		fs_mounted=""
	fi
}
# our EXIT trap first unmounts the small file system, then lib.sh's runs
trap '_x=$?; cleanup_fs; (exit $_x); _cleanup' EXIT

# check_sums [lenient]: every reference document reads back the same
# through the mount; lenient: or is refused with an error (the access log
# cannot record the access on a full disk: fail closed), never different
check_sums() {
	_bad="" _refused=""
	for _f in "$REF"/keep*; do
		_n=${_f##*/}
		if ! tmo cat "$MNT/$_n" >"$T/sum.got" 2>/dev/null; then
			_refused="$_refused $_n"
		elif ! cmp -s "$_f" "$T/sum.got"; then
			_bad="$_bad $_n"
		fi
	done
	[ -n "$_refused" ] && echo "refused:$_refused"
	[ -z "$_bad" ] || { echo "differ:$_bad"; return 1; }
	[ -z "$_refused" ] || [ "$1" = lenient ]
}

# scenario NAME [vaultfs args]: the vault on $FS (mounted by the caller)
# through a full disk
scenario() {
	name=$1
	shift
	VAULT=$FS/vault
	make_vault --chunk-size $CHUNK || { fail "$name: vaultctl init failed"; diag "$ERR"; return; }
	# ballast outside the vault, to free space without the mount
	dd if=/dev/zero of="$FS/ballast" bs=65536 count=32 2>/dev/null
	mount_vault "$@" || { fail "$name: mount failed"; diag "$ERR"; return; }
	i=1
	while [ $i -le 4 ]; do
		if [ $((i % 2)) = 0 ]; then
			"$DMG" gen $i 300000 >"$REF/keep$i"
		else
			"$DMG" gen $i 400000 text >"$REF/keep$i"
		fi
		cp "$REF/keep$i" "$MNT/keep$i"
		i=$((i + 1))
	done
	# a document with a hole, and one that will be rewritten when full
	truncate -s 1000000 "$REF/keep5"
	"$DMG" gen 5 20000 | dd of="$REF/keep5" bs=1 seek=700000 conv=notrunc 2>/dev/null
	cp --sparse=always "$REF/keep5" "$MNT/keep5"
	"$DMG" gen 6 $((5 * CHUNK)) >"$REF/rewrite"
	cp "$REF/rewrite" "$MNT/rewrite"
	ok "$name: documents written and read back" check_sums

	# a descriptor opened before the disk fills up (opening later is refused)
	exec 7<>"$MNT/rewrite"

	# fill it up
	# (128 MiB: with the writeback cache, write(2) only fills the kernel's
	# cache and the error comes at close)
	tmo dd if=/dev/urandom of="$MNT/big" bs=65536 count=2048 2>"$T/dd.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 124 ]; then
		pass "$name: dd filling the disk fails (exit $rc)"
	else
		fail "$name: dd filling the disk fails" "exit $rc"
	fi
	like "$(cat "$T/dd.err")" "*No space left on device*" \
		"$name: dd reports ENOSPC"
	diag "$name: dd: $(grep 'records out' "$T/dd.err") (of 2048); $(df -k "$FS" | awk 'NR == 2 { print $4 }') KiB left"
	# whatever is left: a second fill with small blocks and fsync
	tmo dd if=/dev/urandom of="$MNT/big2" bs=4096 count=100000 conv=fsync 2>"$T/dd2.err"
	rc=$?
	isnt "$rc" 0 "$name: a second writer (4 KiB blocks, fsync) also fails"
	like "$(cat "$T/dd2.err")" "*No space left on device*" \
		"$name: with ENOSPC"
	ok "$name: documents written before read intact (or are refused)" check_sums lenient
	diag "$name: full disk: $(check_sums lenient | grep refused || echo "nothing refused")"

	# operations on a full disk fail cleanly
	run sh -c 'i=0; while [ $i -lt 200 ]; do : >"$1/new$i" || exit 1; i=$((i + 1)); done' sh "$MNT"
	isnt "$RC" 0 "$name: creating 200 files on a full disk fails at some point"
	run mkdir "$MNT/dir1" "$MNT/dir2" "$MNT/dir3"
	diag "$name: mkdir on a full disk: exit $RC $ERR"
	# rewrite chunk 2 of a document: the new version needs a free slot
	"$DMG" gen 66 $CHUNK >"$T/newchunk"
	tmo dd if="$T/newchunk" bs=$CHUNK seek=2 conv=fsync 2>"$T/dd3.err" >&7
	rc=$?
	exec 7>&-
	diag "$name: rewriting a chunk of a document on the full disk: exit $rc $(head -c 200 "$T/dd3.err")"
	# expected: chunks 0, 1, 3, 4 unchanged; chunk 2 old or new (or, on
	# the full disk, the read refused)
	check_rewrite() {
		if ! tmo cat "$MNT/rewrite" >"$T/rw.got" 2>"$T/rw.err"; then
			[ "$1" = lenient ] && return 0
			cat "$T/rw.err"
			return 1
		fi
		[ "$(stat -c %s "$T/rw.got")" = $((5 * CHUNK)) ] || return 1
		cmp -s -n $((2 * CHUNK)) "$T/rw.got" "$REF/rewrite" || return 1
		cmp -s -i $((3 * CHUNK)) "$T/rw.got" "$REF/rewrite" || return 1
		dd if="$T/rw.got" bs=$CHUNK skip=2 count=1 2>/dev/null >"$T/rw.c2"
		dd if="$REF/rewrite" bs=$CHUNK skip=2 count=1 2>/dev/null >"$T/rw.old"
		cmp -s "$T/rw.c2" "$T/rw.old" || cmp -s "$T/rw.c2" "$T/newchunk"
	}
	ok "$name: the document being rewritten reads whole (chunk 2 old or new) or is refused" \
		check_rewrite lenient
	run truncate -s 50000000 "$MNT/keep1.sparse"
	diag "$name: a sparse 50 MB file on a full disk: exit $RC $ERR"
	ok "$name: the daemon lives" daemon_alive
	ok "$name: documents still read intact (or are refused)" check_sums lenient

	# free space: deleting through the mount, and outside
	run rm -f "$MNT/big" "$MNT/big2"
	if [ "$RC" = 0 ]; then
		pass "$name: deleting through the mount on a full disk works"
	else
		# TODO: known bug, reported to the lead
		_tap_n=$((_tap_n + 1))
		echo "not ok $_tap_n - $name: deleting through the mount on a full disk works # TODO bug: unlink is done, then the access log cannot record it and EIO is returned; the kernel keeps the dentry and inode, so the daemon keeps the deleted file's descriptor and its space until the entry times out"
		diag "$ERR"
	fi
	rm -f "$FS/ballast"
	rm -f "$MNT"/new* "$MNT/keep1.sparse" "$MNT/big" "$MNT/big2"
	rmdir "$MNT"/dir* 2>/dev/null
	sleep 0.5
	"$DMG" gen 77 1000000 >"$REF/keep7"
	ok "$name: after deleting, a 1 MB document can be written" \
		dd if="$REF/keep7" of="$MNT/keep7" bs=65536 conv=fsync
	ok "$name: a directory can be made" mkdir "$MNT/dir-after"
	ok "$name: every document intact, the new one too" check_sums
	ok "$name: unmount" umount_vault
	run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
	is "$RC" 0 "$name: fsck finds nothing damaged"
	[ "$RC" = 0 ] || { diag_file "$T/out"; diag_file "$T/err"; }
	grep '^warning' "$T/out" | head -n 5 | sed 's/^/#   /'
	mount_vault || { fail "$name: remount failed"; return; }
	ok "$name: after a remount every document is intact" check_sums
	# (what was read back before the remount may have come from the
	# kernel's cache of the failed write: only old or new is required)
	cp "$T/rw.got" "$T/rw.before"
	ok "$name: after a remount the rewritten document reads whole (chunk 2 old or new)" check_rewrite strict
	cmp -s "$T/rw.got" "$T/rw.before" ||
		diag "$name: chunk 2 read differently before and after the remount"
	umount_vault
	rm -f "$REF"/keep* "$REF"/rewrite
}

# --- tmpfs -------------------------------------------------------------------------
if mount -t tmpfs -o size=8m,mode=0755 tmpfs "$FS" 2>"$T/mount.err"; then
	fs_mounted=tmpfs
	scenario "tmpfs 8 MiB"
	cleanup_fs
else
	skip "cannot mount a tmpfs: $(cat "$T/mount.err")" 17
fi
if mount -t tmpfs -o size=8m,mode=0755 tmpfs "$FS" 2>"$T/mount.err"; then
	fs_mounted=tmpfs
	scenario "tmpfs, no_writeback" -o no_writeback
	cleanup_fs
else
	skip "cannot mount a tmpfs: $(cat "$T/mount.err")" 17
fi

# --- ext4 on a loop device ----------------------------------------------------------
if command -v mkfs.ext4 >/dev/null 2>&1 &&
   dd if=/dev/zero of="$T/ext4.img" bs=1M count=16 2>/dev/null &&
   mkfs.ext4 -q -m 0 -F "$T/ext4.img" >/dev/null 2>&1 &&
   mount -o loop "$T/ext4.img" "$FS" 2>"$T/mount.err"; then
	fs_mounted=ext4
	scenario "ext4 16 MiB"
	cleanup_fs
else
	skip "cannot mount an ext4 image on a loop device" 17
fi
done_testing
