/* SPDX-License-Identifier: MIT */
/*
 * api_links.c -- survey links: POST /v1/links makes one (admin), the QR code of
 * one, and the two public calls of the survey page: GET /v1/survey/{token}
 * (what to ask) and POST /v1/survey/{token} (the answer, stored once).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "service/batch.h"
#include "service/links.h"

static tp_rc secret(tp_req *req, int create, unsigned char out[32]) {
        tp_rc rc;

        pthread_mutex_lock(&req->ctx->store_lock);
        rc = tp_link_secret(req->ctx->store, create, out, &req->err);
        pthread_mutex_unlock(&req->ctx->store_lock);
        /* No secret yet means no link was ever made: whatever this is, it is not one. */
        if (rc == TP_NOTFOUND)
                rc = tp_err_setc(&req->err, TP_FORBIDDEN, "link_invalid", "token", "this survey link is not valid");
        return rc;
}

/* Where customers reach the server: --public-url, else the Host they used. */
static void base_url(tp_req *req, char *out, size_t outsz) {
        const char *pub = req->ctx->cfg->public_url, *host = tp_req_header(req, "Host");
        size_t n;

        if (pub)
                (void) snprintf(out, outsz, "%s", pub);
        else
                (void) snprintf(out, outsz, "http://%s", host ? host : req->ctx->cfg->listen);
        n = strlen(out);
        while (n > 0 && out[n - 1] == '/')
                out[--n] = '\0';
}

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k));
}

tp_rc api_links_post(tp_req *req, tp_resp *resp) {
        unsigned char key[32];
        char token[TP_LINK_TOKEN_MAX], base[256], url[1024], qr[1024], exp[40];
        json_t *doc = NULL, *h;
        long hours = 72;
        tp_link l;
        tp_rc rc;

        rc = tp_json_parse(req->body.data, req->body.len, req->ctx->cfg->lim.max_depth, &doc, &req->err);
        if (rc != TP_OK)
                return rc;
        if (!json_is_object(doc)) {
                json_decref(doc);
                return tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", "", "the body must be a JSON object");
        }
        static const char *const strings[] = { "customer", "touchpoint", "metric", "lang", "channel" };
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
                json_t *v = json_object_get(doc, strings[i]);
                if (v && !json_is_string(v)) {
                        json_decref(doc);
                        return tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", strings[i],
                                           "'%s' must be a string", strings[i]);
                }
        }
        h = json_object_get(doc, "expires_hours");
        if (h) {
                if (!json_is_integer(h)) {
                        json_decref(doc);
                        return tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", "expires_hours",
                                           "'expires_hours' must be a whole number");
                }
                hours = json_integer_value(h) > 100000 ? 100000 : (long) json_integer_value(h);
        }
        rc = tp_link_fill(req->ctx->cat, str(doc, "touchpoint"), str(doc, "customer"), str(doc, "metric"),
                          str(doc, "lang"), str(doc, "channel"), hours, tp_time_now(), req->ctx->cfg->lim.max_id, &l,
                          &req->err);
        json_decref(doc);
        if (rc == TP_OK)
                rc = secret(req, 1, key);
        if (rc == TP_OK)
                rc = tp_link_make(key, &l, token, sizeof(token), &req->err);
        sodium_memzero(key, sizeof(key));
        if (rc != TP_OK)
                return rc;
        base_url(req, base, sizeof(base));
        (void) snprintf(url, sizeof(url), "%s/s/%s", base, token);
        (void) snprintf(qr, sizeof(qr), "%s/v1/links/%s/qr.png", base, token);
        tp_time_format_rfc3339(l.expires, exp, sizeof(exp));
        return tp_http_reply_json(resp, 201,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", l.id, "token", token, "url",
                                            url, "qr_png", qr, "expires", exp, "touchpoint", l.touchpoint, "customer",
                                            l.customer));
}

/* The link of the request's token; TP_GONE for expired, TP_FORBIDDEN for bad. */
static tp_rc open_link(tp_req *req, tp_link *l) {
        unsigned char key[32];
        tp_rc rc = secret(req, 0, key);

        if (rc == TP_OK)
                rc = tp_link_open(key, req->params[0], tp_time_now() + req->ctx->cfg->link_clock_offset, l, &req->err);
        sodium_memzero(key, sizeof(key));
        return rc;
}

tp_rc api_link_qr(tp_req *req, tp_resp *resp) {
        char base[256], url[1024];
        unsigned char *png = NULL;
        size_t len = 0;
        tp_link l;
        tp_rc rc = open_link(req, &l);

        if (rc != TP_OK && rc != TP_GONE)
                return rc;
        base_url(req, base, sizeof(base));
        (void) snprintf(url, sizeof(url), "%s/s/%s", base, req->params[0]);
        rc = tp_link_qr_png(url, &png, &len, &req->err);
        if (rc != TP_OK)
                return rc;
        resp->status = 200;
        resp->body = (char *) png;
        resp->body_len = len;
        resp->content_type = "image/png";
        return TP_OK;
}

static tp_rc used_error(tp_req *req) {
        return tp_err_setc(&req->err, TP_GONE, "link_used", "token", "this survey link has already been answered");
}

/* The link of the request's token, if it is still open: valid, not expired
 * and not answered yet (410 link_used). */
static tp_rc open_unused(tp_req *req, tp_link *l) {
        char id[32];
        int found = 0;
        tp_rc rc = open_link(req, l);

        if (rc != TP_OK)
                return rc;
        tp_link_response_id(l, id);
        pthread_mutex_lock(&req->ctx->store_lock);
        rc = tp_store_response_exists(req->ctx->store, id, &found, &req->err);
        pthread_mutex_unlock(&req->ctx->store_lock);
        if (rc == TP_OK && found)
                rc = used_error(req);
        return rc;
}

tp_rc api_survey_get(tp_req *req, tp_resp *resp) {
        json_t *tp;
        char exp[40];
        tp_link l;
        tp_rc rc = open_unused(req, &l);

        if (rc != TP_OK)
                return rc;
        tp = api_touchpoint_public(req->ctx->cat, l.touchpoint);
        if (!tp) /* a touchpoint cannot be deleted, so only out of memory gets here */
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        tp_time_format_rfc3339(l.expires, exp, sizeof(exp));
        return tp_http_reply_json(resp, 200,
                                  json_pack("{s:o, s:s, s:s, s:s}", "touchpoint", tp, "metric", tp_metric_name(l.metric),
                                            "lang", l.lang, "expires", exp));
}

/* The answer becomes one response of the link's customer and touchpoint and
 * goes through the same validation and writer as POST /v1/responses. */
tp_rc api_survey_post(tp_req *req, tp_resp *resp) {
        tp_vctx v = { .cat = req->ctx->cat, .lim = &req->ctx->cfg->lim, .now = tp_time_now(), .ann = req->ctx->ann };
        json_t *doc = NULL, *score, *comment, *item;
        char id[32], *text;
        tp_link l;
        tp_rc rc = open_unused(req, &l);

        if (rc != TP_OK)
                return rc;
        rc = tp_json_parse(req->body.data, req->body.len, req->ctx->cfg->lim.max_depth, &doc, &req->err);
        if (rc != TP_OK)
                return rc;
        score = json_object_get(doc, "score");
        comment = json_object_get(doc, "comment");
        if (!json_is_object(doc) || !json_is_integer(score) || (comment && !json_is_string(comment) && !json_is_null(comment))) {
                const char *field = !json_is_integer(score) ? "score" : "comment";
                json_decref(doc);
                return tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_type", field,
                                   "send {\"score\": a whole number, \"comment\": text (optional)}");
        }
        tp_link_response_id(&l, id);
        item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s}", "id", id, "customer", l.customer, "touchpoint",
                         l.touchpoint, "channel", l.channel, "metric", tp_metric_name(l.metric), "score", score,
                         "language", l.lang);
        if (item && json_is_string(comment) && json_string_length(comment) > 0)
                json_object_set(item, "comment", comment);
        json_decref(doc);
        text = item ? json_dumps(item, JSON_COMPACT) : NULL;
        json_decref(item);
        if (!text)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        rc = tp_batch_parse(&req->batch, TP_KIND_RESPONSES, text, strlen(text), 0, &v, &req->err);
        tp_free(text);
        if (rc != TP_OK)
                return rc;
        req->async = 1;
        if (req->batch.n_ok == 0)
                return api_survey_finish(req, resp);
        req->job.batch = &req->batch;
        return TP_OK;
}

tp_rc api_survey_finish(tp_req *req, tp_resp *resp) {
        size_t acc = 0, dups = 0;
        json_t *j = NULL, *first;
        tp_rc rc = api_ingest_outcome(req, &j, &acc, &dups);

        if (rc != TP_OK)
                return rc;
        if (acc == 1) {
                json_decref(j);
                return tp_http_reply_json(resp, 200, json_pack("{s:i}", "accepted", 1));
        }
        if (dups == 1) { /* answered by another request in between */
                json_decref(j);
                return used_error(req);
        }
        first = json_array_get(json_object_get(j, "rejected"), 0);
        rc = tp_err_setc(&req->err, TP_UNPROCESSABLE, "invalid_value",
                         json_string_value(json_object_get(first, "field")) ? json_string_value(json_object_get(first, "field")) : "",
                         "%s", json_string_value(json_object_get(first, "message")) ? json_string_value(json_object_get(first, "message"))
                                                                                  : "the answer was refused");
        json_decref(j);
        return rc;
}
