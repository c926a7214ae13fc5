#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "banned.h"

/* One option of a field: its code, its label, and for a deal stage the
 * facts the CRM keeps about it. */
struct opt {
	const char *code, *label, *pipeline; /* borrowed from the fields array (kept) */
	char *norm;                          /* the label, normalised */
	char *ncode;                         /* the code, normalised */
	char status;                         /* 'O', 'W', 'L', or 0 when not told */
	double prob;                         /* 0..100, or -1 */
};

struct ofield {
	const struct map_entry *e;
	struct opt *v;
	size_t n;
};

struct options {
	json_t *fields;                      /* kept: the strings above live in it */
	struct ofield *f;
	size_t n;
	const struct ofield *stage, *pipeline;
};

/* Unicode letters with an accent that Latin-script CRMs use (U+00C0 to
 * U+00FF), as their base letter; 0 = not a letter. */
static const char latin1[64] = "aaaaaaaceeeeiiiidnooooo ouuuuyts" "aaaaaaaceeeeiiiidnooooo ouuuuyty";

/* Lowercase ASCII letters and digits only: accents dropped (Latin-1
 * letters and the common Latin Extended-A ones), every other byte of
 * punctuation or space skipped, other characters kept as they are. */
static char *normalise(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n + 1), *w = o;

	if (!o)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		if (*p < 0x80) {
			if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))
				*w++ = (char)*p;
			else if (*p >= 'A' && *p <= 'Z')
				*w++ = (char)(*p - 'A' + 'a');
			p++;
			continue;
		}
		if ((p[0] == 0xC3) && p[1] >= 0x80 && p[1] <= 0xBF) {
			char b = latin1[p[1] - 0x80];
			if (b != ' ')
				*w++ = b;
			p += 2;
			continue;
		}
		if (p[0] == 0xC5 || p[0] == 0xC4) {
			/* U+0100..U+017F (Latin Extended-A): the base letter. */
			static const char ext[128] =
				"aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii"
				"ii" "jj" "kkk" "llllllllll" "nnnnnnnnn" "oooooo" "oo" "rrrrrr" "ssssssss"
				"tttttt" "uuuuuuuuuuuu" "ww" "yyy" "zzzzzz" "s";
			unsigned cp = ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
			if (p[1] >= 0x80 && p[1] <= 0xBF && cp >= 0x100 && cp < 0x180) {
				*w++ = ext[cp - 0x100];
				p += 2;
				continue;
			}
		}
		*w++ = (char)*p++;
	}
	*w = '\0';
	return o;
}

int options_same_label(const char *a, const char *b)
{
	char *x = normalise(a), *y = normalise(b);
	int same = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return same;
}

static void load_field(struct ofield *f, const json_t *def)
{
	const json_t *opts = json_object_get(def, "options"), *op;
	size_t i;

	f->v = calloc(json_array_size(opts) + 1, sizeof(*f->v));
	if (!f->v)
		return;
	json_array_foreach(opts, i, op) {
		char tmp[32];
		const char *code = jx_str(op, "value"), *label = jx_str(op, "label");
		const char *st = jx_str(op, "status");
		const char *prob = jx_text(json_object_get(op, "probability"), tmp, sizeof(tmp));
		struct opt *x = &f->v[f->n];
		if (!code && !(code = jx_text(json_object_get(op, "value"), tmp, sizeof(tmp))))
			continue;
		/* A numeric code (Pipedrive's stage ids) becomes text, kept in op. */
		if (!json_is_string(json_object_get(op, "value")))
			json_object_set_new((json_t *)op, "value", json_string(code)), code = jx_str(op, "value");
		x->code = code;
		x->label = label ? label : code;
		x->pipeline = jx_str(op, "pipeline");
		x->norm = normalise(x->label);
		x->ncode = normalise(code);
		x->status = !st ? 0 : !strcmp(st, "WON") ? 'W' : !strcmp(st, "LOST") ? 'L' : 'O';
		x->prob = prob ? strtod(prob, NULL) : -1;
		f->n++;
	}
}

struct options *options_new(const struct map_entry *m, const json_t *fields)
{
	struct options *o = calloc(1, sizeof(*o));
	size_t cap = 0, i;
	const json_t *def;

	if (!o)
		return NULL;
	for (const struct map_entry *e = m; e && e->key; e++)
		cap += (e->flags & (MF_OPTION | MF_STAGE | MF_PIPELINE)) != 0;
	o->f = cap ? calloc(cap, sizeof(*o->f)) : NULL;
	o->fields = json_incref((json_t *)fields);
	for (const struct map_entry *e = m; o->f && e && e->key; e++) {
		if (!(e->flags & (MF_OPTION | MF_STAGE | MF_PIPELINE)))
			continue;
		json_array_foreach(fields, i, def) {
			const char *name = jx_str(def, "name");
			if (!name || strcmp(name, e->remote) || !json_array_size(json_object_get(def, "options")))
				continue;
			struct ofield *f = &o->f[o->n];
			f->e = e;
			load_field(f, def);
			if (!f->n)
				break;
			o->n++;
			if (e->flags & MF_STAGE)
				o->stage = f;
			if (e->flags & MF_PIPELINE)
				o->pipeline = f;
			break;
		}
	}
	if (!o->n) {
		options_free(o);
		return NULL;
	}
	return o;
}

void options_free(struct options *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		for (size_t j = 0; j < o->f[i].n; j++) {
			free(o->f[i].v[j].norm);
			free(o->f[i].v[j].ncode);
		}
		free(o->f[i].v);
	}
	free(o->f);
	json_decref(o->fields);
	free(o);
}

static const struct opt *by_code(const struct ofield *f, const char *code, const char *pipeline)
{
	for (size_t i = 0; code && i < f->n; i++)
		if (!strcmp(f->v[i].code, code) && (!pipeline || !f->v[i].pipeline || !strcmp(f->v[i].pipeline, pipeline)))
			return &f->v[i];
	return NULL;
}

/* ---- pull ---- */

void options_pull(const struct options *o, struct jv_doc *d, jv_t fields, jv_t rec)
{
	jv_t rf = jv_get(d, rec, "remote_fields");
	char tmp[64];

	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		const struct ofield *f = &o->f[i];
		jv_t raw = jv_get(d, fields, f->e->remote);
		const char *code = jv_text(d, raw, tmp, sizeof(tmp));
		const char *pl = o->pipeline ? jv_str(d, fields, o->pipeline->e->remote) : NULL;
		const struct opt *x = by_code(f, code, f == o->stage ? pl : NULL);
		if (!code || !*code)
			continue;
		/* The code stays under the CRM's own name. */
		if (rf)
			jv_set(d, rf, f->e->remote, raw);
		if (x)
			jv_set(d, rec, f->e->key, jv_string_ref(d, x->label));
		if (f == o->stage && x && x->status)
			jv_set(d, rec, "status", jv_string_ref(d, x->status == 'W' ? "WON" : x->status == 'L' ? "LOST" : "OPEN"));
		if (f == o->stage && x && x->prob >= 0)
			jv_set(d, rec, "probability", x->prob == (double)(long long)x->prob ? jv_int(d, (long long)x->prob)
											     : jv_real(d, x->prob));
	}
}

/* ---- push ---- */

/* The option that value v names, within pipeline pl where the field is
 * a stage (NULL: any). */
static const struct opt *find(const struct ofield *f, const char *v, const char *pl)
{
	char *n;
	const struct opt *hit = NULL;

#define IN_PIPELINE(x) (!pl || !(x)->pipeline || !strcmp((x)->pipeline, pl))
	for (size_t i = 0; i < f->n; i++)
		if (IN_PIPELINE(&f->v[i]) && !strcmp(f->v[i].label, v))
			return &f->v[i];
	if (!(n = normalise(v)))
		return NULL;
	for (size_t i = 0; !hit && i < f->n; i++)
		if (IN_PIPELINE(&f->v[i]) && f->v[i].norm && *n && !strcmp(f->v[i].norm, n))
			hit = &f->v[i];
	for (size_t i = 0; !hit && i < f->n; i++)
		if (IN_PIPELINE(&f->v[i]) && !strcmp(f->v[i].code, v))
			hit = &f->v[i];
	for (size_t i = 0; !hit && i < f->n; i++)
		if (IN_PIPELINE(&f->v[i]) && f->v[i].ncode && *n && !strcmp(f->v[i].ncode, n))
			hit = &f->v[i];
#undef IN_PIPELINE
	free(n);
	return hit;
}

/* The first stage of pipeline pl with status st ('W', 'L', 'O'). */
static const struct opt *stage_by_status(const struct ofield *f, const char *pl, char st)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].status == st && (!pl || !f->v[i].pipeline || !strcmp(f->v[i].pipeline, pl)))
			return &f->v[i];
	return NULL;
}

/* The value of key after --values: the user's translation first. */
static const char *translated(const json_t *values, const char *key, const char *v)
{
	const json_t *t = json_object_get(json_object_get(values, key), v);
	return json_is_string(t) ? json_string_value(t) : v;
}

void options_push(const struct options *o, const json_t *values, struct jv_doc *d, jv_t rec, jv_t out,
		  int existing, void (*warn)(void *ctx, const char *code, const char *field, const char *value),
		  void *ctx)
{
	char tmp[64];
	const char *pl = NULL;

	if (!o)
		return;
	/* The pipeline first: a stage is looked up within it. */
	if (o->pipeline) {
		const struct map_entry *e = o->pipeline->e;
		const char *v = jv_text(d, jv_get(d, rec, e->key), tmp, sizeof(tmp));
		const struct opt *x = v && *v ? find(o->pipeline, translated(values, e->key, v), NULL) : NULL;
		if (v && *v && !x)
			warn(ctx, "unknown_option", e->key, v);
		if (x)
			jv_set(d, out, e->remote, jv_string_ref(d, x->code));
		else if (v && *v)
			jv_del(d, out, e->remote);
		pl = x ? x->code : NULL;
	}
	for (size_t i = 0; i < o->n; i++) {
		const struct ofield *f = &o->f[i];
		const struct map_entry *e = f->e;
		if (f == o->pipeline)
			continue;
		const char *v = jv_text(d, jv_get(d, rec, e->key), tmp, sizeof(tmp));
		const struct opt *x = NULL;
		if (v && *v) {
			/* A stage of the named pipeline, else of any. */
			x = find(f, translated(values, e->key, v), f == o->stage ? pl : NULL);
			if (!x)
				warn(ctx, "unknown_option", e->key, v);
		}
		if (f == o->stage && !x) {
			/* No stage matched: the deal's status picks one (a new deal
			 * that is OPEN gets the first open stage; an existing one
			 * keeps its own). */
			const char *st = jv_str(d, rec, "status");
			char want = !st ? 0 : !strcmp(st, "WON") ? 'W' : !strcmp(st, "LOST") ? 'L'
				  : !strcmp(st, "OPEN") && !existing ? 'O' : 0;
			if (want)
				x = stage_by_status(f, pl, want);
		} else if (f == o->stage && x->status) {
			/* A stage whose status is not the deal's (a CRM that keeps
			 * status apart: lost at "Contract Sent"): here the status
			 * follows from the stage, so one of them cannot be stored.
			 * The status wins, a lost deal never shows as open; the
			 * stage given is said to be left out. */
			const char *st = jv_str(d, rec, "status");
			char want = !st ? 0 : !strcmp(st, "WON") ? 'W' : !strcmp(st, "LOST") ? 'L' : !strcmp(st, "OPEN") ? 'O' : 0;
			const struct opt *y = want && want != x->status ? stage_by_status(f, pl ? pl : x->pipeline, want) : NULL;
			if (y) {
				warn(ctx, "not_stored", e->key, v);
				x = y;
			}
		}
		if (x) {
			jv_set(d, out, e->remote, jv_string_ref(d, x->code));
			/* A stage names its pipeline: they go together. */
			if (f == o->stage && o->pipeline && x->pipeline && !pl)
				jv_set(d, out, o->pipeline->e->remote, jv_string_ref(d, x->pipeline));
		} else if (v && *v) {
			jv_del(d, out, e->remote);
		}
	}
}

/* ---- filters ---- */

const char *options_code(const struct options *o, const char *remote, const char *value)
{
	for (size_t i = 0; o && value && i < o->n; i++)
		if (!strcmp(o->f[i].e->remote, remote)) {
			const struct opt *x = find(&o->f[i], value, NULL);
			return x ? x->code : NULL;
		}
	return NULL;
}
