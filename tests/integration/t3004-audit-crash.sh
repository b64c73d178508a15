#!/bin/sh
# t3004-audit-crash: the access log across a kill -9 of the daemon.
#
# 1. Two workers (tests/helpers/auditwork.c), one as root and one as
#    another uid, create, write, rename, open and read documents in a
#    shared mount (-o allow_other,default_permissions); the daemon is
#    killed with SIGKILL in the middle of it.  The log up to the crash
#    verifies record by record, but verify fails with "truncated tail" at
#    the crashed segment (no writer holds it, none started since); show
#    lists the records written before the crash - every call a worker saw
#    succeed is recorded (records are written before the access is
#    granted), with the right uid, pid and comm; report lists the gap.
# 2. The next mount (one read) starts a segment that chains onto the last
#    record of the crashed one: verify passes with a "crash" note, show
#    continues the seq, report keeps the gap as a crash.
# 3. kill -9 during a burst of creates: every create the worker saw
#    succeed has its create record; every successful create record names a
#    file that exists after the remount; at most the one create in flight
#    made a file without a record.
# 4. A torn tail: the crashed segment cut inside its last frame is named
#    as a truncated tail with a torn partial record, and the next mount
#    still chains onto its last complete record (a crash note).
# 5. A document still open when the daemon unmounts (SIGTERM) gets its
#    close record.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper auditwork auditgen
need_cmd python3 setpriv
"$VAULTCTL" audit --help >/dev/null 2>&1 || skip_all "vaultctl audit not implemented"

AW=$HELPERS/auditwork
AG=$HELPERS/auditgen
OUID=4242		# the other account (no passwd entry needed)

verify() {
	run "$VAULTCTL" audit verify "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE"
}
show() {
	run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}
report() {
	run "$VAULTCTL" audit report "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

# seg N: the file name of segment N
seg() {
	printf 'seg-%012d.log' "$1"
}

# segments: the segment files present, oldest first, on one line
segments() {
	# shellcheck disable=SC2010 # the names are ours: seg-NNN.log
	ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | LC_ALL=C sort |
		tr '\n' ' ' | sed 's/ $//'
}

# frames N: "COUNT FIRSTSEQ LASTSEQ LASTOFF LASTLEN END SIZE" of segment N
# (END: where its last whole frame ends; SIZE: the file size)
frames() {
	"$AG" frames "$VAULT/audit/$(seg "$1")" | awk -v size="$(stat -c %s "$VAULT/audit/$(seg "$1")")" '
		NR == 1 { first = $4 }
		{ n++; seq = $4; off = $2; len = $3 }
		END { printf "%d %d %d %d %d %d %d\n", n, first, seq, off, len, off + len, size }'
}

# wait_frames N COUNT: wait (5 s at most) until segment N has COUNT frames
wait_frames() {
	_i=0
	while [ "$(frames "$1" | cut -d' ' -f1)" -lt "$2" ]; do
		_i=$((_i + 1))
		[ $_i -ge 50 ] && return 1
		sleep 0.1
	done
	return 0
}

# crash: kill -9 the daemon of $MNT, wait until it is gone, detach the
# dead mount
crash() {
	_d=$(daemon_pids "$MNT")
	[ -n "$_d" ] || abort "no daemon serves $MNT before the crash"
	# shellcheck disable=SC2086
	kill -9 $_d
	# shellcheck disable=SC2086
	wait_gone $_d || abort "the daemon did not die from SIGKILL"
	fusermount3 -uz "$MNT" || abort "fusermount3 -uz failed"
}

# crash_errors FILE...: the workers' failures that a crash does not explain
crash_errors() {
	cat "$@" | grep -v -e '^create ' -e '^rename ' -e '^open ' -e '^openw ' \
		-e '^fail [a-z]* \(ENOTCONN\|ECONNABORTED\|EIO\|ENOENT\)$'
}

# stop_workers PID...: kill -9 and reap them
stop_workers() {
	# shellcheck disable=SC2086
	kill -9 "$@" 2>/dev/null
	for _p; do
		wait "$_p" 2>/dev/null
	done
}

# py MODE ARGS...: the JSON checks below
cat >"$T/chk.py" <<'EOF'
import json, sys

def recs(path):
    return [json.loads(l) for l in open(path)]

def ops(path):
    """the calls a worker saw succeed: (event, path, new_path, access)"""
    out = []
    for l in open(path):
        w = l.split()
        if w[0] == "create":
            out.append(("create", w[1], None, None))
        elif w[0] == "rename":
            out.append(("rename", w[1], w[2], None))
        elif w[0] == "open":
            out.append(("open", w[1], None, "r"))
        elif w[0] == "openw":
            out.append(("open", w[1], None, "wa"))
    return out

def key(r):
    acc = None
    if r["event"] == "open":
        f = r.get("open_flags", -1)
        acc = "r" if f & 3 == 0 else "wa" if f & 3 == 1 and f & 0o2000 else "?"
    return (r["event"], r["path"], r.get("new_path"), acc)

mode = sys.argv[1]
if mode == "worker":
    # JSON WORKER-OUT UID GID PID COMM: printed calls without a record,
    # records of the worker without a printed call, records with another
    # uid/gid/pid (by comm), and how many calls of each kind were printed
    rs, printed = recs(sys.argv[2]), ops(sys.argv[3])
    uid, gid, pid, comm = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
    mine = [r for r in rs if r["comm"] == comm and r["event"] in ("create", "rename", "open")]
    wrong = [r["seq"] for r in mine if (r["uid"], r["gid"], r["pid"]) != (uid, gid, pid)]
    left = {}
    for r in mine:
        if r["result"] == 0:
            left[key(r)] = left.get(key(r), 0) + 1
    missing = 0
    for o in printed:
        if left.get(o, 0) > 0:
            left[o] -= 1
        else:
            missing += 1
    extra = sum(left.values())
    kinds = {}
    for o in printed:
        k = o[0] + ("w" if o[3] == "wa" else "")
        kinds[k] = kinds.get(k, 0) + 1
    busy = all(kinds.get(k, 0) > 0 for k in ("create", "rename", "open", "openw"))
    print("missing %d wrong-account %d busy %s extra %d" % (missing, len(wrong), busy, extra))
elif mode == "seqs":
    # JSON: "first last count consecutive"
    s = [r["seq"] for r in recs(sys.argv[2])]
    print(s[0], s[-1], len(s), s == list(range(s[0], s[0] + len(s))))
elif mode == "rec":
    # JSON SEQ FIELD...: those fields of the record with that seq
    for r in recs(sys.argv[2]):
        if r["seq"] == int(sys.argv[3]):
            print(" ".join(str(r.get(f)) for f in sys.argv[4:]))
elif mode == "from":
    # JSON SEQ: "event uid comm path" of each record from seq on
    for r in recs(sys.argv[2]):
        if r["seq"] >= int(sys.argv[3]):
            print(r["event"], r["uid"], r["comm"], r["path"])
elif mode == "gaps":
    # REPORT-JSON: the gaps and the verification verdict
    r = json.load(open(sys.argv[2]))
    print([(g["segment"], g["kind"], g.get("last_seq"), g.get("last_event"))
           for g in r["gaps"]], r["verification"]["intact"])
elif mode == "creates":
    # JSON WORKER-OUT LISTING COMM: printed creates without a successful
    # create record; successful create records (by comm) whose file is not
    # in LISTING; files in LISTING without a create record
    rs, printed = recs(sys.argv[2]), ops(sys.argv[3])
    listed = set(l.strip() for l in open(sys.argv[4]) if l.strip())
    comm = sys.argv[5]
    ok = set(r["path"] for r in rs if r["event"] == "create" and
             r["comm"] == comm and r["result"] == 0)
    anyrec = set(r["path"] for r in rs if r["event"] == "create")
    pr = [o[1] for o in printed if o[0] == "create"]
    print("printed-unrecorded %d recorded-absent %d unrecorded-files %s" % (
        len([p for p in pr if p not in ok]), len(ok - listed),
        "0" if not listed - anyrec else "1" if len(listed - anyrec) == 1 else "many"))
EOF
py() {
	python3 "$T/chk.py" "$@"
}

# mount_pid DESC GOT DAEMON: a mount record's pid must be the daemon's.
mount_pid() {
	is "$2" "$3" "$1"
}

TRUNC="the log was cut short, or its writer crashed and no writer started since"
CHAINED="the next segment chains onto its last record: the writer stopped without closing it"

# ============================================================ 1. two workers
make_vault || abort "vaultctl init failed (exit $RC)"
mount_vault -o allow_other,default_permissions ||
	abort "mount failed (exit $RC)"
chmod 0755 "$MNT"
# shellcheck disable=SC2015 # abort if any step fails
mkdir -m 1777 "$MNT/shared" && chmod 1777 "$MNT/shared" &&
	mkdir "$MNT/shared/a" &&
	setpriv --reuid=$OUID --regid=$OUID --clear-groups mkdir "$MNT/shared/b" &&
	echo "read me after the crash" >"$MNT/readme" ||
	abort "cannot set up the shared directories"
dpid=$(daemon_pids "$MNT")

: >"$T/wa"
: >"$T/wb"
"$AW" loop "$MNT/shared/a" /shared/a root >"$T/wa" 2>&1 &
wa=$!
setpriv --reuid=$OUID --regid=$OUID --clear-groups \
	"$AW" loop "$MNT/shared/b" /shared/b user >"$T/wb" 2>&1 &
wb=$!
# let both get going (at least 20 calls each, 10 s at most), then work a bit
i=0
while [ "$(wc -l <"$T/wa")" -lt 20 ] || [ "$(wc -l <"$T/wb")" -lt 20 ]; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.1
done
sleep 1
crash
stop_workers $wa $wb
diag "before the crash: worker root $(wc -l <"$T/wa") calls, worker $OUID $(wc -l <"$T/wb") calls"
is "$(crash_errors "$T/wa" "$T/wb")" "" \
	"the workers failed only from the crash (ENOTCONN, ECONNABORTED, EIO, ENOENT)"
is "$(segments)" "$(seg 1) $(seg 2)" "the log holds init's segment and the crashed mount's"

# shellcheck disable=SC2046 # split into the fields on purpose
set -- $(frames 2)
n2=$1 first2=$2 last2=$3 end2=$6 size2=$7
# Each record is one pwrite(2) that a SIGKILL practically never cuts short;
# if it did, the segment ends in a torn partial record, and verify says so.
torn2=""
if [ "$end2" != "$size2" ]; then
	torn2=" and with a torn partial record"
	diag "the kill cut a record short: $((size2 - end2)) bytes after the last whole one"
fi
# the first bad record is the one after the last record written
bad2="$(seg 2): record seq $((last2 + 1)) (frame $n2, byte offset $end2): truncated tail: segment ends without its final record$torn2; $TRUNC"
verify
is "$RC" 1 "verify after the crash: exit 1 (nothing chains on yet)"
is "$OUT" "damage: $bad2
the access log is DAMAGED; first bad record: $bad2
2 segments (numbers 1..2), $last2 authentic records (seq 1..$last2), complete history; 1 damage finding, 0 notes" \
	"  every record up to the crash authenticates; the crashed segment is named as a truncated tail"

show --json
is "$RC" 1 "show after the crash: exit 1 (the log is not closed)"
like "$ERR" "*warning*damaged*1 finding*$(seg 2)*truncated tail*" \
	"  the truncated tail is reported on stderr"
cp "$T/out" "$T/show1"
is "$(py seqs "$T/show1")" "1 $last2 $last2 True" \
	"  every record written before the crash is shown, seq 1..$last2 without a hole"
is "$(py rec "$T/show1" "$first2" event uid gid comm path)" \
	"mount 0 0 vaultfs /" "  the crashed mount's mount record (uid, gid, comm, path)"
mount_pid "  the crashed mount's mount record names the daemon's pid" \
	"$(py rec "$T/show1" "$first2" pid)" "$dpid"
# (at most one more record than calls seen: the call in flight)
like "$(py worker "$T/show1" "$T/wa" 0 0 $wa aw-root)" \
	"missing 0 wrong-account 0 busy True extra [01]" \
	"  every create, rename and open root's worker saw succeed is recorded, as uid 0, its pid and comm"
like "$(py worker "$T/show1" "$T/wb" $OUID $OUID $wb aw-user)" \
	"missing 0 wrong-account 0 busy True extra [01]" \
	"  every create, rename and open uid $OUID's worker saw succeed is recorded, as uid $OUID, its pid and comm"
last_event=$(py rec "$T/show1" "$last2" event)

report --json
is "$RC" 1 "report after the crash: exit 1"
is "$(py gaps "$T/out")" "[('$(seg 2)', 'truncated', $last2, '$last_event')] False" \
	"  the gap: the crashed segment, its last record and event; verification failed"

# ============================================================ 2. the next mount
mount_vault || abort "remount failed (exit $RC)"
dpid=$(daemon_pids "$MNT")
is "$(cat "$MNT/readme")" "read me after the crash" "after the crash the vault mounts and reads"
# The kernel sends the release of cat's file in the background; one not
# yet read by the daemon when the unmount comes is dropped, and so is its
# close record (part 5): wait for it (mount, open, close).
wait_frames 3 3 || diag "no close record for cat's read after 5 s"
umount_vault || abort "unmount failed"
is "$(segments)" "$(seg 1) $(seg 2) $(seg 3)" "the next mount wrote a new segment"
# shellcheck disable=SC2046 # split into the fields on purpose
set -- $(frames 3)
first3=$2 last3=$3
is "$first3" $((last2 + 1)) "  its first record continues the seq of the crashed segment"

note2="note: $(seg 2): record seq $((last2 + 1)) (frame $n2, byte offset $end2): crash: segment ends without its final record$torn2; $CHAINED"
verify
is "$RC" 0 "verify after the next mount: exit 0"
is "$OUT" "$note2
the access log is intact: 3 segments (numbers 1..3), $last3 authentic records (seq 1..$last3), complete history; 0 damage findings, 1 note" \
	"  the new segment chains onto the crashed one: a crash note, the log intact"

show --json
is "$RC" 0 "show after the next mount: exit 0"
is "$(py seqs "$T/out")" "1 $last3 $last3 True" "  seq 1..$last3, increasing without a hole"
is "$(py from "$T/out" "$first3")" "mount 0 vaultfs /
open 0 cat /readme
close 0 cat /readme
unmount 0 vaultfs /" "  the new mount's records follow the old ones: mount, open, close, unmount"
is "$(py rec "$T/out" "$last3" event pid)" "unmount $dpid" \
	"  the unmount record carries the daemon's pid"
mount_pid "  the mount record carries the daemon's pid too" \
	"$(py rec "$T/out" "$first3" pid)" "$dpid"
head -n "$last2" "$T/out" >"$T/head"
if cmp -s "$T/head" "$T/show1"; then
	pass "  the records before the crash are shown as before, unchanged"
else
	fail "  the records before the crash are shown as before, unchanged"
fi

report --json
is "$RC" 0 "report after the next mount: exit 0"
is "$(py gaps "$T/out")" "[('$(seg 2)', 'crash', $last2, '$last_event')] True" \
	"  the gap of the crashed segment only, now a crash; verification intact"

# ============================================================ 3. a burst of creates
mount_vault || abort "mount failed (exit $RC)"
mkdir "$MNT/burst" || abort "mkdir failed"
: >"$T/wc"
"$AW" creates "$MNT/burst" /burst c 1000000 >"$T/wc" 2>&1 &
wc=$!
i=0
while [ "$(wc -l <"$T/wc")" -lt 50 ]; do
	i=$((i + 1))
	[ $i -ge 100 ] && break
	sleep 0.1
done
sleep 0.5
crash
stop_workers $wc
diag "creates before the crash: $(grep -c '^create' "$T/wc")"
is "$(crash_errors "$T/wc")" "" "the create burst failed only from the crash"
is "$(segments)" "$(seg 1) $(seg 2) $(seg 3) $(seg 4)" "the burst's mount wrote segment 4"
# shellcheck disable=SC2046 # split into the fields on purpose
set -- $(frames 4)
n4=$1 last4=$3 loff4=$4 end4=$6 size4=$7
[ "$end4" = "$size4" ] ||
	diag "the kill cut a record short: $((size4 - end4)) bytes after the last whole one"

show --json --event create --path '/burst/*'
is "$RC" 1 "show --event create after the burst's crash: exit 1"
cp "$T/out" "$T/creates"

# ============================================================ 4. a torn tail
# cut the last whole record 7 bytes short (and whatever follows it)
truncate -s $((end4 - 7)) "$VAULT/audit/$(seg 4)"
bad4="$(seg 4): record seq $last4 (frame $((n4 - 1)), byte offset $loff4): truncated tail: segment ends without its final record and with a torn partial record; $TRUNC"
verify
is "$RC" 1 "the crashed segment cut inside its last record: verify exit 1"
is "$OUT" "$note2
damage: $bad4
the access log is DAMAGED; first bad record: $bad4
4 segments (numbers 1..4), $((last4 - 1)) authentic records (seq 1..$((last4 - 1))), complete history; 1 damage finding, 1 note" \
	"  names the torn record (seq, frame, offset) as a truncated tail with a torn partial record"

mount_vault || abort "remount failed (exit $RC)"
# shellcheck disable=SC2012 # the names are ours: c-N
ls "$MNT/burst" >"$T/ls" || fail "cannot list /burst"
sed 's|^|/burst/|' "$T/ls" >"$T/listing"
umount_vault || abort "unmount failed"
# (the one create in flight may have made its file before its record)
like "$(py creates "$T/creates" "$T/wc" "$T/listing" aw-c)" \
	"printed-unrecorded 0 recorded-absent 0 unrecorded-files [01]" \
	"every create the worker saw succeed has a create record; every recorded create exists; at most the create in flight has none"
# shellcheck disable=SC2046 # split into the fields on purpose
set -- $(frames 5)
first5=$2 last5=$3
is "$first5" "$last4" "the next mount's first record takes the seq of the torn one"
note4="note: $(seg 4): record seq $last4 (frame $((n4 - 1)), byte offset $loff4): crash: segment ends without its final record and with a torn partial record; $CHAINED"
verify
is "$RC" 0 "after the next mount the log with the torn tail verifies: exit 0"
is "$OUT" "$note2
$note4
the access log is intact: 5 segments (numbers 1..5), $last5 authentic records (seq 1..$last5), complete history; 0 damage findings, 2 notes" \
	"  it chains onto the last whole record: a crash note with the torn partial record"
is "$(stat -c %s "$VAULT/audit/$(seg 4)")" $((end4 - 7)) "  the torn tail is left as it is (evidence)"
show --json
last_event4=$(py rec "$T/out" $((last4 - 1)) event)
report --json
is "$(py gaps "$T/out")" "[('$(seg 2)', 'crash', $last2, '$last_event'), ('$(seg 4)', 'crash', $((last4 - 1)), '$last_event4')] True" \
	"report: both crashed segments are gaps, with their last whole record"

# ============================================================ 5. open at unmount
# Not about crashes, but the same gap in the log: a document still open
# when the daemon unmounts (SIGTERM) must still get its close record.
mount_vault || abort "mount failed (exit $RC)"
dpid=$(daemon_pids "$MNT")
: >"$T/holder"
sh -c 'exec 3<"$1" && read x <&3 && echo $$ >"$2" && exec sleep 20' sh \
	"$MNT/readme" "$T/holder" &
holder=$!
i=0
while [ ! -s "$T/holder" ] && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
kill -TERM "$dpid"
wait_gone "$dpid" || fail "the daemon did not exit on SIGTERM"
stop_workers $holder
mounted "$MNT" && fusermount3 -uz "$MNT"
verify
is "$RC:$(echo "$OUT" | tail -1 | cut -d: -f1)" "0:the access log is intact" \
	"SIGTERM with a document open: the segment is closed, the log intact"
show --json --pid "$holder"
got=$(py from "$T/out" 0 | cut -d' ' -f1,4 | tr '\n' ' ')
is "$got" "open /readme close /readme " \
	"  the document still open at the unmount has its close record"

done_testing
