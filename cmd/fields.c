/* crmsync fields OBJECT: one line per provider field, with the unified key
 * it maps to. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "jx.h"
#include "map.h"
#include "provider.h"
#include "singer.h"
#include "banned.h"

static const char fields_usage[] =
	"usage: crmsync fields OBJECT [--format ndjson|singer]\n\n"
	"Lists the provider's fields of OBJECT (standard and custom) as NDJSON:\n"
	"{\"name\", \"label\", \"type\", \"required\", \"read_only\", \"custom\", \"unified\", \"options\"}.\n"
	"\"unified\" names the unified key the field maps to, or is null (then the field\n"
	"travels in remote_fields, and --map can lift it to the top level).\n\n"
	"  --format singer  print the stream's Singer catalog instead: {\"streams\": [{\"tap_stream_id\",\n"
	"                   \"schema\" (the SCHEMA of pull --format singer), \"key_properties\", \"metadata\"}]}\n";

/* The options of fields (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option fields_options[] = {
	{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
};

/* The stream's Singer catalog: what a pull would declare, no request needed. */
static int print_catalog(struct ctx *c, enum obj o)
{
	struct crm_err err = CRM_ERR_INIT;
	json_t *cat = singer_catalog(o, singer_schema(o, 0, NULL));
	int rc = ndjson_write(&c->out, cat, &err);

	json_decref(cat);
	if (rc < 0 || ctx_finish_stdout(c, &err) < 0)
		return fail_with(c, &err);
	return 0;
}

int cmd_fields(struct ctx *c, int argc, char **argv)
{
	struct crm_err err = CRM_ERR_INIT;
	json_t *arr = NULL, *f;
	enum obj o;
	size_t i;
	int ch, rc, singer = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", fields_options, NULL)) != -1) {
		if (ch == 'h') {
			fputs(fields_usage, stdout);
			return 0;
		}
		if (ch == 'f' && (!strcmp(optarg, "singer") || !strcmp(optarg, "ndjson"))) {
			singer = !strcmp(optarg, "singer");
			continue;
		}
		if (ch == 'f') {
			msg(c, "--format takes ndjson or singer, not '%s'", optarg);
			return 64;
		}
		return bad_option(c, argc, argv);
	}
	if (optind + 1 != argc) {
		msg(c, optind >= argc ? "missing OBJECT" : "too many arguments");
		fputs(fields_usage, stderr);
		return 64;
	}
	if (singer)
		return ctx_object(c, argv[optind], 0, &o, &err) < 0 ? fail_with(c, &err) : print_catalog(c, o);
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
