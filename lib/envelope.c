#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "timeutil.h"
#include "banned.h"

int env_id_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && lb && la != lb && strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

int env_cmp_updated(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *ux = jx_str(x, "updated_at"), *uy = jx_str(y, "updated_at");
	const char *ix = jx_str(x, "id"), *iy = jx_str(y, "id");
	long long tx = 0, ty = 0;

	if (ux)
		time_parse(ux, &tx);
	if (uy)
		time_parse(uy, &ty);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return env_id_cmp(ix ? ix : "", iy ? iy : "");
}

void env_sort_by_updated(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v;

	if (n < 2)
		return;
	v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), env_cmp_updated);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}
