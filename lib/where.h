/* where.h: pull --where EXPR, parsed once.
 *
 * EXPR is `FIELD OP VALUE` (OP one of = != < <= > >= ~) or `FIELD?` (has a
 * value).  FIELD is a unified key (or a flat CSV name: email, phone, city,
 * ...) or a provider field; where_resolve() turns a unified key into the
 * provider field through the object's map table, so providers only ever
 * see their own field names.  Each provider says which conditions its
 * CRM's own filter can express (struct provider's where_can): cmd/pull
 * refuses the others with exit 64 before any call. */
#ifndef CRM_WHERE_H
#define CRM_WHERE_H

#include "map.h"

struct buf;
struct crm_err;

enum where_op { W_EQ, W_NE, W_LT, W_LE, W_GT, W_GE, W_CONTAINS, W_HAS, W_OP_COUNT };

#define W_BIT(op) (1u << (op))
#define W_ALL ((1u << W_OP_COUNT) - 1)

struct where {
	char *given;                /* FIELD as the user wrote it */
	char *field;                /* the provider field (where_resolve) */
	const struct map_entry *e;  /* its map entry, or NULL for a provider field */
	enum where_op op;
	char *value;                /* NULL for W_HAS; an option label becomes its code */
};

/* Parses one EXPR into w (CRM_EUSAGE naming what is wrong). */
int where_parse(const char *expr, struct where *w, struct crm_err *err);
/* Sets w->field (and w->e) from w->given and the object's table m.  A
 * relation kept as a pseudo-field ("@...") or a list key that has no
 * single provider field is CRM_EUSAGE. */
int where_resolve(struct where *w, const struct map_entry *m, struct crm_err *err);
/* Replaces w->value (a copy is made). */
void where_set_value(struct where *w, const char *v);
void where_free(struct where *w);
/* The operator as written: "=", "~", "?" ... */
const char *where_op_text(enum where_op op);
/* The operators of mask as text, for messages: "= != ~ ?". */
void where_ops_text(unsigned mask, struct buf *out);
/* The filters as one canonical text (sorted, so the order they were given
 * in does not matter): the state file's entry of a filtered pull is keyed
 * by it.  Adds "FIELD OP VALUE" joined by " and " to out. */
void where_key(const struct where *w, size_t n, struct buf *out);

#endif
