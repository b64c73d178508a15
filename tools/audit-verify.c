/* audit-verify.c - see audit-verify.h. */
#include "audit-verify.h"

#include <inttypes.h>
#include <stdio.h>

#include "vaultctl.h"
#include "audit-print.h"

#define VERIFY_PRINT_MAX 100		/* findings listed */

static int verify_finding(void *arg, const struct audit_problem *p)
{
	uint64_t *printed = arg;
	char line[512];

	if ((*printed)++ >= VERIFY_PRINT_MAX)
		return 0;
	audit_print_format_finding(p, line, sizeof(line));
	/* Another auditor key is not tampering: say it apart. */
	printf("%s: %s\n", p->kind == AUDIT_WRONG_KEY ? "not verified" :
	       auditverify_is_damage(p->kind) ? "damage" : "note", line);
	return 0;
}

static void syslog_note(void *arg, const char *text)
{
	printf("note: syslog: %s\n", text);
}

int audit_verify_run(const struct audit_read_source *src)
{
	static const struct audit_read_ops ops = {
		.finding = verify_finding,
		.syslog_compare = true,
		.syslog_note = syslog_note,
	};
	struct audit_read_tally t;
	uint64_t printed = 0;
	int status;

	status = audit_read_run(src, &ops, &printed, &t);
	if (status != 0)
		return status;
	if (printed > VERIFY_PRINT_MAX)
		printf("... %" PRIu64 " more findings not listed\n",
		       printed - VERIFY_PRINT_MAX);
	if (t.sum.segments == 0 && t.damage == 0) {
		printf("the access log in '%s' is empty: no segments\n", t.dir);
	} else if (t.damage == 0) {
		printf("the access log is intact: ");
		audit_read_print_summary(stdout, &t);
	} else if (t.other_damage == 0) {
		/* Only segments sealed to keys not given. */
		printf("the access log could NOT be verified completely: ");
		audit_read_print_other_keys(stdout, &t);
		printf("what could be read is intact: ");
		audit_read_print_summary(stdout, &t);
	} else {
		char line[512];

		audit_print_format_finding(&t.first_other_damage, line,
					   sizeof(line));
		printf("the access log is DAMAGED; first bad record: %s\n",
		       line);
		audit_read_print_other_keys(stdout, &t);
		audit_read_print_summary(stdout, &t);
	}
	return audit_read_status(&t);
}
