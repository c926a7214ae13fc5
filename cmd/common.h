/* common.h: what every subcommand shares: the run context, the connection,
 * object arguments, messages, --map files and record building.  Only cmd/
 * prints; this is where it does. */
#ifndef CRM_CMD_COMMON_H
#define CRM_CMD_COMMON_H

#include <getopt.h>
#include <jansson.h>

#include "err.h"
#include "jv.h"
#include "ndjson.h"
#include "record.h"

struct provider;
struct config;
struct http;
struct conn;
struct summary;
struct options;

struct ctx {
	const char *cmd;              /* "pull", "lists add", ... for messages */
	const struct provider *prov;  /* NULL when none was given */
	const char *provider_name;
	const char *profile;          /* NULL = none */
	const char *base_url;
	const char *base_url_arg;     /* --base-url or CRMSYNC_BASE_URL, if given */
	const char *cacert;           /* --cacert FILE */
	struct config *cfg;
	struct http *http;
	struct conn *conn;
	int verbose, quiet, progress;
	int bulk;                     /* --bulk given (pull, push) */
	struct ndjson_writer out;     /* stdout */
	struct options *opts[OBJ_COUNT]; /* option fields' labels, loaded by ctx_options */
	char run_id[64];
};

/* Prints "crmsync: <cmd>: <message>" on stderr (unless it is a quiet info). */
void msg(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void info(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints err's message and returns its exit code. */
int fail_with(const struct ctx *c, const struct crm_err *err);

/* Opens HTTP and the provider's connection (credentials checked here). */
int ctx_connect(struct ctx *c, struct crm_err *err);
void ctx_release(struct ctx *c);
/* Parses an OBJECT argument and checks the provider has it with caps. */
int ctx_object(struct ctx *c, const char *arg, unsigned caps, enum obj *out, struct crm_err *err);

/* Reads a --values file: {"key": {"from": "to"}} per unified key. */
int values_file_load(const char *path, json_t **out, struct crm_err *err);
/* Loads the option lists of object o (lib/options) when its table has
 * option fields: one fields() call; nothing otherwise. */
int ctx_options(struct ctx *c, enum obj o, struct crm_err *err);

/* Reads a --map file: {"out_key": "provider_field"}.  *out: new reference. */
int map_file_load(const char *path, json_t **out, struct crm_err *err);
/* Checks every provider field of map against the provider's fields of o
 * (usage error naming the first unknown one); a field given by its label
 * or one of its "aliases" is replaced by its name. */
int map_file_check(struct ctx *c, enum obj o, json_t *map, struct crm_err *err);

/* Builds the unified record of an envelope, both in document d (the
 * record shares the envelope's values, and ns and synced_at by pointer:
 * write it before d is rewound or they change). */
jv_t record_build(struct ctx *c, enum obj o, struct jv_doc *d, jv_t env, const json_t *user_map,
		  int raw, const char *ns, const char *synced_at);

/* Reports the option getopt refused (opterr is off) as "crmsync: CMD: ..."; returns 64. */
int bad_option(const struct ctx *c, int argc, char **argv);
/* Bounded numeric option: 0 and *out set, or CRM_EUSAGE. */
int parse_long(const char *opt, const char *s, long min, long max, long *out, struct crm_err *err);

/* The run's one summary line on stderr: "crmsync: push contacts: ...". */
void summary_print(const struct ctx *c, const struct summary *s);
/* Flushes stdout and checks it: 0, CRM_EPIPE (reader gone) or CRM_EOUTPUT. */
int ctx_finish_stdout(struct ctx *c, struct crm_err *err);

extern const struct option pull_options[], push_options[], fields_options[], status_options[],
	lists_options[];
int cmd_pull(struct ctx *c, int argc, char **argv);
int cmd_push(struct ctx *c, int argc, char **argv);
int cmd_fields(struct ctx *c, int argc, char **argv);
int cmd_status(struct ctx *c, int argc, char **argv);
int cmd_lists(struct ctx *c, int argc, char **argv);

#endif
