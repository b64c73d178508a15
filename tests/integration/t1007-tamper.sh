#!/bin/sh
# t1007-tamper: damage the backing store while unmounted, in every way the
# format must detect (SECURITY.md 2.2); reads must fail with EIO and never
# return wrong bytes, other documents must still read, the daemon must
# stay up, and vaultctl fsck must name each damaged document.
#
# Not tested here because SECURITY.md says they are not detected: rollback
# to an older version, and moving/swapping whole backing files between
# names.  Swapping *parts* (chunks, headers) is tested.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
FS=$HELPERS/fstool
# shellcheck disable=SC2154 # the bk_* variables are set by doc() via eval
CHUNK=65536
make_vault --chunk-size $CHUNK || abort "vaultctl init failed (exit $RC)"
mount_vault || abort "mount failed (exit $RC)"

SLOT=$("$FS" slotbytes $CHUNK) || abort "fstool slotbytes failed"
slot_off() { "$FS" slot $CHUNK "$1" "$2"; }

# new_entry CMD...: run CMD, print the one new backing entry it made
# (relative to $VAULT/data, without the leading ./)
new_entry() {
	backing_list >"$T/bl.before"
	"$@" || return 1
	backing_list >"$T/bl.after"
	backing_new "$T/bl.before" "$T/bl.after" |
		grep -v -e '/vaultfs\.dirid$' -e '\.name$' >"$T/bl.new"
	[ "$(wc -l <"$T/bl.new")" = 1 ] ||
		{ diag "expected one new backing entry, got:"; diag_file "$T/bl.new"; return 1; }
	sed 's|^\./||' "$T/bl.new"
}

# doc NAME: a 5-chunk (300000-byte) random document; sets bk_NAME
doc() {
	head -c 300000 /dev/urandom >"$REF/$1"
	_b=$(new_entry cp "$REF/$1" "$MNT/$1") || abort "cannot find the backing file of $1"
	eval "bk_$1=\$_b"
}

echo "control document" >"$REF/keep.txt"
cp "$REF/keep.txt" "$MNT/keep.txt"
mkdir "$MNT/other"
seq 1 50000 >"$REF/ok.txt"
cp "$REF/ok.txt" "$MNT/other/ok.txt"

doc chunkflip
doc hdrflip
doc magicflip
doc zeroed
doc truncated
doc swapA
doc swapB
doc hdrA
doc hdrB
doc chunkmove
doc renamed
longname=$(printf 'long%196s' '' | tr ' ' n)
head -c 70000 /dev/urandom >"$REF/longname"
bk_longname=$(new_entry cp "$REF/longname" "$MNT/$longname") ||
	abort "cannot find the backing file of the long name"
bk_sub=$(new_entry mkdir "$MNT/sub") || abort "cannot find the backing dir of sub"
echo "inner document" >"$REF/inner.txt"
cp "$REF/inner.txt" "$MNT/sub/inner.txt"
bk_symlink=$(new_entry ln -s "some/link/target" "$MNT/symlink") ||
	abort "cannot find the backing entry of the symlink"
ln -s "another/target" "$MNT/symlink2"

umount_vault || abort "unmount failed"
D=$VAULT/data

# --- the damage ----------------------------------------------------------------
# live_frame FILE INDEX: offset of the newest frame of chunk INDEX
live_frame() {
	_s0=$(slot_off "$2" 0)
	_s1=$(slot_off "$2" 1)
	"$FS" frames "$1" | awk -v a="$_s0" -v b="$_s1" '
		$1 == "C" && ($2 == a || $2 == b) && (best == "" || $3 > g) { best = $2; g = $3 }
		END { if (best == "") exit 1; print best }'
}
# zero_range FILE OFF LEN (4096-aligned)
zero_range() {
	dd if=/dev/zero of="$1" bs=4096 seek=$(($2 / 4096)) count=$(($3 / 4096)) \
		conv=notrunc 2>/dev/null
}
# swap_range FILE1 FILE2 OFF LEN (4096-aligned)
swap_range() {
	dd if="$1" of="$T/sw1" bs=4096 skip=$(($3 / 4096)) count=$(($4 / 4096)) 2>/dev/null &&
	dd if="$2" of="$T/sw2" bs=4096 skip=$(($3 / 4096)) count=$(($4 / 4096)) 2>/dev/null &&
	dd if="$T/sw2" of="$1" bs=4096 seek=$(($3 / 4096)) conv=notrunc 2>/dev/null &&
	dd if="$T/sw1" of="$2" bs=4096 seek=$(($3 / 4096)) conv=notrunc 2>/dev/null
}

f=$(live_frame "$D/$bk_chunkflip" 2)
ok "damage: flip one byte in the middle of chunk 2's frame" \
	"$FS" flip "$D/$bk_chunkflip" $((f + 30000))

ok "damage: flip one byte in the header body (both header slots)" sh -c '
	"$1" frames "$2" | grep -q "^H 0 " && "$1" flip "$2" 150
	"$1" frames "$2" | grep -q "^H 2048 " && "$1" flip "$2" $((2048 + 150))
	true' sh "$FS" "$D/$bk_hdrflip"
ok "damage: flip one byte of the header magic" sh -c \
	'"$1" flip "$2" 1 && "$1" flip "$2" 2049' sh "$FS" "$D/$bk_magicflip"

ok "damage: zero both slots of chunk 1" \
	zero_range "$D/$bk_zeroed" "$(slot_off 1 0)" $((2 * SLOT))

ok "damage: truncate the backing file before the last chunk" \
	truncate -s "$(slot_off 4 0)" "$D/$bk_truncated"

ok "damage: swap chunk 1 between two documents" \
	swap_range "$D/$bk_swapA" "$D/$bk_swapB" "$(slot_off 1 0)" $((2 * SLOT))

ok "damage: swap the headers of two documents" \
	swap_range "$D/$bk_hdrA" "$D/$bk_hdrB" 0 4096

ok "damage: swap chunks 1 and 2 within a document" sh -c '
	dd if="$1" of="$4" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null &&
	dd if="$1" of="$1" bs=4096 skip=$((($2 + $3) / 4096)) seek=$(($2 / 4096)) count=$(($3 / 4096)) conv=notrunc 2>/dev/null &&
	dd if="$4" of="$1" bs=4096 seek=$((($2 + $3) / 4096)) conv=notrunc 2>/dev/null' \
	sh "$D/$bk_chunkmove" "$(slot_off 1 0)" $((2 * SLOT)) "$T/chunkmove.tmp"

# another valid-looking base64url name: change one character in the middle
bad_name=$(printf '%s' "$bk_renamed" | awk '{
	i = int(length($0) / 2); c = substr($0, i, 1)
	print substr($0, 1, i - 1) (c == "A" ? "B" : "A") substr($0, i + 1) }')
ok "damage: rename an entry to another valid-looking encrypted name" \
	mv "$D/$bk_renamed" "$D/$bad_name"

if [ -f "$D/$bk_longname.name" ]; then
	sz=$(stat -c %s "$D/$bk_longname.name")
	ok "damage: flip a byte in a long name's side file" \
		"$FS" flip "$D/$bk_longname.name" $((sz / 2))
else
	fail "long name has no side file '$bk_longname.name'"
fi

ok "damage: delete a directory's vaultfs.dirid" rm "$D/$bk_sub/vaultfs.dirid"

if [ -L "$D/$bk_symlink" ]; then
	t=$(readlink "$D/$bk_symlink")
	i=$((${#t} / 2))
	c=$(printf '%s' "$t" | cut -c$i)
	[ "$c" = A ] && c=B || c=A
	t2="$(printf '%s' "$t" | cut -c1-$((i - 1)))$c$(printf '%s' "$t" | cut -c$((i + 1))-)"
	ok "damage: change one character of an encrypted symlink target" \
		sh -c 'rm "$1" && ln -s -- "$2" "$1"' sh "$D/$bk_symlink" "$t2"
elif [ -f "$D/$bk_symlink" ]; then
	sz=$(stat -c %s "$D/$bk_symlink")
	ok "damage: flip a byte of a symlink's stored target" \
		"$FS" flip "$D/$bk_symlink" $((sz / 2))
else
	fail "cannot find the backing entry of the symlink ('$bk_symlink')"
fi

# --- what the mount shows --------------------------------------------------------
mount_vault || abort "mount after tampering failed (exit $RC)"

# damaged NAME PATH: reading fails with EIO and prints no wrong byte
damaged() {
	tmo cat "$MNT/$2" >"$T/got" 2>"$T/cat.err"
	_rc=$?
	if [ $_rc -ne 0 ] && [ $_rc -lt 124 ]; then
		pass "$1: cat fails"
	else
		fail "$1: cat fails" "exit $_rc"
	fi
	if is_prefix "$T/got" "$REF/$3"; then
		pass "$1: no wrong byte returned ($(stat -c %s "$T/got") good bytes before the error)"
	else
		fail "$1: no wrong byte returned" \
			"cat printed $(stat -c %s "$T/got") bytes that are not the document's"
	fi
	tmo dd if="$MNT/$2" of=/dev/null bs=65536 2>"$T/dd.err"
	like "$(cat "$T/dd.err")" "*Input/output error*" "$1: dd reports Input/output error"
}

damaged "flipped chunk byte" chunkflip chunkflip
is "$(dd if="$MNT/chunkflip" bs=65536 count=2 2>/dev/null | sha256sum)" \
	"$(head -c 131072 "$REF/chunkflip" | sha256sum)" \
	"  the undamaged chunks 0-1 of that document still read"
damaged "flipped header byte" hdrflip hdrflip
damaged "flipped header magic" magicflip magicflip
damaged "zeroed chunk" zeroed zeroed
is "$(dd if="$MNT/zeroed" bs=65536 count=1 2>/dev/null | sha256sum)" \
	"$(head -c 65536 "$REF/zeroed" | sha256sum)" "  chunk 0 of that document still reads"
damaged "truncated backing file" truncated truncated
is "$(dd if="$MNT/truncated" bs=65536 count=4 2>/dev/null | sha256sum)" \
	"$(head -c 262144 "$REF/truncated" | sha256sum)" "  chunks 0-3 of that document still read"
is "$(stat -c %s "$MNT/truncated")" 300000 "  and its size is the authenticated one"
damaged "chunk swapped in from another document (A)" swapA swapA
damaged "chunk swapped in from another document (B)" swapB swapB
damaged "header swapped with another document's (A)" hdrA hdrA
damaged "header swapped with another document's (B)" hdrB hdrB
damaged "chunks 1 and 2 swapped within a document" chunkmove chunkmove

tmo cat "$MNT/renamed" >"$T/got" 2>/dev/null
isnt "$?" 0 "renamed entry: the old name no longer opens"
is "$(stat -c %s "$T/got")" 0 "  and prints nothing"
# lookups by name need only the hash entry; the side file serves readdir
tmo cat "$MNT/$longname" >"$T/got" 2>/dev/null
if is_prefix "$T/got" "$REF/longname"; then
	pass "tampered long-name side file: no wrong byte through the name"
else
	fail "tampered long-name side file: no wrong byte through the name"
fi
tmo ls "$MNT" >"$T/ls" 2>"$T/ls.err"
printf '%s\n' chunkflip chunkmove hdrA hdrB hdrflip keep.txt magicflip other \
	renamed sub swapA swapB symlink symlink2 truncated zeroed "$longname" |
	LC_ALL=C sort >"$T/known"
LC_ALL=C sort "$T/ls" | LC_ALL=C comm -23 - "$T/known" >"$T/unknown"
is "$(cat "$T/unknown")" "" "ls of the root shows no garbage names"
is "$(grep -c -x -e keep.txt -e other "$T/ls")" 2 "  and the good entries"
is "$(grep -c -x -F -e "$longname" "$T/ls")" 0 "  and not the name whose side file was tampered"

tmo cat "$MNT/sub/inner.txt" >"$T/got" 2>"$T/cat.err"
_rc=$?
isnt "$_rc" 0 "directory without vaultfs.dirid: its file does not read"
is "$(stat -c %s "$T/got")" 0 "  and prints nothing"
like "$(cat "$T/cat.err")" "*Input/output error*" "  with EIO"
tmo ls "$MNT/sub" >"$T/ls.sub" 2>"$T/ls.err"
is "$(grep -c inner "$T/ls.sub")" 0 "  and its entries are not listed as if fine"

run readlink "$MNT/symlink"
isnt "$RC" 0 "tampered symlink target: readlink fails"
unlike "$OUT" "*/*" "  and prints no target"
is "$(readlink "$MNT/symlink2")" "another/target" "untouched symlink still resolves"

ok "the daemon is still alive" daemon_alive
is "$(cat "$MNT/keep.txt" 2>&1)" "control document" "a good document still reads"
ok "a good document in another directory still reads" cmp "$REF/ok.txt" "$MNT/other/ok.txt"
echo "new" >"$MNT/new.txt"
is "$(cat "$MNT/new.txt" 2>&1)" "new" "a new document can be written"
ok "unmount" umount_vault

# --- fsck ---------------------------------------------------------------------------
if ! "$VAULTCTL" fsck --help >/dev/null 2>&1; then
	skip "vaultctl fsck not implemented yet" 15
	done_testing
fi
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "vaultctl fsck exits 1 on a damaged vault"
cat "$T/out" "$T/err" >"$T/fsck.all"
# names NAME BACKING: the report names the document by plaintext or backing name
names() {
	if grep -q -F -e "$2" "$T/fsck.all" ||
	   { [ -n "$3" ] && grep -q -F -e "$3" "$T/fsck.all"; }; then
		pass "fsck names $1"
	else
		fail "fsck names $1" "neither '$2' nor '$3' in its output:"
		diag_file "$T/fsck.all"
	fi
}
names "the flipped chunk" chunkflip "$bk_chunkflip"
names "the flipped header" hdrflip "$bk_hdrflip"
names "the flipped magic" magicflip "$bk_magicflip"
names "the zeroed chunk" zeroed "$bk_zeroed"
names "the truncated document" truncated "$bk_truncated"
names "chunk swap A" swapA "$bk_swapA"
names "chunk swap B" swapB "$bk_swapB"
names "header swap A" hdrA "$bk_hdrA"
names "header swap B" hdrB "$bk_hdrB"
names "the moved chunks" chunkmove "$bk_chunkmove"
names "the corrupted encrypted name" "$bad_name" "$bad_name"
names "the tampered long-name side file" "$bk_longname" "$longname"
names "the directory without dir id" "$bk_sub" "/sub"
names "the tampered symlink" "$bk_symlink" symlink
done_testing
