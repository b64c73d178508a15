/* t-size.c - byte counts with suffixes. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../tap.h"
#include "../../vaultfs/size.h"

static int parse(const char *s, uint64_t *v)
{
	return size_parse(s, strlen(s), v);
}

int main(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "65536", 65536 }, { "64K", 65536 },
		{ "64k", 65536 }, { "64KiB", 65536 }, { "1M", 1 << 20 },
		{ "1m", 1 << 20 }, { "256MiB", 256U << 20 },
		{ "2G", UINT64_C(2) << 30 }, { "2g", UINT64_C(2) << 30 },
		{ "3GiB", UINT64_C(3) << 30 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", UINT64_C(17179869183) << 30 },
	};
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1KB", "1kib", "1T", "0x10",
		"1.5M", "18446744073709551616", "17179869184G",
		"99999999999999999999999",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		is_int(parse(good[i].s, &v), 0, "'%s' parses", good[i].s);
		ok(v == good[i].v, "  to %llu", (unsigned long long)good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		is_int(parse(bad[i], &v), -EINVAL, "'%s' is refused", bad[i]);
		ok(v == 7, "  and leaves the result alone");
	}
	/* only len bytes count: the rest of an option list is not read */
	is_int(size_parse("64K,ro", 3, &v), 0, "a prefix of a list parses");
	ok(v == 65536, "  to 64 KiB");
	is_int(size_parse("64K,ro", 4, &v), -EINVAL, "  one byte more does not");
	return done_testing();
}
