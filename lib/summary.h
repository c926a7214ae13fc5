/* summary.h: counts of a run, its one-line summary, --summary JSON and
 * the progress line. */
#ifndef CRM_SUMMARY_H
#define CRM_SUMMARY_H

#include <stdio.h>

struct buf;
struct http_stats;
struct crm_err;

enum sum_count { SUM_CREATED, SUM_UPDATED, SUM_UNCHANGED, SUM_SKIPPED, SUM_FAILED, SUM_DELETED, SUM_NCOUNTS };

/* Distinct failure codes a summary counts; more fall under "other". */
#define SUM_NFAILS 16

struct summary {
	const char *command;   /* "pull", "push", "lists add" */
	const char *object;    /* "contacts" */
	const char *provider;  /* for --summary: set by the command, NULL = none */
	const char *profile;
	const char *list;      /* lists members|add|remove: the LIST */
	long records;          /* records written (pull) or lines read (push) */
	long long total;       /* records expected (progress line), -1 unknown */
	long counts[SUM_NCOUNTS];
	struct { char code[64]; long n; } fails[SUM_NFAILS]; /* failed records per code */
	int nfails;
	long long started_ms, started_mono;
	long long last_progress;
	char run_id[64];
	int push;              /* print push counts */
};

void summary_init(struct summary *s, const char *command, const char *object, int push);
/* `push contacts: 10 records: 9 created, ... in 1.2s (8/s)` into b. */
void summary_line(const struct summary *s, struct buf *b);
/* Counts one failed record under its code. */
void summary_fail(struct summary *s, const char *code);
/* Checks, before a run starts, that path can take the run's line: opens it
 * as summary_write_json does (creating it) and closes it.  CRM_EOUTPUT. */
int summary_check(const char *path, struct crm_err *err);
/* Appends the JSON summary to path as one line, with one write() on an
 * O_APPEND descriptor, so runs finishing at once never mix their lines.
 * A symbolic link and anything but a regular file are refused.
 * CRM_EOUTPUT on failure. */
int summary_write_json(const struct summary *s, const struct http_stats *hs, const char *path,
		       struct crm_err *err);
/* Rewrites the progress line on f at most every 200 ms (force: now). */
void summary_progress(struct summary *s, FILE *f, int force);
/* The run id "r-YYYYMMDDTHHMMSSZ-xxxx". */
void summary_make_run_id(char out[64]);

#endif
