/*
 * t-keystore.c - key store: create/open round trip, wrong passphrase,
 * every region of the file tampered or cut, future formats, bodies that
 * authenticate but break the rules, DEK wrapping; changing the store:
 * passphrase change (new master key), the rotation record, rotation
 * begin and finish, a full KEK table, the writers' lock.
 *
 * Uses the interactive Argon2id preset (64 MiB, ~0.1 s per unlock).
 * Part of the test re-implements the documented byte format (man/vaultfs.5)
 * with libsodium directly, so the format and the code are checked against
 * each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../../keys/keystore.h"
#include "../../vaultfs/le.h"

#define PASS "correct horse battery staple"

/* Offsets from the documented format. */
#define OFF_FORMAT 8
#define OFF_SETTINGS 12
#define OFF_KDF 76
#define OFF_SALT (OFF_KDF + 20)
#define CLEAR 112
#define OFF_SLOTS 112
#define OFF_SLOT 116
#define OFF_BODY 188
#define OFF_BODY_LEN 212
#define OFF_BODY_CT 216

static char dir[] = "/tmp/t-keystore.XXXXXX";
static char path[256];

static size_t slurp(uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void spit(const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static int try_open(struct keystore **ks)
{
	*ks = NULL;
	return keystore_open(dir, PASS, strlen(PASS), ks);
}

/* Open the current file; it must fail with one of want1/want2. */
static void expect_fail(const char *what, size_t off, int want1, int want2)
{
	struct keystore *ks;
	int r = try_open(&ks);

	ok(r < 0 && ks == NULL && (r == want1 || r == want2),
	   "%s: byte %zu flipped -> %d", what, off, r);
	keystore_free(ks);
}

struct region {
	const char *name;
	size_t from, to;	/* [from, to) */
	int want1, want2;
	size_t step;		/* 1 = every byte (cheap checks) */
};

static void tamper_regions(const uint8_t *orig, size_t len)
{
	const struct region regions[] = {
		{ "magic", 0, 8, -EBADMSG, -EBADMSG, 1 },
		/* format 1 ^ 1 = 0 is invalid; any higher byte: future */
		{ "format", 8, 9, -EBADMSG, -EBADMSG, 1 },
		{ "format", 9, 12, -EPROTONOSUPPORT, -EPROTONOSUPPORT, 1 },
		/* the clear part is the slot's AD: looks like a wrong pass */
		{ "settings", OFF_SETTINGS, OFF_KDF, -EBADMSG, -EKEYREJECTED, 3 },
		{ "kdf params", OFF_KDF, CLEAR, -EBADMSG, -EKEYREJECTED, 3 },
		{ "slot count", OFF_SLOTS, OFF_SLOT, -EBADMSG, -EBADMSG, 1 },
		{ "slot", OFF_SLOT, OFF_BODY, -EKEYREJECTED, -EKEYREJECTED, 5 },
		{ "body nonce", OFF_BODY, OFF_BODY_LEN, -EBADMSG, -EBADMSG, 5 },
		{ "body length", OFF_BODY_LEN, OFF_BODY_CT, -EBADMSG, -EBADMSG, 1 },
		{ "body", OFF_BODY_CT, len, -EBADMSG, -EBADMSG, 7 },
	};
	uint8_t buf[4096];

	for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
		const struct region *g = &regions[r];

		for (size_t i = g->from; i < g->to; i += g->step) {
			memcpy(buf, orig, len);
			buf[i] ^= 0x01;
			spit(buf, len);
			expect_fail(g->name, i, g->want1, g->want2);
		}
		/* and always the region's last byte */
		if ((g->to - 1 - g->from) % g->step != 0) {
			memcpy(buf, orig, len);
			buf[g->to - 1] ^= 0x80;
			spit(buf, len);
			expect_fail(g->name, g->to - 1, g->want1, g->want2);
		}
	}
	spit(orig, len);
}

static void truncations(const uint8_t *orig, size_t len)
{
	const size_t cuts[] = { 0, 1, 7, 8, 11, 12, 50, CLEAR, OFF_SLOT,
				OFF_BODY, OFF_BODY_CT, OFF_BODY_CT + 10,
				len - 16, len - 1 };
	struct keystore *ks;
	uint8_t buf[4096];
	int r;

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		spit(orig, cuts[i]);
		r = try_open(&ks);
		is_int(r, -EBADMSG, "truncated to %zu bytes", cuts[i]);
		keystore_free(ks);
	}
	memcpy(buf, orig, len);
	buf[len] = 0;
	spit(buf, len + 1);
	is_int(try_open(&ks), -EBADMSG, "one trailing byte");
	keystore_free(ks);
	memset(buf, 0, sizeof(buf));
	spit(buf, sizeof(buf));
	is_int(try_open(&ks), -EBADMSG, "4096 zero bytes");
	keystore_free(ks);
	spit(orig, len);
}

static void future_format(const uint8_t *orig, size_t len)
{
	struct keystore *ks;
	uint8_t buf[4096];
	uint32_t fmt = 0;

	/* Format 2 with absurd KDF parameters: refused before any KDF. */
	memcpy(buf, orig, len);
	le_put32(buf + OFF_FORMAT, KEYSTORE_FORMAT + 1);
	le_put64(buf + OFF_KDF + 4, UINT64_MAX);
	le_put64(buf + OFF_KDF + 12, UINT64_MAX);
	spit(buf, len);
	is_int(try_open(&ks), -EPROTONOSUPPORT, "future format refused");
	ok(ks == NULL, "no key store for a future format");
	is_int(keystore_peek_format(dir, &fmt), 0, "peek a future format");
	is_int(fmt, KEYSTORE_FORMAT + 1, "peek reports format 2");
	/* even a future format that is too short for format 1 */
	spit(buf, 12);
	is_int(try_open(&ks), -EPROTONOSUPPORT, "short future format refused");

	/* Absurd KDF parameters in a current-format file. */
	memcpy(buf, orig, len);
	le_put64(buf + OFF_KDF + 12, 8ULL << 30);
	spit(buf, len);
	is_int(try_open(&ks), -EBADMSG, "memlimit 8 GiB refused");
	memcpy(buf, orig, len);
	le_put64(buf + OFF_KDF + 12, 1024);
	spit(buf, len);
	is_int(try_open(&ks), -EBADMSG, "memlimit 1 KiB refused");
	memcpy(buf, orig, len);
	le_put64(buf + OFF_KDF + 4, 0);
	spit(buf, len);
	is_int(try_open(&ks), -EBADMSG, "opslimit 0 refused");
	memcpy(buf, orig, len);
	le_put64(buf + OFF_KDF + 4, 1ULL << 40);
	spit(buf, len);
	is_int(try_open(&ks), -EBADMSG, "opslimit 2^40 refused");
	memcpy(buf, orig, len);
	le_put32(buf + OFF_KDF, 1);	/* Argon2i */
	spit(buf, len);
	is_int(try_open(&ks), -EBADMSG, "other KDF algorithm refused");
	spit(orig, len);
}

/*
 * Decrypt the body with the documented format, let edit() change the
 * plaintext (and its length), re-seal it and write the file.  Returns the
 * new file length.
 */
typedef size_t (*body_edit)(uint8_t *body, size_t plen);

static size_t reseal(const uint8_t *orig, size_t len, body_edit edit,
		     uint8_t master_out[32])
{
	uint8_t buf[4096], key[32], master[32], body[4096];
	unsigned long long mlen;
	size_t plen, ctlen = le_get32(orig + OFF_BODY_LEN);

	if (crypto_pwhash(key, 32, PASS, strlen(PASS), orig + OFF_SALT,
			  le_get64(orig + OFF_KDF + 4),
			  (size_t)le_get64(orig + OFF_KDF + 12),
			  crypto_pwhash_ALG_ARGON2ID13) != 0 ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(master, &mlen, NULL,
			orig + OFF_SLOT + 24, 48, orig, CLEAR,
			orig + OFF_SLOT, key) != 0 ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(body, &mlen, NULL,
			orig + OFF_BODY_CT, ctlen, orig, CLEAR,
			orig + OFF_BODY, master) != 0) {
		diag("reseal: the documented format did not decrypt");
		exit(1);
	}
	plen = edit(body, (size_t)mlen);
	memcpy(buf, orig, OFF_BODY_CT);
	le_put32(buf + OFF_BODY_LEN, (uint32_t)(plen + 16));
	randombytes_buf(buf + OFF_BODY, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(buf + OFF_BODY_CT, NULL,
			body, plen, buf, CLEAR, NULL, buf + OFF_BODY, master);
	spit(buf, OFF_BODY_CT + plen + 16);
	if (master_out != NULL)
		memcpy(master_out, master, 32);
	sodium_memzero(master, sizeof(master));
	sodium_memzero(key, sizeof(key));
	return OFF_BODY_CT + plen + 16;
}

/* Body offsets: name key 32, active 4, count 4, then 45-byte KEKs. */
#define B_ACTIVE 32
#define B_COUNT 36
#define B_KEK(i) (40 + 45 * (i))

static size_t e_identity(uint8_t *b, size_t n) { (void)b; return n; }
static size_t e_count0(uint8_t *b, size_t n) { le_put32(b + B_COUNT, 0); return 40; }
static size_t e_count_big(uint8_t *b, size_t n)
{
	le_put32(b + B_COUNT, KEYSTORE_MAX_KEKS + 1);
	return n;
}
static size_t e_count_mismatch(uint8_t *b, size_t n)
{
	le_put32(b + B_COUNT, 2);
	return n;
}
static size_t e_trailing(uint8_t *b, size_t n) { b[n] = 0; return n + 1; }
static size_t e_short(uint8_t *b, size_t n) { return n - 1; }
static size_t e_version0(uint8_t *b, size_t n)
{
	le_put32(b + B_KEK(0), 0);
	le_put32(b + B_ACTIVE, 0);
	return n;
}
static size_t e_active_mismatch(uint8_t *b, size_t n)
{
	le_put32(b + B_ACTIVE, 2);
	return n;
}
static size_t e_bad_state(uint8_t *b, size_t n) { b[B_KEK(0) + 12] = 4; return n; }
static size_t e_no_active(uint8_t *b, size_t n)
{
	b[B_KEK(0) + 12] = KEYSTORE_KEK_RETIRING;
	return n;
}
/* Append a second KEK record copied from the first, then adjust it. */
static size_t add_kek(uint8_t *b, size_t n, uint32_t version, uint8_t state)
{
	memcpy(b + n, b + B_KEK(0), 45);
	le_put32(b + n, version);
	b[n + 12] = state;
	le_put32(b + B_COUNT, le_get32(b + B_COUNT) + 1);
	return n + 45;
}
static size_t e_two_active(uint8_t *b, size_t n)
{
	return add_kek(b, n, 2, KEYSTORE_KEK_ACTIVE);
}
static size_t e_dup_version(uint8_t *b, size_t n)
{
	return add_kek(b, n, 1, KEYSTORE_KEK_RETIRING);
}
static size_t e_destroyed_with_key(uint8_t *b, size_t n)
{
	return add_kek(b, n, 2, KEYSTORE_KEK_DESTROYED);
}

/* v1 destroyed (zeroed), v2 retiring (key 0x22..), v3 active (0x33..). */
static size_t e_rotated(uint8_t *b, size_t n)
{
	b[B_KEK(0) + 12] = KEYSTORE_KEK_DESTROYED;
	memset(b + B_KEK(0) + 13, 0, 32);
	n = add_kek(b, n, 2, KEYSTORE_KEK_RETIRING);
	memset(b + B_KEK(1) + 13, 0x22, 32);
	n = add_kek(b, n, 3, KEYSTORE_KEK_ACTIVE);
	memset(b + B_KEK(2) + 13, 0x33, 32);
	le_put64(b + B_KEK(2) + 4, 1234567);
	le_put32(b + B_ACTIVE, 3);
	return n;
}

static void bad_bodies(const uint8_t *orig, size_t len)
{
	const struct {
		const char *what;
		body_edit edit;
	} cases[] = {
		{ "KEK count 0", e_count0 },
		{ "KEK count above the maximum", e_count_big },
		{ "KEK count does not match the length", e_count_mismatch },
		{ "trailing body byte", e_trailing },
		{ "body one byte short", e_short },
		{ "KEK version 0", e_version0 },
		{ "active version names no active KEK", e_active_mismatch },
		{ "unknown KEK state", e_bad_state },
		{ "no active KEK", e_no_active },
		{ "two active KEKs", e_two_active },
		{ "duplicate KEK version", e_dup_version },
		{ "destroyed KEK still holds key bytes", e_destroyed_with_key },
	};
	struct keystore *ks;

	reseal(orig, len, e_identity, NULL);
	ok(try_open(&ks) == 0, "re-sealed body from the documented format opens");
	keystore_free(ks);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reseal(orig, len, cases[i].edit, NULL);
		is_int(try_open(&ks), -EBADMSG, "%s", cases[i].what);
		ok(ks == NULL, "%s: no key store", cases[i].what);
	}
	spit(orig, len);
}

static void rotated_store(const uint8_t *orig, size_t len)
{
	uint8_t doc[16], dek[32], out[32], wrapped[KEYSTORE_WRAPPED_BYTES];
	uint8_t ad[20], k2[32];
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	struct keystore *ks;
	uint32_t ver = 0;
	size_t n = 0;

	reseal(orig, len, e_rotated, NULL);
	if (try_open(&ks) != 0) {
		ok(0, "rotated store opens");
		spit(orig, len);
		return;
	}
	ok(1, "rotated store opens");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	is_int(n, 3, "three KEKs listed");
	is_int(info[0].state, KEYSTORE_KEK_DESTROYED, "v1 destroyed");
	is_int(info[1].state, KEYSTORE_KEK_RETIRING, "v2 retiring");
	is_int(info[2].state, KEYSTORE_KEK_ACTIVE, "v3 active");
	is_int(info[2].created, 1234567, "v3 created time");
	keystore_keks(ks, info, 2, &n);
	is_int(n, 2, "listing stops at max");

	randombytes_buf(doc, sizeof(doc));
	randombytes_buf(dek, sizeof(dek));
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped), 0, "wrap");
	is_int(ver, 3, "new DEKs use the active KEK v3");

	/* A DEK wrapped under the retiring v2, by the documented format. */
	memset(k2, 0x22, sizeof(k2));
	memcpy(ad, doc, 16);
	le_put32(ad + 16, 2);
	randombytes_buf(wrapped, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + 24, NULL, dek, 32,
			ad, 20, NULL, wrapped, k2);
	is_int(keystore_unwrap_dek(ks, doc, 2, wrapped, out), 0,
	       "unwrap under retiring v2");
	is_mem(out, dek, 32, "retiring v2 gives the DEK");
	memset(out, 0xaa, sizeof(out));
	is_int(keystore_unwrap_dek(ks, doc, 1, wrapped, out), -ENOKEY,
	       "destroyed v1 -> ENOKEY");
	ok(sodium_is_zero(out, 32), "output zeroed for a destroyed KEK");
	keystore_free(ks);
	spit(orig, len);
}

static void wrapping(struct keystore *ks, struct keystore *ks2)
{
	uint8_t doc[16], doc2[16], dek[32], out[32];
	uint8_t wrapped[KEYSTORE_WRAPPED_BYTES], bad[KEYSTORE_WRAPPED_BYTES];
	uint32_t ver = 0;
	int fails = 0;

	randombytes_buf(doc, sizeof(doc));
	randombytes_buf(dek, sizeof(dek));
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped), 0, "wrap a DEK");
	is_int(ver, 1, "first KEK version is 1");
	ok(memmem(wrapped, sizeof(wrapped), dek, sizeof(dek)) == NULL,
	   "wrapped DEK does not contain the DEK");
	is_int(keystore_unwrap_dek(ks, doc, ver, wrapped, out), 0, "unwrap");
	is_mem(out, dek, 32, "round trip");
	memset(out, 0, sizeof(out));
	is_int(keystore_unwrap_dek(ks2, doc, ver, wrapped, out), 0,
	       "unwrap with the reopened store");
	is_mem(out, dek, 32, "round trip across open");

	memcpy(doc2, doc, 16);
	doc2[15] ^= 1;
	memset(out, 0xaa, sizeof(out));
	is_int(keystore_unwrap_dek(ks, doc2, ver, wrapped, out), -EBADMSG,
	       "wrong document id");
	ok(sodium_is_zero(out, 32), "output zeroed (wrong doc id)");
	memset(out, 0xaa, sizeof(out));
	is_int(keystore_unwrap_dek(ks, doc, 2, wrapped, out), -ENOKEY,
	       "unknown KEK version");
	ok(sodium_is_zero(out, 32), "output zeroed (unknown version)");
	memset(out, 0xaa, sizeof(out));
	is_int(keystore_unwrap_dek(ks, doc, 0, wrapped, out), -ENOKEY,
	       "KEK version 0");
	ok(sodium_is_zero(out, 32), "output zeroed (version 0)");
	for (size_t i = 0; i < sizeof(wrapped); i++) {
		memcpy(bad, wrapped, sizeof(bad));
		bad[i] ^= 0x04;
		memset(out, 0xaa, sizeof(out));
		if (keystore_unwrap_dek(ks, doc, ver, bad, out) != -EBADMSG ||
		    !sodium_is_zero(out, 32))
			fails++;
	}
	is_int(fails, 0, "every tampered byte of a wrapped DEK is refused "
	       "and zeroes the output");
	/* Two wraps of one DEK differ (fresh nonces). */
	memcpy(bad, wrapped, sizeof(bad));
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped), 0, "wrap again");
	ok(memcmp(bad, wrapped, sizeof(bad)) != 0, "fresh nonce per wrap");
}


/* ---- changing the store (issue #4) ---- */

#define PASS2 "new passphrase, longer than the old"

/* The master key in file, by the documented format; -1 if it does not open. */
static int master_of(const uint8_t *file, const char *pass, uint8_t m[32])
{
	uint8_t key[32];
	unsigned long long mlen;
	int r;

	if (crypto_pwhash(key, 32, pass, strlen(pass), file + OFF_SALT,
			  le_get64(file + OFF_KDF + 4),
			  (size_t)le_get64(file + OFF_KDF + 12),
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	r = crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL,
			file + OFF_SLOT + 24, 48, file, CLEAR, file + OFF_SLOT,
			key);
	sodium_memzero(key, sizeof(key));
	return r;
}

/* The body plaintext of file under master m; its length, or 0. */
static size_t body_of(const uint8_t *file, const uint8_t m[32], uint8_t *body)
{
	unsigned long long mlen;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(body, &mlen, NULL,
			file + OFF_BODY_CT, le_get32(file + OFF_BODY_LEN), file,
			CLEAR, file + OFF_BODY, m) != 0)
		return 0;
	return (size_t)mlen;
}

static void test_passwd(void)
{
	uint8_t before[4096], after[4096], m1[32], m2[32], b1[4096], b2[4096];
	struct keystore *ks = NULL, *k2 = NULL;
	enum keystore_kdf kdf = KEYSTORE_KDF_INTERACTIVE;
	uint64_t ops = 0, mem = 0;
	size_t l1, l2, n1, n2;

	if (try_open(&ks) != 0) {
		ok(0, "open for passwd");
		return;
	}
	l1 = slurp(before, sizeof(before));
	keystore_kdf_params(ks, &ops, &mem);
	is_int(ops, crypto_pwhash_OPSLIMIT_INTERACTIVE, "kdf_params: ops");
	is_int(mem, crypto_pwhash_MEMLIMIT_INTERACTIVE, "kdf_params: mem");

	/* failing to write leaves everything as it was */
	is_int(keystore_change_passphrase(ks, "/nonexistent/vault", PASS2,
					  strlen(PASS2), NULL), -ENOENT,
	       "passwd into a missing directory fails");
	ok(slurp(after, sizeof(after)) == l1 && !memcmp(before, after, l1),
	   "  and the store file is untouched");

	is_int(keystore_change_passphrase(ks, dir, PASS2, strlen(PASS2), NULL),
	       0, "change passphrase (keep KDF parameters)");
	l2 = slurp(after, sizeof(after));
	is_int(l2, l1, "same file size");
	is_int(keystore_open(dir, PASS, strlen(PASS), &k2), -EKEYREJECTED,
	       "the old passphrase no longer opens it");
	is_int(keystore_open(dir, PASS2, strlen(PASS2), &k2), 0,
	       "the new passphrase opens it");
	if (k2) {
		is_mem(keystore_name_key(k2), keystore_name_key(ks), 32,
		       "name key unchanged");
		keystore_free(k2);
	}
	ok(memcmp(before + OFF_SALT, after + OFF_SALT, 16) != 0, "new salt");
	is_mem(before, after, OFF_SALT, "settings and KDF parameters kept");
	ok(master_of(before, PASS, m1) == 0 && master_of(after, PASS2, m2) == 0,
	   "both masters open by the documented format");
	ok(memcmp(m1, m2, 32) != 0, "a new master key");
	n1 = body_of(before, m1, b1);
	n2 = body_of(after, m2, b2);
	ok(n1 > 0 && n1 == n2 && memcmp(b1, b2, n1) == 0,
	   "same KEKs and name key in the body");
	is_int(body_of(after, m1, b2), 0,
	   "the old master key (old store + old passphrase) does not open "
	   "the new body");
	ok(memmem(after, l2, PASS2, strlen(PASS2)) == NULL,
	   "new passphrase not in the file");

	/* a KDF preset given: recorded */
	is_int(keystore_change_passphrase(ks, dir, PASS, strlen(PASS), &kdf),
	       0, "change back with an explicit preset");
	l2 = slurp(after, sizeof(after));
	is_int(le_get64(after + OFF_KDF + 4), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	       "preset opslimit recorded");
	kdf = (enum keystore_kdf)99;
	is_int(keystore_change_passphrase(ks, dir, PASS, strlen(PASS), &kdf),
	       -EINVAL, "unknown preset refused");
	is_int(try_open(&k2), 0, "old passphrase works again");
	keystore_free(k2);
	keystore_free(ks);
	sodium_memzero(m1, 32);
	sodium_memzero(m2, 32);
	sodium_memzero(b1, sizeof(b1));
	sodium_memzero(b2, sizeof(b2));
}

/* Rotation record: 16 bytes after the KEKs (man/vaultfs.5). */
static uint32_t rot_target, rot_flags;
static size_t e_rot_trailer(uint8_t *b, size_t n)
{
	le_put32(b + n, rot_target);
	le_put32(b + n + 4, rot_flags);
	le_put64(b + n + 8, 1700000000);
	return n + 16;
}
static size_t e_rot_short(uint8_t *b, size_t n)
{
	le_put32(b + n, 1);
	le_put32(b + n + 4, 0);
	return n + 8;
}

static void test_rotation_record(const uint8_t *orig, size_t len)
{
	struct keystore *ks = NULL;
	struct keystore_rotation rot;

	rot_target = 1;
	rot_flags = 1;
	reseal(orig, len, e_rot_trailer, NULL);
	is_int(try_open(&ks), 0, "store with a rotation record opens");
	if (ks) {
		keystore_rotation(ks, &rot);
		ok(rot.unfinished && rot.reencrypt && rot.target == 1 &&
		   rot.started == 1700000000, "rotation record read back");
		keystore_free(ks);
	}
	rot_target = 2;
	reseal(orig, len, e_rot_trailer, NULL);
	is_int(try_open(&ks), -EBADMSG, "rotation target not the active KEK");
	rot_target = 1;
	rot_flags = 2;
	reseal(orig, len, e_rot_trailer, NULL);
	is_int(try_open(&ks), -EBADMSG, "unknown rotation flag");
	reseal(orig, len, e_rot_short, NULL);
	is_int(try_open(&ks), -EBADMSG, "short rotation record");
	spit(orig, len);
	is_int(try_open(&ks), 0, "no record: opens");
	if (ks) {
		keystore_rotation(ks, &rot);
		ok(!rot.unfinished, "no rotation recorded");
		keystore_free(ks);
	}
}

/* 64 KEK records, none destroyed: v1..63 retiring, v64 active. */
static size_t e_full(uint8_t *b, size_t n)
{
	b[B_KEK(0) + 12] = KEYSTORE_KEK_RETIRING;
	for (uint32_t v = 2; v <= KEYSTORE_MAX_KEKS; v++)
		n = add_kek(b, n, v, v == KEYSTORE_MAX_KEKS ?
			    KEYSTORE_KEK_ACTIVE : KEYSTORE_KEK_RETIRING);
	le_put32(b + B_ACTIVE, KEYSTORE_MAX_KEKS);
	return n;
}

static void test_rotation(const uint8_t *orig, size_t len)
{
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	struct keystore_rotation rot;
	struct keystore *ks = NULL, *k2 = NULL;
	uint8_t file[4096], m[32], body[4096];
	uint8_t doc[16], dek[32], out[32], wrapped[KEYSTORE_WRAPPED_BYTES];
	uint32_t ver = 0, in_use[1];
	bool finished = false;
	size_t n = 0, l, bl;
	int fd1 = -1, fd2 = -1;

	spit(orig, len);
	if (try_open(&ks) != 0) {
		ok(0, "open for rotation");
		return;
	}
	randombytes_buf(doc, 16);
	randombytes_buf(dek, 32);
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped), 0, "wrap under 1");

	is_int(keystore_rotation_begin(ks, dir, false), 0, "rotation begins");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	ok(n == 2 && info[0].state == KEYSTORE_KEK_RETIRING &&
	   info[1].version == 2 && info[1].state == KEYSTORE_KEK_ACTIVE,
	   "KEK 2 active, 1 retiring");
	keystore_rotation(ks, &rot);
	ok(rot.unfinished && !rot.reencrypt && rot.target == 2,
	   "rotation recorded (target 2, rewrap)");
	l = slurp(file, sizeof(file));
	is_int(l, 216 + 40 + 2 * 45 + 16 + 16, "file holds the 16-byte record");
	ok(master_of(file, PASS, m) == 0 &&
	   (bl = body_of(file, m, body)) == 40 + 2 * 45 + 16 &&
	   le_get32(body + 40 + 90) == 2 && le_get32(body + 40 + 90 + 4) == 0,
	   "record by the documented format: target 2, flags 0");
	is_int(keystore_open(dir, PASS, strlen(PASS), &k2), 0,
	       "a reader opens the store mid-rotation");
	if (k2) {
		keystore_rotation(k2, &rot);
		ok(rot.unfinished && rot.target == 2, "  and sees the record");
		is_int(keystore_unwrap_dek(k2, doc, 1, wrapped, out), 0,
		       "  and unwraps under the retiring KEK 1");
		keystore_free(k2);
	}
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped + 0), 0, "wrap");
	is_int(ver, 2, "new wraps use KEK 2");
	/* re-wrap under 1 for the destroy check below */
	{
		uint8_t ad[20], k1[32];

		memcpy(ad, doc, 16);
		le_put32(ad + 16, 1);
		memcpy(k1, body + 40 + 13, 32);	/* KEK 1 from the body */
		randombytes_buf(wrapped, 24);
		crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + 24, NULL,
				dek, 32, ad, 20, NULL, wrapped, k1);
		sodium_memzero(k1, 32);
	}

	in_use[0] = 1;
	is_int(keystore_rotation_finish(ks, dir, in_use, 1, &finished), 0,
	       "finish while KEK 1 is in use");
	ok(!finished, "not finished");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	is_int(info[0].state, KEYSTORE_KEK_RETIRING, "KEK 1 kept");
	is_int(keystore_rotation_finish(ks, dir, NULL, 0, &finished), 0,
	       "finish when nothing uses KEK 1");
	ok(finished, "finished");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	is_int(info[0].state, KEYSTORE_KEK_DESTROYED, "KEK 1 destroyed");
	keystore_rotation(ks, &rot);
	ok(!rot.unfinished, "record cleared");
	memset(out, 0xaa, 32);
	is_int(keystore_unwrap_dek(ks, doc, 1, wrapped, out), -ENOKEY,
	       "KEK 1 unwraps nothing any more");
	l = slurp(file, sizeof(file));
	is_int(l, 216 + 40 + 2 * 45 + 16, "file without the record");
	ok(master_of(file, PASS, m) == 0 &&
	   body_of(file, m, body) == 40 + 2 * 45 &&
	   body[40 + 12] == KEYSTORE_KEK_DESTROYED &&
	   sodium_is_zero(body + 40 + 13, 32),
	   "on disk: KEK 1 destroyed, its bytes all zero");
	is_int(try_open(&k2), 0, "store after the rotation opens");
	if (k2) {
		is_int(keystore_unwrap_dek(k2, doc, 1, wrapped, out), -ENOKEY,
		       "  and cannot unwrap under KEK 1");
		keystore_free(k2);
	}
	is_int(keystore_rotation_finish(ks, dir, NULL, 0, &finished), 0,
	       "finish with nothing to do");
	ok(finished && slurp(body, sizeof(body)) == l &&
	   memcmp(body, file, l) == 0, "  does not rewrite the file");

	/* a failed write changes nothing in memory */
	is_int(keystore_rotation_begin(ks, "/nonexistent/vault", true), -ENOENT,
	       "begin into a missing directory fails");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	keystore_rotation(ks, &rot);
	ok(n == 2 && info[1].state == KEYSTORE_KEK_ACTIVE && !rot.unfinished,
	   "  and the key store in memory is unchanged");
	is_int(keystore_wrap_dek(ks, doc, dek, &ver, wrapped), 0, "wrap");
	is_int(ver, 2, "  still with KEK 2");

	/* many rotations: the table never overflows */
	for (int i = 0; i < KEYSTORE_MAX_KEKS + 5; i++) {
		if (keystore_rotation_begin(ks, dir, false) != 0 ||
		    keystore_rotation_finish(ks, dir, NULL, 0, &finished) != 0) {
			ok(0, "rotation %d", i);
			break;
		}
	}
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	is_int(n, KEYSTORE_MAX_KEKS, "a full table after 71 rotations");
	is_int(info[n - 1].version, 2 + KEYSTORE_MAX_KEKS + 5,
	       "the newest version is active");
	is_int(info[0].version, 2 + 5 + 1,
	       "the oldest destroyed records were dropped");
	keystore_free(ks);
	ks = NULL;

	/* full of live KEKs: no room */
	reseal(orig, len, e_full, NULL);
	if (try_open(&ks) == 0) {
		is_int(keystore_rotation_begin(ks, dir, false), -ENOSPC,
		       "64 live KEKs: begin fails with ENOSPC");
		keystore_free(ks);
	} else {
		ok(0, "full store opens");
	}
	spit(orig, len);

	/* the writers' lock */
	is_int(keystore_lock(dir, &fd1), 0, "lock");
	is_int(keystore_lock(dir, &fd2), -EBUSY, "second lock: EBUSY");
	ok(fd2 == -1, "  no descriptor");
	close(fd1);
	is_int(keystore_lock(dir, &fd2), 0, "lock again after release");
	close(fd2);
	is_int(keystore_lock("/nonexistent/vault", &fd1), -ENOENT,
	       "lock of a missing vault: ENOENT");
	sodium_memzero(m, 32);
	sodium_memzero(body, sizeof(body));
}

int main(void)
{
	struct vault_settings s = { 0 }, bad;
	const struct vault_settings *got;
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	struct keystore *ks = NULL, *ks2 = NULL, *tmp = NULL;
	uint8_t orig[4096], name_key[32];
	char other[300];
	uint32_t fmt = 0;
	struct stat st;
	size_t len, n = 0;
	time_t now;

	if (seal_init() < 0)
		skip_all("libsodium does not initialise");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/%s", dir, KEYSTORE_FILE);

	s.chunk_size = 65536;
	s.compress_level = 3;
	randombytes_buf(s.auditor_pk, sizeof(s.auditor_pk));

	is_int(keystore_open(dir, PASS, strlen(PASS), &ks), -ENOENT,
	       "open without a key store -> ENOENT");
	bad = s;
	bad.chunk_size = 65537;
	is_int(keystore_create(dir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			       &bad, &ks), -EINVAL, "create: bad chunk size");
	bad.chunk_size = 2048;
	is_int(keystore_create(dir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			       &bad, &ks), -EINVAL, "create: chunk size 2048");
	bad = s;
	bad.compress_level = 20;
	is_int(keystore_create(dir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			       &bad, &ks), -EINVAL, "create: level 20");
	ok(access(path, F_OK) != 0, "failed creates leave no file");
	snprintf(other, sizeof(other), "%s/missing", dir);
	is_int(keystore_create(other, PASS, strlen(PASS),
			       KEYSTORE_KDF_INTERACTIVE, &s, &ks), -ENOENT,
	       "create in a missing directory -> ENOENT");

	now = time(NULL);
	if (keystore_create(dir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			    &s, &ks) != 0 || ks == NULL) {
		ok(0, "create");
		return done_testing();
	}
	ok(1, "create");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "key store mode 0600");
	got = keystore_settings(ks);
	is_int(got->format, KEYSTORE_FORMAT, "format");
	is_int(got->chunk_size, 65536, "chunk size");
	is_int(got->compress_level, 3, "level");
	is_mem(got->auditor_pk, s.auditor_pk, 32, "auditor pk");
	ok(!sodium_is_zero(got->vault_id, 16), "vault id set");
	ok(got->created >= (uint64_t)now && got->created <= (uint64_t)now + 60,
	   "created time");
	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	is_int(n, 1, "one KEK");
	is_int(info[0].version, 1, "KEK version 1");
	is_int(info[0].state, KEYSTORE_KEK_ACTIVE, "KEK active");
	memcpy(name_key, keystore_name_key(ks), 32);
	ok(!sodium_is_zero(name_key, 32), "name key set");

	len = slurp(orig, sizeof(orig));
	is_int(len, 216 + 40 + 45 + 16, "file size of a fresh store");
	ok(memmem(orig, len, PASS, strlen(PASS)) == NULL,
	   "passphrase not in the file");
	ok(memmem(orig, len, name_key, 32) == NULL, "name key not in the file");
	is_mem(orig, "VAULTFSK", 8, "magic");
	is_int(le_get32(orig + OFF_KDF), 2, "Argon2id13 recorded");
	is_int(le_get64(orig + OFF_KDF + 4), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	       "opslimit recorded");
	is_int(le_get64(orig + OFF_KDF + 12), crypto_pwhash_MEMLIMIT_INTERACTIVE,
	       "memlimit recorded");
	is_int(keystore_peek_format(dir, &fmt), 0, "peek format");
	is_int(fmt, 1, "peeked format 1");

	is_int(keystore_create(dir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			       &s, &tmp), -EEXIST, "create refuses an existing store");
	ok(tmp == NULL, "no key store on EEXIST");
	ok(slurp(orig + 2048, 2048) == len && memcmp(orig, orig + 2048, len) == 0,
	   "existing store untouched");

	/* Open. */
	is_int(keystore_open(dir, PASS, strlen(PASS), &ks2), 0, "open");
	if (ks2 != NULL) {
		const struct vault_settings *a = keystore_settings(ks);

		got = keystore_settings(ks2);
		ok(got->format == a->format && got->chunk_size == a->chunk_size &&
		   got->compress_level == a->compress_level &&
		   got->created == a->created &&
		   memcmp(got->vault_id, a->vault_id, 16) == 0 &&
		   memcmp(got->auditor_pk, a->auditor_pk, 32) == 0,
		   "settings survive the round trip");
		is_mem(keystore_name_key(ks2), name_key, 32,
		       "name key survives the round trip");
	}
	is_int(keystore_open(dir, "wrong", 5, &tmp), -EKEYREJECTED,
	       "wrong passphrase -> EKEYREJECTED");
	ok(tmp == NULL, "no key store on a wrong passphrase");
	is_int(keystore_open(dir, PASS, strlen(PASS) - 1, &tmp), -EKEYREJECTED,
	       "passphrase one byte short -> EKEYREJECTED");

	if (ks2 != NULL)
		wrapping(ks, ks2);

	/* Tampering, truncation, formats, bodies. */
	tamper_regions(orig, len);
	truncations(orig, len);
	future_format(orig, len);
	bad_bodies(orig, len);
	rotated_store(orig, len);
	test_rotation_record(orig, len);
	test_passwd();
	test_rotation(orig, len);

	/* A symlink in place of the key store is not followed. */
	snprintf(other, sizeof(other), "%s/real.keys", dir);
	if (rename(path, other) == 0 && symlink("real.keys", path) == 0) {
		is_int(try_open(&tmp), -EBADMSG, "symlinked key store refused");
		unlink(path);
		rename(other, path);
	}
	is_int(try_open(&tmp), 0, "original store still opens at the end");
	keystore_free(tmp);

	keystore_free(ks);
	keystore_free(ks2);
	keystore_free(NULL);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
