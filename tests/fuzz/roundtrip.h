/* roundtrip.h: what every provider's fuzz target does with an envelope:
 * the unified record it maps to (lib/map's pull side), and that record
 * mapped back to provider fields (the push side). */
#ifndef FUZZ_ROUNDTRIP_H
#define FUZZ_ROUNDTRIP_H

static void fuzz_roundtrip(const struct provider *pv, enum obj o, const json_t *env)
{
	struct jv_doc d;
	jv_init(&d);
	jv_t je = jv_from_json(&d, env), jr = jv_obj(&d);
	map_pull(o, pv->obj[o]->map, &d, jv_get(&d, je, "fields"), NULL, jr);
	jv_t back = map_push(o, pv->obj[o]->map, &d, jr, NULL, 1, NULL, NULL);
	(void)back;
	jv_release(&d);
}

#endif
