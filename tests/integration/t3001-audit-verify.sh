#!/bin/sh
# t3001-audit-verify: vaultctl audit verify on an intact log, on each kind
# of tampering done to the segment files on disk (naming the right record
# and reason), with archived history, crashes, a wrong key or passphrase,
# and on the log that real mounts write.
. "$(dirname "$0")/lib.sh"
[ -x "$VAULTCTL" ] || skip_all "no $VAULTCTL (build it with make)"
need_helper auditgen fstool
"$VAULTCTL" audit --help >/dev/null 2>&1 || skip_all "vaultctl audit not implemented"

AG=$HELPERS/auditgen

verify() {
	run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

# segment N TAG [auditgen write options]: a mount segment holding a mount
# record, N open/close pairs and (unless --crash) an unmount record
segment() {
	_n=$1 _tag=$2
	shift 2
	{
		echo "mount pid=100 comm=vaultfs exe=/usr/bin/vaultfs detail=host=test"
		_i=1
		while [ $_i -le "$_n" ]; do
			echo "open uid=$((1000 + _i % 3)) gid=100 pid=$((200 + _i)) comm=cat exe=/usr/bin/cat path=/$_tag/doc-$_i.txt flags=0"
			echo "close uid=$((1000 + _i % 3)) gid=100 pid=$((200 + _i)) comm=cat exe=/usr/bin/cat path=/$_tag/doc-$_i.txt read=$((_i * 100))"
			_i=$((_i + 1))
		done
		echo "unmount pid=100 comm=vaultfs exe=/usr/bin/vaultfs"
	} | "$AG" write "$VAULT" "$@" >/dev/null
}

# segments: the segment file names, oldest first
segments() {
	ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | LC_ALL=C sort
}

# frame SEG INDEX FIELD: field 2 offset, 3 length, 4 seq of a frame
frame() {
	"$AG" frames "$VAULT/audit/$1" | awk -v i="$2" -v f="$3" '$1 == i { print $f }'
}

restore() {
	rm -rf "$VAULT/audit"
	cp -a "$T/pristine" "$VAULT/audit"
}

# first_bad: the line naming the first bad record
first_bad() {
	grep 'first bad record' "$T/out"
}

make_vault || abort "vaultctl init failed (exit $RC)"
segment 10 alpha || abort "auditgen write failed"
segment 10 beta || abort "auditgen write failed"
segment 10 gamma || abort "auditgen write failed"
all=$(segments)
n=$(echo "$all" | wc -l)
S1=$(echo "$all" | sed -n "$((n - 2))p")
S2=$(echo "$all" | sed -n "$((n - 1))p")
S3=$(echo "$all" | sed -n "${n}p")
cp -a "$VAULT/audit" "$T/pristine"
lastseq=$(frame "$S3" 21 4)

# --- intact -------------------------------------------------------------------------
verify
is "$RC" 0 "an intact log verifies (exit 0)"
like "$OUT" "*intact*" "  and says so"
like "$OUT" "*$n segments*seq 1..$lastseq*complete history*" \
	"  with a summary: segments, records, seq range, complete history"

# --- a flipped byte -----------------------------------------------------------------
off=$(frame "$S2" 5 2)
seq=$(frame "$S2" 5 4)
"$HELPERS/fstool" flip "$VAULT/audit/$S2" $((off + 100))
verify
is "$RC" 1 "a flipped byte in a record: exit 1"
like "$(first_bad)" "*$S2: record seq $seq (frame 5, byte offset $off): altered:*" \
	"  names the segment, record seq, frame and offset, and 'altered'"
restore

# --- a record cut out with its framing ----------------------------------------------
"$AG" cut "$VAULT/audit/$S2" 5
verify
is "$RC" 1 "a record removed: exit 1"
like "$(first_bad)" "*$S2: record seq $seq (frame 5, byte offset $off): removed:*" \
	"  names the first missing record and 'removed'"
restore

"$AG" cut "$VAULT/audit/$S2" 8
"$AG" cut "$VAULT/audit/$S2" 7
"$AG" cut "$VAULT/audit/$S2" 6
verify
like "$(first_bad)" "*$S2: record seq $((seq + 1)) (frame 6,*removed (3 records)*" \
	"three records removed: counted"
restore

# --- two records swapped ------------------------------------------------------------
"$AG" swap "$VAULT/audit/$S2" 5 6
verify
is "$RC" 1 "two records swapped: exit 1"
like "$(first_bad)" "*$S2: record seq $seq (frame 5, byte offset $off): reordered:*" \
	"  names the record and 'reordered'"
restore

# --- the clear seq changed ----------------------------------------------------------
"$AG" setseq "$VAULT/audit/$S2" 5 $((seq + 1))
verify
is "$RC" 1 "a record's clear seq changed: exit 1"
like "$(first_bad)" "*$S2: record seq $seq (frame 5*altered*" "  altered"
restore

# --- the tail cut ---------------------------------------------------------------------
off18=$(frame "$S3" 18 2)
seq18=$(frame "$S3" 18 4)
truncate -s "$off18" "$VAULT/audit/$S3"
verify
is "$RC" 1 "the newest segment cut after a record: exit 1"
like "$(first_bad)" "*$S3: record seq $seq18 (frame 18, byte offset $off18): truncated tail:*" \
	"  names the first missing record and 'truncated tail'"
restore

truncate -s $((off18 + 50)) "$VAULT/audit/$S3"
verify
is "$RC" 1 "the newest segment cut inside a record: exit 1"
like "$(first_bad)" "*$S3: record seq $seq18 (frame 18,*truncated tail:*torn partial record*" \
	"  truncated tail with a torn partial record"
restore

off19=$(frame "$S2" 19 2)
seq19=$(frame "$S2" 19 4)
truncate -s "$off19" "$VAULT/audit/$S2"
verify
is "$RC" 1 "a middle segment cut short: exit 1"
like "$(first_bad)" "*$S2: record seq $seq19 (frame 19,*truncated tail (3 records):*" \
	"  the next segment proves how many records are missing"
restore

# --- whole segments -----------------------------------------------------------------
rm "$VAULT/audit/$S2"
verify
is "$RC" 1 "a middle segment deleted: exit 1"
like "$(first_bad)" "*$S3*segment removed*" "  'segment removed', at the next segment"
restore

cp "$VAULT/audit/$S1" "$VAULT/audit/$S2"
verify
is "$RC" 1 "a segment copied over another: exit 1"
like "$(first_bad)" "*$S2*segment replayed*" "  'segment replayed'"
restore

next=$(echo "$S3" | sed 's/^seg-0*//; s/\.log$//')
new=$(printf 'seg-%012d.log' $((next + 1)))
cp "$VAULT/audit/$S2" "$VAULT/audit/$new"
verify
is "$RC" 1 "an old segment replayed as the newest: exit 1"
like "$(first_bad)" "*$new*segment replayed*" "  'segment replayed'"
restore

"$HELPERS/fstool" flip "$VAULT/audit/$S2" 150
verify
is "$RC" 1 "a damaged segment header: exit 1"
like "$(first_bad)" "*$S2*bad header*" "  'bad header'"
restore

rm "$VAULT/audit/$S3"
verify
is "$RC" 1 "the newest segment deleted: exit 1 (the head file names it)"
like "$(first_bad)" "*head*segment removed*" "  'segment removed'"
restore

printf 'garbage' >>"$VAULT/audit/$S3"
verify
is "$RC" 1 "bytes appended after the final record: exit 1"
like "$(first_bad)" "*$S3*altered*" "  altered"
restore

# --- archived history -----------------------------------------------------------------
mkdir "$T/archive"
for s in $all; do
	[ "$s" = "$S2" ] && break
	mv "$VAULT/audit/$s" "$T/archive/"
done
verify
is "$RC" 0 "older segments archived: the rest verifies (exit 0)"
like "$OUT" "*retained history starts at segment*" "  and says where history starts"
run "$VAULTCTL" audit verify "$T/archive" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE"
is "$RC" 0 "a directory of archived segments verifies too"
restore

# --- crashes --------------------------------------------------------------------------
segment 3 crashed --crash
verify
is "$RC" 1 "the newest segment has no final record and no writer: exit 1"
like "$(first_bad)" "*truncated tail*" "  truncated tail"
segment 2 after
verify
is "$RC" 0 "once the next segment chains on, the crash is a note (exit 0)"
like "$OUT" "*note:*crash*" "  reported as a crash"
restore

# --- keys and passphrases -------------------------------------------------------------
write_passfile "$T/wrong" "not the auditor passphrase"
run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$T/wrong"
is "$RC" 3 "a wrong auditor passphrase: exit 3"
like "$ERR" "*wrong passphrase*$AUDITOR_KEY*" "  with a message naming the key file"

# a second vault, with its own auditor key (same passphrase)
cp -p "$AUDITOR_KEY" "$T/main.key"
VAULT=$T/other
make_vault || abort "second vault: init failed (exit $RC)"
VAULT=$T/vault
mv "$AUDITOR_KEY" "$T/other.key"
mv "$T/main.key" "$AUDITOR_KEY"
run "$VAULTCTL" audit verify "$T/vault" --auditor-key "$T/other.key" \
	--auditor-passfile "$AUDITOR_PASSFILE"
is "$RC" 1 "another vault's auditor key: exit 1"
like "$ERR" "*wrong key*" "  'wrong key'"

run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$T/missing.key" \
	--auditor-passfile "$AUDITOR_PASSFILE"
is "$RC" 1 "a missing key file: exit 1"
like "$ERR" "*$T/missing.key*" "  naming it"

if command -v setsid >/dev/null 2>&1; then
	setsid -w "$VAULTCTL" audit verify "$VAULT" --auditor-key "$AUDITOR_KEY" \
		</dev/null >"$T/out" 2>"$T/err"
	is "$?" 2 "no passfile and no terminal: exit 2"
	like "$(cat "$T/err")" "*--auditor-passfile*" "  telling to use --auditor-passfile"
else
	skip "no setsid" 2
fi

# --- usage ----------------------------------------------------------------------------
run "$VAULTCTL" audit verify "$VAULT"
is "$RC" 2 "no --auditor-key: exit 2"
run "$VAULTCTL" audit verify --auditor-key "$AUDITOR_KEY"
is "$RC" 2 "no VAULT: exit 2"
verify --uid 0
is "$RC" 2 "an option of another subcommand: exit 2"
verify --no-such-option
is "$RC" 2 "an unknown option: exit 2"
run "$VAULTCTL" audit frobnicate "$VAULT"
is "$RC" 2 "an unknown subcommand: exit 2"
run "$VAULTCTL" audit
is "$RC" 2 "no subcommand: exit 2"
for v in verify show report; do
	run "$VAULTCTL" audit $v --help
	like "$RC:$(echo "$OUT" | head -1)" "0:usage: vaultctl audit $v *" \
		"audit $v --help"
done
run "$VAULTCTL" audit --help
is "$RC" 0 "audit --help"

# --- the log real mounts write --------------------------------------------------------
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && [ -x "$VAULTFS" ] &&
	command -v fusermount3 >/dev/null 2>&1; then
	VAULT=$T/mounted
	make_vault || abort "init failed (exit $RC)"
	mount_vault || abort "mount failed (exit $RC)"
	echo "first" >"$MNT/a.txt"
	mkdir "$MNT/dir"
	cat "$MNT/a.txt" >/dev/null
	umount_vault || abort "unmount failed"
	mount_vault || abort "mount failed (exit $RC)"
	mv "$MNT/a.txt" "$MNT/dir/b.txt"
	seq 1 1000 >"$MNT/dir/c.txt"
	rm "$MNT/dir/b.txt"
	verify
	is "$RC" 0 "while mounted, the log verifies (exit 0)"
	like "$OUT" "*note:*open*" "  the open segment is a note"
	umount_vault || abort "unmount failed"
	verify
	is "$RC" 0 "after two mounts with file activity the log verifies"
	like "$OUT" "*intact*" "  intact"
	s=$(segments | tail -1)
	off=$(frame "$s" 2 2)
	seq=$(frame "$s" 2 4)
	"$HELPERS/fstool" flip "$VAULT/audit/$s" $((off + 90))
	verify
	is "$RC" 1 "a flipped byte in a mount's record: exit 1"
	like "$(first_bad)" "*$s: record seq $seq (frame 2, byte offset $off): altered:*" \
		"  names the record"
else
	skip "cannot mount here" 7
fi

done_testing
