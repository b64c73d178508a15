/*
 * keystore.c - see keystore.h; the byte format is in man/vaultfs.5.
 *
 *   clear part   magic "VAULTFSK", format u32, settings, KDF parameters
 *   slot section slot count u32 (1), passphrase slot: nonce, AEAD(master)
 *   body         nonce, length u32, AEAD(name key, KEKs, rotation record)
 *                under the master key
 *
 * Both AEADs take the whole clear part as associated data, so the settings
 * are authenticated by the passphrase slot and by the master key.
 */
#include "keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kdf.h"
#include "../vaultfs/compress.h"
#include "../vaultfs/le.h"
#include "../vaultfs/fileio.h"
#include "../vaultfs/log.h"
#include "../vaultfs/seal.h"

#define MAGIC "VAULTFSK"
#define MAGIC_BYTES 8
#define SALT_BYTES crypto_pwhash_SALTBYTES			/* 16 */
#define KDF_ALG_ARGON2ID13 2u	/* crypto_pwhash_ALG_ARGON2ID13, pinned */

/* Offsets of the clear part. */
#define OFF_FORMAT 8
#define OFF_SETTINGS 12
#define SETTINGS_BYTES (4 + 4 + KEYSTORE_VAULT_ID_BYTES + \
			KEYSTORE_AUDITOR_PK_BYTES + 8)		/* 64 */
#define OFF_KDF (OFF_SETTINGS + SETTINGS_BYTES)			/* 76 */
#define KDF_BYTES (4 + 8 + 8 + SALT_BYTES)			/* 36 */
#define CLEAR_BYTES (OFF_KDF + KDF_BYTES)			/* 112 */

/* The slot section. */
#define SLOT_CT_BYTES (SEAL_KEY_BYTES + SEAL_TAG_BYTES)		/* 48 */
#define OFF_SLOTS CLEAR_BYTES
#define OFF_SLOT (OFF_SLOTS + 4)
#define OFF_BODY (OFF_SLOT + SEAL_NONCE_BYTES + SLOT_CT_BYTES)	/* 188 */

/* The body. */
#define OFF_BODY_CT (OFF_BODY + SEAL_NONCE_BYTES + 4)		/* 216 */
#define KEK_REC_BYTES (4 + 8 + 1 + SEAL_KEY_BYTES)		/* 45 */
#define BODY_HEAD_BYTES (SEAL_KEY_BYTES + 4 + 4)		/* 40 */
/* Optional, only while a rotation is recorded: target u32, flags u32, started u64. */
#define ROT_BYTES (4 + 4 + 8)					/* 16 */
#define ROT_FLAG_REENCRYPT 1u
#define BODY_MAX_BYTES (BODY_HEAD_BYTES + KEYSTORE_MAX_KEKS * KEK_REC_BYTES + \
			ROT_BYTES)
#define FILE_MAX_BYTES (OFF_BODY_CT + BODY_MAX_BYTES + SEAL_TAG_BYTES)

/*
 * Argon2id bounds a stored store may ask for.  Anything beyond them is not
 * a store we wrote and could only make us spin or exhaust memory.
 */

#define CHUNK_MIN 4096u
#define CHUNK_MAX (1u << 20)

_Static_assert(crypto_pwhash_ALG_ARGON2ID13 == KDF_ALG_ARGON2ID13,
	       "libsodium changed its Argon2id constant");
_Static_assert(SALT_BYTES == 16, "salt size is part of the format");
_Static_assert(KEYSTORE_WRAPPED_BYTES == 72, "wrapped DEK size");
_Static_assert(FILE_MAX_BYTES < 4096, "key store fits a page");

/* Everything secret, in one sodium_malloc block. */
struct ks_secret {
	uint8_t master[SEAL_KEY_BYTES];
	uint8_t name_key[SEAL_KEY_BYTES];
	uint8_t kek[KEYSTORE_MAX_KEKS][SEAL_KEY_BYTES];
};

struct keystore {
	struct vault_settings settings;
	/* KDF parameters and the passphrase slot as stored (not secret). */
	uint64_t opslimit, memlimit;
	uint8_t salt[SALT_BYTES];
	uint8_t slot_nonce[SEAL_NONCE_BYTES];
	uint8_t slot_ct[SLOT_CT_BYTES];
	uint32_t active;		/* version of the active KEK */
	size_t nkeks;
	struct keystore_kek_info kek[KEYSTORE_MAX_KEKS];	/* kek[i] <-> sec->kek[i] */
	struct keystore_rotation rot;
	struct ks_secret *sec;
};

/* ---- little-endian helpers ---- */

/* ---- checks shared by create and open ---- */

static bool chunk_size_ok(uint32_t c)
{
	return c >= CHUNK_MIN && c <= CHUNK_MAX && (c & (c - 1)) == 0;
}

static bool level_ok(int level)
{
	return level >= 0 && level <= COMPRESS_LEVEL_MAX;
}

static int open_dir(const char *vault_dir)
{
	int fd = open(vault_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* ---- allocation ---- */

static struct keystore *ks_alloc(void)
{
	struct keystore *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	ks->sec = seal_secret_alloc(sizeof(*ks->sec));
	if (ks->sec == NULL) {
		free(ks);
		return NULL;
	}
	sodium_memzero(ks->sec, sizeof(*ks->sec));
	return ks;
}

void keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	/* sodium_free() wipes, but needs the region writable. */
	if (ks->sec != NULL)
		sodium_mprotect_readwrite(ks->sec);
	seal_secret_free(ks->sec);
	sodium_memzero(ks, sizeof(*ks));
	free(ks);
}

/* ---- serialisation ---- */

static void build_clear(const struct keystore *ks, uint8_t out[CLEAR_BYTES])
{
	const struct vault_settings *s = &ks->settings;
	uint8_t *p = out;

	memcpy(p, MAGIC, MAGIC_BYTES);
	le_put32(p + OFF_FORMAT, s->format);
	p += OFF_SETTINGS;
	le_put32(p, s->chunk_size);
	le_put32(p + 4, (uint32_t)s->compress_level);
	memcpy(p + 8, s->vault_id, KEYSTORE_VAULT_ID_BYTES);
	memcpy(p + 8 + KEYSTORE_VAULT_ID_BYTES, s->auditor_pk,
	       KEYSTORE_AUDITOR_PK_BYTES);
	le_put64(p + 8 + KEYSTORE_VAULT_ID_BYTES + KEYSTORE_AUDITOR_PK_BYTES,
	      s->created);
	p = out + OFF_KDF;
	le_put32(p, KDF_ALG_ARGON2ID13);
	le_put64(p + 4, ks->opslimit);
	le_put64(p + 12, ks->memlimit);
	memcpy(p + 20, ks->salt, SALT_BYTES);
}

/*
 * (Re)wrap the master key under pass with fresh KDF parameters and salt.
 * The clear part changes with them, so the body must be re-sealed too:
 * callers follow this with store_write().  This is what passwd will use.
 */
static int set_passphrase(struct keystore *ks, const char *pass,
			  size_t passlen, uint64_t ops, uint64_t mem)
{
	uint8_t clear[CLEAR_BYTES];
	uint8_t *key;
	int r;

	key = seal_secret_alloc(SEAL_KEY_BYTES);
	if (key == NULL)
		return -ENOMEM;
	ks->opslimit = ops;
	ks->memlimit = mem;
	seal_random(ks->salt, SALT_BYTES);
	r = kdf_derive(key, pass, passlen, ks->salt, ops, mem);
	if (r < 0)
		goto out;
	build_clear(ks, clear);
	seal_encrypt(key, clear, CLEAR_BYTES, ks->sec->master, SEAL_KEY_BYTES,
		     ks->slot_nonce, ks->slot_ct);
out:
	seal_secret_free(key);
	return r;
}

/*
 * Serialise the whole store into file (FILE_MAX_BYTES), sealing the body
 * under a fresh nonce.  The body plaintext holds every key, so it is built
 * in secret memory.
 */
static int serialise(const struct keystore *ks, uint8_t *file, size_t *len)
{
	size_t plen = BODY_HEAD_BYTES + ks->nkeks * KEK_REC_BYTES +
		      (ks->rot.unfinished ? ROT_BYTES : 0);
	uint8_t *body, *p;

	if (ks->nkeks == 0 || ks->nkeks > KEYSTORE_MAX_KEKS)
		vault_misuse("keystore: KEK count out of range");
	body = seal_secret_alloc(BODY_MAX_BYTES);
	if (body == NULL)
		return -ENOMEM;
	p = body;
	memcpy(p, ks->sec->name_key, SEAL_KEY_BYTES);
	le_put32(p + SEAL_KEY_BYTES, ks->active);
	le_put32(p + SEAL_KEY_BYTES + 4, (uint32_t)ks->nkeks);
	p += BODY_HEAD_BYTES;
	for (size_t i = 0; i < ks->nkeks; i++, p += KEK_REC_BYTES) {
		const struct keystore_kek_info *k = &ks->kek[i];

		le_put32(p, k->version);
		le_put64(p + 4, k->created);
		p[12] = (uint8_t)k->state;
		if (k->state == KEYSTORE_KEK_DESTROYED)
			memset(p + 13, 0, SEAL_KEY_BYTES);
		else
			memcpy(p + 13, ks->sec->kek[i], SEAL_KEY_BYTES);
	}
	if (ks->rot.unfinished) {
		le_put32(p, ks->rot.target);
		le_put32(p + 4, ks->rot.reencrypt ? ROT_FLAG_REENCRYPT : 0);
		le_put64(p + 8, ks->rot.started);
	}

	build_clear(ks, file);
	le_put32(file + OFF_SLOTS, 1);
	memcpy(file + OFF_SLOT, ks->slot_nonce, SEAL_NONCE_BYTES);
	memcpy(file + OFF_SLOT + SEAL_NONCE_BYTES, ks->slot_ct, SLOT_CT_BYTES);
	le_put32(file + OFF_BODY + SEAL_NONCE_BYTES,
	      (uint32_t)(plen + SEAL_TAG_BYTES));
	seal_encrypt(ks->sec->master, file, CLEAR_BYTES, body, plen,
		     file + OFF_BODY, file + OFF_BODY_CT);
	*len = OFF_BODY_CT + plen + SEAL_TAG_BYTES;
	seal_secret_free(body);
	return 0;
}

/*
 * Write the store to dirfd/KEYSTORE_FILE: a new file (create), or an
 * atomic replacement (passwd and rotate, issue #4).
 */
static int store_write(const struct keystore *ks, int dirfd, bool replace)
{
	uint8_t file[FILE_MAX_BYTES];
	size_t len;
	int r;

	r = serialise(ks, file, &len);
	if (r < 0)
		return r;
	if (replace)
		r = write_file_atomic(dirfd, KEYSTORE_FILE, file, len, 0600);
	else
		r = write_file_new(dirfd, KEYSTORE_FILE, file, len, 0600);
	sodium_memzero(file, sizeof(file));
	return r;
}

/* ---- create ---- */

int keystore_create(const char *vault_dir, const char *pass, size_t passlen,
		    enum keystore_kdf kdf, const struct vault_settings *s,
		    struct keystore **out)
{
	struct keystore *ks = NULL;
	uint64_t ops, mem;
	int dirfd = -1, r;

	*out = NULL;
	if (!chunk_size_ok(s->chunk_size) || !level_ok(s->compress_level))
		return -EINVAL;
	r = kdf_preset(kdf, &ops, &mem);
	if (r < 0)
		return r;
	dirfd = open_dir(vault_dir);
	if (dirfd < 0)
		return dirfd;
	ks = ks_alloc();
	if (ks == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	ks->settings = *s;
	ks->settings.format = KEYSTORE_FORMAT;
	ks->settings.created = (uint64_t)time(NULL);
	seal_random(ks->settings.vault_id, KEYSTORE_VAULT_ID_BYTES);

	seal_random(ks->sec->master, SEAL_KEY_BYTES);
	seal_random(ks->sec->name_key, SEAL_KEY_BYTES);
	seal_random(ks->sec->kek[0], SEAL_KEY_BYTES);
	ks->nkeks = 1;
	ks->active = 1;
	ks->kek[0].version = 1;
	ks->kek[0].created = ks->settings.created;
	ks->kek[0].state = KEYSTORE_KEK_ACTIVE;

	r = set_passphrase(ks, pass, passlen, ops, mem);
	if (r < 0)
		goto fail;
	r = store_write(ks, dirfd, false);
	if (r < 0)
		goto fail;
	close(dirfd);
	sodium_mprotect_readonly(ks->sec);
	*out = ks;
	return 0;

fail:
	keystore_free(ks);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* ---- open ---- */

/* Read VAULT/vault.keys into file; -EBADMSG if it cannot be one. */
static int read_store(const char *vault_dir, uint8_t file[FILE_MAX_BYTES],
		      size_t *len)
{
	int dirfd, r;

	dirfd = open_dir(vault_dir);
	if (dirfd < 0)
		return dirfd;
	r = read_file_small(dirfd, KEYSTORE_FILE, file, FILE_MAX_BYTES, len);
	close(dirfd);
	/* Too big, a symlink, a directory: not a key store we wrote. */
	if (r == -EFBIG || r == -EINVAL)
		return -EBADMSG;
	return r;
}

/* Magic and format: the checks that must come before anything else. */
static int check_head(const uint8_t *file, size_t len, uint32_t *format)
{
	if (len < MAGIC_BYTES || memcmp(file, MAGIC, MAGIC_BYTES) != 0)
		return -EBADMSG;
	if (len < OFF_FORMAT + 4)
		return -EBADMSG;
	*format = le_get32(file + OFF_FORMAT);
	if (*format > KEYSTORE_FORMAT)
		return -EPROTONOSUPPORT;
	if (*format == 0)
		return -EBADMSG;
	return 0;
}

int keystore_peek_format(const char *vault_dir, uint32_t *format)
{
	uint8_t file[FILE_MAX_BYTES];
	size_t len;
	int r;

	*format = 0;
	r = read_store(vault_dir, file, &len);
	if (r < 0)
		return r;
	r = check_head(file, len, format);
	/* A newer format is exactly what the caller wants to know about. */
	return r == -EPROTONOSUPPORT ? 0 : r;
}

/*
 * Parse and check everything in the clear (before any KDF work, so a
 * damaged or hostile file costs nothing).  Fills ks's settings, KDF
 * parameters and slot; returns the body ciphertext length in *ctlen.
 */
static int parse_clear(struct keystore *ks, const uint8_t *file, size_t len,
		       size_t *ctlen)
{
	struct vault_settings *s = &ks->settings;
	const uint8_t *p;
	uint32_t format, blen;
	int r;

	r = check_head(file, len, &format);
	if (r < 0)
		return r;
	if (len < OFF_BODY_CT)
		return -EBADMSG;
	s->format = format;
	p = file + OFF_SETTINGS;
	s->chunk_size = le_get32(p);
	s->compress_level = (int)le_get32(p + 4);
	memcpy(s->vault_id, p + 8, KEYSTORE_VAULT_ID_BYTES);
	memcpy(s->auditor_pk, p + 8 + KEYSTORE_VAULT_ID_BYTES,
	       KEYSTORE_AUDITOR_PK_BYTES);
	s->created = le_get64(p + 8 + KEYSTORE_VAULT_ID_BYTES +
			   KEYSTORE_AUDITOR_PK_BYTES);
	if (!chunk_size_ok(s->chunk_size) || !level_ok(s->compress_level))
		return -EBADMSG;

	p = file + OFF_KDF;
	if (le_get32(p) != KDF_ALG_ARGON2ID13)
		return -EBADMSG;
	ks->opslimit = le_get64(p + 4);
	ks->memlimit = le_get64(p + 12);
	memcpy(ks->salt, p + 20, SALT_BYTES);
	if (!kdf_params_ok(ks->opslimit, ks->memlimit))
		return -EBADMSG;

	if (le_get32(file + OFF_SLOTS) != 1)
		return -EBADMSG;
	memcpy(ks->slot_nonce, file + OFF_SLOT, SEAL_NONCE_BYTES);
	memcpy(ks->slot_ct, file + OFF_SLOT + SEAL_NONCE_BYTES, SLOT_CT_BYTES);

	blen = le_get32(file + OFF_BODY + SEAL_NONCE_BYTES);
	if (blen < BODY_HEAD_BYTES + KEK_REC_BYTES + SEAL_TAG_BYTES ||
	    blen > BODY_MAX_BYTES + SEAL_TAG_BYTES ||
	    len != OFF_BODY_CT + (size_t)blen)
		return -EBADMSG;
	*ctlen = blen;
	return 0;
}

/* Parse the decrypted body (plen bytes) into ks; -EBADMSG if invalid. */
static int parse_body(struct keystore *ks, const uint8_t *body, size_t plen)
{
	const uint8_t *p;
	uint32_t count;
	size_t nactive = 0, keks_end;

	memcpy(ks->sec->name_key, body, SEAL_KEY_BYTES);
	ks->active = le_get32(body + SEAL_KEY_BYTES);
	count = le_get32(body + SEAL_KEY_BYTES + 4);
	if (count == 0 || count > KEYSTORE_MAX_KEKS)
		return -EBADMSG;
	/* The rotation record follows the KEKs, or the body ends there. */
	keks_end = BODY_HEAD_BYTES + (size_t)count * KEK_REC_BYTES;
	if (plen != keks_end && plen != keks_end + ROT_BYTES)
		return -EBADMSG;
	p = body + BODY_HEAD_BYTES;
	for (size_t i = 0; i < count; i++, p += KEK_REC_BYTES) {
		struct keystore_kek_info *k = &ks->kek[i];
		uint8_t state = p[12];

		k->version = le_get32(p);
		k->created = le_get64(p + 4);
		if (k->version == 0)
			return -EBADMSG;
		for (size_t j = 0; j < i; j++)
			if (ks->kek[j].version == k->version)
				return -EBADMSG;
		switch (state) {
		case KEYSTORE_KEK_ACTIVE:
			if (k->version != ks->active)
				return -EBADMSG;
			nactive++;
			/* fall through */
		case KEYSTORE_KEK_RETIRING:
			memcpy(ks->sec->kek[i], p + 13, SEAL_KEY_BYTES);
			break;
		case KEYSTORE_KEK_DESTROYED:
			/* A destroyed key that is still there was not destroyed. */
			if (!sodium_is_zero(p + 13, SEAL_KEY_BYTES))
				return -EBADMSG;
			break;
		default:
			return -EBADMSG;
		}
		k->state = (enum keystore_kek_state)state;
	}
	if (nactive != 1)
		return -EBADMSG;
	memset(&ks->rot, 0, sizeof(ks->rot));
	if (plen == keks_end + ROT_BYTES) {
		uint32_t flags = le_get32(p + 4);

		/* A rotation always moves documents to the active KEK. */
		if (le_get32(p) != ks->active || (flags & ~ROT_FLAG_REENCRYPT))
			return -EBADMSG;
		ks->rot.unfinished = true;
		ks->rot.target = ks->active;
		ks->rot.reencrypt = flags & ROT_FLAG_REENCRYPT;
		ks->rot.started = le_get64(p + 8);
	}
	ks->nkeks = count;
	return 0;
}

int keystore_open(const char *vault_dir, const char *pass, size_t passlen,
		  struct keystore **out)
{
	uint8_t file[FILE_MAX_BYTES];
	struct keystore *ks = NULL;
	uint8_t *key = NULL, *body = NULL;
	size_t len = 0, ctlen;
	int r;

	*out = NULL;
	r = read_store(vault_dir, file, &len);
	if (r < 0)
		goto out;
	ks = ks_alloc();
	key = seal_secret_alloc(SEAL_KEY_BYTES);
	body = seal_secret_alloc(BODY_MAX_BYTES);
	if (ks == NULL || key == NULL || body == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = parse_clear(ks, file, len, &ctlen);
	if (r < 0)
		goto out;

	r = kdf_derive(key, pass, passlen, ks->salt, ks->opslimit,
		       ks->memlimit);
	if (r < 0)
		goto out;
	/*
	 * A wrong passphrase and a damaged slot or clear part look the same
	 * here; a wrong passphrase is by far the likelier.
	 */
	if (seal_decrypt(key, file, CLEAR_BYTES, ks->slot_nonce, ks->slot_ct,
			 SLOT_CT_BYTES, ks->sec->master) < 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	/* The master key opened: from here on, any failure is damage. */
	r = seal_decrypt(ks->sec->master, file, CLEAR_BYTES, file + OFF_BODY,
			 file + OFF_BODY_CT, ctlen, body);
	if (r < 0)
		goto out;
	r = parse_body(ks, body, ctlen - SEAL_TAG_BYTES);
	if (r < 0)
		goto out;
	sodium_mprotect_readonly(ks->sec);
	*out = ks;
	ks = NULL;
out:
	seal_secret_free(body);
	seal_secret_free(key);
	keystore_free(ks);
	sodium_memzero(file, sizeof(file));
	return r;
}

/* ---- accessors and DEK wrapping ---- */

const struct vault_settings *keystore_settings(const struct keystore *ks)
{
	return &ks->settings;
}

const uint8_t *keystore_name_key(const struct keystore *ks)
{
	return ks->sec->name_key;
}

void keystore_keks(const struct keystore *ks, struct keystore_kek_info *out,
		   size_t max, size_t *n)
{
	size_t i;

	for (i = 0; i < ks->nkeks && i < max; i++)
		out[i] = ks->kek[i];
	*n = i;
}

/* Index of a usable KEK version, or -ENOKEY. */
static int find_kek(const struct keystore *ks, uint32_t version)
{
	for (size_t i = 0; i < ks->nkeks; i++) {
		if (ks->kek[i].version != version)
			continue;
		if (ks->kek[i].state == KEYSTORE_KEK_DESTROYED)
			return -ENOKEY;
		return (int)i;
	}
	return -ENOKEY;
}

/* AD of a wrapped DEK: the document id and the KEK version. */
static void dek_ad(uint8_t ad[20], const uint8_t doc_id[16], uint32_t version)
{
	memcpy(ad, doc_id, 16);
	le_put32(ad + 16, version);
}

int keystore_wrap_dek(const struct keystore *ks, const uint8_t doc_id[16],
		      const uint8_t dek[SEAL_KEY_BYTES], uint32_t *kek_version,
		      uint8_t wrapped[KEYSTORE_WRAPPED_BYTES])
{
	uint8_t ad[20];
	int i;

	i = find_kek(ks, ks->active);
	if (i < 0)
		vault_misuse("keystore_wrap_dek: no active KEK");
	dek_ad(ad, doc_id, ks->active);
	seal_encrypt(ks->sec->kek[i], ad, sizeof(ad), dek, SEAL_KEY_BYTES,
		     wrapped, wrapped + SEAL_NONCE_BYTES);
	*kek_version = ks->active;
	return 0;
}

int keystore_unwrap_dek(const struct keystore *ks, const uint8_t doc_id[16],
			uint32_t kek_version,
			const uint8_t wrapped[KEYSTORE_WRAPPED_BYTES],
			uint8_t dek[SEAL_KEY_BYTES])
{
	uint8_t ad[20];
	int i;

	i = find_kek(ks, kek_version);
	if (i < 0) {
		sodium_memzero(dek, SEAL_KEY_BYTES);
		return i;
	}
	dek_ad(ad, doc_id, kek_version);
	/* seal_decrypt zeroes dek when the tag does not verify. */
	return seal_decrypt(ks->sec->kek[i], ad, sizeof(ad),
			    wrapped, wrapped + SEAL_NONCE_BYTES,
			    SEAL_KEY_BYTES + SEAL_TAG_BYTES, dek);
}

void keystore_kdf_params(const struct keystore *ks, uint64_t *opslimit,
			 uint64_t *memlimit)
{
	*opslimit = ks->opslimit;
	*memlimit = ks->memlimit;
}

/* ---- changing the store (passwd, rotate) ---- */

int keystore_lock(const char *vault_dir, int *lock_fd)
{
	int fd = open_dir(vault_dir);

	*lock_fd = -1;
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return r;
	}
	*lock_fd = fd;
	return 0;
}

/*
 * A writable copy of ks, secrets included, to change and write out; on
 * success adopt() moves it into ks, on failure keystore_free() drops it.
 * This is what keeps ks unchanged when writing the file fails.
 */
static struct keystore *ks_clone(const struct keystore *ks)
{
	struct keystore *c = ks_alloc();
	struct ks_secret *sec;

	if (c == NULL)
		return NULL;
	sec = c->sec;
	*c = *ks;
	c->sec = sec;
	memcpy(c->sec, ks->sec, sizeof(*c->sec));
	return c;
}

static void adopt(struct keystore *ks, struct keystore *c)
{
	sodium_mprotect_readwrite(ks->sec);
	seal_secret_free(ks->sec);
	*ks = *c;
	sodium_mprotect_readonly(ks->sec);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* Write c as the new store in vault_dir and, if that worked, adopt it. */
static int replace_store(struct keystore *ks, struct keystore *c,
			 const char *vault_dir)
{
	int dirfd = open_dir(vault_dir), r;

	if (dirfd < 0) {
		keystore_free(c);
		return dirfd;
	}
	r = store_write(c, dirfd, true);
	close(dirfd);
	if (r < 0) {
		keystore_free(c);
		return r;
	}
	adopt(ks, c);
	return 0;
}

int keystore_change_passphrase(struct keystore *ks, const char *vault_dir,
			       const char *pass, size_t passlen,
			       const enum keystore_kdf *kdf)
{
	struct keystore *c;
	uint64_t ops = ks->opslimit, mem = ks->memlimit;
	int r;

	if (kdf != NULL) {
		r = kdf_preset(*kdf, &ops, &mem);
		if (r < 0)
			return r;
	}
	c = ks_clone(ks);
	if (c == NULL)
		return -ENOMEM;
	/*
	 * A new master key, not just a new wrapping of the old one: whoever
	 * opens an old copy of the store with the old passphrase gets the
	 * old master key, which then opens no later store.
	 */
	seal_random(c->sec->master, SEAL_KEY_BYTES);
	r = set_passphrase(c, pass, passlen, ops, mem);
	if (r < 0) {
		keystore_free(c);
		return r;
	}
	return replace_store(ks, c, vault_dir);
}

int keystore_set_auditor_pk(struct keystore *ks, const char *vault_dir,
			    const char *pass, size_t passlen,
			    const uint8_t pk[KEYSTORE_AUDITOR_PK_BYTES])
{
	uint8_t clear[CLEAR_BYTES];
	struct keystore *c = NULL;
	uint8_t *key, *master;
	int r;

	if (sodium_is_zero(pk, KEYSTORE_AUDITOR_PK_BYTES))
		return -EINVAL;
	key = seal_secret_alloc(SEAL_KEY_BYTES);
	master = seal_secret_alloc(SEAL_KEY_BYTES);
	if (key == NULL || master == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = kdf_derive(key, pass, passlen, ks->salt, ks->opslimit,
		       ks->memlimit);
	if (r < 0)
		goto out;
	/*
	 * Sealing the slot again under whatever pass derives would make pass
	 * the vault passphrase: check first that it is the current one.
	 */
	build_clear(ks, clear);
	if (seal_decrypt(key, clear, CLEAR_BYTES, ks->slot_nonce, ks->slot_ct,
			 SLOT_CT_BYTES, master) < 0 ||
	    sodium_memcmp(master, ks->sec->master, SEAL_KEY_BYTES) != 0) {
		r = -EKEYREJECTED;
		goto out;
	}
	c = ks_clone(ks);
	if (c == NULL) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(c->settings.auditor_pk, pk, KEYSTORE_AUDITOR_PK_BYTES);
	build_clear(c, clear);
	seal_encrypt(key, clear, CLEAR_BYTES, c->sec->master, SEAL_KEY_BYTES,
		     c->slot_nonce, c->slot_ct);
	r = replace_store(ks, c, vault_dir);	/* frees c on failure */
out:
	seal_secret_free(master);
	seal_secret_free(key);
	return r;
}

void keystore_rotation(const struct keystore *ks, struct keystore_rotation *r)
{
	*r = ks->rot;
}

/* Remove record i (both halves), keeping the order of the others. */
static void drop_kek(struct keystore *c, size_t i)
{
	for (size_t j = i; j + 1 < c->nkeks; j++) {
		c->kek[j] = c->kek[j + 1];
		memcpy(c->sec->kek[j], c->sec->kek[j + 1], SEAL_KEY_BYTES);
	}
	c->nkeks--;
	sodium_memzero(c->sec->kek[c->nkeks], SEAL_KEY_BYTES);
	memset(&c->kek[c->nkeks], 0, sizeof(c->kek[0]));
}

int keystore_rotation_begin(struct keystore *ks, const char *vault_dir,
			    bool reencrypt)
{
	struct keystore *c;
	uint32_t top = 0;
	size_t n;

	for (size_t i = 0; i < ks->nkeks; i++)
		if (ks->kek[i].version > top)
			top = ks->kek[i].version;
	if (top == UINT32_MAX)
		return -EOVERFLOW;
	c = ks_clone(ks);
	if (c == NULL)
		return -ENOMEM;
	while (c->nkeks == KEYSTORE_MAX_KEKS) {
		size_t oldest = c->nkeks;

		for (size_t i = 0; i < c->nkeks; i++)
			if (c->kek[i].state == KEYSTORE_KEK_DESTROYED &&
			    (oldest == c->nkeks ||
			     c->kek[i].version < c->kek[oldest].version))
				oldest = i;
		if (oldest == c->nkeks) {
			keystore_free(c);
			return -ENOSPC;
		}
		drop_kek(c, oldest);
	}
	for (size_t i = 0; i < c->nkeks; i++)
		if (c->kek[i].state == KEYSTORE_KEK_ACTIVE)
			c->kek[i].state = KEYSTORE_KEK_RETIRING;
	n = c->nkeks++;
	seal_random(c->sec->kek[n], SEAL_KEY_BYTES);
	c->kek[n].version = top + 1;
	c->kek[n].created = (uint64_t)time(NULL);
	c->kek[n].state = KEYSTORE_KEK_ACTIVE;
	c->active = top + 1;
	c->rot.unfinished = true;
	c->rot.reencrypt = reencrypt;
	c->rot.target = top + 1;
	c->rot.started = c->kek[n].created;
	return replace_store(ks, c, vault_dir);
}

int keystore_rotation_finish(struct keystore *ks, const char *vault_dir,
			     const uint32_t *in_use, size_t n, bool *finished)
{
	struct keystore *c;
	bool changed = false, left = false;

	c = ks_clone(ks);
	if (c == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->nkeks; i++) {
		bool used = false;

		if (c->kek[i].state != KEYSTORE_KEK_RETIRING)
			continue;
		for (size_t j = 0; j < n && !used; j++)
			used = in_use[j] == c->kek[i].version;
		if (used) {
			left = true;
			continue;
		}
		c->kek[i].state = KEYSTORE_KEK_DESTROYED;
		sodium_memzero(c->sec->kek[i], SEAL_KEY_BYTES);
		changed = true;
	}
	if (!left && c->rot.unfinished) {
		memset(&c->rot, 0, sizeof(c->rot));
		changed = true;
	}
	*finished = !left;
	if (!changed) {
		keystore_free(c);
		return 0;
	}
	return replace_store(ks, c, vault_dir);
}
