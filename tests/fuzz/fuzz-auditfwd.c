/*
 * fuzz-auditfwd.c - the reader of the syslog copy of the access log: each
 * input is a collected log file (lines), parsed and reassembled as
 * `vaultctl audit verify --syslog` does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/auditfwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct auditfwd_collector *c = NULL;
	const struct auditfwd_item *items;
	struct auditfwd_collect_stats st;
	struct auditfwd_part part;
	size_t n = 0;

	/* The whole input as one line. */
	if (auditfwd_parse_line(p, size, &part) == 0 &&
	    (part.len == 0 || part.len > AUDITFWD_PART_BYTES ||
	     part.part == 0 || part.part > part.parts ||
	     part.parts > AUDITFWD_PARTS_MAX || part.segment == 0))
		abort();
	if (auditfwd_collector_new(&c) < 0)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (auditfwd_collector_add(c, p, len) < 0)
			break;
		p += len + (nl ? 1 : 0);
	}
	if (auditfwd_collector_finish(c, &items, &n, &st) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (items[i].len == 0 ||
			    items[i].len > AUDITFWD_ITEM_MAX ||
			    items[i].line == 0 || items[i].line > st.lines)
				abort();
			if (i > 0 && items[i - 1].segment == items[i].segment &&
			    items[i - 1].seq > items[i].seq &&
			    !memcmp(items[i - 1].vault_id, items[i].vault_id,
				    AUDITREC_VAULT_ID_BYTES))
				abort();	/* not sorted */
		}
		if (st.items != n || st.parts > st.lines)
			abort();
	}
	auditfwd_collector_free(c);
	return 0;
}
