/* tap.c - see tap.h. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count, failed;

static int report(int pass, const char *file, int line, const char *fmt,
		  va_list ap)
{
	count++;
	printf("%sok %d - ", pass ? "" : "not ", count);
	vprintf(fmt, ap);
	putchar('\n');
	if (!pass) {
		failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return pass;
}

int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(got == want, file, line, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#   got %lld, want %lld\n", got, want);
	return got == want;
}

int tap_is_mem(const void *got, const void *want, size_t n, const char *file,
	       int line, const char *fmt, ...)
{
	va_list ap;
	int pass = memcmp(got, want, n) == 0;

	va_start(ap, fmt);
	report(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

int done_testing(void)
{
	printf("1..%d\n", count);
	return failed ? 1 : 0;
}
