/* Fuzz target: the NDJSON reader over arbitrary bytes: every line is either
 * an object or a per-line error; nothing crashes or leaks. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size ? size : 1, "r");
	struct ndjson_reader r;
	struct crm_err err = CRM_ERR_INIT;

	if (!f)
		return 0;
	if (!size) {
		fclose(f);
		return 0;
	}
	ndjson_reader_init(&r, f);
	while (ndjson_read_line(&r, &err) == 1) {
		json_t *v = ndjson_parse_line(&r, &err);
		json_decref(v);
	}
	ndjson_reader_release(&r);
	fclose(f);
	return 0;
}
