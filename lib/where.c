#include "where.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "banned.h"

static const char *const op_text[W_OP_COUNT] = { "=", "!=", "<", "<=", ">", ">=", "~", "?" };

const char *where_op_text(enum where_op op)
{
	return op < W_OP_COUNT ? op_text[op] : "";
}

void where_ops_text(unsigned mask, struct buf *out)
{
	int any = 0;

	for (int i = 0; i < W_OP_COUNT; i++)
		if (mask & W_BIT(i)) {
			buf_addf(out, "%s%s", any ? " " : "", op_text[i]);
			any = 1;
		}
}

static int is_field_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-' || ch == '$' || ch == '@';
}

static char *dup_trim(const char *s, size_t n)
{
	char *o;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!(o = malloc(n + 1)))
		return NULL;
	memcpy(o, s, n);
	o[n] = '\0';
	return o;
}

int where_parse(const char *expr, struct where *w, struct crm_err *err)
{
	const char *p = expr, *f0, *f1;
	int op = -1;

	memset(w, 0, sizeof(*w));
	while (*p == ' ' || *p == '\t')
		p++;
	f0 = p;
	while (is_field_char(*p))
		p++;
	f1 = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (f1 == f0)
		return err_set(err, CRM_EUSAGE, "usage", "--where '%s': takes FIELD OP VALUE (OP one of = != < <= > >= ~) "
			       "or FIELD?", expr);
	/* The two-character operators first. */
	for (int i = W_OP_COUNT - 1; i >= 0 && op < 0; i--) {
		size_t k = strlen(op_text[i]);
		if (k == 2 && !strncmp(p, op_text[i], k))
			op = i;
	}
	for (int i = 0; i < W_OP_COUNT && op < 0; i++)
		if (strlen(op_text[i]) == 1 && *p == op_text[i][0])
			op = i;
	if (op < 0)
		return err_set(err, CRM_EUSAGE, "usage", "--where '%s': no operator after the field (= != < <= > >= ~, "
			       "or FIELD? for has a value)", expr);
	p += strlen(op_text[op]);
	w->op = (enum where_op)op;
	w->given = dup_trim(f0, (size_t)(f1 - f0));
	if (op == W_HAS) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p) {
			where_free(w);
			return err_set(err, CRM_EUSAGE, "usage", "--where '%s': FIELD? takes no value", expr);
		}
		return 0;
	}
	w->value = dup_trim(p, strlen(p));
	if (!w->value || !*w->value) {
		where_free(w);
		return err_set(err, CRM_EUSAGE, "usage", "--where '%s': no value after '%s' (FIELD? asks for a value "
			       "to be there)", expr, op_text[op]);
	}
	return 0;
}

/* Flat CSV names of the list keys: their first (or primary) entry. */
static const struct map_entry *flat_entry(const struct map_entry *m, const char *name)
{
	static const char *const addr[] = { "street_1", "street_2", "city", "state", "postal_code", "country", NULL };
	const struct map_entry *first = NULL;

	for (const struct map_entry *e = m; e && e->key; e++) {
		if ((!strcmp(name, "email") || !strcmp(name, "email_addresses")) &&
		    (e->kind == MK_EMAIL || e->kind == MK_EMAILS)) {
			if (e->flags & MF_PRIMARY)
				return e;
			if (!first)
				first = e;
		}
		if ((!strcmp(name, "phone") || !strcmp(name, "phone_numbers")) && e->kind == MK_PHONE && !first)
			first = e;
		for (int i = 0; addr[i]; i++)
			if (!strcmp(name, addr[i]) && e->kind == MK_ADDR && e->sub && !strcmp(e->sub, name) && !first)
				first = e;
	}
	return first;
}

int where_resolve(struct where *w, const struct map_entry *m, struct crm_err *err)
{
	const struct map_entry *e = NULL;

	for (const struct map_entry *x = m; x && x->key; x++)
		if (!strcmp(x->key, w->given) && x->kind != MK_EMAIL && x->kind != MK_PHONE && x->kind != MK_ADDR) {
			e = x;
			break;
		}
	if (!e)
		e = flat_entry(m, w->given);
	if (e && e->remote[0] == '@')
		return err_set(err, CRM_EUSAGE, "usage", "--where: %s is a relation the CRM keeps apart from the "
			       "record's fields; it cannot be filtered on", w->given);
	free(w->field);
	w->e = e;
	w->field = strdup(e ? e->remote : w->given);
	/* A negated boolean (is_active from archived) compares its opposite. */
	if (e && e->kind == MK_NBOOL && w->value) {
		if (!strcmp(w->value, "true"))
			where_set_value(w, "false");
		else if (!strcmp(w->value, "false"))
			where_set_value(w, "true");
	}
	return 0;
}

void where_set_value(struct where *w, const char *v)
{
	char *n = v ? strdup(v) : NULL;

	free(w->value);
	w->value = n;
}

void where_free(struct where *w)
{
	free(w->given);
	free(w->field);
	free(w->value);
	memset(w, 0, sizeof(*w));
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void where_key(const struct where *w, size_t n, struct buf *out)
{
	char **t = calloc(n ? n : 1, sizeof(*t));

	if (!t)
		return;
	for (size_t i = 0; i < n; i++) {
		struct buf b = BUF_INIT;
		buf_addf(&b, "%s %s%s%s", w[i].given, op_text[w[i].op], w[i].value ? " " : "",
			 w[i].value ? w[i].value : "");
		t[i] = buf_detach(&b, NULL);
	}
	qsort(t, n, sizeof(*t), cmp_text);
	for (size_t i = 0; i < n; i++) {
		buf_addf(out, "%s%s", i ? " and " : "", t[i] ? t[i] : "");
		free(t[i]);
	}
	free(t);
}
