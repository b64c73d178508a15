#!/bin/sh
# t1002-random: model-based random I/O (tests/helpers/randio.c) against the
# mount, with fixed seeds; then a remount must give back the same bytes.
#   RANDIO_OPS=N, RANDIO_SEEDS="1 2 3" override the defaults.
. "$(dirname "$0")/lib.sh"
need_fuse
need_helper randio
setup_mounted_vault

ops=${RANDIO_OPS:-3000}
seeds=${RANDIO_SEEDS:-1 2 3}

# randio_run NAME DESC RANDIO-ARGS...: run randio on $MNT/NAME, model
# written to $REF/NAME
randio_run() {
	_name=$1
	_desc=$2
	shift 2
	mkdir -p "$MNT/$_name" "$REF/$_name"
	run "$HELPERS/randio" "$@" "$MNT/$_name" "$REF/$_name"
	if [ "$RC" = 0 ]; then
		pass "randio $_desc: every read matched the model"
		diag "$OUT"
	else
		fail "randio $_desc (exit $RC)" "reproduce: randio $* DIR"
		diag_file "$T/err"
	fi
}

# same_as_model NAME: every file in $MNT/NAME equals the model's copy
same_as_model() {
	_bad=""
	for _f in "$REF/$1"/*; do
		cmp "$_f" "$MNT/$1/${_f##*/}" >>"$T/cmp.out" 2>&1 ||
			_bad="$_bad ${_f##*/}"
	done
	if [ -z "$_bad" ]; then
		pass "$1: files identical to the model after remount"
	else
		fail "$1: differ after remount:$_bad"
		diag_file "$T/cmp.out"
	fi
	is "$(ls "$MNT/$1" | wc -l)" "$(ls "$REF/$1" | wc -l)" "  and no extra files"
}

for seed in $seeds; do
	randio_run "seed$seed" "seed $seed, $ops ops" \
		-s "$seed" -n "$ops" -f 3 -m 1048576
done
# larger files: more chunks, fewer operations
randio_run big "seed 4, 8 MiB files" -s 4 -n $((ops / 2)) -f 2 -m 8388608

# small chunks stress boundaries differently: a second vault, 4 KiB chunks
VAULT=$T/vault4k
MNT_SAVE=$MNT
MNT=$T/mnt4k
mkdir "$MNT"
if make_vault --chunk-size 4096; then
	if mount_vault; then
		randio_run s4k "with 4 KiB chunks (seed 42)" \
			-s 42 -n "$ops" -f 2 -c 4096 -m 262144
		umount_vault
	else
		fail "mount a vault with 4 KiB chunks (exit $RC)"
		diag_file "$T/err"
	fi
else
	fail "vaultctl init --chunk-size 4096 (exit $RC)"
	diag_file "$T/err"
fi
MNT=$MNT_SAVE
VAULT=$T/vault

# everything again after a remount
remount || abort "remount failed (exit $RC)"
for seed in $seeds; do
	same_as_model "seed$seed"
done
same_as_model big

# without the kernel writeback cache every write reaches the daemon as is
if remount -o no_writeback; then
	pass "remount with -o no_writeback"
	randio_run nowb "seed 5 without writeback cache" -s 5 -n "$ops" -f 3 -m 1048576
	remount || abort "remount failed (exit $RC)"
	same_as_model nowb
else
	fail "remount with -o no_writeback (exit $RC)"
	diag_file "$T/err"
	mount_vault || abort "mount failed (exit $RC)"
fi

# and the vault is clean for vaultctl fsck when there is one
umount_vault || abort "unmount failed"
if "$VAULTCTL" fsck --help >/dev/null 2>&1; then
	run "$VAULTCTL" fsck "$VAULT" --passfile "$PASSFILE"
	is "$RC" 0 "fsck finds the vault clean after random I/O"
	[ "$RC" = 0 ] || { diag_file "$T/out"; diag_file "$T/err"; }
else
	skip "vaultctl fsck not implemented"
fi

done_testing
