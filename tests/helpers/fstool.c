/*
 * fstool.c - small file-system probes for the integration tests.
 *
 *   fstool try OP PATH [ARG]   do one operation and print OK or the errno
 *                              name (EACCES, ...); exit 0 if OK, else 1.
 *       OPs: read write create mkdir rmdir unlink chmod MODE
 *            chown UID:GID rename NEW link NEW symlink TARGET(=PATH is
 *            the link) truncate LEN stat readdir access rwx utime
 *            (explicit times) touch (times now) mtime (an explicit
 *            mtime alone, atime UTIME_OMIT) fmtime (the same through a
 *            descriptor open for writing)
 *   fstool openmany DIR N      create N files and keep them all open at
 *                              once, write and read each through its fd
 *   fstool append FILE TAG N   N lines, each one write() with O_APPEND:
 *                              "TAG NNNNNNNN xxx...\n" (64 bytes)
 *   fstool frames FILE         list the header slots and chunk frames of a
 *                              backing file: "H|C OFFSET GENERATION"
 *   fstool slot CHUNK INDEX S  backing offset of slot S of chunk INDEX
 *   fstool slotbytes CHUNK     bytes per chunk slot
 *   fstool flip FILE OFFSET    xor the byte at OFFSET with 0x5a
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vaultfs/container.h"
#include "../../vaultfs/le.h"

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: fstool try OP PATH [ARG] | openmany DIR N | "
		"append FILE TAG N | frames FILE | slot CHUNK INDEX SLOT | "
		"slotbytes CHUNK | flip FILE OFFSET\n");
	exit(2);
}

static unsigned long long num(const char *s, int base)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *end)
		usage();
	return v;
}

static int try_read(const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, "x", 1) != 1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static int try_readdir(const char *path)
{
	DIR *d = opendir(path);

	if (!d)
		return -1;
	errno = 0;
	while (readdir(d))
		;
	if (errno) {
		int e = errno;

		closedir(d);
		errno = e;
		return -1;
	}
	return closedir(d);
}

static int cmd_try(int argc, char **argv)
{
	const char *op, *path, *arg;
	struct stat st;
	int r, fd;

	if (argc < 2)
		usage();
	op = argv[0];
	path = argv[1];
	arg = argc > 2 ? argv[2] : NULL;
	if (!strcmp(op, "read")) {
		r = try_read(path);
	} else if (!strcmp(op, "write")) {
		r = try_write(path);
	} else if (!strcmp(op, "create")) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		r = fd < 0 ? -1 : close(fd);
	} else if (!strcmp(op, "mkdir")) {
		r = mkdir(path, 0755);
	} else if (!strcmp(op, "rmdir")) {
		r = rmdir(path);
	} else if (!strcmp(op, "unlink")) {
		r = unlink(path);
	} else if (!strcmp(op, "chmod") && arg) {
		r = chmod(path, (mode_t)num(arg, 8));
	} else if (!strcmp(op, "chown") && arg && strchr(arg, ':')) {
		r = chown(path, (uid_t)strtoul(arg, NULL, 10),
			  (gid_t)strtoul(strchr(arg, ':') + 1, NULL, 10));
	} else if (!strcmp(op, "rename") && arg) {
		r = rename(path, arg);
	} else if (!strcmp(op, "link") && arg) {
		r = link(path, arg);
	} else if (!strcmp(op, "symlink") && arg) {
		r = symlink(arg, path);
	} else if (!strcmp(op, "truncate") && arg) {
		r = truncate(path, (off_t)num(arg, 10));
	} else if (!strcmp(op, "stat")) {
		r = lstat(path, &st);
	} else if (!strcmp(op, "readdir")) {
		r = try_readdir(path);
	} else if (!strcmp(op, "access") && arg) {
		r = access(path, (strchr(arg, 'r') ? R_OK : 0) |
			   (strchr(arg, 'w') ? W_OK : 0) |
			   (strchr(arg, 'x') ? X_OK : 0));
	} else if (!strcmp(op, "utime")) {
		struct timespec tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		r = utimensat(AT_FDCWD, path, tv, 0);
	} else if (!strcmp(op, "touch")) {
		r = utimensat(AT_FDCWD, path, NULL, 0);
	} else if (!strcmp(op, "mtime") || !strcmp(op, "fmtime")) {
		/* the shape of the writeback cache's own flush of times */
		struct timespec tv[2] = { { 0, UTIME_OMIT }, { 12345, 0 } };
		int e;

		if (op[0] != 'f') {
			r = utimensat(AT_FDCWD, path, tv, 0);
		} else if ((fd = open(path, O_WRONLY)) < 0) {
			r = -1;
		} else {
			r = futimens(fd, tv);
			e = errno;
			close(fd);
			errno = e;
		}
	} else {
		usage();
	}
	if (r == 0) {
		puts("OK");
		return 0;
	}
	puts(strerrorname_np(errno) ? strerrorname_np(errno) : "EUNKNOWN");
	return 1;
}

static int cmd_openmany(int argc, char **argv)
{
	struct rlimit rl;
	size_t n, i;
	int *fds;
	char path[4096], want[64], got[64];

	if (argc != 2)
		usage();
	n = (size_t)num(argv[1], 10);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 64) {
		rl.rlim_cur = n + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			fprintf(stderr, "fstool: cannot raise RLIMIT_NOFILE to "
				"%zu: %s\n", n + 64, strerror(errno));
			return 1;
		}
	}
	fds = calloc(n, sizeof(*fds));
	if (!fds)
		return 1;
	for (i = 0; i < n; i++) {
		int len;

		snprintf(path, sizeof(path), "%s/open-%05zu", argv[0], i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);
		if (fds[i] < 0) {
			fprintf(stderr, "fstool: open #%zu (%s): %s\n", i, path,
				strerror(errno));
			return 1;
		}
		len = snprintf(want, sizeof(want), "file %zu of %zu\n", i, n);
		if (write(fds[i], want, (size_t)len) != len) {
			fprintf(stderr, "fstool: write #%zu: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(want, sizeof(want), "file %zu of %zu\n", i,
				   n);
		ssize_t r = pread(fds[i], got, sizeof(got), 0);

		if (r != len || memcmp(got, want, (size_t)len) != 0) {
			fprintf(stderr, "fstool: file #%zu reads back wrong "
				"(%zd bytes): %s\n", i, r,
				r < 0 ? strerror(errno) : "content differs");
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		if (close(fds[i]) < 0) {
			fprintf(stderr, "fstool: close #%zu: %s\n", i,
				strerror(errno));
			return 1;
		}
	free(fds);
	printf("%zu files open at once: ok\n", n);
	return 0;
}

static int cmd_append(int argc, char **argv)
{
	unsigned long long n, i;
	char line[65];
	int fd;

	if (argc != 3 || strlen(argv[1]) > 16)
		usage();
	n = num(argv[2], 10);
	fd = open(argv[0], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fstool: open %s: %s\n", argv[0],
			strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "%s %08llu ", argv[1], i);

		memset(line + len, argv[1][0], 63 - (size_t)len);
		line[63] = '\n';
		if (write(fd, line, 64) != 64) {
			fprintf(stderr, "fstool: append line %llu: %s\n", i,
				strerror(errno));
			return 1;
		}
	}
	return close(fd) < 0;
}

static int cmd_frames(int argc, char **argv)
{
	uint8_t blk[4096];
	off_t off;
	ssize_t n;
	int fd;

	if (argc != 1)
		usage();
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fstool: open %s: %s\n", argv[0],
			strerror(errno));
		return 1;
	}
	for (off = 0; (n = pread(fd, blk, sizeof(blk), off)) >= 16;
	     off += (off_t)sizeof(blk)) {
		if (off == 0) {
			if (!memcmp(blk, "VLTD", 4))
				printf("H 0 %" PRIu64 "\n", le_get64(blk + 8));
			if (!memcmp(blk + 2048, "VLTD", 4))
				printf("H 2048 %" PRIu64 "\n",
				       le_get64(blk + 2048 + 8));
		} else if (!memcmp(blk, "VLTC", 4)) {
			printf("C %jd %" PRIu64 "\n", (intmax_t)off,
			       le_get64(blk + 8));
		}
	}
	close(fd);
	return 0;
}

static int cmd_flip(int argc, char **argv)
{
	off_t off;
	uint8_t c;
	int fd;

	if (argc != 2)
		usage();
	off = (off_t)num(argv[1], 0);
	fd = open(argv[0], O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &c, 1, off) != 1) {
		fprintf(stderr, "fstool: cannot read byte %jd of %s\n",
			(intmax_t)off, argv[0]);
		return 1;
	}
	c ^= 0x5a;
	if (pwrite(fd, &c, 1, off) != 1 || close(fd) < 0) {
		fprintf(stderr, "fstool: cannot write %s: %s\n", argv[0],
			strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "try"))
		return cmd_try(argc - 2, argv + 2);
	if (!strcmp(argv[1], "openmany"))
		return cmd_openmany(argc - 2, argv + 2);
	if (!strcmp(argv[1], "append"))
		return cmd_append(argc - 2, argv + 2);
	if (!strcmp(argv[1], "frames"))
		return cmd_frames(argc - 2, argv + 2);
	if (!strcmp(argv[1], "flip"))
		return cmd_flip(argc - 2, argv + 2);
	if (!strcmp(argv[1], "slot") && argc == 5) {
		uint32_t cs = (uint32_t)num(argv[2], 0);

		if (!container_chunk_size_valid(cs))
			usage();
		printf("%" PRIu64 "\n", container_slot_offset(cs,
			num(argv[3], 0), (int)num(argv[4], 0)));
		return 0;
	}
	if (!strcmp(argv[1], "slotbytes") && argc == 3) {
		uint32_t cs = (uint32_t)num(argv[2], 0);

		if (!container_chunk_size_valid(cs))
			usage();
		printf("%zu\n", container_slot_bytes(cs));
		return 0;
	}
	usage();
}
