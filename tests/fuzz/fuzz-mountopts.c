/* fuzz-mountopts.c - the -o list parser on arbitrary input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/mountopts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mount_opts o;
	const char *bad = NULL;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	mountopts_init(&o);
	if (mountopts_parse(&o, s, &bad) == 0 && o.fuse &&
	    strlen(o.fuse) > size)
		abort();	/* can only shrink */
	mountopts_release(&o);
	free(s);
	return 0;
}
