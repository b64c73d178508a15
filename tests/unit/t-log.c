/* t-log.c - the logging sink: format, level filter, misuse aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/log.h"

/* Run fn in a child with stderr captured; returns what it wrote. */
static char *capture(void (*fn)(void), int *status)
{
	static char buf[8192];
	int p[2];
	pid_t pid;
	ssize_t n, total = 0;

	if (pipe(p) < 0)
		return NULL;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		fn();
		exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = '\0';
	close(p[0]);
	waitpid(pid, status, 0);
	return buf;
}

static void basic(void)
{
	log_init("t-log");
	vlog(LOG_ERR, "value %d", 42);
	vlog(LOG_DEBUG, "hidden at the default level");
	log_set_level(LOG_DEBUG);
	vlog(LOG_DEBUG, "shown now");
}

static void longmsg(void)
{
	char big[10000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_init("t-log");
	vlog(LOG_ERR, "%s", big);
}

static void misuse(void)
{
	log_init("t-log");
	vault_misuse("a test of misuse");
}

int main(void)
{
	int st;
	char *out = capture(basic, &st);

	ok(out && strstr(out, "t-log: value 42\n"), "prefix and format");
	ok(out && !strstr(out, "hidden"), "debug dropped by default");
	ok(out && strstr(out, "t-log: shown now\n"), "level raised");
	out = capture(longmsg, &st);
	ok(out && strlen(out) > 100 && strlen(out) < 10000 &&
	   out[strlen(out) - 1] == '\n', "a very long message is cut, one line");
	out = capture(misuse, &st);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "vault_misuse aborts");
	ok(out && strstr(out, "a test of misuse"), "and says why");
	return done_testing();
}
