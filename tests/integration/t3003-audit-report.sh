#!/bin/sh
# t3003-audit-report: vaultctl audit report - per account and per process
# opens, documents and bytes; bursts with an adjustable threshold;
# integrity failures; denied accesses; mounts; gaps (crashes); the window;
# the verification status.
. "$(dirname "$0")/lib.sh"
[ -x "$VAULTCTL" ] || skip_all "no $VAULTCTL (build it with make)"
need_helper auditgen fstool
need_cmd python3
"$VAULTCTL" audit --help >/dev/null 2>&1 || skip_all "vaultctl audit not implemented"

AG=$HELPERS/auditgen

report() {
	run "$VAULTCTL" audit report "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

# q EXPR: evaluate a python expression over the JSON report in $T/out
# (bound to r; acc(uid) and proc(pid) find entries)
q() {
	python3 - "$T/out" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
def acc(uid):
    return [a for a in r["accounts"] if a["uid"] == uid][0]
def proc(pid):
    return [p for p in r["processes"] if p["pid"] == pid][0]
print(eval(sys.argv[2]))
EOF
}

make_vault || abort "vaultctl init failed (exit $RC)"
# The generated records below are numbered from 1: drop init's record.
rm -f "$VAULT"/audit/*

# Segment 1 (its writer crashes): an account reading five documents over
# an hour, tar opening 60 documents in 30 s, refusals, an integrity failure.
{
	echo "mount pid=100 comm=vaultfs exe=/usr/sbin/vaultfs detail=host=h1 time=2026-11-20T08:00:00Z"
	for i in 1 2 3 4 5; do
		m=$((i * 10))
		echo "open uid=1000 gid=1000 pid=500 comm=vim exe=/usr/bin/vim path=/notes/n$i.txt flags=2 doc=$(printf '1%031d' $i) time=2026-11-20T08:${m}:00Z"
		echo "close uid=1000 gid=1000 pid=500 comm=vim exe=/usr/bin/vim path=/notes/n$i.txt read=$((i * 1000)) written=10 doc=$(printf '1%031d' $i) time=2026-11-20T08:${m}:05Z"
	done
	i=0
	while [ $i -lt 60 ]; do
		t=$(printf '2026-11-20T09:00:%02d.%dZ' $((i / 2)) $(((i % 2) * 5)))
		echo "open uid=2000 gid=2000 pid=600 comm=tar exe=/usr/bin/tar path=/satellites/d$i.cad flags=0 doc=$(printf '2%031d' $i) time=$t"
		echo "close uid=2000 gid=2000 pid=600 comm=tar exe=/usr/bin/tar path=/satellites/d$i.cad read=100 doc=$(printf '2%031d' $i) time=$t"
		i=$((i + 1))
	done
	# tar opens one document twice more: not a new document
	echo "open uid=2000 gid=2000 pid=600 comm=tar exe=/usr/bin/tar path=/satellites/d0.cad flags=0 doc=$(printf '2%031d' 0) time=2026-11-20T09:00:40Z"
	echo "open uid=2000 gid=2000 pid=601 comm=cat exe=/usr/bin/cat path=/secret/plan.txt flags=0 result=-13 time=2026-11-20T09:05:00Z"
	echo "denied uid=3000 gid=3000 pid=700 comm=ls exe=/usr/bin/ls path=/secret result=-13 time=2026-11-20T09:06:00Z"
	echo "integrity uid=1000 gid=1000 pid=500 comm=vim exe=/usr/bin/vim path=/notes/bad.txt result=-5 detail=chunk%203 time=2026-11-20T09:07:00Z"
} | "$AG" write "$VAULT" --crash >/dev/null || abort "auditgen write failed"
# Segment 2, the next day.
"$AG" write "$VAULT" >/dev/null <<EOF || abort "auditgen write failed"
mount pid=110 comm=vaultfs exe=/usr/sbin/vaultfs detail=host=h1 time=2026-11-21T08:00:00Z
open uid=1000 gid=1000 pid=800 comm=cat exe=/usr/bin/cat path=/notes/other.txt flags=0 doc=30000000000000000000000000000001 time=2026-11-21T09:00:00Z
close uid=1000 gid=1000 pid=800 comm=cat path=/notes/other.txt read=777 doc=30000000000000000000000000000001 time=2026-11-21T09:00:01Z
unmount pid=110 comm=vaultfs exe=/usr/sbin/vaultfs time=2026-11-21T10:00:00Z
EOF
crashed=$(ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | tail -2 | head -1)

# --- the whole log ------------------------------------------------------------------
report --json
is "$RC" 0 "report --json exits 0 on an intact log"
is "$(q 'r["verification"]["intact"]')" True "  verification: intact"
is "$(q 'acc(1000)["opens"], acc(1000)["documents"], acc(1000)["bytes_read"], acc(1000)["bytes_written"]')" \
	"(6, 6, 15777, 50)" "account 1000: opens, documents, bytes read and written"
is "$(q 'acc(2000)["opens"], acc(2000)["documents"], acc(2000)["bytes_read"], acc(2000)["denied"]')" \
	"(61, 60, 6000, 1)" "account 2000: a document opened twice counts once"
is "$(q 'acc(1000)["integrity"], acc(3000)["denied"]')" "(1, 1)" "integrity and denied per account"
is "$(q 'proc(600)["comm"], proc(600)["exe"], proc(600)["documents"], proc(600)["bytes_read"]')" \
	"('tar', '/usr/bin/tar', 60, 6000)" "process 600 (tar): documents and bytes"
is "$(q 'proc(800)["bytes_read"], proc(800)["exe"]')" "(777, '/usr/bin/cat')" \
	"a close without exe counts for the process that opened"
is "$(q 'r["burst_threshold"]')" "{'documents': 50, 'window_seconds': 60}" \
	"the burst threshold is shown (default 50 documents in 60 s)"
is "$(q 'sorted((b["kind"], b.get("uid"), b.get("pid"), b["documents"]) for b in r["bursts"])')" \
	"[('account', 2000, None, 60), ('process', 2000, 600, 60)]" \
	"bursts: the account and the process that opened 60 documents in 30 s"
is "$(q 'r["integrity_failures"], r["integrity"][0]["path"], r["integrity"][0]["detail"]')" \
	"(1, '/notes/bad.txt', 'chunk 3')" "integrity failures listed"
is "$(q 'r["denied_accesses"], sorted(d["uid"] for d in r["denied"])')" "(2, [2000, 3000])" \
	"denied accesses: refused opens and denied records"
is "$(q '[(s["event"], s["time"]) for s in r["mounts"] if s["event"] in ("mount", "unmount")]')" \
	"[('mount', '2026-11-20T08:00:00.000000Z'), ('mount', '2026-11-21T08:00:00.000000Z'), ('unmount', '2026-11-21T10:00:00.000000Z')]" \
	"mounts and unmounts"
is "$(q '[(g["segment"], g["kind"], g["last_event"]) for g in r["gaps"]]')" \
	"[('$crashed', 'crash', 'integrity')]" "gaps: the segment that ended without an unmount"

# --- thresholds -----------------------------------------------------------------------
report --json --burst-docs 61
is "$(q 'r["bursts"]')" "[]" "--burst-docs 61: no burst"
report --json --burst-docs 20 --burst-window 10
is "$(q 'sorted((b["kind"], b["documents"]) for b in r["bursts"])')" \
	"[('account', 20), ('process', 20)]" \
	"--burst-docs 20 --burst-window 10: 20 documents within 10 s"
is "$(q 'r["burst_threshold"]')" "{'documents': 20, 'window_seconds': 10}" "  threshold shown"
report --json --burst-docs 5 --burst-window 3600
is "$(q 'sorted((b["kind"], b.get("uid"), b.get("pid")) for b in r["bursts"])')" \
	"[('account', 1000, None), ('account', 2000, None), ('process', 1000, 500), ('process', 2000, 600)]" \
	"--burst-docs 5 --burst-window 3600 also finds the slow reader"

# --- a window ---------------------------------------------------------------------------
report --json --since 2026-11-21 --until 2026-11-22
is "$(q 'r["records"], [a["uid"] for a in r["accounts"]], acc(1000)["bytes_read"]')" \
	"(4, [1000], 777)" "a window: only its records count"
is "$(q 'r["gaps"], r["bursts"]')" "([], [])" "  no gap, no burst in it"
is "$(q 'r["verification"]["intact"], r["verification"]["records"] > 4')" "(True, True)" \
	"  the whole log is still verified"

# --- text -------------------------------------------------------------------------------
report --burst-docs 50 --burst-window 60
is "$RC" 0 "text report: exit 0"
like "$OUT" "*Verification:*intact*" "  verification status"
like "$OUT" "*Bursts (at least 50 distinct documents opened within 60 s)*" "  the threshold"
like "$OUT" "*account uid 2000: 60 distinct documents within 60 s*" "  the account's burst"
like "$OUT" "*process 600 tar (/usr/bin/tar), uid 2000: 60 distinct*" "  the process's burst"
like "$OUT" "*Denied accesses: 2*" "  denied accesses"
like "$OUT" "*Integrity failures: 1*/notes/bad.txt*" "  integrity failures"
like "$OUT" "*Gaps*$crashed: crash*" "  the gap"
like "$OUT" "*15777*" "  bytes per account"

# --- usage and a damaged log ------------------------------------------------------------
report --burst-docs 0
is "$RC" 2 "--burst-docs 0: exit 2"
report --burst-window x
is "$RC" 2 "--burst-window x: exit 2"
report --uid 1000
is "$RC" 2 "an option of show: exit 2"

off=$("$AG" frames "$VAULT/audit/$crashed" | awk '$1 == 30 { print $2 }')
"$HELPERS/fstool" flip "$VAULT/audit/$crashed" $((off + 100))
report --json
is "$RC" 1 "a damaged log: exit 1"
is "$(q 'r["verification"]["intact"], r["verification"]["first_damage"]["kind"], r["verification"]["first_damage"]["segment"]')" \
	"(False, 'altered', '$crashed')" "  the report says so, naming the damage"
is "$(q 'acc(1000)["bytes_read"]')" 15777 "  and still counts what authenticates"

done_testing
