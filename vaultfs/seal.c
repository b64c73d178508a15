/* seal.c - see seal.h.  The only caller of libsodium's primitives. */
#include "seal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

_Static_assert(SEAL_KEY_BYTES == crypto_kdf_KEYBYTES, "kdf key size");
_Static_assert(SEAL_KEY_BYTES == crypto_stream_xchacha20_KEYBYTES,
	       "stream key size");
_Static_assert(SEAL_NONCE_BYTES == crypto_stream_xchacha20_NONCEBYTES,
	       "stream nonce size");
_Static_assert(SEAL_KEY_BYTES >= crypto_kdf_BYTES_MIN &&
	       SEAL_KEY_BYTES <= crypto_kdf_BYTES_MAX, "kdf subkey size");
_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "kdf context size");

int seal_init(void)
{
	/* 0 = initialised now, 1 = already initialised: both fine. */
	if (sodium_init() < 0)
		return -EIO;
	return 0;
}

void seal_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
		  size_t adlen, const void *m, size_t mlen,
		  uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *c)
{
	if (ad == NULL && adlen != 0)
		vault_misuse("seal_encrypt: NULL ad with nonzero length");
	if (mlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		vault_misuse("seal_encrypt: message too long");

	/* 192-bit random nonces: collisions are negligible. */
	randombytes_buf(nonce, SEAL_NONCE_BYTES);
	seal_encrypt_nonce(key, ad, adlen, m, mlen, nonce, c);
}

void seal_encrypt_nonce(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
			size_t adlen, const void *m, size_t mlen,
			const uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *c)
{
	if (ad == NULL && adlen != 0)
		vault_misuse("seal_encrypt: NULL ad with nonzero length");
	if (mlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
		vault_misuse("seal_encrypt: message too long");
	/* libsodium supports c == m (in-place) for this construction. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(c, NULL, m, mlen, ad,
						   adlen, NULL, nonce, key);
}

int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const void *ad,
		 size_t adlen, const uint8_t nonce[SEAL_NONCE_BYTES],
		 const uint8_t *c, size_t clen, void *m)
{
	if (ad == NULL && adlen != 0)
		vault_misuse("seal_decrypt: NULL ad with nonzero length");
	if (clen < SEAL_TAG_BYTES) {
		/* Nothing sensible to zero beyond what the caller sized. */
		return -EBADMSG;
	}
	/*
	 * libsodium checks the tag before decrypting and writes nothing to
	 * m when it fails; but m may alias c, and the contract promises a
	 * zeroed output, so wipe it explicitly on failure.
	 */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, NULL, NULL, c, clen,
						       ad, adlen, nonce,
						       key) != 0) {
		sodium_memzero(m, clen - SEAL_TAG_BYTES);
		return -EBADMSG;
	}
	return 0;
}

void seal_derive(uint8_t sub[SEAL_KEY_BYTES], uint64_t id, const char ctx[8],
		 const uint8_t key[SEAL_KEY_BYTES])
{
	if (crypto_kdf_derive_from_key(sub, SEAL_KEY_BYTES, id, ctx, key) != 0)
		vault_misuse("seal_derive: crypto_kdf_derive_from_key failed");
}

void seal_hash(uint8_t *out, size_t outlen, const uint8_t *key,
	       const void *in, size_t inlen)
{
	if (outlen < crypto_generichash_BYTES_MIN ||
	    outlen > crypto_generichash_BYTES_MAX)
		vault_misuse("seal_hash: output length out of range");
	if (in == NULL && inlen != 0)
		vault_misuse("seal_hash: NULL input with nonzero length");
	if (crypto_generichash(out, outlen, in, inlen, key,
			       key != NULL ? SEAL_KEY_BYTES : 0) != 0)
		vault_misuse("seal_hash: crypto_generichash failed");
}

void seal_stream_xor(uint8_t *out, const uint8_t *in, size_t len,
		     const uint8_t nonce[SEAL_NONCE_BYTES],
		     const uint8_t key[SEAL_KEY_BYTES])
{
	crypto_stream_xchacha20_xor(out, in, len, nonce, key);
}

void *seal_secret_alloc(size_t len)
{
	return sodium_malloc(len);
}

void seal_secret_free(void *p)
{
	/* sodium_free() wipes the region before unmapping it. */
	sodium_free(p);
}

/*
 * The key pool.  A daemon opens and closes documents all the time; a
 * sodium_malloc() per data key costs about ten system calls (mmap, guard
 * pages, mlock) and a locked page.  Keys instead come from pages that are
 * sodium_malloc'd once and carved into slots; a free slot is wiped.
 */
#define POOL_PAGE_SLOTS 128	/* 4 KiB of keys per pool page */

struct pool_page {
	struct pool_page *next;
	uint8_t *keys;		/* sodium_malloc'd, POOL_PAGE_SLOTS keys */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_page *pool_pages;
static uint8_t **pool_free;	/* stack of free slots */
static size_t pool_nfree, pool_cap;

static int pool_grow(void)
{
	struct pool_page *pg = malloc(sizeof(*pg));
	uint8_t **nf;

	if (!pg)
		return -ENOMEM;
	pg->keys = sodium_malloc(POOL_PAGE_SLOTS * SEAL_KEY_BYTES);
	nf = realloc(pool_free, (pool_cap + POOL_PAGE_SLOTS) * sizeof(*nf));
	if (!pg->keys || !nf) {
		if (pg->keys)
			sodium_free(pg->keys);
		if (nf)
			pool_free = nf;
		free(pg);
		return -ENOMEM;
	}
	pool_free = nf;
	pool_cap += POOL_PAGE_SLOTS;
	sodium_memzero(pg->keys, POOL_PAGE_SLOTS * SEAL_KEY_BYTES);
	for (size_t i = 0; i < POOL_PAGE_SLOTS; i++)
		pool_free[pool_nfree++] = pg->keys + i * SEAL_KEY_BYTES;
	pg->next = pool_pages;
	pool_pages = pg;
	return 0;
}

uint8_t *seal_key_alloc(void)
{
	uint8_t *k = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_nfree > 0 || pool_grow() == 0)
		k = pool_free[--pool_nfree];
	pthread_mutex_unlock(&pool_lock);
	return k;
}

void seal_key_free(uint8_t *k)
{
	if (!k)
		return;
	sodium_memzero(k, SEAL_KEY_BYTES);
	pthread_mutex_lock(&pool_lock);
	pool_free[pool_nfree++] = k;
	pthread_mutex_unlock(&pool_lock);
}
