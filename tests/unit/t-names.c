/* t-names.c - encrypted names and symlink targets (vaultfs/names.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"

#define B64V sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_CHARS(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
#define IV_BYTES 24

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint8_t key1[SEAL_KEY_BYTES], key2[SEAL_KEY_BYTES];
static uint8_t dir_a[NAMES_DIRID_BYTES], dir_b[NAMES_DIRID_BYTES];
static struct names_key *k1, *k2;

/* A valid name of len bytes, any byte but NUL and '/', varied by seed. */
static void make_name(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)(1 + (i * 37 + seed * 11) % 255);

		buf[i] = (char)(c == '/' || c == '.' ? 'x' : c);
	}
	buf[len] = '\0';
}

/* names_decrypt() on failure must leave zeros and length 0. */
static int dec_checked(const struct names_key *k, const uint8_t *dirid,
		       const char *enc, size_t enclen, int *wiped)
{
	char name[NAMES_PLAIN_MAX + 1];
	size_t len = 12345;
	int r;

	memset(name, 'X', sizeof(name));
	r = names_decrypt(k, dirid, enc, enclen, name, &len);
	if (r < 0 && wiped) {
		static const char zero[NAMES_PLAIN_MAX + 1];

		*wiped = len == 0 && memcmp(name, zero, sizeof(name)) == 0;
	}
	return r;
}

static void test_round_trips(void)
{
	int bad_rt = 0, bad_det = 0, bad_dir = 0, bad_key = 0, bad_len = 0;
	int bad_long = 0, bad_cross = 0, bad_wipe = 0, nlong = 0;
	int first_bad = 0;

	for (size_t len = 1; len <= NAMES_PLAIN_MAX; len++) {
		char name[NAMES_PLAIN_MAX + 1], out[NAMES_PLAIN_MAX + 1];
		char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
		char enc2[NAMES_ENC_MAX], backing2[NAMES_BACKING_MAX];
		size_t outlen = 0, plen = (len / 16 + 1) * 16, want;
		bool is_long, is_long2;
		int wiped = 0, fail = 0;

		make_name(name, len, (unsigned)len);
		if (names_encrypt(k1, dir_a, name, len, enc, backing,
				  &is_long) != 0) {
			bad_rt++;
			if (!first_bad)
				first_bad = (int)len;
			continue;
		}
		if (names_decrypt(k1, dir_a, enc, strlen(enc), out,
				  &outlen) != 0 || outlen != len ||
		    memcmp(out, name, len + 1) != 0) {
			bad_rt++;
			fail = 1;
		}
		want = B64_CHARS(IV_BYTES + plen);
		if (strlen(enc) != want) {
			bad_len++;
			fail = 1;
		}
		if (is_long != (want > NAMES_SHORT_MAX)) {
			bad_long++;
			fail = 1;
		}
		if (is_long) {
			nlong++;
			if (strlen(backing) != 44 || backing[0] != '@' ||
			    names_classify(backing) != NAMES_LONG ||
			    !names_long_matches(backing, enc, strlen(enc))) {
				bad_long++;
				fail = 1;
			}
		} else if (strcmp(backing, enc) != 0 ||
			   names_classify(backing) != NAMES_ENTRY) {
			bad_long++;
			fail = 1;
		}
		/* Deterministic in one directory (and across key objects). */
		if (names_encrypt(k1, dir_a, name, len, enc2, backing2,
				  &is_long2) != 0 || strcmp(enc, enc2) != 0 ||
		    strcmp(backing, backing2) != 0 || is_long != is_long2) {
			bad_det++;
			fail = 1;
		}
		/* Different in another directory; not decryptable there. */
		if (names_encrypt(k1, dir_b, name, len, enc2, backing2,
				  &is_long2) != 0 || strcmp(enc, enc2) == 0 ||
		    strcmp(backing, backing2) == 0) {
			bad_dir++;
			fail = 1;
		}
		if (dec_checked(k1, dir_b, enc, strlen(enc), &wiped) !=
		    -EBADMSG || !wiped) {
			bad_cross++;
			fail = 1;
		}
		/* Different under another key; not decryptable with it. */
		if (names_encrypt(k2, dir_a, name, len, enc2, backing2,
				  &is_long2) != 0 || strcmp(enc, enc2) == 0) {
			bad_key++;
			fail = 1;
		}
		wiped = 0;
		if (dec_checked(k2, dir_a, enc, strlen(enc), &wiped) !=
		    -EBADMSG) {
			bad_cross++;
			fail = 1;
		}
		if (!wiped)
			bad_wipe++;
		if (fail && !first_bad)
			first_bad = (int)len;
	}
	if (first_bad)
		diag("first failing name length: %d", first_bad);
	is_int(bad_rt, 0, "round trip for every length 1..255");
	is_int(bad_len, 0, "encrypted length follows the 16-byte padding");
	is_int(bad_long, 0, "long names exactly when enc > NAMES_SHORT_MAX");
	ok(nlong > 0 && nlong < NAMES_PLAIN_MAX, "both short and long names "
	   "occur (%d long)", nlong);
	is_int(bad_det, 0, "deterministic within a directory");
	is_int(bad_dir, 0, "different across directories");
	is_int(bad_key, 0, "different across keys");
	is_int(bad_cross, 0, "wrong directory or key does not decrypt");
	is_int(bad_wipe, 0, "output wiped on failure");
}

static void test_threshold(void)
{
	char name[NAMES_PLAIN_MAX + 1];
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	bool is_long = true;
	size_t lo = 0;
	int r;

	/* The longest name whose encoding fits NAMES_SHORT_MAX. */
	for (size_t len = 1; len <= NAMES_PLAIN_MAX; len++)
		if (B64_CHARS(IV_BYTES + (len / 16 + 1) * 16) <= NAMES_SHORT_MAX)
			lo = len;
	ok(lo >= 1 && lo < NAMES_PLAIN_MAX, "threshold at %zu bytes", lo);
	make_name(name, lo, 3);
	ok(names_encrypt(k1, dir_a, name, lo, enc, backing, &is_long) == 0 &&
	   !is_long && strlen(backing) <= NAMES_SHORT_MAX,
	   "name of %zu bytes is short", lo);
	make_name(name, lo + 1, 3);
	ok(names_encrypt(k1, dir_a, name, lo + 1, enc, backing,
			 &is_long) == 0 && is_long, "name of %zu bytes is long",
	   lo + 1);
	make_name(name, NAMES_PLAIN_MAX, 3);
	r = names_encrypt(k1, dir_a, name, NAMES_PLAIN_MAX, enc, backing,
			  &is_long);
	ok(r == 0 && is_long && strlen(backing) <= 255 &&
	   strlen(enc) == B64_CHARS(IV_BYTES + 256) &&
	   strlen(enc) < NAMES_ENC_MAX, "255-byte name: backing %zu chars, "
	   "enc %zu chars", strlen(backing), strlen(enc));
}

static void test_long_matches(void)
{
	char na[NAMES_PLAIN_MAX + 1], nb[NAMES_PLAIN_MAX + 1];
	char ea[NAMES_ENC_MAX], ba[NAMES_BACKING_MAX];
	char eb[NAMES_ENC_MAX], bb[NAMES_BACKING_MAX];
	char name[NAMES_PLAIN_MAX + 1], tmp[NAMES_BACKING_MAX + 8];
	size_t len;
	bool la, lb;

	make_name(na, 200, 1);
	make_name(nb, 200, 2);
	if (names_encrypt(k1, dir_a, na, 200, ea, ba, &la) != 0 ||
	    names_encrypt(k1, dir_a, nb, 200, eb, bb, &lb) != 0)
		ok(0, "encrypt long names");
	ok(la && lb, "200-byte names are long");
	ok(names_long_matches(ba, ea, strlen(ea)), "side file matches its entry");
	ok(!names_long_matches(ba, eb, strlen(eb)),
	   "side file of another entry rejected");
	ok(!names_long_matches(bb, ea, strlen(ea)),
	   "side file rejected by the other entry too");
	ok(!names_long_matches(ba, ea, strlen(ea) - 1),
	   "truncated side file rejected");
	memcpy(tmp, ba, strlen(ba) + 1);
	tmp[10] = tmp[10] == 'A' ? 'B' : 'A';
	ok(!names_long_matches(tmp, ea, strlen(ea)), "altered entry rejected");
	snprintf(tmp, sizeof(tmp), "%s%s", ba, NAMES_LONG_SUFFIX);
	ok(!names_long_matches(tmp, ea, strlen(ea)),
	   "side file name is not an entry");
	ok(!names_long_matches(ba + 1, ea, strlen(ea)), "entry without '@'");
	ok(names_decrypt(k1, dir_a, ea, strlen(ea), name, &len) == 0 &&
	   len == 200 && memcmp(name, na, 201) == 0,
	   "side-file content decrypts");
	ok(names_decrypt(k1, dir_a, ba, strlen(ba), name, &len) == -EBADMSG,
	   "the '@' entry itself does not decrypt");
}

/* Every single-character change of enc must fail to decrypt. */
static void tamper_all(const char *label, const char *enc)
{
	size_t n = strlen(enc);
	char t[NAMES_ENC_MAX + 8];
	static const char others[] = "=+/. ~@\x80\xff";
	int tried = 0, passed = 0, wipe_bad = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t a = 0; a < 64 + sizeof(others); a++) {
			char c = a < 64 ? alphabet[a] : others[a - 64];
			int wiped = 0;

			if (c == enc[i])
				continue;
			memcpy(t, enc, n + 1);
			t[i] = c;	/* also '\0' from others' terminator */
			tried++;
			if (dec_checked(k1, dir_a, t, n, &wiped) != -EBADMSG)
				passed++;
			else if (!wiped)
				wipe_bad++;
		}
	}
	is_int(passed, 0, "%s: all %d single-character changes rejected",
	       label, tried);
	is_int(wipe_bad, 0, "%s: output wiped after each rejection", label);

	/* Standard-alphabet spelling of the same bytes. */
	memcpy(t, enc, n + 1);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '-')
			t[i] = '+';
		else if (t[i] == '_')
			t[i] = '/';
	}
	ok(strcmp(t, enc) == 0 || dec_checked(k1, dir_a, t, n, NULL) ==
	   -EBADMSG, "%s: standard base64 alphabet rejected", label);

	passed = 0;
	for (size_t l = 0; l < n; l++)
		if (dec_checked(k1, dir_a, enc, l, NULL) != -EBADMSG)
			passed++;
	is_int(passed, 0, "%s: every truncation rejected", label);

	passed = 0;
	for (size_t a = 0; a < 64; a++) {
		memcpy(t, enc, n);
		t[n] = alphabet[a];
		t[n + 1] = '\0';
		if (dec_checked(k1, dir_a, t, n + 1, NULL) != -EBADMSG)
			passed++;
		memcpy(t + n, "AAAA", 5);
		if (dec_checked(k1, dir_a, t, n + 4, NULL) != -EBADMSG)
			passed++;
	}
	is_int(passed, 0, "%s: appended characters rejected", label);
	memcpy(t, enc, n);
	memcpy(t + n, "==", 3);
	ok(dec_checked(k1, dir_a, t, n + 2, NULL) == -EBADMSG,
	   "%s: padded form rejected", label);
}

static void test_tamper(void)
{
	char name[NAMES_PLAIN_MAX + 1];
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	size_t lens[] = { 1, 20, 47, 200, NAMES_PLAIN_MAX };
	bool is_long;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char label[32];

		make_name(name, lens[i], 9);
		snprintf(label, sizeof(label), "%zu-byte name", lens[i]);
		if (names_encrypt(k1, dir_a, name, lens[i], enc, backing,
				  &is_long) != 0) {
			ok(0, "%s: encrypt", label);
			continue;
		}
		tamper_all(label, enc);
	}
}

static void test_bad_names(void)
{
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	char big[NAMES_PLAIN_MAX + 2];
	bool is_long;

	is_int(names_encrypt(k1, dir_a, "", 0, enc, backing, &is_long),
	       -EINVAL, "empty name rejected");
	is_int(names_encrypt(k1, dir_a, ".", 1, enc, backing, &is_long),
	       -EINVAL, "\".\" rejected");
	is_int(names_encrypt(k1, dir_a, "..", 2, enc, backing, &is_long),
	       -EINVAL, "\"..\" rejected");
	is_int(names_encrypt(k1, dir_a, "a/b", 3, enc, backing, &is_long),
	       -EINVAL, "name with '/' rejected");
	is_int(names_encrypt(k1, dir_a, "/", 1, enc, backing, &is_long),
	       -EINVAL, "\"/\" rejected");
	is_int(names_encrypt(k1, dir_a, "a\0b", 3, enc, backing, &is_long),
	       -EINVAL, "name with NUL rejected");
	make_name(big, NAMES_PLAIN_MAX + 1, 5);
	is_int(names_encrypt(k1, dir_a, big, NAMES_PLAIN_MAX + 1, enc,
			     backing, &is_long), -ENAMETOOLONG,
	       "256-byte name rejected");
	is_int(names_encrypt(k1, dir_a, "...", 3, enc, backing, &is_long),
	       0, "\"...\" accepted");
	is_int(names_encrypt(k1, dir_a, ".a", 2, enc, backing, &is_long),
	       0, "\".a\" accepted");
}

/*
 * The construction of names.h rebuilt from seal.h alone: P is taken as
 * given (so invalid names and paddings can be authenticated), then
 * IV = BLAKE2b-192(Kmac, dirid || P), C = XChaCha20(Kenc, IV) ^ P.
 */
static void forge(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *dirid,
		  const uint8_t *p, size_t plen, char enc[NAMES_ENC_MAX])
{
	uint8_t kmac[SEAL_KEY_BYTES], kenc[SEAL_KEY_BYTES];
	uint8_t buf[NAMES_DIRID_BYTES + 512], bin[IV_BYTES + 512];

	seal_derive(kmac, 1, "vfsnames", key);
	seal_derive(kenc, 2, "vfsnames", key);
	memcpy(buf, dirid, NAMES_DIRID_BYTES);
	memcpy(buf + NAMES_DIRID_BYTES, p, plen);
	seal_hash(bin, IV_BYTES, kmac, buf, NAMES_DIRID_BYTES + plen);
	seal_stream_xor(bin + IV_BYTES, p, plen, bin, kenc);
	sodium_bin2base64(enc, NAMES_ENC_MAX, bin, IV_BYTES + plen, B64V);
}

/* P for name (len bytes) padded with 0x80 then zeros to plen bytes. */
static size_t pad(uint8_t *p, const char *name, size_t len, size_t plen)
{
	memset(p, 0, plen);
	memcpy(p, name, len);
	p[len] = 0x80;
	return plen;
}

static void test_forgeries(void)
{
	char enc[NAMES_ENC_MAX], real[NAMES_ENC_MAX];
	char backing[NAMES_BACKING_MAX], name[NAMES_PLAIN_MAX + 1];
	uint8_t p[512];
	size_t len;
	bool is_long;
	int wiped = 0;

	/* Control: the rebuilt construction is the one names.c implements. */
	forge(key1, dir_a, p, pad(p, "report.pdf", 10, 16), enc);
	ok(names_encrypt(k1, dir_a, "report.pdf", 10, real, backing,
			 &is_long) == 0 && strcmp(enc, real) == 0,
	   "construction matches names.h (known answer)");
	ok(names_decrypt(k1, dir_a, enc, strlen(enc), name, &len) == 0 &&
	   len == 10 && strcmp(name, "report.pdf") == 0,
	   "forged valid name decrypts (control)");

	forge(key1, dir_a, p, pad(p, "..", 2, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), &wiped), -EBADMSG,
	       "authenticated \"..\" rejected");
	ok(wiped, "output wiped");
	forge(key1, dir_a, p, pad(p, ".", 1, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated \".\" rejected");
	forge(key1, dir_a, p, pad(p, "", 0, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated empty name rejected");
	forge(key1, dir_a, p, pad(p, "/", 1, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated \"/\" rejected");
	forge(key1, dir_a, p, pad(p, "a/b", 3, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated \"a/b\" rejected");
	forge(key1, dir_a, p, pad(p, "a\0b", 3, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated name with NUL rejected");

	/* Padding variants. */
	memset(p, 0, 16);
	forge(key1, dir_a, p, 16, enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "all-zero block (no 0x80) rejected");
	memset(p, 'a', 16);
	forge(key1, dir_a, p, 16, enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "block without padding rejected");
	pad(p, "abc", 3, 16);
	p[3] = 0x81;
	forge(key1, dir_a, p, 16, enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "padding byte 0x81 rejected");
	pad(p, "abc", 3, 16);
	p[15] = 0x01;
	forge(key1, dir_a, p, 16, enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "non-zero byte after 0x80 rejected");
	forge(key1, dir_a, p, pad(p, "abc", 3, 32), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "an extra block of padding rejected");
	memset(p, 'a', 256);
	p[256] = 0x80;
	memset(p + 257, 0, 15);
	forge(key1, dir_a, p, 272, enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated 256-byte name rejected");
	forge(key1, dir_a, p, pad(p, "abc", 3, 16), enc);
	is_int(dec_checked(k1, dir_b, enc, strlen(enc), NULL), -EBADMSG,
	       "forgery for one directory rejected in another");
	forge(key2, dir_a, p, pad(p, "abc", 3, 16), enc);
	is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL), -EBADMSG,
	       "forgery under another key rejected");
	/* The IV is the MAC: a correct ciphertext with a zero IV fails. */
	{
		uint8_t bin[IV_BYTES + 16];

		memset(bin, 0, sizeof(bin));
		sodium_bin2base64(enc, sizeof(enc), bin, sizeof(bin), B64V);
		is_int(dec_checked(k1, dir_a, enc, strlen(enc), NULL),
		       -EBADMSG, "all-zero encoding rejected");
	}
}

static void test_garbage(void)
{
	static const char *bad[] = {
		"", "A", "AA", "AAAA", "hello.txt", "@", "..", ".",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	char buf[NAMES_ENC_MAX * 2];
	int passed = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dec_checked(k1, dir_a, bad[i], strlen(bad[i]), NULL) !=
		    -EBADMSG)
			passed++;
	is_int(passed, 0, "fixed garbage rejected");

	passed = 0;
	for (int i = 0; i < 2000; i++) {
		size_t n = randombytes_uniform(sizeof(buf));

		for (size_t j = 0; j < n; j++)
			buf[j] = alphabet[randombytes_uniform(64)];
		if (dec_checked(k1, dir_a, buf, n, NULL) != -EBADMSG)
			passed++;
	}
	is_int(passed, 0, "random base64url strings rejected");
	memset(buf, 'A', sizeof(buf));
	is_int(dec_checked(k1, dir_a, buf, sizeof(buf), NULL), -EBADMSG,
	       "oversized input rejected");
}

static void test_classify(void)
{
	char name[NAMES_PLAIN_MAX + 1], tmp[NAMES_ENC_MAX + 32];
	char enc[NAMES_ENC_MAX], backing[NAMES_BACKING_MAX];
	bool is_long;

	is_int(names_classify(NAMES_DIRID_FILE), NAMES_RESERVED, "dir id file");
	is_int(names_classify(NAMES_TMP_PREFIX "-0123456789abcdef"),
	       NAMES_RESERVED, "mkdir temp directory");
	is_int(names_classify(NAMES_TMP_PREFIX), NAMES_RESERVED,
	       "bare temp prefix");

	make_name(name, 10, 1);
	if (names_encrypt(k1, dir_a, name, 10, enc, backing, &is_long) != 0)
		ok(0, "encrypt");
	is_int(names_classify(backing), NAMES_ENTRY, "short encrypted name");
	snprintf(tmp, sizeof(tmp), "%s.tmp.Ab12Xy", backing);
	is_int(names_classify(tmp), NAMES_RESERVED, "atomic-write temp file");
	snprintf(tmp, sizeof(tmp), "%s.tmp.", backing);
	is_int(names_classify(tmp), NAMES_FOREIGN, "\".tmp.\" with no suffix");
	snprintf(tmp, sizeof(tmp), "%s.tmp.a.b", backing);
	is_int(names_classify(tmp), NAMES_FOREIGN, "\".tmp.\" then a dot");
	snprintf(tmp, sizeof(tmp), "%sA", backing);
	is_int(names_classify(tmp), NAMES_FOREIGN, "implausible length (+1)");
	tmp[strlen(backing) - 1] = '\0';
	is_int(names_classify(tmp), NAMES_FOREIGN, "implausible length (-1)");
	memcpy(tmp, backing, strlen(backing) + 1);
	tmp[5] = '+';
	is_int(names_classify(tmp), NAMES_FOREIGN, "non-base64url character");

	make_name(name, 200, 1);
	if (names_encrypt(k1, dir_a, name, 200, enc, backing, &is_long) != 0)
		ok(0, "encrypt");
	is_int(names_classify(backing), NAMES_LONG, "long entry");
	is_int(names_classify(enc), NAMES_FOREIGN,
	       "full long encoding is not an entry name");
	snprintf(tmp, sizeof(tmp), "%s%s", backing, NAMES_LONG_SUFFIX);
	is_int(names_classify(tmp), NAMES_LONG_SIDE, "long side file");
	snprintf(tmp, sizeof(tmp), "%s%s.tmp.XYZ123", backing,
		 NAMES_LONG_SUFFIX);
	is_int(names_classify(tmp), NAMES_RESERVED, "side file temp");
	snprintf(tmp, sizeof(tmp), "%s.nam", backing);
	is_int(names_classify(tmp), NAMES_FOREIGN, "wrong side suffix");
	snprintf(tmp, sizeof(tmp), "%sA", backing);
	is_int(names_classify(tmp), NAMES_FOREIGN, "'@' + 44 chars");
	tmp[strlen(backing) - 1] = '\0';
	is_int(names_classify(tmp), NAMES_FOREIGN, "'@' + 42 chars");
	memcpy(tmp, backing, strlen(backing) + 1);
	tmp[7] = '/';
	is_int(names_classify(tmp), NAMES_FOREIGN, "'@' + bad character");
	is_int(names_classify("@"), NAMES_FOREIGN, "lone '@'");
	is_int(names_classify("hello.txt"), NAMES_FOREIGN, "plain name");
	is_int(names_classify("abc"), NAMES_FOREIGN, "short base64url word");
	is_int(names_classify("vaultfs.dirid2"), NAMES_FOREIGN,
	       "near miss of the dir id file");
	is_int(names_classify(""), NAMES_FOREIGN, "empty");
}

/* Build an authenticated symlink encoding of arbitrary bytes. */
static void forge_link(const uint8_t key[SEAL_KEY_BYTES], const char *ad,
		       const void *t, size_t len, char *enc, size_t cap)
{
	uint8_t sub[SEAL_KEY_BYTES];
	uint8_t *bin = malloc(SEAL_NONCE_BYTES + len + SEAL_TAG_BYTES);

	if (!bin)
		abort();
	seal_derive(sub, 3, "vfsnames", key);
	seal_encrypt(sub, ad, strlen(ad), t, len, bin, bin + SEAL_NONCE_BYTES);
	sodium_bin2base64(enc, cap, bin, SEAL_NONCE_BYTES + len +
			  SEAL_TAG_BYTES, B64V);
	free(bin);
}

static int link_dec(const struct names_key *k, const char *enc, size_t n,
		    int *wiped)
{
	static char target[NAMES_LINK_MAX + 1];
	static const char zero[NAMES_LINK_MAX + 1];
	size_t len = 99;
	int r;

	memset(target, 'X', sizeof(target));
	r = names_link_decrypt(k, enc, n, target, &len);
	if (r < 0 && wiped)
		*wiped = len == 0 && memcmp(target, zero, sizeof(zero)) == 0;
	return r;
}

static void test_links(void)
{
	static char enc[NAMES_LINK_ENC_MAX], enc2[NAMES_LINK_ENC_MAX];
	static char t[NAMES_LINK_MAX + 2], out[NAMES_LINK_MAX + 1];
	static char big[NAMES_LINK_ENC_MAX * 2];
	size_t lens[] = { 1, 2, 3, 17, 100, 1000, 3030, NAMES_LINK_TARGET_MAX };
	size_t len;
	int bad = 0, passed, tried, wiped;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (size_t j = 0; j < lens[i]; j++)
			t[j] = (char)(1 + (j * 7 + i) % 255);
		t[lens[i]] = '\0';
		if (names_link_encrypt(k1, t, lens[i], enc) != 0 ||
		    strlen(enc) > NAMES_LINK_ENC_LIMIT ||
		    names_link_decrypt(k1, enc, strlen(enc), out, &len) != 0 ||
		    len != lens[i] || memcmp(out, t, len + 1) != 0) {
			diag("symlink round trip fails at %zu bytes", lens[i]);
			bad++;
		}
	}
	is_int(bad, 0, "symlink round trips up to %d bytes",
	       NAMES_LINK_TARGET_MAX);

	memset(t, 'x', NAMES_LINK_MAX + 1);
	ok(names_link_encrypt(k1, t, NAMES_LINK_TARGET_MAX, enc) == 0 &&
	   strlen(enc) == NAMES_LINK_ENC_LIMIT,
	   "longest target encodes to exactly %d chars",
	   NAMES_LINK_ENC_LIMIT);
	is_int(names_link_encrypt(k1, t, NAMES_LINK_TARGET_MAX + 1, enc),
	       -ENAMETOOLONG, "target of %d bytes refused",
	       NAMES_LINK_TARGET_MAX + 1);
	is_int(names_link_encrypt(k1, t, NAMES_LINK_MAX, enc), -ENAMETOOLONG,
	       "target of NAMES_LINK_MAX bytes refused");
	is_int(names_link_encrypt(k1, "", 0, enc), -EINVAL,
	       "empty target refused");
	is_int(names_link_encrypt(k1, "a\0b", 3, enc), -EINVAL,
	       "target with NUL refused");

	ok(names_link_encrypt(k1, "../docs/plan.txt", 16, enc) == 0 &&
	   names_link_encrypt(k1, "../docs/plan.txt", 16, enc2) == 0 &&
	   strcmp(enc, enc2) != 0, "targets get fresh nonces");
	ok(strstr(enc, "plan") == NULL, "target not visible");
	wiped = 0;
	ok(link_dec(k2, enc, strlen(enc), &wiped) == -EBADMSG && wiped,
	   "wrong key rejected, output wiped");

	/* Every single-character change. */
	passed = tried = 0;
	for (size_t i = 0; i < strlen(enc); i++) {
		for (size_t a = 0; a < 64; a++) {
			if (alphabet[a] == enc[i])
				continue;
			memcpy(enc2, enc, strlen(enc) + 1);
			enc2[i] = alphabet[a];
			tried++;
			wiped = 0;
			if (link_dec(k1, enc2, strlen(enc2), &wiped) !=
			    -EBADMSG || !wiped)
				passed++;
		}
		memcpy(enc2, enc, strlen(enc) + 1);
		enc2[i] = '=';
		tried++;
		if (link_dec(k1, enc2, strlen(enc2), NULL) != -EBADMSG)
			passed++;
	}
	is_int(passed, 0, "symlink: all %d single-character changes rejected",
	       tried);
	passed = 0;
	for (size_t l = 0; l < strlen(enc); l++)
		if (link_dec(k1, enc, l, NULL) != -EBADMSG)
			passed++;
	is_int(passed, 0, "symlink: every truncation rejected");
	snprintf(enc2, sizeof(enc2), "%sA", enc);
	is_int(link_dec(k1, enc2, strlen(enc2), NULL), -EBADMSG,
	       "symlink: appended character rejected");

	/* Authenticated but wrong: other AD, NUL inside, empty. */
	forge_link(key1, "vaultfs-symlink", "abc", 3, enc, sizeof(enc));
	ok(link_dec(k1, enc, strlen(enc), NULL) == 0,
	   "rebuilt symlink construction decrypts (control)");
	forge_link(key1, "vaultfs-symlinK", "abc", 3, enc, sizeof(enc));
	is_int(link_dec(k1, enc, strlen(enc), NULL), -EBADMSG,
	       "symlink with other AD rejected");
	forge_link(key1, "vaultfs-symlink", "a\0c", 3, enc, sizeof(enc));
	is_int(link_dec(k1, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated target with NUL rejected");
	forge_link(key1, "vaultfs-symlink", "", 0, enc, sizeof(enc));
	is_int(link_dec(k1, enc, strlen(enc), NULL), -EBADMSG,
	       "authenticated empty target rejected");
	memset(t, 'y', NAMES_LINK_MAX + 1);
	forge_link(key1, "vaultfs-symlink", t, NAMES_LINK_MAX, enc,
		   sizeof(enc));
	ok(names_link_decrypt(k1, enc, strlen(enc), out, &len) == 0 &&
	   len == NAMES_LINK_MAX, "decrypt accepts up to NAMES_LINK_MAX");
	forge_link(key1, "vaultfs-symlink", t, NAMES_LINK_MAX + 1, big,
		   sizeof(big));
	is_int(link_dec(k1, big, strlen(big), NULL), -EBADMSG,
	       "decrypt refuses NAMES_LINK_MAX + 1");
	memset(big, 'A', sizeof(big));
	is_int(link_dec(k1, big, sizeof(big), NULL), -EBADMSG,
	       "oversized encoding rejected");
	is_int(link_dec(k1, "", 0, NULL), -EBADMSG, "empty encoding rejected");
}

int main(void)
{
	if (seal_init() != 0) {
		ok(0, "seal_init");
		return done_testing();
	}
	seal_random(key1, sizeof(key1));
	seal_random(key2, sizeof(key2));
	seal_random(dir_a, sizeof(dir_a));
	seal_random(dir_b, sizeof(dir_b));
	k1 = names_key_new(key1);
	k2 = names_key_new(key2);
	ok(k1 && k2, "names_key_new");
	if (!k1 || !k2)
		return done_testing();

	test_round_trips();
	test_threshold();
	test_long_matches();
	test_tamper();
	test_bad_names();
	test_forgeries();
	test_garbage();
	test_classify();
	test_links();

	{
		/* Another key object from the same key: same names. */
		struct names_key *k3 = names_key_new(key1);
		char e1[NAMES_ENC_MAX], e3[NAMES_ENC_MAX];
		char b1[NAMES_BACKING_MAX], b3[NAMES_BACKING_MAX];
		bool l1, l3;

		ok(k3 && names_encrypt(k1, dir_a, "x", 1, e1, b1, &l1) == 0 &&
		   names_encrypt(k3, dir_a, "x", 1, e3, b3, &l3) == 0 &&
		   strcmp(e1, e3) == 0, "same key, same names");
		names_key_free(k3);
	}
	names_key_free(k1);
	names_key_free(k2);
	names_key_free(NULL);
	return done_testing();
}
