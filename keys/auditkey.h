/*
 * auditkey.h - the auditor's key pair.
 *
 * init creates a crypto_box key pair: the public half goes into the key
 * store (audit segments are sealed to it), the secret half into a file the
 * auditor keeps off the server, encrypted under the auditor's passphrase
 * (Argon2id + XChaCha20-Poly1305).  File format: man/vaultfs.5.
 * Errors as in keystore.h.
 */
#ifndef VAULTFS_AUDITKEY_H
#define VAULTFS_AUDITKEY_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "keystore.h"

#define AUDITKEY_PK_BYTES crypto_box_PUBLICKEYBYTES
#define AUDITKEY_SK_BYTES crypto_box_SECRETKEYBYTES

/* Length of a key file; a file of any other length is refused. */
#define AUDITKEY_FILE_BYTES 152
#define AUDITKEY_SALT_BYTES crypto_pwhash_SALTBYTES

/* The clear part of a key file, as auditkey_parse() found it. */
struct auditkey_file_info {
	uint64_t opslimit;			/* Argon2id iterations */
	uint64_t memlimit;			/* Argon2id memory, bytes */
	uint8_t salt[AUDITKEY_SALT_BYTES];
	uint8_t pk[AUDITKEY_PK_BYTES];		/* not yet checked against sk */
};

/*
 * Check the len bytes at file as a key file (man/vaultfs.5) without
 * running the KDF: magic, format, KDF algorithm, Argon2id cost within the
 * bounds the KDF accepts (opslimit 1 to 64, memlimit 8192 to 4 GiB),
 * exactly AUDITKEY_FILE_BYTES long; then copy the clear part into *info.
 * The AEAD and the key pair are checked only when the file is opened
 * (auditkey_load).  auditkey_load and auditkey_change_passphrase run this
 * on the bytes they read, so it is the check they make.  No I/O, no
 * allocation, nothing secret read or written; thread-safe.  file is only
 * read; *info is the caller's and is zeroed on error.  -EBADMSG: not a
 * key file (wrong magic, truncated, extended, format 0, another KDF, cost
 * out of bounds); -EPROTONOSUPPORT: a newer format (checked as soon as
 * the 12 bytes holding magic and format are there, whatever follows).
 */
int auditkey_parse(const uint8_t *file, size_t len,
		   struct auditkey_file_info *info)
	__attribute__((nonnull, warn_unused_result));

/*
 * Generate a key pair, write the protected secret key to path (O_CREAT |
 * O_EXCL | O_NOFOLLOW, mode 0600; -EEXIST if it exists) and return the
 * public key.
 */
int auditkey_generate(const char *path, const char *pass, size_t passlen,
		      enum keystore_kdf kdf, uint8_t pk[AUDITKEY_PK_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Load and decrypt the secret key at path into sk (caller's secret memory)
 * and its public key into pk.  Refuses a file writable by group or others
 * (-EPERM).
 */
int auditkey_load(const char *path, const char *pass, size_t passlen,
		  uint8_t sk[AUDITKEY_SK_BYTES], uint8_t pk[AUDITKEY_PK_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Change the passphrase protecting the key file at path (issue 3, vaultctl
 * audit passwd): decrypt it with pass, re-encrypt the same key pair under
 * newpass with a fresh salt and nonce, with Argon2id preset *kdf or, when
 * kdf is NULL, the cost the file records; then replace the file
 * atomically: a temporary file beside it (O_CREAT | O_EXCL | O_NOFOLLOW,
 * mode 0600) holding only the re-encrypted key, fsync, rename over path,
 * fsync of the directory.  On any failure path is unchanged and no
 * temporary file is left.  Checks and errors as auditkey_load()
 * (-EKEYREJECTED: pass is wrong), plus those of the write.
 */
int auditkey_change_passphrase(const char *path, const char *pass,
			       size_t passlen, const char *newpass,
			       size_t newpasslen, const enum keystore_kdf *kdf)
	__attribute__((nonnull(1, 2, 4), warn_unused_result));

/*
 * A short name for a public key in messages and records: its first 8
 * bytes in lower-case hex (16 digits and a NUL).  Not a secret; two keys
 * are told apart by comparing the whole public key, never this.
 */
#define AUDITKEY_FINGERPRINT_CHARS 17

void auditkey_fingerprint(const uint8_t pk[AUDITKEY_PK_BYTES],
			  char out[AUDITKEY_FINGERPRINT_CHARS])
	__attribute__((nonnull));

#endif
