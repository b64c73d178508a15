/*
 * record.c - vaultctl commands that change a vault append their own
 * record to its access log, in a small segment of their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vaultctl.h"
#include "../keys/keystore.h"
#include "../vaultfs/access.h"
#include "../vaultfs/auditlog.h"
#include "../vaultfs/backing.h"

int vaultctl_record(const char *vault, const struct vault_settings *s,
		    int event, const char *detail)
{
	char host[256] = "", where[PATH_MAX], text[PATH_MAX + 1024];
	struct auditlog *log = NULL;
	int fd, r;

	fd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		int afd = openat(fd, BACKING_AUDIT_DIR, O_RDONLY | O_DIRECTORY |
				 O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = afd;
	}
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	r = auditlog_open(fd, s, &(struct auditlog_options){
				.kind = AUDIT_SEG_COMMAND }, &log);
	close(fd);
	if (r < 0)
		goto fail;
	gethostname(host, sizeof(host) - 1);
	if (!realpath(vault, where))
		snprintf(where, sizeof(where), "%s", vault);
	snprintf(text, sizeof(text), "host=%s vault=%s%s%s", host, where,
		 detail ? " " : "", detail ? detail : "");
	r = access_close(log, &(struct access_event){
		.event = (enum audit_event)event, .uid = getuid(),
		.gid = getgid(), .pid = (uint32_t)getpid(), .path = "/",
		.detail = text });
	if (r < 0)
		goto fail;
	return 0;
fail:
	vaultctl_error("cannot append to the access log of vault '%s': %s",
		       vault, r == -EBUSY ? "it is being written (mounted?)" :
		       strerror(-r));
	return r;
}
