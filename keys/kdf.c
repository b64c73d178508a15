/* kdf.c - see kdf.h. */
#include "kdf.h"

#include <errno.h>

int kdf_preset(enum keystore_kdf kdf, uint64_t *ops, uint64_t *mem)
{
	switch (kdf) {
	case KEYSTORE_KDF_INTERACTIVE:
		*ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
		return 0;
	case KEYSTORE_KDF_MODERATE:
		*ops = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
		return 0;
	case KEYSTORE_KDF_SENSITIVE:
		*ops = crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE;
		return 0;
	}
	return -EINVAL;
}

bool kdf_params_ok(uint64_t ops, uint64_t mem)
{
	return ops >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
	       ops <= KDF_OPS_MAX &&
	       mem >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
	       mem <= KDF_MEM_MAX &&
	       mem <= crypto_pwhash_argon2id_MEMLIMIT_MAX;
}

int kdf_derive(uint8_t key[SEAL_KEY_BYTES], const char *pass, size_t passlen,
	       const uint8_t salt[KDF_SALT_BYTES], uint64_t ops, uint64_t mem)
{
	if (!kdf_params_ok(ops, mem))
		return -EBADMSG;
	if (passlen > crypto_pwhash_PASSWD_MAX)
		return -EINVAL;
	/* Fails only when the memory cannot be allocated. */
	if (crypto_pwhash(key, SEAL_KEY_BYTES, pass, passlen, salt,
			  (unsigned long long)ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}
