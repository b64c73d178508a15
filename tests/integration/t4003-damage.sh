#!/bin/sh
# t4003-damage: random damage across the whole backing store (issue 6).
#
# A vault with a few dozen documents (empty, small, several chunks, sparse,
# long names, nested directories, symlinks) is unmounted and kept as a
# pristine copy.  Each round restores the copy, applies a fixed-seed set of
# random mutations (tests/helpers/damage.c: bit flips in headers, frames,
# dir ids, side files and the log; truncation and extension; blocks zeroed,
# copied between documents and moved; entries renamed; side files and dir
# ids deleted; symlink targets changed; every tenth round the key store
# too), mounts, and reads everything against the reference tree:
#   - every read returns the right bytes or an error, never wrong bytes;
#     no unknown name appears; sizes of documents that open are exact
#     (a name may also go missing, or be left out of listings while it
#     still opens: a long name whose side file is damaged);
#   - the daemon neither dies nor hangs (every step has a timeout);
#   - a mount refused is refused only for a damaged key store (or log), with
#     a message that says so;
#   - vaultctl fsck reports damage whenever something failed to read or
#     went missing, and names every document that failed to read (or the
#     directory it is in).
#
#   DAMAGE_ROUNDS (default 30; 1000 with VAULTFS_TORTURE=1),
#   DAMAGE_PER_ROUND (mutations per round; default 1 to 19, 10 on average)
#   and DAMAGE_SEED (4003) override the defaults.
# A failing round prints the command that repeats its mutations.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper damage
DMG=$HELPERS/damage

if [ -n "$VAULTFS_TORTURE" ]; then
	rounds=${DAMAGE_ROUNDS:-1000}
else
	rounds=${DAMAGE_ROUNDS:-30}
fi
per_fixed=${DAMAGE_PER_ROUND:-}
seed=${DAMAGE_SEED:-4003}

plan 11

# --- the reference tree --------------------------------------------------------
gen() { "$DMG" gen "$@"; }
mkdir -p "$REF/small" "$REF/text" "$REF/bin" "$REF/a/b/c/d"
for n in 0 1 100 4095 4096 4097; do
	gen $n $n >"$REF/small/f$n"
done
for n in 16383 16384 16385 50000 200000; do
	gen $((n + 1)) $n text >"$REF/text/t$n"
done
for n in 30000 100000 250000; do
	gen $((n + 2)) $n >"$REF/bin/r$n"
done
# sparse: holes of whole chunks between data (cp keeps them as holes)
truncate -s 2000000 "$REF/sparse1"
gen 11 5000 | dd of="$REF/sparse1" bs=1 seek=1000000 conv=notrunc 2>/dev/null
gen 12 20000 text | dd of="$REF/sparse1" bs=1 seek=1500000 conv=notrunc 2>/dev/null
gen 13 40000 >"$REF/sparse2"
truncate -s 300000 "$REF/sparse2"
gen 14 100 | dd of="$REF/sparse2" bs=1 seek=299900 conv=notrunc 2>/dev/null
long=$(printf 'L%0199d' 7)
gen 15 70000 >"$REF/$long"
gen 16 300 text >"$REF/${long}x"
ldir=$(printf 'D%0149d' 3)
mkdir "$REF/$ldir"
gen 17 40000 text >"$REF/$ldir/inner"
gen 18 33000 >"$REF/$ldir/$long"
for d in a a/b a/b/c a/b/c/d; do
	gen ${#d} 20000 text >"$REF/$d/file"
	gen $((${#d} + 100)) 9000 >"$REF/$d/bin"
done
ln -s small/f100 "$REF/link1"
ln -s "/no/such/$(printf 't%0250d' 0)" "$REF/link2"
ln -s ../text "$REF/a/link3"

make_vault --chunk-size 16384 || abort "vaultctl init failed (exit $RC)"
mount_vault || abort "mount failed (exit $RC)"
(cd "$REF" && cp -a --sparse=always . "$MNT/") || abort "cannot copy the tree into the vault"
umount_vault || abort "unmount failed"
nref=$(find "$REF" -type f | wc -l)
ok "pristine vault: no chunk has two frames" "$DMG" pristine "$VAULT"
run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "pristine vault: fsck clean ($nref documents)"
cp -a "$VAULT" "$T/pristine" || abort "cannot copy the vault"

# --- rounds ------------------------------------------------------------------------
mutations=0 mounted=0 refused=0 keyrounds=0 damaged_rounds=0 clean_rounds=0
bad_wrong=0 bad_dead=0 bad_refused=0 bad_keys=0 bad_fsck=0 bad_named=0
bad_status=0 fsck_extra=0
eio_total=0 missing_total=0 extra_rounds=""
# keep_pristine: keep a copy of the pristine vault, once, to repeat rounds
kept=""
keep_pristine() {
	[ -z "$kept" ] || return 0
	kept=$(mktemp -d "${TMPDIR:-/tmp}/t4003-pristine.XXXXXX") &&
		cp -a "$T/pristine" "$kept/vault" && cp "$PASSFILE" "$kept/pass" &&
		diag "pristine vault kept in $kept/vault (passfile $kept/pass)"
}
# show ROUND WHAT: describe a failing round (only the first few)
shown=0
show() {
	shown=$((shown + 1))
	[ $shown -le 6 ] || return 0
	keep_pristine
	diag "round $1: $2" \
		"repeat: damage mutate $3 $4 $per VAULT (on a fresh copy of the kept pristine vault)"
	diag_file "$T/mut"
	[ -s "$T/read" ] && diag_file "$T/read"
	[ -s "$T/fsck" ] && diag_file "$T/fsck"
	return 0
}

# alive: the daemon runs and answers (ls of the root may fail: its dir id
# may be damaged)
alive() {
	[ -n "$(daemon_pids "$MNT")" ] && mounted "$MNT" &&
		tmo stat -f "$MNT" >/dev/null 2>&1 && tmo stat "$MNT" >/dev/null 2>&1
}

r=1
while [ $r -le "$rounds" ]; do
	rm -rf "$VAULT"
	cp -a "$T/pristine" "$VAULT"
	k=""
	[ $((r % 10)) = 0 ] && k=-k && keyrounds=$((keyrounds + 1))
	rs=$((seed * 100000 + r))
	per=${per_fixed:-$((1 + r * 7 % 19))}
	: >"$T/read"
	: >"$T/fsck"
	tmo "$DMG" mutate $k $rs "$per" "$VAULT" >"$T/mut" 2>&1 ||
		{ fail "round $r: damage mutate failed"; diag_file "$T/mut"; break; }
	mutations=$((mutations + $(wc -l <"$T/mut")))
	keyhit=no
	grep -q -e ' vault\.keys ' -e ' audit/' "$T/mut" && keyhit=yes
	if ! mount_vault; then
		refused=$((refused + 1))
		if [ $keyhit = no ]; then
			bad_refused=$((bad_refused + 1))
			show $r "mount refused without key store damage: $ERR" "$k" $rs
		else
			# (a flipped format field reads as "a newer format")
			case $ERR in
			*vault.keys* | *passphrase* | *"key store"* | *audit* | *newer*) ;;
			*) bad_status=$((bad_status + 1))
			   show $r "unclear message for a damaged key store: $ERR" "$k" $rs ;;
			esac
		fi
		r=$((r + 1))
		continue
	fi
	mounted=$((mounted + 1))
	if grep -q ' vault\.keys ' "$T/mut"; then
		bad_keys=$((bad_keys + 1))
		show $r "mounted with a damaged key store" "$k" $rs
	fi
	tmo "$DMG" read "$REF" "$MNT" >"$T/read" 2>&1
	rrc=$?
	if [ $rrc -ne 0 ]; then
		bad_wrong=$((bad_wrong + 1))
		show $r "reading against the reference failed (exit $rrc)" "$k" $rs
	fi
	if ! alive; then
		bad_dead=$((bad_dead + 1))
		show $r "the daemon died or hangs" "$k" $rs
		fusermount3 -uz "$MNT" 2>/dev/null
		_kill_daemons
	elif ! umount_vault; then
		bad_dead=$((bad_dead + 1))
		show $r "unmount failed" "$k" $rs
		fusermount3 -uz "$MNT" 2>/dev/null
		_kill_daemons
	fi
	neio=$(grep -c '^eio ' "$T/read")
	nmiss=$(grep -c -e '^missing ' -e '^unlisted ' "$T/read")
	eio_total=$((eio_total + neio))
	missing_total=$((missing_total + nmiss))
	tmo "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE" >"$T/fsck" 2>&1
	frc=$?
	if [ $frc -ne 0 ] && [ $frc -ne 1 ]; then
		bad_status=$((bad_status + 1))
		show $r "fsck exit status $frc" "$k" $rs
	elif [ $((neio + nmiss)) -gt 0 ]; then
		damaged_rounds=$((damaged_rounds + 1))
		if [ $frc -ne 1 ]; then
			bad_fsck=$((bad_fsck + 1))
			show $r "reads failed but fsck found the vault clean" "$k" $rs
		fi
		# every file that failed to read is named, or a directory above it
		sed -n 's/^eio \(.*\) (.*)$/\1/p' "$T/read" | while IFS= read -r p; do
			q=$p
			found=no
			while [ -n "$q" ]; do
				if grep -q -F -e "damaged: $q (" "$T/fsck"; then
					found=yes
					break
				fi
				q=${q%/*}
			done
			[ $found = yes ] ||
				grep -q -F -e "damaged: / (" "$T/fsck" || echo "$p"
		done >"$T/unnamed"
		if [ -s "$T/unnamed" ]; then
			bad_named=$((bad_named + 1))
			show $r "fsck does not name $(head -n 1 "$T/unnamed")" "$k" $rs
		fi
	else
		clean_rounds=$((clean_rounds + 1))
		if [ $frc -eq 1 ]; then
			fsck_extra=$((fsck_extra + 1))
			extra_rounds="$extra_rounds $r"
			diag "round $r: fsck reports damage that no read met:"
			grep '^damaged:' "$T/fsck" | sed 's/^/#   /'
			grep -v '^[0-9]' "$T/read" | sed 's/^/#   /' | head -n 5
		fi
	fi
	r=$((r + 1))
done
rounds_run=$((r - 1))

diag "$rounds_run rounds, $mutations mutations: $mounted mounted, $refused refused" \
	"($keyrounds rounds could hit the key store); $damaged_rounds rounds with" \
	"failed reads ($eio_total unreadable, $missing_total missing items), $clean_rounds" \
	"rounds without visible damage ($fsck_extra of them still flagged by fsck)"
is "$rounds_run" "$rounds" "ran $rounds rounds"
is "$bad_wrong" 0 "never a wrong byte, size or name ($mutations mutations)"
is "$bad_dead" 0 "the daemon never died or hung"
is "$bad_refused" 0 "mount refused only when the key store or log was hit"
is "$bad_keys" 0 "a damaged key store is always refused"
is "$bad_status" 0 "clear messages and fsck exit status 0 or 1 throughout"
is "$bad_fsck" 0 "fsck reports damage whenever a read failed or a name went missing"
is "$bad_named" 0 "fsck names every document that failed to read"
ok "some rounds did damage documents" test "$damaged_rounds" -gt 0
done_testing
