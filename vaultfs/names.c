/* names.c - see names.h. */
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define KDF_CTX "vfsnames"
#define KDF_ID_MAC 1
#define KDF_ID_ENC 2
#define KDF_ID_LINK 3

#define IV_BYTES SEAL_NONCE_BYTES		/* 24: BLAKE2b-192 */
#define BLOCK_BYTES 16
#define PAD_MAX (NAMES_PLAIN_MAX + 1)		/* 256: name + 0x80 */
#define BIN_MAX (IV_BYTES + PAD_MAX)		/* 280 */
#define LONG_HASH_BYTES 32			/* BLAKE2b-256 */
#define LONG_HASH_CHARS 43			/* base64url, no padding */
#define LINK_AD "vaultfs-symlink"
#define LINK_BIN_MAX (SEAL_NONCE_BYTES + NAMES_LINK_MAX + SEAL_TAG_BYTES)

/* Characters of the unpadded base64 encoding of n bytes. */
#define B64_CHARS(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

_Static_assert(PAD_MAX % BLOCK_BYTES == 0, "padded maximum is whole blocks");
_Static_assert(sodium_base64_ENCODED_LEN(BIN_MAX, B64_VARIANT) <=
	       NAMES_ENC_MAX, "NAMES_ENC_MAX too small");
_Static_assert(1 + LONG_HASH_CHARS + sizeof(NAMES_LONG_SUFFIX) <=
	       NAMES_BACKING_MAX, "NAMES_BACKING_MAX too small");
_Static_assert(B64_CHARS(LONG_HASH_BYTES) == LONG_HASH_CHARS,
	       "long hash length");
_Static_assert(NAMES_SHORT_MAX < NAMES_BACKING_MAX, "short names fit");
_Static_assert(B64_CHARS(SEAL_NONCE_BYTES + NAMES_LINK_TARGET_MAX +
			 SEAL_TAG_BYTES) <= NAMES_LINK_ENC_LIMIT &&
	       B64_CHARS(SEAL_NONCE_BYTES + NAMES_LINK_TARGET_MAX + 1 +
			 SEAL_TAG_BYTES) > NAMES_LINK_ENC_LIMIT,
	       "NAMES_LINK_TARGET_MAX is the largest target that fits");
_Static_assert(sodium_base64_ENCODED_LEN(LINK_BIN_MAX, B64_VARIANT) <=
	       NAMES_LINK_ENC_MAX, "NAMES_LINK_ENC_MAX too small");

struct names_key {
	uint8_t mac[SEAL_KEY_BYTES];
	uint8_t enc[SEAL_KEY_BYTES];
	uint8_t link[SEAL_KEY_BYTES];
};

struct names_key *names_key_new(const uint8_t key[SEAL_KEY_BYTES])
{
	struct names_key *k = seal_secret_alloc(sizeof(*k));

	if (k == NULL)
		return NULL;
	seal_derive(k->mac, KDF_ID_MAC, KDF_CTX, key);
	seal_derive(k->enc, KDF_ID_ENC, KDF_CTX, key);
	seal_derive(k->link, KDF_ID_LINK, KDF_CTX, key);
	/* Immutable from here on: readers on many threads, no toggling. */
	sodium_mprotect_readonly(k);
	return k;
}

void names_key_free(struct names_key *k)
{
	/* sodium_free() (behind seal_secret_free) makes it writable, wipes. */
	seal_secret_free(k);
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool all_b64(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_b64_char(s[i]))
			return false;
	return true;
}

/*
 * Decode base64url (no padding) strictly: only the canonical encoding of
 * the result is accepted, so every decoded value has exactly one spelling
 * and a backing name cannot be varied without changing what it decodes to.
 */
static int b64_decode(uint8_t *bin, size_t cap, const char *s, size_t len,
		      size_t *binlen)
{
	char again[NAMES_LINK_ENC_MAX];
	size_t n;

	/*
	 * The alphabet check is not redundant: libsodium 1.0.18 decodes any
	 * byte >= 0x80 as '_' (value 63), which would give one name many
	 * spellings.
	 */
	if (!all_b64(s, len) || len % 4 == 1)
		return -EBADMSG;
	if (sodium_base642bin(bin, cap, s, len, NULL, &n, NULL,
			      B64_VARIANT) != 0)
		return -EBADMSG;
	/* libsodium rejects non-zero trailing bits; do not depend on it. */
	if (B64_CHARS(n) != len || sodium_base64_ENCODED_LEN(n, B64_VARIANT) >
	    sizeof(again))
		return -EBADMSG;
	sodium_bin2base64(again, sizeof(again), bin, n, B64_VARIANT);
	if (memcmp(again, s, len) != 0)
		return -EBADMSG;
	*binlen = n;
	return 0;
}

/* Is name (len bytes) acceptable as a directory entry name? */
static int check_name(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > NAMES_PLAIN_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL)
		return -EINVAL;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

/* IV = BLAKE2b-192 keyed with Kmac over (dirid || P). */
static void siv(uint8_t iv[IV_BYTES], const struct names_key *k,
		const uint8_t dirid[NAMES_DIRID_BYTES], const uint8_t *p,
		size_t plen)
{
	uint8_t buf[NAMES_DIRID_BYTES + PAD_MAX];

	memcpy(buf, dirid, NAMES_DIRID_BYTES);
	memcpy(buf + NAMES_DIRID_BYTES, p, plen);
	seal_hash(iv, IV_BYTES, k->mac, buf, NAMES_DIRID_BYTES + plen);
	sodium_memzero(buf, sizeof(buf));
}

static void long_backing(char backing[NAMES_BACKING_MAX], const char *enc,
			 size_t enclen)
{
	uint8_t h[LONG_HASH_BYTES];

	seal_hash(h, sizeof(h), NULL, enc, enclen);
	backing[0] = '@';
	sodium_bin2base64(backing + 1, NAMES_BACKING_MAX - 1, h, sizeof(h),
			  B64_VARIANT);
}

enum names_kind names_classify(const char *backing)
{
	size_t len = strlen(backing);
	size_t slen = strlen(NAMES_LONG_SUFFIX);
	const char *tmp;

	if (strcmp(backing, NAMES_DIRID_FILE) == 0 ||
	    strncmp(backing, NAMES_TMP_PREFIX, strlen(NAMES_TMP_PREFIX)) == 0)
		return NAMES_RESERVED;
	/* write_file_atomic() temp files: "<name>.tmp.<suffix>". */
	for (tmp = strstr(backing, ".tmp."); tmp != NULL;
	     tmp = strstr(tmp + 1, ".tmp.")) {
		const char *suffix = tmp + 5;

		if (*suffix != '\0' && strchr(suffix, '.') == NULL)
			return NAMES_RESERVED;
	}

	if (backing[0] == '@') {
		if (len == 1 + LONG_HASH_CHARS &&
		    all_b64(backing + 1, LONG_HASH_CHARS))
			return NAMES_LONG;
		if (len == 1 + LONG_HASH_CHARS + slen &&
		    all_b64(backing + 1, LONG_HASH_CHARS) &&
		    strcmp(backing + 1 + LONG_HASH_CHARS,
			   NAMES_LONG_SUFFIX) == 0)
			return NAMES_LONG_SIDE;
		return NAMES_FOREIGN;
	}

	/* An entry encodes IV || k blocks, and is no longer than SHORT_MAX. */
	if (len <= NAMES_SHORT_MAX && all_b64(backing, len)) {
		for (size_t n = IV_BYTES + BLOCK_BYTES; n <= BIN_MAX;
		     n += BLOCK_BYTES)
			if (B64_CHARS(n) == len)
				return NAMES_ENTRY;
	}
	return NAMES_FOREIGN;
}

int names_encrypt(const struct names_key *k,
		  const uint8_t dirid[NAMES_DIRID_BYTES],
		  const char *name, size_t namelen,
		  char enc[NAMES_ENC_MAX], char backing[NAMES_BACKING_MAX],
		  bool *is_long)
{
	uint8_t p[PAD_MAX], bin[BIN_MAX];
	size_t plen, enclen;
	int r;

	r = check_name(name, namelen);
	if (r < 0)
		return r;

	/* P = name || 0x80 || 0x00..., a whole number of blocks. */
	plen = (namelen / BLOCK_BYTES + 1) * BLOCK_BYTES;
	memset(p, 0, sizeof(p));
	memcpy(p, name, namelen);
	p[namelen] = 0x80;

	siv(bin, k, dirid, p, plen);
	seal_stream_xor(bin + IV_BYTES, p, plen, bin, k->enc);
	sodium_bin2base64(enc, NAMES_ENC_MAX, bin, IV_BYTES + plen,
			  B64_VARIANT);
	enclen = strlen(enc);

	if (enclen > NAMES_SHORT_MAX) {
		long_backing(backing, enc, enclen);
		*is_long = true;
	} else {
		memcpy(backing, enc, enclen + 1);
		*is_long = false;
	}
	sodium_memzero(p, sizeof(p));
	return 0;
}

int names_decrypt(const struct names_key *k,
		  const uint8_t dirid[NAMES_DIRID_BYTES],
		  const char *enc, size_t enclen,
		  char name[NAMES_PLAIN_MAX + 1], size_t *namelen)
{
	uint8_t bin[BIN_MAX], p[PAD_MAX], iv[IV_BYTES];
	size_t binlen, plen, len;
	int r = -EBADMSG;

	if (enclen > B64_CHARS(BIN_MAX) ||
	    b64_decode(bin, sizeof(bin), enc, enclen, &binlen) < 0)
		goto out;
	if (binlen < IV_BYTES + BLOCK_BYTES ||
	    (binlen - IV_BYTES) % BLOCK_BYTES != 0)
		goto out;
	plen = binlen - IV_BYTES;

	seal_stream_xor(p, bin + IV_BYTES, plen, bin, k->enc);
	siv(iv, k, dirid, p, plen);
	if (sodium_memcmp(iv, bin, IV_BYTES) != 0)
		goto out;

	/* Padding: the last non-zero byte is 0x80, in the last block. */
	len = plen;
	while (len > 0 && p[len - 1] == 0)
		len--;
	if (len == 0 || p[len - 1] != 0x80)
		goto out;
	len--;
	if ((len / BLOCK_BYTES + 1) * BLOCK_BYTES != plen)
		goto out;
	if (check_name((const char *)p, len) < 0)
		goto out;

	memcpy(name, p, len);
	name[len] = '\0';
	*namelen = len;
	r = 0;
out:
	if (r < 0) {
		sodium_memzero(name, NAMES_PLAIN_MAX + 1);
		*namelen = 0;
	}
	sodium_memzero(p, sizeof(p));
	return r;
}

bool names_long_matches(const char *backing, const char *enc, size_t enclen)
{
	char want[NAMES_BACKING_MAX];
	size_t len = strnlen(backing, NAMES_BACKING_MAX);

	if (len != 1 + LONG_HASH_CHARS || backing[0] != '@')
		return false;
	long_backing(want, enc, enclen);
	return sodium_memcmp(want, backing, len) == 0;
}

int names_link_encrypt(const struct names_key *k, const char *target,
		       size_t len, char enc[NAMES_LINK_ENC_MAX])
{
	uint8_t *bin;
	size_t binlen = SEAL_NONCE_BYTES + len + SEAL_TAG_BYTES;

	if (len == 0 || memchr(target, '\0', len) != NULL)
		return -EINVAL;
	if (len > NAMES_LINK_TARGET_MAX)
		return -ENAMETOOLONG;
	bin = malloc(binlen);
	if (bin == NULL)
		return -ENOMEM;
	seal_encrypt(k->link, LINK_AD, strlen(LINK_AD), target, len, bin,
		     bin + SEAL_NONCE_BYTES);
	sodium_bin2base64(enc, NAMES_LINK_ENC_MAX, bin, binlen, B64_VARIANT);
	free(bin);
	return 0;
}

int names_link_decrypt(const struct names_key *k, const char *enc,
		       size_t enclen, char target[NAMES_LINK_MAX + 1],
		       size_t *len)
{
	uint8_t *bin;
	size_t binlen, tlen;
	int r = -EBADMSG;

	bin = malloc(LINK_BIN_MAX);
	if (bin == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (enclen > B64_CHARS(LINK_BIN_MAX) ||
	    b64_decode(bin, LINK_BIN_MAX, enc, enclen, &binlen) < 0)
		goto out;
	if (binlen < SEAL_NONCE_BYTES + 1 + SEAL_TAG_BYTES)
		goto out;
	tlen = binlen - SEAL_NONCE_BYTES - SEAL_TAG_BYTES;
	r = seal_decrypt(k->link, LINK_AD, strlen(LINK_AD), bin,
			 bin + SEAL_NONCE_BYTES, binlen - SEAL_NONCE_BYTES,
			 target);
	if (r < 0)
		goto out;
	if (memchr(target, '\0', tlen) != NULL) {
		r = -EBADMSG;
		goto out;
	}
	target[tlen] = '\0';
	*len = tlen;
out:
	if (r < 0) {
		sodium_memzero(target, NAMES_LINK_MAX + 1);
		*len = 0;
	}
	free(bin);
	return r;
}
