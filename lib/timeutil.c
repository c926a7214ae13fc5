#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banned.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long yy = (long long)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int time_parse(const char *s, long long *ms)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;

	if (!s || !*s)
		return -1;
	/* All digits and long: epoch milliseconds.  (An ISO date's digits
	 * end at its fifth byte.) */
	size_t nd = 0;
	while (s[nd] >= '0' && s[nd] <= '9')
		nd++;
	if (!s[nd] && nd >= 9) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
		*ms = v;
		return 0;
	}
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	long long off_ms = 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
		}
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*p == '.' || *p == ',') {
			int n = 0;
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p)) {
				if (n < 3)
					frac = frac * 10 + (*p - '0');
				n++;
				p++;
			}
			while (n < 3) {
				frac *= 10;
				n++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om = 0;
			p++;
			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (*p && digits(&p, 2, &om))
				return -1;
			off_ms = sign * ((long long)oh * 3600 + om * 60) * 1000;
		} else if (*p) {
			return -1;
		}
	}
	if (*p)
		return -1;
	long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ms = ((days * 86400 + h * 3600LL + mi * 60LL + sec) * 1000 + frac) - off_ms;
	return 0;
}

/* Two digits at s, or -1. */
static int two(const char *s)
{
	unsigned a = (unsigned)s[0] - '0', b = (unsigned)s[1] - '0';
	return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

int time_canonical(const char *s, size_t n)
{
	static const unsigned char mdays[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	/* "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.mmmZ", the fraction
	 * not .000 (time_format leaves that out). */
	if (n != 20 && n != 24)
		return 0;
	int y1 = two(s), y2 = two(s + 2), mo = two(s + 5), d = two(s + 8);
	int h = two(s + 11), mi = two(s + 14), sec = two(s + 17);
	if ((y1 | y2 | mo | d | h | mi | sec) < 0 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[n - 1] != 'Z')
		return 0;
	/* Values time_format would write back unchanged: no leap second, no
	 * 31st of a short month, no 29th of February outside a leap year. */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo] || h > 23 || mi > 59 || sec > 59)
		return 0;
	int y = y1 * 100 + y2;
	if (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400)))
		return 0;
	if (n == 24) {
		unsigned a = (unsigned)s[20] - '0', b = (unsigned)s[21] - '0', c = (unsigned)s[22] - '0';
		if (s[19] != '.' || a > 9 || b > 9 || c > 9 || (a | b | c) == 0)
			return 0;
	}
	return 1;
}

void time_format(long long ms, char out[TIME_BUFSZ])
{
	long long s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int frac = (int)(ms - s * 1000);
	long long days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
	long long rem = s - days * 86400;
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		/* Outside four digits: printf's spelling. */
		if (frac)
			snprintf(out, TIME_BUFSZ, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
				 (int)(rem / 3600 % 24), (int)(rem / 60 % 60), (int)(rem % 60), frac % 1000);
		else
			snprintf(out, TIME_BUFSZ, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
				 (int)(rem / 3600 % 24), (int)(rem / 60 % 60), (int)(rem % 60));
		return;
	}
	/* By hand: one per time value of every record pulled. */
	int hh = (int)(rem / 3600 % 24), mi = (int)(rem / 60 % 60), ss = (int)(rem % 60);
	char *o = out;
	*o++ = (char)('0' + y / 1000);
	*o++ = (char)('0' + y / 100 % 10);
	*o++ = (char)('0' + y / 10 % 10);
	*o++ = (char)('0' + y % 10);
	*o++ = '-';
	*o++ = (char)('0' + m / 10);
	*o++ = (char)('0' + m % 10);
	*o++ = '-';
	*o++ = (char)('0' + d / 10);
	*o++ = (char)('0' + d % 10);
	*o++ = 'T';
	*o++ = (char)('0' + hh / 10);
	*o++ = (char)('0' + hh % 10);
	*o++ = ':';
	*o++ = (char)('0' + mi / 10);
	*o++ = (char)('0' + mi % 10);
	*o++ = ':';
	*o++ = (char)('0' + ss / 10);
	*o++ = (char)('0' + ss % 10);
	if (frac) {
		*o++ = '.';
		*o++ = (char)('0' + frac / 100);
		*o++ = (char)('0' + frac / 10 % 10);
		*o++ = (char)('0' + frac % 10);
	}
	*o++ = 'Z';
	*o = '\0';
}

int time_from_secs(double secs, long long *ms)
{
	if (!(secs > -3.2e12 && secs < 3.2e12))
		return -1;
	*ms = (long long)secs * 1000;
	return 0;
}

void time_format_date(long long ms, char out[TIME_BUFSZ])
{
	char full[TIME_BUFSZ];
	time_format(ms, full);
	snprintf(out, TIME_BUFSZ, "%.10s", full);
}

long long time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int time_sleep_ms(long long ms)
{
	struct timespec ts;
	if (ms <= 0)
		return 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	return nanosleep(&ts, NULL) != 0;
}
