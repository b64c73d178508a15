/* t-kdf.c - Argon2id presets, bounds and derivation. */
#include <errno.h>
#include <string.h>

#include "../tap.h"
#include "../../keys/kdf.h"
#include "../../vaultfs/seal.h"

int main(void)
{
	uint8_t salt[KDF_SALT_BYTES] = { 1, 2, 3 }, a[SEAL_KEY_BYTES],
		b[SEAL_KEY_BYTES];
	uint64_t ops, mem;

	if (seal_init() != 0)
		return 1;
	is_int(kdf_preset(KEYSTORE_KDF_INTERACTIVE, &ops, &mem), 0,
	       "interactive preset");
	ok(ops == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE &&
	   mem == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE, "  its cost");
	ok(kdf_params_ok(ops, mem), "  within bounds");
	is_int(kdf_preset((enum keystore_kdf)99, &ops, &mem), -EINVAL,
	       "unknown preset");
	ok(!kdf_params_ok(KDF_OPS_MAX + 1, crypto_pwhash_argon2id_MEMLIMIT_MIN),
	   "too many passes refused");
	ok(!kdf_params_ok(1, crypto_pwhash_argon2id_MEMLIMIT_MIN) ||
	   crypto_pwhash_argon2id_OPSLIMIT_MIN <= 1, "too few passes refused");
	ok(!kdf_params_ok(2, KDF_MEM_MAX + 1), "too much memory refused");
	ok(!kdf_params_ok(2, 1024), "too little memory refused");
	is_int(kdf_derive(a, "pw", 2, salt, KDF_OPS_MAX + 1, 8192 * 1024), -EBADMSG,
	       "derive refuses stored parameters out of bounds");
	is_int(kdf_derive(a, "pw", 2, salt, 2, 8192 * 1024), 0, "derive");
	is_int(kdf_derive(b, "pw", 2, salt, 2, 8192 * 1024), 0, "derive again");
	is_mem(a, b, sizeof(a), "same passphrase and salt: same key");
	is_int(kdf_derive(b, "pX", 2, salt, 2, 8192 * 1024), 0, "other passphrase");
	ok(memcmp(a, b, sizeof(a)) != 0, "  other key");
	salt[0] ^= 1;
	is_int(kdf_derive(b, "pw", 2, salt, 2, 8192 * 1024), 0, "other salt");
	ok(memcmp(a, b, sizeof(a)) != 0, "  other key");
	return done_testing();
}
