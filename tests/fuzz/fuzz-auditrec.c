/*
 * fuzz-auditrec.c - the access-log parsers (vaultfs/auditrec.h) and the
 * verifier's segment walk (vaultfs/auditverify.h).
 *
 * The first input byte selects the target:
 *   0  record plaintext: auditrec_decode
 *   1  one frame: auditrec_frame_parse, then open it under a fixed key
 *   2  a segment header: auditrec_header_parse, then open it with the
 *      fixed auditor key pair
 *   3  a whole log: u32 (LE) length of segment 1, segment 1, segment 2;
 *      written to a private temporary directory and verified with the
 *      fixed key pair, then with the second one alone and with both
 *      (auditverify_run_keys(): segments sealed to a key not given are
 *      walked by their chain only).  Seeds are real logs made with those
 *      key pairs (one with segment 1 sealed to the second pair and
 *      segment 2 to the first, as after vaultctl audit rekey), so
 *      mutations reach the record walk.
 * The fixed auditor key pairs are crypto_box_seed_keypair(seed = 32 x
 * 0x5a) and (32 x 0x5b); the vault id is 16 x 0x11 (tests only).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/auditverify.h"
#include "../../vaultfs/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
static uint8_t pk2[AUDITREC_PK_BYTES], sk2[AUDITREC_SK_BYTES];
static uint8_t key[AUDITREC_KEY_BYTES];
static char dir[] = "/tmp/fuzz-auditrec.XXXXXX";
static int dir_fd = -1;
static uint8_t plain[AUDITREC_PLAIN_MAX];
static char strbuf[AUDITREC_STRBUF_BYTES];

static void cleanup(void)
{
	unlinkat(dir_fd, "seg-000000000001.log", 0);
	unlinkat(dir_fd, "seg-000000000002.log", 0);
	close(dir_fd);
	rmdir(dir);
}

static int setup(void)
{
	static int done;
	uint8_t seed[crypto_box_SEEDBYTES];

	if (done)
		return dir_fd >= 0 ? 0 : -1;
	done = 1;
	if (seal_init() < 0)
		abort();
	memset(seed, 0x5a, sizeof(seed));
	crypto_box_seed_keypair(pk, sk, seed);
	memset(seed, 0x5b, sizeof(seed));
	crypto_box_seed_keypair(pk2, sk2, seed);
	memset(key, 0x42, sizeof(key));
	if (mkdtemp(dir) == NULL)
		return -1;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0)
		atexit(cleanup);
	return dir_fd >= 0 ? 0 : -1;
}

static void put_file(const char *name, const uint8_t *d, size_t n)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);

	if (fd < 0)
		return;
	if (n > 0 && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	/* Touch every string so ASan sees a bad pointer. */
	size_t *sum = arg;
	const char *s[] = { r->comm, r->exe, r->path, r->new_path, r->detail };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (s[i] != NULL)
			*sum += strlen(s[i]);
	*sum += pos->index;
	return 0;
}

static int on_finding(void *arg, const struct audit_problem *p)
{
	size_t *sum = arg;

	*sum += strlen(p->detail) + strlen(auditverify_finding_name(p->kind));
	return 0;
}

static void fuzz_log(const uint8_t *d, size_t n)
{
	static const struct auditverify_callbacks cb = { on_record, on_finding };
	struct auditverify_key keys[2] = { { sk2, pk2, 0 }, { sk, pk, 0 } };
	struct auditverify_summary sum;
	uint8_t vid[AUDITREC_VAULT_ID_BYTES];
	size_t len1, acc = 0;

	if (n < 4)
		return;
	len1 = (size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16 |
	       (size_t)d[3] << 24;
	d += 4;
	n -= 4;
	if (len1 > n)
		len1 = n;
	put_file("seg-000000000001.log", d, len1);
	if (n > len1)
		put_file("seg-000000000002.log", d + len1, n - len1);
	else
		unlinkat(dir_fd, "seg-000000000002.log", 0);
	memset(vid, 0x11, sizeof(vid));
	(void)!auditverify_run(dir_fd, sk, pk, vid, &cb, &acc, &sum);
	(void)!auditverify_run(dir_fd, sk, pk, NULL, NULL, NULL, &sum);
	(void)!auditverify_run_keys(dir_fd, keys, 1, vid, &cb, &acc, &sum);
	(void)!auditverify_run_keys(dir_fd, keys, 2, vid, &cb, &acc, &sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auditrec_header h;
	struct auditrec_frame f;
	struct audit_record r;
	uint8_t k0[AUDITREC_KEY_BYTES];
	size_t fl;

	if (size < 1 || setup() < 0)
		return 0;
	switch (data[0]) {
	case 0:
		if (auditrec_decode(data + 1, size - 1, &r, strbuf,
				    sizeof(strbuf)) == 0 &&
		    r.path != NULL && strlen(r.path) > AUDIT_PATH_MAX)
			abort();
		break;
	case 1:
		if (size >= 5)
			(void)!auditrec_frame_peek(data + 1, &fl);
		if (auditrec_frame_parse(data + 1, size - 1, &f) == 0) {
			if (f.frame_len > size - 1 || f.ct_len < SEAL_TAG_BYTES)
				abort();
			if (auditrec_frame_open(key, &f, plain) == 0)
				(void)!auditrec_decode(plain, f.ct_len -
						       SEAL_TAG_BYTES, &r,
						       strbuf, sizeof(strbuf));
		}
		break;
	case 2:
		if (auditrec_header_parse(data + 1, size - 1, &h) == 0)
			(void)!auditrec_header_open(&h, data + 1, sk, pk, k0);
		break;
	case 3:
		fuzz_log(data + 1, size - 1);
		break;
	}
	return 0;
}
