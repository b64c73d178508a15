/* size.c - see size.h. */
#include "size.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned shift;
} suffixes[] = {
	{ "", 0 },
	{ "K", 10 }, { "k", 10 }, { "KiB", 10 },
	{ "M", 20 }, { "m", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "g", 30 }, { "GiB", 30 },
};

int size_parse(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
		unsigned sh = suffixes[k].shift;

		if (strlen(suffixes[k].name) != len - i ||
		    memcmp(s + i, suffixes[k].name, len - i) != 0)
			continue;
		if (v > UINT64_MAX >> sh)
			return -EINVAL;
		*out = v << sh;
		return 0;
	}
	return -EINVAL;
}
