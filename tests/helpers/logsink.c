/*
 * logsink.c - a stand-in for /dev/log in the tests of -o audit_syslog.
 *
 *   logsink SOCKET FILE [--stall]
 *
 * Binds an AF_UNIX datagram socket at SOCKET (replacing a stale one) and
 * appends each datagram it receives to FILE as one line (a trailing
 * newline in the datagram is dropped, inner ones become blanks), flushed
 * at once, until SIGTERM or SIGINT, when it writes what is still queued,
 * removes SOCKET and exits 0.
 * With --stall it binds but never reads, so that the socket's queue fills
 * up (a syslog daemon that hangs).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[256 * 1024];
	struct sockaddr_un sa;
	struct sigaction act;
	int sfd, ofd, stall;

	stall = argc == 4 && strcmp(argv[3], "--stall") == 0;
	if ((argc != 3 && !stall) || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: logsink SOCKET FILE [--stall]\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;	/* no SA_RESTART: recv returns */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);

	ofd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (ofd < 0) {
		fprintf(stderr, "logsink: cannot open '%s': %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	sfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sfd < 0) {
		perror("logsink: socket");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	if (bind(sfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "logsink: cannot bind '%s': %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	/* The daemon runs as root; the sink may be anyone's. */
	chmod(argv[1], 0666);

	for (;;) {
		ssize_t n;

		if (stall) {
			if (stop)
				break;
			pause();
			continue;
		}
		/* After the signal: what is queued still, then stop. */
		n = recv(sfd, buf, sizeof(buf) - 1, stop ? MSG_DONTWAIT : 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (stop && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			perror("logsink: recv");
			break;
		}
		if (n > 0 && buf[n - 1] == '\n')
			n--;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n' || buf[i] == '\0')
				buf[i] = ' ';
		buf[n++] = '\n';
		if (write_all(ofd, buf, (size_t)n) < 0) {
			perror("logsink: write");
			break;
		}
	}
	unlink(argv[1]);
	close(sfd);
	close(ofd);
	return 0;
}
