#!/bin/sh
# t3006-audit-denied: on a shared mount (root, allow_other) the daemon makes
# the permission checks itself, so every refused access is recorded as a
# "denied" event with who tried what; and a path walk through a directory
# the caller may not search is refused even when the kernel has the entries
# cached (after a chmod, after a rename into it).
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper fstool
need_cmd setpriv
need_cmd python3
[ "$(id -u)" = 0 ] || skip_all "needs root (mount for several accounts)"

U1=vaultuser1
U2=vaultuser2
need_users $U1 $U2
uid1=$(id -u $U1)
uid2=$(id -u $U2); gid2=$(id -g $U2)

make_vault || abort "vaultctl init failed (exit $RC)"
mount_vault -o allow_other,default_permissions ||
	abort "mount -o allow_other,default_permissions failed (exit $RC)"
chmod 0755 "$MNT"
mkdir -m 1777 "$MNT/shared"
S=$MNT/shared
as $U1 sh -c 'umask 077 && echo secret >"$1"' sh "$S/private" ||
	abort "$U1 cannot create a file"
as $U1 sh -c 'umask 022 && echo public >"$1" && mkdir "$2" &&
	mkdir -m 0700 "$3" && echo inner >"$3/doc" && chmod 0644 "$3/doc"' \
	sh "$S/public" "$S/dir" "$S/priv"

# --- refused, with the errno Linux gives ----------------------------------------------
is "$(try $U2 read "$S/private")" EACCES "$U2 cannot read a 0600 file"
is "$(try $U2 write "$S/public")" EACCES "$U2 cannot write a 0644 file"
is "$(try $U2 truncate "$S/public" 0)" EACCES "$U2 cannot truncate it"
is "$(try $U2 chmod "$S/public" 666)" EPERM "$U2 cannot chmod it"
is "$(try $U2 chown "$S/public" "$uid2:$gid2")" EPERM "$U2 cannot chown it"
is "$(try $U2 utime "$S/public")" EPERM "$U2 cannot set its times"
is "$(try $U2 touch "$S/public")" EACCES "$U2 cannot touch it (no write permission)"
is "$(try $U2 unlink "$S/public")" EPERM "$U2 cannot remove it (sticky directory)"
is "$(try $U2 rename "$S/public" "$S/mine")" EPERM "$U2 cannot rename it"
is "$(try $U2 create "$S/dir/x")" EACCES "$U2 cannot create in a 0755 directory"
is "$(try $U2 mkdir "$S/dir/x")" EACCES "$U2 cannot mkdir there"
is "$(try $U2 readdir "$S/priv")" EACCES "$U2 cannot list a 0700 directory"
is "$(try $U2 stat "$S/priv/doc")" EACCES "$U2 cannot look into it"
is "$(try $U2 access "$S/private" r)" EACCES "access(R_OK) says no"
is "$(try $U2 access "$S/public" r)" OK "access(R_OK) says yes where it may"
is "$(try $U2 read "$S/public")" OK "$U2 may read the 0644 file"
is "$(try $U1 write "$S/public")" OK "the owner may write it"
is "$(try $U1 touch "$S/public")" OK "the owner may touch it"

# --- cached entries do not bypass the checks ------------------------------------------
is "$(try $U1 read "$S/priv/doc")" OK "$U1 reads its file in its 0700 directory"
is "$(try $U2 read "$S/priv/doc")" EACCES "  $U2, right after, still cannot (no cached way in)"
as $U1 sh -c 'mkdir -m 0755 "$1" && echo open >"$1/f" && chmod 0644 "$1/f"' sh "$S/open"
is "$(try $U2 read "$S/open/f")" OK "$U2 reads a file in a 0755 directory"
as $U1 chmod 0700 "$S/open"
is "$(try $U2 read "$S/open/f")" EACCES "  after the owner's chmod 0700 of the directory, no more"
as $U1 sh -c 'mkdir -m 0755 "$1" && echo moved >"$1/f" && chmod 0644 "$1/f"' sh "$S/pub"
is "$(try $U2 read "$S/pub/f")" OK "$U2 reads a file in another 0755 directory"
as $U1 mv "$S/pub" "$S/priv/pub"
is "$(try $U2 read "$S/priv/pub/f")" EACCES "  moved into a 0700 directory, no more"
is "$(try $U1 read "$S/priv/pub/f")" OK "  while its owner still can"

# --- set-id bits and group inheritance as Linux does them -----------------------------
as $U1 sh -c 'echo x >"$1" && chmod 4766 "$1"' sh "$S/suid"
is "$(stat -c %a "$S/suid")" 4766 "a set-uid file, world-writable"
is "$(try $U2 write "$S/suid")" OK "$U2 may write it"
is "$(stat -c %a "$S/suid")" 766 "  and the write cleared the set-uid bit"
as $U1 sh -c 'echo xyz >"$1" && chmod 0666 "$1"' sh "$S/shared-rw"
is "$(try $U2 truncate "$S/shared-rw" 1)" OK "$U2 may truncate a 0666 file of $U1"
is "$(stat -c %s "$S/shared-rw")" 1 "  to the size asked"
m0=$(stat -c %Y "$S/shared-rw")
is "$(try $U2 mtime "$S/shared-rw")" EPERM \
	"$U2 cannot set its mtime alone (atime UTIME_OMIT, as the kernel's flush looks)"
is "$(try $U2 fmtime "$S/shared-rw")" EPERM "  nor through a descriptor open for writing"
is "$(stat -c %Y "$S/shared-rw")" "$m0" "  the mtime is unchanged"
is "$(try $U1 mtime "$S/shared-rw")" OK "the owner may set it"
is "$(stat -c %Y "$S/shared-rw")" 12345 "  to the time asked"
as $U1 sh -c 'mkdir -m 0777 "$1" && echo x >"$1/f" && chmod 0644 "$1/f"' sh "$S/w"
is "$(try $U2 unlink "$S/w/f")" OK "$U2 may remove a 0644 file of $U1 from a 0777 directory"
as $U1 sh -c 'echo x >"$1" && chmod 4766 "$1"' sh "$S/suid2"
is "$(try $U2 truncate "$S/suid2" 0)" OK "$U2 may truncate another such file"
is "$(stat -c %a "$S/suid2")" 766 "  and the truncation cleared the set-uid bit"
as $U1 sh -c 'echo x >"$1" && chmod 4755 "$1"' sh "$S/suid3"
chown "$uid2" "$S/suid3"
is "$(stat -c %a "$S/suid3")" 755 "a chown, even by root, clears the set-uid bit"
ok "umount" umount_vault

# --- the log ------------------------------------------------------------------------
run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE" --event denied --json
is "$RC" 0 "audit show --event denied works"
cp "$T/out" "$T/denied.json"
python3 - "$T/denied.json" "$uid2" >"$T/check" 2>&1 <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
uid = int(sys.argv[2])
have = set()
for r in recs:
    assert r["event"] == "denied", r
    assert r["uid"] == uid, r
    assert r["result"] in (-13, -1), r
    assert r["comm"] == "fstool", r
    assert r["pid"] > 0 and r["exe"].endswith("fstool"), r
    have.add((r["path"], r.get("detail", ""), r["result"]))
want = [
    ("/shared/private", "open", -13),
    ("/shared/public", "open", -13),
    ("/shared/public", "setattr", -1),
    ("/shared/shared-rw", "setattr", -1),
    ("/shared/public", "unlink", -1),
    ("/shared/public", "rename", -1),
    ("/shared/dir/x", "create an entry", -13),
    ("/shared/priv", "open", -13),
    ("/shared/priv/doc", "lookup", -13),
    ("/shared/private", "access r", -13),
    ("/shared/open/f", "lookup", -13),
    ("/shared/priv/pub", "lookup", -13),
]
missing = [w for w in want if w not in have]
for m in missing:
    print("missing:", m)
# the kernel's own flush of times after the unlink is not a refusal
extra = [h for h in have if h[0] == "/shared/w/f"]
for m in extra:
    print("not refused, yet recorded:", m)
missing += extra
print("records:", len(recs))
for h in sorted(have):
    print("have:", h)
sys.exit(1 if missing else 0)
EOF
rc=$?
is "$rc" 0 "every refusal is in the log as denied, by $U2 with comm, exe, path, detail and errno"
[ "$rc" = 0 ] || diag_file "$T/check"
n=$(grep -c '"event":"denied"' "$T/denied.json")
diag "$n denied records"
run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE" --event denied --uid "$uid1"
is "$(printf '%s' "$OUT" | grep -c denied)" 0 "no refusal recorded for the owner $U1"
run "$VAULTCTL" audit show "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE" --event setattr --uid "$uid1" \
	--path /shared/shared-rw
like "$OUT" "*setattr*times*" "the owner's mtime alone is recorded as a setattr of times"
run "$VAULTCTL" audit report "$VAULT" --auditor-key "$AUDITOR_KEY" \
	--auditor-passfile "$AUDITOR_PASSFILE"
like "$OUT" "*denied*" "audit report lists denied accesses"

done_testing
