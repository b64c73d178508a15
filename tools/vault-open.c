/* vault-open.c - see vault-open.h. */
#include "vault-open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vaultctl.h"
#include "../keys/keystore.h"
#include "../vaultfs/backing.h"
#include "../vaultfs/passphrase.h"

/*
 * Explain a keystore error for vault; returns err.  unlocked: the error
 * came from keystore_open() (else from the check before the passphrase).
 */
static int keystore_message(const char *vault, int err, uint32_t format,
			    bool unlocked)
{
	struct stat st;

	switch (err) {
	case -ENOENT:
		if (stat(vault, &st) < 0)
			vaultctl_error("no vault at '%s': %s", vault,
				       strerror(errno));
		else
			vaultctl_error("no vault at '%s': '%s/%s' does not "
				       "exist; create a vault with 'vaultctl "
				       "init'", vault, vault, KEYSTORE_FILE);
		break;
	case -ENOTDIR:
		vaultctl_error("no vault at '%s': not a directory", vault);
		break;
	case -EKEYREJECTED:
		vaultctl_error("wrong passphrase for vault '%s'", vault);
		break;
	case -EBADMSG:
		if (!unlocked)
			vaultctl_error("'%s/%s' is not a vault key store (or "
				       "its first bytes are damaged); restore "
				       "it from a backup", vault, KEYSTORE_FILE);
		else
			vaultctl_error("key store '%s/%s' is damaged or has "
				       "been tampered with; restore it from a "
				       "backup", vault, KEYSTORE_FILE);
		break;
	case -EPROTONOSUPPORT:
		vaultctl_error("key store '%s/%s' has format %u, newer than "
			       "this vaultctl understands (%d); upgrade vaultfs",
			       vault, KEYSTORE_FILE, (unsigned)format,
			       KEYSTORE_FORMAT);
		break;
	case -ENOMEM:
		vaultctl_error("not enough memory to unlock vault '%s' (the "
			       "key derivation needs up to 1 GiB)", vault);
		break;
	default:
		vaultctl_error("cannot read key store '%s/%s': %s", vault,
			       KEYSTORE_FILE, strerror(-err));
		break;
	}
	return err;
}

/* The locks of flags, on the open vault directory v->fd. */
static int take_locks(const char *vault, unsigned flags,
		      struct vaultctl_vault *v)
{
	int r;

	if (flags & VAULTCTL_OPEN_KEYSTORE_LOCK) {
		r = keystore_lock(vault, &v->keystore_lock);
		if (r == -EBUSY) {
			vaultctl_error("the key store of vault '%s' is being "
				       "changed by another 'vaultctl passwd' or "
				       "'vaultctl rotate'; try again when it "
				       "has finished", vault);
			return r;
		}
		if (r < 0)
			goto fail;
	}
	if (flags & (VAULTCTL_OPEN_MOUNT_LOCK | VAULTCTL_OPEN_NOT_MOUNTED)) {
		r = backing_lock(v->fd, &v->mount_lock);
		if (r == -EBUSY) {
			vaultctl_error("vault '%s' is mounted; unmount it first",
				       vault);
			return r;
		}
		if (r == -ENOENT && !(flags & VAULTCTL_OPEN_MOUNT_LOCK))
			r = 0;
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	vaultctl_error("cannot lock vault '%s': %s", vault, strerror(-r));
	return r;
}

int vaultctl_open_vault(const char *vault, const char *passfile,
			unsigned flags, struct vaultctl_vault *v)
{
	char prompt[512];
	uint32_t format = 0;
	char *pass = NULL;
	size_t len = 0;
	int r;

	*v = (struct vaultctl_vault){ .fd = -1, .keystore_lock = -1,
				      .mount_lock = -1 };
	/* Fail before locking or asking for a passphrase that cannot help. */
	r = keystore_peek_format(vault, &format);
	if (r == 0 && format > KEYSTORE_FORMAT)
		r = -EPROTONOSUPPORT;
	if (r < 0)
		return keystore_message(vault, r, format, false);
	v->fd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v->fd < 0) {
		r = -errno;
		vaultctl_error("cannot open vault '%s': %s", vault,
			       strerror(-r));
		goto fail;
	}
	r = take_locks(vault, flags, v);
	if (r < 0)
		goto fail;

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", vault);
	r = vaultctl_passphrase(passfile, "--passfile", prompt, false, &pass,
				&len);
	if (r < 0)
		goto fail;
	r = keystore_open(vault, pass, len, &v->ks);
	passphrase_free(pass, len);
	if (r < 0) {
		keystore_message(vault, r, format, true);
		goto fail;
	}
	return 0;
fail:
	vaultctl_close_vault(v);
	return r;
}

void vaultctl_close_vault(struct vaultctl_vault *v)
{
	keystore_free(v->ks);
	v->ks = NULL;
	if (v->mount_lock >= 0)
		close(v->mount_lock);
	if (v->keystore_lock >= 0)
		close(v->keystore_lock);
	if (v->fd >= 0)
		close(v->fd);
	v->mount_lock = v->keystore_lock = v->fd = -1;
}
