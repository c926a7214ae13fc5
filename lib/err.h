/* err.h: one error path for lib/, providers/ and cmd/.
 *
 * Functions below cmd/ return 0 or a negative CRM_E* status and fill the
 * caller's struct crm_err.  cmd/ maps the status to the contract's exit code
 * (err_exit_code) and prints the message; a push result line turns the same
 * struct into its `sync_error`. */
#ifndef CRM_ERR_H
#define CRM_ERR_H

enum crm_status {
	CRM_OK = 0,
	CRM_EFAIL = -1,       /* generic failure */
	CRM_EUSAGE = -2,      /* bad option, unknown object, unsupported op: 64 */
	CRM_EDATA = -3,       /* input data error that stops the run: 65 */
	CRM_EUNAVAIL = -4,    /* unreachable or 5xx after retries: 69 */
	CRM_EOUTPUT = -5,     /* cannot write output, state, rejects: 74 */
	CRM_ETEMP = -6,       /* rate limit or retries exhausted: 75 */
	CRM_EAUTH = -7,       /* authentication or permission refused: 77 */
	CRM_ECONFIG = -8,     /* configuration error: 78 */
	CRM_ERECORD = -9,     /* one record was refused (push result) */
	CRM_ENOTFOUND = -10,  /* the CRM has no such record */
	CRM_EPIPE = -11,      /* the reader of stdout went away */
	CRM_EINTR = -12,      /* interrupted by a signal */
	CRM_EAMBIG = -13,     /* a write whose answer was lost: it may have happened */
};

struct crm_err {
	int status;            /* enum crm_status */
	long http_status;      /* 0 when no HTTP answer */
	char code[64];         /* machine code, e.g. "rate_limited", "INVALID_EMAIL" */
	char field[128];       /* the field at fault, if known */
	char message[512];     /* human text, lowercase start, no secret */
};

#define CRM_ERR_INIT { 0, 0, "", "", "" }

void err_clear(struct crm_err *e);
/* Sets status, code and message (printf-style); returns status. */
int err_set(struct crm_err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The exit code of the contract for a status. */
int err_exit_code(int status);
/* A default code name for a status ("usage", "unavailable", ...). */
const char *err_status_name(int status);

#endif
