/*
 * tmpfile.h - the one file a fuzz target hands to a loader by name: in a
 * directory of its own under /tmp, removed at exit.  Header-only, so each
 * target still builds from its one .c file (make fuzz, replay).
 */
#ifndef VAULTFS_FUZZ_TMPFILE_H
#define VAULTFS_FUZZ_TMPFILE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_dir[64];
static char tmp_path[128];

static void tmp_cleanup(void)
{
	unlink(tmp_path);
	rmdir(tmp_dir);
}

/*
 * Make the directory (once) for file name; tmp_dir and tmp_path then hold
 * the paths.  0, or -1 when it cannot be made.
 */
static int tmp_setup(const char *target, const char *name)
{
	static int done;

	if (done)
		return done > 0 ? 0 : -1;
	done = -1;
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/%s.XXXXXX", target);
	if (mkdtemp(tmp_dir) == NULL)
		return -1;
	snprintf(tmp_path, sizeof(tmp_path), "%s/%s", tmp_dir, name);
	atexit(tmp_cleanup);
	done = 1;
	return 0;
}

/* Replace the file's content with the len bytes at data. */
static void tmp_write(const uint8_t *data, size_t len)
{
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

#endif
