/* t-dirpool.c - directories made ahead (vaultfs/dirpool.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/backing.h"
#include "../../vaultfs/dirpool.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"

static char root[] = "/tmp/t-dirpool.XXXXXX";

static int open_dir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

/* Reserved temporary directories in dirfd. */
static int count_tmp(int dirfd)
{
	int fd = open_dir(dirfd, ".");
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strncmp(de->d_name, NAMES_TMP_PREFIX,
			     strlen(NAMES_TMP_PREFIX)) == 0;
	closedir(d);
	return n;
}

/* Wait up to 10 s for n directories waiting in p. */
static int wait_ready(struct dirpool *p, size_t n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 10000 && dirpool_ready(p) < n; i++)
		nanosleep(&ms, NULL);
	return dirpool_ready(p) >= n;
}

static int holds_id(int dirfd, const char *name, const uint8_t *id)
{
	uint8_t got[NAMES_DIRID_BYTES];
	int fd = open_dir(dirfd, name), r;

	if (fd < 0)
		return 0;
	r = backing_read_dirid(fd, got) == 0 &&
	    memcmp(got, id, sizeof(got)) == 0;
	close(fd);
	return r;
}

static void rm_rf(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

int main(void)
{
	char stale[BACKING_TMP_NAME_MAX];
	uint8_t id[NAMES_DIRID_BYTES], id2[NAMES_DIRID_BYTES];
	struct dirpool *p = NULL;
	struct stat st;
	int vfd, pfd;

	if (seal_init() != 0 || !mkdtemp(root)) {
		ok(0, "set-up");
		return done_testing();
	}
	vfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0 || mkdirat(vfd, "parent", 0755) != 0 ||
	    (pfd = open_dir(vfd, "parent")) < 0) {
		ok(0, "set-up");
		return done_testing();
	}

	is_int(dirpool_open(vfd, 0, &p), -EINVAL, "size 0 refused");
	ok(p == NULL, "  and no pool");
	is_int(dirpool_open(vfd, DIRPOOL_MAX + 1, &p), -EINVAL,
	       "size above DIRPOOL_MAX refused");

	/* one left over by a daemon that died */
	is_int(backing_mkdir_tmp(vfd, stale, id), 0, "a stale one");
	is_int(dirpool_open(vfd, 4, &p), 0, "open, size 4");
	ok(fstatat(vfd, stale, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	   errno == ENOENT, "the stale one is removed");
	ok(wait_ready(p, 4), "four made ahead");
	is_int(count_tmp(vfd), 4, "  and four there, no more");

	is_int(dirpool_take(p, pfd, "a", 0750, id), 0, "take one");
	ok(holds_id(pfd, "a", id), "  it holds the returned id");
	ok(fstatat(pfd, "a", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	   st.st_mode == (S_IFDIR | 0750), "  with the requested mode");
	ok(wait_ready(p, 4), "  and the pool makes another");
	is_int(dirpool_take(p, pfd, "b", 0700, id2), 0, "take another");
	ok(memcmp(id, id2, sizeof(id)) != 0, "  ids differ");

	is_int(dirpool_take(p, pfd, "a", 0700, id2), -EEXIST,
	       "an existing name refused");
	ok(holds_id(pfd, "a", id), "  and untouched");
	ok(wait_ready(p, 4), "  the pool is full again");
	is_int(count_tmp(vfd), 4, "  and the refused one is not left behind");
	is_int(count_tmp(pfd), 0, "nothing temporary where they went");

	dirpool_close(p);
	is_int(count_tmp(vfd), 0, "close removes the waiting ones");
	dirpool_close(NULL);

	/* where none can be made: take says so, the caller makes its own */
	if (mkdirat(vfd, "gone", 0700) != 0) {
		ok(0, "make gone");
		return done_testing();
	}
	{
		int gfd = open_dir(vfd, "gone");

		unlinkat(vfd, "gone", AT_REMOVEDIR);
		is_int(dirpool_open(gfd, 2, &p), 0, "open on a removed directory");
		is_int(dirpool_take(p, pfd, "c", 0700, id), -EAGAIN,
		       "  take: none waiting");
		ok(fstatat(pfd, "c", &st, AT_SYMLINK_NOFOLLOW) < 0,
		   "  and nothing made");
		dirpool_close(p);
		close(gfd);
	}

	close(pfd);
	close(vfd);
	rm_rf(root);
	return done_testing();
}
