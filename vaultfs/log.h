/*
 * log.h - the one logging sink of the daemon and the library.
 *
 * Messages go to stderr until log_use_syslog() is called (the daemon calls it
 * when it detaches).  Never pass a plaintext name, plaintext content, a key
 * or a passphrase: callers log backing-store names or inode numbers only.
 * Thread-safe.
 */
#ifndef VAULTFS_LOG_H
#define VAULTFS_LOG_H

#include <syslog.h>	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

/* Prefix every message with ident ("vaultfs", "vaultctl"). */
void log_init(const char *ident);

/* Send further messages to syslog(3) (facility LOG_DAEMON) too. */
void log_use_syslog(void);

/* Messages above this priority (numerically larger) are dropped. */
void log_set_level(int prio);

void vlog(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A caller broke a documented precondition (NULL key, impossible length).
 * Not a runtime error: prints what and aborts, like sodium_misuse().
 */
_Noreturn void vault_misuse(const char *what);

#endif
