/*
 * fuzz-auditkey.c - the auditor's key file parser (auditkey_parse) and,
 * where that is cheap, the opener behind it (auditkey_load).
 *
 * The input is a key file as is (man/vaultfs.5, "Auditor key file").
 *
 *   1. auditkey_parse must agree with the format as the man page states it
 *      (expect() below, written from the page, not from auditkey.c), copy
 *      the clear part on success and leave *info zeroed on failure.
 *   2. A file the parser refuses is written to a private temporary
 *      directory and auditkey_load must refuse it with the same error
 *      before any KDF runs; that keeps the opener on the parser.
 *   3. A file it accepts with the minimum Argon2id cost (1 pass, 8 KiB,
 *      microseconds) is opened with the passphrase "fuzz": 0 (seeds made
 *      under "fuzz"), -EKEYREJECTED or -EBADMSG.  Then the harness seals
 *      the input's bytes 104..135 as the secret key under the same clear
 *      part, once with the input's public key (the key-pair check must
 *      refuse it unless they match) and once with the matching public key
 *      (must open and give back that secret key).
 *   Other accepted costs are parsed only: up to 64 passes over 4 GiB
 *   per input would stall the fuzzer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../keys/auditkey.h"
#include "../../vaultfs/le.h"
#include "tmpfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASS "fuzz"
#define FILE_BYTES 152
#define OFF_FORMAT 8
#define OFF_ALG 12
#define OFF_OPS 16
#define OFF_MEM 24
#define OFF_SALT 32
#define OFF_PK 48
#define CLEAR 80
#define OFF_NONCE 80
#define OFF_CT 104
#define WRITE_MAX 4096

static int setup(void)
{
	return seal_init() < 0 ? -1 : tmp_setup("fuzz-auditkey", "auditor.key");
}

/* The verdict of man/vaultfs.5 on a file of n bytes. */
static int expect(const uint8_t *d, size_t n)
{
	uint64_t ops, mem;

	if (n < 12 || memcmp(d, "VAULTFSA", 8) != 0)
		return -EBADMSG;
	if (le_get32(d + OFF_FORMAT) > 1)
		return -EPROTONOSUPPORT;
	if (le_get32(d + OFF_FORMAT) != 1 || n != FILE_BYTES ||
	    le_get32(d + OFF_ALG) != 2)
		return -EBADMSG;
	ops = le_get64(d + OFF_OPS);
	mem = le_get64(d + OFF_MEM);
	if (ops < 1 || ops > 64 || mem < 8192 || mem > (4ULL << 30))
		return -EBADMSG;
	return 0;
}

/* auditkey_load of file; sk and pk must be zero unless it returns 0. */
static int load(const uint8_t *file, size_t len, uint8_t sk[32],
		uint8_t pk[32])
{
	int r;

	tmp_write(file, len);
	memset(sk, 0xaa, 32);
	memset(pk, 0xaa, 32);
	r = auditkey_load(tmp_path, PASS, strlen(PASS), sk, pk);
	if (r != 0 && (!sodium_is_zero(sk, 32) || !sodium_is_zero(pk, 32)))
		abort();
	return r;
}

/* An opened key must be a key pair, with the public key of the file. */
static void check_opened(const uint8_t *file, const uint8_t sk[32],
			 const uint8_t pk[32])
{
	uint8_t check[32];

	if (memcmp(pk, file + OFF_PK, 32) != 0 ||
	    crypto_scalarmult_base(check, sk) != 0 ||
	    memcmp(check, pk, 32) != 0)
		abort();
}

/* Seal sk (32) into file under its clear part (80 bytes, minimum cost). */
static void reseal(uint8_t file[FILE_BYTES], const uint8_t *sk)
{
	uint8_t key[32];

	if (crypto_pwhash(key, 32, PASS, strlen(PASS), file + OFF_SALT, 1,
			  8192, crypto_pwhash_ALG_ARGON2ID13) != 0)
		abort();
	crypto_aead_xchacha20poly1305_ietf_encrypt(file + OFF_CT, NULL, sk, 32,
			file, CLEAR, NULL, file + OFF_NONCE, key);
	sodium_memzero(key, sizeof(key));
}

static void open_cheap(const uint8_t *data)
{
	uint8_t file[FILE_BYTES], sk[32], pk[32], want[32];
	int r;

	r = load(data, FILE_BYTES, sk, pk);
	if (r == 0)
		check_opened(data, sk, pk);
	else if (r != -EKEYREJECTED && r != -EBADMSG)
		abort();

	/* The input's public key with its bytes 104..135 as secret key. */
	memcpy(file, data, FILE_BYTES);
	reseal(file, data + OFF_CT);
	r = load(file, FILE_BYTES, sk, pk);
	if (crypto_scalarmult_base(want, data + OFF_CT) == 0 &&
	    memcmp(want, data + OFF_PK, 32) == 0) {
		if (r != 0 || memcmp(sk, data + OFF_CT, 32) != 0)
			abort();
		check_opened(file, sk, pk);
	} else if (r != -EBADMSG) {
		abort();
	}

	/* The matching public key: must open. */
	if (crypto_scalarmult_base(want, data + OFF_CT) != 0)
		return;
	memcpy(file + OFF_PK, want, 32);
	reseal(file, data + OFF_CT);
	if (load(file, FILE_BYTES, sk, pk) != 0 ||
	    memcmp(sk, data + OFF_CT, 32) != 0)
		abort();
	check_opened(file, sk, pk);
	sodium_memzero(sk, sizeof(sk));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auditkey_file_info info;
	uint8_t sk[32], pk[32];
	int r, want;

	if (setup() < 0)
		return 0;
	memset(&info, 0xaa, sizeof(info));
	r = auditkey_parse(data, size, &info);
	want = expect(data, size);
	if (r != want)
		abort();
	if (r != 0) {
		if (!sodium_is_zero((const unsigned char *)&info, sizeof(info)))
			abort();
		/* The opener refuses it the same way, KDF or no KDF. */
		if (load(data, size < WRITE_MAX ? size : WRITE_MAX, sk,
			 pk) != r)
			abort();
		return 0;
	}
	if (info.opslimit != le_get64(data + OFF_OPS) ||
	    info.memlimit != le_get64(data + OFF_MEM) ||
	    memcmp(info.salt, data + OFF_SALT, AUDITKEY_SALT_BYTES) != 0 ||
	    memcmp(info.pk, data + OFF_PK, AUDITKEY_PK_BYTES) != 0)
		abort();
	if (info.opslimit == 1 && info.memlimit == 8192)
		open_cheap(data);
	return 0;
}
