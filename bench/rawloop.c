/* The benchmark's floor: fetch every page of a HubSpot-style list with a
 * keep-alive libcurl handle, following paging.next.after with a plain
 * string search and no JSON parsing.  Prints pages and bytes.
 * usage: rawloop URL_WITHOUT_AFTER  (token from HUBSPOT_ACCESS_TOKEN) */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct body { char *p; size_t n, cap; };

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
	struct body *b = ud;
	size_t n = sz * nm;
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

int main(int argc, char **argv)
{
	char url[65536], after[256] = "", auth[4096];
	struct body b = { NULL, 0, 0 };
	struct curl_slist *h = NULL;
	long pages = 0;
	size_t bytes = 0;
	CURL *c;

	if (argc != 2)
		return 2;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", getenv("HUBSPOT_ACCESS_TOKEN") ? getenv("HUBSPOT_ACCESS_TOKEN") : "");
	h = curl_slist_append(h, auth);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	for (;;) {
		if (after[0])
			snprintf(url, sizeof(url), "%s&after=%s", argv[1], after);
		else
			snprintf(url, sizeof(url), "%s", argv[1]);
		curl_easy_setopt(c, CURLOPT_URL, url);
		b.n = 0;
		if (curl_easy_perform(c) != CURLE_OK)
			return 1;
		pages++;
		bytes += b.n;
		/* "paging":{"next":{"after":"X" */
		char *p = b.p ? strstr(b.p, "\"paging\"") : NULL;
		p = p ? strstr(p, "\"after\"") : NULL;
		if (!p)
			break;
		p = strchr(p + 7, '"');
		char *e = p ? strchr(p + 1, '"') : NULL;
		if (!p || !e || (size_t)(e - p - 1) >= sizeof(after))
			break;
		memcpy(after, p + 1, (size_t)(e - p - 1));
		after[e - p - 1] = 0;
	}
	printf("%ld pages, %zu bytes\n", pages, bytes);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(b.p);
	return 0;
}
