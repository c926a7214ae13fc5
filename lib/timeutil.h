/* timeutil.h: RFC 3339 UTC timestamps and epoch milliseconds. */
#ifndef CRM_TIMEUTIL_H
#define CRM_TIMEUTIL_H

#include <stddef.h>

#define TIME_BUFSZ 48

/* Parses RFC 3339 / ISO 8601 ("2026-11-22T10:04:05.512Z", "+02:00" offsets,
 * "2026-11-22" at midnight UTC) or a string of epoch milliseconds.
 * Returns 0 and sets *ms, or -1. */
int time_parse(const char *s, long long *ms);
/* Writes "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (fraction only when non-zero). */
void time_format(long long ms, char out[TIME_BUFSZ]);
/* 1 when the n bytes at s are already time_format's spelling of the time
 * they name (time_parse and time_format would give them back), else 0: a
 * pulled record's times are usually so, and then need no rewriting. */
int time_canonical(const char *s, size_t n);
/* Unix seconds (a CRM's number) as milliseconds; -1 when the number is not
 * finite or beyond year ±100,000 (no overflow on hostile input). */
int time_from_secs(double secs, long long *ms);
/* Writes "YYYY-MM-DD". */
void time_format_date(long long ms, char out[TIME_BUFSZ]);
/* Wall clock in epoch milliseconds (used for synced_at, never for cursors). */
long long time_now_ms(void);
/* Monotonic clock in milliseconds (for pacing and durations). */
long long time_mono_ms(void);
/* Sleeps ms milliseconds; returns early (non-zero) if interrupted. */
int time_sleep_ms(long long ms);

#endif
