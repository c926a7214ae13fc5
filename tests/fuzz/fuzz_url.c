/* Fuzz target: the plain-http check (http_check_secure).  A URL it lets
 * through is https, or http whose host -- as an independent reader,
 * getaddrinfo with numeric hosts only, sees the host libcurl found -- is
 * localhost, 127.0.0.0/8 or ::1.  A user part ("http://127.0.0.1@evil/"),
 * odd IPv4 forms and percent-encoding must never make it say loopback. */
#include <assert.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "err.h"
#include "http.h"

static int numeric_loopback(const char *host)
{
	struct addrinfo hints, *ai = NULL;
	char h[256];
	size_t n = strlen(host);
	int yes = 0;

	if (n >= sizeof(h))
		return 0;
	memcpy(h, host, n + 1);
	if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		memmove(h, h + 1, n - 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(h, NULL, &hints, &ai) != 0)
		return 0;
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ai->ai_addr;
		yes = ((const unsigned char *)&s4->sin_addr)[0] == 127;
	} else if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ai->ai_addr;
		yes = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		      (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127);
	}
	freeaddrinfo(ai);
	return yes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[512];
	struct crm_err err = CRM_ERR_INIT;

	if (size >= sizeof(url) || memchr(data, 0, size))
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	/* "" is no URL set (yet): passes, as nothing is sent to it. */
	if (http_check_secure(url, "CRM", &err) < 0 || !*url)
		return 0;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	assert(u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK);
	assert(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK);
	assert(curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK);
	if (strcasecmp(scheme, "https"))
		assert(!strcasecmp(scheme, "http") && (!strcasecmp(host, "localhost") || numeric_loopback(host)));
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return 0;
}
