/*
 * mmapio.c - mmap probes for the integration tests.
 *
 *   mmapio write FILE OFF LEN SEED  write LEN pattern bytes at OFF through a
 *                                   MAP_SHARED mapping (the file is grown
 *                                   with ftruncate if needed), msync
 *   mmapio cmp FILE REF             FILE read through a read-only mapping
 *                                   equals REF read with read()
 *   mmapio private FILE             MAP_PRIVATE writes must not reach FILE
 *   mmapio coherent FILE            a store through a shared mapping is
 *                                   seen by pread() at once, and a pwrite()
 *                                   is seen through the mapping
 *
 * Exit 0 on success, 1 with a message on failure, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: mmapio write FILE OFF LEN SEED | cmp FILE REF "
		"| private FILE | coherent FILE\n");
	exit(2);
}

static _Noreturn void fail(const char *what, const char *path)
{
	fprintf(stderr, "mmapio: %s '%s': %s\n", what, path,
		errno ? strerror(errno) : "mismatch");
	exit(1);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

static uint8_t pattern(uint64_t seed, uint64_t i)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ULL + i;

	z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ULL;
	return (uint8_t)(z >> 40);
}

static int cmd_write(const char *path, uint64_t off, uint64_t len,
		     uint64_t seed)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start = off - off % (uint64_t)pg, i;
	struct stat st;
	uint8_t *map;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot open", path);
	if ((uint64_t)st.st_size < off + len &&
	    ftruncate(fd, (off_t)(off + len)) < 0)
		fail("cannot grow", path);
	map = mmap(NULL, off + len - start, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, (off_t)start);
	if (map == MAP_FAILED)
		fail("mmap MAP_SHARED PROT_WRITE failed on", path);
	for (i = 0; i < len; i++)
		map[off - start + i] = pattern(seed, i);
	if (msync(map, off + len - start, MS_SYNC) < 0)
		fail("msync failed on", path);
	if (munmap(map, off + len - start) < 0 || close(fd) < 0)
		fail("cannot unmap/close", path);
	return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot open", path);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		fail("out of memory reading", path);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			fail("cannot read", path);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

static int cmd_cmp(const char *path, const char *ref)
{
	size_t rlen, i;
	uint8_t *rbuf = read_all(ref, &rlen);
	struct stat st;
	uint8_t *map;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		fail("cannot open", path);
	if ((size_t)st.st_size != rlen) {
		fprintf(stderr, "mmapio: '%s' has %jd bytes, '%s' %zu\n", path,
			(intmax_t)st.st_size, ref, rlen);
		rc = 1;
		goto out;
	}
	if (rlen == 0)
		goto out;
	map = mmap(NULL, rlen, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap PROT_READ failed on", path);
	for (i = 0; i < rlen; i++)
		if (map[i] != rbuf[i]) {
			fprintf(stderr, "mmapio: '%s' differs from '%s' at "
				"offset %zu through mmap\n", path, ref, i);
			rc = 1;
			break;
		}
	munmap(map, rlen);
out:
	close(fd);
	free(rbuf);
	return rc;
}

static int cmd_private(const char *path)
{
	size_t len, len2, i;
	uint8_t *before = read_all(path, &len), *after, *map;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || len == 0)
		fail("need a non-empty file", path);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap MAP_PRIVATE failed on", path);
	for (i = 0; i < len; i++)
		map[i] = (uint8_t)~map[i];
	munmap(map, len);
	close(fd);
	after = read_all(path, &len2);
	if (len2 != len || memcmp(before, after, len) != 0) {
		errno = 0;
		fail("MAP_PRIVATE writes reached", path);
	}
	free(before);
	free(after);
	return 0;
}

static int cmd_coherent(const char *path)
{
	const size_t len = 3 * 65536 + 123;
	uint8_t *map, buf[64];
	size_t i;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		fail("cannot create", path);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap MAP_SHARED PROT_WRITE failed on", path);
	/* store through the map, look with pread (no msync) */
	for (i = 0; i < sizeof(buf); i++)
		map[70000 + i] = pattern(7, i);
	if (pread(fd, buf, sizeof(buf), 70000) != (ssize_t)sizeof(buf))
		fail("pread failed on", path);
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != pattern(7, i)) {
			errno = 0;
			fail("pread does not see a store through the map in",
			     path);
		}
	/* pwrite, look through the map */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = pattern(8, i);
	if (pwrite(fd, buf, sizeof(buf), 140000) != (ssize_t)sizeof(buf))
		fail("pwrite failed on", path);
	for (i = 0; i < sizeof(buf); i++)
		if (map[140000 + i] != pattern(8, i)) {
			errno = 0;
			fail("the map does not see a pwrite in", path);
		}
	if (msync(map, len, MS_SYNC) < 0)
		fail("msync failed on", path);
	munmap(map, len);
	return close(fd) < 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], num(argv[3]), num(argv[4]),
				 num(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "cmp"))
		return cmd_cmp(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "private"))
		return cmd_private(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "coherent"))
		return cmd_coherent(argv[2]);
	usage();
}
