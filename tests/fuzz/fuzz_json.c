/* Fuzz target: lib/jx's parser and serialiser against jansson.
 * The fast parser must accept exactly what json_loadb accepts (for texts
 * jansson can represent), produce an equal value, and jx_dump's output must
 * parse back to the same value. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "jx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];
	json_error_t je;
	json_t *a = jx_parse((const char *)data, size, 0, why, sizeof(why));
	json_t *b = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);

	/* jansson refuses integers wider than 64 bits, which we keep (as the
	 * nearest double in jansson): such a text must at least be one that
	 * jansson reads with its integers as reals. */
	if (!b && a) {
		json_t *r = json_loadb((const char *)data, size,
				       JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
		assert(r || strstr(je.text, "overflow"));
		json_decref(r);
	}
	if (a && b)
		assert(json_equal(a, b));
	if (a) {
		struct buf out = BUF_INIT;
		assert(jx_dump(&out, a) == 0);
		json_t *c = jx_parse(out.buf, out.len, 0, why, sizeof(why));
		assert(c && json_equal(a, c));
		json_decref(c);
		buf_release(&out);
	}
	json_decref(a);
	json_decref(b);
	return 0;
}
