/*
 * powercut.h - the journal the power-cut shim (tests/shim/powercut.c)
 * writes and tests/helpers/powercut.c reads: records, each followed by
 * the path (pathlen bytes) and the old bytes (oldlen).
 */
#ifndef VAULTFS_TESTS_POWERCUT_H
#define VAULTFS_TESTS_POWERCUT_H

#include <stdint.h>

#define PC_MAGIC 0x314a4350u	/* "PCJ1" */

enum { PC_WRITE = 1, PC_PUNCH, PC_TRUNC, PC_SYNC, PC_SYNCFS };

struct pc_rec {
	uint32_t magic, type;
	uint64_t dev, ino;
	int64_t btime_sec;
	uint32_t btime_nsec, pathlen;
	uint64_t off, len;	/* range written, punched or cut off */
	uint64_t oldsize;	/* file size before the call */
	uint64_t oldlen;	/* old bytes that follow the path */
	uint64_t upto;		/* sync: journal offset at the start */
	uint64_t pid;
};

#endif
