#!/bin/sh
# t3002-audit-show: vaultctl audit show - the filters (uid, pid, comm, path
# glob, event, since/until with every time form, document id) select
# exactly the expected records; the JSON fields; the table; a damaged log
# still shows what authenticates; and, on a real mount, processes of two
# accounts are recorded with the right uid, pid, comm and byte counts.
. "$(dirname "$0")/lib.sh"
[ -x "$VAULTCTL" ] || skip_all "no $VAULTCTL (build it with make)"
need_helper auditgen fstool
need_cmd python3
"$VAULTCTL" audit --help >/dev/null 2>&1 || skip_all "vaultctl audit not implemented"

AG=$HELPERS/auditgen
DA=aa000000000000000000000000000001
DB=bb000000000000000000000000000002

show() {
	run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" "$@"
}

# lines FILTERS...: the input line numbers (1..) of the records that
# 'show --json FILTERS' prints, by their seq (its exit status in $T/rc:
# this runs in a command substitution)
lines() {
	show --json "$@"
	echo "$RC" >"$T/rc"
	python3 - "$T/seqs" "$T/out" <<'EOF'
import json, sys
seqs = [int(l) for l in open(sys.argv[1])]
out = []
for l in open(sys.argv[2]):
    out.append(str(seqs.index(json.loads(l)["seq"]) + 1))
print(" ".join(out))
EOF
}

make_vault || abort "vaultctl init failed (exit $RC)"
# The generated records below are numbered from 1: drop init's record.
rm -f "$VAULT"/audit/*
cat >"$T/records" <<EOF
mount pid=100 comm=vaultfs exe=/usr/sbin/vaultfs detail=host=h1 time=2026-11-19T22:00:00Z
open uid=1000 gid=1000 pid=201 comm=cat exe=/usr/bin/cat path=/satellites/orbit.txt flags=0 doc=$DA time=2026-11-19T23:59:59.999999Z
close uid=1000 gid=1000 pid=201 comm=cat exe=/usr/bin/cat path=/satellites/orbit.txt read=5000 doc=$DA time=2026-11-20T00:00:00Z
open uid=1000 gid=1000 pid=202 comm=vim exe=/usr/bin/vim path=/satellites/deep/dir/x.cad flags=2 doc=$DB time=2026-11-20T10:00:00Z
close uid=1000 gid=1000 pid=202 comm=vim exe=/usr/bin/vim path=/satellites/deep/dir/x.cad read=10 written=20 doc=$DB time=2026-11-20T10:00:01.25Z
rename uid=1000 gid=1000 pid=203 comm=mv exe=/usr/bin/mv path=/satellites/deep/dir/x.cad new=/archive/x.cad doc=$DB time=2026-11-20T11:00:00Z
open uid=1001 gid=1001 pid=301 comm=cp exe=/usr/bin/cp path=/archive/x.cad flags=0 doc=$DB time=2026-11-20T12:00:00Z
close uid=1001 gid=1001 pid=301 comm=cp exe=/usr/bin/cp path=/archive/x.cad read=30 doc=$DB time=2026-11-20T12:00:00.5Z
open uid=1001 gid=1001 pid=302 comm=cat exe=/usr/bin/cat path=/satellites/secret.txt flags=0 result=-13 time=2026-11-20T13:00:00Z
mkdir uid=1000 gid=1000 pid=204 comm=mkdir exe=/usr/bin/mkdir path=/satellites/new time=2026-11-20T23:59:59Z
unlink uid=1000 gid=1000 pid=205 comm=rm exe=/usr/bin/rm path=/satellites/orbit.txt doc=$DA time=2026-11-21T00:00:00Z
open uid=0 gid=0 pid=400 comm=evil exe=/tmp/evil path=/evil%1b[31mred%07 flags=0 time=2026-11-21T00:30:00Z
unmount pid=100 comm=vaultfs exe=/usr/sbin/vaultfs time=2026-11-21T01:00:00Z
EOF
"$AG" write "$VAULT" <"$T/records" >"$T/seqs" || abort "auditgen write failed"

# --- filters ------------------------------------------------------------------------
is "$(lines)" "1 2 3 4 5 6 7 8 9 10 11 12 13" "no filter: every record, in order"
is "$(cat "$T/rc")" 0 "  exit 0 on an intact log"
is "$(lines --uid 1000)" "2 3 4 5 6 10 11" "--uid 1000"
is "$(lines --uid 1001)" "7 8 9" "--uid 1001"
is "$(lines --pid 202)" "4 5" "--pid"
is "$(lines --comm 'c*')" "2 3 7 8 9" "--comm with a glob"
is "$(lines --path '/satellites/*')" "2 3 4 5 6 9 10 11" \
	"--path '/satellites/*' matches deeper paths too"
is "$(lines --path '/satellites/deep/*')" "4 5 6" "--path of a subdirectory"
is "$(lines --path '/archive/*')" "6 7 8" "--path matches the new path of a rename"
is "$(lines --path /archive/x.cad)" "6 7 8" "--path without a wildcard"
is "$(lines --event close)" "3 5 8" "--event close"
is "$(lines --event open,close)" "2 3 4 5 7 8 9 12" "--event open,close"
is "$(lines --event denied)" "" "--event with no match: nothing"
is "$(cat "$T/rc")" 0 "  and exit 0"
is "$(lines --since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z)" \
	"3 4 5 6 7 8 9 10" "--since/--until: since inclusive, until exclusive"
is "$(lines --since 2026-11-20T02:00:00+02:00 --until 2026-11-20T19:00:00-05:00)" \
	"3 4 5 6 7 8 9 10" "  the same with offsets"
is "$(lines --since 2026-11-20 --until 2026-11-21)" "3 4 5 6 7 8 9 10" \
	"  the same with plain dates"
is "$(lines --since 2026-11-19T23:59:59.999999Z --until 2026-11-20T00:00:00.000001Z)" \
	"2 3" "  fractional seconds, to the microsecond"
is "$(lines --since 2026-11-20T10:00:01.25Z --until 2026-11-20T10:00:01.250001Z)" \
	"5" "  a window of one microsecond"
is "$(lines --doc $DB)" "4 5 6 7 8" "--doc follows the document through a rename"
is "$(lines --doc BB000000)" "4 5 6 7 8" "--doc takes a prefix, any case"
is "$(lines --uid 1000 --path '/satellites/*' --since 2026-11-20T00:00:00Z \
	--until 2026-11-21T00:00:00Z)" "3 4 5 6 10" "filters combine with AND"

# --- JSON fields ----------------------------------------------------------------------
show --json
python3 - "$T/out" >"$T/check" 2>&1 <<'EOF'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
need = ["seq", "time", "event", "path", "uid", "gid", "pid", "comm", "exe",
        "result"]
bad = [r["seq"] for r in recs if any(k not in r for k in need)]
print("missing fields:", bad)
tre = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
print("bad times:", [r["time"] for r in recs if not tre.match(r["time"])])
r = {i + 1: rec for i, rec in enumerate(recs)}
print("close 3:", r[3]["bytes_read"], r[3]["bytes_written"])
print("close 5:", r[5]["bytes_read"], r[5]["bytes_written"], r[5]["time"])
print("rename:", r[6]["event"], r[6]["path"], r[6]["new_path"])
print("open 4:", r[4]["open_flags"], r[4]["doc"], r[4]["comm"], r[4]["exe"])
print("denied open:", r[9]["result"], r[9]["uid"], r[9]["gid"], r[9]["pid"])
print("mount:", r[1]["event"], r[1]["detail"])
print("control bytes:", json.dumps(r[12]["path"]))
EOF
out=$(cat "$T/check")
like "$out" "*missing fields: \[\]*" "every record has the fields of the contract"
like "$out" "*bad times: \[\]*" "times are RFC 3339 UTC with microseconds"
like "$out" "*close 3: 5000 0*" "close: bytes_read and bytes_written"
like "$out" "*close 5: 10 20 2026-11-20T10:00:01.250000Z*" "  both counts, and the time"
like "$out" "*rename: rename /satellites/deep/dir/x.cad /archive/x.cad*" \
	"rename: path and new_path"
like "$out" "*open 4: 2 $DB vim /usr/bin/vim*" "open: open_flags, doc, comm, exe"
like "$out" "*denied open: -13 1001 1001 302*" "result, uid, gid, pid"
like "$out" "*mount: mount host=h1*" "mount with its detail"
like "$out" '*control bytes: "/evil\\u001b\[31mred\\u0007"*' "control bytes escaped in JSON"
[ -n "$(grep -v '^{.*}$' "$T/out")" ] && fail "one JSON object per line" ||
	pass "one JSON object per line"

# --- the table ------------------------------------------------------------------------
show
is "$RC" 0 "table: exit 0"
like "$(head -1 "$T/out")" "TIME*SEQ*EVENT*UID*PID*COMM*RESULT*PATH*" "a header line"
like "$OUT" "*rename*/satellites/deep/dir/x.cad -> /archive/x.cad*" "renames: path -> new path"
like "$OUT" "*close*vim*read 10 written 20*" "closes: bytes"
like "$OUT" "*cat*EACCES*/satellites/secret.txt*" "a refused open: the errno name"
like "$OUT" '*/evil\\x1b\[31mred\\x07*' "control characters are shown escaped"
is "$(tr -d '\n -~' <"$T/out" | wc -c)" 0 "  and never reach the terminal"

# --- usage ----------------------------------------------------------------------------
show --since yesterday
is "$RC" 2 "--since that is not a time: exit 2"
like "$ERR" "*--since*yesterday*RFC 3339*" "  with a message saying what is expected"
show --since 2026-11-20T10:00:00
is "$RC" 2 "a time without zone: exit 2"
show --since 2026-02-30
is "$RC" 2 "an impossible date: exit 2"
show --since 2026-11-21 --until 2026-11-20
is "$RC" 2 "--since after --until: exit 2"
show --event nosuchevent
is "$RC" 2 "an unknown event: exit 2"
show --doc xyz
is "$RC" 2 "a bad document id: exit 2"
show --uid no-such-user-here
is "$RC" 2 "an unknown user: exit 2"
show --burst-docs 5
is "$RC" 2 "an option of report: exit 2"

# --- a damaged log ----------------------------------------------------------------------
seg=$(ls "$VAULT/audit" | grep '^seg-[0-9]*\.log$' | tail -1)
off=$(awk '$4 == s { print $2 }' s="$(sed -n 6p "$T/seqs")" <<EOF
$("$AG" frames "$VAULT/audit/$seg")
EOF
)
"$HELPERS/fstool" flip "$VAULT/audit/$seg" $((off + 100))
is "$(lines)" "1 2 3 4 5 7 8 9 10 11 12 13" \
	"a damaged log: every record that authenticates is still shown"
is "$(cat "$T/rc")" 1 "  exit 1"
show --json
like "$ERR" "*warning*damaged*$seg*record seq $(sed -n 6p "$T/seqs")*altered*" \
	"  the damage is reported on stderr"
like "$(sed -n 6p "$T/out")" '*"chained":false*' \
	"  records after the damage are marked as not proven in place"

# --- real mounts: two accounts, their processes and bytes -----------------------------------------
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && [ -x "$VAULTFS" ] &&
	command -v fusermount3 >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then
	U1=vaultuser1
	U2=vaultuser2
	for u in $U1 $U2; do
		if ! id "$u" >/dev/null 2>&1; then
			useradd -M -U -s /bin/sh -d /nonexistent "$u" 2>/dev/null ||
				skip_all "cannot create user $u"
		fi
	done
	uid1=$(id -u $U1); gid1=$(id -g $U1)
	uid2=$(id -u $U2); gid2=$(id -g $U2)
	as() {
		_u=$1
		shift
		tmo setpriv --reuid="$(id -u "$_u")" --regid="$(id -g "$_u")" \
			--init-groups -- "$@"
	}
	VAULT=$T/mounted
	make_vault || abort "init failed (exit $RC)"
	mount_vault -o allow_other,direct_io || abort "mount failed (exit $RC)"
	chmod 0755 "$MNT"
	mkdir -m 1777 "$MNT/shared"
	chmod 1777 "$MNT/shared"
	chmod 0777 "$T"
	# each process writes its pid, then becomes the program
	as $U1 sh -c 'umask 022; echo $$ >"$1"; exec dd if=/dev/zero of="$2" bs=1000 count=10 status=none' \
		sh "$T/p1" "$MNT/shared/u1.dat"
	as $U2 sh -c 'echo $$ >"$1"; exec cat "$2"' sh "$T/p2" "$MNT/shared/u1.dat" >/dev/null
	as $U2 sh -c 'umask 022; echo $$ >"$1"; exec dd if=/dev/zero of="$2" bs=500 count=3 status=none' \
		sh "$T/p3" "$MNT/shared/u2.dat"
	as $U1 sh -c 'echo $$ >"$1"; exec head -c 700 "$2"' sh "$T/p4" "$MNT/shared/u2.dat" >/dev/null
	umount_vault || abort "unmount failed"
	p1=$(cat "$T/p1"); p2=$(cat "$T/p2"); p3=$(cat "$T/p3"); p4=$(cat "$T/p4")
	dd=$(readlink -f "$(command -v dd)")

	summary() {
		python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["event"], r["uid"], r["gid"], r["pid"], r["comm"], r.get("exe"),
          r.get("bytes_read", "-"), r.get("bytes_written", "-"), r["path"])' "$T/out"
	}
	show --json --path '/shared/u1.dat' --uid "$uid1"
	is "$RC" 0 "real mount: show exits 0"
	is "$(summary)" "create $uid1 $gid1 $p1 dd $dd - - /shared/u1.dat
close $uid1 $gid1 $p1 dd $dd 0 10000 /shared/u1.dat" \
		"$U1's dd: create and close with uid, gid, pid, comm, exe, bytes written"
	show --json --pid "$p2"
	is "$(summary | cut -d' ' -f1-5,7-)" "open $uid2 $gid2 $p2 cat - - /shared/u1.dat
close $uid2 $gid2 $p2 cat 10000 0 /shared/u1.dat" \
		"$U2's cat of $U1's file: open and close with bytes read"
	show --json --pid "$p3" --event close
	is "$(summary | cut -d' ' -f1-5,7-)" "close $uid2 $gid2 $p3 dd 0 1500 /shared/u2.dat" \
		"$U2's dd: bytes written"
	show --json --pid "$p4" --event close
	is "$(summary | cut -d' ' -f1-5,7-)" "close $uid1 $gid1 $p4 head 700 0 /shared/u2.dat" \
		"$U1's head -c 700: bytes read"
	show --json --uid "$uid2" --event open,create,close
	is "$(wc -l <"$T/out")" 4 "--uid selects exactly the other account's accesses"
	doc=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["doc"])' "$T/out")
	show --json --doc "$doc"
	is "$(wc -l <"$T/out")" 4 "--doc: the open and close records of one document"
else
	skip "cannot mount here" 7
fi

done_testing
