/* audit-print.c - see audit-print.h. */
#include "audit-print.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "../vaultfs/auditrec.h"

void audit_print_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != 0) {
		size_t n = auditrec_utf8_len(p);

		if (n == 0 || *p < 0x20 || *p == 0x7f || *p == '\\' ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			/* One byte, or a C1 control as its two bytes. */
			size_t k = n == 2 ? 2 : 1;

			for (size_t i = 0; i < k; i++)
				fprintf(f, "\\x%02x", p[i]);
			p += k;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

void audit_print_json(FILE *f, const char *s)
{
	auditrec_print_json_string(f, s);
}

void audit_print_json_time(FILE *f, int64_t us)
{
	char t[32];

	auditrec_format_time(us, t);
	audit_print_json(f, t);
}

void audit_print_result(FILE *f, int32_t result, int width)
{
	const char *name = result < 0 ? strerrorname_np(-result) : NULL;

	if (result == 0)
		fprintf(f, "%-*s", width, "ok");
	else if (name != NULL)
		fprintf(f, "%-*s", width, name);
	else
		fprintf(f, "%-*" PRId32, width, result);
}

static const char *kind_words(enum audit_finding k)
{
	switch (k) {
	case AUDIT_ALTERED: return "altered";
	case AUDIT_REMOVED: return "removed";
	case AUDIT_REORDERED: return "reordered";
	case AUDIT_TRUNCATED: return "truncated tail";
	case AUDIT_SEGMENT_REMOVED: return "segment removed";
	case AUDIT_SEGMENT_REPLAYED: return "segment replayed";
	case AUDIT_BAD_HEADER: return "bad header";
	case AUDIT_WRONG_KEY: return "wrong key";
	case AUDIT_NOTE_HISTORY_START: return "history start";
	case AUDIT_NOTE_CRASH: return "crash";
	case AUDIT_NOTE_OPEN: return "open";
	default: return "unknown";
	}
}

void audit_print_format_finding(const struct audit_problem *p, char *out,
				size_t cap)
{
	char where[128] = "", count[48] = "";

	/* (offset 0: frames start after the header, so a whole segment) */
	if (p->offset != 0)
		snprintf(where, sizeof(where), ": record seq %" PRIu64
			 " (frame %" PRIu64 ", byte offset %" PRIu64 ")",
			 p->seq, p->index, p->offset);
	else if (p->seq != 0 && p->kind != AUDIT_NOTE_HISTORY_START)
		snprintf(where, sizeof(where), ": from record seq %" PRIu64,
			 p->seq);
	if (p->count > 1 && auditverify_is_damage(p->kind))
		snprintf(count, sizeof(count), " (%" PRIu64 " %s)", p->count,
			 p->kind == AUDIT_SEGMENT_REMOVED ? "segments" :
			 "records");
	snprintf(out, cap, "%s%s: %s%s: %s", p->segment, where,
		 kind_words(p->kind), count, p->detail);
}

void audit_print_finding_json(FILE *f, const struct audit_problem *p)
{
	fputs("{\"kind\":", f);
	audit_print_json(f, auditverify_finding_name(p->kind));
	fprintf(f, ",\"damage\":%s,\"segment\":",
		auditverify_is_damage(p->kind) ? "true" : "false");
	audit_print_json(f, p->segment);
	fprintf(f, ",\"seq\":%" PRIu64 ",\"count\":%" PRIu64 ",\"index\":%"
		PRIu64 ",\"offset\":%" PRIu64 ",\"detail\":", p->seq, p->count,
		p->index, p->offset);
	audit_print_json(f, p->detail);
	fputc('}', f);
}
