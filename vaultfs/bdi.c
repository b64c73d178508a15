/* bdi.c - see bdi.h. */
#include "bdi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

#define FIELDS_MAX 32
#define MOUNTINFO_MAX (4U << 20)	/* hosts with thousands of mounts */
#define KNOB_MAX 4096			/* a sysfs attribute is one page */
#define FLOOR_BYTES (16U << 20)
#define RAM_SHARE 16	/* at most 1/16 of the memory: the kernel's whole
			 * dirty limit is a fifth of it by default */

/* Split [p, end) at spaces into at most FIELDS_MAX fields. */
static size_t split(const char *p, const char *end, const char **f,
		    size_t *flen)
{
	size_t n = 0;

	while (n < FIELDS_MAX) {
		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		f[n] = p;
		while (p < end && *p != ' ')
			p++;
		flen[n] = (size_t)(p - f[n]);
		n++;
	}
	return n;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* Does the escaped field (the kernel writes space, tab, newline and
 * backslash as \ooo) name path? */
static bool same_path(const char *esc, size_t len, const char *path)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = (unsigned char)esc[i];

		if (c == '\\' && len - i >= 4 && is_octal(esc[i + 1]) &&
		    is_octal(esc[i + 2]) && is_octal(esc[i + 3])) {
			c = (unsigned)(esc[i + 1] - '0') << 6 |
			    (unsigned)(esc[i + 2] - '0') << 3 |
			    (unsigned)(esc[i + 3] - '0');
			i += 4;
		} else {
			i++;
		}
		if (*path == '\0' || (unsigned char)*path++ != c)
			return false;
	}
	return *path == '\0';
}

static bool field_is(const char *f, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(f, s, len);
}

/* Decimal digits up to stop; false on anything else or overflow. */
static bool parse_uint(const char **p, const char *end, char stop,
		       unsigned *out)
{
	unsigned v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s != stop; s++) {
		if (*s < '0' || *s > '9' || v > (UINT_MAX - 9) / 10)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

/* "MAJ:MIN" */
static bool parse_dev(const char *f, size_t len, unsigned *major,
		      unsigned *minor)
{
	const char *end = f + len;

	if (!parse_uint(&f, end, ':', major) || f == end)
		return false;
	f++;
	return parse_uint(&f, end, '\0', minor) && f == end;
}

int bdi_find(const char *mountinfo, const char *mountpoint,
	     const char *fstype, unsigned *major, unsigned *minor)
{
	const char *line = mountinfo;
	bool found = false;

	/* Fields: id parent MAJ:MIN root mountpoint options [optional...]
	 * - fstype source superoptions */
	while (*line) {
		const char *end = strchr(line, '\n');
		const char *f[FIELDS_MAX];
		size_t flen[FIELDS_MAX], n, dash;
		unsigned ma, mi;

		if (!end)
			end = line + strlen(line);
		n = split(line, end, f, flen);
		for (dash = 6; dash < n && !field_is(f[dash], flen[dash], "-");
		     dash++)
			;
		if (dash + 1 < n && field_is(f[dash + 1], flen[dash + 1], fstype) &&
		    same_path(f[4], flen[4], mountpoint) &&
		    parse_dev(f[2], flen[2], &ma, &mi)) {
			/* later lines are later mounts: the last one is on top */
			*major = ma;
			*minor = mi;
			found = true;
		}
		line = *end ? end + 1 : end;
	}
	return found ? 0 : -ENOENT;
}

static int read_knob(int dfd, const char *name, uint64_t *v)
{
	char buf[KNOB_MAX + 1], *end;
	size_t len;
	int r = read_file_small(dfd, name, buf, KNOB_MAX, &len);

	if (r < 0)
		return r;
	buf[len] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

static int write_knob(int dfd, const char *name, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	int fd = openat(dfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	/* sysfs takes the value in one write and returns the store's error */
	if (write(fd, buf, (size_t)n) != n)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

/* Raise max_bytes to b when lower, then set min_bytes to b. */
static int try_reserve(int dfd, uint64_t b)
{
	uint64_t max;
	int r = read_knob(dfd, "max_bytes", &max);

	if (r == 0 && max < b)
		r = write_knob(dfd, "max_bytes", b);
	if (r == 0)
		r = write_knob(dfd, "min_bytes", b);
	return r;
}

static int find_dev(const char *mountpoint, const char *fstype,
		    unsigned *major, unsigned *minor)
{
	char path[PATH_MAX], *info;
	size_t len;
	int r;

	if (!realpath(mountpoint, path))
		return -errno;
	info = malloc(MOUNTINFO_MAX + 1);
	if (!info)
		return -ENOMEM;
	r = read_file_small(AT_FDCWD, "/proc/self/mountinfo", info,
			    MOUNTINFO_MAX, &len);
	if (r == 0) {
		info[len] = '\0';
		r = bdi_find(info, path, fstype, major, minor);
	}
	free(info);
	return r;
}

int bdi_open(const char *mountpoint, const char *fstype)
{
	char dir[64];
	unsigned major, minor;
	int fd, r;

	r = find_dev(mountpoint, fstype, &major, &minor);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "/sys/class/bdi/%u:%u", major, minor);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int bdi_reserve(int bdi, uint64_t bytes, uint64_t *got)
{
	uint64_t b = bytes;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	int64_t ram = pages > 0 && page > 0 ? (int64_t)pages * page : 0;
	int r;

	*got = 0;
	if (ram > 0 && b > (uint64_t)ram / RAM_SHARE)
		b = (uint64_t)ram / RAM_SHARE;
	/* The kernel refuses a share above max_ratio's 100% or one that
	 * would take the sum of all reservations past 100%. */
	while ((r = try_reserve(bdi, b)) == -EINVAL && b / 2 >= FLOOR_BYTES)
		b /= 2;
	if (r == 0)
		*got = b;
	return r;
}

int bdi_read_ahead(int bdi, uint64_t bytes)
{
	/* The kernel keeps whole pages: less than one would be none.  (No
	 * bytes + 4095: near UINT64_MAX that wrapped to nothing.) */
	uint64_t kb = (bytes / 4096 + (bytes % 4096 != 0)) * 4;

	return write_knob(bdi, "read_ahead_kb", kb);
}
