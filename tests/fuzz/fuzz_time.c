/* Fuzz target: time_canonical says 1 exactly when time_format writes back
 * what time_parse read (the fast path of pulled times must not change a
 * single record). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], out[TIME_BUFSZ];
	long long ms;

	if (size >= sizeof(s) || memchr(data, 0, size))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int same = time_parse(s, &ms) == 0 && (time_format(ms, out), !strcmp(out, s));
	assert(time_canonical(s, size) == same);
	return 0;
}
