/* crmsync lists [members|add|remove LIST]: the CRM's lists and their members. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "http.h"
#include "jx.h"
#include "provider.h"
#include "sig.h"
#include "summary.h"
#include "timeutil.h"
#include "banned.h"

static const char lists_usage[] =
	"usage: crmsync lists [--summary FILE]\n"
	"       crmsync lists members LIST [--raw] [--summary FILE]\n"
	"       crmsync lists add LIST [--rejects FILE] [--summary FILE]\n"
	"       crmsync lists remove LIST [--rejects FILE] [--summary FILE]\n\n"
	"lists            one line per list: {\"object\": \"list\", \"remote_id\", \"name\", \"size\", \"dynamic\"}\n"
	"lists members    the member contacts of LIST, as pull prints them\n"
	"lists add        adds the contacts read on stdin (records with remote_id, or bare ids,\n"
	"                 one per line) to LIST; one result line per input line\n"
	"lists remove     removes them from LIST\n"
	"Dynamic lists (members from filters) cannot be changed: exit 64.\n\n"
	"  --summary FILE   append the run summary to FILE as one JSON line (the run history)\n";

/* The run's --summary line, for every lists command; the counts and the
 * records are the command's.  A run that could not write its output has
 * no history line to add (pull does the same). */
static void sum_start(struct ctx *c, struct summary *s, const char *command, const char *object, const char *list)
{
	summary_init(s, command, object, 1);
	snprintf(s->run_id, sizeof(s->run_id), "%s", c->run_id);
	s->provider = c->prov->name;
	s->profile = c->profile;
	s->list = list;
}

static int sum_end(struct ctx *c, const struct summary *s, const char *sumfile, int rc, const struct crm_err *fatal)
{
	struct crm_err e2 = CRM_ERR_INIT;

	if (!sumfile || fatal->status == CRM_EOUTPUT || fatal->status == CRM_EPIPE)
		return rc;
	if (summary_write_json(s, c->http ? http_stats(c->http) : NULL, sumfile, &e2) < 0 && (rc == 0 || rc == 1))
		return fail_with(c, &e2);
	return rc;
}

static int list_all(struct ctx *c, const char *sumfile)
{
	struct crm_err err = CRM_ERR_INIT;
	struct summary sum;
	json_t *arr = NULL, *l;
	size_t i;

	sum_start(c, &sum, "lists", "lists", NULL);
	if (ctx_connect(c, &err) < 0 || c->prov->lists(c->conn, &arr, &err) < 0)
		return sum_end(c, &sum, sumfile, fail_with(c, &err), &err);
	json_array_foreach(arr, i, l) {
		if (ndjson_write(&c->out, l, &err) < 0)
			break;
		sum.records++;
	}
	json_decref(arr);
	if (err.status || ctx_finish_stdout(c, &err) < 0)
		return sum_end(c, &sum, sumfile, fail_with(c, &err), &err);
	return sum_end(c, &sum, sumfile, 0, &err);
}

static int members(struct ctx *c, const char *list, int raw, const char *sumfile)
{
	struct crm_err err = CRM_ERR_INIT;
	struct summary sum;
	struct pull_opts po;
	struct pull *p = NULL;
	json_t *page = NULL;
	struct jv_doc d;
	const char *ns;
	int rc = 0;

	jv_init(&d);
	sum_start(c, &sum, "lists members", "contacts", list);
	memset(&po, 0, sizeof(po));
	po.obj = OBJ_CONTACT;
	po.since_ms = -1;
	po.list = list;
	if ((rc = ctx_connect(c, &err)) < 0 || !(ns = c->prov->namespace(c->conn, &err)) ||
	    (rc = ctx_options(c, OBJ_CONTACT, &err)) < 0 || (rc = c->prov->pull_open(c->conn, &po, &p, &err)) < 0)
		goto done;
	for (;;) {
		char now[TIME_BUFSZ];
		if ((rc = c->prov->pull_next(p, &page, &err)) < 0 || !page)
			break;
		time_format(time_now_ms(), now);
		jv_reset(&d);
		jv_t envs = jv_from_json(&d, page);
		for (uint32_t m = jv_items(&d, envs); m && rc >= 0; m = jv_next(&d, m)) {
			jv_t rec = record_build(c, OBJ_CONTACT, &d, jv_val(&d, m), NULL, raw, ns, now);
			if ((rc = ndjson_write_jv(&c->out, &d, rec, &err)) == 0)
				sum.records++;
		}
		json_decref(page);
		page = NULL;
		if (rc < 0 || (rc = ndjson_flush(&c->out, &err)) < 0)
			break;
	}
	if (rc == 0)
		rc = ctx_finish_stdout(c, &err);
done:
	if (p)
		c->prov->pull_close(p);
	jv_release(&d);
	if (!err.status && rc < 0)
		err.status = rc;
	return sum_end(c, &sum, sumfile, err.status ? fail_with(c, &err) : 0, &err);
}

struct litem {
	long line;
	char *raw;
	size_t rawlen;
	json_t *rec;
	char *id;
	int status;
	long first;               /* the same id earlier in the batch (index), or -1 */
	struct crm_err err;
};

static const char *const status_names[] = { "created", "updated", "unchanged", "skipped", "failed", "deleted" };

static int change(struct ctx *c, const char *list, int add, const char *rejfile, const char *sumfile)
{
	struct crm_err err = CRM_ERR_INIT, fatal = CRM_ERR_INIT;
	struct ndjson_reader r;
	struct ndjson_writer rej;
	struct summary sum;
	size_t batch = 100;
	struct litem *items = calloc(batch, sizeof(*items));
	struct write_item *w = calloc(batch, sizeof(*w));
	FILE *rf = NULL;
	int rc = 0, eof = 0;

	if (!c->prov->list_write) {
		free(items);
		free(w);
		msg(c, "%s has no lists to change", c->prov->name);
		return 64;
	}
	if (rejfile) {
		if (!(rf = fopen(rejfile, "w"))) {
			free(items);
			free(w);
			msg(c, "cannot open --rejects file %s", rejfile);
			return 74;
		}
		ndjson_writer_init(&rej, fileno(rf), "the --rejects file");
	}
	sum_start(c, &sum, add ? "lists add" : "lists remove", list, list);
	if ((rc = ctx_connect(c, &err)) < 0) {
		fatal = err;
		goto done;
	}
	ndjson_reader_init(&r, stdin);
	while (!eof && !fatal.status && !sig_stop) {
		size_t n = 0, nw = 0;
		while (n < batch) {
			struct litem *it = &items[n];
			memset(it, 0, sizeof(*it));
			rc = ndjson_read_line(&r, &err);
			if (rc <= 0) {
				if (rc < 0)
					fatal = err;
				eof = 1;
				break;
			}
			sum.records++;
			it->line = r.lineno;
			it->rawlen = r.line.len;
			it->raw = malloc(r.line.len + 1);
			memcpy(it->raw, r.line.buf, r.line.len + 1);
			it->status = -1;
			/* A record with remote_id, a JSON string or number, or a bare id. */
			json_t *v = json_loadb(r.line.buf, r.line.len, JSON_DECODE_ANY, NULL);
			char tmp[64];
			const char *id = NULL;
			if (json_is_object(v)) {
				it->rec = json_incref(v);
				id = jx_text(json_object_get(v, "remote_id"), tmp, sizeof(tmp));
			} else if (json_is_string(v) || json_is_integer(v)) {
				id = jx_text(v, tmp, sizeof(tmp));
			} else if (!v && r.line.len && strcspn(r.line.buf, " \t\"{}[],") == r.line.len) {
				/* A bare id: any token without spaces or JSON punctuation. */
				id = r.line.buf;
			}
			it->first = -1;
			if (id && *id) {
				it->id = strdup(id);
				/* A member id goes into request paths: the CRM's syntax only. */
				if (id_check(prov_id_syntax(c->prov, OBJ_CONTACT), id, c->prov->name, NULL, "remote_id",
					     &it->err) < 0)
					it->status = SUM_FAILED;
			} else {
				it->status = SUM_FAILED;
				err_set(&it->err, CRM_ERECORD, v ? "no_remote_id" : "invalid_json",
					v ? "the line has no remote_id" : "the line is neither JSON nor a bare id");
			}
			json_decref(v);
			n++;
		}
		for (size_t i = 0; i < n; i++) {
			if (items[i].status != -1)
				continue;
			/* An id again in one batch is sent once: the first line makes
			 * the change, the others find it made (unchanged). */
			for (size_t j = 0; j < i && items[i].first < 0; j++)
				if (items[j].status == -1 && items[j].first < 0 && !strcmp(items[j].id, items[i].id))
					items[i].first = (long)j;
			if (items[i].first >= 0)
				continue;
			memset(&w[nw], 0, sizeof(w[nw]));
			w[nw].line = items[i].line;
			w[nw].remote_id = items[i].id;
			nw++;
		}
		if (nw && (rc = c->prov->list_write(c->conn, list, add, w, nw, &err)) < 0) {
			fatal = err;
			if (rc == CRM_EUSAGE)
				n = 0; /* nothing was sent; refuse the whole run */
		}
		for (size_t i = 0, k = 0; i < n; i++) {
			struct litem *it = &items[i];
			if (it->status == -1 && it->first >= 0) {
				const struct litem *f = &items[it->first];
				it->status = f->status == SUM_FAILED ? SUM_FAILED : SUM_UNCHANGED;
				if (f->status == SUM_FAILED)
					it->err = f->err;
			} else if (it->status == -1) {
				struct write_item *x = &w[k++];
				if (fatal.status) {
					it->status = SUM_FAILED;
					it->err = fatal;
				} else if (x->err.status) {
					it->status = SUM_FAILED;
					it->err = x->err;
				} else {
					it->status = x->created ? SUM_UPDATED : SUM_UNCHANGED;
				}
			}
			json_t *out = it->rec ? json_deep_copy(it->rec) : json_object();
			json_object_set_new(out, "remote_id", jx_str_new(it->id));
			json_object_set_new(out, "list", json_string(list));
			json_object_set_new(out, "sync_status", json_string(status_names[it->status]));
			json_object_set_new(out, "provider", json_string(c->prov->name));
			if (it->status == SUM_FAILED) {
				json_t *se = json_pack("{s:s,s:s}", "code", it->err.code, "message", it->err.message);
				if (it->err.http_status)
					json_object_set_new(se, "http_status", json_integer(it->err.http_status));
				if (it->err.field[0])
					json_object_set_new(se, "field", json_string(it->err.field));
				json_object_set_new(out, "sync_error", se);
			}
			json_object_set_new(out, "sync_line", json_integer(it->line));
			sum.counts[it->status]++;
			if (it->status == SUM_FAILED)
				summary_fail(&sum, it->err.code);
			if (ndjson_write(&c->out, out, &err) < 0 && !fatal.status)
				fatal = err;
			if (it->status == SUM_FAILED && rf && ndjson_write_raw(&rej, it->raw, it->rawlen, &err) < 0 && !fatal.status)
				fatal = err;
			json_decref(out);
		}
		for (size_t i = 0; i < batch; i++) {
			free(items[i].raw);
			free(items[i].id);
			json_decref(items[i].rec);
			memset(&items[i], 0, sizeof(items[i]));
		}
		if (!fatal.status && ndjson_flush(&c->out, &err) < 0)
			fatal = err;
	}
	ndjson_reader_release(&r);
	if (!c->quiet) {
		summary_print(c, &sum);
	}
done:
	if (rf) {
		if (ndjson_flush(&rej, &err) < 0 && !fatal.status)
			fatal = err;
		ndjson_writer_release(&rej);
		fclose(rf);
	}
	free(items);
	free(w);
	if (sig_stop)
		return 128 + sig_stop;
	/* The stderr line names the list; the history line says what its
	 * records are and keeps the list apart. */
	sum.object = "contacts";
	if (fatal.status)
		return sum_end(c, &sum, sumfile, fail_with(c, &fatal), &fatal);
	return sum_end(c, &sum, sumfile, sum.counts[SUM_FAILED] ? 1 : 0, &fatal);
}

/* The options of lists (also read by main, which takes the global options given
 * after the command out of argv first). */
const struct option lists_options[] = {
	{ "raw", no_argument, NULL, 'r' }, { "rejects", required_argument, NULL, 'j' },
	{ "summary", required_argument, NULL, 'u' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
};

int cmd_lists(struct ctx *c, int argc, char **argv)
{
	const char *rejfile = NULL, *sumfile = NULL;
	int raw = 0, ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", lists_options, NULL)) != -1) {
		switch (ch) {
		case 'r': raw = 1; break;
		case 'j': rejfile = optarg; break;
		case 'u': sumfile = optarg; break;
		case 'h': fputs(lists_usage, stdout); return 0;
		default: return bad_option(c, argc, argv);
		}
	}
	if (!c->prov->has_lists) {
		msg(c, "%s has no lists", c->prov->name);
		return 64;
	}
	/* Before any request: a history that cannot take the line is refused now. */
	struct crm_err serr = CRM_ERR_INIT;
	if (sumfile && summary_check(sumfile, &serr) < 0)
		return fail_with(c, &serr);
	if (optind == argc)
		return list_all(c, sumfile);
	const char *sub = argv[optind];
	if (optind + 2 != argc) {
		msg(c, "%s", !strcmp(sub, "members") || !strcmp(sub, "add") || !strcmp(sub, "remove")
			? "missing LIST (a list id; see: crmsync lists)" : "unknown lists subcommand");
		fputs(lists_usage, stderr);
		return 64;
	}
	/* LIST goes into request paths too: refused before any request. */
	struct crm_err lerr = CRM_ERR_INIT;
	if ((!strcmp(sub, "members") || !strcmp(sub, "add") || !strcmp(sub, "remove")) &&
	    id_check(c->prov->list_id_syntax, argv[optind + 1], c->prov->name, "list", "LIST", &lerr) < 0) {
		msg(c, "%s", lerr.message);
		return 64;
	}
	if (!strcmp(sub, "members"))
		return members(c, argv[optind + 1], raw, sumfile);
	if (!strcmp(sub, "add") || !strcmp(sub, "remove")) {
		c->cmd = !strcmp(sub, "add") ? "lists add" : "lists remove";
		return change(c, argv[optind + 1], !strcmp(sub, "add"), rejfile, sumfile);
	}
	msg(c, "unknown lists subcommand '%s' (members, add, remove)", sub);
	return 64;
}
