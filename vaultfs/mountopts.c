/* mountopts.c - see mountopts.h. */
#include "mountopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "size.h"

#define BAD_MAX 128

static _Thread_local char bad_item[BAD_MAX];

void mountopts_init(struct mount_opts *o)
{
	o->writeback = true;
	o->direct_io = false;
	o->timeout = 10.0;
	o->fuse = NULL;
	o->audit_syslog = NULL;
	o->shared = false;
	o->dirty_min = MOUNTOPTS_DIRTY_MIN;
	o->read_ahead = MOUNTOPTS_READ_AHEAD;
}

void mountopts_release(struct mount_opts *o)
{
	free(o->fuse);
	free(o->audit_syslog);
	mountopts_init(o);
}

static int append(char **list, const char *item, size_t len)
{
	size_t old = *list ? strlen(*list) : 0;
	char *n = realloc(*list, old + len + 2);

	if (!n)
		return -ENOMEM;
	if (old)
		n[old++] = ',';
	memcpy(n + old, item, len);
	n[old + len] = '\0';
	*list = n;
	return 0;
}

static bool is(const char *item, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(item, name, len);
}

static int parse_timeout(const char *v, size_t len, double *out)
{
	char buf[32], *end;
	double t;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, len);
	buf[len] = '\0';
	t = strtod(buf, &end);
	/* !(t >= 0) also catches NaN */
	if (*end || !(t >= 0) || t > 86400)
		return -EINVAL;
	*out = t;
	return 0;
}

/*
 * audit_syslog=SOCKET: an absolute path (the daemon changes to / when it
 * detaches and may reconnect later) that fits in sun_path.
 */
static int parse_socket(const char *v, size_t len, char **out)
{
	struct sockaddr_un sa;
	char *p;

	if (len == 0 || v[0] != '/' || len >= sizeof(sa.sun_path))
		return -EINVAL;
	p = strndup(v, len);
	if (p == NULL)
		return -ENOMEM;
	free(*out);
	*out = p;
	return 0;
}

/* The value of item "key=value" (key given with its "="), or NULL. */
static const char *value_of(const char *item, size_t len, const char *key,
			    size_t *vlen)
{
	size_t k = strlen(key);

	if (len < k || memcmp(item, key, k) != 0)
		return NULL;
	*vlen = len - k;
	return item + k;
}

int mountopts_parse(struct mount_opts *o, const char *list, const char **bad)
{
	static const char default_socket[] = "/dev/log";
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *v;
		size_t vlen;
		int r = 0;

		if (len == 0) {
			/* empty item: ignore */
		} else if (is(p, len, "writeback")) {
			o->writeback = true;
		} else if (is(p, len, "no_writeback")) {
			o->writeback = false;
		} else if (is(p, len, "direct_io")) {
			o->direct_io = true;
		} else if (is(p, len, "allow_other")) {
			o->shared = true;	/* and libfuse's too */
			r = append(&o->fuse, p, len);
		} else if (is(p, len, "default_permissions")) {
			/* the daemon always checks (perm.h) */
		} else if (is(p, len, "audit_syslog")) {
			r = parse_socket(default_socket,
					 sizeof(default_socket) - 1,
					 &o->audit_syslog);
		} else if ((v = value_of(p, len, "audit_syslog=", &vlen))) {
			r = parse_socket(v, vlen, &o->audit_syslog);
		} else if ((v = value_of(p, len, "cache_timeout=", &vlen))) {
			r = parse_timeout(v, vlen, &o->timeout);
		} else if ((v = value_of(p, len, "dirty_min=", &vlen))) {
			r = size_parse(v, vlen, &o->dirty_min);
		} else if ((v = value_of(p, len, "read_ahead=", &vlen))) {
			r = size_parse(v, vlen, &o->read_ahead);
		} else {
			r = append(&o->fuse, p, len);
		}
		if (r < 0) {
			if (r == -EINVAL && bad) {
				size_t n = len < BAD_MAX - 1 ? len : BAD_MAX - 1;

				memcpy(bad_item, p, n);
				bad_item[n] = '\0';
				*bad = bad_item;
			}
			return r;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
