/*
 * audit-time.h - times on the vaultctl audit command line: RFC 3339
 * parsing, and the --since/--until window that show and report apply.
 *
 * Times are microseconds since 1970-01-01T00:00:00Z, as in the records
 * (struct audit_record time_us); auditrec_format_time() prints them.
 * No state; thread-safe.
 */
#ifndef VAULTFS_AUDIT_TIME_H
#define VAULTFS_AUDIT_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* --since T (inclusive) and --until T (exclusive); unset ends are open. */
struct audit_time_window {
	bool has_since, has_until;
	int64_t since, until;		/* microseconds */
};

/*
 * RFC 3339 date-time (T, t or a blank between date and time; seconds may
 * be left out; any number of fractional digits, microseconds kept; Z or
 * +HH:MM / -HH:MM), or a plain date meaning 00:00:00 UTC.  A time
 * without an offset is refused (local time is ambiguous).  Returns false
 * (*us unchanged) when s is not such a time.
 */
bool audit_time_parse(const char *s, int64_t *us)
	__attribute__((nonnull, warn_unused_result));

/* Is us inside w? */
bool audit_time_window_has(const struct audit_time_window *w, int64_t us)
	__attribute__((nonnull));

/*
 * Set one end of w from option arg (since: --since, else --until).
 * Returns 0, or vaultctl_usage_error(what, ...) naming the option and the
 * accepted forms.
 */
int audit_time_window_option(struct audit_time_window *w, const char *what,
			     bool since, const char *arg)
	__attribute__((nonnull, warn_unused_result));

/*
 * After all options: 0, or a usage error (VAULTCTL_EXIT_USAGE, message
 * printed) when --since is not earlier than --until.
 */
int audit_time_window_check(const struct audit_time_window *w,
			    const char *what)
	__attribute__((nonnull, warn_unused_result));

#endif
