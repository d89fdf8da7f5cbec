/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <time.h>

#include "common/timeutil.h"

int64_t tp_time_days_from_civil(int64_t y, unsigned m, unsigned d) {
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int is_leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

tp_rc tp_time_parse_rfc3339(const char *s, const char *field, int64_t *ret_ts, tp_err *err) {
        static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
        const char *p;
        int64_t ts;

        if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
            digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
            digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
            digits(s + 17, 2, &sec))
                goto bad;
        p = s + 19;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        goto bad;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                sign = *p == '+' ? 1 : -1;
                if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
                        goto bad;
                p += 6;
        } else {
                goto bad;
        }
        if (*p != '\0')
                goto bad;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
                goto bad;
        if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
                goto bad;
        if (sec == 60) /* a leap second folds onto the next second */
                sec = 59;
        ts = tp_time_days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400 + h * 3600 + mi * 60 + sec;
        ts -= sign * (oh * 3600 + om * 60);
        *ret_ts = ts;
        return TP_OK;
bad:
        return tp_err_setf(
                err,
                TP_UNPROCESSABLE,
                field,
                "'%s' must be an RFC 3339 date-time such as 2024-05-01T10:00:00Z or 2024-05-01T17:00:00+07:00",
                field);
}

void tp_time_format_rfc3339(int64_t ts, char *out, size_t outsz) {
        time_t t = (time_t) ts;
        struct tm tm;

        gmtime_r(&t, &tm);
        (void) strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t tp_time_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec;
}

void tp_time_deadline(long ms, struct timespec *ret) {
        clock_gettime(CLOCK_REALTIME, ret);
        ret->tv_sec += ms / 1000;
        ret->tv_nsec += (ms % 1000) * 1000000L;
        if (ret->tv_nsec >= 1000000000L) {
                ret->tv_sec++;
                ret->tv_nsec -= 1000000000L;
        }
}

int64_t tp_time_mono_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
