/* SPDX-License-Identifier: MIT */
/*
 * api_customers.c -- GET /v1/customers/{id}/timeline: a customer's events and
 * responses in time order, paged with an opaque cursor.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "service/validate.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000

typedef struct tl_ctx {
        tp_catalog *cat;
        json_t *items;
        int n, oom;
        int64_t last_ts, last_seq;
        int last_kind;
} tl_ctx;

json_t *api_response_json(tp_catalog *cat, const tp_response *r) {
        static const char *const goal[] = { "no", "partly", "yes" };
        json_t *score = r->metric == TP_METRIC_GOAL && r->score >= 0 && r->score <= 2 ? json_string(goal[r->score])
                                                                                      : json_integer(r->score);
        json_t *o, *themes = json_array(), *sent = json_null();
        char tp[64], when[32];

        tp_catalog_key_of(cat, r->touchpoint, tp, sizeof(tp));
        tp_time_format_rfc3339(r->ts, when, sizeof(when));
        if (r->sentiment > 0)
                sent = json_pack("{s:s, s:f}", "label", tp_sentiment_name(r->sentiment), "confidence",
                                 (double) ((int) (r->sentiment_conf * 1000.0f + 0.5f)) / 1000.0);
        /* Theme keys are [a-z0-9_-], so splitting at commas is exact. */
        for (const char *p = r->themes; themes && p && *p;) {
                size_t n = strcspn(p, ",");
                if (n)
                        json_array_append_new(themes, json_stringn(p, n));
                p += n;
                if (*p == ',')
                        p++;
        }
        o = json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:o, s:s?, s:s?, s:s?, s:s, s:o, s:o}", "id", r->id, "customer",
                      r->customer, "touchpoint", tp, "channel", r->channel, "metric", tp_metric_name(r->metric),
                      "score", score, "comment", r->comment, "language", r->language, "event", r->event, "time",
                      when, "sentiment", sent ? sent : json_null(), "themes", themes ? themes : json_array());
        return o;
}

static int add_row(void *arg, const tp_timeline_row *row) {
        tl_ctx *c = arg;
        char tp[64], when[32];
        json_t *o;

        if (!row->is_response) {
                const tp_event *e = &row->u.ev;
                tp_catalog_key_of(c->cat, e->touchpoint, tp, sizeof(tp));
                tp_time_format_rfc3339(e->ts, when, sizeof(when));
                o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s}", "kind", "event", "id", e->id, "touchpoint", tp,
                              "channel", e->channel, "type", e->type, "time", when);
                if (o && e->has_value) {
                        json_object_set_new(o, "value", json_integer(e->value));
                        json_object_set_new(o, "currency", json_string(e->currency ? e->currency : "VND"));
                }
                if (o && e->properties) {
                        json_t *p = json_loads(e->properties, 0, NULL);
                        if (p)
                                json_object_set_new(o, "properties", p);
                }
                c->last_ts = e->ts;
        } else {
                const tp_response *r = &row->u.resp;
                o = api_response_json(c->cat, r);
                if (o)
                        json_object_set_new(o, "kind", json_string("response"));
                c->last_ts = r->ts;
        }
        if (!o || json_array_append_new(c->items, o) != 0) {
                c->oom = 1;
                return 1;
        }
        c->last_seq = row->seq;
        c->last_kind = row->is_response;
        c->n++;
        return 0;
}

/* The cursor is "ts.kind.seq" of the last row returned. */
static int parse_cursor(const char *s, int64_t *ts, int *kind, int64_t *seq) {
        long long a, c;
        int b, used = 0;

        if (sscanf(s, "%lld.%d.%lld%n", &a, &b, &c, &used) != 3 || s[used] != '\0' || (b != 0 && b != 1))
                return -1;
        *ts = a;
        *kind = b;
        *seq = c;
        return 0;
}

tp_rc api_customer_timeline(tp_req *req, tp_resp *resp) {
        const char *customer = req->params[0], *lim_s = tp_req_query(req, "limit"),
                   *cursor = tp_req_query(req, "cursor");
        tl_ctx c = { .cat = req->ctx->cat };
        int64_t after_ts = INT64_MIN, after_seq = 0;
        int after_kind = 0;
        long long limit = DEFAULT_LIMIT;
        char next[64];
        tp_rc rc;

        if ((rc = tp_check_id(customer, "customer", req->ctx->cfg->lim.max_id, &req->err)) != TP_OK) {
                req->err.rc = TP_INVALID;
                return TP_INVALID;
        }
        if (lim_s) {
                if (tp_parse_int(lim_s, "limit", &limit, &req->err) != TP_OK || limit < 1 || limit > MAX_LIMIT)
                        return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "limit",
                                           "'limit' must be a whole number from 1 to %d", MAX_LIMIT);
        }
        if (cursor && parse_cursor(cursor, &after_ts, &after_kind, &after_seq) != 0)
                return tp_err_setc(&req->err, TP_INVALID, "invalid_value", "cursor",
                                   "'cursor' must be the 'next' value of a previous page");
        if (!atomic_load(&req->ctx->cust_ready)) {
                req->retry_after = 5;
                return tp_err_setc(&req->err, TP_BUSY, NULL, "",
                                   "the customer index is still being built after start-up; retry shortly");
        }
        c.items = json_array();
        if (!c.items)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        rc = tp_custidx_timeline(req->ctx->cust, customer, after_ts, after_kind, after_seq, (int) limit,
                                 req->ctx->store, &req->ctx->store_lock, add_row, &c, NULL, &req->err);
        if (rc == TP_OK && c.oom)
                rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
        if (rc != TP_OK) {
                json_decref(c.items);
                return rc;
        }
        (void) snprintf(next, sizeof(next), "%" PRId64 ".%d.%" PRId64, c.last_ts, c.last_kind, c.last_seq);
        return tp_http_reply_json(resp, 200,
                                  json_pack("{s:s, s:o, s:s?}", "customer", customer, "items", c.items, "next",
                                            c.n == limit ? next : NULL));
}

/* PUT /v1/customers/{id}: what the business knows of a customer (a CRM's
 * segment and attributes).  The engine takes the segment first, so a refusal
 * there (more than 255 segments) writes nothing; the store then keeps it. */
tp_rc api_customer_put(tp_req *req, tp_resp *resp) {
        const char *id = req->params[0];
        json_t *doc = NULL, *seg, *attrs;
        char *attr_text = NULL;
        tp_customer c = { 0 };
        tp_rc rc;

        if ((rc = tp_check_id(id, "customer", req->ctx->cfg->lim.max_id, &req->err)) != TP_OK)
                return rc;
        if ((rc = tp_json_parse(req->body.data, req->body.len, req->ctx->cfg->lim.max_depth, &doc, &req->err)) !=
            TP_OK)
                return rc;
        seg = json_object_get(doc, "segment");
        attrs = json_object_get(doc, "attributes");
        if (!json_is_object(doc))
                rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", "", "the body must be a JSON object");
        else if (seg && !json_is_string(seg) && !json_is_null(seg))
                rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", "segment", "'segment' must be a string or null");
        else if (json_is_string(seg) && (json_string_length(seg) == 0 || json_string_length(seg) > 31))
                rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_value", "segment",
                                 "'segment' must have 1 to 31 bytes");
        else if (json_is_string(seg) && tp_check_id(json_string_value(seg), "segment", 31, &req->err) != TP_OK)
                rc = req->err.rc;
        else if (attrs && !json_is_object(attrs) && !json_is_null(attrs))
                rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", "attributes",
                                 "'attributes' must be an object");
        if (rc == TP_OK && json_is_object(attrs)) {
                attr_text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
                if (!attr_text)
                        rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
                else if (strlen(attr_text) > req->ctx->cfg->lim.max_properties)
                        rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "too_long", "attributes",
                                         "'attributes' is %zu bytes as compact JSON; the limit is %zu",
                                         strlen(attr_text), req->ctx->cfg->lim.max_properties);
        }
        c.id = id;
        c.segment = json_is_string(seg) ? json_string_value(seg) : NULL;
        c.attributes = attr_text;
        c.updated = tp_time_now();
        if (rc == TP_OK)
                rc = tp_engine_set_customer(req->ctx->engine, id, c.segment, json_is_object(attrs) ? attrs : NULL,
                                            &req->err);
        if (rc == TP_OK) {
                pthread_mutex_lock(&req->ctx->store_lock);
                rc = tp_store_customer_put(req->ctx->store, &c, &req->err);
                pthread_mutex_unlock(&req->ctx->store_lock);
        }
        if (rc == TP_OK)
                rc = tp_http_reply_json(resp, 200,
                                        json_pack("{s:s, s:s?, s:O?}", "customer", id, "segment", c.segment,
                                                  "attributes", json_is_object(attrs) ? attrs : NULL));
        tp_free(attr_text);
        json_decref(doc);
        return rc;
}

tp_rc api_segments_list(tp_req *req, tp_resp *resp) {
        tp_engine_value *v = NULL;
        json_t *arr;
        size_t n = 0;
        tp_rc rc = tp_engine_segments(req->ctx->engine, &v, &n, &req->err);

        if (rc != TP_OK)
                return rc;
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:I}", "key", v[i].name, "customers",
                                                     (json_int_t) v[i].customers));
        tp_free(v);
        if (!arr)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        return tp_http_reply_json(resp, 200, json_pack("{s:o}", "segments", arr));
}

/* GET /v1/attributes: the customer attributes answers can be broken down by
 * (group=attr:NAME, attr=NAME:VALUES), with their values. */
tp_rc api_attributes_list(tp_req *req, tp_resp *resp) {
        tp_engine_attribute *v = NULL;
        uint64_t dropped = 0;
        size_t n = 0;
        json_t *arr;
        tp_rc rc = tp_engine_attributes(req->ctx->engine, &v, &n, &dropped, &req->err);

        if (rc != TP_OK)
                return rc;
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                json_t *vals = json_array(), *o;

                for (size_t k = 0; vals && k < v[i].nvalues; k++)
                        if (json_array_append_new(vals, json_pack("{s:s, s:I}", "value", v[i].values[k].name,
                                                                  "customers",
                                                                  (json_int_t) v[i].values[k].customers)) != 0) {
                                json_decref(vals);
                                vals = NULL;
                        }
                o = vals ? json_pack("{s:s, s:I, s:b, s:o}", "name", v[i].name, "customers",
                                     (json_int_t) v[i].customers, "breakdown", !v[i].overflow, "values", vals)
                         : NULL;
                if (!o || json_array_append_new(arr, o) != 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        tp_engine_attributes_free(v, n);
        if (!arr)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        return tp_http_reply_json(resp, 200,
                                  json_pack("{s:o, s:I}", "attributes", arr, "unindexed_values", (json_int_t) dropped));
}
