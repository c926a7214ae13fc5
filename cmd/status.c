/* crmsync status: one JSON line per connection; the exit code tells health. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "jx.h"
#include "linkstat.h"
#include "provider.h"
#include "sig.h"
#include "timeutil.h"
#include "banned.h"

static const char status_usage[] =
	"usage: crmsync status [--links FILE]\n\n"
	"Checks the connection and prints one JSON line:\n"
	"{\"provider\", \"profile\", \"connected\", \"namespace\", \"message\", \"latency_ms\", \"rate_limit\",\n"
	" \"sandbox\"} (sandbox: true for a sandbox or test account, null where the API cannot tell).\n"
	"Exit 0 when connected, else the failure's exit code (69, 75, 77, 78).\n"
	"With no provider given (no -p, no --profile, no CRMSYNC_PROVIDER), checks every\n"
	"profile of the config file, one line each.\n\n"
	"  --links FILE     sync health from a push --links store instead (no connection):\n"
	"                   one line per source, target and object that a push went through:\n"
	"                   {\"source\": {\"provider\", \"namespace\"}, \"target\": {...}, \"object\",\n"
	"                   \"linked\", \"failing\", \"failures\": {CODE: N}, \"last_push_at\"}\n";

/* Checks one connection; returns its exit code. */
static int check_one(struct ctx *c)
{
	struct crm_err err = CRM_ERR_INIT;
	json_t *line = json_object(), *st = json_object();
	long long t0 = time_mono_ms();
	int rc, code = 0;

	rc = ctx_connect(c, &err);
	if (rc == 0)
		rc = c->prov->status(c->conn, st, &err);
	json_object_set_new(line, "provider", json_string(c->prov->name));
	json_object_set_new(line, "profile", jx_str_new(c->profile));
	json_object_set_new(line, "connected", json_boolean(rc == 0));
	json_object_set(line, "namespace", json_object_get(st, "namespace") ? json_object_get(st, "namespace") : json_null());
	json_object_set_new(line, "message", json_string(rc == 0 ? "connection is healthy" : err.message));
	json_object_set_new(line, "latency_ms", rc == 0 ? json_integer(time_mono_ms() - t0) : json_null());
	json_object_set(line, "rate_limit", json_object_get(st, "rate_limit") ? json_object_get(st, "rate_limit") : json_null());
	/* A sandbox or test account, as far as the CRM's API tells; null where it cannot. */
	json_object_set(line, "sandbox", json_is_boolean(json_object_get(st, "sandbox")) ? json_object_get(st, "sandbox") : json_null());
	if (rc < 0) {
		json_object_set_new(line, "error", json_pack("{s:s,s:I}", "code", err.code, "http_status",
							      (json_int_t)err.http_status));
		code = err_exit_code(rc);
		if (code == 1 || code == 65 || code == 64)
			code = 69;
	}
	{
		const char *k;
		json_t *v;
		json_object_foreach(st, k, v)
			if (!json_object_get(line, k))
				json_object_set(line, k, v);
	}
	struct crm_err e2 = CRM_ERR_INIT;
	if (ndjson_write(&c->out, line, &e2) < 0 || ndjson_flush(&c->out, &e2) < 0)
		code = e2.status == CRM_EPIPE ? code : 74;
	json_decref(line);
	json_decref(st);
	ctx_release(c);
	return code;
}

static int links_line(json_t *line, void *arg, struct crm_err *err)
{
	struct ctx *c = arg;
	return ndjson_write(&c->out, line, err);
}

/* status --links FILE: the store's health lines; no provider, no
 * credentials, no request. */
static int links_health(struct ctx *c, const char *path)
{
	struct crm_err err = CRM_ERR_INIT;

	if (linkstat_report(path, links_line, c, &err) < 0 || ctx_finish_stdout(c, &err) < 0)
		return fail_with(c, &err);
	return 0;
}

/* The options of status (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option status_options[] = {
	{ "links", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
};

int cmd_status(struct ctx *c, int argc, char **argv)
{
	const char *links = NULL;
	int ch, worst = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", status_options, NULL)) != -1) {
		switch (ch) {
		case 'L': links = optarg; break;
		case 'h': fputs(status_usage, stdout); return 0;
		default: return bad_option(c, argc, argv);
		}
	}
	if (optind != argc) {
		msg(c, "status takes no arguments");
		return 64;
	}
	if (links)
		return links_health(c, links);
	if (c->prov)
		return check_one(c);
	/* No provider: every profile of the config file. */
	const char *const *names = config_profiles(c->cfg);
	if (!names || !names[0]) {
		msg(c, "no provider given and no profiles in %s; use -p NAME or add [profile NAME] sections",
		    config_path(c->cfg) ? config_path(c->cfg) : "the config file (none found)");
		return 78;
	}
	for (int i = 0; names[i] && !sig_stop; i++) {
		const char *pn = config_get(c->cfg, names[i], "provider");
		c->profile = names[i];
		c->prov = pn ? provider_find(pn) : NULL;
		if (!c->base_url_arg)
			c->base_url = config_get(c->cfg, names[i], "base_url");
		if (!c->prov) {
			json_t *line = json_pack("{s:s?,s:s,s:b,s:n,s:s,s:n,s:n}", "provider", pn,
				"profile", names[i], "connected", 0, "namespace", "message",
				pn ? "unknown provider in this profile" : "this profile names no provider", "latency_ms", "rate_limit");
			struct crm_err e2 = CRM_ERR_INIT;
			ndjson_write(&c->out, line, &e2);
			json_decref(line);
			if (!worst)
				worst = 78;
			continue;
		}
		int code = check_one(c);
		if (code && !worst)
			worst = code;
	}
	c->prov = NULL;
	return worst;
}
