/*
 * harden.h - process hardening at startup.
 *
 * Called once, early, by the daemon and by vaultctl, before any key or
 * passphrase is in memory.
 */
#ifndef VAULTFS_HARDEN_H
#define VAULTFS_HARDEN_H

/*
 * Make the process leave no copy of its memory behind: RLIMIT_CORE soft and
 * hard limits 0 (no core dumps) and prctl(PR_SET_DUMPABLE, 0) (no core
 * dumps through a core_pattern pipe, no ptrace attach or /proc/PID/mem
 * access by other processes of the same user).  Returns 0, or -errno from
 * the first call that failed.
 *
 * It deliberately does NOT set PR_SET_NO_NEW_PRIVS: libfuse mounts and
 * unmounts through fusermount3, which is setuid root, and no_new_privs
 * would make that exec run without privilege and the mount fail.
 * Process-wide: call it before starting threads.
 */
int harden_process(void) __attribute__((warn_unused_result));

#endif
