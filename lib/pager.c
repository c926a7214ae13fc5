#include "pager.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

void pager_guard_init(struct pager_guard *g, const char *crm)
{
	g->crm = crm ? crm : "the CRM";
	g->set = NULL;
	g->cap = g->n = 0;
	g->empty = 0;
}

void pager_guard_reset(struct pager_guard *g)
{
	if (g->set)
		memset(g->set, 0, g->cap * sizeof(*g->set));
	g->n = 0;
	g->empty = 0;
}

void pager_guard_release(struct pager_guard *g)
{
	if (!g)
		return;
	free(g->set);
	pager_guard_init(g, g->crm);
}

/* FNV-1a over the bytes, then a strong mix (splitmix64's finaliser) so the
 * low bits that pick a slot depend on every byte. */
static uint64_t hash_add(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t hash_end(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1; /* 0 marks a free slot */
}

#define HASH_SEED 0xcbf29ce484222325ULL

/* Linear probing; the set is kept at most half full. */
static void put(uint64_t *set, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);
	while (set[i])
		i = (i + 1) & (cap - 1);
	set[i] = h;
}

/* 1 if h was in the set already, 0 if added, -1 out of memory. */
static int seen(struct pager_guard *g, uint64_t h)
{
	if (g->cap) {
		for (size_t i = (size_t)h & (g->cap - 1); g->set[i]; i = (i + 1) & (g->cap - 1))
			if (g->set[i] == h)
				return 1;
	}
	if ((g->n + 1) * 2 > g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		uint64_t *set = calloc(cap, sizeof(*set));
		if (!set)
			return -1;
		for (size_t i = 0; i < g->cap; i++)
			if (g->set[i])
				put(set, cap, g->set[i]);
		free(g->set);
		g->set = set;
		g->cap = cap;
	}
	put(g->set, g->cap, h);
	g->n++;
	return 0;
}

static int oom(struct crm_err *err)
{
	return err_set(err, CRM_EOUTPUT, "out_of_memory", "out of memory");
}

int pager_guard_next(struct pager_guard *g, const char *cursor, size_t records, struct crm_err *err)
{
	int r;

	if (!cursor) {
		g->empty = 0;
		return 0;
	}
	/* A leading 0 byte keeps cursors apart from pager_guard_page's keys. */
	r = seen(g, hash_end(hash_add(hash_add(HASH_SEED, "", 1), cursor, strlen(cursor))));
	if (r < 0)
		return oom(err);
	if (r)
		return err_set(err, CRM_EUNAVAIL, "broken_paging",
			       "%s returned the same paging cursor twice (%.160s): the CRM's paging is broken; stopping",
			       g->crm, cursor);
	g->empty = records ? 0 : g->empty + 1;
	if (g->empty >= PAGER_EMPTY_MAX)
		return err_set(err, CRM_EUNAVAIL, "broken_paging",
			       "%s returned %u empty pages in a row that each had a next page (%.160s): the CRM's paging is broken; stopping",
			       g->crm, g->empty, cursor);
	return 0;
}

int pager_guard_page(struct pager_guard *g, const char *query, const char *first_id, const char *last_id,
		     size_t records, struct crm_err *err)
{
	char num[24];
	uint64_t h = hash_add(HASH_SEED, "\1", 1);
	int r, n;

	if (!records)
		return 0;
	query = query ? query : "";
	first_id = first_id ? first_id : "";
	last_id = last_id ? last_id : "";
	/* Each part with its NUL, so ("ab", "c") and ("a", "bc") differ. */
	h = hash_add(h, query, strlen(query) + 1);
	h = hash_add(h, first_id, strlen(first_id) + 1);
	h = hash_add(h, last_id, strlen(last_id) + 1);
	n = 0;
	for (size_t v = records; v; v /= 10)
		num[n++] = (char)('0' + v % 10);
	h = hash_add(h, num, (size_t)n);
	if ((r = seen(g, hash_end(h))) < 0)
		return oom(err);
	if (r)
		return err_set(err, CRM_EUNAVAIL, "broken_paging",
			       "%s returned the same page twice (%zu records, ids %.60s to %.60s%s%.60s): the CRM's paging is broken; stopping",
			       g->crm, records, first_id, last_id, *query ? ", " : "", query);
	return 0;
}
