/*
 * backing.h - layout of a vault directory and the operations on it that
 * the daemon, vaultctl and fsck share.
 *
 *   VAULT/vault.keys    key store (keys/keystore.h)
 *   VAULT/vault.lock    held (flock) by the one daemon that mounts it
 *   VAULT/data/         the encrypted tree; its root directory
 *   VAULT/audit/        access log segments
 *
 * Every directory under data/ (data/ included) holds NAMES_DIRID_FILE with
 * its 16-byte directory id.  Functions return 0 or a negative errno and
 * never follow symlinks in the backing store.
 */
#ifndef VAULTFS_BACKING_H
#define VAULTFS_BACKING_H

#include <stdint.h>
#include <sys/types.h>

#include "names.h"

#define BACKING_DATA_DIR "data"
#define BACKING_AUDIT_DIR "audit"
#define BACKING_LOCK_FILE "vault.lock"

/*
 * Create the layout in an existing empty directory vault_fd: data/ (with a
 * fresh dir id), audit/, vault.lock.  Key store is written separately.
 */
int backing_init_layout(int vault_fd) __attribute__((warn_unused_result));

/* true when dirfd holds no entries (init refuses anything else). */
int backing_dir_is_empty(int dirfd, int *empty)
	__attribute__((nonnull, warn_unused_result));

/*
 * Take the vault's mount lock (flock LOCK_EX|LOCK_NB on vault.lock); the
 * returned descriptor holds it until closed.  -EBUSY if another process
 * holds it (the vault is mounted).
 */
int backing_lock(int vault_fd, int *lock_fd)
	__attribute__((nonnull, warn_unused_result));

/* Read dirfd's dir id.  -EBADMSG if the file is missing or the wrong size. */
int backing_read_dirid(int dirfd, uint8_t dirid[NAMES_DIRID_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Create directory parent_fd/name with mode and a fresh dir id, atomically:
 * a temporary directory gets its dir id file, then is renamed into place
 * with RENAME_NOREPLACE (-EEXIST if name exists).  dirid receives the id.
 * The id is durable before the name appears; the name itself is durable
 * once parent_fd is synced, as with mkdir(2).
 */
int backing_mkdir(int parent_fd, const char *name, mode_t mode,
		  uint8_t dirid[NAMES_DIRID_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Read the side file of long entry "@hash" in dirfd into enc (NUL-
 * terminated) and check it belongs to that entry (names_long_matches).
 * -EBADMSG if missing, oversized or not matching.
 */
int backing_read_longname(int dirfd, const char *backing,
			  char enc[NAMES_ENC_MAX], size_t *enclen)
	__attribute__((nonnull, warn_unused_result));

/* Write (replace atomically) the side file for long entry backing. */
int backing_write_longname(int dirfd, const char *backing, const char *enc)
	__attribute__((nonnull, warn_unused_result));

/* Remove the side file for long entry backing; a missing one is fine. */
int backing_remove_longname(int dirfd, const char *backing)
	__attribute__((nonnull));

#endif
