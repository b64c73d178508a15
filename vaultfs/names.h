/*
 * names.h - encrypted file names and symlink targets.
 *
 * Names are encrypted per directory, deterministically (so a lookup can
 * compute the backing name) and authenticated, with a synthetic-IV
 * construction built from libsodium primitives (seal.h):
 *
 *   P   = name || 0x80 || 0x00... padded to a multiple of 16 bytes
 *   IV  = BLAKE2b-192 keyed with Kmac over (dir id || P)
 *   C   = XChaCha20(Kenc, nonce = IV) xor P
 *   enc = base64url, no padding (IV || C)
 *
 * Kmac and Kenc are derived from the key store's name key.  Equal names in
 * the same directory encrypt equally (needed for lookup); across
 * directories they differ.  Padding hides the length to 16 bytes.
 *
 * An encrypted name longer than NAMES_SHORT_MAX characters is stored as
 * the entry "@" + base64url(BLAKE2b-256(enc)) with the full enc in a side
 * file named that entry + ".name" in the same directory.
 *
 * Symlink targets: XChaCha20-Poly1305 under a derived key with a random
 * nonce, base64url(nonce || ciphertext); AD is the fixed string
 * "vaultfs-symlink".
 *
 * A struct names_key is immutable after names_key_new() and thread-safe.
 */
#ifndef VAULTFS_NAMES_H
#define VAULTFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seal.h"

#define NAMES_DIRID_BYTES 16
#define NAMES_DIRID_FILE "vaultfs.dirid"	/* in every backing directory */
#define NAMES_LONG_SUFFIX ".name"
#define NAMES_PLAIN_MAX 255	/* longest plaintext name */
#define NAMES_SHORT_MAX 176	/* longest encrypted name kept as the entry */
#define NAMES_ENC_MAX 400	/* buffer for a full encrypted name + NUL */
#define NAMES_BACKING_MAX 256	/* buffer for a backing entry name + NUL */
#define NAMES_LINK_MAX 4096	/* longest plaintext symlink target */
#define NAMES_LINK_ENC_MAX 5600	/* buffer for an encrypted target + NUL */
/*
 * An encrypted target must fit Linux's symlink limit (PATH_MAX - 1 = 4095
 * bytes): base64url(24-byte nonce || len + 16) <= 4095 chars gives
 * len <= 3031.  names_link_encrypt() refuses longer targets with
 * -ENAMETOOLONG; names_link_decrypt() still accepts up to NAMES_LINK_MAX.
 */
#define NAMES_LINK_ENC_LIMIT 4095
#define NAMES_LINK_TARGET_MAX 3031	/* longest target we encrypt */
/* backing_mkdir()'s temporary directories: ".vaultfs-tmp-<hex>" (reserved) */
#define NAMES_TMP_PREFIX ".vaultfs-tmp"

struct names_key;

/* Derive the subkeys from the 32-byte name key.  NULL when out of memory. */
struct names_key *names_key_new(const uint8_t key[SEAL_KEY_BYTES])
	__attribute__((nonnull));
void names_key_free(struct names_key *k);

enum names_kind {
	NAMES_ENTRY,		/* an encrypted name */
	NAMES_LONG,		/* "@hash": the encrypted name is in a side file */
	NAMES_LONG_SIDE,	/* "@hash.name": a side file */
	NAMES_RESERVED,		/* dir id file, temp files: never shown */
	NAMES_FOREIGN,		/* anything else: not ours, reported by fsck */
};

/*
 * Classify a backing directory entry name (not ".", "..").  RESERVED:
 * NAMES_DIRID_FILE, names starting with NAMES_TMP_PREFIX, and names ending
 * in ".tmp.<suffix>" (write_file_atomic() temp files; suffix without '.').
 * LONG: "@" + 43 base64url chars; LONG_SIDE: that + NAMES_LONG_SUFFIX.
 * ENTRY: only base64url chars, as many as encode IV || k 16-byte blocks,
 * at most NAMES_SHORT_MAX.  Anything else is FOREIGN.
 */
enum names_kind names_classify(const char *backing)
	__attribute__((nonnull));

/*
 * Encrypt plaintext name (1..NAMES_PLAIN_MAX bytes, no '/', not "." or
 * "..") for directory dirid.  Writes the full encrypted name to enc and the
 * backing entry name to backing; *is_long tells whether backing is an "@"
 * entry whose side file must hold enc.  -ENAMETOOLONG, -EINVAL.
 */
int names_encrypt(const struct names_key *k,
		  const uint8_t dirid[NAMES_DIRID_BYTES],
		  const char *name, size_t namelen,
		  char enc[NAMES_ENC_MAX], char backing[NAMES_BACKING_MAX],
		  bool *is_long)
	__attribute__((nonnull, warn_unused_result));

/*
 * Decrypt an encrypted name (an NAMES_ENTRY backing name, or the content of
 * a side file) into name (NUL-terminated), *namelen its length.  -EBADMSG
 * if it does not authenticate or decodes to an invalid name ("", ".",
 * "..", containing '/' or NUL).
 */
int names_decrypt(const struct names_key *k,
		  const uint8_t dirid[NAMES_DIRID_BYTES],
		  const char *enc, size_t enclen,
		  char name[NAMES_PLAIN_MAX + 1], size_t *namelen)
	__attribute__((nonnull, warn_unused_result));

/*
 * true if side-file content enc (enclen bytes) belongs to the "@" entry
 * backing (the hash matches).  Always check before names_decrypt() so a
 * side file cannot be moved to another entry.
 */
bool names_long_matches(const char *backing, const char *enc, size_t enclen)
	__attribute__((nonnull));

/*
 * Encrypt a symlink target (1..NAMES_LINK_TARGET_MAX bytes, no NUL) into
 * enc (NUL-terminated, at most NAMES_LINK_ENC_LIMIT chars).
 * -ENAMETOOLONG if longer, -EINVAL if empty or containing NUL.
 */
int names_link_encrypt(const struct names_key *k, const char *target,
		       size_t len, char enc[NAMES_LINK_ENC_MAX])
	__attribute__((nonnull, warn_unused_result));

/* Decrypt; -EBADMSG on failure. target gets NUL-terminated. */
int names_link_decrypt(const struct names_key *k, const char *enc,
		       size_t enclen, char target[NAMES_LINK_MAX + 1],
		       size_t *len)
	__attribute__((nonnull, warn_unused_result));

#endif
