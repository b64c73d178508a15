/*
 * t-passphrase.c - passfiles (newline, CRLF, empty, long, missing) and the
 * terminal path: no controlling terminal gives -ENOTTY; on a pseudo-
 * terminal the prompt appears, the passphrase is not echoed, confirmation
 * is checked, and echo is restored, also when SIGINT arrives mid-prompt.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/passphrase.h"
#include "../../vaultfs/seal.h"

static char dir[] = "/tmp/t-passphrase.XXXXXX";
static char path[256];

static void write_passfile(const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

/* Write data to the passfile, read it back; compare with want. */
static void passfile_case(const char *what, const void *data, size_t len,
			  int want_r, const char *want)
{
	char *pass = (char *)1;
	size_t plen = 99;
	int r;

	write_passfile(data, len);
	r = passphrase_read(path, "unused: ", false, &pass, &plen);
	is_int(r, want_r, "%s: result", what);
	if (want_r == 0 && r == 0) {
		is_int(plen, strlen(want), "%s: length", what);
		ok(plen == strlen(want) && memcmp(pass, want, plen) == 0 &&
		   pass[plen] == '\0', "%s: content, NUL-terminated", what);
	} else if (r < 0) {
		ok(pass == NULL && plen == 0, "%s: outputs cleared", what);
	}
	if (r == 0)
		passphrase_free(pass, plen);
}

static void passfiles(void)
{
	char big[5000];
	char *pass = NULL;
	size_t plen = 0;

	passfile_case("newline", "hunter2\n", 8, 0, "hunter2");
	passfile_case("no newline", "hunter2", 7, 0, "hunter2");
	passfile_case("CRLF", "hunter2\r\n", 9, 0, "hunter2");
	passfile_case("first line only", "one\ntwo\n", 8, 0, "one");
	passfile_case("spaces kept", "  two words \n", 13, 0, "  two words ");
	passfile_case("lone CR inside kept", "a\rb\n", 4, 0, "a\rb");
	passfile_case("empty file", "", 0, -EINVAL, NULL);
	passfile_case("empty first line", "\nsecret\n", 8, -EINVAL, NULL);
	passfile_case("CRLF only", "\r\n", 2, -EINVAL, NULL);

	memset(big, 'x', sizeof(big));
	big[PASSPHRASE_MAX] = '\n';
	write_passfile(big, PASSPHRASE_MAX + 1);
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), 0,
	       "PASSPHRASE_MAX bytes + newline accepted");
	is_int(plen, PASSPHRASE_MAX, "PASSPHRASE_MAX bytes long");
	passphrase_free(pass, plen);
	big[PASSPHRASE_MAX] = '\r';
	big[PASSPHRASE_MAX + 1] = '\n';
	write_passfile(big, PASSPHRASE_MAX + 2);
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), 0,
	       "PASSPHRASE_MAX bytes + CRLF accepted");
	is_int(plen, PASSPHRASE_MAX, "CR stripped at the limit");
	passphrase_free(pass, plen);
	memset(big, 'x', sizeof(big));
	big[PASSPHRASE_MAX + 1] = '\n';
	write_passfile(big, PASSPHRASE_MAX + 2);
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), -EINVAL,
	       "PASSPHRASE_MAX + 1 bytes refused");
	write_passfile(big, sizeof(big));
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), -EINVAL,
	       "5000 bytes without newline refused");
	write_passfile(big, PASSPHRASE_MAX);
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), 0,
	       "PASSPHRASE_MAX bytes without newline accepted");
	passphrase_free(pass, plen);

	unlink(path);
	is_int(passphrase_read(path, "p: ", false, &pass, &plen), -ENOENT,
	       "missing passfile -> ENOENT");
	is_int(passphrase_read(dir, "p: ", false, &pass, &plen), -EISDIR,
	       "directory as passfile -> EISDIR");
	passphrase_free(NULL, 0);
}

/* Run passphrase_read(NULL, ...) in a child without a controlling tty. */
static void no_tty(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		char *pass = NULL;
		size_t plen = 0;
		int r;

		if (setsid() < 0)
			_exit(100);
		r = passphrase_read(NULL, "Passphrase: ", false, &pass, &plen);
		_exit(r == -ENOTTY ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 0, "no controlling terminal -> ENOTTY");
}

/* ---- pseudo-terminal tests ---- */

struct pty_child {
	pid_t pid;
	int master;
	int result;		/* pipe read end */
};

/*
 * Fork a child whose controlling terminal is a new pty slave; it calls
 * passphrase_read(NULL, "Secret: ", confirm) and reports over a pipe.
 */
static int pty_start(struct pty_child *c, bool confirm)
{
	int p[2];
	char *slave;

	c->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (c->master < 0 || grantpt(c->master) < 0 ||
	    unlockpt(c->master) < 0 || (slave = ptsname(c->master)) == NULL)
		return -1;
	if (pipe(p) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		char *pass = NULL;
		size_t plen = 0;
		int r, fd;

		close(p[0]);
		close(c->master);
		if (setsid() < 0)
			_exit(100);
		/* Session leader without a tty: opening one makes it ours. */
		fd = open(slave, O_RDWR);
		if (fd < 0)
			_exit(101);
		r = passphrase_read(NULL, "Secret: ", confirm, &pass, &plen);
		if (write(p[1], &r, sizeof(r)) != sizeof(r) ||
		    write(p[1], &plen, sizeof(plen)) != sizeof(plen) ||
		    (r == 0 && write(p[1], pass, plen) != (ssize_t)plen))
			_exit(102);
		_exit(0);
	}
	close(p[1]);
	c->result = p[0];
	return 0;
}

/* Read from the master until needle appears; out collects everything. */
static bool pty_expect(int fd, const char *needle, char *out, size_t cap)
{
	size_t got = strlen(out);

	while (strstr(out, needle) == NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (got + 1 >= cap || poll(&pfd, 1, 10000) <= 0)
			return false;
		k = read(fd, out + got, cap - 1 - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
		out[got] = '\0';
	}
	return true;
}

static void pty_finish(struct pty_child *c, int *r, char *pass, size_t cap,
		       size_t *plen)
{
	int status;

	*r = 1;
	*plen = 0;
	if (read(c->result, r, sizeof(*r)) != sizeof(*r) ||
	    read(c->result, plen, sizeof(*plen)) != sizeof(*plen))
		*r = 1;
	else if (*r == 0 && (*plen >= cap ||
			     read(c->result, pass, *plen) != (ssize_t)*plen))
		*r = 1;
	waitpid(c->pid, &status, 0);
	close(c->result);
}

static bool echo_on(int master)
{
	struct termios t;

	/* On Linux the master reports the slave's settings. */
	return tcgetattr(master, &t) == 0 && (t.c_lflag & ECHO) != 0;
}

static void pty_case(const char *what, bool confirm, const char *line1,
		     const char *line2, int want_r, const char *want)
{
	struct pty_child c;
	char out[4096] = "", pass[2048];
	size_t plen;
	int r;

	if (pty_start(&c, confirm) < 0) {
		ok(0, "%s: pty set up", what);
		return;
	}
	ok(pty_expect(c.master, "Secret: ", out, sizeof(out)),
	   "%s: prompt shown", what);
	ok(!echo_on(c.master), "%s: echo off while prompting", what);
	if (write(c.master, line1, strlen(line1)) < 0)
		diag("write to pty failed");
	if (line2 != NULL) {
		ok(pty_expect(c.master, "Repeat passphrase: ", out, sizeof(out)),
		   "%s: asked to repeat", what);
		if (write(c.master, line2, strlen(line2)) < 0)
			diag("write to pty failed");
	}
	pty_finish(&c, &r, pass, sizeof(pass), &plen);
	is_int(r, want_r, "%s: result", what);
	if (want_r == 0)
		ok(r == 0 && plen == strlen(want) &&
		   memcmp(pass, want, plen) == 0, "%s: passphrase", what);
	/* Drain what is left of the child's output. */
	{
		struct pollfd pfd = { .fd = c.master, .events = POLLIN };
		size_t got = strlen(out);
		ssize_t k;

		while (got + 1 < sizeof(out) && poll(&pfd, 1, 100) > 0 &&
		       (k = read(c.master, out + got,
				 sizeof(out) - 1 - got)) > 0) {
			got += (size_t)k;
			out[got] = '\0';
		}
	}
	ok(strstr(out, "hunter2") == NULL && strstr(out, "mismatch") == NULL,
	   "%s: passphrase not echoed", what);
	ok(echo_on(c.master), "%s: echo restored", what);
	close(c.master);
}

static void pty_sigint(void)
{
	struct pty_child c;
	char out[1024] = "";
	int status = 0;

	if (pty_start(&c, false) < 0) {
		ok(0, "sigint: pty set up");
		return;
	}
	ok(pty_expect(c.master, "Secret: ", out, sizeof(out)),
	   "sigint: prompt shown");
	ok(!echo_on(c.master), "sigint: echo off while prompting");
	kill(c.pid, SIGINT);
	waitpid(c.pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
	   "sigint: child still dies of SIGINT");
	ok(echo_on(c.master), "sigint: echo restored before dying");
	close(c.result);
	close(c.master);
}

static void pty_tests(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0) {
		ok(1, "# SKIP no pseudo-terminals here (%s)", strerror(errno));
		return;
	}
	close(m);
	pty_case("tty", false, "hunter2\n", NULL, 0, "hunter2");
	pty_case("tty confirm", true, "hunter2\n", "hunter2\n", 0, "hunter2");
	pty_case("tty confirm mismatch", true, "hunter2\n", "mismatch\n",
		 -EKEYREJECTED, NULL);
	pty_case("tty empty line", false, "\n", NULL, -EINVAL, NULL);
	pty_sigint();
}

int main(void)
{
	if (seal_init() < 0)
		skip_all("libsodium does not initialise");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp failed");
	snprintf(path, sizeof(path), "%s/pass", dir);

	passfiles();
	no_tty();
	pty_tests();

	unlink(path);
	rmdir(dir);
	return done_testing();
}
