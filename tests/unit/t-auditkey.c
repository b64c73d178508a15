/*
 * t-auditkey.c - auditor key file: generate/load round trip, the key pair
 * works with crypto_box_seal, wrong passphrase, every byte tampered,
 * truncation, future format, permissions, existing file.
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

#define PASS "auditor passphrase"
#define FILE_BYTES 152
#define OFF_KDF 12
#define OFF_PK 48
#define OFF_NONCE 80
#define OFF_CT 104

static char dir[] = "/tmp/t-auditkey.XXXXXX";
static char path[256];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

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
	chmod(path, 0600);
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
	put32(buf + 8, 2);
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
