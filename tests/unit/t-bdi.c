/* t-bdi.c - finding our mount's device in /proc/self/mountinfo text. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/bdi.h"

static const char info[] =
	"22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	"35 22 0:31 / /mnt/a rw,nosuid,nodev shared:7 - fuse.vaultfs vaultfs rw,user_id=0\n"
	"36 22 0:32 / /mnt/b rw - fuse.gocryptfs /srv/b rw\n"
	/* no optional fields */
	"37 22 0:33 / /mnt/c rw - fuse.vaultfs vaultfs rw\n"
	/* several optional fields */
	"38 22 0:34 / /mnt/d rw shared:9 master:2 propagate_from:1 - fuse.vaultfs vaultfs rw\n"
	/* escaped space, tab, newline and backslash */
	"39 22 0:35 / /mnt/with\\040space\\011tab\\012nl\\134bs rw - fuse.vaultfs vaultfs rw\n"
	/* mounted twice on one path: the later is on top */
	"40 22 0:36 / /mnt/e rw - fuse.vaultfs vaultfs rw\n"
	"41 40 0:37 / /mnt/e rw - fuse.vaultfs vaultfs rw\n"
	/* damaged lines are skipped */
	"42 22 0:38 / /mnt/f rw fuse.vaultfs vaultfs rw\n"
	"43 22 x:39 / /mnt/g rw - fuse.vaultfs vaultfs rw\n"
	"44 22 0:99999999999 / /mnt/h rw - fuse.vaultfs vaultfs rw\n"
	"45 22 0:40 / /mnt/i rw -\n"
	"46 22 0:41\n"
	"47 22 0:42 / /mnt/j rw - fuse.vaultfs vaultfs rw";	/* no newline */

static void found(const char *mp, const char *type, unsigned ma,
		  unsigned mi)
{
	unsigned a = 1234, b = 1234;

	is_int(bdi_find(info, mp, type, &a, &b), 0, "%s %s found", type, mp);
	ok(a == ma && b == mi, "  device %u:%u (got %u:%u)", ma, mi, a, b);
}

static void missing(const char *mp, const char *type)
{
	unsigned a = 1234, b = 1234;

	is_int(bdi_find(info, mp, type, &a, &b), -ENOENT,
	       "no %s on '%s'", type, mp);
	ok(a == 1234 && b == 1234, "  and nothing set");
}

int main(void)
{
	found("/mnt/a", "fuse.vaultfs", 0, 31);
	found("/mnt/b", "fuse.gocryptfs", 0, 32);
	found("/mnt/c", "fuse.vaultfs", 0, 33);
	found("/mnt/d", "fuse.vaultfs", 0, 34);
	found("/mnt/with space\ttab\nnl\\bs", "fuse.vaultfs", 0, 35);
	found("/mnt/e", "fuse.vaultfs", 0, 37);
	found("/mnt/j", "fuse.vaultfs", 0, 42);
	found("/", "ext4", 259, 1);
	missing("/mnt/b", "fuse.vaultfs");	/* another type */
	missing("/mnt", "fuse.vaultfs");	/* a prefix */
	missing("/mnt/a/", "fuse.vaultfs");
	missing("/mnt/with space", "fuse.vaultfs");
	missing("/mnt/with\\040space\\011tab\\012nl\\134bs", "fuse.vaultfs");
	missing("/mnt/f", "fuse.vaultfs");
	missing("/mnt/g", "fuse.vaultfs");
	missing("/mnt/h", "fuse.vaultfs");
	missing("/mnt/i", "fuse.vaultfs");
	missing("/mnt/x", "fuse.vaultfs");
	{
		unsigned a, b;

		is_int(bdi_find("", "/", "ext4", &a, &b), -ENOENT,
		       "empty text: nothing");
	}

	/* bdi_open on something that is no vaultfs mount */
	{
		char dir[] = "/tmp/t-bdi.XXXXXX";

		ok(mkdtemp(dir) != NULL, "temporary directory");
		is_int(bdi_open(dir, "fuse.vaultfs"), -ENOENT,
		       "bdi_open on a plain directory: -ENOENT");
		is_int(bdi_open("/nonexistent/t-bdi", "fuse.vaultfs"), -ENOENT,
		       "  on a missing path too");
		rmdir(dir);
	}

	/* bdi_read_ahead writes whole pages, in KiB, to read_ahead_kb */
	{
		static const struct { uint64_t bytes; const char *kb; } c[] = {
			{ 100, "4" }, { 4096, "4" }, { 4097, "8" },
			{ 1 << 20, "1024" },
			{ UINT64_MAX, "18014398509481984" },
		};
		char dir[] = "/tmp/t-bdi.XXXXXX", path[64], buf[32];

		ok(mkdtemp(dir) != NULL, "temporary directory");
		snprintf(path, sizeof(path), "%s/read_ahead_kb", dir);
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			ssize_t n = -1;

			if (fd >= 0)
				close(fd);
			is_int(bdi_read_ahead(dfd, c[i].bytes), 0,
			       "bdi_read_ahead(%llu)",
			       (unsigned long long)c[i].bytes);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
			}
			buf[n > 0 ? n : 0] = '\0';
			/* one line, as sysfs wants it */
			ok(n > 0 && buf[n - 1] == '\n', "  a line");
			buf[strcspn(buf, "\n")] = '\0';
			ok(strcmp(buf, c[i].kb) == 0, "  of %s KiB (%s)", c[i].kb,
			   buf);
			close(dfd);
		}
		unlink(path);
		rmdir(dir);
	}
	return done_testing();
}
