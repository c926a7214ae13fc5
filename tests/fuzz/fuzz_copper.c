/* Fuzz target: copper's response readers (records to envelopes, error bodies)
 * and the unified mapping of every object, on arbitrary JSON.  The
 * provider's file is included whole to reach its static functions; the
 * connection is empty (no field metadata), as before the first call. */
#include <stdint.h>

#include "../../providers/copper.c"
#include "roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	json_t *v = jx_parse((const char *)data, size, 0, why, sizeof(why)), *r;
	struct crm_err e = CRM_ERR_INIT;
	size_t i;
	struct conn cc; memset(&cc, 0, sizeof(cc));

	if (!v)
		return 0;
	fill_error(v, &e);
	json_t *res = json_is_array(v) ? v : json_object_get(v, "records");
	if (!res)
		res = json_object_get(v, "data");
	json_array_foreach(res, i, r) {
		if (!json_is_object(r))
			continue;
		for (int o = 0; o < OBJ_COUNT; o++) {
			if (!provider_copper.obj[o])
				continue;
			json_t *env = envelope(&cc, (enum obj)o, r, NULL);
			fuzz_roundtrip(&provider_copper, (enum obj)o, env);
			json_decref(env);
		}
	}
	json_decref(v);
	return 0;
}
