#!/bin/sh
# t3005-audit-syslog: -o audit_syslog=SOCKET forwards the access log's
# sealed frames (header, every record, the unmount record) to a syslog
# socket; vaultctl audit verify --syslog FILE compares the collected copy
# with the local log and names records missing locally (cut short,
# segment deleted) or altered; show --syslog reads the copy.  A missing
# or stalled socket never stops or slows the mount: drops are counted in
# the unmount record.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper logsink auditgen fstool
need_cmd b2sum base64 python3
"$VAULTCTL" audit verify --help 2>&1 | grep -q -- --syslog ||
	skip_all "vaultctl audit verify --syslog not implemented"

AG=$HELPERS/auditgen
SOCK=$T/log.sock
LOG=$T/collected.log
SINK=""
SECRET=secret-orbit-plan

trap '_rc0=$?; [ -n "$SINK" ] && kill "$SINK" 2>/dev/null; (exit $_rc0); _cleanup' EXIT

# start_sink [--stall]: logsink on $SOCK appending to $LOG
start_sink() {
	"$HELPERS/logsink" "$SOCK" "$LOG" "$@" &
	SINK=$!
	_i=0
	while [ ! -S "$SOCK" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -S "$SOCK" ]
}

stop_sink() {
	[ -n "$SINK" ] || return 0
	kill "$SINK" 2>/dev/null
	wait "$SINK" 2>/dev/null
	SINK=""
}

verify() {
	run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

show() {
	run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

# the newest segment file name
newest() {
	ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | LC_ALL=C sort | tail -n 1
}

# frame SEG INDEX FIELD: field 2 offset, 3 length, 4 seq of a frame
frame() {
	"$AG" frames "$VAULT/audit/$1" | awk -v i="$2" -v f="$3" '$1 == i { print $f }'
}

restore() {
	rm -rf "$VAULT/audit"
	cp -a "$T/pristine" "$VAULT/audit"
}

# unmount_detail: the detail of the newest unmount record
unmount_detail() {
	show --event unmount --json
	tail -n 1 "$T/out" | sed 's/.*"detail":"\([^"]*\)".*/\1/'
}

# --- a mount that forwards -----------------------------------------------------------
make_vault || abort "vaultctl init failed (exit $RC)"
start_sink || abort "logsink did not start"
mount_vault -o "audit_syslog=$SOCK" || abort "mount with audit_syslog failed (exit $RC)"
pass "mounted with -o audit_syslog=SOCKET"
mkdir "$MNT/$SECRET"
for i in 1 2 3 4 5 6; do
	echo "document $i" >"$MNT/$SECRET/doc-$i.txt"
done
for i in 1 2 3; do cat "$MNT/$SECRET/doc-$i.txt" >/dev/null; done
mv "$MNT/$SECRET/doc-6.txt" "$MNT/$SECRET/renamed.txt"
rm "$MNT/$SECRET/doc-5.txt"
# a path of ~2.4 KB: a record larger than one datagram
long=$(printf 'L%.0s' $(seq 1 200))
mkdir -p "$MNT/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long"
echo deep >"$MNT/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/f.txt"
umount_vault || abort "unmount failed"
SEG1=$(newest)
# a second forwarded mount: two forwarded segments
mount_vault -o "audit_syslog=$SOCK" || abort "second mount failed (exit $RC)"
cat "$MNT/$SECRET/doc-1.txt" "$MNT/$SECRET/doc-2.txt" >/dev/null
echo more >"$MNT/$SECRET/doc-7.txt"
umount_vault || abort "unmount failed"
stop_sink
SEG=$(newest)

lines=$(wc -l <"$LOG")
[ "$lines" -gt 20 ] && pass "the sink got $lines datagrams" ||
	fail "the sink got $lines datagrams"
is "$(grep -vc '^<86>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]\{8\} vaultfs-audit\[[0-9]*\]: VFSAF1 [0-9a-f]\{32\} [0-9]* [0-9]* [0-9a-f]\{16\} [0-9]*/[0-9]* [A-Za-z0-9+/=]*$' "$LOG")" 0 \
	"every datagram: <86> (authpriv.info), timestamp, vaultfs-audit[PID]: VFSAF1 fields base64"
is "$(awk 'length($0) > 2048' "$LOG" | wc -l | tr -d ' ')" 0 "no datagram over 2048 bytes"
grep -q ' [0-9]*/[2-9] ' "$LOG" && pass "the long record was split into parts" ||
	fail "no record was split into parts"
if grep -q -e "$SECRET" -e 'doc-1' -e 'renamed' -e LLLLLL -e 'host=' "$LOG"; then
	fail "the forwarded copy holds plaintext"
else
	pass "the forwarded copy holds no plaintext (paths, host names)"
fi
grep -q " $(echo "$SEG" | sed 's/^seg-0*//; s/\.log$//') 0 [0-9a-f]* 1/1 " "$LOG" &&
	pass "the segment header was forwarded (seq 0)" ||
	fail "no header line for $SEG"

# --- verify --syslog on the intact log --------------------------------------------------
verify --syslog "$LOG"
is "$RC" 0 "verify --syslog: intact log, exit 0"
like "$OUT" "*match the local log, 0 missing, 0 altered; 0 local records not forwarded*" \
	"  every forwarded record matches the local one"
like "$OUT" "*the access log is intact*" "  and the log is intact"

sed 's/^<86>\(...............\) /\1 myhost /' "$LOG" >"$T/rsyslog.log"
verify --syslog "$T/rsyslog.log"
is "$RC" 0 "an rsyslog-style file (Mmm dd hh:mm:ss host tag[pid]: msg) verifies"
sed 's/^.*\]: //' "$LOG" >"$T/cat.log"
verify --syslog - <"$T/cat.log"
is "$RC" 0 "journalctl -o cat style, from stdin, verifies"

show --json
grep -v '"event":"init"' "$T/out" >"$T/local.json"
show --json --syslog "$LOG"
is "$RC" 0 "show --syslog: exit 0"
if cmp -s "$T/local.json" "$T/out"; then
	pass "  prints exactly the records of the mount, as show does locally"
else
	fail "  show --syslog differs from show"
	diff "$T/local.json" "$T/out" | head -n 5 | sed 's/^/# /'
fi
like "$(unmount_detail)" "*audit_syslog: forwarded [1-9]*, dropped 0*" \
	"the unmount record says forwarded N, dropped 0"

cp -a "$VAULT/audit" "$T/pristine"
n=$("$AG" frames "$VAULT/audit/$SEG" | wc -l)
first=$(frame "$SEG" 0 4)

# --- the local log cut short ---------------------------------------------------------------
k=$((n - 3))
off=$(frame "$SEG" $k 2)
seq=$(frame "$SEG" $k 4)
truncate -s "$off" "$VAULT/audit/$SEG"
verify --syslog "$LOG"
is "$RC" 1 "local segment cut short: exit 1"
like "$OUT" "*$SEG: from record seq $seq: truncated tail (3 records): forwarded copy: cut short: 3 records (seq $seq..$((seq + 2)))*" \
	"  names the first missing record (seq $seq), its segment and how many"
# the intruder's version: cut after a record and append a forged final one
# is not possible without the key; but a cut that a later segment hides:
restore

# --- the newest segment deleted together with the head hint -----------------------------------
rm "$VAULT/audit/$SEG" "$VAULT/audit/head"
verify
is "$RC" 0 "segment and head deleted: the local log alone looks intact (the known limit)"
verify --syslog "$LOG"
is "$RC" 1 "with --syslog: exit 1"
like "$OUT" "*$SEG: from record seq $first: segment removed: forwarded copy: the segment is not in the local log, but $n of its records*deleted*" \
	"  names the deleted segment, its first record and how many"
show --syslog "$LOG" --event unmount --json
like "$OUT" "*\"event\":\"unmount\"*" "show --syslog still reads the records of the deleted segment"
restore

# --- archiving, and a forged head that makes everything look archived ---------------------------
mkdir "$T/archive"
for s in $(ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | LC_ALL=C sort); do
	[ "$s" = "$SEG" ] && break
	mv "$VAULT/audit/$s" "$T/archive/"
done
verify --syslog "$LOG"
is "$RC" 0 "older segments archived: exit 0"
like "$OUT" "*forwarded segment $(echo "$SEG1" | sed 's/^seg-0*//; s/\.log$//') (*authentic records) is older than the oldest local segment*archived*" \
	"  the archived forwarded segment is noted, not compared"
restore

rm -f "$VAULT"/audit/seg-*.log
python3 - "$VAULT/audit/head" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[32:40] = struct.pack("<Q", 1000)
b[40:48] = struct.pack("<Q", 1000000)
open(sys.argv[1], "wb").write(b)
EOF
mount_vault && umount_vault || abort "mount after the forged head failed"
verify
is "$RC" 0 "every segment deleted, head forged, a new mount: the local log alone looks intact"
verify --syslog "$LOG"
is "$RC" 1 "with --syslog: exit 1"
like "$OUT" "*$SEG1: from record seq *: segment removed: forwarded copy: the segment is not in the local log*does not provably continue from it*" \
	"  the forwarded segments are not taken as archived"
like "$OUT" "*$SEG: from record seq*segment removed*" "  both of them"
restore

# --- altered and removed records ------------------------------------------------------------
off=$(frame "$SEG" 4 2)
seq=$(frame "$SEG" 4 4)
"$HELPERS/fstool" flip "$VAULT/audit/$SEG" $((off + 100))
verify --syslog "$LOG"
is "$RC" 1 "a local record altered: exit 1"
like "$OUT" "*$SEG: record seq $seq (frame 4, byte offset $off): altered: forwarded copy: the local record differs*" \
	"  names the record"
restore

"$AG" cut "$VAULT/audit/$SEG" 5
seq=$(frame "$SEG" 5 4)
verify --syslog "$LOG"
is "$RC" 1 "a local record removed: exit 1"
like "$OUT" "*from record seq $((seq - 1)): removed: forwarded copy: 1 record (seq $((seq - 1))..$((seq - 1))) forwarded when written is missing*" \
	"  names the missing record"
restore

# --- a damaged or partial copy is not damage of the log ---------------------------------------
# forged LINE-PREFIX SEQ [ID]: a well-formed line with random bytes (its id
# right unless given)
forged() {
	head -c 300 /dev/urandom >"$T/rand"
	_id=${3:-$(b2sum -l 256 "$T/rand" | cut -c1-16)}
	echo "$1VFSAF1 $VID $SEGNO $2 $_id 1/1 $(base64 -w0 "$T/rand")"
}
VID=$(grep -o 'VFSAF1 [0-9a-f]\{32\}' "$LOG" | head -n 1 | cut -d' ' -f2)
SEGNO=$(echo "$SEG" | sed 's/^seg-0*//; s/\.log$//')
{
	forged "Nov 26 00:00:00 host vaultfs-audit[1]: " "$first"
	cat "$LOG"
	forged "Nov 26 00:00:00 host vaultfs-audit[1]: " 99999
	forged "" $((first + 2)) 0011223344556677
} >"$T/forged.log"
verify --syslog "$T/forged.log"
is "$RC" 0 "forged lines (anyone can write to /dev/log), one before the real record: exit 0"
like "$OUT" "*2 forwarded items do not authenticate with the auditor key (forged lines): ignored*" \
	"  noted as not authenticating"
like "$OUT" "*1 forwarded item is incomplete (parts lost, or not matching their id)*" \
	"  a line whose bytes do not match its id: noted"
grep -v " $seq [0-9a-f]\{16\} 1/1 " "$LOG" >"$T/lossy.log"
verify --syslog "$T/lossy.log"
is "$RC" 0 "a record the collector never got: exit 0"
like "$OUT" "*1 local record (from seq $seq) has no forwarded copy*" "  a note"
echo "Nov 26 00:00:00 host sshd[1]: nothing here" >"$T/empty.log"
verify --syslog "$T/empty.log"
is "$RC" 1 "a file with no forwarded record of this vault: exit 1"
like "$ERR" "*no forwarded access log of this vault in*" "  says so"
verify --syslog "$T/nonexistent.log"
is "$RC" 1 "a missing file: exit 1"
like "$ERR" "*cannot read the forwarded copy*nonexistent.log*" "  names it"
run "$VAULTCTL" audit report "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE" --syslog "$LOG"
is "$RC" 2 "report has no --syslog: usage error"

# --- no socket: the mount works, drops are counted ----------------------------------------------
mount_vault -o "audit_syslog=$T/absent.sock"
is "$RC" 0 "mount with a socket that does not exist works"
like "$ERR" "*audit_syslog: cannot send*absent.sock*" "  and warns once"
echo x >"$MNT/a.txt" && cat "$MNT/a.txt" >/dev/null
umount_vault
like "$(unmount_detail)" "*audit_syslog: forwarded 0, dropped [1-9]*" \
	"the unmount record says forwarded 0, dropped N"

# --- a syslog daemon that does not read: never blocks ------------------------------------------------
rm -f "$LOG"
start_sink --stall || abort "logsink did not start"
mount_vault -o "audit_syslog=$SOCK" || abort "mount with a stalled socket failed"
start=$(date +%s)
tmo sh -c 'for i in $(seq 1 300); do echo $i >"$1/s-$i"; cat "$1/s-$i" >/dev/null; done' sh "$MNT"
is "$?" 0 "900+ records with the socket's queue full: no operation blocks"
el=$(($(date +%s) - start))
[ "$el" -lt 30 ] && pass "  done in $el s" || fail "  took $el s"
umount_vault
stop_sink
like "$(unmount_detail)" "*audit_syslog: forwarded [0-9]*, dropped [0-9]*, unsent [1-9]*" \
	"  what could not be sent is counted in the unmount record"

# --- vaultctl commands forward their own segments ------------------------------------------------
rm -f "$LOG"
start_sink || abort "logsink did not start"
run "$VAULTCTL" --audit-syslog="$SOCK" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "vaultctl --audit-syslog=SOCKET fsck: exit 0"
stop_sink
show --json --syslog "$LOG" --event fsck
is "$RC" 0 "  show --syslog reads the forwarded copy"
is "$(grep -c '"event":"fsck"' "$T/out")" 2 "  both fsck records (start, result) reached syslog"
verify --syslog "$LOG"
is "$RC" 0 "  verify --syslog: the command segments match the local log"
run "$VAULTCTL" --audit-syslog="$T/absent.sock" fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 0 "vaultctl with a socket that does not exist: the command still works"
like "$ERR" "*could not be sent to syslog socket*absent.sock*" "  and warns"
run "$VAULTCTL" --audit-syslog=relative.sock fsck "$VAULT" --passfile "$PASSFILE"
is "$RC" 2 "vaultctl --audit-syslog=relative path: usage error"
like "$ERR" "*--audit-syslog=relative.sock*absolute*" "  names the option"

# --- option errors ----------------------------------------------------------------------------
run "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" -o audit_syslog=relative.sock
is "$RC" 2 "audit_syslog=relative path: usage error"
like "$ERR" "*audit_syslog=relative.sock*" "  names the option"

done_testing
