/* envelope.h: helpers every provider needs for its envelopes
 * ({"id", "updated_at", ...}, see providers/provider.h). */
#ifndef CRM_ENVELOPE_H
#define CRM_ENVELOPE_H

#include <jansson.h>

/* Orders record ids: numerically when both are decimal ("999" < "1000"),
 * else as text (UUIDs, Salesforce ids). */
int env_id_cmp(const char *a, const char *b);
/* qsort comparator on envelopes (json_t *): by updated_at, then id. */
int env_cmp_updated(const void *a, const void *b);
/* Sorts an array of envelopes in place by (updated_at, id). */
void env_sort_by_updated(json_t *arr);

#endif
