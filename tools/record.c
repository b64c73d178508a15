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
#include "../vaultfs/auditfwd.h"
#include "../vaultfs/auditlog.h"
#include "../vaultfs/backing.h"

/* Send what the copy hook queued (no sender thread: now) and say so if
 * some of it could not go. */
static void forward_done(struct auditfwd *fwd)
{
	uint64_t unsent, sent, dropped;

	if (fwd == NULL)
		return;
	unsent = auditfwd_flush(fwd, 0);
	auditfwd_counts(fwd, &sent, &dropped);
	if (unsent > 0 || dropped > 0)
		vaultctl_warning("%llu of %llu access-log frames could not be "
				 "sent to syslog socket '%s' (is the syslog "
				 "daemon running?); they are in the local log",
				 (unsigned long long)(unsent + dropped),
				 (unsigned long long)(unsent + dropped + sent),
				 vaultctl_audit_syslog);
	auditfwd_free(fwd);
}

int vaultctl_record(const char *vault, const struct vault_settings *s,
		    int event, const char *detail)
{
	char host[256] = "", where[PATH_MAX], text[PATH_MAX + 1024];
	struct auditlog *log = NULL;
	struct auditfwd *fwd = NULL;
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
	if (vaultctl_audit_syslog != NULL &&
	    auditfwd_open(vaultctl_audit_syslog, s->vault_id, &fwd) < 0)
		vaultctl_warning("cannot forward to syslog socket '%s': out of "
				 "memory; recording locally only",
				 vaultctl_audit_syslog);
	r = auditlog_open(fd, s, &(struct auditlog_options){
				.kind = AUDIT_SEG_COMMAND,
				.copy = fwd != NULL ? auditfwd_copy : NULL,
				.copy_arg = fwd }, &log);
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
	forward_done(fwd);
	return 0;
fail:
	forward_done(fwd);
	vaultctl_error("cannot append to the access log of vault '%s': %s",
		       vault, r == -EBUSY ? "it is being written (mounted?)" :
		       strerror(-r));
	return r;
}
