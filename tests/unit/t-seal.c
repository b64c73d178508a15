/* t-seal.c - seal.c: AEAD round trips and tampering, KDF, hash, stream. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "../../vaultfs/seal.h"
#include "../tap.h"

#define MSG_LEN 1000
#define NONCES 2000

static const char ad[] = "document id || chunk index";

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Encrypt msg into c/nonce under key with ad. */
static void seal_msg(const uint8_t *key, const uint8_t *msg,
		     uint8_t nonce[SEAL_NONCE_BYTES], uint8_t *c)
{
	seal_encrypt(key, ad, sizeof(ad), msg, MSG_LEN, nonce, c);
}

static void test_round_trip(const uint8_t *key, const uint8_t *msg)
{
	uint8_t nonce[SEAL_NONCE_BYTES], c[MSG_LEN + SEAL_TAG_BYTES];
	uint8_t m[MSG_LEN];

	seal_msg(key, msg, nonce, c);
	ok(memcmp(c, msg, 64) != 0, "ciphertext differs from plaintext");
	is_int(seal_decrypt(key, ad, sizeof(ad), nonce, c, sizeof(c), m), 0,
	       "round trip decrypts");
	is_mem(m, msg, MSG_LEN, "round trip gives the plaintext back");

	/* Empty message, NULL ad. */
	seal_encrypt(key, NULL, 0, msg, 0, nonce, c);
	is_int(seal_decrypt(key, NULL, 0, nonce, c, SEAL_TAG_BYTES, m), 0,
	       "empty message round trip");
	is_int(seal_decrypt(key, ad, 1, nonce, c, SEAL_TAG_BYTES, m), -EBADMSG,
	       "empty message with different ad fails");
	is_int(seal_decrypt(key, NULL, 0, nonce, c, SEAL_TAG_BYTES - 1, m),
	       -EBADMSG, "clen shorter than a tag fails");
}

/* Flip one bit at byte i of what (ad, nonce or ciphertext/tag). */
enum target { T_AD, T_NONCE, T_CT };

static void test_tamper(const uint8_t *key, const uint8_t *msg,
			enum target t, size_t i, const char *what)
{
	uint8_t nonce[SEAL_NONCE_BYTES], c[MSG_LEN + SEAL_TAG_BYTES];
	uint8_t m[MSG_LEN];
	char ad2[sizeof(ad)];

	memcpy(ad2, ad, sizeof(ad));
	seal_msg(key, msg, nonce, c);
	if (t == T_AD)
		ad2[i] ^= 1;
	else if (t == T_NONCE)
		nonce[i] ^= 1;
	else
		c[i] ^= 0x80;
	memset(m, 0xa5, sizeof(m));
	is_int(seal_decrypt(key, ad2, sizeof(ad2), nonce, c, sizeof(c), m),
	       -EBADMSG, "tampered %s at %zu is rejected", what, i);
	ok(all_zero(m, sizeof(m)), "tampered %s: output zeroed", what);
}

static void test_wrong_key(const uint8_t *key, const uint8_t *msg)
{
	uint8_t nonce[SEAL_NONCE_BYTES], c[MSG_LEN + SEAL_TAG_BYTES];
	uint8_t m[MSG_LEN], key2[SEAL_KEY_BYTES];

	memcpy(key2, key, sizeof(key2));
	key2[SEAL_KEY_BYTES - 1] ^= 1;
	seal_msg(key, msg, nonce, c);
	memset(m, 0xa5, sizeof(m));
	is_int(seal_decrypt(key2, ad, sizeof(ad), nonce, c, sizeof(c), m),
	       -EBADMSG, "wrong key is rejected");
	ok(all_zero(m, sizeof(m)), "wrong key: output zeroed");
	is_int(seal_decrypt(key, ad, sizeof(ad) - 1, nonce, c, sizeof(c), m),
	       -EBADMSG, "shorter ad is rejected");
	is_int(seal_decrypt(key, ad, sizeof(ad), nonce, c, sizeof(c) - 1, m),
	       -EBADMSG, "truncated ciphertext is rejected");
}

static void test_in_place(const uint8_t *key, const uint8_t *msg)
{
	uint8_t nonce[SEAL_NONCE_BYTES], buf[MSG_LEN + SEAL_TAG_BYTES];
	uint8_t c[MSG_LEN + SEAL_TAG_BYTES];

	memcpy(buf, msg, MSG_LEN);
	seal_encrypt(key, ad, sizeof(ad), buf, MSG_LEN, nonce, buf);
	ok(memcmp(buf, msg, MSG_LEN) != 0, "in-place encryption changed data");
	memcpy(c, buf, sizeof(c));
	is_int(seal_decrypt(key, ad, sizeof(ad), nonce, buf, sizeof(buf), buf),
	       0, "in-place decryption verifies");
	is_mem(buf, msg, MSG_LEN, "in-place round trip");

	c[3] ^= 1;
	memcpy(buf, c, sizeof(c));
	is_int(seal_decrypt(key, ad, sizeof(ad), nonce, buf, sizeof(buf), buf),
	       -EBADMSG, "in-place tampered decryption fails");
	ok(all_zero(buf, MSG_LEN), "in-place failure zeroes the plaintext area");
}

static int cmp_nonce(const void *a, const void *b)
{
	return memcmp(a, b, SEAL_NONCE_BYTES);
}

static void test_nonces(const uint8_t *key, const uint8_t *msg)
{
	uint8_t (*nonces)[SEAL_NONCE_BYTES];
	uint8_t c[MSG_LEN + SEAL_TAG_BYTES], c0[MSG_LEN + SEAL_TAG_BYTES];
	int i, dup = 0, same_ct = 0;

	nonces = calloc(NONCES, SEAL_NONCE_BYTES);
	if (nonces == NULL)
		abort();
	seal_msg(key, msg, nonces[0], c0);
	for (i = 1; i < NONCES; i++) {
		seal_msg(key, msg, nonces[i], c);
		if (memcmp(c, c0, sizeof(c)) == 0)
			same_ct++;
	}
	qsort(nonces, NONCES, SEAL_NONCE_BYTES, cmp_nonce);
	for (i = 1; i < NONCES; i++)
		if (memcmp(nonces[i - 1], nonces[i], SEAL_NONCE_BYTES) == 0)
			dup++;
	is_int(dup, 0, "%d encryptions use %d distinct nonces", NONCES, NONCES);
	is_int(same_ct, 0, "same message never gives the same ciphertext");
	free(nonces);
}

static void test_derive(const uint8_t *key)
{
	uint8_t a[SEAL_KEY_BYTES], b[SEAL_KEY_BYTES], z[SEAL_KEY_BYTES];
	uint8_t key2[SEAL_KEY_BYTES];

	seal_derive(a, 1, "vfsnames", key);
	seal_derive(b, 1, "vfsnames", key);
	is_mem(a, b, sizeof(a), "derive is deterministic");
	memset(z, 0, sizeof(z));
	ok(memcmp(a, z, sizeof(a)) != 0 && memcmp(a, key, sizeof(a)) != 0,
	   "subkey is neither zero nor the master key");
	seal_derive(b, 2, "vfsnames", key);
	ok(memcmp(a, b, sizeof(a)) != 0, "different id, different subkey");
	seal_derive(b, 1, "vfschunk", key);
	ok(memcmp(a, b, sizeof(a)) != 0, "different context, different subkey");
	memcpy(key2, key, sizeof(key2));
	key2[0] ^= 1;
	seal_derive(b, 1, "vfsnames", key2);
	ok(memcmp(a, b, sizeof(a)) != 0, "different master, different subkey");
}

static void test_hash(const uint8_t *key)
{
	static const uint8_t abc_blake2b_32[32] = {
		/* BLAKE2b-256("abc"), RFC 7693 parameters, unkeyed */
		0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72,
		0x31, 0x71, 0xef, 0x3f, 0xee, 0x98, 0x57, 0x9b,
		0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb, 0x3e, 0x42,
		0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19,
	};
	uint8_t h1[64], h2[64];

	seal_hash(h1, 32, NULL, "abc", 3);
	is_mem(h1, abc_blake2b_32, 32, "unkeyed BLAKE2b-256 known answer");
	seal_hash(h1, 32, key, "abc", 3);
	ok(memcmp(h1, abc_blake2b_32, 32) != 0, "keyed hash differs");
	seal_hash(h2, 32, key, "abc", 3);
	is_mem(h1, h2, 32, "keyed hash is deterministic");
	seal_hash(h2, 32, key, "abd", 3);
	ok(memcmp(h1, h2, 32) != 0, "different input, different hash");
	seal_hash(h1, 16, NULL, NULL, 0);
	seal_hash(h2, 64, NULL, NULL, 0);
	ok(memcmp(h1, h2, 16) != 0, "output length is part of the hash");
}

static void test_stream(const uint8_t *key, const uint8_t *msg)
{
	uint8_t nonce[SEAL_NONCE_BYTES], c[MSG_LEN], m[MSG_LEN];

	seal_random(nonce, sizeof(nonce));
	seal_stream_xor(c, msg, MSG_LEN, nonce, key);
	ok(memcmp(c, msg, MSG_LEN) != 0, "stream xor changes data");
	seal_stream_xor(m, c, MSG_LEN, nonce, key);
	is_mem(m, msg, MSG_LEN, "stream xor twice is identity");
	memcpy(m, msg, MSG_LEN);
	seal_stream_xor(m, m, MSG_LEN, nonce, key);
	is_mem(m, c, MSG_LEN, "stream xor in place");
}

static void test_secret(void)
{
	uint8_t *p = seal_secret_alloc(100);

	ok(p != NULL, "secret alloc");
	if (p != NULL) {
		memset(p, 0x5a, 100);
		seal_secret_free(p);
	}
	seal_secret_free(NULL);
	ok(1, "secret free of NULL is fine");
}

/* The key pool: distinct slots past one pool page, wiped when freed. */
static void test_key_pool(void)
{
	enum { N = 300 };
	static uint8_t *k[N];
	static const uint8_t zero[SEAL_KEY_BYTES];
	bool distinct = true, usable = true;
	uint8_t *again;

	for (int i = 0; i < N; i++) {
		k[i] = seal_key_alloc();
		if (!k[i]) {
			usable = false;
			break;
		}
		memset(k[i], i & 0xff, SEAL_KEY_BYTES);
	}
	ok(usable, "key pool: %d keys (more than one pool page)", N);
	for (int i = 0; usable && i < N; i++)
		if (k[i][0] != (i & 0xff) || k[i][SEAL_KEY_BYTES - 1] != (i & 0xff))
			distinct = false;
	ok(distinct, "key pool: slots do not overlap");
	seal_key_free(k[7]);
	ok(memcmp(k[7], zero, sizeof(zero)) == 0, "key pool: a freed key is wiped");
	again = seal_key_alloc();
	ok(again == k[7], "key pool: a freed slot is reused");
	for (int i = 0; usable && i < N; i++)
		seal_key_free(k[i]);
	seal_key_free(NULL);
	ok(1, "key pool: freeing NULL is fine");
}

int main(void)
{
	uint8_t key[SEAL_KEY_BYTES], msg[MSG_LEN];
	size_t i;

	is_int(seal_init(), 0, "seal_init");
	is_int(seal_init(), 0, "seal_init twice");
	seal_random(key, sizeof(key));
	seal_random(msg, sizeof(msg));

	test_round_trip(key, msg);
	for (i = 0; i < sizeof(ad); i += 9)
		test_tamper(key, msg, T_AD, i, "ad");
	for (i = 0; i < SEAL_NONCE_BYTES; i += 7)
		test_tamper(key, msg, T_NONCE, i, "nonce");
	test_tamper(key, msg, T_NONCE, SEAL_NONCE_BYTES - 1, "nonce");
	test_tamper(key, msg, T_CT, 0, "ciphertext");
	test_tamper(key, msg, T_CT, MSG_LEN - 1, "ciphertext");
	test_tamper(key, msg, T_CT, MSG_LEN, "tag");
	test_tamper(key, msg, T_CT, MSG_LEN + SEAL_TAG_BYTES - 1, "tag");
	test_wrong_key(key, msg);
	test_in_place(key, msg);
	test_nonces(key, msg);
	test_derive(key);
	test_hash(key);
	test_stream(key, msg);
	test_secret();
	test_key_pool();
	return done_testing();
}
