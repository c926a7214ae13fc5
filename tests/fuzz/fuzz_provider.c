/* Fuzz target for one provider, FUZZ_PROVIDER (the Makefile builds one a
 * providers/NAME.c, so a new CRM is fuzzed with no edit here): its
 * response readers (records to envelopes, error bodies) through the
 * provider interface's read_* hooks, and the unified mapping of every
 * object, on arbitrary JSON.  The connection is empty (no field metadata),
 * as before the first call. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "jx.h"
#include "provider.h"
#include "roundtrip.h"

#ifndef FUZZ_PROVIDER
#error "build with -DFUZZ_PROVIDER='\"name\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fast path's envelope is the other's, byte for byte. */
static void same_as_jv(const struct provider *pv, json_t *r)
{
	for (int o = OBJ_ACCOUNT; o <= OBJ_CONTACT; o++) {
		struct jv_doc d;
		struct buf x = BUF_INIT, y = BUF_INIT;
		jv_init(&d);
		jv_t ej = pv->read_record_jv(&d, jv_from_json(&d, r));
		if (ej) {
			json_t *env = pv->read_record((enum obj)o, r);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct provider *pv;
	char why[160];
	struct crm_err e = CRM_ERR_INIT;
	json_t *v, *res, *r;
	size_t i;

	if (!pv) {
		pv = provider_find(FUZZ_PROVIDER);
		assert(pv && pv->read_record);
	}
	if (!(v = jx_parse((const char *)data, size, 0, why, sizeof(why))))
		return 0;
	if (pv->read_error)
		pv->read_error(v, &e);
	/* A page of records, wherever the CRMs put them. */
	res = json_is_array(v) ? v : json_object_get(v, "results");
	if (!res)
		res = json_object_get(v, "records");
	if (!res)
		res = json_object_get(v, "data");
	json_array_foreach(res, i, r) {
		if (!json_is_object(r))
			continue;
		for (int o = 0; o < OBJ_COUNT; o++) {
			if (!pv->obj[o])
				continue;
			json_t *env = pv->read_record((enum obj)o, r);
			if (env)
				fuzz_roundtrip(pv, (enum obj)o, env);
			json_decref(env);
		}
		if (pv->read_record_jv)
			same_as_jv(pv, r);
	}
	json_decref(v);
	return 0;
}
