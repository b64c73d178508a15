/* t-harden.c - harden_process() turns core dumps and ptrace access off. */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "../tap.h"
#include "../../vaultfs/harden.h"

int main(void)
{
	struct rlimit rl;

	is_int(harden_process(), 0, "harden_process succeeds");
	ok(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	   rl.rlim_max == 0, "core dump limit is 0 (soft and hard)");
	is_int(prctl(PR_GET_DUMPABLE), 0, "process is not dumpable");
	/* fusermount3 is setuid: no_new_privs would break mounting */
	is_int(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0,
	       "no_new_privs left off");
	is_int(harden_process(), 0, "calling it twice is fine");
	return done_testing();
}
