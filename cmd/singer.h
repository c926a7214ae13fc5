/* singer.h: crmsync as a Singer tap (pull --format singer, fields --format
 * singer): the stream's JSON Schema, its catalog entry, its STATE, and
 * the values --map lifts made to fit the type their field declares. */
#ifndef CRM_SINGER_H
#define CRM_SINGER_H

#include <jansson.h>

#include "jv.h"
#include "record.h"

struct state_cursor;

/* The type of each --map out_key, from the provider's field metadata
 * (fields: the provider's field list): {"out_key": "integer" | "number" |
 * "boolean" | "date-time" | "date" | "string" | "any"}.  New reference;
 * keys naming metadata keys (remote_id, ...) are left out: those keep
 * their own type. */
json_t *singer_map_types(enum obj o, const json_t *user_map, const json_t *fields);
/* The JSON Schema of the stream's records: every key a RECORD can carry,
 * remote_raw with raw, the out_keys of types.  New reference. */
json_t *singer_schema(enum obj o, int raw, const json_t *types);
/* {"type": "SCHEMA", "stream", "schema", "key_properties",
 * "bookmark_properties"}; steals schema. */
json_t *singer_schema_message(enum obj o, json_t *schema);
/* {"streams": [the stream's catalog entry]}; steals schema. */
json_t *singer_catalog(enum obj o, json_t *schema);
/* The STATE message: prev (the Singer state the --state file holds, or
 * NULL) with the stream's bookmark set to cur's. */
json_t *singer_state_message(enum obj o, const json_t *prev, const struct state_cursor *cur);
/* Makes a built record fit its SCHEMA: remote_id a string, each --map
 * value of types in its type (HubSpot's "12" for a number field is 12,
 * Salesforce's "...+0000" times are RFC 3339).  A value that cannot be
 * read as its type is left as it is: nothing is lost. */
void singer_fit(const json_t *types, struct jv_doc *d, jv_t rec);

#endif
