/*
 * t-auditkey.c - auditor key file: generate/load round trip, the key pair
 * works with crypto_box_seal, wrong passphrase, every byte tampered,
 * truncation, future format, permissions, existing file; auditkey_parse
 * on its own: valid file, each field at and past its bounds, truncated,
 * extended, wrong magic.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tap.h"
#include "../../keys/auditkey.h"
#include "../../vaultfs/fileio.h"
#include "../../vaultfs/le.h"

#define PASS "auditor passphrase"
#define FILE_BYTES 152
#define OFF_KDF 12
#define OFF_PK 48
#define OFF_NONCE 80
#define OFF_CT 104

static char dir[] = "/tmp/t-auditkey.XXXXXX";
static char path[256];

/* The key file's bytes, or 0 when it cannot be read whole into buf. */
static size_t slurp(uint8_t *buf, size_t cap)
{
	size_t n = 0;

	return read_file_small(AT_FDCWD, path, buf, cap, &n) == 0 ? n : 0;
}

static void spit(const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	chmod(path, 0600);
}

/* auditkey_parse of orig with a u32 or u64 at off replaced by v. */
static int parse_with(const uint8_t *orig, size_t off, int width, uint64_t v,
		      struct auditkey_file_info *info)
{
	uint8_t buf[FILE_BYTES];

	memcpy(buf, orig, FILE_BYTES);
	if (width == 4)
		le_put32(buf + off, (uint32_t)v);
	else
		le_put64(buf + off, v);
	memset(info, 0xaa, sizeof(*info));
	return auditkey_parse(buf, FILE_BYTES, info);
}

static int info_is_zero(const struct auditkey_file_info *info)
{
	return sodium_is_zero((const unsigned char *)info, sizeof(*info));
}

/* auditkey_parse alone: no file, no KDF. */
static void test_parse(const uint8_t *orig, const uint8_t pk[32])
{
	static const struct {
		size_t off;
		int width;
		uint64_t v;
		int want;
		const char *what;
	} cases[] = {
		{ 8, 4, 0, -EBADMSG, "format 0" },
		{ 8, 4, 2, -EPROTONOSUPPORT, "format 2 (newer)" },
		{ 8, 4, 0xffffffff, -EPROTONOSUPPORT, "format 2^32-1" },
		{ 12, 4, 0, -EBADMSG, "KDF algorithm 0" },
		{ 12, 4, 1, -EBADMSG, "KDF algorithm 1 (Argon2i)" },
		{ 12, 4, 3, -EBADMSG, "KDF algorithm 3" },
		{ 16, 8, 0, -EBADMSG, "opslimit 0" },
		{ 16, 8, 1, 0, "opslimit 1 (minimum)" },
		{ 16, 8, 64, 0, "opslimit 64 (maximum)" },
		{ 16, 8, 65, -EBADMSG, "opslimit 65" },
		{ 16, 8, (1ULL << 32) + 2, -EBADMSG, "opslimit 2^32+2" },
		{ 16, 8, UINT64_MAX, -EBADMSG, "opslimit 2^64-1" },
		{ 24, 8, 0, -EBADMSG, "memlimit 0" },
		{ 24, 8, 8191, -EBADMSG, "memlimit 8191" },
		{ 24, 8, 8192, 0, "memlimit 8192 (minimum)" },
		{ 24, 8, 4ULL << 30, 0, "memlimit 4 GiB (maximum)" },
		{ 24, 8, (4ULL << 30) + 1, -EBADMSG, "memlimit 4 GiB + 1" },
		{ 24, 8, UINT64_MAX, -EBADMSG, "memlimit 2^64-1" },
	};
	struct auditkey_file_info info;
	uint8_t buf[FILE_BYTES + 64];
	int r, fails;

	memset(&info, 0xaa, sizeof(info));
	is_int(auditkey_parse(orig, FILE_BYTES, &info), 0, "parse: valid file");
	ok(info.opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE &&
	   info.memlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
	   "parse: interactive cost");
	is_mem(info.salt, orig + OFF_KDF + 20, AUDITKEY_SALT_BYTES,
	       "parse: salt");
	is_mem(info.pk, pk, 32, "parse: public key");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = parse_with(orig, cases[i].off, cases[i].width, cases[i].v,
			       &info);
		is_int(r, cases[i].want, "parse: %s", cases[i].what);
		if (r == 0)
			ok(cases[i].off == 16 ? info.opslimit == cases[i].v :
			   info.memlimit == cases[i].v, "  cost read back");
		else
			ok(info_is_zero(&info), "  info zeroed");
	}

	/* Every magic byte, and a whole other magic (the key store's). */
	fails = 0;
	for (size_t i = 0; i < 8; i++) {
		memcpy(buf, orig, FILE_BYTES);
		buf[i] ^= 0x20;
		memset(&info, 0xaa, sizeof(info));
		if (auditkey_parse(buf, FILE_BYTES, &info) != -EBADMSG ||
		    !info_is_zero(&info))
			fails++;
	}
	memcpy(buf, orig, FILE_BYTES);
	memcpy(buf, "VAULTFSK", 8);
	if (auditkey_parse(buf, FILE_BYTES, &info) != -EBADMSG)
		fails++;
	is_int(fails, 0, "parse: wrong magic -> EBADMSG");

	/* Every shorter length; a newer format wins once it is visible. */
	fails = 0;
	for (size_t len = 0; len < FILE_BYTES; len++) {
		memset(&info, 0xaa, sizeof(info));
		if (auditkey_parse(orig, len, &info) != -EBADMSG ||
		    !info_is_zero(&info)) {
			diag("truncated to %zu", len);
			fails++;
		}
	}
	is_int(fails, 0, "parse: every truncation -> EBADMSG");
	memcpy(buf, orig, FILE_BYTES);
	le_put32(buf + 8, 2);
	is_int(auditkey_parse(buf, 12, &info), -EPROTONOSUPPORT,
	       "parse: newer format, 12 bytes -> EPROTONOSUPPORT");
	is_int(auditkey_parse(buf, 11, &info), -EBADMSG,
	       "parse: newer format, 11 bytes -> EBADMSG");
	is_int(auditkey_parse(buf, sizeof(buf), &info), -EPROTONOSUPPORT,
	       "parse: newer format, longer -> EPROTONOSUPPORT");

	/* Extended by one byte, by many. */
	memcpy(buf, orig, FILE_BYTES);
	memset(buf + FILE_BYTES, 0, sizeof(buf) - FILE_BYTES);
	is_int(auditkey_parse(buf, FILE_BYTES + 1, &info), -EBADMSG,
	       "parse: one byte extra -> EBADMSG");
	is_int(auditkey_parse(buf, sizeof(buf), &info), -EBADMSG,
	       "parse: 64 bytes extra -> EBADMSG");

	/* The sealed part is the opener's business, not the parser's. */
	memcpy(buf, orig, FILE_BYTES);
	buf[OFF_NONCE] ^= 1;
	buf[OFF_CT + 5] ^= 1;
	is_int(auditkey_parse(buf, FILE_BYTES, &info), 0,
	       "parse: does not look at nonce and ciphertext");
}

static int load(uint8_t sk[32], uint8_t pk[32])
{
	memset(sk, 0xaa, 32);
	memset(pk, 0xaa, 32);
	return auditkey_load(path, PASS, strlen(PASS), sk, pk);
}

int main(void)
{
	uint8_t pk[32], pk2[32], sk[32], orig[512], buf[512];
	uint8_t msg[16] = "segment key 0001", sealed[16 + crypto_box_SEALBYTES];
	uint8_t opened[16];
	char other[300];
	struct stat st;
	size_t len;
	int r, fails;

	if (seal_init() < 0)
		skip_all("libsodium does not initialise");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/auditor.key", dir);

	is_int(load(sk, pk), -ENOENT, "load a missing key -> ENOENT");
	snprintf(other, sizeof(other), "%s/missing/auditor.key", dir);
	is_int(auditkey_generate(other, PASS, strlen(PASS),
				 KEYSTORE_KDF_INTERACTIVE, pk), -ENOENT,
	       "generate into a missing directory -> ENOENT");

	is_int(auditkey_generate(path, PASS, strlen(PASS),
				 KEYSTORE_KDF_INTERACTIVE, pk), 0, "generate");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600");
	len = slurp(orig, sizeof(orig));
	is_int(len, FILE_BYTES, "file size");
	is_mem(orig, "VAULTFSA", 8, "magic");
	is_mem(orig + OFF_PK, pk, 32, "public key in the clear part");
	ok(memmem(orig, len, PASS, strlen(PASS)) == NULL,
	   "passphrase not in the file");
	if (len == FILE_BYTES)
		test_parse(orig, pk);
	else
		ok(0, "no key file to parse");

	is_int(auditkey_generate(path, PASS, strlen(PASS),
				 KEYSTORE_KDF_INTERACTIVE, pk2), -EEXIST,
	       "generate refuses an existing file");
	ok(slurp(buf, sizeof(buf)) == len && memcmp(buf, orig, len) == 0,
	   "existing file untouched");

	is_int(load(sk, pk2), 0, "load");
	is_mem(pk2, pk, 32, "loaded public key matches");
	ok(memmem(orig, len, sk, 32) == NULL, "secret key not in the file");
	/* The pair really is a crypto_box pair (audit segments use it). */
	crypto_box_seal(sealed, msg, sizeof(msg), pk);
	ok(crypto_box_seal_open(opened, sealed, sizeof(sealed), pk2, sk) == 0 &&
	   memcmp(opened, msg, sizeof(msg)) == 0,
	   "crypto_box_seal to pk opens with the loaded sk");

	r = auditkey_load(path, "wrong", 5, sk, pk2);
	is_int(r, -EKEYREJECTED, "wrong passphrase -> EKEYREJECTED");
	ok(sodium_is_zero(sk, 32), "sk zeroed on a wrong passphrase");

	/* Every byte tampered. */
	fails = 0;
	for (size_t i = 0; i < len; i++) {
		memcpy(buf, orig, len);
		buf[i] ^= 0x01;
		spit(buf, len);
		r = load(sk, pk2);
		if (r == 0 || !sodium_is_zero(sk, 32)) {
			diag("byte %zu flipped: %d", i, r);
			fails++;
			continue;
		}
		/* magic: not a key file; format byte 0: 0; others: future */
		if ((i < 8 && r != -EBADMSG) ||
		    (i == 8 && r != -EBADMSG) ||
		    (i > 8 && i < 12 && r != -EPROTONOSUPPORT) ||
		    (i >= 12 && r != -EBADMSG && r != -EKEYREJECTED)) {
			diag("byte %zu flipped: unexpected %d", i, r);
			fails++;
		}
	}
	is_int(fails, 0, "every tampered byte is refused with the right error");

	/* Truncated, extended. */
	fails = 0;
	for (size_t cut = 0; cut < len; cut += 7) {
		spit(orig, cut);
		if (load(sk, pk2) != -EBADMSG)
			fails++;
	}
	spit(orig, len - 1);
	if (load(sk, pk2) != -EBADMSG)
		fails++;
	memcpy(buf, orig, len);
	buf[len] = '\n';
	spit(buf, len + 1);
	if (load(sk, pk2) != -EBADMSG)
		fails++;
	is_int(fails, 0, "truncated or extended files -> EBADMSG");

	/* Future format, even with garbage behind it. */
	memcpy(buf, orig, len);
	le_put32(buf + 8, 2);
	memset(buf + OFF_KDF, 0xff, len - OFF_KDF);
	spit(buf, len);
	is_int(load(sk, pk2), -EPROTONOSUPPORT, "future format");
	/* Absurd KDF parameters. */
	memcpy(buf, orig, len);
	memset(buf + OFF_KDF + 12, 0xff, 8);
	spit(buf, len);
	is_int(load(sk, pk2), -EBADMSG, "absurd memlimit");

	/* Permissions. */
	spit(orig, len);
	is_int(load(sk, pk2), 0, "restored key loads");
	chmod(path, 0620);
	is_int(load(sk, pk2), -EPERM, "group-writable key refused");
	ok(sodium_is_zero(sk, 32), "sk zeroed on EPERM");
	chmod(path, 0602);
	is_int(load(sk, pk2), -EPERM, "world-writable key refused");
	chmod(path, 0644);
	is_int(load(sk, pk2), 0, "world-readable key is accepted");
	chmod(path, 0600);

	/* Symlinks are not followed. */
	snprintf(other, sizeof(other), "%s/link.key", dir);
	if (symlink("auditor.key", other) == 0) {
		memset(sk, 0xaa, 32);
		is_int(auditkey_load(other, PASS, strlen(PASS), sk, pk2),
		       -EBADMSG, "symlinked key refused");
		unlink(other);
	}
	/* A directory is not a key file. */
	is_int(auditkey_load(dir, PASS, strlen(PASS), sk, pk2), -EBADMSG,
	       "directory refused");

	sodium_memzero(sk, sizeof(sk));
	unlink(path);
	rmdir(dir);
	return done_testing();
}
