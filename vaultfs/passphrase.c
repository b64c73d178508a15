/*
 * passphrase.c - see passphrase.h.
 *
 * The terminal path follows OpenBSD readpassphrase(3): talk to /dev/tty,
 * never stdin; turn echo off; catch the signals that would end the process
 * while echo is off, restore the terminal, then re-deliver them.  Not
 * thread-safe (signal dispositions are process-wide): call it at startup.
 */
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "seal.h"

/* The buffer holds the line, a possible "\r\n" and a NUL. */
#define BUF_BYTES (PASSPHRASE_MAX + 3)

/* Job-control stops are left alone: the shell restores the terminal. */
static const int caught[] = { SIGINT, SIGHUP, SIGQUIT, SIGTERM };
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static char *buf_new(void)
{
	char *b = seal_secret_alloc(BUF_BYTES);

	if (b != NULL)
		sodium_memzero(b, BUF_BYTES);
	return b;
}

static void buf_free(char *b)
{
	seal_secret_free(b);
}

/* Keep the first n bytes of b as the passphrase; wipe the rest. */
static int finish(char *b, size_t n, char **pass, size_t *len)
{
	if (n == 0 || n > PASSPHRASE_MAX) {
		buf_free(b);
		return -EINVAL;
	}
	sodium_memzero(b + n, BUF_BYTES - n);
	*pass = b;
	*len = n;
	return 0;
}

static int read_passfile(const char *path, char **pass, size_t *len)
{
	size_t got = 0, cap = BUF_BYTES - 1, n;
	char *b, *nl = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = buf_new();
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	/* Only the first line matters: stop at a newline or when full. */
	while (got < cap) {
		ssize_t k = read(fd, b + got, cap - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		nl = memchr(b + got, '\n', (size_t)k);
		got += (size_t)k;
		if (nl != NULL)
			break;
	}
	close(fd);
	if (r < 0) {
		buf_free(b);
		return r;
	}
	if (nl != NULL) {
		n = (size_t)(nl - b);
		if (n > 0 && b[n - 1] == '\r')
			n--;
	} else if (got == cap) {
		n = cap;		/* no newline in reach: too long */
	} else {
		n = got;		/* last line without a newline */
	}
	return finish(b, n, pass, len);
}

static void write_str(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t k = write(fd, s, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		s += k;
		len -= (size_t)k;
	}
}

/*
 * Prompt on the terminal fd (echo off) and read one line into b.  A signal
 * that arrives meanwhile is re-delivered once the terminal is restored.
 */
static int tty_line(int fd, const char *prompt, char *b, size_t *n)
{
	struct sigaction sa, old_sa[NCAUGHT];
	struct termios old_t, t;
	size_t got = 0;
	bool too_long = false;
	int r = 0, sig;
	char c;

	if (tcgetattr(fd, &old_t) < 0)
		return -ENOTTY;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: read() must return */
	got_signal = 0;
	for (size_t i = 0; i < NCAUGHT; i++)
		sigaction(caught[i], &sa, &old_sa[i]);

	t = old_t;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0) {
		r = -errno;
		goto restore;
	}
	write_str(fd, prompt);
	while (got_signal == 0) {
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;	/* the loop condition sees the signal */
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0 || c == '\n')
			break;
		if (got < PASSPHRASE_MAX)
			b[got++] = c;
		else
			too_long = true;
	}
	sodium_memzero(&c, sizeof(c));
	/* Echo was off, so the user's Enter did not move the cursor. */
	write_str(fd, "\n");
	tcsetattr(fd, TCSAFLUSH, &old_t);
restore:
	for (size_t i = 0; i < NCAUGHT; i++)
		sigaction(caught[i], &old_sa[i], NULL);
	sig = got_signal;
	if (sig != 0) {
		/* Now with its old disposition, and the terminal sane again. */
		kill(getpid(), sig);
		r = -EINTR;
	}
	if (r == 0 && too_long)
		r = -EINVAL;
	if (r == 0 && got > 0 && b[got - 1] == '\r')
		got--;
	*n = got;
	return r;
}

static int read_tty(const char *prompt, bool confirm, char **pass,
		    size_t *len)
{
	char *b = NULL, *b2 = NULL;
	size_t n = 0, n2 = 0;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENOTTY;
	b = buf_new();
	if (confirm)
		b2 = buf_new();
	if (b == NULL || (confirm && b2 == NULL)) {
		r = -ENOMEM;
		goto fail;
	}
	r = tty_line(fd, prompt, b, &n);
	if (r < 0)
		goto fail;
	if (n == 0 || n > PASSPHRASE_MAX) {
		r = -EINVAL;
		goto fail;
	}
	if (confirm) {
		r = tty_line(fd, "Repeat passphrase: ", b2, &n2);
		if (r < 0)
			goto fail;
		if (n2 != n || sodium_memcmp(b, b2, n) != 0) {
			r = -EKEYREJECTED;
			goto fail;
		}
		buf_free(b2);
	}
	close(fd);
	return finish(b, n, pass, len);

fail:
	buf_free(b2);
	buf_free(b);
	close(fd);
	return r;
}

int passphrase_read(const char *passfile, const char *prompt, bool confirm,
		    char **pass, size_t *len)
{
	*pass = NULL;
	*len = 0;
	if (passfile != NULL)
		return read_passfile(passfile, pass, len);
	return read_tty(prompt, confirm, pass, len);
}

void passphrase_free(char *pass, size_t len)
{
	(void)len;		/* sodium_free() knows the size and wipes it */
	seal_secret_free(pass);
}
