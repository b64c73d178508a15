#!/bin/sh
# t1005-mmap: mmap reads and MAP_SHARED writes through the mount
# (tests/helpers/mmapio.c); each write is done the same way on a plain
# reference file, then compared with read(), through mmap, and after a
# remount.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper mmapio
setup_mounted_vault

M=$HELPERS/mmapio

# --- mmap read ---------------------------------------------------------------
head -c 400000 /dev/urandom >"$REF/rd"
seq 1 100000 >>"$REF/rd"
cp "$REF/rd" "$MNT/rd"
ok "mmap read of a file equals read() of the reference" "$M" cmp "$MNT/rd" "$REF/rd"
true >"$REF/empty"
true >"$MNT/empty"
ok "mmap read of an empty file" "$M" cmp "$MNT/empty" "$REF/empty"
printf 'x' >"$REF/one"
printf 'x' >"$MNT/one"
ok "mmap read of a 1-byte file" "$M" cmp "$MNT/one" "$REF/one"

# --- MAP_SHARED writes ------------------------------------------------------------
# mmw FILE OFF LEN SEED: the same mapped write on the vault and the reference
mmw() {
	"$M" write "$REF/$1" "$2" "$3" "$4" &&
		"$M" write "$MNT/$1" "$2" "$3" "$4"
}
ok "MAP_SHARED write + msync into a new file" mmw new 0 300000 1
ok "  read() sees it" cmp "$REF/new" "$MNT/new"
ok "  mmap sees it" "$M" cmp "$MNT/new" "$REF/new"
cp "$REF/rd" "$REF/patch"
cp "$REF/rd" "$MNT/patch"
ok "MAP_SHARED write in the middle of an existing file" mmw patch 65000 5000 2
ok "  read() sees it (chunk boundary crossed)" cmp "$REF/patch" "$MNT/patch"
ok "MAP_SHARED write at an unaligned offset near the end" mmw patch 987653 1000 3
ok "  read() sees it" cmp "$REF/patch" "$MNT/patch"
ok "MAP_SHARED write that grows the file" mmw patch 1200000 70000 4
ok "  read() sees it" cmp "$REF/patch" "$MNT/patch"
is "$(stat -c %s "$MNT/patch")" "$(stat -c %s "$REF/patch")" "  size grown"
ok "MAP_PRIVATE writes do not reach the file" "$M" private "$MNT/rd"
ok "  file unchanged" cmp "$REF/rd" "$MNT/rd"
ok "a store through the map is seen by pread, a pwrite by the map" \
	"$M" coherent "$MNT/coh"

# mmap and write() mixed: append with write() after mapped writes
echo "tail line" >>"$REF/new"
echo "tail line" >>"$MNT/new"
ok "write() after mapped writes" cmp "$REF/new" "$MNT/new"

# --- after a remount --------------------------------------------------------------
remount || abort "remount failed (exit $RC)"
for f in rd new patch; do
	ok "after remount: $f identical (read)" cmp "$REF/$f" "$MNT/$f"
	ok "after remount: $f identical (mmap)" "$M" cmp "$MNT/$f" "$REF/$f"
done
ok "unmount" umount_vault

done_testing
