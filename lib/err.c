#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

void err_clear(struct crm_err *e)
{
	/* Not a memset of the whole: the texts are read up to their NUL. */
	e->status = 0;
	e->http_status = 0;
	e->code[0] = e->field[0] = e->message[0] = '\0';
}

int err_set(struct crm_err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return status;
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code ? code : err_status_name(status));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return status;
}

int err_exit_code(int status)
{
	switch (status) {
	case CRM_OK: return 0;
	case CRM_EUSAGE: return 64;
	case CRM_EDATA: return 65;
	case CRM_EUNAVAIL: return 69;
	case CRM_EAMBIG: return 69;
	case CRM_EOUTPUT: return 74;
	case CRM_ETEMP: return 75;
	case CRM_EAUTH: return 77;
	case CRM_ECONFIG: return 78;
	case CRM_EPIPE: return 0;
	case CRM_EINTR: return 130;
	case CRM_ERECORD: return 1;
	case CRM_ENOTFOUND: return 1;
	default: return 70;
	}
}

const char *err_status_name(int status)
{
	switch (status) {
	case CRM_OK: return "ok";
	case CRM_EUSAGE: return "usage";
	case CRM_EDATA: return "invalid_data";
	case CRM_EUNAVAIL: return "unavailable";
	case CRM_EOUTPUT: return "output_error";
	case CRM_ETEMP: return "temporary_failure";
	case CRM_EAUTH: return "auth_refused";
	case CRM_ECONFIG: return "config_error";
	case CRM_ERECORD: return "rejected";
	case CRM_ENOTFOUND: return "not_found";
	case CRM_EPIPE: return "broken_pipe";
	case CRM_EINTR: return "interrupted";
	case CRM_EAMBIG: return "outcome_unknown";
	default: return "error";
	}
}
