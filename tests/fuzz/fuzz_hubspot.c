/* Fuzz target: HubSpot's response readers (records to envelopes, error
 * bodies, associations) and the unified mapping of every object, on
 * arbitrary JSON.  The provider's file is included whole to reach its
 * static functions. */
#include <assert.h>
#include <stdint.h>

#include "../../providers/hubspot.c"
#include "roundtrip.h"

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
			fuzz_roundtrip(&provider_hubspot, (enum obj)o, env);
			json_decref(env);
		}
		char b[64];
		pick_assoc(json_object_get(r, "to"), b, sizeof(b));
		/* The fast path's envelope is envelope()'s, byte for byte. */
		for (int o = OBJ_ACCOUNT; o <= OBJ_CONTACT; o++) {
			struct jv_doc d;
			struct buf x = BUF_INIT, y = BUF_INIT;
			jv_init(&d);
			jv_t ej = envelope_jv(&d, jv_from_json(&d, r));
			if (ej) {
				json_t *env = envelope((enum obj)o, r, 1);
				jx_dump(&x, env);
				jv_dump(&y, &d, ej);
				assert(x.len == y.len && !memcmp(x.buf, y.buf, x.len));
				json_decref(env);
			}
			buf_release(&x);
			buf_release(&y);
			jv_release(&d);
		}
	}
	json_decref(v);
	return 0;
}
