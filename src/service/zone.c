/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "service/zone.h"

#define META_NAME "utc_offset"

static int digits(const char *s, int n) {
        for (int i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return 0;
        return 1;
}

tp_rc tp_zone_parse(const char *s, int32_t *ret, tp_err *err) {
        int h = 0, m = 0, sign;
        size_t n;

        if (!s)
                s = "";
        if (strcmp(s, "UTC") == 0 || strcmp(s, "utc") == 0 || strcmp(s, "Z") == 0) {
                *ret = 0;
                return TP_OK;
        }
        n = strlen(s);
        sign = s[0] == '+' ? 1 : s[0] == '-' ? -1 : 0;
        if (sign && n == 6 && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2)) {
                h = (s[1] - '0') * 10 + s[2] - '0';
                m = (s[4] - '0') * 10 + s[5] - '0';
        } else if (sign && n == 5 && digits(s + 1, 4)) {
                h = (s[1] - '0') * 10 + s[2] - '0';
                m = (s[3] - '0') * 10 + s[4] - '0';
        } else if (sign && (n == 2 || n == 3) && digits(s + 1, (int) n - 1)) {
                h = n == 2 ? s[1] - '0' : (s[1] - '0') * 10 + s[2] - '0';
        } else {
                sign = 0;
        }
        if (!sign || m > 59 || h * 60 + m > (sign > 0 ? 14 * 60 : 12 * 60))
                return tp_err_setf(err, TP_INVALID, "zone",
                                   "'%.16s' is not a UTC offset: use UTC, +07:00, -04:30 (from -12:00 to +14:00)", s);
        *ret = sign * (h * 3600 + m * 60);
        return TP_OK;
}

void tp_zone_format(int32_t offset, char *out) {
        int32_t a = offset < 0 ? -offset : offset;

        (void) snprintf(out, TP_ZONE_TEXT_MAX, "%c%02d:%02d", offset < 0 ? '-' : '+', (int) (a / 3600) % 100,
                        (int) (a % 3600) / 60);
}

tp_rc tp_zone_get(tp_store *s, int32_t *ret, tp_err *err) {
        char buf[32];
        size_t len = 0;
        tp_rc rc = tp_store_meta_get(s, META_NAME, buf, sizeof(buf) - 1, &len, err);

        if (rc == TP_NOTFOUND) {
                *ret = TP_ENGINE_TZ_DEFAULT;
                return TP_OK;
        }
        if (rc != TP_OK)
                return rc;
        buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = '\0';
        if (tp_zone_parse(buf, ret, err) != TP_OK)
                return tp_err_setf(err, TP_CORRUPT, "zone", "the store's time zone '%.16s' is not a UTC offset", buf);
        return TP_OK;
}

tp_rc tp_zone_set(tp_store *s, int32_t offset, tp_err *err) {
        char text[TP_ZONE_TEXT_MAX];

        tp_zone_format(offset, text);
        return tp_store_meta_put(s, META_NAME, text, strlen(text), err);
}
