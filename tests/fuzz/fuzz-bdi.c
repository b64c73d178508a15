/* fuzz-bdi.c - the /proc/self/mountinfo scan on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vaultfs/bdi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	unsigned major, minor;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* a path the kernel would escape, and a plain one */
	if (bdi_find(s, "/mnt/a b", "fuse.vaultfs", &major, &minor) == 0 &&
	    bdi_find(s, "/", "ext4", &major, &minor) == 0 &&
	    !strstr(s, "ext4"))
		abort();	/* found a type the text does not name */
	free(s);
	return 0;
}
