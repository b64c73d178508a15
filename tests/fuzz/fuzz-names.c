/*
 * fuzz-names.c - names.h decoders on arbitrary input.
 *
 * The first byte picks what the rest is:
 *   0  a plaintext name: encrypt, then decrypt must give it back
 *   1  an encrypted name (backing entry or side file) to decrypt
 *   2  a plaintext symlink target: encrypt, then decrypt must give it back
 *   3  an encrypted symlink target to decrypt
 * Every input is also classified as a backing name and checked against a
 * long entry.  Fixed key and dir id, so seeds stay valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t dirid[NAMES_DIRID_BYTES] = {
	0x64, 0x69, 0x72, 0x69, 0x64, 0x2d, 0x66, 0x75,
	0x7a, 0x7a, 0x2d, 0x6e, 0x61, 0x6d, 0x65, 0x73,
};

static struct names_key *fuzz_key(void)
{
	static struct names_key *k;
	uint8_t key[SEAL_KEY_BYTES];

	if (k == NULL) {
		if (seal_init() != 0)
			abort();
		memset(key, 0x42, sizeof(key));	/* test key, not a secret */
		k = names_key_new(key);
		if (k == NULL)
			abort();
	}
	return k;
}

static void names_round_trip(const struct names_key *k, const char *in,
			     size_t len)
{
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	char name[NAMES_PLAIN_MAX + 1];
	size_t outlen;
	bool is_long;

	if (names_encrypt(k, dirid, in, len, enc, backing, &is_long) != 0)
		return;
	if (names_decrypt(k, dirid, enc, strlen(enc), name, &outlen) != 0 ||
	    outlen != len || memcmp(name, in, len) != 0)
		abort();
	if (is_long ? names_classify(backing) != NAMES_LONG ||
		      !names_long_matches(backing, enc, strlen(enc))
		    : names_classify(backing) != NAMES_ENTRY)
		abort();
}

static void names_decode(const struct names_key *k, const char *in,
			 size_t len)
{
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	char name[NAMES_PLAIN_MAX + 1];
	size_t outlen;
	bool is_long;

	if (names_decrypt(k, dirid, in, len, name, &outlen) != 0)
		return;
	/* Whatever decrypts is a valid name with exactly this encoding. */
	if (names_encrypt(k, dirid, name, outlen, enc, backing,
			  &is_long) != 0 || strlen(enc) != len ||
	    memcmp(enc, in, len) != 0)
		abort();
}

static void link_round_trip(const struct names_key *k, const char *in,
			    size_t len)
{
	static char enc[NAMES_LINK_ENC_MAX], target[NAMES_LINK_MAX + 1];
	size_t outlen;

	if (names_link_encrypt(k, in, len, enc) != 0)
		return;
	if (strlen(enc) > NAMES_LINK_ENC_LIMIT ||
	    names_link_decrypt(k, enc, strlen(enc), target, &outlen) != 0 ||
	    outlen != len || memcmp(target, in, len) != 0)
		abort();
}

static void link_decode(const struct names_key *k, const char *in,
			size_t len)
{
	static char target[NAMES_LINK_MAX + 1];
	size_t outlen;

	if (names_link_decrypt(k, in, len, target, &outlen) == 0 &&
	    (outlen == 0 || outlen > NAMES_LINK_MAX || target[outlen] != '\0' ||
	     strlen(target) != outlen))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct names_key *k = fuzz_key();
	const char *in;
	char *str;
	size_t len;

	if (size == 0)
		return 0;
	in = (const char *)data + 1;
	len = size - 1;

	switch (data[0] & 3) {
	case 0:
		names_round_trip(k, in, len);
		break;
	case 1:
		names_decode(k, in, len);
		break;
	case 2:
		link_round_trip(k, in, len);
		break;
	default:
		link_decode(k, in, len);
		break;
	}

	/* As a backing entry name (NUL-terminated, possibly cut short). */
	str = malloc(len + 1);
	if (str == NULL)
		return 0;
	memcpy(str, in, len);
	str[len] = '\0';
	switch (names_classify(str)) {
	case NAMES_ENTRY:
	case NAMES_LONG:
	case NAMES_LONG_SIDE:
	case NAMES_RESERVED:
	case NAMES_FOREIGN:
		break;
	default:
		abort();
	}
	(void)names_long_matches(str, in, len);
	free(str);
	return 0;
}
