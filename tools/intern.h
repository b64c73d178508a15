/*
 * intern.h - an interning table: byte strings in, dense indexes 0, 1, 2,
 * ... out, the same index for the same bytes (open addressing, FNV-1a).
 * vaultctl audit report counts per document, account and process with it.
 *
 * The table copies each key (NUL-terminated after its length, for
 * printing); keys[i] and lens[i] are the key of index i, n the number of
 * keys.  Not thread-safe.  Holds whatever it is given, so a table of
 * plaintext names lives in ordinary memory, like the log records they
 * come from: release it when done.
 */
#ifndef VAULTFS_INTERN_H
#define VAULTFS_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct intern {
	uint32_t *slots;		/* index + 1; 0 = empty */
	size_t cap;
	char **keys;
	size_t *lens;
	size_t n, keycap;
};

/* An empty table is all zeroes: struct intern t = { 0 }. */

/*
 * The index of key (len bytes) in *idx; a new key is copied and gets the
 * next index (*added true).  Returns 0 or -ENOMEM (the table is unchanged
 * but still valid).
 */
int intern_get(struct intern *t, const void *key, size_t len, uint32_t *idx,
	       bool *added)
	__attribute__((nonnull(1, 4, 5), warn_unused_result));

/* Free the keys and the arrays (not t itself). */
void intern_release(struct intern *t) __attribute__((nonnull));

#endif
