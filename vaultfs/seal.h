/*
 * seal.h - every use of libsodium's AEAD, stream, hash and KDF primitives.
 *
 * AEAD: XChaCha20-Poly1305-IETF, random 192-bit nonce per message.
 * Nothing leaves seal_open() before its tag verifies; on failure the output
 * is zeroed.  All functions are thread-safe once sodium_init() succeeded
 * (seal_init() does it).
 */
#ifndef VAULTFS_SEAL_H
#define VAULTFS_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define SEAL_KEY_BYTES   crypto_aead_xchacha20poly1305_ietf_KEYBYTES	/* 32 */
#define SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES	/* 24 */
#define SEAL_TAG_BYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES	/* 16 */
#define SEAL_OVERHEAD_BYTES (SEAL_NONCE_BYTES + SEAL_TAG_BYTES)

/* sodium_init() once; -EIO if libsodium cannot initialise. */
int seal_init(void) __attribute__((warn_unused_result));

/* Fill buf with len random bytes. */
void seal_random(void *buf, size_t len) __attribute__((nonnull));

/*
 * Encrypt mlen bytes of m under key with a fresh random nonce.  Writes the
 * nonce to nonce and mlen + SEAL_TAG_BYTES bytes to c (c may equal m).
 * ad (adlen bytes) is authenticated, not encrypted; ad may be NULL if
 * adlen is 0.
 */
void seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
		  size_t adlen, const void *m, size_t mlen,
		  uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *c)
	__attribute__((nonnull(1, 4, 6, 7)));

/*
 * seal_encrypt() with a nonce the caller drew (seal_random(), never used
 * before under key): for callers that draw many at once, since each draw
 * is a system call.
 */
void seal_encrypt_nonce(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
			size_t adlen, const void *m, size_t mlen,
			const uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *c)
	__attribute__((nonnull(1, 4, 6, 7)));

/*
 * Decrypt clen bytes of c (ciphertext and tag) into m (clen -
 * SEAL_TAG_BYTES bytes; m may equal c).  Returns 0, or -EBADMSG when the
 * tag does not verify or clen < SEAL_TAG_BYTES; m is then zeroed.
 */
int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
		 size_t adlen, const uint8_t nonce[SEAL_NONCE_BYTES],
		 const uint8_t *c, size_t clen, void *m)
	__attribute__((nonnull(1, 4, 5, 7), warn_unused_result));

/*
 * Derive a 32-byte subkey number id for context ctx (exactly 8 chars,
 * e.g. "vfsnames") from key (crypto_kdf, BLAKE2b).
 */
void seal_derive(uint8_t sub[SEAL_KEY_BYTES], uint64_t id, const char ctx[8],
		 const uint8_t key[SEAL_KEY_BYTES])
	__attribute__((nonnull));

/* Keyed BLAKE2b: out (16..64 bytes) = H_key(in). key may be NULL (unkeyed). */
void seal_hash(uint8_t *out, size_t outlen, const uint8_t *key,
	       const void *in, size_t inlen)
	__attribute__((nonnull(1)));

/* XChaCha20 keystream XOR (no authentication): SIV names only. */
void seal_stream_xor(uint8_t *out, const uint8_t *in, size_t len,
		     const uint8_t nonce[SEAL_NONCE_BYTES],
		     const uint8_t key[SEAL_KEY_BYTES])
	__attribute__((nonnull));

/*
 * Secret memory: sodium_malloc (guard pages, mlock, excluded from core
 * dumps).  seal_secret_alloc() returns NULL when out of memory;
 * seal_secret_free() wipes and frees (NULL is fine).
 */
void *seal_secret_alloc(size_t len) __attribute__((malloc));
void seal_secret_free(void *p);

/*
 * One SEAL_KEY_BYTES key in secret memory from a pool (locked, excluded
 * from core dumps, wiped when freed), for keys made and dropped often
 * (document keys).  Cheaper than seal_secret_alloc(); no guard pages
 * between keys, and not read-only.  NULL when out of memory.  Thread-safe.
 * Pool pages are kept for the life of the process.
 */
uint8_t *seal_key_alloc(void);
void seal_key_free(uint8_t *k);

#endif
