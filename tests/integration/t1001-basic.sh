#!/bin/sh
# t1001-basic: POSIX file operations through the mount, each mirrored on a
# plain reference directory; at the end a remount keeps everything.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
setup_mounted_vault

R=$REF/w		# reference: a plain directory
W=$MNT/w		# the same operations inside the vault
mkdir "$R" "$W" || abort "mkdir in the mount failed"

# both 'SHELL CODE': run the code in $R and then in $W (cwd = that dir).
both() {
	(cd "$R" && eval "$1") >"$T/both.out" 2>&1 ||
		{ diag "reference failed: $1"; diag_file "$T/both.out"; return 1; }
	(cd "$W" && eval "$1") >"$T/both.out" 2>&1 ||
		{ diag "in the vault failed: $1"; diag_file "$T/both.out"; return 1; }
}

# same PATH DESC: the file reads the same in the vault as in the reference.
same() {
	if cmp "$R/$1" "$W/$1" >"$T/cmp.out" 2>&1; then
		pass "$2"
	else
		fail "$2" "$(cat "$T/cmp.out")"
	fi
}

# --- create, read, write, append, overwrite ---------------------------
head -c 1000000 /dev/urandom >"$T/random.bin"
seq 1 20000 >"$T/lines.txt"

ok "create a small file" both 'printf "hello\n" >small.txt'
same small.txt "small file reads back"
ok "create an empty file" both 'true >empty'
is "$(stat -c %s "$W/empty")" 0 "empty file has size 0"
is "$(wc -c <"$W/empty")" 0 "empty file reads as nothing"
ok "copy in 1 MB of random data" both 'cat "$T/random.bin" >random.bin'
same random.bin "random data reads back"
ok "copy in compressible text" both 'cat "$T/lines.txt" >lines.txt'
same lines.txt "text reads back"
ok "append" both 'echo appended >>small.txt; seq 1 1000 >>lines.txt'
same small.txt "appended small file"
same lines.txt "appended text file"
ok "overwrite in the middle" both \
	'printf "XXXXXXXXXX" | dd of=random.bin bs=1 seek=65530 conv=notrunc 2>/dev/null'
same random.bin "overwrite across a chunk boundary"
ok "overwrite a whole chunk" both \
	'head -c 65536 "$T/lines.txt" | dd of=random.bin bs=65536 seek=3 conv=notrunc 2>/dev/null'
same random.bin "whole-chunk overwrite"
ok "replace with shorter content (O_TRUNC)" both 'echo short >lines.txt'
same lines.txt "truncating rewrite"
is "$(stat -c %s "$W/lines.txt")" 6 "size after the rewrite"

# --- directories -------------------------------------------------------
ok "mkdir -p a/b/c" both 'mkdir -p a/b/c && echo deep >a/b/c/f'
same a/b/c/f "file in a nested directory"
is "$(stat -c %F "$W/a/b")" "directory" "stat says directory"
is "$("$HELPERS/fstool" try mkdir "$W/a")" EEXIST "mkdir of an existing name: EEXIST"
is "$("$HELPERS/fstool" try rmdir "$W/a/b")" ENOTEMPTY "rmdir non-empty: ENOTEMPTY"
is "$("$HELPERS/fstool" try rmdir "$W/small.txt")" ENOTDIR "rmdir of a file: ENOTDIR"
is "$("$HELPERS/fstool" try unlink "$W/a")" EISDIR "unlink of a directory: EISDIR"
is "$("$HELPERS/fstool" try read "$W/nonexistent")" ENOENT "missing file: ENOENT"
ok "rmdir an empty directory" both 'mkdir gone && rmdir gone'
ok "  and it is gone" test ! -e "$W/gone"
ok "unlink" both 'echo x >doomed && rm doomed'
ok "  and it is gone" test ! -e "$W/doomed"
is "$(ls -a "$W/a" | tr '\n' ' ')" ". .. b " "readdir lists . .. and the entry"

# unlink while open: the open descriptor still reads the data
echo "still here" >"$W/openunlink"
got=$(sh -c 'exec 3<"$1" && rm "$1" && cat <&3' sh "$W/openunlink" 2>&1)
is "$got" "still here" "an unlinked file stays readable through an open fd"
ok "  and it is gone from the directory" test ! -e "$W/openunlink"

# --- rename ---------------------------------------------------------------
ok "rename a file" both 'echo r1 >ren1 && mv ren1 ren1b'
same ren1b "renamed file content"
ok "  old name gone" test ! -e "$W/ren1"
ok "rename over an existing file" both 'echo src >rsrc && echo dst >rdst && mv -f rsrc rdst'
same rdst "target has the source's content"
ok "  source name gone" test ! -e "$W/rsrc"
ok "rename a directory with contents" both 'mv a a2'
same a2/b/c/f "file inside a renamed directory"
ok "rename across directories" both 'mkdir -p x y && echo across >x/f && mv x/f y/g'
same y/g "file moved to another directory"
ok "move a directory into another" both 'mkdir -p m1/sub && echo in >m1/sub/f && mv m1 y/'
same y/m1/sub/f "directory moved into another directory"
ok "rename a directory over an empty one" both 'mkdir -p e1 e2 && echo e >e1/f && mv -T e1 e2'
same e2/f "directory replaced an empty directory"
rm -rf "$R/e1" "$R/e2" "$W/e1" "$W/e2"	# keep later comparisons independent
mkdir "$W/ne1" "$W/ne2" && echo x >"$W/ne2/f"
r=$("$HELPERS/fstool" try rename "$W/ne1" "$W/ne2")
case $r in
ENOTEMPTY | EEXIST) pass "rename over a non-empty directory: $r" ;;
*) fail "rename over a non-empty directory: got $r, want ENOTEMPTY" ;;
esac
is "$(cat "$W/ne2/f")" x "  and the target directory is intact"
rm -rf "$W/ne1" "$W/ne2"
long=$(printf '%200s' | tr ' ' L)
ok "rename to a long (200-byte) name and back" both \
	"echo longren >lr && mv lr $long && cat $long && mv $long lr2"
same lr2 "content after a long-name round trip"

# --- hard links -------------------------------------------------------------
ok "hard link" both 'echo linked >h1 && ln h1 h2'
is "$(stat -c %h "$W/h1")" 2 "nlink is 2"
is "$(stat -c %i "$W/h1")" "$(stat -c %i "$W/h2")" "both names have the same inode"
echo "via h2" >>"$W/h2"
echo "via h2" >>"$R/h2"
same h1 "a write through one name shows through the other"
ok "remove one name" both 'rm h1'
same h2 "the other name keeps the content"
is "$(stat -c %h "$W/h2")" 1 "nlink back to 1"

# --- symlinks -------------------------------------------------------------------
ok "relative symlink" both 'ln -s a2/b/c/f rel'
is "$(readlink "$W/rel")" "a2/b/c/f" "readlink gives the relative target"
same rel "reading through a relative symlink"
ok "absolute symlink" both 'ln -s "$T/lines.txt" abs'
is "$(readlink "$W/abs")" "$T/lines.txt" "readlink gives the absolute target"
same abs "reading through an absolute symlink"
ok "dangling symlink" both 'ln -s no/such/target dangling'
is "$(readlink "$W/dangling")" "no/such/target" "dangling symlink keeps its target"
is "$(stat -c %F "$W/dangling")" "symbolic link" "lstat says symbolic link"
ltarget=$(printf '%1000s' | tr ' ' t)
ok "symlink with a 1000-byte target" both "ln -s $ltarget longtarget"
is "$(readlink "$W/longtarget")" "$ltarget" "long target reads back"
ok "symlink to a directory" both 'ln -s a2 dirlink'
same dirlink/b/c/f "path through a directory symlink"

# --- attributes -------------------------------------------------------------
echo attr >"$W/attr"
chmod 0640 "$W/attr"
is "$(stat -c %a "$W/attr")" 640 "chmod 0640"
chmod 4755 "$W/attr" 2>/dev/null
chmod 0600 "$W/attr"
is "$(stat -c %a "$W/attr")" 600 "chmod 0600"
chmod 0711 "$W/a2"
is "$(stat -c %a "$W/a2")" 711 "chmod a directory"
chmod 0755 "$W/a2"
chown 1234:5678 "$W/attr"
is "$(stat -c %u:%g "$W/attr")" 1234:5678 "chown as root"
chown 4321 "$W/attr"
is "$(stat -c %u:%g "$W/attr")" 4321:5678 "chown of the owner only"
touch -d '2001-02-03 04:05:06 UTC' "$W/attr"
is "$(stat -c %Y "$W/attr")" 981173106 "touch -d sets mtime"
touch -a -d '2002-03-04 05:06:07 UTC' "$W/attr"
is "$(stat -c %X "$W/attr")" 1015218367 "touch -a sets atime"
is "$(stat -c %Y "$W/attr")" 981173106 "  and leaves mtime"
touch -m -d '2003-01-01 00:00:00.5 UTC' "$W/attr"
is "$(stat -c %.1Y "$W/attr" 2>/dev/null || stat -c %Y "$W/attr")" \
	"1041379200.5" "sub-second mtime kept"
# the same mtime again is a no-op for the daemon; a nanosecond more is not
touch -m -d '2003-01-01 00:00:00.5 UTC' "$W/attr"
is "$(stat -c %.9Y "$W/attr")" "1041379200.500000000" "the same mtime set again"
touch -m -d '2003-01-01 00:00:00.500000001 UTC' "$W/attr"
is "$(stat -c %.9Y "$W/attr")" "1041379200.500000001" \
	"an mtime one nanosecond later"
before=$(stat -c %Y "$W/small.txt")
sleep 1.1
echo more >>"$W/small.txt"
echo more >>"$R/small.txt"
after=$(stat -c %Y "$W/small.txt")
ok "a write updates mtime" test "$after" -gt "$before"
ctime1=$(stat -c %Z "$W/small.txt")
is "$(stat -c %s "$W/small.txt")" "$(stat -c %s "$R/small.txt")" "st_size after writes"
ok "ctime is set" test "$ctime1" -gt 0
cp -a "$W/attr" "$R/attr"	# the reference gets the same attributes

# --- truncate ------------------------------------------------------------------
ok "truncate up (zeros)" both 'cp "$T/random.bin" tr.bin && truncate -s 1500000 tr.bin'
same tr.bin "content after truncate up"
ok "truncate down inside a chunk" both 'truncate -s 100001 tr.bin'
same tr.bin "content after truncate down"
is "$(stat -c %s "$W/tr.bin")" 100001 "size after truncate down"
ok "truncate down to a chunk boundary, then up" both 'truncate -s 65536 tr.bin && truncate -s 200000 tr.bin'
same tr.bin "old data does not come back after shrink and grow"
ok "truncate to 0, then write at 70000" both \
	'truncate -s 0 tr.bin && printf end | dd of=tr.bin bs=1 seek=70000 conv=notrunc 2>/dev/null'
same tr.bin "write after truncate to 0"

# --- sparse files -----------------------------------------------------------------
ok "sparse file with dd seek" both \
	'head -c 4096 "$T/random.bin" | dd of=sparse bs=4096 seek=300 2>/dev/null'
same sparse "sparse file reads zeros then data"
is "$(stat -c %s "$W/sparse")" $((301 * 4096)) "sparse file size"
is "$(head -c 1228800 "$W/sparse" | tr -d '\000' | wc -c)" 0 "the hole reads as zeros"

mkdir "$MNT/huge"
du0=$(du -sk "$VAULT" | cut -f1)
truncate -s 5G "$MNT/huge/f"
is "$(stat -c %s "$MNT/huge/f")" 5368709120 "truncate -s 5G: size"
is "$(dd if="$MNT/huge/f" bs=1M skip=4000 count=1 2>/dev/null | tr -d '\000' | wc -c)" 0 \
	"  reads zeros at 4000 MiB"
printf tail | dd of="$MNT/huge/f" bs=1 seek=5368709116 conv=notrunc 2>/dev/null
is "$(tail -c 4 "$MNT/huge/f")" tail "  write at the very end"
du1=$(du -sk "$VAULT" | cut -f1)
ok "  takes little space in the backing store ($((du1 - du0)) KiB)" \
	test $((du1 - du0)) -lt 10240
rm -rf "$MNT/huge"

# --- O_APPEND from two shells ---------------------------------------------------
(i=0; while [ $i -lt 200 ]; do echo "A $i"; i=$((i + 1)); done >>"$W/app") &
p1=$!
(i=0; while [ $i -lt 200 ]; do echo "B $i" >>"$W/app"; i=$((i + 1)); done) &
p2=$!
wait $p1
wait $p2
is "$(wc -l <"$W/app")" 400 "two appending shells: 400 lines"
is "$(sort "$W/app" | uniq | wc -l)" 400 "  all distinct"
is "$(grep -c '^[AB] [0-9]*$' "$W/app")" 400 "  none torn"
is "$(grep '^A' "$W/app" | cut -d' ' -f2 | tr '\n' ' ')" \
	"$(seq 0 199 | tr '\n' ' ')" "  each writer's lines in order"
rm "$W/app"

# --- statfs ---------------------------------------------------------------------
ok "df works on the mount" df "$MNT"
blocks=$(stat -f -c %b "$MNT")
ok "statfs reports blocks ($blocks)" test "$blocks" -gt 0
namemax=$(stat -f -c %l "$MNT")
is "$namemax" 255 "statfs name max is 255"

# --- names of every length ---------------------------------------------------------
mkdir "$MNT/names"
n=1
bad=0
while [ $n -le 255 ]; do
	name=$(printf "%${n}s" | tr ' ' n)
	{ echo "$n" >"$MNT/names/$name"; } 2>>"$T/names.err" || bad=$((bad + 1))
	n=$((n + 1))
done
is "$bad" 0 "create names of 1..255 ASCII bytes"
is "$(ls "$MNT/names" | wc -l)" 255 "  all 255 listed"
bad=0
for name in $(ls "$MNT/names"); do
	[ "$(cat "$MNT/names/$name" 2>/dev/null)" = "${#name}" ] || bad=$((bad + 1))
done
is "$bad" 0 "  each lists under its own name and reads its own content"

# UTF-8 names: 2-, 3- and 4-byte characters, every byte length 2..255
e2=$(printf '\303\251')		# e acute
e3=$(printf '\346\227\245')	# CJK
e4=$(printf '\360\237\224\222')	# emoji (lock)
mkdir "$MNT/uni"
bad=0
expected="$T/uni.expected"
true >"$expected"
for ch in "$e2" "$e3" "$e4"; do
	w=$(printf '%s' "$ch" | wc -c)
	n=$w
	while [ $n -le 255 ]; do
		k=$((n / w))
		name=$(i=0; while [ $i -lt $k ]; do printf '%s' "$ch"; i=$((i + 1)); done
		       printf "%$((n - k * w))s" | tr ' ' u)
		printf '%s\n' "$name" >>"$expected"
		{ echo "$n" >"$MNT/uni/$name"; } 2>>"$T/names.err" || bad=$((bad + 1))
		n=$((n + 1))
	done
done
is "$bad" 0 "create UTF-8 names of every byte length up to 255"
ls "$MNT/uni" | LC_ALL=C sort >"$T/uni.got"
LC_ALL=C sort -u "$expected" >"$T/uni.want"
ok "  listed exactly as created" cmp "$T/uni.got" "$T/uni.want"
bad=0
while IFS= read -r name; do
	[ "$(cat "$MNT/uni/$name" 2>/dev/null)" = "$(printf '%s' "$name" | wc -c)" ] ||
		bad=$((bad + 1))
done <"$T/uni.want"
is "$bad" 0 "  each reads back its own content"
[ -s "$T/names.err" ] && diag "first errors:" && head -n 3 "$T/names.err" | cut -c1-200 | sed 's/^/#   /'


odd="$MNT/names/sp ace,comma;semi:colon#hash%pct'quote\"dq\\bs*star?q[br]{c}-=+~!@&\$"
ok "name with punctuation and spaces" sh -c 'echo odd >"$1" && test "$(cat "$1")" = odd' sh "$odd"
ok "name starting with a dash" sh -c 'echo dash >"$1/-dash" && ls "$1" | grep -qx -- -dash' sh "$MNT/names"
ok "name '...' works" sh -c 'echo d >"$1/..." && cat "$1/..."' sh "$MNT/names"
nl_name=$(printf 'new\nline')
ok "name with a newline" sh -c 'echo nl >"$1" && test -f "$1"' sh "$MNT/names/$nl_name"

n256=$(printf '%256s' | tr ' ' z)
is "$("$HELPERS/fstool" try create "$MNT/names/$n256")" ENAMETOOLONG "256-byte name: create gives ENAMETOOLONG"
is "$("$HELPERS/fstool" try mkdir "$MNT/names/$n256")" ENAMETOOLONG "256-byte name: mkdir gives ENAMETOOLONG"
is "$("$HELPERS/fstool" try symlink "$MNT/names/$n256" target)" ENAMETOOLONG "256-byte name: symlink gives ENAMETOOLONG"
is "$("$HELPERS/fstool" try rename "$W/small.txt" "$MNT/names/$n256")" ENAMETOOLONG "256-byte name: rename gives ENAMETOOLONG"
is "$("$HELPERS/fstool" try stat "$MNT/names/$n256")" ENAMETOOLONG "256-byte name: lookup gives ENAMETOOLONG"
ok "  and the source of the failed rename is still there" test -f "$W/small.txt"

# --- many open files -------------------------------------------------------------
mkdir "$MNT/many"
ok "1000 files open at once" "$HELPERS/fstool" openmany "$MNT/many" 1000
is "$(ls "$MNT/many" | wc -l)" 1000 "  all 1000 listed"
is "$(cat "$MNT/many/open-00999")" "file 999 of 1000" "  and readable afterwards"

# --- everything the same as the reference, and after a remount ------------------
meta() {
	(cd "$1" && find . -printf '%p %y %m %U %G %l\n' | LC_ALL=C sort
	 find . -type f -printf '%p %s %n\n' | LC_ALL=C sort)
}
ok "vault tree equals the reference tree" diff -r --no-dereference "$R" "$W"
meta "$R" >"$T/meta.ref"
meta "$W" >"$T/meta.vault"
ok "  including types, modes, owners, links and sizes" \
	diff "$T/meta.ref" "$T/meta.vault"

snap() {
	find "$MNT" -printf '%p %y %m %U %G %s %n %l\n' | LC_ALL=C sort >"$1.meta"
	find "$MNT" ! -type d -printf '%p %T@\n' | LC_ALL=C sort >"$1.mtime"
}
snap "$T/before"
(cd "$MNT" && find . -type f ! -name 'open-*' -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) >"$T/sums.before"
if remount; then pass "remount"; else abort "remount failed (exit $RC)"; fi
snap "$T/after"
ok "after remount: same names, types, modes, owners, sizes, links" \
	diff "$T/before.meta" "$T/after.meta"
ok "after remount: same mtimes as stat showed before" \
	diff "$T/before.mtime" "$T/after.mtime"
(cd "$MNT" && find . -type f ! -name 'open-*' -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) >"$T/sums.after"
ok "after remount: every file byte-identical" diff "$T/sums.before" "$T/sums.after"
ok "after remount: still equal to the reference" diff -r --no-dereference "$R" "$W"
ok "unmount" umount_vault

done_testing
