/*
 * auditwork.c - a worker whose accesses the access log must show (t3004).
 *
 *   auditwork loop DIR VDIR TAG
 *       Until killed or the first failure: create DIR/TAG-new-I
 *       (O_CREAT | O_EXCL), write to it and close it; rename it over
 *       DIR/TAG-doc-K (K = I mod 8); open that document read-only and
 *       read it; open it O_WRONLY | O_APPEND and write to it.
 *   auditwork creates DIR VDIR TAG N
 *       Create DIR/TAG-0 .. DIR/TAG-(N-1) (O_CREAT | O_EXCL), as fast as
 *       possible, closing each at once.
 *
 * The process names itself "aw-TAG" (its comm), so that its records can be
 * told apart.  Right after each call that succeeded it writes one line to
 * standard output with a single write(2) (nothing is buffered, so a line
 * is there even if the worker is killed the next moment):
 *
 *   create VDIR/NAME | rename VDIR/OLD VDIR/NEW | open VDIR/NAME |
 *   openw VDIR/NAME
 *
 * VDIR is DIR's path inside the vault (as the log records it).  On the
 * first failure it writes "fail STEP ERRNO-NAME" and exits 1; it gives up
 * by itself after 60 s (exit 0) so that it never outlives a broken test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define GIVE_UP_SECONDS 60

static const char *dir, *vdir, *tag;
static time_t started;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		exit(2);
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		exit(2);
}

static _Noreturn void failed(const char *step, int err)
{
	out("fail %s %s", step, strerrorname_np(err) ? strerrorname_np(err) :
	    "unknown");
	exit(1);
}

static void path(char *buf, size_t cap, const char *name)
{
	if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
		exit(2);
}

static void check_time(void)
{
	if (time(NULL) - started > GIVE_UP_SECONDS)
		exit(0);
}

/* Write len bytes of c to fd (a short write is a failure). */
static void fill(int fd, int c, size_t len, const char *step)
{
	char buf[512];

	if (len > sizeof(buf))
		len = sizeof(buf);
	memset(buf, c, len);
	if (write(fd, buf, len) != (ssize_t)len)
		failed(step, errno ? errno : EIO);
}

static int do_loop(void)
{
	char tmp[4096], doc[4096], nt[256], nd[256], buf[4096];
	unsigned long i;
	int fd;

	for (i = 0;; i++) {
		check_time();
		snprintf(nt, sizeof(nt), "%s-new-%lu", tag, i);
		snprintf(nd, sizeof(nd), "%s-doc-%lu", tag, i % 8);
		path(tmp, sizeof(tmp), nt);
		path(doc, sizeof(doc), nd);

		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			failed("create", errno);
		out("create %s/%s", vdir, nt);
		fill(fd, 'a' + (int)(i % 26), 100 + i % 300, "write");
		if (close(fd) < 0)
			failed("close", errno);

		if (rename(tmp, doc) < 0)
			failed("rename", errno);
		out("rename %s/%s %s/%s", vdir, nt, vdir, nd);

		fd = open(doc, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			failed("open", errno);
		out("open %s/%s", vdir, nd);
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n < 0)
				failed("read", errno);
			if (n == 0)
				break;
		}
		if (close(fd) < 0)
			failed("close", errno);

		fd = open(doc, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			failed("openw", errno);
		out("openw %s/%s", vdir, nd);
		fill(fd, 'z', 10, "append");
		if (close(fd) < 0)
			failed("close", errno);
	}
}

static int do_creates(unsigned long n)
{
	char p[4096], name[256];
	unsigned long i;
	int fd;

	for (i = 0; i < n; i++) {
		check_time();
		snprintf(name, sizeof(name), "%s-%lu", tag, i);
		path(p, sizeof(p), name);
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			failed("create", errno);
		out("create %s/%s", vdir, name);
		if (close(fd) < 0)
			failed("close", errno);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char comm[16];

	if (argc < 5) {
		fprintf(stderr, "usage: auditwork loop DIR VDIR TAG | "
			"creates DIR VDIR TAG N\n");
		return 2;
	}
	dir = argv[2];
	vdir = argv[3];
	tag = argv[4];
	started = time(NULL);
	snprintf(comm, sizeof(comm), "aw-%s", tag);
	if (prctl(PR_SET_NAME, comm, 0, 0, 0) < 0) {
		perror("auditwork: prctl");
		return 2;
	}
	if (strcmp(argv[1], "loop") == 0 && argc == 5)
		return do_loop();
	if (strcmp(argv[1], "creates") == 0 && argc == 6)
		return do_creates(strtoul(argv[5], NULL, 10));
	fprintf(stderr, "auditwork: unknown mode or wrong arguments\n");
	return 2;
}
