/* harden.c - see harden.h. */
#include "harden.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	/* Lowering the hard limit is always allowed. */
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
