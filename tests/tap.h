/*
 * tap.h - a tiny TAP producer for the unit tests (prove reads it).
 *
 *   ok(cond, "what")      one test point
 *   is_int(a, b, "what")  with both values printed on failure
 *   done_testing()        prints the plan, returns the exit status
 */
#ifndef VAULTFS_TAP_H
#define VAULTFS_TAP_H

#include <stddef.h>

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(a, b, ...) tap_is_int((long long)(a), (long long)(b), \
				     __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(a, b, n, ...) tap_is_mem((a), (b), (n), __FILE__, __LINE__, \
					__VA_ARGS__)

int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tap_is_int(long long got, long long want, const char *file, int line,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tap_is_mem(const void *got, const void *want, size_t n, const char *file,
	       int line, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void skip_all(const char *why);
int done_testing(void);

#endif
