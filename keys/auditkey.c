/*
 * auditkey.c - see auditkey.h; the byte format is in man/vaultfs.5.
 *
 *   magic "VAULTFSA", format u32, KDF alg u32, opslimit u64, memlimit u64,
 *   salt 16, public key 32            (the clear part, 80 bytes)
 *   nonce 24, AEAD(secret key 32) + tag 16, AD = the clear part
 *
 * 152 bytes, little-endian, nothing after.
 */
#include "auditkey.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kdf.h"
#include "../vaultfs/fileio.h"
#include "../vaultfs/le.h"
#include "../vaultfs/seal.h"

#define MAGIC "VAULTFSA"
#define MAGIC_BYTES 8
#define FORMAT 1u
#define SALT_BYTES crypto_pwhash_SALTBYTES
#define KDF_ALG_ARGON2ID13 2u

#define OFF_FORMAT 8
#define OFF_KDF 12
#define OFF_PK (OFF_KDF + 4 + 8 + 8 + SALT_BYTES)		/* 48 */
#define CLEAR_BYTES (OFF_PK + AUDITKEY_PK_BYTES)		/* 80 */
#define OFF_NONCE CLEAR_BYTES
#define OFF_CT (OFF_NONCE + SEAL_NONCE_BYTES)			/* 104 */
#define FILE_BYTES (OFF_CT + AUDITKEY_SK_BYTES + SEAL_TAG_BYTES) /* 152 */


_Static_assert(crypto_pwhash_ALG_ARGON2ID13 == KDF_ALG_ARGON2ID13,
	       "libsodium changed its Argon2id constant");
_Static_assert(AUDITKEY_SK_BYTES == SEAL_KEY_BYTES, "sk seals like a key");
_Static_assert(crypto_scalarmult_BYTES == AUDITKEY_PK_BYTES, "pk size");
_Static_assert(FILE_BYTES == AUDITKEY_FILE_BYTES, "file size");
_Static_assert(SALT_BYTES == KDF_SALT_BYTES &&
	       SALT_BYTES == AUDITKEY_SALT_BYTES, "salt size");

/*
 * Open the directory that holds path; *base points into copy (PATH_MAX)
 * at the last component.
 */
static int open_parent(const char *path, char copy[PATH_MAX],
		       const char **base)
{
	char dcopy[PATH_MAX];
	const char *dir;
	int fd;

	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(copy, path);
	strcpy(dcopy, path);
	*base = basename(copy);		/* GNU basename: no trailing '/' */
	if (**base == '\0')
		return -EISDIR;
	dir = dirname(dcopy);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Fill file (FILE_BYTES) for key pair (sk, pk) protected by pass under
 * Argon2id(ops, mem) with a fresh salt and nonce.
 */
static int seal_file(uint8_t file[FILE_BYTES], const uint8_t *sk,
		     const uint8_t pk[AUDITKEY_PK_BYTES], const char *pass,
		     size_t passlen, uint64_t ops, uint64_t mem)
{
	uint8_t salt[SALT_BYTES];
	uint8_t *key;
	int r;

	key = seal_secret_alloc(SEAL_KEY_BYTES);
	if (key == NULL)
		return -ENOMEM;
	seal_random(salt, SALT_BYTES);
	r = kdf_derive(key, pass, passlen, salt, ops, mem);
	if (r < 0)
		goto out;
	memcpy(file, MAGIC, MAGIC_BYTES);
	le_put32(file + OFF_FORMAT, FORMAT);
	le_put32(file + OFF_KDF, KDF_ALG_ARGON2ID13);
	le_put64(file + OFF_KDF + 4, ops);
	le_put64(file + OFF_KDF + 12, mem);
	memcpy(file + OFF_KDF + 20, salt, SALT_BYTES);
	memcpy(file + OFF_PK, pk, AUDITKEY_PK_BYTES);
	seal_encrypt(key, file, CLEAR_BYTES, sk, AUDITKEY_SK_BYTES,
		     file + OFF_NONCE, file + OFF_CT);
out:
	seal_secret_free(key);
	return r;
}

int auditkey_generate(const char *path, const char *pass, size_t passlen,
		      enum keystore_kdf kdf, uint8_t pk[AUDITKEY_PK_BYTES])
{
	uint8_t file[FILE_BYTES];
	uint8_t *sk = NULL;
	char copy[PATH_MAX];
	const char *base;
	uint64_t ops, mem;
	int dirfd = -1, r;

	r = kdf_preset(kdf, &ops, &mem);
	if (r < 0)
		return r;
	sk = seal_secret_alloc(AUDITKEY_SK_BYTES);
	if (sk == NULL) {
		r = -ENOMEM;
		goto out;
	}
	dirfd = open_parent(path, copy, &base);
	if (dirfd < 0) {
		r = dirfd;
		goto out;
	}
	if (crypto_box_keypair(pk, sk) != 0) {
		r = -EIO;
		goto out;
	}
	r = seal_file(file, sk, pk, pass, passlen, ops, mem);
	if (r < 0)
		goto out;
	r = write_file_new(dirfd, base, file, FILE_BYTES, 0600);
out:
	if (r < 0)
		sodium_memzero(pk, AUDITKEY_PK_BYTES);
	if (dirfd >= 0)
		close(dirfd);
	seal_secret_free(sk);
	return r;
}

/* Read path (regular, not a symlink, not writable by group or others). */
static int read_key_file(const char *path, uint8_t file[FILE_BYTES + 1],
			 size_t *len)
{
	struct stat st;
	size_t got;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EBADMSG;
		goto out;
	}
	/* Someone who can rewrite the key file can swap in their own key. */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		r = -EPERM;
		goto out;
	}
	/* One byte more than a key file holds, to notice trailing bytes. */
	r = pread_full(fd, file, FILE_BYTES + 1, 0, &got);
	if (r < 0)
		goto out;
	*len = got;
out:
	close(fd);
	return r;
}

int auditkey_parse(const uint8_t *file, size_t len,
		   struct auditkey_file_info *info)
{
	uint64_t ops, mem;

	memset(info, 0, sizeof(*info));
	if (len < MAGIC_BYTES || memcmp(file, MAGIC, MAGIC_BYTES) != 0 ||
	    len < OFF_KDF)
		return -EBADMSG;
	/* Before the length: a newer format may well be longer. */
	if (le_get32(file + OFF_FORMAT) > FORMAT)
		return -EPROTONOSUPPORT;
	if (le_get32(file + OFF_FORMAT) != FORMAT || len != FILE_BYTES ||
	    le_get32(file + OFF_KDF) != KDF_ALG_ARGON2ID13)
		return -EBADMSG;
	/* Stored cost is attacker-controlled: refuse it before any KDF. */
	ops = le_get64(file + OFF_KDF + 4);
	mem = le_get64(file + OFF_KDF + 12);
	if (!kdf_params_ok(ops, mem))
		return -EBADMSG;
	info->opslimit = ops;
	info->memlimit = mem;
	memcpy(info->salt, file + OFF_KDF + 20, SALT_BYTES);
	memcpy(info->pk, file + OFF_PK, AUDITKEY_PK_BYTES);
	return 0;
}

/*
 * Read the key file at path into file, check it with auditkey_parse()
 * (its clear part into *info) and decrypt its secret key with pass into
 * sk (the caller's secret memory), checking that it belongs to the public
 * key the file shows.
 */
static int open_file(const char *path, const char *pass, size_t passlen,
		     uint8_t file[FILE_BYTES + 1], struct auditkey_file_info *info,
		     uint8_t sk[AUDITKEY_SK_BYTES])
{
	uint8_t check[AUDITKEY_PK_BYTES];
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	sodium_memzero(sk, AUDITKEY_SK_BYTES);
	memset(info, 0, sizeof(*info));
	r = read_key_file(path, file, &len);
	if (r < 0)
		return r;
	r = auditkey_parse(file, len, info);
	if (r < 0)
		return r;

	key = seal_secret_alloc(SEAL_KEY_BYTES);
	if (key == NULL)
		return -ENOMEM;
	r = kdf_derive(key, pass, passlen, info->salt, info->opslimit,
		       info->memlimit);
	if (r < 0)
		goto out;
	if (seal_decrypt(key, file, CLEAR_BYTES, file + OFF_NONCE,
			 file + OFF_CT, AUDITKEY_SK_BYTES + SEAL_TAG_BYTES,
			 sk) < 0) {
		/* As in the key store: most likely the wrong passphrase. */
		r = -EKEYREJECTED;
		goto out;
	}
	/* The clear pk is authenticated; check it belongs to sk anyway. */
	if (crypto_scalarmult_base(check, sk) != 0 ||
	    sodium_memcmp(check, file + OFF_PK, AUDITKEY_PK_BYTES) != 0) {
		sodium_memzero(sk, AUDITKEY_SK_BYTES);
		r = -EBADMSG;
		goto out;
	}
out:
	seal_secret_free(key);
	return r;
}

int auditkey_load(const char *path, const char *pass, size_t passlen,
		  uint8_t sk[AUDITKEY_SK_BYTES], uint8_t pk[AUDITKEY_PK_BYTES])
{
	struct auditkey_file_info info;
	uint8_t file[FILE_BYTES + 1];
	int r;

	sodium_memzero(pk, AUDITKEY_PK_BYTES);
	r = open_file(path, pass, passlen, file, &info, sk);
	if (r == 0)
		memcpy(pk, info.pk, AUDITKEY_PK_BYTES);
	return r;
}

int auditkey_change_passphrase(const char *path, const char *pass,
			       size_t passlen, const char *newpass,
			       size_t newpasslen, const enum keystore_kdf *kdf)
{
	struct auditkey_file_info info;
	uint8_t file[FILE_BYTES + 1];
	uint8_t *sk = NULL;
	char copy[PATH_MAX];
	const char *base;
	uint64_t ops, mem;
	int dirfd = -1, r;

	sk = seal_secret_alloc(AUDITKEY_SK_BYTES);
	if (sk == NULL)
		return -ENOMEM;
	r = open_file(path, pass, passlen, file, &info, sk);
	if (r < 0)
		goto out;
	ops = info.opslimit;
	mem = info.memlimit;
	if (kdf != NULL) {
		r = kdf_preset(*kdf, &ops, &mem);
		if (r < 0)
			goto out;
	}
	dirfd = open_parent(path, copy, &base);
	if (dirfd < 0) {
		r = dirfd;
		goto out;
	}
	/* The same key pair under a fresh salt and nonce. */
	r = seal_file(file, sk, info.pk, newpass, newpasslen, ops, mem);
	if (r < 0)
		goto out;
	/*
	 * The temp file beside it holds the re-encrypted key only; a crash
	 * leaves the old file or the new one, each complete.
	 */
	r = write_file_atomic(dirfd, base, file, FILE_BYTES, 0600);
out:
	if (dirfd >= 0)
		close(dirfd);
	seal_secret_free(sk);
	return r;
}

void auditkey_fingerprint(const uint8_t pk[AUDITKEY_PK_BYTES],
			  char out[AUDITKEY_FINGERPRINT_CHARS])
{
	sodium_bin2hex(out, AUDITKEY_FINGERPRINT_CHARS, pk,
		       (AUDITKEY_FINGERPRINT_CHARS - 1) / 2);
}
