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

	/* jansson takes \u0000 (with ALLOW_NUL) and integers it clamps; we
	 * refuse both on purpose, so only a value jansson rejects must be
	 * rejected by us too. */
	if (!b)
		assert(!a);
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
