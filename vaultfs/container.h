/*
 * container.h - the document file format: header and chunk frames.
 * Bytes in, bytes out; no I/O.  man/vaultfs.5 is the normative description;
 * this header is its C form.
 *
 * A document (one regular file in the vault) is one backing file:
 *
 *   offset 0     header slot 0 (CONTAINER_HDR_SLOT_BYTES)
 *   offset 2048  header slot 1 (same header, generation + 1)
 *   offset 4096  chunk 0 slot 0, chunk 0 slot 1, chunk 1 slot 0, ...
 *
 * Every chunk i owns two fixed-size slots (container_slot_bytes()).  A new
 * version of a chunk is always written to the slot that does not hold the
 * current version, with generation + 1, so a torn write never damages the
 * version before it.  The stale slot is punched out (made a hole) once the
 * new one is durable.  A frame is padded to a multiple of 4096 bytes: the
 * rest of its slot stays a hole in the sparse backing file, which is how
 * compression saves disk space while every chunk keeps a fixed offset
 * (random writes cost O(chunk)).
 *
 * Header slot (little-endian):
 *   0   magic "VLTD"           4
 *   4   version (1)            u16
 *   6   flags (0)              u16
 *   8   generation             u64
 *   16  document id            16 random bytes
 *   32  chunk size             u32
 *   36  KEK version            u32
 *   40  DEK nonce              24
 *   64  wrapped DEK            32 + 16 tag  (AEAD under the KEK,
 *                                            AD = document id || KEK version)
 *   112 body nonce             24
 *   136 body length            u32 (= CONTAINER_BODY_BYTES + 16)
 *   140 body                   AEAD under the DEK, AD = bytes 0..139
 *   rest of slot: zero
 * Body plaintext (fixed length, so it leaks nothing):
 *   0   logical size           u64
 *   8   hole count             u32
 *   12  reserved (0)           u32
 *   16  holes: CONTAINER_MAX_HOLES x { first chunk u64, chunk count u64 }
 *
 * Chunk frame (at the start of a slot):
 *   0   magic "VLTC"           4
 *   4   flags (0)              u32
 *   8   generation             u64
 *   16  sealed length          u32  (ciphertext + tag bytes that follow)
 *   20  reserved (0)           u32
 *   24  nonce                  24
 *   48  ciphertext             AEAD under the DEK,
 *                              AD = document id || chunk index (u64) ||
 *                                   frame bytes 0..23
 * Sealed plaintext:
 *   0   flags                  u8  (bit 0: payload is a zstd frame)
 *   1   reserved (0)           3
 *   4   data length            u32 (plaintext bytes in this chunk)
 *   8   payload length         u32
 *   12  reserved (0)           u32
 *   16  payload, then zero padding up to the 4096-byte frame boundary
 *
 * A slot whose first CONTAINER_FRAME_HDR_BYTES bytes are all zero is empty.
 * A chunk with both slots empty inside the logical size is a hole only if
 * the header lists it in a hole extent; otherwise it was removed and reads
 * fail (-EBADMSG).  Bytes of a chunk past its data length read as zeros.
 */
#ifndef VAULTFS_CONTAINER_H
#define VAULTFS_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seal.h"

#define CONTAINER_VERSION 1
#define CONTAINER_HDR_SLOT_BYTES 2048
#define CONTAINER_HDR_BYTES (2 * CONTAINER_HDR_SLOT_BYTES)
#define CONTAINER_DATA_OFFSET 4096
#define CONTAINER_DOC_ID_BYTES 16
#define CONTAINER_WRAPPED_DEK_BYTES (SEAL_NONCE_BYTES + SEAL_KEY_BYTES + SEAL_TAG_BYTES)
#define CONTAINER_MAX_HOLES 32
#define CONTAINER_BODY_BYTES (16 + CONTAINER_MAX_HOLES * 16)
#define CONTAINER_FRAME_HDR_BYTES 48
#define CONTAINER_INNER_HDR_BYTES 16
#define CONTAINER_FRAME_ALIGN 4096
#define CONTAINER_CHUNK_MIN 4096u
#define CONTAINER_CHUNK_MAX (1u << 20)

struct container_hole {
	uint64_t first;		/* first chunk index of the extent */
	uint64_t count;		/* number of chunks, > 0 */
};

struct container_header {
	uint64_t gen;
	uint8_t doc_id[CONTAINER_DOC_ID_BYTES];
	uint32_t chunk_size;
	uint32_t kek_version;
	uint8_t wrapped_dek[CONTAINER_WRAPPED_DEK_BYTES];
	/* body: valid only after container_header_open() */
	uint64_t size;
	uint32_t nholes;
	struct container_hole holes[CONTAINER_MAX_HOLES];
};

/* true for a power of two in [CONTAINER_CHUNK_MIN, CONTAINER_CHUNK_MAX]. */
bool container_chunk_size_valid(uint32_t chunk_size);

/* Bytes of one chunk slot for chunk_size (a multiple of 4096). */
size_t container_slot_bytes(uint32_t chunk_size);

/* Backing-file offset of slot (0 or 1) of chunk index. */
uint64_t container_slot_offset(uint32_t chunk_size, uint64_t index, int slot);

/*
 * Encode h into one header slot (CONTAINER_HDR_SLOT_BYTES), sealing the body
 * under dek with a fresh nonce.  -EINVAL if h is inconsistent (bad chunk
 * size, nholes > CONTAINER_MAX_HOLES).
 */
int container_header_seal(const struct container_header *h,
			  const uint8_t dek[SEAL_KEY_BYTES],
			  uint8_t out[CONTAINER_HDR_SLOT_BYTES])
	__attribute__((nonnull, warn_unused_result));

/*
 * Parse the clear part of a header slot into h (gen, doc id, chunk size,
 * KEK version, wrapped DEK).  -ENOENT if the slot is all zero, -EBADMSG if
 * malformed, -EPROTONOSUPPORT for an unknown version.  Nothing is
 * authenticated yet.
 */
int container_header_parse(const uint8_t in[CONTAINER_HDR_SLOT_BYTES],
			   struct container_header *h)
	__attribute__((nonnull, warn_unused_result));

/*
 * Authenticate the whole slot under dek and fill the body fields of h
 * (which container_header_parse() filled from the same slot).  -EBADMSG if
 * anything fails to verify or the body is inconsistent (holes overlapping,
 * unsorted or past the size).
 */
int container_header_open(const uint8_t in[CONTAINER_HDR_SLOT_BYTES],
			  const uint8_t dek[SEAL_KEY_BYTES],
			  struct container_header *h)
	__attribute__((nonnull, warn_unused_result));

/*
 * Build the frame for one chunk version into slot (slot_bytes =
 * container_slot_bytes(chunk_size), not zeroed by the caller):
 * compress data (len <= chunk size) at level when it pays, seal with a
 * fresh nonce.  *frame_len is the number of bytes to write (a multiple of
 * CONTAINER_FRAME_ALIGN, <= slot_bytes).  Compression may leave bytes past
 * *frame_len, but nothing past len rounded up to CONTAINER_FRAME_ALIGN
 * plus one CONTAINER_FRAME_ALIGN (the frame of the data uncompressed) is
 * touched.
 */
int container_frame_seal(const uint8_t dek[SEAL_KEY_BYTES],
			 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
			 uint64_t index, uint64_t gen, int level,
			 const void *data, size_t len,
			 uint8_t *slot, size_t slot_bytes, size_t *frame_len)
	__attribute__((nonnull, warn_unused_result));

/*
 * Read the clear generation of a slot.  0 if a frame is present, -ENOENT
 * if the slot is empty, -EBADMSG if the clear header is malformed.  Not
 * authenticated: use only to choose which slot to open first.
 */
int container_frame_peek(const uint8_t *slot, size_t slot_bytes,
			 uint64_t *gen)
	__attribute__((nonnull, warn_unused_result));

/*
 * Authenticate and decode the frame in slot into data (room for
 * chunk_size bytes); *len is its data length, *gen its generation.
 * -ENOENT if the slot is empty, -EBADMSG on any failure (data then zeroed).
 */
int container_frame_open(const uint8_t dek[SEAL_KEY_BYTES],
			 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
			 uint64_t index, uint32_t chunk_size,
			 const uint8_t *slot, size_t slot_bytes,
			 void *data, size_t *len, uint64_t *gen)
	__attribute__((nonnull, warn_unused_result));

/*
 * container_frame_open() without a copy: the frame is decrypted in place,
 * so on success slot[CONTAINER_FRAME_HDR_BYTES, slot_bytes) may hold
 * plaintext, which the caller wipes (also on failure: it may hold
 * zeros or part of the plaintext then).
 */
int container_frame_open_inplace(const uint8_t dek[SEAL_KEY_BYTES],
				 const uint8_t doc_id[CONTAINER_DOC_ID_BYTES],
				 uint64_t index, uint32_t chunk_size,
				 uint8_t *slot, size_t slot_bytes,
				 void *data, size_t *len, uint64_t *gen)
	__attribute__((nonnull, warn_unused_result));

/* true if chunk index lies in one of h's hole extents. */
bool container_is_hole(const struct container_header *h, uint64_t index)
	__attribute__((nonnull));

/*
 * Mark chunks [first, first + count) as holes (merging with neighbours).
 * -ENOSPC if that needs more than CONTAINER_MAX_HOLES extents (h unchanged).
 */
int container_add_holes(struct container_header *h, uint64_t first,
			uint64_t count)
	__attribute__((nonnull, warn_unused_result));

/*
 * Chunk index now holds data: remove it from the hole extents (splitting
 * one).  -ENOSPC if the split needs one extent too many (h unchanged).
 */
int container_fill_hole(struct container_header *h, uint64_t index)
	__attribute__((nonnull, warn_unused_result));

/* Forget hole extents at or beyond chunk index nchunks (truncation). */
void container_clip_holes(struct container_header *h, uint64_t nchunks)
	__attribute__((nonnull));

#endif
