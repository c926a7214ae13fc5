/* The providers crmsync knows.  Each providers/NAME.c defines
 * `const struct provider provider_NAME`; the build finds those definitions
 * and lists them in providers.gen.h (the Makefile's providers.gen.h rule),
 * so adding a CRM edits nothing here.  They are listed in the order of
 * their `listed` field, then by name: --help and messages keep the order
 * the CRMs came in, whatever the file names sort to. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "provider.h"
#include "banned.h"

#define PROVIDER(name) extern const struct provider provider_##name;
#include "providers.gen.h"
#undef PROVIDER

#define PROVIDER(name) &provider_##name,
static const struct provider *all[] = {
#include "providers.gen.h"
};
#undef PROVIDER

#define N_ALL (sizeof(all) / sizeof(all[0]))

static int by_listed(const void *a, const void *b)
{
	const struct provider *x = *(const struct provider *const *)a, *y = *(const struct provider *const *)b;
	/* Unset (0) goes after every provider that says its place. */
	unsigned lx = x->listed ? (unsigned)x->listed : ~0u, ly = y->listed ? (unsigned)y->listed : ~0u;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

static pthread_once_t sorted = PTHREAD_ONCE_INIT;

static void sort_all(void)
{
	qsort(all, N_ALL, sizeof(all[0]), by_listed);
}

const struct provider *provider_find(const char *name)
{
	for (size_t i = 0; i < N_ALL; i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

const struct provider *provider_at(size_t i)
{
	pthread_once(&sorted, sort_all);
	return i < N_ALL ? all[i] : NULL;
}
