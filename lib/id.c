/* id.c: id syntaxes and ids as path segments (see id.h). */
#include "id.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* n bytes of s all pass ok. */
static int all(const char *s, size_t n, int (*ok)(unsigned char))
{
	for (size_t i = 0; i < n; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return 1;
}

static int is_guidish(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '_';
}

static int is_text(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '/' && c != '?' && c != '#' && c != '%' && c != '\\';
}

static int is_name(unsigned char c)
{
	return c >= ' ' && c != 0x7f;
}

int id_valid(enum id_syntax s, const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (!n)
		return 0;
	switch (s) {
	case ID_DIGITS:
		return n <= 20 && all(id, n, is_digit);
	case ID_SFDC:
		return (n == 15 || n == 18) && all(id, n, is_alnum);
	case ID_UUID:
		if (n != 36)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (i == 8 || i == 13 || i == 18 || i == 23 ? id[i] != '-' : !is_hex((unsigned char)id[i]))
				return 0;
		return 1;
	case ID_GUIDISH:
		return n <= 36 && all(id, n, is_guidish);
	case ID_NAME:
		return n <= 255 && all(id, n, is_name);
	case ID_DEFAULT:
	case ID_TEXT:
		break;
	}
	return n <= 255 && all(id, n, is_text) && strcmp(id, ".") && strcmp(id, "..");
}

const char *id_syntax_text(enum id_syntax s)
{
	switch (s) {
	case ID_DIGITS:
		return "digits, at most 20";
	case ID_SFDC:
		return "15 or 18 letters and digits";
	case ID_UUID:
		return "UUIDs, 8-4-4-4-12 hex digits";
	case ID_GUIDISH:
		return "at most 36 letters, digits, '-' or '_'";
	case ID_NAME:
		return "text without control characters";
	case ID_DEFAULT:
	case ID_TEXT:
		break;
	}
	return "text without '/', '?', '#', '%', '\\', spaces or control characters";
}

int id_check(enum id_syntax s, const char *id, const char *crm, const char *kind, const char *what,
	     struct crm_err *err)
{
	char shown[48];
	size_t n = 0;

	if (id_valid(s, id))
		return 0;
	/* The id as it can be shown: cut, control bytes as '?'. */
	for (const char *p = id ? id : ""; *p && n < 40; p++)
		shown[n++] = (unsigned char)*p < ' ' || *p == 0x7f ? '?' : *p;
	if (id && strlen(id) > n) {
		memcpy(shown + n, "...", 3);
		n += 3;
	}
	shown[n] = '\0';
	err_set(err, CRM_ERECORD, "invalid_id", "%s \"%s\" is not a %s%s%s id: %s%s%s ids are %s", what, shown,
		crm, kind ? " " : "", kind ? kind : "", crm, kind ? " " : "", kind ? kind : "", id_syntax_text(s));
	snprintf(err->field, sizeof(err->field), "%s", what);
	return CRM_ERECORD;
}

int id_path_add(struct buf *path, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (is_guidish(c)) {
			if (buf_addc(path, (char)c) < 0)
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (buf_add(path, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}
