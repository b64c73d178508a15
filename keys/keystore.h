/*
 * keystore.h - the vault's key store (VAULT/vault.keys) and its settings.
 *
 * A random master key is wrapped by each unlock slot (today: one passphrase
 * slot, Argon2id via crypto_pwhash).  Under the master key the store keeps
 * the versioned key-encryption keys (KEKs), the name key and the vault
 * settings, authenticated together.  Each document's data key (DEK) is
 * wrapped by one KEK version; the version is stored with the wrapped key so
 * that rotation rewrites headers only.  man/vaultfs.5 gives the byte format.
 *
 * All key material lives in sodium_malloc memory owned by struct keystore
 * and is wiped by keystore_free().  A keystore is read-only after
 * keystore_open()/keystore_create() and then safe to share between threads
 * (except for the functions that change it, at the end of this file).
 *
 * Errors: -ENOENT (no key store), -EKEYREJECTED (wrong passphrase),
 * -EBADMSG (damaged or tampered), -EPROTONOSUPPORT (format version newer
 * than this program), -EIO and other errnos from the file system.
 */
#ifndef VAULTFS_KEYSTORE_H
#define VAULTFS_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../vaultfs/seal.h"

#define KEYSTORE_FILE "vault.keys"
#define KEYSTORE_FORMAT 1
#define KEYSTORE_VAULT_ID_BYTES 16
#define KEYSTORE_AUDITOR_PK_BYTES crypto_box_PUBLICKEYBYTES	/* 32 */
#define KEYSTORE_WRAPPED_BYTES (SEAL_NONCE_BYTES + SEAL_KEY_BYTES + SEAL_TAG_BYTES)
#define KEYSTORE_MAX_KEKS 64

/* Argon2id cost presets for init (the store records the actual numbers). */
enum keystore_kdf {
	KEYSTORE_KDF_INTERACTIVE,	/* 64 MiB, for tests and laptops */
	KEYSTORE_KDF_MODERATE,		/* 256 MiB, the default */
	KEYSTORE_KDF_SENSITIVE,		/* 1 GiB */
};

enum keystore_kek_state {
	KEYSTORE_KEK_ACTIVE = 1,	/* new documents use it */
	KEYSTORE_KEK_RETIRING = 2,	/* still wraps some documents */
	KEYSTORE_KEK_DESTROYED = 3,	/* key bytes erased */
};

struct vault_settings {
	uint32_t format;		/* KEYSTORE_FORMAT */
	uint32_t chunk_size;		/* container_chunk_size_valid() */
	int compress_level;		/* 0 = off, 1..COMPRESS_LEVEL_MAX */
	uint8_t vault_id[KEYSTORE_VAULT_ID_BYTES];
	uint8_t auditor_pk[KEYSTORE_AUDITOR_PK_BYTES];
	uint64_t created;		/* seconds since the epoch */
};

struct keystore_kek_info {
	uint32_t version;
	uint64_t created;
	enum keystore_kek_state state;
};

struct keystore;

/*
 * Create VAULT/vault.keys (vault_dir must exist): fresh master key, first
 * KEK (version 1, active), name key; settings s (format, vault id and
 * created are filled in here).  The file is created with O_EXCL, mode 0600.
 */
int keystore_create(const char *vault_dir, const char *pass, size_t passlen,
		    enum keystore_kdf kdf, const struct vault_settings *s,
		    struct keystore **out)
	__attribute__((nonnull, warn_unused_result));

/* Read and unlock VAULT/vault.keys with the passphrase. */
int keystore_open(const char *vault_dir, const char *pass, size_t passlen,
		  struct keystore **out)
	__attribute__((nonnull, warn_unused_result));

/* Read the clear settings without unlocking (for messages; unauthenticated). */
int keystore_peek_format(const char *vault_dir, uint32_t *format)
	__attribute__((nonnull, warn_unused_result));

const struct vault_settings *keystore_settings(const struct keystore *ks)
	__attribute__((nonnull));

/* 32-byte name key (names.h derives its subkeys from it). */
const uint8_t *keystore_name_key(const struct keystore *ks)
	__attribute__((nonnull));

/* Wrap a new document's DEK under the active KEK; returns its version. */
int keystore_wrap_dek(const struct keystore *ks,
		      const uint8_t doc_id[16],
		      const uint8_t dek[SEAL_KEY_BYTES],
		      uint32_t *kek_version,
		      uint8_t wrapped[KEYSTORE_WRAPPED_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Unwrap a DEK wrapped by KEK kek_version.  -EBADMSG if it does not
 * authenticate, -ENOKEY if that KEK version is unknown or destroyed.
 */
int keystore_unwrap_dek(const struct keystore *ks,
			const uint8_t doc_id[16], uint32_t kek_version,
			const uint8_t wrapped[KEYSTORE_WRAPPED_BYTES],
			uint8_t dek[SEAL_KEY_BYTES])
	__attribute__((nonnull, warn_unused_result));

/* List KEKs (up to max); *n receives the count. */
void keystore_keks(const struct keystore *ks, struct keystore_kek_info *out,
		   size_t max, size_t *n)
	__attribute__((nonnull));

/* The Argon2id parameters the store records (for vaultctl keys). */
void keystore_kdf_params(const struct keystore *ks, uint64_t *opslimit,
			 uint64_t *memlimit)
	__attribute__((nonnull));

/* Wipe and free everything.  NULL is fine. */
void keystore_free(struct keystore *ks);

/*
 * ---- Changing the key store: vaultctl passwd and rotate (issue #4) ----
 *
 * The functions below rewrite VAULT/vault.keys atomically (temporary file,
 * fsync, rename, fsync of the directory), so after a crash the file is
 * either the old or the new store.  They change ks only once the new file
 * is in place: on failure ks is as it was.  They are not thread-safe: call
 * them only while no other thread uses ks (vaultctl is single-threaded).
 * The caller holds keystore_lock().  The daemon never rewrites the store.
 */

/*
 * Serialise the programs that rewrite the key store: an exclusive flock
 * on the vault directory itself (not on vault.keys, which rename
 * replaces), held until *lock_fd is closed.  -EBUSY if another process
 * holds it.  Take it before keystore_open(), so that the store read is the
 * one that will be replaced.
 */
int keystore_lock(const char *vault_dir, int *lock_fd)
	__attribute__((nonnull, warn_unused_result));

/*
 * Change the passphrase.  A new random master key is wrapped under
 * Argon2id(pass) with a fresh salt, using preset *kdf or, if kdf is NULL,
 * the parameters the store has now; the body is re-sealed under the new
 * master key.  The old passphrase stops working at once, and a copy of the
 * old store opened with the old passphrase does not open any later store
 * (its master key is gone).  KEKs and the name key are unchanged: no
 * document or name is touched.
 */
int keystore_change_passphrase(struct keystore *ks, const char *vault_dir,
			       const char *pass, size_t passlen,
			       const enum keystore_kdf *kdf)
	__attribute__((nonnull(1, 2, 3), warn_unused_result));

/*
 * Replace the auditor's public key (vaultctl audit rekey): audit segments
 * started afterwards are sealed to pk; the settings of ks show it once
 * the new store is in place.  The public key is in the clear part, which
 * the passphrase slot authenticates, so the slot is sealed again: pass
 * must be the vault passphrase (-EKEYREJECTED if it does not open the
 * slot; nothing is written then).  The master key, KEKs, name key, KDF
 * parameters and salt stay as they are; slot and body get fresh nonces.
 * One Argon2id run.  -EINVAL if pk is all zero.
 */
int keystore_set_auditor_pk(struct keystore *ks, const char *vault_dir,
			    const char *pass, size_t passlen,
			    const uint8_t pk[KEYSTORE_AUDITOR_PK_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * A rotation in progress, as recorded in the store (man/vaultfs.5): from
 * keystore_rotation_begin() until keystore_rotation_finish() finds no
 * RETIRING KEK left.  While it is recorded, target is the active KEK.
 */
struct keystore_rotation {
	bool unfinished;	/* a rotation is recorded */
	bool reencrypt;		/* it re-encrypts documents (new DEKs) */
	uint32_t target;	/* the KEK version documents move to */
	uint64_t started;	/* seconds since the epoch */
};

void keystore_rotation(const struct keystore *ks, struct keystore_rotation *r)
	__attribute__((nonnull));

/*
 * Start a rotation: a new random KEK, version = highest version + 1,
 * becomes ACTIVE; every other KEK that is not DESTROYED becomes RETIRING
 * (it still unwraps, never wraps); the rotation is recorded (target = the
 * new version).  If the table is full, the oldest DESTROYED records are
 * dropped to make room; -ENOSPC if there are none.
 */
int keystore_rotation_begin(struct keystore *ks, const char *vault_dir,
			    bool reencrypt)
	__attribute__((nonnull, warn_unused_result));

/*
 * After a pass over the documents: destroy every RETIRING KEK whose
 * version is not among in_use[0..n) (its key bytes are erased, in memory
 * and in the new file); if no RETIRING KEK is left, clear the rotation
 * record.  *finished tells whether it was cleared.  The file is rewritten
 * only if something changed.  The caller must have made every document
 * header that stops using a version durable before calling this.
 */
int keystore_rotation_finish(struct keystore *ks, const char *vault_dir,
			     const uint32_t *in_use, size_t n, bool *finished)
	__attribute__((nonnull(1, 2, 5), warn_unused_result));

#endif
