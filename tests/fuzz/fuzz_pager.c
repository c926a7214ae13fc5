/* Fuzz target: lib/pager's guard against a naive model.  The input is a
 * paging run, one line a page:
 *   "!"        a new run (pager_guard_reset)
 *   "#TEXT"    a page whose content is TEXT (pager_guard_page, first and
 *              last id TEXT)
 *   TEXT       a page whose next cursor is TEXT (pager_guard_next)
 * and each page holds (line length % 4) records.  A repeated cursor, a
 * repeated non-empty page, and PAGER_EMPTY_MAX empty cursor pages in a row
 * are always reported (CRM_EUNAVAIL, "broken_paging"); nothing else ever
 * is.  After a report the run is over, as it is for a pull. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pager.h"

#define MAX_PAGES 4096

struct seen {
	char *s[MAX_PAGES];
	size_t n;
};

/* 1 if s was in the model's set, else adds it. */
static int model_seen(struct seen *m, const char *s)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->s[i], s))
			return 1;
	m->s[m->n++] = strdup(s);
	return 0;
}

static void model_clear(struct seen *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i]);
	m->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen cursors, pages;
	struct pager_guard g;
	struct crm_err err = CRM_ERR_INIT;
	char *text = malloc(size + 1), *line, *end;
	unsigned empty = 0;
	size_t npages = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	pager_guard_init(&g, "FuzzCRM");
	for (line = text; line && npages < MAX_PAGES; line = end ? end + 1 : NULL, npages++) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		size_t records = strlen(line) % 4;
		int rc, expect;
		if (!strcmp(line, "!")) {
			pager_guard_reset(&g);
			model_clear(&cursors);
			model_clear(&pages);
			empty = 0;
			continue;
		}
		if (line[0] == '#') {
			/* The model keys a page by its content and size. */
			char key[64];
			size_t k = strlen(line + 1) < 40 ? strlen(line + 1) : 40;
			memcpy(key, line + 1, k);
			key[k] = (char)('0' + records);
			key[k + 1] = '\0';
			expect = records && strlen(line + 1) <= 40 && model_seen(&pages, key);
			if (strlen(line + 1) > 40)
				continue; /* the model's keys are short */
			rc = pager_guard_page(&g, NULL, line + 1, line + 1, records, &err);
		} else {
			expect = model_seen(&cursors, line);
			if (!expect)
				empty = records ? 0 : empty + 1;
			expect = expect || empty >= PAGER_EMPTY_MAX;
			rc = pager_guard_next(&g, line, records, &err);
		}
		assert(rc == 0 || rc == CRM_EUNAVAIL);
		assert((rc == CRM_EUNAVAIL) == (expect != 0));
		if (rc) {
			assert(err.status == CRM_EUNAVAIL && !strcmp(err.code, "broken_paging"));
			assert(strstr(err.message, "FuzzCRM returned ") == err.message);
			assert(strstr(err.message, "the CRM's paging is broken; stopping"));
			break;
		}
	}
	pager_guard_release(&g);
	model_clear(&cursors);
	model_clear(&pages);
	free(text);
	return 0;
}
