/* Fuzz target: HubSpot's response readers (records to envelopes, error
 * bodies, associations) and the unified mapping of every object, on
 * arbitrary JSON.  The provider's file is included whole to reach its
 * static functions. */
#include <stdint.h>

#include "../../providers/hubspot.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	json_t *v = jx_parse((const char *)data, size, 0, why, sizeof(why)), *r;
	size_t i;

	if (!v)
		return 0;
	/* An error body. */
	struct crm_err e = CRM_ERR_INIT;
	fill_error(v, &e);
	/* A page of records, through every object's table. */
	json_t *res = json_object_get(v, "results");
	if (!res)
		res = json_array_size(v) ? v : NULL;
	json_array_foreach(res, i, r) {
		for (int o = 0; o < OBJ_COUNT; o++) {
			json_t *env = envelope((enum obj)o, r, 1);
			json_t *rec = json_object();
			map_pull((enum obj)o, provider_hubspot.obj[o]->map, json_object_get(env, "fields"), NULL, rec);
			json_t *back = map_push((enum obj)o, provider_hubspot.obj[o]->map, rec, NULL, 1, NULL, NULL);
			json_decref(back);
			json_decref(rec);
			json_decref(env);
		}
		char b[64];
		pick_assoc(json_object_get(r, "to"), b, sizeof(b));
	}
	json_decref(v);
	return 0;
}
