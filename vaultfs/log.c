/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDENT_MAX 32
#define MSG_MAX 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* openlog(3) keeps the pointer, so ident lives in static storage. */
static char ident[IDENT_MAX] = "vaultfs";
static int use_syslog;
static int max_prio = LOG_INFO;

void log_init(const char *name)
{
	pthread_mutex_lock(&lock);
	if (name != NULL && name[0] != '\0')
		snprintf(ident, sizeof(ident), "%s", name);
	pthread_mutex_unlock(&lock);
}

void log_use_syslog(void)
{
	pthread_mutex_lock(&lock);
	if (!use_syslog) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = 1;
	}
	pthread_mutex_unlock(&lock);
}

void log_set_level(int prio)
{
	pthread_mutex_lock(&lock);
	max_prio = prio;
	pthread_mutex_unlock(&lock);
}

/*
 * One write(2) per message so lines from different threads (and
 * processes sharing stderr) never interleave mid-line.
 */
static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

/* Called with lock held. */
static void emit(int prio, const char *msg)
{
	char line[IDENT_MAX + MSG_MAX + 4];
	int n;

	n = snprintf(line, sizeof(line), "%s: %s\n", ident, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(STDERR_FILENO, line, (size_t)n);
	if (use_syslog)
		syslog(prio, "%s", msg);
}

void vlog(int prio, const char *fmt, ...)
{
	char msg[MSG_MAX];
	int saved = errno;
	va_list ap;

	pthread_mutex_lock(&lock);
	if (prio > max_prio) {
		pthread_mutex_unlock(&lock);
		errno = saved;
		return;
	}
	pthread_mutex_unlock(&lock);

	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) >= (int)sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	va_end(ap);

	pthread_mutex_lock(&lock);
	emit(prio, msg);
	pthread_mutex_unlock(&lock);
	errno = saved;
}

_Noreturn void vault_misuse(const char *what)
{
	char msg[MSG_MAX];

	snprintf(msg, sizeof(msg), "internal error: %s",
		 what != NULL ? what : "(unknown)");
	/* trylock: never deadlock on the way to abort(). */
	if (pthread_mutex_trylock(&lock) == 0) {
		emit(LOG_CRIT, msg);
		pthread_mutex_unlock(&lock);
	} else {
		emit(LOG_CRIT, msg);
	}
	abort();
}
