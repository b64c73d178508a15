/*
 * passphrase.h - read a passphrase from a passfile or the terminal.
 *
 * Never from argv or the environment.  The result lives in sodium_malloc
 * memory; release it with passphrase_free().
 */
#ifndef VAULTFS_PASSPHRASE_H
#define VAULTFS_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>

#define PASSPHRASE_MAX 1024

/*
 * With passfile: its first line, without the trailing newline (and CR).
 * Without: prompt on /dev/tty with echo off (twice when confirm, which
 * must match).  Errors: -ENOTTY (no passfile and no terminal), -ENOENT or
 * other errno (passfile unreadable), -EINVAL (empty passphrase, or longer
 * than PASSPHRASE_MAX), -EKEYREJECTED (confirmation did not match).
 */
int passphrase_read(const char *passfile, const char *prompt, bool confirm,
		    char **pass, size_t *len)
	__attribute__((nonnull(2, 4, 5), warn_unused_result));

void passphrase_free(char *pass, size_t len);

#endif
