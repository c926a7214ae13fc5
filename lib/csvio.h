/* csvio.h: records as CSV rows (pull --format csv, push --format csv).
 *
 * A CSV file holds one object's records, one row each, under a header row
 * of flat column names: the unified keys, with the primary email, the
 * first phone number and the first address flattened (email, email_type,
 * phone, phone_type, street_1, ..., address_type), the --map keys, the
 * metadata, then remote_fields.NAME.  Nested entries beyond the first are
 * not in CSV.  Rows are RFC 4180 (parsed by libcsv; quoted with its rules),
 * written with CRLF line ends; a reader accepts CRLF or LF, an Excel
 * byte-order mark, and ',' or ';' as the separator (told by the header).
 * Nothing here prints or knows a CRM. */
#ifndef CRM_CSVIO_H
#define CRM_CSVIO_H

#include <jansson.h>
#include <csv.h>
#include <stddef.h>

#include "buf.h"
#include "jv.h"
#include "map.h"
#include "record.h"

struct crm_err;

enum csv_kind {
	CK_KEY,        /* a top-level key of the record, same name */
	CK_EMAIL, CK_EMAIL_TYPE,
	CK_PHONE, CK_PHONE_TYPE,
	CK_ADDR, CK_ADDR_TYPE,
	CK_REMOTE,     /* remote_fields.NAME */
};

struct csv_col {
	char *name;        /* the column's header name */
	enum csv_kind kind;
	const char *key;   /* CK_KEY: the key; CK_ADDR: the address part; CK_REMOTE: the field */
	enum utype type;   /* CK_KEY: the value's type (UT_STRING for metadata and --map keys) */
};

struct csv_cols {
	struct csv_col *v;
	size_t n;
};

void csv_cols_release(struct csv_cols *c);

/* pull --columns LIST, before any request: every name that is not
 * remote_fields.NAME must be a column of o (CRM_EUSAGE naming the known
 * ones).  list may be NULL. */
int csvio_check_columns(enum obj o, const char *list, const json_t *user_map, int deleted,
			struct crm_err *err);
/* The pull's columns: list (comma-separated, as given) or the default
 * ones, the remote fields from `fields` (the provider's field metadata):
 * those that no entry of the provider's table m maps (the ones `crmsync
 * fields` shows with "unified": null) nor --map takes.  CRM_EUSAGE for
 * an unknown name. */
int csvio_columns(enum obj o, const json_t *fields, const struct map_entry *m, const json_t *user_map, int deleted,
		  const char *list, struct csv_cols *out, struct crm_err *err);
/* Appends the header row, or record rec's row, and a CR (the caller's
 * writer adds the LF: rows end with CRLF). */
int csvio_header(struct buf *b, const struct csv_cols *cols, char sep);
int csvio_row(struct buf *b, const struct csv_cols *cols, const struct jv_doc *d, jv_t rec, char sep);

/* ---- reading ---- */

struct csv_reader {
	int fd;
	char sep;
	int bom;                 /* the input began with a UTF-8 byte-order mark */
	long lineno;             /* the physical line being read (1-based) */
	long row_line;           /* the first physical line of the row read */
	struct csv_parser p;
	int row_done, at_end;
	int lost;                /* a cell of the row did not fit (memory, ROW_MAX) */
	struct buf cells;        /* the row's cells, each NUL-terminated */
	size_t *off, *len, ncells, capcells;
	char **head;             /* the header's names */
	size_t nhead;
	char in[65536];
	size_t inpos, inlen;
	int eof;
	void (*wait)(void *ctx, int fd, short events); /* as ndjson_reader's */
	void *wait_ctx;
};

int csvr_init(struct csv_reader *r, int fd);
void csvr_release(struct csv_reader *r);
/* Reads the header row: 1 when read, 0 when the input is empty, or
 * CRM_EDATA on a read error. */
int csvr_header(struct csv_reader *r, struct crm_err *err);
/* Reads the next row that has a non-empty cell: 1 with the cells set, 0 at
 * the end, or CRM_EDATA on a read error. */
int csvr_row(struct csv_reader *r, struct crm_err *err);
/* The push's columns from the header: each a flat name of o, a --map key
 * or remote_fields.NAME (CRM_EDATA naming the first that is not). */
int csvio_push_columns(enum obj o, const struct csv_reader *r, const json_t *user_map,
		       struct csv_cols *out, struct crm_err *err);
/* The row as the JSON record the NDJSON path would get, into json: 0, or
 * CRM_ERECORD with rowerr set (invalid_csv: a wrong number of cells, a NUL
 * byte; invalid_utf8). */
int csvr_json(const struct csv_reader *r, const struct csv_cols *cols, struct buf *json,
	      struct crm_err *rowerr);
/* The row (or the header, with the byte-order mark if the input had one)
 * as CSV again, in the input's separator, ending with a CR as above. */
int csvr_requote(const struct csv_reader *r, struct buf *b);
int csvr_requote_header(const struct csv_reader *r, struct buf *b);

#endif
