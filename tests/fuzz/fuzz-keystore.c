/*
 * fuzz-keystore.c - the key store parser (keystore_open, keystore_peek_format).
 *
 * A fuzzer cannot forge the AEADs that guard the store, so besides raw
 * files this target builds valid ones from the input: the first byte picks
 * the mode, the input supplies the clear part (112 bytes) and the body
 * plaintext, and the harness seals them with the documented format under
 * the passphrase "fuzz".  That drives the clear-part checks and the body
 * parser with arbitrary values.  Argon2id parameters the parser would
 * accept are lowered to the minimum (1 pass, 8 KiB) to keep runs fast;
 * rejected ones are kept, so those checks are fuzzed too.
 *
 *   data[0] & 1   0: the rest is the file as is; 1: build a sealed store
 *   data[0] & 2   slot count 2 instead of 1 (built stores)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/le.h"
#include "tmpfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASS "fuzz"
#define OFF_KDF 76
#define CLEAR 112
#define OFF_SLOT 116
#define OFF_BODY 188
#define OFF_BODY_CT 216
#define BODY_CAP 3000

static int setup(void)
{
	return seal_init() < 0 ? -1 : tmp_setup("fuzz-keystore", KEYSTORE_FILE);
}

/* Lower Argon2id costs the parser would accept; keep rejected values. */
static void cheap_kdf(uint8_t *file)
{
	uint64_t ops = le_get64(file + OFF_KDF + 4), mem = le_get64(file + OFF_KDF + 12);

	if (ops >= 1 && ops <= 64)
		le_put64(file + OFF_KDF + 4, 1);
	if (mem >= 8192 && mem <= (4ULL << 30))
		le_put64(file + OFF_KDF + 12, 8192);
}

/* Seal the clear part and body from the input into a well-formed file. */
static size_t build(uint8_t *file, const uint8_t *in, size_t n, int mode)
{
	static const uint8_t master[32] = { 0x4d, 0x4b };
	uint8_t key[32] = { 0 };
	size_t plen;

	memset(file, 0, OFF_BODY_CT);
	memcpy(file, in, n < CLEAR ? n : CLEAR);
	cheap_kdf(file);
	plen = n > CLEAR ? n - CLEAR : 0;
	if (plen > BODY_CAP)
		plen = BODY_CAP;

	file[CLEAR] = (mode & 2) ? 2 : 1;	/* slot count, LE u32 */
	/* With parameters the parser refuses, any key will do. */
	if (le_get64(file + OFF_KDF + 4) == 1 && le_get64(file + OFF_KDF + 12) == 8192)
		if (crypto_pwhash(key, 32, PASS, strlen(PASS), file + OFF_KDF + 20,
				  1, 8192, crypto_pwhash_ALG_ARGON2ID13) != 0)
			abort();
	crypto_aead_xchacha20poly1305_ietf_encrypt(file + OFF_SLOT + 24, NULL,
			master, 32, file, CLEAR, NULL, file + OFF_SLOT, key);
	file[OFF_BODY_CT - 4] = (uint8_t)(plen + 16);
	file[OFF_BODY_CT - 3] = (uint8_t)((plen + 16) >> 8);
	crypto_aead_xchacha20poly1305_ietf_encrypt(file + OFF_BODY_CT, NULL,
			in + CLEAR, plen, file, CLEAR, NULL, file + OFF_BODY,
			master);
	return OFF_BODY_CT + plen + 16;
}

/* A store that opened must behave. */
static void exercise(struct keystore *ks)
{
	const struct vault_settings *s = keystore_settings(ks);
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	uint8_t doc[16] = { 1 }, dek[32] = { 2 }, out[32];
	uint8_t wrapped[KEYSTORE_WRAPPED_BYTES];
	uint32_t ver = 0;
	size_t n = 0, active = 0;

	if (s->chunk_size < 4096 || s->chunk_size > (1u << 20) ||
	    (s->chunk_size & (s->chunk_size - 1)) != 0 ||
	    s->compress_level < 0 || s->compress_level > 19 ||
	    s->format != KEYSTORE_FORMAT)
		abort();
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	if (n == 0 || n > KEYSTORE_MAX_KEKS)
		abort();
	for (size_t i = 0; i < n; i++)
		if (info[i].state == KEYSTORE_KEK_ACTIVE)
			active++;
	if (active != 1)
		abort();
	(void)keystore_name_key(ks)[31];
	if (keystore_wrap_dek(ks, doc, dek, &ver, wrapped) != 0 ||
	    keystore_unwrap_dek(ks, doc, ver, wrapped, out) != 0 ||
	    memcmp(out, dek, 32) != 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		int r = keystore_unwrap_dek(ks, doc, info[i].version, wrapped,
					    out);

		if (info[i].version == ver ? r != 0 :
		    (r != -EBADMSG && r != -ENOKEY))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t file[OFF_BODY_CT + BODY_CAP + 16 + 1024];
	struct keystore *ks = NULL;
	uint32_t format = 0;
	size_t len;
	int r;

	if (size < 1 || setup() < 0)
		return 0;
	if (data[0] & 1) {
		len = build(file, data + 1, size - 1, data[0]);
	} else {
		len = size - 1 < sizeof(file) ? size - 1 : sizeof(file);
		memcpy(file, data + 1, len);
		if (len >= CLEAR)
			cheap_kdf(file);
	}
	tmp_write(file, len);

	r = keystore_peek_format(tmp_dir, &format);
	if (r != 0 && r != -EBADMSG)
		abort();
	r = keystore_open(tmp_dir, PASS, strlen(PASS), &ks);
	if (r == 0) {
		if (ks == NULL)
			abort();
		exercise(ks);
	} else if (ks != NULL || (r != -EBADMSG && r != -EKEYREJECTED &&
				  r != -EPROTONOSUPPORT)) {
		abort();
	}
	keystore_free(ks);
	return 0;
}
