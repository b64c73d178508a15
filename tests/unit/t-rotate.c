/*
 * t-rotate.c - key rotation (keys/rotate.h) on a real vault layout in a
 * temp dir: rewrap, destroy, the old KEK gone from the store (shown with a
 * saved copy of the old key store and an old header), re-encryption (new
 * DEK and id, every chunk's ciphertext changed, holes kept, hard links
 * kept), resuming, a damaged document keeping its KEK, temp file cleanup,
 * the census, and the document-level rotation calls.
 */
#include "../../keys/rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/backing.h"
#include "../../vaultfs/document.h"
#include "../../vaultfs/fileio.h"
#include "../../vaultfs/log.h"
#include "../../vaultfs/names.h"
#include "../tap.h"

#define PASS "rotation test passphrase"
#define CS 4096u

static char vdir[] = "/tmp/t-rotate.XXXXXX";
static char olddir[] = "/tmp/t-rotate-old.XXXXXX";
static int vault_fd = -1, data_fd = -1;
static struct keystore *ks;
static struct names_key *nk;
static uint8_t root_id[NAMES_DIRID_BYTES];

/* ---- helpers ---- */

static void backing_name(const char *name, char out[NAMES_BACKING_MAX])
{
	char enc[NAMES_ENC_MAX];
	bool is_long;

	if (names_encrypt(nk, root_id, name, strlen(name), enc, out,
			  &is_long) != 0 || is_long) {
		diag("cannot encrypt name '%s'", name);
		exit(1);
	}
}

static int open_doc(const char *name, int flags, struct doc **d)
{
	char b[NAMES_BACKING_MAX];
	int fd, r;

	backing_name(name, b);
	fd = openat(data_fd, b, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = doc_open(fd, ks, d);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Create document name; write len bytes of data at each offset in offs. */
static void put_doc(const char *name, const uint8_t *data, size_t len,
		    const uint64_t *offs, size_t noffs, uint64_t size)
{
	char b[NAMES_BACKING_MAX];
	struct doc *d;
	int fd;

	backing_name(name, b);
	fd = openat(data_fd, b, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
	if (fd < 0 || doc_create(fd, ks, &d) != 0) {
		diag("cannot create '%s'", name);
		exit(1);
	}
	for (size_t i = 0; i < noffs; i++)
		if (doc_write(d, data, len, offs[i]) != 0)
			diag("write failed");
	if (size && doc_truncate(d, size) != 0)
		diag("truncate failed");
	if (doc_close(d) != 0)
		diag("close failed");
	close(fd);
}

/* The whole plaintext of name into a malloc'd buffer; NULL on failure. */
static uint8_t *read_doc(const char *name, uint64_t *size)
{
	struct doc *d;
	uint8_t *buf;
	size_t got;
	int fd = open_doc(name, O_RDONLY, &d);

	if (fd < 0)
		return NULL;
	*size = doc_size(d);
	buf = malloc(*size + 1);
	if (buf && doc_read(d, buf, *size, 0, &got) != 0) {
		free(buf);
		buf = NULL;
	}
	doc_close(d);
	close(fd);
	return buf;
}

static size_t slurp_at(int dirfd, const char *name, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	if (read_file_small(dirfd, name, buf, cap, &len) != 0)
		return 0;
	return len;
}

/* Raw bytes of the backing file of name (malloc'd). */
static uint8_t *raw(const char *name, size_t *len)
{
	char b[NAMES_BACKING_MAX];
	struct stat st;
	uint8_t *buf;
	size_t got;
	int fd;

	backing_name(name, b);
	fd = openat(data_fd, b, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	buf = calloc(1, (size_t)st.st_size + 1);
	if (buf && pread_full(fd, buf, (size_t)st.st_size, 0, &got) != 0)
		got = 0;
	close(fd);
	*len = got;
	return buf;
}

static int stat_doc(const char *name, struct stat *st)
{
	char b[NAMES_BACKING_MAX];

	backing_name(name, b);
	return fstatat(data_fd, b, st, AT_SYMLINK_NOFOLLOW);
}

/* KEK version, doc id and DEK of the document in header bytes hdr. */
static int header_keys(const struct keystore *k, const uint8_t *hdr,
		       struct container_header *h, uint8_t dek[32])
{
	int r = container_header_parse(hdr, h);

	if (r == 0)
		r = keystore_unwrap_dek(k, h->doc_id, h->kek_version,
					h->wrapped_dek, dek);
	return r;
}

static enum keystore_kek_state state_of(uint32_t version)
{
	struct keystore_kek_info info[KEYSTORE_MAX_KEKS];
	size_t n;

	keystore_keks(ks, info, KEYSTORE_MAX_KEKS, &n);
	for (size_t i = 0; i < n; i++)
		if (info[i].version == version)
			return info[i].state;
	return 0;
}

static struct rotate_ops quiet_ops;

/* ---- the data ---- */

#define BIG (10 * CS + 123)
static uint8_t big[BIG], small_text[1000];

static void make_docs(void)
{
	uint64_t zero = 0, offs[40];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)randombytes_uniform(256);
	for (size_t i = 0; i < sizeof(small_text); i++)
		small_text[i] = (uint8_t)("abcdefgh"[i % 8]);
	put_doc("big", big, sizeof(big), &zero, 1, 0);
	put_doc("text", small_text, sizeof(small_text), &zero, 1, 0);
	put_doc("empty", big, 0, NULL, 0, 0);
	/* a sparse document: data at chunk 0 and chunk 200, size 300 chunks */
	offs[0] = 0;
	offs[1] = 200 * (uint64_t)CS;
	put_doc("sparse", small_text, sizeof(small_text), offs, 2,
		300 * (uint64_t)CS);
	/* more hole extents than a header can list (CONTAINER_MAX_HOLES) */
	for (int i = 0; i < 40; i++)
		offs[i] = (uint64_t)(2 * i + 1) * CS;
	put_doc("holey", small_text, 10, offs, 40, 0);
	/* hard-linked: two names, one inode */
	put_doc("linked", big, 3 * CS, &zero, 1, 0);
	{
		char a[NAMES_BACKING_MAX], b[NAMES_BACKING_MAX];

		backing_name("linked", a);
		backing_name("linked2", b);
		if (linkat(data_fd, a, data_fd, b, 0) != 0)
			diag("link failed");
	}
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many-%02d", i);
		put_doc(name, small_text, (size_t)i * 50, &zero, i ? 1 : 0, 0);
	}
}

static const char *const names[] = {
	"big", "text", "empty", "sparse", "holey", "linked", "linked2",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))
static uint8_t *plain_before[NNAMES];
static uint64_t size_before[NNAMES];

static void snapshot(void)
{
	for (size_t i = 0; i < NNAMES; i++)
		plain_before[i] = read_doc(names[i], &size_before[i]);
}

static void same_content(const char *when)
{
	int bad = 0;

	for (size_t i = 0; i < NNAMES; i++) {
		uint64_t size = 0;
		uint8_t *p = read_doc(names[i], &size);

		if (!p || size != size_before[i] || !plain_before[i] ||
		    memcmp(p, plain_before[i], size) != 0) {
			diag("%s: '%s' differs", when, names[i]);
			bad++;
		}
		free(p);
	}
	ok(bad == 0, "%s: every document reads as before", when);
}

static void all_on(uint32_t version, const char *when)
{
	struct rotate_census c;
	uint64_t docs = 0;

	if (rotate_census(data_fd, ks, &c) != 0) {
		ok(0, "%s: census", when);
		return;
	}
	for (size_t i = 0; i < c.nkeks; i++)
		if (c.kek[i].version == version)
			docs = c.kek[i].docs;
	is_int(docs, c.docs, "%s: all %llu documents on KEK %u", when,
	       (unsigned long long)c.docs, (unsigned)version);
	ok(c.other == 0 && c.unreadable == 0 && c.hidden == 0,
	   "%s: census clean", when);
}

/* ---- tests ---- */

static void test_doc_level(void)
{
	uint32_t cur = 0, other = 0;
	struct doc *d;
	uint8_t before[CONTAINER_HDR_BYTES], after[CONTAINER_HDR_BYTES];
	struct container_header h1, h2;
	uint8_t dek1[32], dek2[32];
	char b[NAMES_BACKING_MAX];
	int fd;

	fd = open_doc("text", O_RDWR, &d);
	if (fd < 0) {
		ok(0, "open text");
		return;
	}
	is_int(doc_peek_kek(fd, &cur, &other), 0, "peek kek");
	is_int(cur, 1, "current slot names KEK 1");
	is_int(other, 1, "other slot names KEK 1");
	is_int(doc_kek_version(d), 1, "doc_kek_version 1");
	doc_close(d);
	close(fd);

	/* doc_rewrap on a read-only doc is refused */
	fd = open_doc("text", O_RDONLY, &d);
	is_int(doc_rewrap(d), -EBADF, "rewrap of a read-only doc: EBADF");
	is_int(doc_reencrypt(d, NULL, NULL), -EBADF,
	       "reencrypt of a read-only doc: EBADF");
	doc_close(d);
	close(fd);

	/* peek on files that are not documents */
	backing_name("nodoc", b);
	fd = openat(data_fd, b, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	is_int(doc_peek_kek(fd, &cur, &other), -ENOENT, "peek: empty file");
	if (pwrite(fd, "garbage garbage", 15, 0) != 15)
		diag("pwrite");
	is_int(doc_peek_kek(fd, &cur, &other), -EBADMSG, "peek: garbage");
	close(fd);
	unlinkat(data_fd, b, 0);

	/* rewrap keeps the DEK and id, changes the wrapping */
	fd = open_doc("text", O_RDWR, &d);
	if (pread_full(fd, before, sizeof(before), 0, &(size_t){ 0 }) != 0)
		diag("pread");
	if (keystore_rotation_begin(ks, vdir, false) != 0) {
		ok(0, "begin");
		return;
	}
	is_int(doc_rewrap(d), 0, "doc_rewrap");
	is_int(doc_kek_version(d), 2, "now on KEK 2");
	doc_close(d);
	if (pread_full(fd, after, sizeof(after), 0, &(size_t){ 0 }) != 0)
		diag("pread");
	is_int(doc_peek_kek(fd, &cur, &other), 0, "peek after rewrap");
	ok(cur == 2 && other == 2, "both header slots name KEK 2");
	close(fd);
	ok(header_keys(ks, before, &h1, dek1) == 0 &&
	   header_keys(ks, after, &h2, dek2) == 0, "both headers unwrap");
	is_mem(h1.doc_id, h2.doc_id, 16, "rewrap keeps the document id");
	is_mem(dek1, dek2, 32, "rewrap keeps the DEK");
	ok(h2.gen > h1.gen, "rewrap writes a higher generation");
	ok(memcmp(h1.wrapped_dek, h2.wrapped_dek, 72) != 0,
	   "the wrapped DEK changed");
	sodium_memzero(dek1, 32);
	sodium_memzero(dek2, 32);
}

static void test_resume_and_destroy(void)
{
	uint8_t oldstore[4096], oldhdr[CONTAINER_HDR_BYTES];
	uint8_t dek_old[32], dek_new[32];
	struct container_header h;
	struct keystore *old = NULL, *fresh = NULL;
	struct keystore_rotation rot;
	struct rotate_result res;
	size_t len, hl;
	int ofd;

	/*
	 * test_doc_level left a rotation begun (KEK 2 active, 1 retiring)
	 * and one document moved: this run resumes it.
	 */
	keystore_rotation(ks, &rot);
	ok(rot.unfinished && !rot.reencrypt && rot.target == 2,
	   "rotation to 2 recorded as unfinished");

	/* keep the old key store and an old header, as an attacker might */
	len = slurp_at(vault_fd, KEYSTORE_FILE, oldstore, sizeof(oldstore));
	ofd = open(olddir, O_RDONLY | O_DIRECTORY);
	ok(len > 0 && write_file_new(ofd, KEYSTORE_FILE, oldstore, len,
				     0600) == 0, "saved the old key store");
	{
		uint8_t *r = raw("big", &hl);

		memcpy(oldhdr, r, sizeof(oldhdr));
		free(r);
	}
	ok(keystore_open(olddir, PASS, strlen(PASS), &old) == 0,
	   "the saved store opens");
	ok(old && header_keys(old, oldhdr, &h, dek_old) == 0 &&
	   h.kek_version == 1, "saved store unwraps the saved KEK-1 header");

	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "rotate_run resumes");
	ok(res.resumed, "it says it resumed");
	is_int(res.target, 2, "target 2");
	is_int(res.skipped, 1, "the document already moved is skipped");
	is_int(res.failed, 0, "nothing failed");
	ok(res.finished, "finished");
	ok(res.ndestroyed == 1 && res.destroyed[0] == 1, "KEK 1 destroyed");
	is_int(state_of(1), KEYSTORE_KEK_DESTROYED, "store: 1 destroyed");
	is_int(state_of(2), KEYSTORE_KEK_ACTIVE, "store: 2 active");
	keystore_rotation(ks, &rot);
	ok(!rot.unfinished, "no rotation recorded any more");
	same_content("after rewrap");
	all_on(2, "after rewrap");

	/* the old KEK is gone from the store on disk */
	ok(keystore_open(vdir, PASS, strlen(PASS), &fresh) == 0,
	   "the new store opens");
	if (fresh) {
		uint8_t out[32];

		memset(out, 0xaa, sizeof(out));
		is_int(keystore_unwrap_dek(fresh, h.doc_id, 1, h.wrapped_dek,
					   out), -ENOKEY,
		       "the new store cannot unwrap the old header: ENOKEY");
		ok(sodium_is_zero(out, 32), "  and gives no key bytes");
	}
	/* ... while the document itself, rewrapped, has the same DEK */
	{
		uint8_t *r = raw("big", &hl);
		struct container_header h2;

		ok(r && fresh && header_keys(fresh, r, &h2, dek_new) == 0 &&
		   h2.kek_version == 2, "the new header unwraps under KEK 2");
		is_mem(dek_new, dek_old, 32, "  to the same DEK (rewrap only)");
		free(r);
	}
	keystore_free(fresh);
	keystore_free(old);
	unlinkat(ofd, KEYSTORE_FILE, 0);
	close(ofd);
	sodium_memzero(dek_old, 32);
	sodium_memzero(dek_new, 32);
}

static void test_reencrypt(void)
{
	uint8_t *rb[NNAMES];
	size_t rl[NNAMES];
	struct container_header hb[NNAMES], ha;
	uint8_t dekb[NNAMES][32], deka[32];
	struct stat stb_link, sta_link, stb_sparse, sta_sparse, stb_big, sta_big;
	struct rotate_result res;
	int changed_dek = 0, changed_id = 0, stale = 0, same_frames = 0;

	for (size_t i = 0; i < NNAMES; i++) {
		rb[i] = raw(names[i], &rl[i]);
		if (!rb[i] || header_keys(ks, rb[i], &hb[i], dekb[i]) != 0)
			diag("cannot read '%s' before", names[i]);
	}
	stat_doc("linked", &stb_link);
	stat_doc("sparse", &stb_sparse);
	stat_doc("big", &stb_big);
	/* give big an unusual mode and mtime: they must survive */
	{
		char b[NAMES_BACKING_MAX];
		struct timespec tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		backing_name("big", b);
		if (fchmodat(data_fd, b, 0604, 0) != 0 ||
		    utimensat(data_fd, b, tv, AT_SYMLINK_NOFOLLOW) != 0)
			diag("chmod/utimensat");
		stat_doc("big", &stb_big);
	}
	/* a temp file an interrupted run left behind */
	{
		int fd = openat(data_fd, ROTATE_TMP_PREFIX "0123456789abcdef",
				O_CREAT | O_RDWR, 0600);

		close(fd);
	}

	is_int(rotate_run(vault_fd, vdir, ks, true, &quiet_ops, &res), 0,
	       "rotate --reencrypt");
	ok(!res.resumed && res.reencrypt && res.target == 3,
	   "a new rotation to KEK 3, re-encrypting");
	ok(res.finished && res.failed == 0, "finished, nothing failed");
	ok(res.ndestroyed == 1 && res.destroyed[0] == 2, "KEK 2 destroyed");
	ok(faccessat(data_fd, ROTATE_TMP_PREFIX "0123456789abcdef", F_OK,
		     AT_SYMLINK_NOFOLLOW) != 0, "leftover temp file removed");
	same_content("after re-encryption");
	all_on(3, "after re-encryption");

	for (size_t i = 0; i < NNAMES; i++) {
		size_t len;
		uint8_t *ra = raw(names[i], &len);

		if (!ra || header_keys(ks, ra, &ha, deka) != 0) {
			diag("cannot read '%s' after", names[i]);
			free(ra);
			continue;
		}
		if (memcmp(deka, dekb[i], 32) != 0)
			changed_dek++;
		if (memcmp(ha.doc_id, hb[i].doc_id, 16) != 0)
			changed_id++;
		/* no frame of before is anywhere in the file after */
		for (size_t off = CONTAINER_DATA_OFFSET; off + 48 <= rl[i];
		     off += container_slot_bytes(CS)) {
			const uint8_t *f = rb[i] + off;

			if (memcmp(f, "VLTC", 4) != 0)
				continue;
			for (size_t o2 = CONTAINER_DATA_OFFSET; o2 + 48 <= len;
			     o2 += container_slot_bytes(CS))
				if (memcmp(ra + o2, f, 48) == 0) {
					if (o2 == off)
						same_frames++;
					else
						stale++;
				}
		}
		free(ra);
		sodium_memzero(deka, 32);
	}
	/* "linked" and "linked2" are one document */
	is_int(changed_dek, NNAMES, "every document has a new DEK");
	is_int(changed_id, NNAMES, "every document has a new id");
	is_int(same_frames + stale, 0,
	       "no chunk frame (nonce, generation) of before remains");

	stat_doc("linked", &sta_link);
	ok(sta_link.st_ino == stb_link.st_ino && sta_link.st_nlink == 2,
	   "hard-linked document re-encrypted in place, both links kept");
	stat_doc("sparse", &sta_sparse);
	ok(sta_sparse.st_blocks <= stb_sparse.st_blocks + 8,
	   "sparse document stays sparse (%lld -> %lld blocks)",
	   (long long)stb_sparse.st_blocks, (long long)sta_sparse.st_blocks);
	stat_doc("big", &sta_big);
	ok(sta_big.st_ino != stb_big.st_ino,
	   "single-link document replaced by a new file");
	ok((sta_big.st_mode & 07777) == 0604 &&
	   sta_big.st_mtim.tv_sec == 1000000000 &&
	   sta_big.st_uid == stb_big.st_uid && sta_big.st_gid == stb_big.st_gid,
	   "  with its mode, owner and mtime");
	for (size_t i = 0; i < NNAMES; i++) {
		free(rb[i]);
		sodium_memzero(dekb[i], 32);
	}
}

static void test_damaged(void)
{
	struct rotate_result res;
	char b[NAMES_BACKING_MAX];
	uint8_t byte;
	int fd;

	/* damage both header slots of "many-05" (inside the sealed body) */
	backing_name("many-05", b);
	fd = openat(data_fd, b, O_RDWR | O_CLOEXEC);
	for (off_t off = 200; off < 4096; off += 2048) {
		if (pread(fd, &byte, 1, off) != 1)
			diag("pread");
		byte ^= 0x40;
		if (pwrite(fd, &byte, 1, off) != 1)
			diag("pwrite");
	}
	close(fd);

	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "rotation with a damaged document runs");
	is_int(res.failed, 1, "one document failed");
	ok(!res.finished, "the rotation is unfinished");
	is_int(res.ndestroyed, 0, "nothing destroyed");
	is_int(state_of(3), KEYSTORE_KEK_RETIRING,
	       "the damaged document's KEK 3 stays, retiring");
	is_int(state_of(4), KEYSTORE_KEK_ACTIVE, "KEK 4 active");
	{
		struct keystore_rotation rot;

		keystore_rotation(ks, &rot);
		ok(rot.unfinished && rot.target == 4, "rotation still recorded");
	}
	/* a second run resumes and still cannot finish */
	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "rerun");
	ok(res.resumed && !res.finished && res.failed == 1 && res.moved == 0,
	   "resumed, nothing new to move, still unfinished");
	/* the admin removes the damaged document: now it finishes */
	unlinkat(data_fd, b, 0);
	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "rerun after removing it");
	ok(res.resumed && res.finished && res.failed == 0, "finished");
	ok(res.ndestroyed == 1 && res.destroyed[0] == 3, "KEK 3 destroyed");
	is_int(state_of(3), KEYSTORE_KEK_DESTROYED, "store: 3 destroyed");
}

static void test_supersede(void)
{
	struct rotate_result res;
	struct keystore_rotation rot;

	/* an unfinished rewrap-only rotation, then --reencrypt */
	ok(keystore_rotation_begin(ks, vdir, false) == 0, "begin rewrap 5");
	is_int(rotate_run(vault_fd, vdir, ks, true, &quiet_ops, &res), 0,
	       "--reencrypt over an unfinished rewrap rotation");
	ok(!res.resumed && res.target == 6 && res.reencrypt,
	   "a new re-encrypting rotation to 6");
	ok(res.finished && res.ndestroyed == 2, "finished, 4 and 5 destroyed");
	same_content("after superseding");

	/* an unfinished re-encrypting one stays re-encrypting */
	ok(keystore_rotation_begin(ks, vdir, true) == 0, "begin reencrypt 7");
	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "plain rotate over an unfinished re-encrypting one");
	ok(res.resumed && res.reencrypt && res.target == 7,
	   "resumed, still re-encrypting");
	keystore_rotation(ks, &rot);
	ok(res.finished && !rot.unfinished, "finished");
	same_content("after the resumed re-encryption");
}


/* ---- the crash states of doc_reencrypt(), built by hand ---- */

struct verify_count {
	int bad, stale;
};

static void count_bad(uint64_t index, int error, void *arg)
{
	struct verify_count *v = arg;

	if (error == -ESTALE)
		v->stale++;
	else
		v->bad++;
}

static struct verify_count verify(const char *name)
{
	struct verify_count v = { 0, 0 };
	struct doc *d;
	int fd = open_doc(name, O_RDONLY, &d);

	if (fd < 0) {
		v.bad = -1;
		return v;
	}
	if (doc_verify(d, count_bad, &v) < 0 && v.bad == 0)
		v.bad = -2;
	doc_close(d);
	close(fd);
	return v;
}

/*
 * Step 1 of doc_reencrypt() without steps 2 and 3: every chunk of name
 * re-sealed under dek2/id2 into its other slot with generation + 1; the
 * header is left alone.  With torn_header, also what a torn step-2 write
 * leaves: header slot 0 switched to dek2/id2 (wrapped by the active KEK),
 * slot 1 still the old header.  Returns the number of chunks written.
 */
static int half_reencrypt(const char *name, bool torn_header)
{
	uint8_t hdr[CONTAINER_HDR_BYTES], dek[32], dek2[32], id2[16];
	uint8_t *slot = malloc(container_slot_bytes(CS));
	uint8_t *plain = malloc(CS);
	struct container_header h, h1;
	size_t sb = container_slot_bytes(CS), got;
	char b[NAMES_BACKING_MAX];
	int fd, n = 0;

	backing_name(name, b);
	fd = openat(data_fd, b, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !slot || !plain ||
	    pread_full(fd, hdr, sizeof(hdr), 0, &got) != 0) {
		n = -1;
		goto out;
	}
	/* the header a reader uses: slot 1 when both are fine (higher gen) */
	if (container_header_parse(hdr + CONTAINER_HDR_SLOT_BYTES, &h1) != 0 ||
	    keystore_unwrap_dek(ks, h1.doc_id, h1.kek_version, h1.wrapped_dek,
				dek) != 0 ||
	    container_header_open(hdr + CONTAINER_HDR_SLOT_BYTES, dek,
				  &h1) != 0) {
		n = -1;
		goto out;
	}
	randombytes_buf(dek2, sizeof(dek2));
	randombytes_buf(id2, sizeof(id2));
	for (uint64_t i = 0; i * CS < h1.size; i++) {
		uint64_t g[2] = { 0, 0 }, gen;
		int pr[2], cur, s2;
		size_t len, flen;

		if (container_is_hole(&h1, i))
			continue;
		for (int k = 0; k < 2; k++) {
			if (pread_full(fd, slot, sb,
				       (off_t)container_slot_offset(CS, i, k),
				       &got) != 0)
				got = 0;
			memset(slot + got, 0, sb - got);
			pr[k] = container_frame_peek(slot, sb, &g[k]);
		}
		cur = (pr[0] == 0 && pr[1] == 0) ? g[1] > g[0] : pr[1] == 0;
		if (pread_full(fd, slot, sb,
			       (off_t)container_slot_offset(CS, i, cur),
			       &got) != 0 ||
		    container_frame_open(dek, h1.doc_id, i, CS, slot, sb, plain,
					 &len, &gen) != 0) {
			n = -1;
			goto out;
		}
		s2 = 1 - cur;
		if (container_frame_seal(dek2, id2, i, g[cur] + 1, 3, plain,
					 len, slot, sb, &flen) != 0 ||
		    pwrite_full(fd, slot, flen,
				(off_t)container_slot_offset(CS, i, s2)) != 0) {
			n = -1;
			goto out;
		}
		n++;
	}
	if (torn_header) {
		h = h1;
		memcpy(h.doc_id, id2, 16);
		h.gen = h1.gen + 2;
		if (keystore_wrap_dek(ks, id2, dek2, &h.kek_version,
				      h.wrapped_dek) != 0 ||
		    container_header_seal(&h, dek2, hdr) != 0 ||
		    pwrite_full(fd, hdr, CONTAINER_HDR_SLOT_BYTES, 0) != 0)
			n = -1;
	}
out:
	sodium_memzero(dek, sizeof(dek));
	sodium_memzero(dek2, sizeof(dek2));
	if (plain)
		sodium_memzero(plain, CS);
	free(plain);
	free(slot);
	if (fd >= 0)
		close(fd);
	return n;
}

static void test_inplace_crash(void)
{
	struct rotate_result res;
	struct verify_count v;
	uint32_t cur = 0, other = 0;
	char b[NAMES_BACKING_MAX];
	int n, fd;

	/* killed in step 1: new frames beside the old, old header */
	ok(keystore_rotation_begin(ks, vdir, true) == 0, "begin reencrypt 8");
	n = half_reencrypt("linked", false);
	ok(n == 3, "crash state 1 built: 3 chunks re-sealed, header old");
	same_content("crash in step 1, before the rerun");
	v = verify("linked");
	ok(v.bad == 0 && v.stale == 3,
	   "  fsck: no damage, 3 chunks 'newest version damaged' (%d, %d)",
	   v.bad, v.stale);
	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "the rerun");
	ok(res.resumed && res.finished && res.failed == 0, "  finishes");
	same_content("after the rerun");
	v = verify("linked");
	ok(v.bad == 0 && v.stale == 0, "  fsck clean (%d, %d)", v.bad,
	   v.stale);

	/* killed in step 2, a torn header write: slot 0 new, slot 1 old */
	ok(keystore_rotation_begin(ks, vdir, true) == 0, "begin reencrypt 9");
	n = half_reencrypt("linked", true);
	ok(n == 3, "crash state 2 built: chunks re-sealed, one header slot new");
	backing_name("linked", b);
	fd = openat(data_fd, b, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && doc_peek_kek(fd, &cur, &other) == 0 && cur == 9 &&
	   other == 8, "  the new slot (KEK 9) wins, the other names KEK 8");
	if (fd >= 0)
		close(fd);
	same_content("torn header, before the rerun");
	v = verify("linked");
	ok(v.bad == 0 && v.stale == 0, "  fsck: clean (%d, %d)", v.bad,
	   v.stale);
	is_int(rotate_run(vault_fd, vdir, ks, false, &quiet_ops, &res), 0,
	       "the rerun");
	ok(res.resumed && res.finished && res.failed == 0,
	   "  finishes, and destroys KEK 8");
	fd = openat(data_fd, b, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && doc_peek_kek(fd, &cur, &other) == 0 && cur == 9 &&
	   other == 9, "  both header slots now name KEK 9");
	if (fd >= 0)
		close(fd);
	is_int(state_of(8), KEYSTORE_KEK_DESTROYED, "KEK 8 destroyed");
	same_content("after the rerun");
	v = verify("linked");
	ok(v.bad == 0 && v.stale == 0, "  fsck clean (%d, %d)", v.bad,
	   v.stale);
}

int main(void)
{
	struct vault_settings s = { 0 };

	if (seal_init() < 0)
		skip_all("libsodium does not initialise");
	log_init("t-rotate");
	if (!mkdtemp(vdir) || !mkdtemp(olddir))
		skip_all("mkdtemp failed");
	vault_fd = open(vdir, O_RDONLY | O_DIRECTORY);
	s.chunk_size = CS;
	s.compress_level = 3;
	if (vault_fd < 0 || backing_init_layout(vault_fd) != 0 ||
	    keystore_create(vdir, PASS, strlen(PASS), KEYSTORE_KDF_INTERACTIVE,
			    &s, &ks) != 0) {
		ok(0, "make a vault");
		return done_testing();
	}
	data_fd = openat(vault_fd, BACKING_DATA_DIR, O_RDONLY | O_DIRECTORY);
	nk = names_key_new(keystore_name_key(ks));
	if (data_fd < 0 || !nk || backing_read_dirid(data_fd, root_id) != 0) {
		ok(0, "vault layout");
		return done_testing();
	}
	make_docs();
	snapshot();
	all_on(1, "new vault");

	test_doc_level();
	test_resume_and_destroy();
	test_reencrypt();
	test_damaged();
	test_supersede();
	test_inplace_crash();

	for (size_t i = 0; i < NNAMES; i++)
		free(plain_before[i]);
	names_key_free(nk);
	keystore_free(ks);
	close(data_fd);
	close(vault_fd);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", vdir, olddir);
		if (system(cmd) != 0)
			diag("cleanup failed");
	}
	return done_testing();
}
