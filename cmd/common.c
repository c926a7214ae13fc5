#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "jv.h"
#include "jx.h"
#include "map.h"
#include "options.h"
#include "provider.h"
#include "summary.h"
#include "timeutil.h"
#include "banned.h"

static void vmsg(const struct ctx *c, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "crmsync: %s: ", c->cmd ? c->cmd : "error");
	buf_vaddf(&b, fmt, ap);
	buf_addc(&b, '\n');
	fputs(b.buf, stderr);
	buf_release(&b);
}

void msg(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
}

void info(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c->quiet)
		return;
	va_start(ap, fmt);
	vmsg(c, fmt, ap);
	va_end(ap);
}

int fail_with(const struct ctx *c, const struct crm_err *err)
{
	if (err->status == CRM_EPIPE)
		return 0;
	if (err->status == CRM_EINTR)
		return 128 + 2;
	msg(c, "%s", err->message[0] ? err->message : err_status_name(err->status));
	return err_exit_code(err->status);
}

static void http_log(void *ud, const char *line)
{
	const struct ctx *c = ud;
	msg(c, "http: %s", line);
}

int ctx_connect(struct ctx *c, struct crm_err *err)
{
	struct http_opts o = { 0 };
	struct session s;
	const char *v;
	long n;

	if (c->conn)
		return 0;
	if (!c->prov)
		return err_set(err, CRM_ECONFIG, "no_provider",
			       "no provider: give -p NAME (%s, ...), set CRMSYNC_PROVIDER, or a profile with provider = NAME",
			       provider_at(0) ? provider_at(0)->name : "");
	o.max_retries = 6;
	o.rate_limits = 1;
	/* Tuning knobs for tests and unusual networks (documented in crmsync(1));
	 * a value that is set but wrong is a configuration error. */
	static const struct { const char *env; long min, max; } knobs[] = {
		{ "CRMSYNC_MAX_RETRIES", 0, 100 }, { "CRMSYNC_RETRY_BASE_MS", 1, 600000 },
		{ "CRMSYNC_RETRY_MAX_MS", 1, 3600000 }, { "CRMSYNC_TIMEOUT_MS", 100, 3600000 },
		{ "CRMSYNC_MAX_ANSWER_MB", 1, 4096 },
	};
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		if (!(v = getenv(knobs[i].env)) || !*v)
			continue;
		if (parse_long(knobs[i].env, v, knobs[i].min, knobs[i].max, &n, err) < 0) {
			err->status = CRM_ECONFIG;
			return CRM_ECONFIG;
		}
		if (i == 0)
			o.max_retries = (int)n;
		else if (i == 1)
			o.retry_base_ms = n;
		else if (i == 2)
			o.retry_max_ms = n;
		else if (i == 3)
			o.timeout_ms = n;
		else
			o.max_answer = (size_t)n << 20;
	}
	if ((v = config_get(c->cfg, c->profile, "rate_limits")) && !strcmp(v, "off"))
		o.rate_limits = 0;
	if ((v = getenv("CRMSYNC_RATE_LIMITS")) && !strcmp(v, "off"))
		o.rate_limits = 0;
	o.cacert = c->cacert ? c->cacert : config_get(c->cfg, c->profile, "cacert");
	err_clear(err);
	if (c->verbose) {
		o.log = http_log;
		o.log_ctx = c;
	}
	if (http_open(&c->http, &o, err) < 0)
		return err->status;
	s.http = c->http;
	s.base_url = c->base_url;
	s.cfg = c->cfg;
	s.profile = c->profile;
	s.bulk = c->bulk;
	return c->prov->open(&c->conn, &s, err);
}

void ctx_release(struct ctx *c)
{
	if (c->prov && c->conn)
		c->prov->close(c->conn);
	c->conn = NULL;
	http_free(c->http);
	c->http = NULL;
	for (int o = 0; o < OBJ_COUNT; o++) {
		options_free(c->opts[o]);
		c->opts[o] = NULL;
	}
}

int ctx_object(struct ctx *c, const char *arg, unsigned caps, enum obj *out, struct crm_err *err)
{
	int o;

	if (!arg)
		return err_set(err, CRM_EUSAGE, "usage", "missing OBJECT (accounts, contacts, users, leads or deals)");
	o = obj_parse(arg);
	if (o < 0)
		return err_set(err, CRM_EUSAGE, "usage",
			       "unknown object '%s' (accounts, contacts, users, leads or deals)", arg);
	if (!c->prov)
		return err_set(err, CRM_ECONFIG, "no_provider",
			       "no provider: give -p NAME, set CRMSYNC_PROVIDER, or use a profile with provider = NAME");
	const struct prov_object *po = c->prov->obj[o];
	if (!po)
		return err_set(err, CRM_EUSAGE, "unsupported", "%s has no %s", c->prov->name, obj_plural(o));
	if ((po->caps & caps) != caps) {
		if (o == OBJ_USER && (caps & (OC_PUSH | OC_DELETE)))
			return err_set(err, CRM_EUSAGE, "read_only", "users are read-only in %s", c->prov->name);
		if (caps & OC_DELETED)
			return err_set(err, CRM_EUSAGE, "unsupported", "%s cannot report deleted %s",
				       c->prov->name, obj_plural(o));
		return err_set(err, CRM_EUSAGE, "unsupported", "%s cannot %s %s", c->prov->name,
			       caps & OC_DELETE ? "delete" : "write", obj_plural(o));
	}
	*out = (enum obj)o;
	return 0;
}

int map_file_load(const char *path, json_t **out, struct crm_err *err)
{
	json_error_t je;
	json_t *m = json_load_file(path, 0, &je);
	const char *k;
	json_t *v;

	*out = NULL;
	if (!m)
		return err_set(err, CRM_EUSAGE, "bad_map", "cannot read --map file %s: %s", path, je.text);
	if (!json_is_object(m)) {
		json_decref(m);
		return err_set(err, CRM_EUSAGE, "bad_map", "--map file %s must hold one JSON object", path);
	}
	json_object_foreach(m, k, v) {
		if (!json_is_string(v)) {
			json_decref(m);
			return err_set(err, CRM_EUSAGE, "bad_map", "--map file %s: \"%s\" must name a provider field",
				       path, k);
		}
	}
	*out = m;
	return 0;
}

int values_file_load(const char *path, json_t **out, struct crm_err *err)
{
	json_error_t je;
	json_t *m = json_load_file(path, 0, &je), *t, *v;
	const char *k, *from;

	*out = NULL;
	if (!m)
		return err_set(err, CRM_EUSAGE, "bad_values", "cannot read --values file %s: %s", path, je.text);
	if (!json_is_object(m)) {
		json_decref(m);
		return err_set(err, CRM_EUSAGE, "bad_values", "--values file %s must hold one JSON object", path);
	}
	json_object_foreach(m, k, t) {
		int ok = json_is_object(t);
		json_object_foreach(t, from, v)
			ok &= json_is_string(v);
		if (!ok) {
			json_decref(m);
			return err_set(err, CRM_EUSAGE, "bad_values",
				       "--values file %s: \"%s\" must be an object of strings, {\"from\": \"to\"}", path, k);
		}
	}
	*out = m;
	return 0;
}

int ctx_options(struct ctx *c, enum obj o, struct crm_err *err)
{
	const struct map_entry *m = c->prov->obj[o] ? c->prov->obj[o]->map : NULL;
	json_t *fields = NULL;
	int any = 0, rc;

	for (const struct map_entry *e = m; e && e->key; e++)
		any |= (e->flags & (MF_OPTION | MF_STAGE | MF_PIPELINE)) != 0;
	if (!any || c->opts[o] || !c->prov->fields)
		return 0;
	if ((rc = c->prov->fields(c->conn, o, &fields, err)) < 0)
		return rc;
	c->opts[o] = options_new(m, fields);
	json_decref(fields);
	return 0;
}

int map_file_check(struct ctx *c, enum obj o, json_t *map, struct crm_err *err)
{
	json_t *fields = NULL, *f;
	const char *k;
	json_t *v;
	size_t i;
	int rc;

	if (!map || !json_object_size(map))
		return 0;
	if ((rc = c->prov->fields(c->conn, o, &fields, err)) < 0)
		return rc;
	json_object_foreach((json_t *)map, k, v) {
		const char *want = json_string_value(v), *by_label = NULL;
		int found = 0, labels = 0;
		json_array_foreach(fields, i, f) {
			json_t *al, *a;
			size_t j;
			found |= jx_str(f, "name") && !strcmp(jx_str(f, "name"), want);
			/* A field may also be named by its label or an alias (Pipedrive's
			 * and Copper's custom fields have opaque keys). */
			if (jx_str(f, "label") && !strcmp(jx_str(f, "label"), want)) {
				by_label = jx_str(f, "name");
				labels++;
			}
			al = json_object_get(f, "aliases");
			json_array_foreach(al, j, a)
				if (json_is_string(a) && !strcmp(json_string_value(a), want)) {
					by_label = jx_str(f, "name");
					labels++;
				}
		}
		if (!found && labels == 1 && by_label) {
			json_object_set_new((json_t *)map, k, json_string(by_label));
			continue;
		}
		if (!found && labels > 1) {
			json_decref(fields);
			return err_set(err, CRM_EUSAGE, "ambiguous_field",
				       "--map: '%s' is the label of several %s fields; use the field's name (see: crmsync fields %s)",
				       want, obj_name(o), obj_plural(o));
		}
		if (!found) {
			json_decref(fields);
			return err_set(err, CRM_EUSAGE, "unknown_field",
				       "--map: %s has no %s field '%s' (see: crmsync fields %s)", c->prov->name,
				       obj_name(o), json_string_value(v), obj_plural(o));
		}
	}
	json_decref(fields);
	return 0;
}

/* A time value in the contract's spelling, or JV_NULL. */
static jv_t time_val(struct jv_doc *d, jv_t v)
{
	const char *s = jv_sval(d, v);
	char t[TIME_BUFSZ];
	long long ms;

	if (!s)
		return JV_NULL;
	/* Already in the contract's spelling (the usual case): shared. */
	if (time_canonical(s, jv_size(d, v)))
		return v;
	if (time_parse(s, &ms) < 0)
		return JV_NULL;
	time_format(ms, t);
	return jv_string(d, t);
}

jv_t record_build(struct ctx *c, enum obj o, struct jv_doc *d, jv_t env, const json_t *user_map,
		  int raw, const char *ns, const char *synced_at)
{
	jv_t r = jv_obj(d);
	const struct prov_object *po = c->prov->obj[o];

	jv_add_key(d, r, JV_LIT("object"), jv_string_ref(d, obj_name(o)));
	jv_add_key(d, r, JV_LIT("provider"), jv_string_ref(d, c->prov->name));
	jv_add_key(d, r, JV_LIT("remote_id"), jv_get(d, env, "id"));
	jv_add_key(d, r, JV_LIT("remote_namespace"), jv_str_or_null(d, ns && *ns ? ns : NULL));
	map_pull(o, po->map, d, jv_get(d, env, "fields"), user_map, r);
	options_pull(c->opts[o], d, jv_get(d, env, "fields"), r);
	if (c->prov->pull_fixup)
		c->prov->pull_fixup(c->conn, o, d, env, r);
	/* Metadata after the body, in the contract's order.  Only --map can
	 * have put one of these keys in the body already. */
	void (*put)(struct jv_doc *, jv_t, const char *, size_t, int, jv_t) = user_map ? jv_set_key : jv_add_key;
	jv_t rf = jv_get(d, r, "remote_fields");
	jv_del(d, r, "remote_fields");
	put(d, r, JV_LIT("remote_created_at"), time_val(d, jv_get(d, env, "created_at")));
	put(d, r, JV_LIT("remote_updated_at"), time_val(d, jv_get(d, env, "updated_at")));
	put(d, r, JV_LIT("remote_deleted"), jv_bool(jv_is_true(d, jv_get(d, env, "deleted"))));
	jv_t da = time_val(d, jv_get(d, env, "deleted_at"));
	if (da != JV_NULL)
		put(d, r, JV_LIT("remote_deleted_at"), da);
	put(d, r, JV_LIT("remote_fields"), rf);
	if (raw)
		put(d, r, JV_LIT("remote_raw"), jv_get(d, env, "raw") ? jv_get(d, env, "raw") : JV_NULL);
	put(d, r, JV_LIT("synced_at"), jv_string_ref(d, synced_at)); /* the caller's, for the page */
	put(d, r, JV_LIT("sync_run_id"), jv_string_ref(d, c->run_id));
	if (c->profile)
		put(d, r, JV_LIT("sync_profile"), jv_string_ref(d, c->profile));
	return r;
}

int parse_long(const char *opt, const char *s, long min, long max, long *out, struct crm_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return err_set(err, CRM_EUSAGE, "usage", "%s takes a whole number from %ld to %ld, not '%s'",
			       opt, min, max, s);
	*out = v;
	return 0;
}

int ctx_finish_stdout(struct ctx *c, struct crm_err *err)
{
	int rc = ndjson_flush(&c->out, err);
	if (rc < 0)
		return rc;
	/* fsync is not asked for: a pipe or a tty cannot; a file's close reports. */
	return 0;
}

void summary_print(const struct ctx *c, const struct summary *s)
{
	struct buf line = BUF_INIT;

	if (c->quiet)
		return;
	summary_line(s, &line);
	fprintf(stderr, "crmsync: %s\n", line.buf);
	buf_release(&line);
}

int bad_option(const struct ctx *c, int argc, char **argv)
{
	int i = optind - 1;

	if (i >= argc)
		i = argc - 1;
	/* The option's name only: "--token=..." must not echo a value. */
	msg(c, "unknown option, or one missing its value: '%.*s' (see: crmsync %s --help)",
	    (int)strcspn(i > 0 ? argv[i] : "?", "="), i > 0 ? argv[i] : "?", c->cmd);
	return 64;
}
