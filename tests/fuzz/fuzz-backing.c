/*
 * fuzz-backing.c - the small files of the backing store as the daemon reads
 * them: vaultfs.dirid (backing_read_dirid) and long-name side files
 * (backing_read_longname, names_long_matches).
 *
 * First input byte: mode; the rest is the file's content.
 *   mode & 1 = 0  the content is a directory's vaultfs.dirid: it must be
 *                 accepted exactly when it is 16 bytes, and read back as is.
 *   mode & 1 = 1  the content is the side file of a long entry; with
 *                 mode & 2 the entry is "@" + the hash of the content (as
 *                 a writer makes it), else of the content with one byte
 *                 more.  A side file is accepted only if it hashes to its
 *                 entry, holds no NUL and fits; then enc is the content.
 *   mode & 4      instead of a file, the name is a FIFO (must not block),
 *                 a symlink to the content file, or a directory (by
 *                 mode >> 3): always refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vaultfs/backing.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-backing.XXXXXX";
static int dfd = -1;

static void cleanup(void)
{
	unlinkat(dfd, "content", 0);
	unlinkat(dfd, NAMES_DIRID_FILE, 0);
	unlinkat(dfd, NAMES_DIRID_FILE, AT_REMOVEDIR);
	rmdir(dir);
}

static void setup(void)
{
	if (seal_init() < 0 || !mkdtemp(dir))
		abort();
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		abort();
	atexit(cleanup);
}

static void put_file(const char *name, const uint8_t *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) < 0)
		abort();
}

static void remove_name(const char *name)
{
	if (unlinkat(dfd, name, 0) < 0 && errno == EISDIR)
		unlinkat(dfd, name, AT_REMOVEDIR);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Make name something other than a regular file; true if done. */
static bool plant(const char *name, unsigned how, const uint8_t *p, size_t n)
{
	remove_name(name);
	switch (how % 3) {
	case 0:
		return mkfifoat(dfd, name, 0644) == 0;
	case 1:
		put_file("content", p, n);
		return symlinkat("content", dfd, name) == 0;
	default:
		return mkdirat(dfd, name, 0755) == 0;
	}
}

static void fuzz_dirid(unsigned mode, const uint8_t *p, size_t n)
{
	uint8_t id[NAMES_DIRID_BYTES];
	int r;

	if (mode & 4) {
		if (!plant(NAMES_DIRID_FILE, mode >> 3, p, n))
			abort();
		if (backing_read_dirid(dfd, id) == 0)
			abort();
		remove_name(NAMES_DIRID_FILE);
		return;
	}
	put_file(NAMES_DIRID_FILE, p, n);
	r = backing_read_dirid(dfd, id);
	if ((r == 0) != (n == NAMES_DIRID_BYTES))
		abort();
	if (r == 0 && memcmp(id, p, NAMES_DIRID_BYTES) != 0)
		abort();
	if (r != 0 && r != -EBADMSG)
		abort();
}

static void fuzz_longname(unsigned mode, const uint8_t *p, size_t n)
{
	char entry[NAMES_BACKING_MAX], side[NAMES_BACKING_MAX + 8];
	char enc[NAMES_ENC_MAX];
	uint8_t h[32], *q;
	size_t enclen;
	bool valid;
	int r;

	/* The entry: "@" + base64url(BLAKE2b-256(content [+ one byte])). */
	q = malloc(n + 1);
	if (!q)
		abort();
	if (n)
		memcpy(q, p, n);
	q[n] = 'x';
	seal_hash(h, sizeof(h), NULL, q, n + ((mode & 2) ? 0 : 1));
	free(q);
	entry[0] = '@';
	sodium_bin2base64(entry + 1, sizeof(entry) - 1, h, sizeof(h),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(side, sizeof(side), "%s%s", entry, NAMES_LONG_SUFFIX);
	if (names_classify(entry) != NAMES_LONG ||
	    names_classify(side) != NAMES_LONG_SIDE)
		abort();
	if (mode & 4) {
		if (!plant(side, mode >> 3, p, n))
			abort();
		if (backing_read_longname(dfd, entry, enc, &enclen) == 0)
			abort();
		remove_name(side);
		return;
	}
	put_file(side, p, n);
	r = backing_read_longname(dfd, entry, enc, &enclen);
	valid = (mode & 2) && n < NAMES_ENC_MAX && memchr(p, '\0', n) == NULL;
	if ((r == 0) != valid)
		abort();
	if (r == 0 && (enclen != n || memcmp(enc, p, n) != 0 || enc[n] != '\0' ||
		       !names_long_matches(entry, enc, enclen)))
		abort();
	if (r != 0 && r != -EBADMSG)
		abort();
	unlinkat(dfd, side, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (dfd < 0)
		setup();
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_longname(data[0], data + 1, size - 1);
	else
		fuzz_dirid(data[0], data + 1, size - 1);
	return 0;
}
