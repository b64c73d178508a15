#!/bin/sh
# demo.sh - create, mount and show a demo vault (`make demo`).
#
# Everything happens in a fresh directory under /tmp, printed at the start;
# it is kept afterwards so you can look around (remove it with rm -rf).
# Binaries come from $VAULTFS_BIN (default: bin/ of this checkout).

set -u
LC_ALL=C
export LC_ALL

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${VAULTFS_BIN:-$REPO/bin}
VAULTFS=$BIN/vaultfs
VAULTCTL=$BIN/vaultctl

if [ -t 1 ]; then
	B=$(printf '\033[1m'); D=$(printf '\033[2m'); G=$(printf '\033[32m')
	R=$(printf '\033[31m'); N=$(printf '\033[0m')
else
	B=""; D=""; G=""; R=""; N=""
fi

step=0
heading() {
	step=$((step + 1))
	printf '\n%s== %d. %s%s\n' "$B" "$step" "$*" "$N"
}
say() {
	printf '   %s\n' "$*"
}
# show CMD...: print the command, run it, show its output indented; its
# exit status is show's
show() {
	printf '%s   $ %s%s\n' "$D" "$*" "$N"
	"$@" >"$DEMO/.out" 2>&1
	_rc=$?
	sed 's/^/     /' "$DEMO/.out"
	return $_rc
}
# show_sh 'SHELL CODE': the same for a shell command line
show_sh() {
	printf '%s   $ %s%s\n' "$D" "$1" "$N"
	sh -c "$1" >"$DEMO/.out" 2>&1
	_rc=$?
	sed 's/^/     /' "$DEMO/.out"
	return $_rc
}
good() {
	printf '   %s✔ %s%s\n' "$G" "$*" "$N"
}
bad() {
	printf '   %s✘ %s%s\n' "$R" "$*" "$N"
	status=1
}
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}

for p in "$VAULTFS" "$VAULTCTL"; do
	[ -x "$p" ] || die "missing $p; build it with 'make'"
done
command -v fusermount3 >/dev/null 2>&1 || die "fusermount3 is missing (package fuse3)"
[ -c /dev/fuse ] || die "/dev/fuse is missing: FUSE is not available here"

DEMO=$(mktemp -d /tmp/vaultfs-demo.XXXXXX) || die "cannot create a temp dir"
VAULT=$DEMO/vault
MNT=$DEMO/mnt
PLAIN=$DEMO/plain
mkdir "$MNT" "$PLAIN"
status=0
mounted=""

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$mounted" ] && mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	fi
	if [ $rc -ne 0 ]; then
		printf '\n%sdemo stopped (exit %d); the vault was unmounted.%s\n' \
			"$R" "$rc" "$N" >&2
		printf 'files are in %s\n' "$DEMO" >&2
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

printf '%svaultfs demo%s - everything lives in %s%s%s\n' "$B" "$N" "$B" "$DEMO" "$N"

# --------------------------------------------------------------------------
heading "Create a vault"
(umask 077
 printf 'demo passphrase - use a long one\n' >"$DEMO/passfile"
 printf 'auditor passphrase - kept by someone else\n' >"$DEMO/auditor.pass")
say "passphrases are read from files (mode 0600), never from the command line:"
show ls -l "$DEMO/passfile" "$DEMO/auditor.pass"
show "$VAULTCTL" init "$VAULT" --passfile "$DEMO/passfile" \
	--auditor-key-out "$DEMO/auditor.key" \
	--auditor-passfile "$DEMO/auditor.pass" --kdf interactive ||
	die "vaultctl init failed"
say "the auditor's key ($DEMO/auditor.key) belongs off this machine."

# --------------------------------------------------------------------------
heading "Mount it"
show "$VAULTFS" "$VAULT" "$MNT" --passfile "$DEMO/passfile" ||
	die "vaultfs failed"
mountpoint -q "$MNT" || die "vaultfs did not mount $MNT"
mounted=1
show grep " $MNT " /proc/self/mounts

# --------------------------------------------------------------------------
heading "Put some documents in"
MARKER="NIGHTJAR-WING-SPAR-7731"
cat >"$PLAIN/design-review.txt" <<EOF
Design review - project $MARKER
================================

Attendees: structures, avionics, test.

1. Wing spar fatigue margin is 1.8 after the revised layup.
2. Flutter test at 1.2 Vd scheduled for week 14.
3. Open item: bracket $MARKER-B3 needs a new drawing revision.
EOF
{
	echo "run,time_s,load_kN,strain_ue,temp_C,tag"
	i=1
	while [ $i -le 400 ]; do
		echo "$i,$((i * 5)),$((100 + i % 37)),$((1200 + (i * 7) % 300)),$((20 + i % 5)),$MARKER"
		i=$((i + 1))
	done
} >"$PLAIN/fatigue-test-$MARKER.csv"
cat >"$PLAIN/controller.c" <<EOF
/* $MARKER flight-control loop (demo) */
#include <stdio.h>

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int main(void)
{
	double cmd = clamp(17.5, -15.0, 15.0);
	printf("elevator command: %.1f deg\\n", cmd);
	return 0;
}
EOF
show mkdir -p "$MNT/projects/nightjar" || die "mkdir in the mount failed"
show cp "$PLAIN/design-review.txt" "$PLAIN/fatigue-test-$MARKER.csv" \
	"$PLAIN/controller.c" "$MNT/projects/nightjar/" ||
	die "copying into the mount failed"
say "every document carries the marker '$MARKER' (in its text or its name)."

# --------------------------------------------------------------------------
heading "Work with them through the mount"
show ls -la "$MNT/projects/nightjar" || bad "ls failed"
show head -n 5 "$MNT/projects/nightjar/design-review.txt" || bad "read failed"
show wc -l "$MNT/projects/nightjar/fatigue-test-$MARKER.csv" || bad "read failed"
if command -v cc >/dev/null 2>&1; then
	show_sh "cd '$MNT/projects/nightjar' && cc -o controller controller.c && ./controller" ||
		bad "compiling in the vault failed"
fi

# --------------------------------------------------------------------------
heading "What is actually on disk (the backing store)"
sync
show ls -la "$VAULT"
say "the encrypted tree (names are encrypted too):"
printf '%s   $ find %s/data%s   (as a tree, long names shortened)\n' "$D" "$VAULT" "$N"
(cd "$VAULT" && find data -printf '%d|%y|%s|%f\n') | head -n 14 |
	awk -F'|' '{ n = $4; if (length(n) > 60) n = substr(n, 1, 57) "...";
		printf "     %*s%s%s  %s\n", 2 * $1, "", n, ($2 == "d" ? "/" : ""),
			($2 == "f" ? $3 " bytes" : "") }'
say "sizes: plain documents vs backing store (content is compressed, then"
say "encrypted; each document also has a 4 KiB header, which shows on tiny files)"
show du -sh --apparent-size "$PLAIN"
show du -sh "$PLAIN" "$VAULT/data"
say "looking for the marker in every byte of the backing store:"
printf '%s   $ grep -r -a -l %s %s%s\n' "$D" "$MARKER" "$VAULT" "$N"
hits=$(grep -r -a -l -F "$MARKER" "$VAULT" 2>/dev/null)
if [ -z "$hits" ]; then
	good "no file in the vault contains '$MARKER'"
else
	bad "found in: $hits"
fi
for n in design-review controller fatigue-test nightjar projects; do
	if find "$VAULT" | grep -q -F "$n"; then
		bad "the name '$n' appears in the backing store"
	else
		good "no backing file or directory is named like '$n'"
	fi
done
say "but through the mount it is all there:"
show grep -r -l "$MARKER" "$MNT" || bad "the documents are not readable"

# --------------------------------------------------------------------------
heading "Read a document back, then unmount"
show cat "$MNT/projects/nightjar/controller.c" || bad "read failed"
show fusermount3 -u "$MNT" || die "unmount failed"
i=0
while mountpoint -q "$MNT" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mountpoint -q "$MNT" && die "unmount failed"
mounted=""
good "unmounted: keys are wiped, only ciphertext remains"
# let the daemon finish (flush, unlock) before fsck takes the vault
sleep 0.5

# --------------------------------------------------------------------------
heading "Check the vault's integrity"
if "$VAULTCTL" fsck --help >/dev/null 2>&1; then
	if show "$VAULTCTL" fsck "$VAULT" --passfile "$DEMO/passfile"; then
		good "every document and name authenticates"
	else
		bad "fsck reported a problem"
	fi
else
	say "(vaultctl fsck is not available in this build)"
fi

# --------------------------------------------------------------------------
heading "The access log"
# ====================================================================
# AUDIT LOG: when `vaultctl audit` exists (audit-log issue), this shows
# who did what above, verified with the auditor's key:
#   vaultctl audit verify VAULT --auditor-key K --auditor-passfile AF
#   vaultctl audit show   VAULT --auditor-key K --auditor-passfile AF
# ====================================================================
if "$VAULTCTL" audit --help >/dev/null 2>&1; then
	show "$VAULTCTL" audit verify "$VAULT" --auditor-key "$DEMO/auditor.key" \
		--auditor-passfile "$DEMO/auditor.pass"
	show "$VAULTCTL" audit show "$VAULT" --auditor-key "$DEMO/auditor.key" \
		--auditor-passfile "$DEMO/auditor.pass"
else
	say "(the audit log comes in a later version; segments will be in $VAULT/audit/)"
fi

# --------------------------------------------------------------------------
printf '\n%sdone.%s The demo vault is in %s\n' "$B" "$N" "$DEMO"
say "mount it again:  $VAULTFS $VAULT $MNT --passfile $DEMO/passfile"
say "remove it:       rm -rf $DEMO"
exit $status
