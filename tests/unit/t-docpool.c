/* t-docpool.c - documents made ahead (vaultfs/docpool.h). */
#include "../../vaultfs/docpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/document.h"
#include "../../vaultfs/seal.h"
#include "../tap.h"

static char root[] = "/tmp/t-docpool.XXXXXX";

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int wait_ready(struct docpool *p, size_t n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000 && docpool_ready(p) < n; i++)
		nanosleep(&ms, NULL);
	return docpool_ready(p) >= n;
}

/* Reopen dir/name from scratch and read it: the made-ahead header works. */
static int reads_back(int dirfd, const char *name, const struct keystore *ks,
		      const char *want)
{
	char buf[64] = "";
	struct doc *d = NULL;
	size_t got = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return 0;
	r = doc_open(fd, ks, &d) == 0 &&
	    doc_read(d, buf, sizeof(buf), 0, &got) == 0 &&
	    got == strlen(want) && memcmp(buf, want, got) == 0;
	if (d)
		(void)doc_close(d);
	close(fd);
	return r;
}

int main(void)
{
	struct vault_settings s = { .chunk_size = 65536, .compress_level = 1 };
	struct keystore *ks = NULL;
	struct docpool *p = NULL;
	struct doc *d1 = NULL, *d2 = NULL, *d3 = NULL;
	char pool_dir[64], out_dir[64];
	int fd1 = -1, fd2 = -1, fd3 = -1, pfd, ofd, fds;
	struct stat st;

	if (seal_init() != 0 || !mkdtemp(root) ||
	    keystore_create(root, "test pass", 9, KEYSTORE_KDF_INTERACTIVE, &s,
			    &ks) < 0) {
		ok(0, "set-up");
		return done_testing();
	}
	snprintf(pool_dir, sizeof(pool_dir), "%s/pool", root);
	snprintf(out_dir, sizeof(out_dir), "%s/out", root);
	if (mkdir(pool_dir, 0700) < 0 || mkdir(out_dir, 0700) < 0 ||
	    (pfd = open(pool_dir, O_RDONLY | O_DIRECTORY)) < 0 ||
	    (ofd = open(out_dir, O_RDONLY | O_DIRECTORY)) < 0) {
		ok(0, "set-up");
		return done_testing();
	}

	is_int(docpool_open(pfd, ks, 0, &p), -EINVAL, "size 0 refused");
	is_int(docpool_open(pfd, ks, DOCPOOL_MAX + 1, &p), -EINVAL,
	       "size above DOCPOOL_MAX refused");
	is_int(docpool_open(pfd, ks, 3, &p), 0, "open, size 3");
	ok(wait_ready(p, 3), "three made");
	is_int(count_entries(pool_dir), 0, "  anonymous: no name where made");

	is_int(docpool_take(p, ofd, "f1", 0640, &fd1, &d1), 0, "take one");
	ok(fstatat(ofd, "f1", &st, 0) == 0 && st.st_mode == (S_IFREG | 0640),
	   "  linked in with the requested mode");
	ok(d1 && doc_size(d1) == 0, "  an empty document");
	ok(d1 && doc_write(d1, "hello", 5, 0) == 0 && doc_close(d1) == 0,
	   "  written through the handed document");
	close(fd1);
	ok(reads_back(ofd, "f1", ks, "hello"), "  reads back from its file");

	is_int(docpool_take(p, ofd, "f2", 0600, &fd2, &d2), 0, "take another");
	ok(wait_ready(p, 3), "  the pool fills again");
	is_int(docpool_take(p, ofd, "f3", 0600, &fd3, &d3), 0, "and another");
	ok(d2 && d3 && memcmp(doc_id(d2), doc_id(d3),
			       CONTAINER_DOC_ID_BYTES) != 0,
	   "  document ids differ");
	(void)doc_close(d2);
	(void)doc_close(d3);
	close(fd2);
	close(fd3);

	ok(wait_ready(p, 3), "the pool is full");
	fds = count_entries("/proc/self/fd");
	is_int(docpool_take(p, ofd, "f1", 0600, &fd1, &d1), -EEXIST,
	       "an existing name refused");
	ok(reads_back(ofd, "f1", ks, "hello"), "  and untouched");
	ok(wait_ready(p, 3), "  the pool is full again");
	is_int(count_entries("/proc/self/fd"), fds,
	       "  and the refused document's descriptor is closed");
	is_int(count_entries(out_dir), 3, "only the three taken are there");

	docpool_close(p);
	docpool_close(NULL);
	is_int(count_entries(pool_dir), 0, "nothing left where they were made");

	close(pfd);
	close(ofd);
	keystore_free(ks);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			diag("could not remove %s", root);
	}
	return done_testing();
}
