/* SPDX-License-Identifier: MIT */
/*
 * store.c -- the backend registry: pick the backend by the URL's scheme.
 */
#include <string.h>

#include "store/store.h"

static const tp_store_ops *const backends[] = {
        &tp_store_sqlite_ops,
};

tp_rc tp_store_open(const char *url, int flags, tp_store **ret_store, tp_err *err) {
        const char *colon, *slash;
        size_t n;

        if (!url || !*url)
                return tp_err_setf(err, TP_INVALID, "db", "empty store URL");
        colon = strchr(url, ':');
        slash = strchr(url, '/');
        /* A bare path (no scheme before the first slash) is an SQLite file. */
        if (!colon || (slash && slash < colon))
                return tp_store_sqlite_ops.open(url, flags, ret_store, err);
        n = (size_t) (colon - url);
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
                if (strlen(backends[i]->scheme) == n && memcmp(backends[i]->scheme, url, n) == 0)
                        return backends[i]->open(colon + 1, flags, ret_store, err);
        }
        if (n == 8 && memcmp(url, "postgres", 8) == 0)
                return tp_err_setf(err, TP_INVALID, "db", "the PostgreSQL backend is not built into this binary yet");
        return tp_err_setf(err, TP_INVALID, "db", "unknown store URL scheme in '%.*s': use sqlite:PATH", (int) n, url);
}

static const char *const metric_names[_TP_METRIC_MAX] = {
        [TP_METRIC_NPS] = "nps",   [TP_METRIC_CSAT] = "csat", [TP_METRIC_CES] = "ces",
        [TP_METRIC_GOAL] = "goal", [TP_METRIC_EASE] = "ease", [TP_METRIC_EMOTION] = "emotion",
};

const char *tp_metric_name(tp_metric m) {
        return (unsigned) m < _TP_METRIC_MAX ? metric_names[m] : "unknown";
}

tp_rc tp_metric_parse(const char *name, tp_metric *ret_m) {
        for (int i = 0; i < _TP_METRIC_MAX; i++) {
                if (strcmp(name, metric_names[i]) == 0) {
                        *ret_m = (tp_metric) i;
                        return TP_OK;
                }
        }
        return TP_NOTFOUND;
}

static const char *const sentiment_names[] = { "negative", "neutral", "positive" };

const char *tp_sentiment_name(int s) {
        return s >= 1 && s <= 3 ? sentiment_names[s - 1] : NULL;
}

tp_rc tp_sentiment_parse(const char *name, int *ret_s) {
        for (int i = 0; i < 3; i++) {
                if (strcmp(name, sentiment_names[i]) == 0) {
                        *ret_s = i + 1;
                        return TP_OK;
                }
        }
        return TP_NOTFOUND;
}
