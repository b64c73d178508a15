# lib.sh - sourced by every tests/integration/tNNNN-*.sh (POSIX sh).
#
# TAP:      plan N | ok DESC CMD... | not_ok DESC CMD... | is GOT WANT DESC |
#           like TEXT GLOB DESC | pass DESC | fail DESC | skip DESC [N] |
#           diag MSG | skip_all WHY | abort WHY | done_testing
# Running:  run CMD... (stdout in $T/out, stderr in $T/err, status in $RC,
#           with a timeout); tmo CMD... (just the timeout)
# Vaults:   make_vault [init args], mount_vault [vaultfs args],
#           umount_vault, remount [vaultfs args], daemon_pids,
#           daemon_alive, backing_list, backing_new OLD NEW
# Paths:    $T private temp dir, $VAULT, $MNT, $PASSFILE, $VAULTFS,
#           $VAULTCTL, $HELPERS, $REPO
#
# Every test gets its own temp dir; an EXIT trap unmounts whatever this
# test mounted (fusermount3 -u, then -uz), kills a leftover daemon of this
# test and removes the dir, also when the test fails or is interrupted.

LC_ALL=C
export LC_ALL
umask 022

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TEST_DIR/../.." && pwd)
VAULTFS_BIN=${VAULTFS_BIN:-$REPO/bin}
VAULTFS_BUILD=${VAULTFS_BUILD:-$REPO/build}
VAULTFS=$VAULTFS_BIN/vaultfs
VAULTCTL=$VAULTFS_BIN/vaultctl
HELPERS=$VAULTFS_BUILD/tests/helpers
TIMEOUT=${VAULTFS_TEST_TIMEOUT:-60}

_tap_n=0
_tap_failed=0
_tap_plan=""
_mounted=""		# mount points this test mounted
T=""

# ---------------------------------------------------------------- TAP

plan() {
	_tap_plan=$1
	echo "1..$1"
}

diag() {
	for _a; do printf '%s\n' "$_a"; done | sed 's/^/# /'
}

# Print a file as TAP comments (at most 40 lines).
diag_file() {
	[ -s "$1" ] || return 0
	sed -n '1,40s/^/#   /p' "$1"
}

pass() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# _call CMD...: shell functions directly, programs with a timeout.
_call() {
	case $(type "$1" 2>/dev/null) in
	*function*) "$@" ;;
	*) tmo "$@" ;;
	esac
}

# ok DESC CMD...: passes when CMD exits 0 (its output is shown on failure).
ok() {
	_d=$1
	shift
	if _call "$@" >"$T/.ok.out" 2>&1; then
		pass "$_d"
	else
		fail "$_d" "command failed (exit $?): $*"
		diag_file "$T/.ok.out"
	fi
}

# not_ok DESC CMD...: passes when CMD fails (exit 1..123, not a timeout
# or a signal).
not_ok() {
	_d=$1
	shift
	_call "$@" >"$T/.ok.out" 2>&1
	_rc=$?
	if [ $_rc -ge 1 ] && [ $_rc -le 123 ]; then
		pass "$_d"
	else
		fail "$_d" "expected failure, got exit $_rc: $*"
		diag_file "$T/.ok.out"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:      '$1'" "expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		pass "$3"
	else
		fail "$3" "got '$1', expected anything else"
	fi
}

# like TEXT GLOB DESC (shell case pattern, e.g. '*wrong passphrase*')
like() {
	# shellcheck disable=SC2254 # the pattern is meant to be a pattern
	case $1 in
	$2) pass "$3" ;;
	*) fail "$3" "'$1'" "does not match '$2'" ;;
	esac
}

unlike() {
	# shellcheck disable=SC2254
	case $1 in
	$2) fail "$3" "'$1'" "matches '$2'" ;;
	*) pass "$3" ;;
	esac
}

skip() {
	_n=${2:-1}
	while [ "$_n" -gt 0 ]; do
		_tap_n=$((_tap_n + 1))
		echo "ok $_tap_n # SKIP $1"
		_n=$((_n - 1))
	done
}

skip_all() {
	echo "1..0 # SKIP $*"
	_tap_plan=0
	exit 0
}

# abort WHY: the test cannot go on (setup failed): one failing point, done.
abort() {
	fail "$*"
	[ -n "$T" ] && [ -s "$T/err" ] && diag_file "$T/err"
	done_testing
}

done_testing() {
	if [ -z "$_tap_plan" ]; then
		echo "1..$_tap_n"
	elif [ "$_tap_plan" != "$_tap_n" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"
		_tap_failed=$((_tap_failed + 1))
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		diag "$TEST_NAME: $_tap_failed of $_tap_n failed"
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------- running

# tmo CMD...: CMD with a timeout (exit 124 on timeout, SIGKILL 5 s later).
tmo() {
	timeout -k 5 "$TIMEOUT" "$@"
}

# run CMD...: stdout -> $T/out, stderr -> $T/err, exit status -> $RC;
# $OUT and $ERR hold the first 4 KiB of each.
run() {
	tmo "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(head -c 4096 "$T/out")
	ERR=$(head -c 4096 "$T/err")
	return 0
}

# ---------------------------------------------------------------- accounts

# need_users U1 U2...: the accounts exist (made with useradd if missing),
# or skip the whole test
need_users() {
	for _u; do
		id "$_u" >/dev/null 2>&1 && continue
		command -v useradd >/dev/null 2>&1 || skip_all "no user $_u and no useradd"
		useradd -M -U -s /bin/sh -d /nonexistent "$_u" 2>"$T/useradd.err" ||
			skip_all "cannot create user $_u: $(cat "$T/useradd.err")"
	done
}

# wait_gone PID...: wait (10 s at most) until the processes have exited
wait_gone() {
	_i=0
	for _p; do
		while kill -0 "$_p" 2>/dev/null; do
			_i=$((_i + 1))
			[ $_i -ge 100 ] && return 1
			sleep 0.1
		done
	done
	return 0
}

# start_writers CRASHIO SEED N DIR LOGS: start N crashio writers in the
# background on DIR, logging to LOGS/wK and LOGS/outK; their pids in $pids
start_writers() {
	pids=""
	_w=1
	while [ $_w -le "$3" ]; do
		"$1" run -s "$2" -w $_w "$4" "$5/w$_w" >"$5/out$_w" 2>&1 &
		pids="$pids $!"
		_w=$((_w + 1))
	done
}

# as USER CMD...: run CMD as USER (its uid, gid and groups)
as() {
	_u=$1
	shift
	tmo setpriv --reuid="$(id -u "$_u")" --regid="$(id -g "$_u")" \
		--init-groups -- "$@"
}

# try USER OP PATH [ARG]: errno name (or OK) of one operation as USER,
# by a private copy of fstool (the build directory may be closed to USER)
try() {
	_u=$1
	shift
	if [ ! -x "$T/fstool" ]; then
		cp "$HELPERS/fstool" "$T/fstool" && chmod 755 "$T/fstool"
	fi
	as "$_u" "$T/fstool" try "$@" 2>&1
}

# ---------------------------------------------------------------- setup

need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 ||
			skip_all "needs $_c"
	done
}

need_helper() {
	for _c in "$@"; do
		[ -x "$HELPERS/$_c" ] ||
			skip_all "helper $HELPERS/$_c not built (make test-progs)"
	done
}

# Checks every FUSE test needs; skip_all when the machine cannot mount.
need_fuse() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (mounts and chown)"
	[ -c /dev/fuse ] || skip_all "no /dev/fuse"
	command -v fusermount3 >/dev/null 2>&1 || skip_all "no fusermount3"
	[ -x "$VAULTFS" ] || skip_all "no $VAULTFS (build it with make)"
	[ -x "$VAULTCTL" ] || skip_all "no $VAULTCTL (build it with make)"
}

# mounted DIR: something is mounted on DIR, even a mount whose daemon is
# dead (mountpoint(1) stats DIR, which then fails unless cached)
mounted() {
	grep -qF " $1 " /proc/self/mountinfo 2>/dev/null
}

_cleanup() {
	_rc=$?
	trap - EXIT HUP INT TERM PIPE
	for _m in $_mounted; do
		if mounted "$_m"; then
			timeout -k 2 10 fusermount3 -u "$_m" 2>/dev/null ||
				{ sleep 0.5; timeout -k 2 10 fusermount3 -u "$_m" 2>/dev/null; } ||
				timeout -k 2 10 fusermount3 -uz "$_m" 2>/dev/null
		fi
	done
	if [ -n "$T" ]; then
		_kill_daemons
		if grep -qF " $T/" /proc/self/mountinfo 2>/dev/null; then
			echo "# $TEST_NAME: leaving $T (still mounted)" >&2
		elif [ -n "$VAULTFS_KEEP_TMP" ]; then
			echo "# $TEST_NAME: kept $T" >&2
		else
			rm -rf --one-file-system "$T"
		fi
	fi
	exit $_rc
}

trap _cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE

T=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-$TEST_NAME.XXXXXX") ||
	{ echo "Bail out! cannot make a temp dir"; exit 1; }
chmod 755 "$T"
VAULT=$T/vault
MNT=$T/mnt
PASSFILE=$T/pass
AUDITOR_KEY=$T/auditor.key
AUDITOR_PASSFILE=$T/auditor.pass
REF=$T/ref		# reference copies made outside the mount
mkdir "$MNT" "$REF"

# ---------------------------------------------------------------- vaults

# write_passfile FILE PASSPHRASE (mode 0600)
write_passfile() {
	(umask 077 && printf '%s\n' "$2" >"$1")
}

# make_vault [extra init args]: a fresh vault in $VAULT with --kdf
# interactive.  Non-zero (output in $T/err) on failure.
make_vault() {
	write_passfile "$PASSFILE" "test passphrase for $TEST_NAME"
	write_passfile "$AUDITOR_PASSFILE" "auditor passphrase for $TEST_NAME"
	rm -f "$AUDITOR_KEY"
	mkdir -p "$VAULT"
	run "$VAULTCTL" init "$VAULT" --passfile "$PASSFILE" \
		--auditor-key-out "$AUDITOR_KEY" \
		--auditor-passfile "$AUDITOR_PASSFILE" --kdf interactive "$@"
	[ "$RC" = 0 ] && [ -f "$VAULT/vault.keys" ]
}

# daemon_pids [MNT]: pids of the vaultfs daemons serving MNT (an argument
# of their command line), or without MNT, of any daemon of this test (one
# whose command line names $T).
daemon_pids() {
	_exe=$(readlink -f "$VAULTFS")
	for _p in /proc/[0-9]*; do
		case $(readlink "$_p/exe" 2>/dev/null) in
		"$_exe" | "$_exe (deleted)") ;;
		*) continue ;;
		esac
		if [ $# -gt 0 ]; then
			tr '\0' '\n' <"$_p/cmdline" 2>/dev/null | grep -qxF "$1" ||
				continue
		else
			tr '\0' '\n' <"$_p/cmdline" 2>/dev/null | grep -qF "$T/" ||
				continue
		fi
		echo "${_p#/proc/}"
	done
}

_kill_daemons() {
	_pids=$(daemon_pids)
	[ -n "$_pids" ] || return 0
	# shellcheck disable=SC2086
	kill $_pids 2>/dev/null
	sleep 0.5
	_pids=$(daemon_pids)
	# shellcheck disable=SC2086
	[ -n "$_pids" ] && kill -9 $_pids 2>/dev/null
	return 0
}

# daemon_alive [MNT]: mounted and answering.
daemon_alive() {
	_m=${1:-$MNT}
	mountpoint -q "$_m" && tmo stat -f "$_m" >/dev/null 2>&1 &&
		tmo ls "$_m" >/dev/null 2>&1
}

# mount_vault [vaultfs args]: mount $VAULT on $MNT; non-zero (output in
# $T/err) on failure.  Returns only once the mount is up.
mount_vault() {
	run "$VAULTFS" "$VAULT" "$MNT" --passfile "$PASSFILE" "$@"
	if [ "$RC" != 0 ]; then
		return 1
	fi
	case " $_mounted " in
	*" $MNT "*) ;;
	*) _mounted="$_mounted $MNT" ;;
	esac
	mountpoint -q "$MNT"
}

# umount_vault [MNT]: unmount and wait (10 s at most) until the daemon has
# exited, so that everything is flushed and the vault lock is free.
umount_vault() {
	_m=${1:-$MNT}
	_i=0
	while ! fusermount3 -u "$_m" 2>"$T/.umount.err"; do
		mounted "$_m" || break
		_i=$((_i + 1))
		if [ $_i -ge 20 ]; then
			cat "$T/.umount.err" >&2
			return 1
		fi
		sleep 0.25
	done
	_i=0
	while [ -n "$(daemon_pids "$_m")" ]; do
		_i=$((_i + 1))
		[ $_i -ge 100 ] && { echo "daemon for $_m still running" >&2; return 1; }
		sleep 0.1
	done
	return 0
}

# remount [vaultfs args]
remount() {
	umount_vault && mount_vault "$@"
}

# Setup shortcut: make and mount a vault, or abort the test.
setup_mounted_vault() {
	make_vault "$@" || abort "vaultctl init failed (exit $RC)"
	mount_vault || abort "vaultfs mount failed (exit $RC)"
}

# ---------------------------------------------------------------- backing

# backing_list: every regular file and directory under $VAULT/data, sorted.
backing_list() {
	(cd "$VAULT/data" && find . -mindepth 1 | LC_ALL=C sort)
}

# backing_new OLD NEW: entries in list file NEW but not in OLD.
backing_new() {
	LC_ALL=C comm -13 "$1" "$2"
}

# is_prefix FILE REF: FILE's bytes are a prefix of REF's (a failed read may
# stop early, but must never return wrong bytes).
is_prefix() {
	_sz=$(stat -c %s "$1")
	[ "$_sz" -le "$(stat -c %s "$2")" ] && cmp -s -n "$_sz" "$1" "$2"
}

# sha FILE: its SHA-256
sha() {
	sha256sum <"$1" | cut -d' ' -f1
}
