/* intern.c - see intern.h. */
#include "intern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static int intern_grow(struct intern *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	uint32_t *ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t s = hash_bytes(t->keys[i], t->lens[i]) & (ncap - 1);

		while (ns[s] != 0)
			s = (s + 1) & (ncap - 1);
		ns[s] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

int intern_get(struct intern *t, const void *key, size_t len, uint32_t *idx,
	       bool *added)
{
	size_t s;

	*added = false;
	if ((t->n + 1) * 2 > t->cap && intern_grow(t) < 0)
		return -ENOMEM;
	s = hash_bytes(key, len) & (t->cap - 1);
	while (t->slots[s] != 0) {
		uint32_t i = t->slots[s] - 1;

		if (t->lens[i] == len && memcmp(t->keys[i], key, len) == 0) {
			*idx = i;
			return 0;
		}
		s = (s + 1) & (t->cap - 1);
	}
	if (t->n == t->keycap) {
		size_t nc = t->keycap ? t->keycap * 2 : 256;
		char **nk = realloc(t->keys, nc * sizeof(*nk));
		size_t *nl;

		if (nk == NULL)
			return -ENOMEM;
		t->keys = nk;
		nl = realloc(t->lens, nc * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		t->lens = nl;
		t->keycap = nc;
	}
	t->keys[t->n] = malloc(len + 1);
	if (t->keys[t->n] == NULL)
		return -ENOMEM;
	memcpy(t->keys[t->n], key, len);
	t->keys[t->n][len] = '\0';
	t->lens[t->n] = len;
	t->slots[s] = (uint32_t)t->n + 1;
	*idx = (uint32_t)t->n++;
	*added = true;
	return 0;
}

void intern_release(struct intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->lens);
	free(t->slots);
}
