#!/bin/sh
# t1003-concurrency: several processes at once on one mount.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
setup_mounted_vault

# source files: random (incompressible) and text (compressible)
i=1
while [ $i -le 4 ]; do
	if [ $((i % 2)) = 0 ]; then
		head -c $((1500000 + i * 12345)) /dev/urandom >"$REF/src$i"
	else
		seq $((i * 100000)) $((i * 100000 + 200000)) >"$REF/src$i"
	fi
	i=$((i + 1))
done
head -c 3000000 /dev/urandom >"$REF/shared"
cp "$REF/shared" "$MNT/shared" || abort "cannot copy into the mount"

# --- 4 writers on 4 files, 4 readers on one file, all at once ---------------
pids=""
i=1
while [ $i -le 4 ]; do
	# odd block sizes so writes straddle chunk boundaries differently
	tmo dd if="$REF/src$i" of="$MNT/w$i" bs=$((4093 * i + 1000)) 2>"$T/w$i.err" &
	pids="$pids $!"
	(k=0; while [ $k -lt 3 ]; do tmo cat "$MNT/shared" | sha256sum; k=$((k + 1)); done) \
		>"$T/r$i.sums" 2>"$T/r$i.err" &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
is "$bad" 0 "4 writers and 4 readers finished without error"
want=$(sha "$REF/shared")
i=1
while [ $i -le 4 ]; do
	is "$(sha "$MNT/w$i")" "$(sha "$REF/src$i")" "writer $i: file content intact"
	is "$(sort -u "$T/r$i.sums" | cut -d' ' -f1)" "$want" \
		"reader $i: 3 reads of the shared file, all correct"
	i=$((i + 1))
done

# --- readers while the file they read is being rewritten elsewhere -----------
# (writers change other regions of the same file)
head -c 1048576 /dev/urandom >"$REF/regions"
cp "$REF/regions" "$MNT/regions"
pids=""
i=0
while [ $i -lt 4 ]; do
	# each writer owns 256 KiB, written in 4 KiB pieces in two passes
	(head -c 262144 /dev/urandom >"$T/part$i"
	 tmo dd if="$T/part$i" of="$MNT/regions" bs=4096 seek=$((i * 64)) \
		conv=notrunc 2>/dev/null &&
	 tmo dd if="$T/part$i" of="$MNT/regions" bs=4096 seek=$((i * 64)) \
		conv=notrunc,fsync 2>/dev/null) &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
is "$bad" 0 "4 writers on disjoint regions of one file"
cat "$T/part0" "$T/part1" "$T/part2" "$T/part3" >"$REF/regions"
ok "  file is the concatenation of the 4 regions" cmp "$REF/regions" "$MNT/regions"

# --- two O_APPEND writers on one file --------------------------------------------
"$HELPERS/fstool" append "$MNT/log" A 3000 &
pa=$!
"$HELPERS/fstool" append "$MNT/log" B 3000 &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
is "$ra$rb" 00 "two O_APPEND writers, 3000 lines each"
is "$(wc -l <"$MNT/log")" 6000 "  6000 lines"
is "$(stat -c %s "$MNT/log")" 384000 "  6000 x 64 bytes"
is "$(grep -c -E '^A [0-9]{8} A{52}$' "$MNT/log")" 3000 "  all 3000 A lines whole"
is "$(grep -c -E '^B [0-9]{8} B{52}$' "$MNT/log")" 3000 "  all 3000 B lines whole"
is "$(grep '^A' "$MNT/log" | cut -c3-10 | uniq | wc -l)" 3000 "  A lines all distinct"
seq -f '%08g' 0 2999 >"$T/want.seq"
grep '^B' "$MNT/log" | cut -c3-10 >"$T/b.seq"
ok "  B lines complete and in order" cmp "$T/want.seq" "$T/b.seq"

# --- many creators in one directory ------------------------------------------------
mkdir "$MNT/dir"
pids=""
for w in 1 2 3 4; do
	(n=0; while [ $n -lt 150 ]; do
		echo "$w $n" >"$MNT/dir/f-$w-$n" || exit 1
		[ $((n % 3)) = 0 ] && { rm "$MNT/dir/f-$w-$n" || exit 1; }
		n=$((n + 1))
	done) &
	pids="$pids $!"
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
is "$bad" 0 "4 processes creating and removing in one directory"
is "$(ls "$MNT/dir" | wc -l)" 400 "  400 files remain"
is "$(cat "$MNT/dir/f-3-149")" "3 149" "  contents right"
is "$(cat "$MNT"/dir/* | sort -u | wc -l)" 400 "  every file has its own content"

# --- all of it again after a remount ------------------------------------------------
remount || abort "remount failed (exit $RC)"
i=1
bad=0
while [ $i -le 4 ]; do
	cmp -s "$REF/src$i" "$MNT/w$i" || bad=$((bad + 1))
	i=$((i + 1))
done
is "$bad" 0 "after remount: writer files intact"
ok "after remount: region file intact" cmp "$REF/regions" "$MNT/regions"
is "$(grep -c -E '^[AB] [0-9]{8} [AB]{52}$' "$MNT/log")" 6000 "after remount: append log intact"
ok "unmount" umount_vault

done_testing
