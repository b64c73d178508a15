/*
 * bench-kdf.c - `make bench`: the Argon2id part of opening a vault, alone.
 *
 *   bench-kdf OPSLIMIT MEMLIMIT_BYTES [RUNS]  -> "SECONDS" (median of RUNS)
 *
 * Not built by the Makefile: tests/bench/bench.sh compiles it with cc -O2
 * against the system libsodium, the one the vaultfs daemon links, and
 * passes the parameters the vault records (vaultctl keys).  It makes the
 * same call as keys/kdf.c kdf_derive(): crypto_pwhash(), Argon2id v1.3, a
 * 32-byte key, a 16-byte salt.  Each run allocates and touches the memory
 * afresh, as the daemon does once per mount.  The passphrase is a fixed
 * dummy and the output is thrown away: nothing here is secret.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

enum { KEY_BYTES = 32, MAX_RUNS = 100 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0') {
		fprintf(stderr, "bench-kdf: bad number '%s'\n", s);
		exit(2);
	}
	return (uint64_t)v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char pass[] = "bench-passphrase-not-secret";
	unsigned char key[KEY_BYTES], salt[crypto_pwhash_SALTBYTES];
	double secs[MAX_RUNS];
	uint64_t ops, mem, runs = 1, i;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: bench-kdf OPSLIMIT MEMLIMIT_BYTES "
			"[RUNS]\n");
		return 2;
	}
	ops = num(argv[1]);
	mem = num(argv[2]);
	if (argc == 4)
		runs = num(argv[3]);
	if (runs == 0 || runs > MAX_RUNS || ops < crypto_pwhash_OPSLIMIT_MIN ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > SIZE_MAX) {
		fprintf(stderr, "bench-kdf: parameters out of range\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench-kdf: cannot initialise libsodium\n");
		return 1;
	}
	memset(salt, 0x5a, sizeof(salt));
	for (i = 0; i < runs; i++) {
		double t0 = now();

		if (crypto_pwhash(key, sizeof(key), pass, strlen(pass), salt,
				  (unsigned long long)ops, (size_t)mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			fprintf(stderr, "bench-kdf: crypto_pwhash failed (out "
				"of memory?)\n");
			return 1;
		}
		secs[i] = now() - t0;
	}
	qsort(secs, (size_t)runs, sizeof(secs[0]), cmp_double);
	printf("%.6f\n", secs[(runs - 1) / 2]);
	return 0;
}
