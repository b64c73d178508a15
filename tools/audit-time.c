/* audit-time.c - see audit-time.h. */
#include "audit-time.h"

#include <ctype.h>

#include "vaultctl.h"

/* Read exactly n decimal digits. */
static bool digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return false;
		*v = *v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
				  31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

bool audit_time_parse(const char *s, int64_t *us)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 100000;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
	    *s++ != '-' || !digits(&s, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (*s != '\0') {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return false;
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return false;
		if (*s == ':') {
			s++;
			if (!digits(&s, 2, &sec))
				return false;
			if (*s == '.' || *s == ',') {
				s++;
				if (!isdigit((unsigned char)*s))
					return false;
				for (; isdigit((unsigned char)*s); s++) {
					frac += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '+' ? 1 : -1;
			if (!digits(&s, 2, &oh) || *s++ != ':' ||
			    !digits(&s, 2, &om) || oh > 23 || om > 59)
				return false;
		} else {
			return false;	/* local time is ambiguous */
		}
		if (*s != '\0')
			return false;
	}
	*us = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
		sign * (oh * 3600 + om * 60)) * 1000000) + frac;
	return true;
}

bool audit_time_window_has(const struct audit_time_window *w, int64_t us)
{
	return !(w->has_since && us < w->since) &&
	       !(w->has_until && us >= w->until);
}

int audit_time_window_option(struct audit_time_window *w, const char *what,
			     bool since, const char *arg)
{
	if (!audit_time_parse(arg, since ? &w->since : &w->until))
		return vaultctl_usage_error(what, "%s '%s' is not a time: use "
					    "RFC 3339 (2026-11-20T10:00:00Z, "
					    "or with an offset such as "
					    "+02:00) or a date (2026-11-20, "
					    "midnight UTC)", since ?
					    "--since" : "--until", arg);
	if (since)
		w->has_since = true;
	else
		w->has_until = true;
	return 0;
}

int audit_time_window_check(const struct audit_time_window *w,
			    const char *what)
{
	if (w->has_since && w->has_until && w->since >= w->until)
		return vaultctl_usage_error(what, "--since must be earlier "
					    "than --until");
	return 0;
}
