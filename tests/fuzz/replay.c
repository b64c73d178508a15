/*
 * replay.c - run a fuzz target without libFuzzer: feed every file of its
 * corpus to LLVMFuzzerTestOneInput() once and print TAP, one test point per
 * file.  A crash aborts the program, which prove reports as a failure.
 *
 *   fuzz-X [dir]    dir defaults to tests/fuzz/corpus/fuzz-X/ (relative to
 *                   the current directory; make check runs from the top)
 *
 * Each input is copied into a buffer of exactly its size so AddressSanitizer
 * catches reads past the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_input(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int read_all(int dfd, const char *name, uint8_t **data, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	/* malloc(0) may return NULL: always ask for at least one byte. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*data = buf;
	*size = got;
	return 0;
}

int main(int argc, char **argv)
{
	char defdir[4096], prog[4096];
	struct dirent **ents = NULL;
	const char *dir;
	int dfd, n, i, t = 0, planned = 0, fails = 0;

	if (argc > 1) {
		dir = argv[1];
	} else {
		snprintf(prog, sizeof(prog), "%s", argv[0]);
		snprintf(defdir, sizeof(defdir), "tests/fuzz/corpus/%s",
			 basename(prog));
		dir = defdir;
	}

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	n = dfd < 0 ? -1 : scandir(dir, &ents, is_input, alphasort);
	for (i = 0; i < n; i++) {
		struct stat st;

		if (fstatat(dfd, ents[i]->d_name, &st, 0) == 0 &&
		    S_ISREG(st.st_mode))
			planned++;
	}
	if (planned == 0) {
		printf("1..0 # SKIP no corpus in %s\n", dir);
		goto out;
	}
	printf("1..%d\n", planned);
	fflush(stdout);
	for (i = 0; i < n && t < planned; i++) {
		const char *name = ents[i]->d_name;
		uint8_t *data = NULL;
		size_t size = 0;
		struct stat st;
		int err;

		if (fstatat(dfd, name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		t++;
		err = read_all(dfd, name, &data, &size);
		if (err < 0) {
			printf("not ok %d - %s # cannot read: %s\n", t, name,
			       strerror(-err));
			fails++;
			continue;
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		printf("ok %d - %s\n", t, name);
		fflush(stdout);
	}
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (dfd >= 0)
		close(dfd);
	return fails ? 1 : 0;
}
