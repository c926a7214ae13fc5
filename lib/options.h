/* options.h: option fields (picklists) travel as the label a person sees.
 *
 * A provider marks the entries of its field tables that are options
 * (MF_OPTION; a deal's stage MF_STAGE, its pipeline MF_PIPELINE) and its
 * fields() lists each such field's options as {"value", "label"}, a stage
 * also with "pipeline" (the pipeline's value), "status" ("OPEN", "WON",
 * "LOST") and "probability" (0 to 100).  From those facts alone this file
 * does the rest for every CRM:
 *  - pull: the unified key gets the option's label, remote_fields keeps
 *    the CRM's code under its own field name; a deal's status and
 *    probability follow from its stage;
 *  - push: a value is matched to the target's options by label (exactly,
 *    then with case, accents, spaces and punctuation ignored), then by
 *    code, after the user's --values translation; a deal's stage is looked
 *    up within its pipeline, and when none matches its status picks one;
 *    a stage whose status is not the deal's gives way to the pipeline's
 *    stage of that status.  A value with no match is left out of the
 *    write and reported. */
#ifndef CRM_OPTIONS_H
#define CRM_OPTIONS_H

#include <jansson.h>

#include "jv.h"
#include "map.h"

struct options;

/* The option lists of table m's option fields, read from fields (the
 * provider's fields() array).  NULL when m has no option field (or none
 * of them has options): nothing to do. */
struct options *options_new(const struct map_entry *m, const json_t *fields);
void options_free(struct options *o);

/* Pull: rec was built from the provider fields `fields` by map_pull. */
void options_pull(const struct options *o, struct jv_doc *d, jv_t fields, jv_t rec);

/* Push: out holds the provider fields map_push made of record rec (both
 * in d); the option fields among them get the target's codes for rec's
 * values.  values: --values {"key": {"from": "to"}} or NULL; existing:
 * the record names a record of this CRM (a new deal gets an open stage,
 * an existing one keeps its own).  A value with no match is left out of
 * out, and warn is called: code "unknown_option", the unified key, the
 * value; a stage replaced by the one of the deal's status: code
 * "not_stored", "stage", the stage given.  rec is not changed (its result
 * line shows what was given). */
void options_push(const struct options *o, const json_t *values, struct jv_doc *d, jv_t rec, jv_t out,
		  int existing, void (*warn)(void *ctx, const char *code, const char *field, const char *value),
		  void *ctx);

/* pull --where: the code of the option of provider field `remote` that
 * value names (a label, matched as push matches it, or a code), or NULL
 * when the field has no options or none matches.  CRMs filter on codes. */
const char *options_code(const struct options *o, const char *remote, const char *value);

/* Label equality as push sees it (case, accents, spaces, punctuation
 * ignored): exposed for the tests and --values. */
int options_same_label(const char *a, const char *b);

#endif
