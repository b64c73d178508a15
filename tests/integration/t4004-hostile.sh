#!/bin/sh
# t4004-hostile: crafted backing-store entries (issue 6, SECURITY.md 2.2).
#
# Raw garbage and malformed clear fields (chunk size 0, 2^21, 2^31, a huge
# sealed length) are refused; so are headers that authenticate but lie
# (forged with the vault's own keys by tests/helpers/forge.c: sizes past
# 2^50, too many or overlapping hole extents, an extent that wraps around),
# while a size of exactly 2^50 reads as far as there is data.  Symlinks
# planted in the backing store (a document -> /etc/passwd, a dir id -> a
# valid one, a directory -> /, data/ and vault.keys -> elsewhere) are never
# followed; directories where documents should be and vice versa, FIFOs
# and sockets, huge side files and dir ids neither hang nor crash the
# daemon; names that decrypt to "..", ".", "/", "" or hold "/" or NUL, and
# garbage names, are hidden and reported by fsck; names of 255 bytes and
# 200 levels of directories work.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper forge damage
FG=$HELPERS/forge
DMG=$HELPERS/damage
CHUNK=16384

make_vault --chunk-size $CHUNK || abort "vaultctl init failed (exit $RC)"
mount_vault || abort "mount failed (exit $RC)"
D=$VAULT/data

# new_entry CMD...: run CMD, print the one new backing entry it made (as in
# t1007), relative to $VAULT/data
new_entry() {
	backing_list >"$T/bl.before"
	"$@" || return 1
	backing_list >"$T/bl.after"
	backing_new "$T/bl.before" "$T/bl.after" |
		grep -v -e '/vaultfs\.dirid$' -e '\.name$' >"$T/bl.new"
	[ "$(wc -l <"$T/bl.new")" = 1 ] || return 1
	sed 's|^\./||' "$T/bl.new"
}
# doc NAME [SIZE]: a document of SIZE (default 3 chunks + 100) random bytes;
# sets bk_NAME to its backing entry
doc() {
	"$DMG" gen ${#1} "${2:-$((3 * CHUNK + 100))}" >"$REF/$1"
	_b=$(new_entry cp "$REF/$1" "$MNT/$1") || abort "cannot find the backing file of $1"
	eval "bk_$1=\$_b"
}
# dir NAME: a directory with one document "inner"; sets bk_NAME
dir() {
	_b=$(new_entry mkdir "$MNT/$1") || abort "cannot find the backing dir of $1"
	eval "bk_$1=\$_b"
	echo "inner of $1" >"$MNT/$1/inner"
}
# poke32 FILE OFFSET VALUE: little-endian u32
poke32() {
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($3 & 255)) $((($3 >> 8) & 255)) \
		$((($3 >> 16) & 255)) $((($3 >> 24) & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

for n in keep garbage cs0 cs2m cs2g bodylen framelen framelen0 bigfile \
	 symout hardout dirfile fifo sock size50 size50p1 sizemax holes33 \
	 holesover holeswrap; do
	doc $n
done
for n in sublink subfifo subhuge subroot subfile; do
	dir $n
done
long=$(printf 'S%0199d' 1)
long2=$(printf 'T%0199d' 2)
"$DMG" gen 3 5000 >"$REF/long"
bk_long=$(new_entry cp "$REF/long" "$MNT/$long") || abort "no backing entry for a long name"
bk_long2=$(new_entry cp "$REF/long" "$MNT/$long2") || abort "no backing entry for a long name"
ln -s "a/harmless/target" "$MNT/goodlink"
echo "outside the vault: SECRET-OUTSIDE" >"$T/outside"
umount_vault || abort "unmount failed"

# whole-vault hostility, on copies of the vault as it is now
cp -a "$VAULT" "$T/v-keyslink" && rm "$T/v-keyslink/vault.keys" &&
	ln -s "$VAULT/vault.keys" "$T/v-keyslink/vault.keys"
cp -a "$VAULT" "$T/v-keysfifo" && rm "$T/v-keysfifo/vault.keys" &&
	mkfifo "$T/v-keysfifo/vault.keys"
cp -a "$VAULT" "$T/v-keyshuge" && truncate -s 1G "$T/v-keyshuge/vault.keys"
cp -a "$VAULT" "$T/v-datalink" && rm -rf "$T/v-datalink/data" &&
	ln -s "$VAULT/data" "$T/v-datalink/data"
cp -a "$VAULT" "$T/v-datafile" && rm -rf "$T/v-datafile/data" &&
	echo x >"$T/v-datafile/data"

# --- crafting --------------------------------------------------------------------
# poke2 FILE OFFSET VALUE: the u32 at OFFSET of both header slots
poke2() { poke32 "$1" "$2" "$3" && poke32 "$1" $(($2 + 2048)) "$3"; }
ok "craft: a document replaced by 100000 bytes of garbage" \
	sh -c '"$1" gen 99 100000 >"$2"' sh "$DMG" "$D/$bk_garbage"
ok "craft: chunk size 0 in both header slots" poke2 "$D/$bk_cs0" 32 0
ok "craft: chunk size 2^21" poke2 "$D/$bk_cs2m" 32 2097152
ok "craft: chunk size 2^31" poke2 "$D/$bk_cs2g" 32 2147483648
ok "craft: header body length 2^32 - 1" poke2 "$D/$bk_bodylen" 136 4294967295
# chunk 1's frame: sealed length huge, and 0 (frames start at slot offsets)
f1=$((4096 + 2 * (CHUNK + 4096)))
poked=0
for s in 0 1; do
	o=$((f1 + s * (CHUNK + 4096)))
	[ "$(dd if="$D/$bk_framelen" bs=1 skip=$o count=4 2>/dev/null)" = VLTC ] &&
		poke32 "$D/$bk_framelen" $((o + 16)) 4294967248 && poked=$((poked + 1))
	[ "$(dd if="$D/$bk_framelen0" bs=1 skip=$o count=4 2>/dev/null)" = VLTC ] &&
		poke32 "$D/$bk_framelen0" $((o + 16)) 0 && poked=$((poked + 1))
done
is "$poked" 2 "craft: chunk 1's sealed length 2^32 - 48 in one document, 0 in another"
ok "craft: a backing file of 1 TiB (sparse) for a 49252-byte document" \
	truncate -s 1T "$D/$bk_bigfile"
ok "craft: a document replaced by a symlink to /etc/passwd" \
	sh -c 'rm "$1" && ln -s /etc/passwd "$1"' sh "$D/$bk_symout"
ok "craft: a document replaced by a hard link to a file outside the vault" \
	sh -c 'rm "$1" && ln "$2" "$1"' sh "$D/$bk_hardout" "$T/outside"
ok "craft: a document replaced by a directory" \
	sh -c 'rm "$1" && mkdir "$1"' sh "$D/$bk_dirfile"
ok "craft: a document replaced by a FIFO" \
	sh -c 'rm "$1" && mkfifo "$1"' sh "$D/$bk_fifo"
ok "craft: a document replaced by a socket" \
	sh -c 'rm "$1" && "$2" mksock "$1"' sh "$D/$bk_sock" "$FG"
ok "craft: authentic header with size 2^50 (no holes)" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_size50" 1125899906842624 0
ok "craft: authentic header with size 2^50 + 1" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_size50p1" 1125899906842625 0
ok "craft: authentic header with size 2^64 - 1" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_sizemax" 18446744073709551615 0
ok "craft: authentic header with 33 hole extents" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_holes33" 10000000 33 \
	$(i=0; while [ $i -lt 31 ]; do echo "$((i * 2 + 10)):1"; i=$((i + 1)); done)
ok "craft: authentic header with overlapping hole extents" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_holesover" 10000000 2 5:10 8:4
ok "craft: authentic header with an extent that wraps around 2^64" \
	"$FG" header "$VAULT" "$PASSFILE" "$D/$bk_holeswrap" 10000000 1 \
	5:18446744073709551615
ok "craft: a dir id replaced by a symlink to a valid one" \
	sh -c 'rm -f "$1/vaultfs.dirid" && ln -s ../vaultfs.dirid "$1/vaultfs.dirid"' \
	sh "$D/$bk_sublink"
ok "craft: a dir id replaced by a FIFO" \
	sh -c 'rm -f "$1/vaultfs.dirid" && mkfifo "$1/vaultfs.dirid"' sh "$D/$bk_subfifo"
ok "craft: a dir id of 1 GiB" \
	sh -c 'chmod 644 "$1/vaultfs.dirid" && truncate -s 1G "$1/vaultfs.dirid"' \
	sh "$D/$bk_subhuge"
ok "craft: a directory replaced by a symlink to /" \
	sh -c 'rm -rf "$1" && ln -s / "$1"' sh "$D/$bk_subroot"
ok "craft: a directory replaced by a regular file" \
	sh -c 'rm -rf "$1" && "$2" gen 5 30000 >"$1"' sh "$D/$bk_subfile" "$DMG"
ok "craft: a long name's side file replaced by a FIFO" \
	sh -c 'rm "$1.name" && mkfifo "$1.name"' sh "$D/$bk_long"
ok "craft: a long name's side file of 1 GiB" \
	truncate -s 1G "$D/$bk_long2.name"

# names that decrypt (with the real key) to what no name may be
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
forged=""
plant() { # plant DESC HEX [raw]: a copy of keep under a forged name
	_n=$("$FG" name "$VAULT" "$PASSFILE" "$D/vaultfs.dirid" "$2" $3) ||
		{ fail "craft: forge a name for $1"; return; }
	case $_n in
	"@"*)	printf '%s' "${_n#* }" >"$D/${_n%% *}.name"
		_n=${_n%% *} ;;
	esac
	cp "$D/$bk_keep" "$D/$_n" && pass "craft: a document whose name decrypts to $1"
	forged="$forged $_n"
}
plant '".."' "$(hex ..)"
plant '"."' "$(hex .)"
plant '"" (empty)' ""
plant '"/"' "$(hex /)"
plant '"a/b"' "$(hex a/b)"
plant '"x NUL y"' "78007a"
plant '256 bytes' "$(hex "$(printf 'x%0255d' 0)")"
plant 'a block without the 0x80 end mark' "$(hex abcdefghijklmnop)" raw
plant 'padding with a byte after 0x80' "616263800000000000000000000000ff" raw
# encrypted symlink targets that are not targets
for t in "" 610062; do
	_n=$("$FG" name "$VAULT" "$PASSFILE" "$D/vaultfs.dirid" "$(hex "badlink${#t}")") &&
	# (badlink0: empty target; badlink6: "a", NUL, "b")
	_l=$("$FG" link "$VAULT" "$PASSFILE" "$t") &&
	ln -s -- "$_l" "$D/$_n" &&
	pass "craft: a symlink whose target decrypts to '$t' (hex)"
done
# garbage names
garbage_names="foo ... .hidden @ @short $(printf 'A%053d' 0 | tr 0 B) \
	@$(printf 'A%042d' 0 | tr 0 C) .vaultfs-tmp-0123456789abcdef x.tmp.abc"
for g in $garbage_names; do
	cp "$D/$bk_keep" "$D/$g"
done
printf 'x' >"$D/$(printf 'bad\001\377name')"
mkdir "$D/foreign-dir"
pass "craft: garbage names planted"

# --- the mount ------------------------------------------------------------------------
mount_vault || abort "mount after crafting failed (exit $RC)"

# refused NAME DESC: cat fails, prints nothing
refused() {
	tmo cat "$MNT/$1" >"$T/got" 2>"$T/cat.err"
	_rc=$?
	if [ $_rc -ne 0 ] && [ $_rc -lt 124 ] && [ ! -s "$T/got" ]; then
		pass "$2: refused ($(sed 's/.*: //' "$T/cat.err" | head -n 1))"
	else
		fail "$2: refused" "cat exit $_rc, $(stat -c %s "$T/got") bytes"
	fi
}
refused garbage "raw garbage as a document"
refused cs0 "chunk size 0"
refused cs2m "chunk size 2^21"
refused cs2g "chunk size 2^31"
refused bodylen "header body length 2^32 - 1"
for n in framelen framelen0; do
	is "$(dd if="$MNT/$n" bs=$CHUNK count=1 2>/dev/null | sha256sum)" \
		"$(head -c $CHUNK "$REF/$n" | sha256sum)" "$n: chunk 0 still reads"
	tmo dd if="$MNT/$n" of=/dev/null bs=$CHUNK skip=1 count=1 2>"$T/dd.err"
	like "$(cat "$T/dd.err")" "*Input/output error*" "$n: chunk 1 (sealed length $n) fails with EIO"
done
ok "1 TiB backing file: the document reads whole" cmp "$REF/bigfile" "$MNT/bigfile"
is "$(stat -c %s "$MNT/bigfile")" "$(stat -c %s "$REF/bigfile")" "  with its own size"

ok "document -> /etc/passwd: shown as a symlink" test -L "$MNT/symout"
run readlink "$MNT/symout"
isnt "$RC" 0 "  readlink fails"
unlike "$OUT" "*/etc*" "  and does not reveal the target"
tmo cat "$MNT/symout" >"$T/got" 2>/dev/null
is "$(grep -c 'root:' "$T/got")" 0 "  cat shows nothing of /etc/passwd"
refused hardout "hard link to a file outside"
is "$(tmo cat "$MNT/hardout" 2>/dev/null | grep -c SECRET)" 0 "  nothing of the outside file shows"
ok "directory where a document was: shown as a directory" test -d "$MNT/dirfile"
not_ok "  listing it fails (no dir id)" ls "$MNT/dirfile"
ok "FIFO where a document was: shown as a FIFO" test -p "$MNT/fifo"
timeout 3 cat "$MNT/fifo" >/dev/null 2>&1 &
catpid=$!
sleep 0.5
ok "  a reader blocked on it does not block the daemon" tmo ls "$MNT"
kill $catpid 2>/dev/null
wait $catpid 2>/dev/null
ok "socket where a document was: shown as a socket" test -S "$MNT/sock"
not_ok "  reading it fails" tmo cat "$MNT/sock"

is "$(stat -c %s "$MNT/size50")" 1125899906842624 "authentic size 2^50: shown"
is "$(dd if="$MNT/size50" bs=$CHUNK count=1 2>/dev/null | sha256sum)" \
	"$(head -c $CHUNK "$REF/size50" | sha256sum)" "  its chunk 0 reads"
tmo dd if="$MNT/size50" of=/dev/null bs=$CHUNK skip=$((1125899906842624 / CHUNK - 1)) count=1 2>"$T/dd.err"
like "$(cat "$T/dd.err")" "*Input/output error*" "  its last chunk (never written, not a hole) fails with EIO"
refused size50p1 "authentic size 2^50 + 1"
refused sizemax "authentic size 2^64 - 1"
refused holes33 "authentic header with 33 extents"
refused holesover "authentic header with overlapping extents"
refused holeswrap "authentic header with a wrapping extent"

not_ok "dir id -> symlink to a valid one: listing fails" ls "$MNT/sublink"
not_ok "  and its document does not open" cat "$MNT/sublink/inner"
not_ok "dir id is a FIFO: listing fails (and does not hang)" ls "$MNT/subfifo"
not_ok "dir id of 1 GiB: listing fails" ls "$MNT/subhuge"
ok "directory -> symlink to /: shown as a symlink" test -L "$MNT/subroot"
not_ok "  listing through it fails" ls "$MNT/subroot/"
not_ok "  /etc/passwd is not reachable through it" cat "$MNT/subroot/etc/passwd"
ok "regular file where a directory was: shown as a file" test -f "$MNT/subfile"
not_ok "  its former content is unreachable" cat "$MNT/subfile/inner"
not_ok "  reading it fails" cat "$MNT/subfile"

run ls -a "$MNT"
is "$RC" 0 "ls -a of the root works (FIFO side file, huge side file, forged names)"
printf '%s\n' . .. keep garbage cs0 cs2m cs2g bodylen framelen framelen0 \
	bigfile symout hardout dirfile fifo sock size50 size50p1 sizemax \
	holes33 holesover holeswrap sublink subfifo subhuge subroot subfile \
	goodlink badlink0 badlink6 | LC_ALL=C sort >"$T/known"
LC_ALL=C sort "$T/out" >"$T/ls"
is "$(LC_ALL=C comm -23 "$T/ls" "$T/known" | tr '\n' ' ')" "" \
	"  no forged, garbage or hidden name is listed"
is "$(LC_ALL=C uniq -d "$T/ls" | tr '\n' ' ')" "" "  no name is listed twice"
is "$(LC_ALL=C comm -13 "$T/ls" "$T/known" | tr '\n' ' ')" "" "  every good name is"
# (a lookup by name needs only the "@hash" entry; the side file serves
# readdir, which must hide the name and not hang)
is "$(grep -c -x -e "$long" -e "$long2" "$T/ls")" 0 \
	"long names whose side file is a FIFO or 1 GiB are not listed"
for n in "$long" "$long2"; do
	tmo cat "$MNT/$n" >"$T/got" 2>/dev/null
	if is_prefix "$T/got" "$REF/long"; then
		pass "  opening one by name gives no wrong byte"
	else
		fail "  opening one by name gives no wrong byte"
	fi
done
not_ok "symlink whose target decrypts to nothing: readlink fails" \
	readlink "$MNT/badlink0"
not_ok "symlink whose target decrypts to a, NUL, b: readlink fails" \
	readlink "$MNT/badlink6"
is "$(readlink "$MNT/goodlink")" a/harmless/target "a good symlink still resolves"
run find "$MNT"
is "$(grep -c -e passwd -e '/etc' "$T/out")" 0 "find through the mount never reaches outside"
ok "control document still reads" cmp "$REF/keep" "$MNT/keep"
ok "the daemon is alive" daemon_alive

# --- names of 255 bytes, deep nesting -----------------------------------------------
n255=$(printf 'n%0254d' 5)
echo "255" >"$REF/n255"
ok "a file with a 255-byte name" cp "$REF/n255" "$MNT/$n255"
ok "  reads back" cmp "$REF/n255" "$MNT/$n255"
is "$(ls "$MNT" | grep -c -x -e "$n255")" 1 "  and is listed"
ok "  renames to another 255-byte name" mv "$MNT/$n255" "$MNT/$(printf 'm%0254d' 5)"
ok "a directory with a 255-byte name" mkdir "$MNT/$n255"
not_ok "a 256-byte name is refused" touch "$MNT/$(printf 'n%0255d' 5)"
deep=$MNT/deep
p=$deep
i=0
while [ $i -lt 200 ]; do
	p=$p/d$((i % 10))
	i=$((i + 1))
done
ok "200 levels of directories" mkdir -p "$p"
echo "at the bottom" >"$REF/bottom"
ok "  a file at the bottom" cp "$REF/bottom" "$p/bottom"
is "$(find "$deep" -type d | wc -l)" 201 "  find sees 201 directories"
ok "the daemon is alive" daemon_alive
ok "unmount" umount_vault
mount_vault || abort "remount failed"
ok "after a remount, the file at the bottom reads" cmp "$REF/bottom" "$p/bottom"
ok "  and the 255-byte name" cmp "$REF/n255" "$MNT/$(printf 'm%0254d' 5)"
ok "unmount" umount_vault

# --- fsck ---------------------------------------------------------------------------
# (size50 is moved away first: a size of 2^50 means 2^36 chunks to check)
mv "$D/$bk_size50" "$T/size50.backing"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "fsck exits 1 on the crafted vault (and does not hang)"
cat "$T/out" "$T/err" >"$T/fsck"
names() { # names DESC STRING...: the report mentions one of them
	_d=$1
	shift
	for _s; do
		grep -q -F -e "$_s" "$T/fsck" && { pass "fsck reports $_d"; return; }
	done
	fail "fsck reports $_d" "none of: $*"
}
for n in garbage cs0 cs2m cs2g bodylen framelen framelen0 hardout size50p1 \
	 sizemax holes33 holesover holeswrap subfile; do
	names "$n" "damaged: /$n "
done
names "the symlink to /etc/passwd" "damaged: /symout "
names "the directory without dir id" "damaged: /dirfile "
names "the dir id symlink" "damaged: /sublink "
names "the dir id FIFO" "damaged: /subfifo "
names "the huge dir id" "damaged: /subhuge "
names "the directory turned symlink" "damaged: /subroot "
names "the FIFO side file" "$bk_long"
names "the huge side file" "$bk_long2"
for n in $forged; do
	names "forged name ${n%"${n#????????}"}..." "$n"
done
names "the symlink with an empty target" "/badlink0 "
names "the symlink with a NUL in its target" "/badlink6 "
for g in foo ... .hidden @short foreign-dir; do
	names "foreign entry '$g'" "/$g"
done
unlike "$(grep -c . "$T/fsck")" 0 "fsck printed a report"
ok "fsck does not report the 1 TiB backing file as damaged" \
	sh -c '! grep -q "damaged: /bigfile " "$1"' sh "$T/fsck"

# the authentic 2^50 size alone: fsck must finish (and report it)
mkdir "$T/v50"
cp -a "$VAULT/vault.keys" "$VAULT/vault.lock" "$T/v50/"
mkdir -m 700 "$T/v50/data" "$T/v50/audit"
cp "$D/vaultfs.dirid" "$T/v50/data/"
cp "$T/size50.backing" "$T/v50/data/$bk_size50"
# (at most 10 s and 1000 lines of report)
{ timeout -k 2 10 "$VAULTCTL" fsck "$T/v50" --passfile "$PASSFILE" 2>&1
  echo $? >"$T/rc"; } | head -n 1000 >"$T/out"
rc=$(cat "$T/rc")
nd=$(grep -c '^damaged:' "$T/out")
if [ "$rc" = 1 ] && [ "$nd" -gt 0 ] && [ "$nd" -lt 1000 ]; then
	pass "fsck of a document with an authentic size of 2^50 finishes, reporting it in $nd lines"
else
	# TODO: known bug, reported to the lead; remove the TODO once fixed
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - fsck of a document with an authentic size of 2^50 finishes, in a bounded report # TODO bug: doc_verify walks and reports every one of its 2^36 chunks (exit $rc; $nd of the first 1000 lines report damage)"
fi

# --- whole-vault hostility -------------------------------------------------------------
# vmount DIR DESC PATTERN: mounting the vault in DIR fails with a message
vmount() {
	run "$VAULTFS" "$1" "$MNT" --passfile "$PASSFILE"
	if [ "$RC" != 0 ] && [ "$RC" -lt 124 ]; then
		pass "$2: mount refused"
	else
		fail "$2: mount refused" "exit $RC"
		mounted "$MNT" && fusermount3 -u "$MNT"
	fi
	like "$ERR" "$3" "  with a clear message"
}
vmount "$T/v-keyslink" "vault.keys is a symlink" "*key store*"
vmount "$T/v-keysfifo" "vault.keys is a FIFO (no hang)" "*key store*"
vmount "$T/v-keyshuge" "vault.keys is 1 GiB" "*key store*"
vmount "$T/v-datalink" "data/ is a symlink" "*data*"
vmount "$T/v-datafile" "data/ is a file" "*data*"
done_testing
