/* crmsync fields OBJECT: one line per provider field, with the unified key
 * it maps to. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "jx.h"
#include "map.h"
#include "provider.h"
#include "banned.h"

static const char fields_usage[] =
	"usage: crmsync fields OBJECT\n\n"
	"Lists the provider's fields of OBJECT (standard and custom) as NDJSON:\n"
	"{\"name\", \"label\", \"type\", \"required\", \"read_only\", \"custom\", \"unified\", \"options\"}.\n"
	"\"unified\" names the unified key the field maps to, or is null (then the field\n"
	"travels in remote_fields, and --map can lift it to the top level).\n";

/* The options of fields (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option fields_options[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };

int cmd_fields(struct ctx *c, int argc, char **argv)
{
	struct crm_err err = CRM_ERR_INIT;
	json_t *arr = NULL, *f;
	enum obj o;
	size_t i;
	int ch, rc;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", fields_options, NULL)) != -1) {
		if (ch == 'h') {
			fputs(fields_usage, stdout);
			return 0;
		}
		return bad_option(c, argc, argv);
	}
	if (optind + 1 != argc) {
		msg(c, optind >= argc ? "missing OBJECT" : "too many arguments");
		fputs(fields_usage, stderr);
		return 64;
	}
	if (ctx_object(c, argv[optind], 0, &o, &err) < 0 || ctx_connect(c, &err) < 0 ||
	    c->prov->fields(c->conn, o, &arr, &err) < 0)
		return fail_with(c, &err);
	json_array_foreach(arr, i, f) {
		const struct map_entry *e = map_find_remote(c->prov->obj[o]->map, jx_str(f, "name"));
		json_t *line = json_pack("{s:O,s:O?,s:O?,s:O?,s:O?,s:O?,s:o,s:O?}",
			"name", json_object_get(f, "name"), "label", json_object_get(f, "label"),
			"type", json_object_get(f, "type"), "required", json_object_get(f, "required"),
			"read_only", json_object_get(f, "read_only"), "custom", json_object_get(f, "custom"),
			"unified", jx_str_new(e ? e->key : NULL), "options", json_object_get(f, "options"));
		rc = ndjson_write(&c->out, line, &err);
		json_decref(line);
		if (rc < 0) {
			json_decref(arr);
			return fail_with(c, &err);
		}
	}
	json_decref(arr);
	if (ctx_finish_stdout(c, &err) < 0)
		return fail_with(c, &err);
	return 0;
}
