/*
 * kdf.h - passphrase to key with Argon2id (crypto_pwhash), as the key
 * store and the auditor's key file both use it.
 *
 * The cost parameters are stored in those files, so they are read back
 * from storage an attacker may have written: kdf_derive() refuses
 * parameters outside sane bounds instead of trying to honour them.
 * Thread-safe.
 */
#ifndef VAULTFS_KDF_H
#define VAULTFS_KDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "keystore.h"

#define KDF_SALT_BYTES crypto_pwhash_SALTBYTES		/* 16 */
#define KDF_OPS_MAX 64ULL
#define KDF_MEM_MAX (4ULL << 30)

/* Cost of a preset; -EINVAL for an unknown one. */
int kdf_preset(enum keystore_kdf kdf, uint64_t *ops, uint64_t *mem)
	__attribute__((nonnull, warn_unused_result));

/* true when ops and mem are within libsodium's minima and our maxima. */
bool kdf_params_ok(uint64_t ops, uint64_t mem);

/*
 * Argon2id(pass, salt) into key (the caller's secret memory).  -EBADMSG
 * for parameters out of bounds, -EINVAL for a passphrase longer than
 * libsodium takes, -ENOMEM when the memory cannot be had.
 */
int kdf_derive(uint8_t key[SEAL_KEY_BYTES], const char *pass, size_t passlen,
	       const uint8_t salt[KDF_SALT_BYTES], uint64_t ops, uint64_t mem)
	__attribute__((nonnull, warn_unused_result));

#endif
