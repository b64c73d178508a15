#!/bin/sh
# t2002-rotate: vaultctl rotate and keys end to end, on a vault holding
# small, empty, sparse, large, hard-linked, read-only and long-named files,
# symlinks and nested directories: content, modes and times identical
# before and after; keys shows the old version destroyed; rotation while
# mounted, with a wrong passphrase and concurrently is refused;
# --reencrypt changes every document's bytes, id and key; fsck stays clean;
# progress on a terminal, one summary line without.
. "$(dirname "$0")/lib.sh"
need_fuse
"$VAULTCTL" rotate --help >/dev/null 2>&1 ||
	skip_all "vaultctl rotate not implemented"

# manifest DIR: what a user sees: names, types, modes, sizes, mtimes, link
# counts, symlink targets and content checksums
manifest() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		xargs -0 -r sh -c 'for f; do
			# a directory'"'"'s size is the backing file system'"'"'s
			# business (it grows with temporary entries)
			if [ -d "$f" ]; then printf "%s" "$(stat -c "%n %F %a %Y %h" "$f")"
			else printf "%s" "$(stat -c "%n %F %a %s %Y %h" "$f")"; fi
			if [ -L "$f" ]; then printf " -> %s" "$(readlink "$f")"
			elif [ -f "$f" ]; then printf " %s" "$(sha256sum <"$f" | cut -c1-16)"; fi
			echo; done' sh)
}

# doc_files: the backing files that are documents (not dir ids, long-name
# side files), "path inode" per line
doc_files() {
	(cd "$VAULT/data" && find . -type f ! -name vaultfs.dirid ! -name '*.name' \
		-printf '%p %i\n' | LC_ALL=C sort)
}

# raw_sums: checksum and document id (header bytes 16..31) of each
raw_sums() {
	doc_files | while read -r p _; do
		printf '%s %s %s\n' "$p" "$(sha "$VAULT/data/$p")" \
			"$(od -An -tx1 -j16 -N16 "$VAULT/data/$p" | tr -d ' \n')"
	done
}

setup_mounted_vault --chunk-size 16K
long=$(printf 'n%.0s' $(seq 1 230))
mkdir -p "$MNT/projects/alpha/deep" "$MNT/empty-dir"
for i in $(seq 1 120); do
	echo "document $i of the rotation test" >"$MNT/projects/doc$i.txt"
done
: >"$MNT/empty"
head -c 3145728 /dev/urandom >"$MNT/large.bin"
seq 1 300000 >"$MNT/projects/alpha/numbers.txt"
truncate -s 200M "$MNT/sparse.img"
printf 'island' | dd of="$MNT/sparse.img" bs=1 seek=100000000 conv=notrunc 2>/dev/null
printf 'tail' | dd of="$MNT/sparse.img" bs=1 seek=209715196 conv=notrunc 2>/dev/null
echo "linked content" >"$MNT/projects/alpha/deep/hard1"
ln "$MNT/projects/alpha/deep/hard1" "$MNT/hard2"
ln "$MNT/projects/alpha/deep/hard1" "$MNT/projects/hard3"
echo "long name" >"$MNT/projects/$long"
echo "read only" >"$MNT/readonly.txt"
chmod 0444 "$MNT/readonly.txt"
touch -d '2001-02-03 04:05:06' "$MNT/projects/doc1.txt"
ln -s projects/alpha/numbers.txt "$MNT/link"
ln -s "$long" "$MNT/projects/longlink"
manifest "$MNT" >"$T/m0"

# --- refusals ------------------------------------------------------------------------------
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "rotate while mounted: exit 1"
like "$ERR" "*vault '$VAULT' is mounted; unmount it first*" "  saying to unmount"
run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "keys works while mounted"
like "$OUT" "*1  active*" "  showing KEK 1 active"
umount_vault || abort "unmount failed"

cp "$VAULT/vault.keys" "$T/keys.0"
write_passfile "$T/wrong" "wrong passphrase"
run "$VAULTCTL" rotate "$VAULT" --passfile "$T/wrong"
is "$RC" 3 "rotate with a wrong passphrase: exit 3"
like "$ERR" "*wrong passphrase*" "  saying so"
ok "  and nothing changes" cmp -s "$VAULT/vault.keys" "$T/keys.0"
run "$VAULTCTL" rotate
is "$RC" 2 "rotate without VAULT: exit 2"
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" --bogus
is "$RC" 2 "rotate with an unknown option: exit 2"
run "$VAULTCTL" rotate "$T/nonexistent" --passfile "$PASSFILE"
is "$RC" 1 "rotate of a missing vault: exit 1"
like "$ERR" "*$T/nonexistent*" "  naming it"

# a second rotation at once (it holds both locks; simulate each)
(exec 9<"$VAULT" && flock -x 9 && exec sleep 20) >/dev/null 2>&1 &
locker=$!
sleep 0.3
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "rotate while another rotate or passwd runs: exit 1"
like "$ERR" "*being changed*" "  saying so"
kill "$locker"
wait "$locker" 2>/dev/null
(exec 9<"$VAULT/vault.lock" && flock -x 9 && exec sleep 20) >/dev/null 2>&1 &
locker=$!
sleep 0.3
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE"
is "$RC" 1 "rotate while the mount lock is held: exit 1"
kill "$locker"
wait "$locker" 2>/dev/null
ok "  and nothing changes" cmp -s "$VAULT/vault.keys" "$T/keys.0"

# --- rewrap -----------------------------------------------------------------------------------
raw_sums >"$T/raw0"
sparse_blocks0=$(du -k "$VAULT/data" | tail -1 | cut -f1)
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" </dev/null
is "$RC" 0 "rotate: exit 0"
[ "$RC" = 0 ] || diag_file "$T/err"
like "$OUT" "rotated vault*KEK version 2*rewrapped*destroyed KEK version 1*" \
	"  one summary line"
is "$(wc -l <"$T/out")" 1 "  and only one"
is "$ERR" "" "  nothing on stderr without a terminal"
run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
like "$OUT" "*      1  destroyed*      0
      2  active *" "keys: 1 destroyed (0 documents), 2 active"
like "$OUT" "*rotation:     none in progress*" "  no rotation in progress"
ndocs=$(doc_files | awk '{print $2}' | sort -u | wc -l)
like "$OUT" "*documents:    $ndocs
*" "  $ndocs documents"
like "$OUT" "*2  active*  $ndocs" "  all on KEK 2"
raw_sums >"$T/raw1"
is "$(cut -d' ' -f1,3 "$T/raw1")" "$(cut -d' ' -f1,3 "$T/raw0")" \
	"rewrap keeps every document's id and backing file"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "fsck clean after rewrap"
[ "$RC" = 0 ] && [ -z "$(grep "warning:" "$T/out")" ] || diag_file "$T/out"
mount_vault || abort "mount after rewrap failed"
manifest "$MNT" >"$T/m1"
ok "same names, modes, sizes, times, links and content after rewrap" \
	cmp -s "$T/m0" "$T/m1"
[ -s "$T/m1" ] && ! cmp -s "$T/m0" "$T/m1" && diff "$T/m0" "$T/m1" | head -5 | sed 's/^/# /'
umount_vault || abort "unmount failed"

# --- rewrap again: nothing to skip, everything moves again ----------------------------------
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "a second rotation: exit 0"
like "$OUT" "*KEK version 3*destroyed KEK version 2*" "  to 3, destroying 2"

# --- re-encrypt --------------------------------------------------------------------------------
doc_files >"$T/files2"
run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE" --reencrypt
is "$RC" 0 "rotate --reencrypt: exit 0"
[ "$RC" = 0 ] || diag_file "$T/err"
like "$OUT" "*KEK version 4*re-encrypted*destroyed KEK version 3*" \
	"  summary"
raw_sums >"$T/raw2"
same=$(join "$T/raw1" "$T/raw2" | awk '$2 == $4 || $3 == $5' | wc -l)
is "$same" 0 "every document's backing bytes and document id changed"
is "$(cut -d' ' -f1 "$T/raw2" | tr '\n' ' ')" "$(cut -d' ' -f1 "$T/raw1" | tr '\n' ' ')" \
	"  under the same encrypted names"
doc_files >"$T/files3"
hl_ino=$(awk 'seen[$2]++ {print $2}' "$T/files2" | head -1)
is "$(awk -v i="$hl_ino" '$2 == i' "$T/files3" | wc -l)" 3 \
	"the hard-linked document keeps its inode and its 3 links"
sparse_blocks1=$(du -k "$VAULT/data" | tail -1 | cut -f1)
ok "the backing store did not grow by the holes ($sparse_blocks0 -> $sparse_blocks1 KiB)" \
	test "$sparse_blocks1" -lt $((sparse_blocks0 * 2 + 1024))
run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
like "$OUT" "*3  destroyed*4  active*  $ndocs" \
	"keys: 3 destroyed, 4 active with every document"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "fsck clean after re-encryption"
[ "$RC" = 0 ] || diag_file "$T/out"
unlike "$OUT" "*warning:*" "  without warnings (no temp files, no stale chunks)"
mount_vault || abort "mount after re-encryption failed"
manifest "$MNT" >"$T/m2"
ok "same names, modes, sizes, times, links and content after re-encryption" \
	cmp -s "$T/m0" "$T/m2"
[ -s "$T/m2" ] && ! cmp -s "$T/m0" "$T/m2" && diff "$T/m0" "$T/m2" | head -5 | sed 's/^/# /'
echo "new after rotation" >"$MNT/projects/new.txt"
umount_vault || abort "unmount failed"
run "$VAULTCTL" keys "$VAULT" --passfile "$PASSFILE"
like "$OUT" "*4  active*  $((ndocs + 1))" \
	"a document created afterwards uses KEK 4"

# --- progress on a terminal ----------------------------------------------------------------
run script -qec "'$VAULTCTL' rotate '$VAULT' --passfile '$PASSFILE' --reencrypt" /dev/null
is "$RC" 0 "rotate --reencrypt on a terminal: exit 0"
like "$OUT" "*documents*MiB*MiB/s*left*" "  draws a progress line"
like "$OUT" "*rotated vault*" "  then the summary"

# --- a document that cannot be rotated ---------------------------------------------------------
# It is listed on stdout with its path in the vault (a report the
# administrator asked for); stderr names the vault only.
mount_vault || abort "mount failed"
backing_list >"$T/l0"
echo "cannot be rewrapped" >"$MNT/projects/unrotatable-plan.txt"
backing_list >"$T/l1"
umount_vault || abort "unmount failed"
bad=$(backing_new "$T/l0" "$T/l1" | sed 's|^\./||' | grep -v vaultfs.dirid)
if [ -x "$HELPERS/fstool" ] && [ -n "$bad" ]; then
	"$HELPERS/fstool" flip "$VAULT/data/$bad" 200	# both header slots
	"$HELPERS/fstool" flip "$VAULT/data/$bad" 2248
	run "$VAULTCTL" rotate "$VAULT" --passfile "$PASSFILE"
	is "$RC" 1 "rotate with a damaged document: exit 1"
	like "$OUT" "*failed: /projects/unrotatable-plan.txt (backing $VAULT/data/$bad): *" \
		"  lists it on stdout with its path in the vault and its backing file"
	like "$ERR" "*rotation of vault '$VAULT' is unfinished*" "  says so on stderr"
	unlike "$ERR" "*unrotatable-plan*" "  without its plaintext name"
else
	skip "no fstool helper, or no backing file for the new document" 4
fi
done_testing
