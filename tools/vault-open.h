/*
 * vault-open.h - what the vaultctl commands that unlock a vault (fsck,
 * keys, passwd, rotate) do first: check that VAULT is a vault, open its
 * directory, take the locks the command needs, read the passphrase (a
 * passfile or the terminal) and unlock the key store.
 *
 * Each failure is explained on stderr (STYLE.md wording; the vault's own
 * path only, nothing decrypted) before the call returns.  The order
 * matters: a vault that is not one, or has a newer format, is refused
 * before anything is locked or asked; the locks are taken before the
 * passphrase is asked for and before the key store is read, so that the
 * store read is the one a passwd or rotate replaces.
 */
#ifndef VAULTFS_VAULT_OPEN_H
#define VAULTFS_VAULT_OPEN_H

struct keystore;

/*
 * Hold keystore_lock() (keys/keystore.h): for commands that rewrite the
 * key store (passwd, rotate), so that two of them cannot run at once.
 */
#define VAULTCTL_OPEN_KEYSTORE_LOCK 0x1
/*
 * Hold the mount lock (backing_lock(), vaultfs/backing.h): refuse a
 * mounted vault ("vault 'X' is mounted; unmount it first"), and keep it
 * from being mounted, or checked by fsck, meanwhile (rotate, fsck).  A
 * vault without its lock file is refused ("cannot lock vault").
 */
#define VAULTCTL_OPEN_MOUNT_LOCK 0x2
/*
 * The same, except that a vault without its lock file passes (vaultfs
 * cannot mount it either): for passwd, which only needs the vault not to
 * be mounted.
 */
#define VAULTCTL_OPEN_NOT_MOUNTED 0x4

/* An unlocked vault; release with vaultctl_close_vault(). */
struct vaultctl_vault {
	int fd;				/* the vault directory */
	struct keystore *ks;		/* unlocked (keystore_free()) */
	int keystore_lock;		/* keystore_lock(), or -1 */
	int mount_lock;			/* backing_lock(), or -1 */
};

/*
 * Open vault with flags (VAULTCTL_OPEN_*), reading the passphrase from
 * the first line of passfile or, when it is NULL, from the terminal.
 * Returns 0, or a negative errno after printing why (v is then closed):
 *   -ENOENT, -ENOTDIR, -EBADMSG, -EPROTONOSUPPORT  no vault, not a key
 *       store, damaged, newer format
 *   -EBUSY          mounted, or the key store is being changed
 *   -ENOTTY         no passfile and no terminal
 *   -EKEYREJECTED   wrong passphrase
 *   other           the errno of what failed (open, lock, read, -ENOMEM)
 * vaultctl_exit_status() maps it to the exit status of every command but
 * fsck (which exits 2).
 */
int vaultctl_open_vault(const char *vault, const char *passfile,
			unsigned flags, struct vaultctl_vault *v)
	__attribute__((nonnull(1, 4), warn_unused_result));

/* Free the key store (its keys are wiped), drop the locks, close. */
void vaultctl_close_vault(struct vaultctl_vault *v) __attribute__((nonnull));

#endif
