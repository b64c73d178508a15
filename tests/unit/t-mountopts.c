/* t-mountopts.c - mount option splitting. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../tap.h"
#include "../../vaultfs/mountopts.h"

/* Each of the n lists is refused, and the message names its bad item,
 * which starts with key. */
static void rejects(struct mount_opts *o, const char *const *lists, size_t n,
		    const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const char *bad = NULL;

		is_int(mountopts_parse(o, lists[i], &bad), -EINVAL,
		       "rejects '%.40s'", lists[i]);
		ok(bad && !strncmp(bad, key, strlen(key)),
		   "  names the item (%.40s)", bad ? bad : "(null)");
	}
}

#define REJECTS(o, lists, key) \
	rejects((o), (lists), sizeof(lists) / sizeof((lists)[0]), (key))

/*
 * A size option key ("dirty_min=") stored in *field: its default, a value
 * with a suffix, 0, and bad values refused and named, leaving the last.
 */
static void size_option(struct mount_opts *o, const char *key,
			const uint64_t *field, uint64_t def)
{
	static const char *const tails[] = { "", "-1", "1T", "12 ", "3x" };
	char item[64], list[80];

	ok(*field == def, "%sSIZE defaults to %llu", key,
	   (unsigned long long)def);
	snprintf(item, sizeof(item), "%s64M", key);
	is_int(mountopts_parse(o, item, NULL), 0, "%s", item);
	ok(*field == 64U << 20, "  is 64 MiB");
	ok(!o->fuse || !strstr(o->fuse, key), "  and is not passed on");
	snprintf(item, sizeof(item), "%s0", key);
	is_int(mountopts_parse(o, item, NULL), 0, "%s", item);
	ok(*field == 0, "  turns it off");
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		const char *lists[1] = { list };

		snprintf(list, sizeof(list), "ro,%s%s", key, tails[i]);
		rejects(o, lists, 1, key);
	}
	ok(*field == 0, "a rejected value leaves the old one");
}

int main(void)
{
	struct mount_opts o;
	const char *bad = NULL;

	mountopts_init(&o);
	ok(o.writeback && o.timeout == 10.0 && !o.fuse, "defaults");
	is_int(mountopts_parse(&o, "allow_other,no_writeback,ro", &bad), 0,
	       "mixed list parses");
	ok(!o.writeback, "no_writeback taken");
	ok(o.fuse && !strcmp(o.fuse, "allow_other,ro"), "rest passed on: %s",
	   o.fuse ? o.fuse : "(null)");
	is_int(mountopts_parse(&o, "cache_timeout=2.5,,writeback", &bad), 0,
	       "second list with an empty item");
	ok(o.timeout == 2.5 && o.writeback, "timeout and writeback");
	ok(!strcmp(o.fuse, "allow_other,ro"), "nothing added for our options");
	ok(!o.direct_io, "direct_io off by default");
	is_int(mountopts_parse(&o, "direct_io", &bad), 0, "direct_io");
	ok(o.direct_io && !strcmp(o.fuse, "allow_other,ro"), "  is ours");
	is_int(mountopts_parse(&o, "default_permissions", &bad), 0,
	       "default_permissions accepted");
	ok(!strcmp(o.fuse, "allow_other,ro"), "and not passed twice");

	static const char *const bads[] = {
		"cache_timeout=", "cache_timeout=-1", "cache_timeout=1e9",
		"cache_timeout=nan", "cache_timeout=3x", "ro,cache_timeout=abc",
	};
	REJECTS(&o, bads, "cache_timeout=");
	ok(o.timeout == 2.5, "a rejected value leaves the old one");

	size_option(&o, "dirty_min=", &o.dirty_min, MOUNTOPTS_DIRTY_MIN);
	size_option(&o, "read_ahead=", &o.read_ahead, MOUNTOPTS_READ_AHEAD);

	/* audit_syslog[=SOCKET] */
	ok(o.audit_syslog == NULL, "audit_syslog off by default");
	is_int(mountopts_parse(&o, "audit_syslog", &bad), 0, "audit_syslog");
	ok(o.audit_syslog && !strcmp(o.audit_syslog, "/dev/log"),
	   "  defaults to /dev/log");
	is_int(mountopts_parse(&o, "ro,audit_syslog=/run/x/log.sock", &bad), 0,
	       "audit_syslog=SOCKET");
	ok(o.audit_syslog && !strcmp(o.audit_syslog, "/run/x/log.sock"),
	   "  the last one wins");
	ok(o.fuse && !strstr(o.fuse, "audit_syslog"),
	   "  and is not passed on (%s)", o.fuse ? o.fuse : "(null)");
	{
		static const char *const sbad[] = {
			"audit_syslog=", "audit_syslog=log.sock",
			"audit_syslog=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			"/long-enough-not-to-fit-sun_path",
		};
		/* empty, relative, too long */
		REJECTS(&o, sbad, "audit_syslog=");
	}
	ok(!strcmp(o.audit_syslog, "/run/x/log.sock"), "  and keeps the old one");
	mountopts_release(&o);
	ok(o.fuse == NULL && o.writeback && o.audit_syslog == NULL,
	   "release resets");

	/* a long unknown item is passed through intact */
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(mountopts_parse(&o, big, NULL), 0, "long item");
	ok(o.fuse && strlen(o.fuse) == sizeof(big) - 1, "kept whole");
	mountopts_release(&o);
	return done_testing();
}
