/* SPDX-License-Identifier: MIT */
/*
 * timeutil.h -- RFC 3339 on the wire, Unix seconds (UTC) inside.
 */
#ifndef TP_TIMEUTIL_H
#define TP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/err.h"

/* Parse "2024-05-01T10:00:00Z", "2024-05-01T17:00:00+07:00", fractions allowed
 * (and dropped), 't'/'z' and a space for 'T' accepted.  *ret_ts is seconds since
 * the epoch, UTC.  Errors: TP_UNPROCESSABLE naming `field`. */
tp_rc tp_time_parse_rfc3339(const char *s, const char *field, int64_t *ret_ts, tp_err *err);

/* Write ts as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void tp_time_format_rfc3339(int64_t ts, char *out, size_t outsz);

/* Seconds since the epoch, from CLOCK_REALTIME. */
int64_t tp_time_now(void);
/* The CLOCK_REALTIME instant ms milliseconds from now, for timed waits
 * (pthread_mutex_timedlock, pthread_cond_timedwait). */
void tp_time_deadline(long ms, struct timespec *ret);

/* Monotonic microseconds, for latency measurements. */
int64_t tp_time_mono_us(void);

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t tp_time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
