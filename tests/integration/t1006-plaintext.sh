#!/bin/sh
# t1006-plaintext: no plaintext content, name or symlink target reaches the
# backing store, also for highly compressible content and long names.
. "$(dirname "$0")/lib.sh"
need_fuse
setup_mounted_vault

rand=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
M=VLTMARK$rand			# in content
N=VLTNAME$rand			# in names
L=VLTLINK$rand			# in symlink targets

# pad255 PREFIX: PREFIX padded to exactly 255 bytes
pad255() {
	printf '%s%*s' "$1" $((255 - ${#1})) '' | tr ' ' q
}

# --- content ---------------------------------------------------------------------
printf 'Design review notes\nsecret: %s\nend\n' "$M" >"$MNT/notes.txt"
i=0
while [ $i -lt 100000 ]; do
	printf '%s' "$M"
	i=$((i + 1))
done >"$T/repeated"
cp "$T/repeated" "$MNT/repeated.bin"
{ head -c 500000 /dev/zero; printf '%s' "$M"; head -c 500000 /dev/zero; } >"$MNT/inzeros.bin"
# marker straddling a chunk boundary and right at the start of chunk 2
{ head -c 65530 /dev/zero; printf '%s' "$M"; head -c $((131072 - 65530 - ${#M})) /dev/zero
  printf '%s' "$M"; } >"$MNT/boundary.bin"
# tiny file that is only the marker
printf '%s' "$M" >"$MNT/tiny"
# CSV with the marker in many cells
i=0
while [ $i -lt 2000 ]; do echo "$i,$M,$((i * 3))"; i=$((i + 1)); done >"$MNT/table.csv"
# written in small pieces, with fsync (a different code path than cp)
i=0
while [ $i -lt 50 ]; do
	printf '%s\n' "$M" | dd of="$MNT/pieces" bs=1 seek=$((i * 1000)) conv=notrunc,fsync 2>/dev/null
	i=$((i + 1))
done
is "$(grep -c "$M" "$MNT/notes.txt")" 1 "marker readable through the mount"
is "$(tr -d '\000' <"$MNT/inzeros.bin")" "$M" "marker in zeros readable through the mount"

# --- names and symlink targets -----------------------------------------------------
mkdir "$MNT/dir-$N"
echo x >"$MNT/dir-$N/file-$N.txt"
long=$(pad255 "long-$N-")
mkdir "$MNT/$long" && echo y >"$MNT/$long/$long"
mkdir "$MNT/$(pad255 "dir255-$N-")"
ln -s "target-$L" "$MNT/dangling-link"
ln -s "dir-$N/file-$N.txt" "$MNT/link-$N"
ln -s "/some/absolute/path/$L/with/a/long/target/$(printf '%600s' | tr ' ' L)" "$MNT/longlink"
is "$(readlink "$MNT/dangling-link")" "target-$L" "symlink target readable through the mount"
is "$(ls "$MNT/$long")" "$long" "long name listed through the mount"
ok "ls of the mount works" ls -laR "$MNT"

# two files with the same content must not look alike in the backing store
backing_list >"$T/l0"
printf 'same content %s\n' "$M" >"$MNT/twin1"
backing_list >"$T/l1"
printf 'same content %s\n' "$M" >"$MNT/twin2"
backing_list >"$T/l2"
b1=$(backing_new "$T/l0" "$T/l1" | grep -v 'vaultfs.dirid$' | head -n 1)
b2=$(backing_new "$T/l1" "$T/l2" | grep -v 'vaultfs.dirid$' | head -n 1)

umount_vault || abort "unmount failed"

if [ -n "$b1" ] && [ -n "$b2" ]; then
	not_ok "identical documents have different ciphertext" \
		cmp -s "$VAULT/data/$b1" "$VAULT/data/$b2"
	isnt "$b1" "$b2" "  and different backing names"
else
	fail "cannot find the twins' backing files" "$b1" "$b2"
fi

# --- search every byte and every name under the vault ----------------------------
# base64 (and base64url) of each marker at all three alignments, without the
# edge characters that depend on the neighbouring bytes
b64_forms() {
	for pre in "" "x" "xy"; do
		e=$(printf '%s%s' "$pre" "$1" | base64 -w0)
		mid=$(printf '%s' "$e" | cut -c5-$((${#e} - 4)))
		printf '%s\n' "$mid"
		printf '%s\n' "$mid" | tr '+/' '-_'
	done
}
true >"$T/patterns"
for m in "$M" "$N" "$L" "$rand"; do
	printf '%s\n' "$m" >>"$T/patterns"
	b64_forms "$m" >>"$T/patterns"
done
# hex of the random part, as a program might print it
printf '%s\n' "$rand" | tr 'a-f' 'A-F' >>"$T/patterns"

ok "the vault holds files to search" test "$(find "$VAULT" -type f | wc -l)" -gt 10
grep -r -a -l -F -f "$T/patterns" "$VAULT" >"$T/hits" 2>&1
is "$(cat "$T/hits")" "" "no marker (raw or base64) in any backing file's bytes"
grep -r -a -c -F -e "$M" "$VAULT" | grep -v ':0$' >"$T/hits2"
is "$(cat "$T/hits2")" "" "grep -r -a -c finds the content marker nowhere"
find "$VAULT" | grep -F -f "$T/patterns" >"$T/namehits"
is "$(cat "$T/namehits")" "" "no marker in any backing file or directory name"
find "$VAULT" -type l -printf '%l\n' | grep -F -f "$T/patterns" >"$T/linkhits"
is "$(cat "$T/linkhits")" "" "no marker in any backing symlink target"

# the search itself works: a planted marker is found
echo "$M" >"$VAULT/planted"
grep -r -a -l -F -f "$T/patterns" "$VAULT" >"$T/hits3"
is "$(cat "$T/hits3")" "$VAULT/planted" "a planted marker is found (the search can fail)"
rm "$VAULT/planted"

# and the data is still all there
mount_vault || abort "remount failed (exit $RC)"
ok "after remount: repeated marker file intact" cmp "$T/repeated" "$MNT/repeated.bin"
is "$(cat "$MNT/dir-$N/file-$N.txt")" x "after remount: file in a marker-named directory"
is "$(cat "$MNT/$long/$long")" y "after remount: 255-byte names"
ok "unmount" umount_vault

done_testing
