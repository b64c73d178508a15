/*
 * forge.c - hostile but authentic backing entries, made with the vault's
 * own keys (t4004).  An attacker without the passphrase cannot make these;
 * they check that the daemon and fsck do not trust what authenticates.
 *
 *   forge name VAULT PASSFILE DIRID_FILE HEX [raw]
 *       Print the backing entry name that encrypts the bytes HEX (any
 *       bytes: empty, "..", "/", with NUL) for the directory whose
 *       vaultfs.dirid is DIRID_FILE, bypassing every check names_encrypt()
 *       makes.  The padding 0x80 0x00... is added unless "raw" is given (then
 *       HEX is the whole padded block sequence, a multiple of 16 bytes).
 *       Long encodings print "@hash enc": the entry and its side file's text.
 *   forge link VAULT PASSFILE HEX
 *       Print an encrypted symlink target for the bytes HEX (may be empty
 *       or hold NUL bytes).
 *   forge header VAULT PASSFILE DOCFILE SIZE NHOLES [FIRST:COUNT ...]
 *       Rewrite both header slots of backing document DOCFILE with a body
 *       of logical size SIZE, hole count NHOLES (written as given, even if
 *       it is not the number of extents that follow) and those extents,
 *       sealed properly under the document's key.  Nothing is checked.
 *   forge mksock PATH
 *       Create a Unix domain socket file at PATH (and exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../keys/keystore.h"
#include "../../vaultfs/container.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"
#include "../../vaultfs/le.h"

#define H_GEN 8
#define H_BODY_NONCE 112
#define H_BODY 140
#define IV_BYTES 24
#define LINK_AD "vaultfs-symlink"
#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: forge name VAULT PASSFILE DIRID_FILE HEX [raw] | "
		"link VAULT PASSFILE HEX |\n"
		"       header VAULT PASSFILE DOCFILE SIZE NHOLES [FIRST:COUNT ...] | "
		"mksock PATH\n");
	exit(2);
}

static _Noreturn void die(const char *what, const char *arg)
{
	fprintf(stderr, "forge: %s '%s'\n", what, arg);
	exit(1);
}

static struct keystore *unlock(const char *vault, const char *passfile)
{
	char pass[1024];
	struct keystore *ks;
	FILE *f = fopen(passfile, "r");
	size_t len;

	if (!f || !fgets(pass, sizeof(pass), f))
		die("cannot read passfile", passfile);
	fclose(f);
	len = strcspn(pass, "\r\n");
	if (seal_init() < 0 || keystore_open(vault, pass, len, &ks) < 0)
		die("cannot unlock vault", vault);
	sodium_memzero(pass, sizeof(pass));
	return ks;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	if (strlen(hex) % 2 || n > cap)
		die("bad hex", hex);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			die("bad hex", hex);
		out[i] = (uint8_t)v;
	}
	return n;
}

static int cmd_name(int argc, char **argv)
{
	uint8_t nk[SEAL_KEY_BYTES], kmac[SEAL_KEY_BYTES], kenc[SEAL_KEY_BYTES];
	uint8_t dirid[NAMES_DIRID_BYTES], p[512], buf[NAMES_DIRID_BYTES + 512];
	uint8_t bin[IV_BYTES + 512], h[32];
	char enc[1024], hash[64];
	struct keystore *ks;
	size_t n, plen;
	FILE *f;

	if (argc != 6 && !(argc == 7 && !strcmp(argv[6], "raw")))
		usage();
	ks = unlock(argv[2], argv[3]);
	f = fopen(argv[4], "rb");
	if (!f || fread(dirid, 1, sizeof(dirid), f) != sizeof(dirid))
		die("cannot read dir id", argv[4]);
	fclose(f);
	memset(p, 0, sizeof(p));
	n = unhex(argv[5], p, 300);
	if (argc == 7) {
		plen = n;
		if (plen == 0 || plen % 16)
			die("raw plaintext must be whole blocks", argv[5]);
	} else {
		p[n] = 0x80;
		plen = (n / 16 + 1) * 16;
	}
	memcpy(nk, keystore_name_key(ks), sizeof(nk));
	seal_derive(kmac, 1, "vfsnames", nk);
	seal_derive(kenc, 2, "vfsnames", nk);
	memcpy(buf, dirid, sizeof(dirid));
	memcpy(buf + sizeof(dirid), p, plen);
	seal_hash(bin, IV_BYTES, kmac, buf, sizeof(dirid) + plen);
	seal_stream_xor(bin + IV_BYTES, p, plen, bin, kenc);
	sodium_bin2base64(enc, sizeof(enc), bin, IV_BYTES + plen, B64);
	if (strlen(enc) > NAMES_SHORT_MAX) {
		seal_hash(h, sizeof(h), NULL, enc, strlen(enc));
		sodium_bin2base64(hash, sizeof(hash), h, sizeof(h), B64);
		printf("@%s %s\n", hash, enc);
	} else {
		printf("%s\n", enc);
	}
	sodium_memzero(nk, sizeof(nk));
	keystore_free(ks);
	return 0;
}

static int cmd_link(int argc, char **argv)
{
	static uint8_t t[8192], bin[8192 + 64];
	static char enc[16384];
	uint8_t nk[SEAL_KEY_BYTES], klink[SEAL_KEY_BYTES];
	struct keystore *ks;
	size_t n;

	if (argc != 5)
		usage();
	ks = unlock(argv[2], argv[3]);
	n = unhex(argv[4], t, 5000);
	memcpy(nk, keystore_name_key(ks), sizeof(nk));
	seal_derive(klink, 3, "vfsnames", nk);
	seal_encrypt(klink, LINK_AD, strlen(LINK_AD), t, n, bin,
		     bin + SEAL_NONCE_BYTES);
	sodium_bin2base64(enc, sizeof(enc), bin,
			  SEAL_NONCE_BYTES + n + SEAL_TAG_BYTES, B64);
	printf("%s\n", enc);
	sodium_memzero(nk, sizeof(nk));
	keystore_free(ks);
	return 0;
}

static int cmd_header(int argc, char **argv)
{
	uint8_t page[CONTAINER_HDR_BYTES], body[CONTAINER_BODY_BYTES];
	uint8_t dek[SEAL_KEY_BYTES];
	struct container_header h;
	struct keystore *ks;
	uint64_t gen;
	int fd, s, nh;

	if (argc < 7 || argc - 7 > CONTAINER_MAX_HOLES + 8)
		usage();
	ks = unlock(argv[2], argv[3]);
	fd = open(argv[4], O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || pread(fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		die("cannot read the header of", argv[4]);
	for (s = 0; s < 2; s++)
		if (container_header_parse(page + s * CONTAINER_HDR_SLOT_BYTES,
					   &h) == 0)
			break;
	if (s == 2)
		die("no header slot parses in", argv[4]);
	if (keystore_unwrap_dek(ks, h.doc_id, h.kek_version, h.wrapped_dek,
				dek) < 0)
		die("cannot unwrap the key of", argv[4]);
	/* both slots from the clear part of the one that parsed */
	memcpy(page + CONTAINER_HDR_SLOT_BYTES * (1 - s),
	       page + CONTAINER_HDR_SLOT_BYTES * s, CONTAINER_HDR_SLOT_BYTES);
	memset(body, 0, sizeof(body));
	le_put64(body, strtoull(argv[5], NULL, 0));
	le_put32(body + 8, (uint32_t)strtoul(argv[6], NULL, 0));
	for (nh = 0; nh < argc - 7 && 16 + 16 * nh + 16 <= (int)sizeof(body); nh++) {
		unsigned long long first, count;

		if (sscanf(argv[7 + nh], "%llu:%llu", &first, &count) != 2)
			usage();
		le_put64(body + 16 + 16 * nh, first);
		le_put64(body + 24 + 16 * nh, count);
	}
	gen = (h.gen & ~1ULL) + 2;
	for (s = 0; s < 2; s++) {
		uint8_t *slot = page + s * CONTAINER_HDR_SLOT_BYTES;

		le_put64(slot + H_GEN, gen + (uint64_t)s);
		/* the nonce is stored before the AD (the slot's first 140
		 * bytes, nonce included) is authenticated */
		seal_encrypt(dek, slot, H_BODY, body, sizeof(body),
			     slot + H_BODY_NONCE, slot + H_BODY);
	}
	if (pwrite(fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		die("cannot write the header of", argv[4]);
	close(fd);
	sodium_memzero(dek, sizeof(dek));
	keystore_free(ks);
	return 0;
}

static int cmd_mksock(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *slash;
	int fd;

	if (argc != 3)
		usage();
	/* sun_path is short: bind to the base name inside its directory */
	slash = strrchr(argv[2], '/');
	if (slash) {
		*slash = '\0';
		if (chdir(argv[2]) < 0)
			die("cannot enter", argv[2]);
		argv[2] = slash + 1;
	}
	if (strlen(argv[2]) >= sizeof(a.sun_path))
		usage();
	strcpy(a.sun_path, argv[2]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("cannot bind a socket to", argv[2]);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "name"))
		return cmd_name(argc, argv);
	if (!strcmp(argv[1], "link"))
		return cmd_link(argc, argv);
	if (!strcmp(argv[1], "header"))
		return cmd_header(argc, argv);
	if (!strcmp(argv[1], "mksock"))
		return cmd_mksock(argc, argv);
	usage();
}
