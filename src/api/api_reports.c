/* SPDX-License-Identifier: MIT */
/*
 * api_reports.c -- analytics answered by the engine: scores, touchpoint
 * transitions and attribution.  Every report first lets the engine read what
 * the store committed since its last look, so a client sees its own writes.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/validate.h"

#define MAX_LIST 256

static void key_of(void *arg, int64_t id, char *out, size_t outsz) {
        tp_catalog_key_of((tp_catalog *) arg, id, out, outsz);
}

static tp_rc catch_up(tp_req *req) {
        return tp_engine_load(req->ctx->engine, req->ctx->engine_store, &req->err);
}

/* "2024-04-01" is local midnight in the organisation's zone; anything else must
 * be RFC 3339.  Absent: *ret is left as is. */
static tp_rc parse_when(tp_req *req, const char *name, int64_t *ret) {
        const char *s = tp_req_query(req, name);
        int y, m, d, used = 0;

        if (!s)
                return TP_OK;
        if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 && m >= 1 &&
            m <= 12 && d >= 1 && d <= 31) {
                *ret = tp_time_days_from_civil(y, (unsigned) m, (unsigned) d) * 86400 - TP_ENGINE_TZ_DEFAULT;
                return TP_OK;
        }
        if (tp_time_parse_rfc3339(s, name, ret, &req->err) != TP_OK)
                return tp_err_setc(&req->err, TP_INVALID, "invalid_value", name,
                                   "'%s' must be a date (2024-04-01, local) or an RFC 3339 date-time", name);
        return TP_OK;
}

static tp_rc parse_range(tp_req *req, int64_t *from, int64_t *to) {
        tp_rc rc = parse_when(req, "from", from);

        if (rc == TP_OK)
                rc = parse_when(req, "to", to);
        if (rc == TP_OK && *from >= *to)
                rc = tp_err_setc(&req->err, TP_INVALID, "invalid_value", "to", "'to' must be after 'from'");
        return rc;
}

/* Split a comma list in place into at most MAX_LIST items. */
static size_t split_list(char *s, char **items) {
        size_t n = 0;

        for (char *tok = strtok(s, ","); tok && n < MAX_LIST; tok = strtok(NULL, ","))
                items[n++] = tok;
        return n;
}

static tp_rc pick(tp_req *req, const char *name, const char *const *names, int n, int *ret) {
        const char *s = tp_req_query(req, name);

        if (!s)
                return TP_OK;
        for (int i = 0; i < n; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret = i;
                        return TP_OK;
                }
        }
        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", name, "unknown value '%.40s' for '%s'", s, name);
}

tp_rc api_report_scores(tp_req *req, tp_resp *resp) {
        static const char *const groups[] = { "none", "touchpoint", "channel", "touchpoint,channel" };
        static const char *const buckets[] = { "none", "day", "week", "month" };
        tp_engine_scores_query q;
        tp_engine_scores *r = NULL;
        int64_t tps[MAX_LIST];
        char *items[MAX_LIST], *tp_copy = NULL, *ch_copy = NULL, *m_copy = NULL;
        const char *s;
        int group = 0, bucket = 0;
        tp_rc rc;
        json_t *j;

        tp_engine_scores_query_init(&q);
        if ((rc = parse_range(req, &q.from, &q.to)) != TP_OK || (rc = pick(req, "group", groups, 4, &group)) != TP_OK ||
            (rc = pick(req, "bucket", buckets, 4, &bucket)) != TP_OK)
                return rc;
        q.group = (tp_engine_group) group;
        q.bucket = (tp_engine_bucket) bucket;
        if ((s = tp_req_query(req, "touchpoint"))) {
                size_t n;
                if (!(tp_copy = tp_strdup(s)))
                        return tp_err_set(&req->err, TP_NOMEM, "out of memory");
                n = split_list(tp_copy, items);
                for (size_t i = 0; i < n; i++) {
                        if (tp_catalog_find(req->ctx->cat, items[i], &tps[i], NULL) != TP_OK) {
                                rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint",
                                                 "unknown touchpoint '%.64s'", items[i]);
                                goto out;
                        }
                }
                q.touchpoints = tps;
                q.ntouchpoints = n;
        }
        if ((s = tp_req_query(req, "channel"))) {
                if (!(ch_copy = tp_strdup(s))) {
                        rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
                        goto out;
                }
                q.nchannels = split_list(ch_copy, items);
                for (size_t i = 0; i < q.nchannels; i++) {
                        if ((rc = tp_check_channel(items[i], &req->err)) != TP_OK) {
                                req->err.rc = rc = TP_INVALID;
                                goto out;
                        }
                }
                q.channels = (const char *const *) items;
        }
        if ((s = tp_req_query(req, "metric"))) {
                char *ms[MAX_LIST];
                size_t n;
                if (!(m_copy = tp_strdup(s))) {
                        rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
                        goto out;
                }
                n = split_list(m_copy, ms);
                for (size_t i = 0; i < n; i++) {
                        tp_metric m;
                        if (tp_metric_parse(ms[i], &m) != TP_OK) {
                                rc = tp_err_setc(&req->err, TP_INVALID, "invalid_value", "metric",
                                                 "unknown metric '%.32s': use nps, csat, ces, goal, ease, emotion", ms[i]);
                                goto out;
                        }
                        q.metrics |= TP_ENGINE_METRIC(m);
                }
        }
        if ((rc = catch_up(req)) != TP_OK || (rc = tp_engine_scores_run(req->ctx->engine, &q, &r, &req->err)) != TP_OK)
                goto out;
        j = tp_engine_scores_json(r, key_of, req->ctx->cat);
        rc = j ? tp_http_reply_json(resp, 200, j) : tp_err_set(&req->err, TP_NOMEM, "out of memory");
out:
        tp_engine_scores_free(r);
        tp_free(tp_copy);
        tp_free(ch_copy);
        tp_free(m_copy);
        return rc;
}

tp_rc api_report_transitions(tp_req *req, tp_resp *resp) {
        tp_engine_path_query q;
        tp_engine_transitions *r = NULL;
        json_t *j;
        tp_rc rc;

        tp_engine_path_query_init(&q);
        if ((rc = parse_range(req, &q.from, &q.to)) != TP_OK || (rc = catch_up(req)) != TP_OK ||
            (rc = tp_engine_transitions_run(req->ctx->engine, &q, &r, &req->err)) != TP_OK)
                return rc;
        j = tp_engine_transitions_json(r, key_of, req->ctx->cat);
        tp_engine_transitions_free(r);
        return j ? tp_http_reply_json(resp, 200, j) : tp_err_set(&req->err, TP_NOMEM, "out of memory");
}

tp_rc api_attribution(tp_req *req, tp_resp *resp) {
        const char *model = tp_req_query(req, "model"), *conv = tp_req_query(req, "conversion"),
                   *lb = tp_req_query(req, "lookback_days");
        tp_engine_path_query q;
        tp_engine_last_touch *r = NULL;
        long long days = 0;
        json_t *arr, *j;
        tp_rc rc;

        if (!model)
                model = "last";
        if (strcmp(model, "last") != 0)
                return tp_err_setc(&req->err, TP_UNPROCESSABLE, "model_unavailable", "model",
                                   "attribution model '%.32s' is not available yet; this version answers 'last'",
                                   model);
        if (conv && strcmp(conv, "purchase") != 0)
                return tp_err_setc(&req->err, TP_UNPROCESSABLE, "conversion_unavailable", "conversion",
                                   "only the 'purchase' event type counts as a conversion in this version");
        tp_engine_path_query_init(&q);
        if (lb && (tp_parse_int(lb, "lookback_days", &days, &req->err) != TP_OK || days < 0 || days > 3650))
                return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "lookback_days",
                                   "'lookback_days' must be a whole number from 0 (unlimited) to 3650");
        q.lookback = days * 86400;
        if ((rc = parse_range(req, &q.from, &q.to)) != TP_OK || (rc = catch_up(req)) != TP_OK ||
            (rc = tp_engine_last_touch_run(req->ctx->engine, &q, &r, &req->err)) != TP_OK)
                return rc;
        arr = json_array();
        for (size_t i = 0; arr && i < r->nrows; i++) {
                char key[64];
                tp_catalog_key_of(req->ctx->cat, r->rows[i].touchpoint, key, sizeof(key));
                if (json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "touchpoint", key, "conversions",
                                                         (json_int_t) r->rows[i].purchases, "value",
                                                         (json_int_t) r->rows[i].revenue)) != 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        j = arr ? json_pack("{s:s, s:s, s:I, s:o, s:{s:I, s:I}}", "model", "last", "conversion", "purchase",
                            "lookback_days", (json_int_t) days, "touchpoints", arr, "unattributed", "conversions",
                            (json_int_t) r->unattributed, "value", (json_int_t) r->unattributed_revenue)
                : NULL;
        tp_engine_last_touch_free(r);
        return j ? tp_http_reply_json(resp, 200, j) : tp_err_set(&req->err, TP_NOMEM, "out of memory");
}
