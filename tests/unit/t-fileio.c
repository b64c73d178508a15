/* t-fileio.c - fileio.c: full reads/writes, atomic and exclusive files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vaultfs/fileio.h"
#include "../tap.h"

static char dir[] = "/tmp/t-fileio.XXXXXX";
static int dfd = -1;

/* Number of entries in dir whose name contains ".tmp.". */
static int count_temps(void)
{
	DIR *d;
	struct dirent *e;
	int n = 0, fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY);

	if (fd < 0 || (d = fdopendir(fd)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

/* Contents of dir/name into buf (cap 256), length or -1. */
static ssize_t slurp(const char *name, char *buf)
{
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, 256);
	close(fd);
	return n;
}

static void test_pread_pwrite(void)
{
	char buf[200], want[100];
	size_t got = 999;
	int fd, i;

	for (i = 0; i < 100; i++)
		want[i] = (char)i;
	fd = openat(dfd, "rw", O_RDWR | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0, "create rw");
	is_int(pwrite_full(fd, want, 100, 0), 0, "pwrite_full 100 bytes");
	is_int(pwrite_full(fd, "xy", 2, 200), 0, "pwrite_full past the end");
	is_int(pread_full(fd, buf, 50, 0, &got), 0, "pread_full inside");
	is_int(got, 50, "got all 50");
	is_mem(buf, want, 50, "the right bytes");
	is_int(pread_full(fd, buf, 100, 150, &got), 0, "pread_full to EOF");
	is_int(got, 52, "short read at EOF");
	ok(buf[0] == 0 && buf[49] == 0 && buf[50] == 'x' && buf[51] == 'y',
	   "hole reads as zeros, then the data");
	is_int(pread_full(fd, buf, 10, 202, &got), 0, "pread_full at EOF");
	is_int(got, 0, "nothing at EOF");
	got = 999;
	is_int(pread_full(fd, buf, 10, 5000, &got), 0, "pread_full after EOF");
	is_int(got, 0, "nothing after EOF");
	is_int(pread_full(fd, buf, 0, 0, &got), 0, "zero-length read");
	is_int(got, 0, "zero bytes");
	close(fd);

	is_int(pread_full(fd, buf, 10, 0, &got), -EBADF, "closed fd: EBADF");
	is_int(pwrite_full(fd, buf, 10, 0), -EBADF, "closed fd write: EBADF");
	fd = openat(dfd, "rw", O_RDONLY);
	is_int(pwrite_full(fd, buf, 10, 0), -EBADF, "read-only fd: EBADF");
	close(fd);
}

static void test_atomic(void)
{
	char buf[256];
	struct stat st;
	ssize_t n;

	is_int(write_file_atomic(dfd, "a", "first", 5, 0600), 0,
	       "atomic create");
	n = slurp("a", buf);
	ok(n == 5 && memcmp(buf, "first", 5) == 0, "content is first");
	ok(fstatat(dfd, "a", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
	   "mode 0600");
	is_int(write_file_atomic(dfd, "a", "second!", 7, 0640), 0,
	       "atomic replace");
	n = slurp("a", buf);
	ok(n == 7 && memcmp(buf, "second!", 7) == 0, "content is second!");
	ok(fstatat(dfd, "a", &st, 0) == 0 && (st.st_mode & 07777) == 0640,
	   "mode of the new file 0640");
	is_int(write_file_atomic(dfd, "a", "", 0, 0600), 0, "atomic empty");
	is_int(slurp("a", buf), 0, "now empty");
	is_int(count_temps(), 0, "no temp file left");

	/* Replacing a symlink replaces the link, not its target. */
	is_int(write_file_atomic(dfd, "target", "keep", 4, 0600), 0,
	       "target written");
	ok(symlinkat("target", dfd, "link") == 0, "symlink link -> target");
	is_int(write_file_atomic(dfd, "link", "new", 3, 0600), 0,
	       "atomic over a symlink");
	n = slurp("target", buf);
	ok(n == 4 && memcmp(buf, "keep", 4) == 0, "symlink target untouched");
	ok(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	   S_ISREG(st.st_mode), "link is now a regular file");

	/* Failure: the name is a non-empty directory.  Nothing changes. */
	ok(mkdirat(dfd, "d", 0700) == 0, "mkdir d");
	is_int(write_file_atomic(dfd, "d/f", "x", 1, 0600), 0, "file in d");
	ok(write_file_atomic(dfd, "d", "x", 1, 0600) < 0,
	   "atomic over a non-empty directory fails");
	ok(fstatat(dfd, "d", &st, 0) == 0 && S_ISDIR(st.st_mode),
	   "directory untouched");
	is_int(count_temps(), 0, "failed replace leaves no temp file");
	is_int(write_file_atomic(dfd, "missing/x", "x", 1, 0600), -ENOENT,
	       "missing directory: ENOENT");

	{
		char longname[300];

		memset(longname, 'n', 250);
		longname[250] = '\0';
		is_int(write_file_atomic(dfd, longname, "x", 1, 0600),
		       -ENAMETOOLONG, "name too long for the temp suffix");
	}
}

static void test_new(void)
{
	char buf[256];
	struct stat st;
	ssize_t n;

	is_int(write_file_new(dfd, "n", "hello", 5, 0600), 0, "new file");
	n = slurp("n", buf);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "new content");
	ok(fstatat(dfd, "n", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
	   "new file mode 0600");
	is_int(write_file_new(dfd, "n", "other", 5, 0600), -EEXIST,
	       "existing file: EEXIST");
	n = slurp("n", buf);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "existing file untouched");
	ok(symlinkat("n", dfd, "nlink") == 0, "symlink nlink -> n");
	is_int(write_file_new(dfd, "nlink", "other", 5, 0600), -EEXIST,
	       "symlink: EEXIST");
	ok(symlinkat("nowhere", dfd, "dangling") == 0, "dangling symlink");
	is_int(write_file_new(dfd, "dangling", "x", 1, 0600), -EEXIST,
	       "dangling symlink: EEXIST, not followed");
	ok(faccessat(dfd, "nowhere", F_OK, 0) < 0, "nothing created via it");
	n = slurp("n", buf);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "link target untouched");
}

static void test_read_small(void)
{
	char buf[64];
	size_t len = 99;

	is_int(write_file_new(dfd, "s", "0123456789", 10, 0600), 0, "s");
	is_int(read_file_small(dfd, "s", buf, sizeof(buf), &len), 0,
	       "read small");
	is_int(len, 10, "length 10");
	is_mem(buf, "0123456789", 10, "content");
	is_int(read_file_small(dfd, "s", buf, 10, &len), 0, "cap exactly");
	is_int(len, 10, "length 10 at exact cap");
	is_int(read_file_small(dfd, "s", buf, 9, &len), -EFBIG,
	       "one over cap: EFBIG");
	is_int(read_file_small(dfd, "s", buf, 0, &len), -EFBIG, "cap 0: EFBIG");
	is_int(write_file_new(dfd, "empty", "", 0, 0600), 0, "empty file");
	len = 99;
	is_int(read_file_small(dfd, "empty", buf, 0, &len), 0, "empty, cap 0");
	is_int(len, 0, "length 0");
	is_int(read_file_small(dfd, "nope", buf, sizeof(buf), &len), -ENOENT,
	       "missing: ENOENT");
	is_int(read_file_small(dfd, "d", buf, sizeof(buf), &len), -EINVAL,
	       "directory: EINVAL");
	is_int(read_file_small(dfd, "nlink", buf, sizeof(buf), &len), -EINVAL,
	       "symlink: EINVAL");
	ok(mkfifoat(dfd, "fifo", 0600) == 0, "mkfifo");
	is_int(read_file_small(dfd, "fifo", buf, sizeof(buf), &len), -EINVAL,
	       "fifo: EINVAL, no hang");
}

static void cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

int main(void)
{
	umask(022);
	if (mkdtemp(dir) == NULL) {
		skip_all("cannot create a temp directory");
		return 0;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ok(dfd >= 0, "open temp dir");
	test_pread_pwrite();
	test_atomic();
	test_new();
	test_read_small();
	close(dfd);
	cleanup();
	return done_testing();
}
