/* SPDX-License-Identifier: MIT */
/*
 * api_responses.c -- GET /v1/responses: stored responses, newest first, with
 * filters (the dashboard's "recent comments"), paged by an opaque cursor.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "service/report.h"
#include "service/validate.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 500

typedef struct list_ctx {
        tp_catalog *cat;
        json_t *items;
        int n, oom;
        int64_t last_seq;
} list_ctx;

static int add(void *arg, int64_t seq, const tp_response *r) {
        list_ctx *c = arg;
        json_t *o = api_response_json(c->cat, r);

        if (!o || json_array_append_new(c->items, o) != 0) {
                c->oom = 1;
                return 1;
        }
        c->last_seq = seq;
        c->n++;
        return 0;
}

static const char *param(void *arg, const char *name) {
        return tp_req_query(arg, name);
}

static tp_rc score_bound(tp_req *req, const char *name, int *has, int *ret) {
        const char *s = tp_req_query(req, name);
        long long v;

        if (!s)
                return TP_OK;
        if (tp_parse_int(s, name, &v, &req->err) != TP_OK || v < 0 || v > 10)
                return tp_err_setc(&req->err, TP_INVALID, "invalid_value", name,
                                   "'%s' must be a whole number from 0 to 10", name);
        *has = 1;
        *ret = (int) v;
        return TP_OK;
}

/* The filter from the query string; every value checked, the field named. */
static tp_rc parse_filter(tp_req *req, tp_response_filter *f) {
        const char *tp = tp_req_query(req, "touchpoint"), *metric = tp_req_query(req, "metric"),
                   *sent = tp_req_query(req, "sentiment"), *theme = tp_req_query(req, "theme"),
                   *hc = tp_req_query(req, "has_comment"), *cust = tp_req_query(req, "customer"),
                   *lim = tp_req_query(req, "limit"), *cursor = tp_req_query(req, "cursor");
        int32_t tz = tp_engine_tz(req->ctx->engine);
        long long v;
        tp_rc rc;

        memset(f, 0, sizeof(*f));
        f->limit = DEFAULT_LIMIT;
        if (tp && tp_catalog_find(req->ctx->cat, tp, &f->touchpoint, NULL) != TP_OK)
                return tp_err_setc(&req->err, TP_INVALID, "unknown_touchpoint", "touchpoint",
                                   "no touchpoint '%.64s' in the catalogue", tp);
        if (metric) {
                if (tp_metric_parse(metric, &f->metric) != TP_OK)
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "metric",
                                           "'metric' must be nps, csat, ces, goal, ease or emotion");
                f->has_metric = 1;
        }
        if ((rc = tp_report_parse_when(param, req, "from", tz, &f->from, &req->err)) != TP_OK ||
            (rc = tp_report_parse_when(param, req, "to", tz, &f->to, &req->err)) != TP_OK)
                return rc;
        if ((rc = score_bound(req, "min_score", &f->has_min, &f->min_score)) != TP_OK ||
            (rc = score_bound(req, "max_score", &f->has_max, &f->max_score)) != TP_OK)
                return rc;
        if (sent && tp_sentiment_parse(sent, &f->sentiment) != TP_OK)
                return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "sentiment",
                                   "'sentiment' must be negative, neutral or positive");
        if (theme) {
                if (!tp_key_valid(theme))
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "theme",
                                           "'theme' must be a theme key such as 'delivery'");
                f->theme = theme;
        }
        if (hc) {
                if (strcmp(hc, "1") != 0 && strcmp(hc, "true") != 0 && strcmp(hc, "0") != 0 && strcmp(hc, "false") != 0)
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "has_comment",
                                           "'has_comment' must be 1 or 0");
                f->has_comment = hc[0] == '1' || hc[0] == 't';
        }
        if (cust) {
                if ((rc = tp_check_id(cust, "customer", req->ctx->cfg->lim.max_id, &req->err)) != TP_OK)
                        return rc;
                f->customer = cust;
        }
        if (lim) {
                if (tp_parse_int(lim, "limit", &v, &req->err) != TP_OK || v < 1 || v > MAX_LIMIT)
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "limit",
                                           "'limit' must be a whole number from 1 to %d", MAX_LIMIT);
                f->limit = (int) v;
        }
        if (cursor) {
                if (tp_parse_int(cursor, "cursor", &v, &req->err) != TP_OK || v < 1)
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "cursor",
                                           "'cursor' must be the 'next_cursor' of a previous page");
                f->before_seq = v;
        }
        return TP_OK;
}

tp_rc api_responses_list(tp_req *req, tp_resp *resp) {
        tp_response_filter f;
        list_ctx c = { .cat = req->ctx->cat };
        char next[32];
        tp_rc rc = parse_filter(req, &f);

        if (rc != TP_OK)
                return rc;
        c.items = json_array();
        if (!c.items)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        pthread_mutex_lock(&req->ctx->store_lock);
        rc = tp_store_response_list(req->ctx->store, &f, add, &c, &req->err);
        pthread_mutex_unlock(&req->ctx->store_lock);
        if (rc == TP_OK && c.oom)
                rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
        if (rc != TP_OK) {
                json_decref(c.items);
                return rc;
        }
        (void) snprintf(next, sizeof(next), "%" PRId64, c.last_seq);
        return tp_http_reply_json(resp, 200,
                                  json_pack("{s:o, s:s?}", "responses", c.items, "next_cursor",
                                            c.n == f.limit ? next : NULL));
}
