/*
 * rotate.h - key rotation: move every document of a vault to a new KEK
 * version (rewrap) or to new data keys (re-encrypt), then destroy the old
 * KEKs; and the census of which KEK each document uses (vaultctl keys).
 *
 * A rotation is recorded in the key store (keystore_rotation_begin()) before
 * any document is touched, and cleared only when no document references an
 * old KEK any more (keystore_rotation_finish()), so an interrupted rotation
 * is resumed by running rotate_run() again; documents already on the new
 * KEK are skipped.  At every moment each document opens with the key store
 * on disk: an old KEK stays (RETIRING) until a census of all headers, made
 * after everything was synced, finds it unused.
 *
 * Rewrap touches only headers (doc_rewrap()).  Re-encryption copies a
 * document into a fresh one (new id and DEK) in an anonymous temporary file
 * in the same backing directory (or, where O_TMPFILE is not supported, a
 * named one: ROTATE_TMP_PREFIX...), syncs it, gives it the original's mode,
 * owner and times, and renames it over the original; a document with more
 * than one hard link is re-encrypted in place instead (doc_reencrypt()),
 * which keeps its inode and so every link.  A named temporary file left by
 * a crash is removed by the next run.
 *
 * The caller holds the vault's mount lock (backing_lock(): nothing else
 * uses the vault) and the key store lock (keystore_lock()).  Single-
 * threaded; memory is bounded (a chunk or two, plus a set of hard-linked
 * inodes seen).
 *
 * Test hook (not secret, for tests only): if the environment variable
 * VAULTFS_TEST_ROTATE_ABORT_AFTER is a number N > 0, rotate_run() calls
 * _exit(137) right after the Nth document it rewrapped or re-encrypted,
 * as a kill -9 would end it (the crash tests use it).
 */
#ifndef VAULTFS_ROTATE_H
#define VAULTFS_ROTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "keystore.h"
#include "../vaultfs/names.h"

/* Prefix of the named temporary files of --reencrypt (names.h reserves it). */
#define ROTATE_TMP_PREFIX NAMES_TMP_PREFIX "-rot-"
#define ROTATE_ABORT_ENV "VAULTFS_TEST_ROTATE_ABORT_AFTER"

/* How many documents use each KEK version (vaultctl keys, rotate). */
struct rotate_count {
	uint32_t version;
	uint64_t docs;		/* documents whose header (the slot a reader
				 * tries first) names this version */
	uint64_t refs;		/* documents with either header slot naming it */
};

struct rotate_census {
	struct rotate_count kek[KEYSTORE_MAX_KEKS];	/* as keystore_keks() */
	size_t nkeks;
	uint64_t docs;		/* documents (hard links counted once) */
	uint64_t other;		/* documents naming a version not in the store */
	uint64_t unreadable;	/* documents whose header does not parse */
	uint64_t hidden;	/* directories or entries that could not be
				 * read: documents there were not counted */
};

/*
 * Count, for every KEK in ks, the documents under data_fd (VAULT/data)
 * that use it.  Reads only the clear part of each header (no key is
 * needed beyond the list of versions; nothing is authenticated).
 * 0, or -ENOMEM.
 */
int rotate_census(int data_fd, const struct keystore *ks,
		  struct rotate_census *c)
	__attribute__((nonnull, warn_unused_result));

struct rotate_progress {
	uint64_t docs_done, docs_total;		/* documents to move */
	uint64_t bytes_done, bytes_total;	/* their plaintext bytes */
};

struct rotate_ops {
	/*
	 * Called after every document and every chunk re-encrypted (often:
	 * the callee decides when to draw).  May be NULL.
	 */
	void (*progress)(const struct rotate_progress *p, void *arg);
	/*
	 * A document that could not be moved (it keeps its old KEK, which
	 * therefore stays), or a part of the tree that could not be read.
	 * path is the plaintext path in the vault ('?' for a name that
	 * failed), bpath the backing path, what says why.  err is the
	 * negative errno (-EBADMSG: failed authentication).
	 */
	void (*failed)(const char *path, const char *bpath, const char *what,
		       int err, void *arg);
	/* A problem that does not stop the rotation.  May be NULL. */
	void (*warning)(const char *path, const char *bpath, const char *what,
			void *arg);
	void *arg;
};

struct rotate_result {
	uint32_t target;		/* the active KEK now */
	bool resumed;			/* an unfinished rotation was continued */
	bool reencrypt;			/* documents got new DEKs */
	bool finished;			/* no RETIRING KEK is left */
	uint64_t docs;			/* documents seen */
	uint64_t moved;			/* rewrapped or re-encrypted now */
	uint64_t skipped;		/* already on the target KEK */
	uint64_t failed;		/* could not be moved (reported) */
	uint64_t bytes;			/* plaintext bytes of the moved ones */
	uint32_t retired[KEYSTORE_MAX_KEKS];	/* RETIRING when the pass began */
	size_t nretired;
	uint32_t destroyed[KEYSTORE_MAX_KEKS];	/* destroyed by this run */
	size_t ndestroyed;
	struct rotate_census census;	/* after the pass */
};

/*
 * Rotate the vault vault_dir (open as vault_fd): start a rotation, or
 * resume the unfinished one recorded in ks (a re-encrypting one stays
 * re-encrypting; asking for --reencrypt while a rewrap-only one is
 * unfinished starts a new, re-encrypting rotation), move every document,
 * sync, count, destroy the KEKs no document uses.  ks is updated (it is
 * the caller's, opened read-write from the same vault).
 *
 * Returns 0 when the pass was made, whether or not every document could be
 * moved (see res->failed, res->finished), or a negative errno when the
 * rotation could not go on (the key store could not be written, the data
 * directory cannot be opened, a sync failed, -ENOMEM): the vault is then
 * still consistent and a later run resumes.
 */
int rotate_run(int vault_fd, const char *vault_dir, struct keystore *ks,
	       bool reencrypt, const struct rotate_ops *ops,
	       struct rotate_result *res)
	__attribute__((nonnull(2, 3, 5, 6), warn_unused_result));

#endif
