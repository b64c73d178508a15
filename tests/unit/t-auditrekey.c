/*
 * t-auditrekey.c - changing the auditor key (issue 3): the passphrase of
 * the key file (auditkey_change_passphrase), the public key in the key
 * store (keystore_set_auditor_pk), and reading a log whose segments are
 * sealed to two auditor keys (auditverify_run_keys): both keys, each key
 * alone (WRONG_KEY for the other part, chain still checked), tampering
 * with the part sealed to the key not given, a crash in it, no key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../../keys/auditkey.h"
#include "../../keys/keystore.h"
#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/auditverify.h"
#include "../../vaultfs/fileio.h"
#include "../../vaultfs/seal.h"

#define PASS "old auditor passphrase"
#define NEWPASS "new auditor passphrase"
#define VPASS "vault passphrase"

static char dir[] = "/tmp/t-auditrekey.XXXXXX";

/* The file's bytes, or 0 when it cannot be read whole into buf. */
static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	return read_file_small(AT_FDCWD, path, buf, cap, &n) == 0 ? n : 0;
}

/* Entries of d other than "." and "..". */
static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* ---- auditkey_change_passphrase ---- */

static void test_passwd(void)
{
	char kdir[300], path[400], link[400];
	uint8_t before[512], after[512], pk[32], pk0[32], sk[32], sk0[32];
	enum keystore_kdf sens = KEYSTORE_KDF_INTERACTIVE;
	struct stat st;
	size_t n0, n1;

	snprintf(kdir, sizeof(kdir), "%s/keys", dir);
	mkdir(kdir, 0700);
	snprintf(path, sizeof(path), "%s/auditor.key", kdir);
	if (auditkey_generate(path, PASS, strlen(PASS),
			      KEYSTORE_KDF_INTERACTIVE, pk0) != 0) {
		ok(0, "generate a key file");
		return;
	}
	ok(auditkey_load(path, PASS, strlen(PASS), sk0, pk) == 0,
	   "the key opens with its passphrase");
	n0 = slurp(path, before, sizeof(before));

	/* Wrong current passphrase: refused, file untouched. */
	is_int(auditkey_change_passphrase(path, "nope", 4, NEWPASS,
					  strlen(NEWPASS), NULL),
	       -EKEYREJECTED, "wrong current passphrase -> EKEYREJECTED");
	n1 = slurp(path, after, sizeof(after));
	ok(n0 == 152 && n1 == n0 && memcmp(before, after, n0) == 0,
	   "  the file is unchanged");
	is_int(count_entries(kdir), 1, "  no temporary file left");

	/* The change. */
	is_int(auditkey_change_passphrase(path, PASS, strlen(PASS), NEWPASS,
					  strlen(NEWPASS), NULL), 0,
	       "change the passphrase");
	is_int(auditkey_load(path, PASS, strlen(PASS), sk, pk), -EKEYREJECTED,
	       "  the old passphrase no longer opens it");
	ok(auditkey_load(path, NEWPASS, strlen(NEWPASS), sk, pk) == 0,
	   "  the new one does");
	is_mem(pk, pk0, 32, "  same public key");
	is_mem(sk, sk0, 32, "  same secret key");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	   "  mode 0600");
	is_int(count_entries(kdir), 1, "  no temporary file left");
	n1 = slurp(path, after, sizeof(after));
	ok(n1 == 152 && memcmp(before + 32, after + 32, 16) != 0,
	   "  fresh salt");
	ok(memcmp(before + 12, after + 12, 16) == 0,
	   "  KDF cost kept when none is given");

	/* A preset changes the recorded cost. */
	sens = KEYSTORE_KDF_MODERATE;
	is_int(auditkey_change_passphrase(path, NEWPASS, strlen(NEWPASS), PASS,
					  strlen(PASS), &sens), 0,
	       "change back with the moderate preset");
	n1 = slurp(path, after, sizeof(after));
	ok(n1 == 152 && after[24] == 0 && after[25] == 0 && after[26] == 0 &&
	   after[27] == 0x10, "  memlimit 256 MiB recorded");
	ok(auditkey_load(path, PASS, strlen(PASS), sk, pk) == 0 &&
	   memcmp(pk, pk0, 32) == 0, "  opens, same key");

	/* File checks as for loading. */
	chmod(path, 0620);
	n0 = slurp(path, before, sizeof(before));
	is_int(auditkey_change_passphrase(path, PASS, strlen(PASS), NEWPASS,
					  strlen(NEWPASS), NULL), -EPERM,
	       "group-writable key file refused");
	n1 = slurp(path, after, sizeof(after));
	ok(n1 == n0 && memcmp(before, after, n0) == 0, "  unchanged");
	chmod(path, 0600);
	snprintf(link, sizeof(link), "%s/link.key", kdir);
	if (symlink("auditor.key", link) == 0) {
		ok(auditkey_change_passphrase(link, PASS, strlen(PASS), NEWPASS,
					      strlen(NEWPASS), NULL) < 0,
		   "a symlink is refused");
		ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode),
		   "  and left a symlink");
		unlink(link);
	}
	is_int(auditkey_change_passphrase(link, PASS, strlen(PASS), NEWPASS,
					  strlen(NEWPASS), NULL), -ENOENT,
	       "a missing file -> ENOENT");
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(sk0, sizeof(sk0));
}

static void test_fingerprint(void)
{
	uint8_t pk[32];
	char fp[AUDITKEY_FINGERPRINT_CHARS];

	for (int i = 0; i < 32; i++)
		pk[i] = (uint8_t)(0xa0 + i);
	auditkey_fingerprint(pk, fp);
	ok(strcmp(fp, "a0a1a2a3a4a5a6a7") == 0, "fingerprint: first 8 bytes in "
	   "hex (%s)", fp);
}

/* ---- keystore_set_auditor_pk ---- */

static void test_keystore(void)
{
	char vdir[300], kpath[400];
	struct vault_settings s = { .chunk_size = 65536, .compress_level = 1 };
	struct keystore *ks = NULL, *ks2 = NULL;
	uint8_t pk1[32], pk2[32], zero[32] = { 0 }, before[4096], after[4096];
	uint8_t doc[16] = "document-id-0001", dek[SEAL_KEY_BYTES];
	uint8_t wrapped[KEYSTORE_WRAPPED_BYTES], back[SEAL_KEY_BYTES];
	uint8_t name_key[32];
	uint32_t ver;
	size_t n0, n1;

	snprintf(vdir, sizeof(vdir), "%s/vault", dir);
	snprintf(kpath, sizeof(kpath), "%s/vault/vault.keys", dir);
	mkdir(vdir, 0700);
	crypto_box_keypair(pk1, dek);
	crypto_box_keypair(pk2, dek);
	memcpy(s.auditor_pk, pk1, 32);
	if (keystore_create(vdir, VPASS, strlen(VPASS),
			    KEYSTORE_KDF_INTERACTIVE, &s, &ks) != 0) {
		ok(0, "create a key store");
		return;
	}
	seal_random(dek, sizeof(dek));
	ok(keystore_wrap_dek(ks, doc, dek, &ver, wrapped) == 0, "wrap a DEK");
	memcpy(name_key, keystore_name_key(ks), 32);
	n0 = slurp(kpath, before, sizeof(before));

	is_int(keystore_set_auditor_pk(ks, vdir, "wrong", 5, pk2),
	       -EKEYREJECTED, "set auditor pk with a wrong passphrase refused");
	n1 = slurp(kpath, after, sizeof(after));
	ok(n1 == n0 && memcmp(before, after, n0) == 0, "  store unchanged");
	is_mem(keystore_settings(ks)->auditor_pk, pk1, 32, "  ks unchanged");
	is_int(keystore_set_auditor_pk(ks, vdir, VPASS, strlen(VPASS), zero),
	       -EINVAL, "an all-zero public key refused");

	is_int(keystore_set_auditor_pk(ks, vdir, VPASS, strlen(VPASS), pk2), 0,
	       "set the auditor pk");
	is_mem(keystore_settings(ks)->auditor_pk, pk2, 32, "  ks shows it");
	is_int(count_entries(vdir), 1, "  no temporary file left");
	if (keystore_open(vdir, VPASS, strlen(VPASS), &ks2) != 0) {
		ok(0, "  the store reopens with the same passphrase");
	} else {
		ok(1, "  the store reopens with the same passphrase");
		is_mem(keystore_settings(ks2)->auditor_pk, pk2, 32,
		       "  and holds the new pk");
		is_mem(keystore_settings(ks2)->vault_id,
		       keystore_settings(ks)->vault_id, 16, "  same vault id");
		is_mem(keystore_name_key(ks2), name_key, 32, "  same name key");
		ok(keystore_unwrap_dek(ks2, doc, ver, wrapped, back) == 0 &&
		   memcmp(back, dek, sizeof(dek)) == 0,
		   "  documents still unwrap");
		keystore_free(ks2);
		ks2 = NULL;
	}
	is_int(keystore_open(vdir, "wrong", 5, &ks2), -EKEYREJECTED,
	       "  a wrong passphrase still fails");
	keystore_free(ks2);

	/* The pk is authenticated: flipping it in the file is caught. */
	n0 = slurp(kpath, before, sizeof(before));
	before[12 + 8 + 16] ^= 1;
	{
		FILE *f = fopen(kpath, "wb");

		if (f != NULL) {
			fwrite(before, 1, n0, f);
			fclose(f);
		}
	}
	ks2 = NULL;
	ok(keystore_open(vdir, VPASS, strlen(VPASS), &ks2) < 0,
	   "an auditor pk edited in the file does not open");
	keystore_free(ks2);
	keystore_free(ks);
	sodium_memzero(dek, sizeof(dek));
	sodium_memzero(back, sizeof(back));
}

/* ---- a log sealed to two keys ---- */

static uint8_t apk1[32], ask1[32], apk2[32], ask2[32], apk3[32], ask3[32];
static struct vault_settings vs;
static char adir[300];
static int afd = -1;

/* One segment of n open records plus a final record, sealed to pk. */
static int segment(const uint8_t pk[32], unsigned n, bool crash)
{
	struct auditlog *log;
	struct audit_record r;
	int err = 0;

	memcpy(vs.auditor_pk, pk, 32);
	if (auditlog_open(afd, &vs, NULL, &log) != 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.event = AUDIT_EV_MOUNT;
	err |= auditlog_append(log, &r, NULL);
	for (unsigned i = 0; i < n; i++) {
		r.event = AUDIT_EV_OPEN;
		r.path = "/secret/plan.txt";
		r.uid = 1000 + i;
		err |= auditlog_append(log, &r, NULL);
	}
	if (crash)
		_exit(err != 0);	/* no final record; lock dropped */
	r.event = AUDIT_EV_UNMOUNT;
	r.path = NULL;
	err |= auditlog_close(log, &r);
	return err;
}

/* The same, in a child that dies before closing it. */
static int crashed_segment(const uint8_t pk[32], unsigned n)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		segment(pk, n, true);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

struct res {
	uint64_t records, wrong_key, other_damage;
	enum audit_finding first_other;
	uint64_t first_other_seg;
};

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	((struct res *)arg)->records++;
	return 0;
}

static int on_finding(void *arg, const struct audit_problem *p)
{
	struct res *res = arg;

	if (p->kind == AUDIT_WRONG_KEY) {
		res->wrong_key++;
	} else if (auditverify_is_damage(p->kind)) {
		if (res->other_damage++ == 0) {
			res->first_other = p->kind;
			res->first_other_seg = p->segment_no;
		}
		diag("  %s in segment %llu: %s",
		     auditverify_finding_name(p->kind),
		     (unsigned long long)p->segment_no, p->detail);
	}
	return 0;
}

static const struct auditverify_callbacks cbs = { on_record, on_finding };

static int verify(struct auditverify_key *keys, size_t n, struct res *res,
		  struct auditverify_summary *sum)
{
	memset(res, 0, sizeof(*res));
	return auditverify_run_keys(afd, keys, n, vs.vault_id, &cbs, res, sum);
}

/* Flip a byte at offset at of segment seg; at < 0: from its end. */
static void flip(uint64_t seg, off_t at)
{
	char name[AUDITREC_SEGNAME_MAX];
	struct stat st;
	uint8_t b;
	int fd;

	auditrec_segment_name(seg, name);
	fd = openat(afd, name, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	if (at < 0)
		at += st.st_size;
	if (pread(fd, &b, 1, at) != 1) {
		close(fd);
		return;
	}
	b ^= 0x40;
	if (pwrite(fd, &b, 1, at) != 1)
		diag("cannot flip");
	close(fd);
}

static void test_two_keys(void)
{
	struct auditverify_key k1 = { .sk = ask1, .pk = apk1 };
	struct auditverify_key k2 = { .sk = ask2, .pk = apk2 };
	struct auditverify_key both[3] = { k1, k2, k1 }, one[1], none[1];
	struct auditverify_summary sum;
	struct res res;
	int r;

	snprintf(adir, sizeof(adir), "%s/audit", dir);
	mkdir(adir, 0700);
	afd = open(adir, O_RDONLY | O_DIRECTORY);
	seal_random(vs.vault_id, sizeof(vs.vault_id));
	/* Segments 1-2 sealed to key 1 (2 crashed), 3-4 to key 2. */
	if (segment(apk1, 5, false) != 0 || crashed_segment(apk1, 4) != 0 ||
	    segment(apk2, 6, false) != 0 || segment(apk2, 3, false) != 0) {
		ok(0, "build a log sealed to two keys");
		return;
	}
	/* A torn partial record at the end of the crashed segment 2 would
	 * come before segment 3 was written; the writer skips it. */

	r = verify(both, 2, &res, &sum);
	ok(r == 0 && sum.damage == 0 && res.records == 7 + 5 + 8 + 5,
	   "both keys: the whole log, intact (%llu records, %llu damage)",
	   (unsigned long long)res.records, (unsigned long long)sum.damage);
	ok(both[0].segments == 2 && both[1].segments == 2,
	   "  two segments sealed to each key");
	ok(sum.other_key_segments == 0 && sum.history_complete,
	   "  no other key, complete history");
	r = verify(both, 3, &res, &sum);
	ok(r == 0 && sum.damage == 0, "a key given twice is harmless");

	one[0] = k1;
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.wrong_key == 2 && res.other_damage == 0 &&
	   res.records == 7 + 5, "old key only: 2 segments not read, no "
	   "other damage, the old records");
	ok(sum.other_key_segments == 2 && sum.other_key_first == 3 &&
	   sum.other_key_last == 4 && sum.n_other_pks == 1 &&
	   memcmp(sum.other_pks[0], apk2, 32) == 0,
	   "  summary names segments 3..4 and the new public key");
	ok(sum.damage == 2, "  wrong-key segments count as damage");

	one[0] = k2;
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.wrong_key == 2 && res.other_damage == 0 &&
	   res.records == 8 + 5, "new key only: 2 segments not read, no "
	   "other damage (the crash in segment 2 is not damage)");
	ok(sum.other_key_first == 1 && sum.other_key_last == 2 &&
	   memcmp(sum.other_pks[0], apk1, 32) == 0,
	   "  summary names segments 1..2 and the old public key");

	none[0].sk = ask3;
	none[0].pk = apk3;
	is_int(verify(none, 1, &res, &sum), -EKEYREJECTED,
	       "a key that opens no segment -> EKEYREJECTED");

	/* The old part changed after the rekey, read with the new key. */
	flip(1, AUDITREC_HEADER_BYTES + 100);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.first_other == AUDIT_ALTERED &&
	   res.first_other_seg == 1, "new key only: a record of segment 1 "
	   "altered breaks its hash chain: altered");
	r = verify(both, 2, &res, &sum);
	ok(r == 0 && res.first_other == AUDIT_ALTERED &&
	   res.first_other_seg == 1, "both keys: altered in segment 1");
	flip(1, AUDITREC_HEADER_BYTES + 100);

	flip(2, -50);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.first_other == AUDIT_SEGMENT_REPLAYED &&
	   res.first_other_seg == 3, "new key only: the last record of "
	   "segment 2 altered: segment 3 (authenticated) no longer chains");
	flip(2, -50);

	flip(1, 70);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.other_damage > 0 && res.first_other_seg == 1,
	   "new key only: the header of segment 1 altered is damage");
	flip(1, 70);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.other_damage == 0, "restored: no damage again");

	/* The new part, read with the old key: its chain only. */
	one[0] = k1;
	flip(4, AUDITREC_HEADER_BYTES + 100);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.first_other == AUDIT_ALTERED &&
	   res.first_other_seg == 4, "old key only: a record of segment 4 "
	   "altered breaks its chain");
	flip(4, AUDITREC_HEADER_BYTES + 100);
	flip(4, -50);
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.other_damage == 0, "old key only: the last record of "
	   "the last segment is not checked (the documented limit)");
	one[0] = k2;
	r = verify(one, 1, &res, &sum);
	ok(r == 0 && res.first_other == AUDIT_ALTERED &&
	   res.first_other_seg == 4, "new key: altered in segment 4");
	flip(4, -50);
	r = verify(both, 2, &res, &sum);
	ok(r == 0 && sum.damage == 0, "restored: intact");
	close(afd);
}

int main(void)
{
	char cmd[300];

	if (seal_init() < 0)
		skip_all("libsodium does not initialise");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp failed");
	crypto_box_keypair(apk1, ask1);
	crypto_box_keypair(apk2, ask2);
	crypto_box_keypair(apk3, ask3);

	test_passwd();
	test_fingerprint();
	test_keystore();
	test_two_keys();

	sodium_memzero(ask1, sizeof(ask1));
	sodium_memzero(ask2, sizeof(ask2));
	sodium_memzero(ask3, sizeof(ask3));
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", dir);
	return done_testing();
}
