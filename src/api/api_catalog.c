/* SPDX-License-Identifier: MIT */
/*
 * api_catalog.c -- journeys and touchpoints.
 */
#include <string.h>

#include "api/api.h"
#include "common/jsonx.h"
#include "service/journey.h"

typedef struct list_ctx {
        json_t *arr;
        const char *only; /* a single key, or NULL for all */
        int oom;
} list_ctx;

static int add_journey(void *arg, const char *key, const char *doc, int64_t updated) {
        list_ctx *c = arg;
        json_t *j;

        (void) updated;
        if (c->only && strcmp(c->only, key) != 0)
                return 0;
        j = json_loads(doc, JSON_REJECT_DUPLICATES, NULL);
        if (!j || json_array_append_new(c->arr, j) != 0)
                c->oom = 1;
        return c->oom;
}

static tp_rc collect(tp_req *req, const char *only, json_t **ret) {
        list_ctx c = { .arr = json_array(), .only = only };
        tp_rc rc;

        if (!c.arr)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        pthread_mutex_lock(&req->ctx->store_lock);
        rc = tp_store_journey_list(req->ctx->store, add_journey, &c, &req->err);
        pthread_mutex_unlock(&req->ctx->store_lock);
        if (rc == TP_OK && c.oom)
                rc = tp_err_set(&req->err, TP_NOMEM, "out of memory");
        if (rc != TP_OK) {
                json_decref(c.arr);
                return rc;
        }
        *ret = c.arr;
        return TP_OK;
}

tp_rc api_journeys_list(tp_req *req, tp_resp *resp) {
        json_t *arr = NULL;
        tp_rc rc = collect(req, NULL, &arr);

        if (rc != TP_OK)
                return rc;
        return tp_http_reply_json(resp, 200, json_pack("{s:o}", "journeys", arr));
}

tp_rc api_journey_get(tp_req *req, tp_resp *resp) {
        json_t *arr = NULL, *one;
        tp_rc rc = collect(req, req->params[0], &arr);

        if (rc != TP_OK)
                return rc;
        if (json_array_size(arr) == 0) {
                json_decref(arr);
                return tp_err_setc(&req->err, TP_NOTFOUND, NULL, "key", "no journey '%.64s'", req->params[0]);
        }
        one = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return tp_http_reply_json(resp, 200, one);
}

tp_rc api_journey_put(tp_req *req, tp_resp *resp) {
        json_t *doc = NULL;
        int n = 0, had = 0;
        json_t *existing = NULL;
        tp_rc rc;

        rc = tp_json_parse(req->body.data ? req->body.data : "", req->body.len, req->ctx->cfg->lim.max_depth, &doc,
                           &req->err);
        if (rc != TP_OK)
                return rc;
        if (collect(req, req->params[0], &existing) == TP_OK) {
                had = json_array_size(existing) > 0;
                json_decref(existing);
        }
        pthread_mutex_lock(&req->ctx->store_lock);
        rc = tp_journey_apply(req->ctx->store, doc, req->params[0], &n, &req->err);
        if (rc == TP_OK)
                rc = tp_catalog_load(req->ctx->cat, req->ctx->store, &req->err);
        pthread_mutex_unlock(&req->ctx->store_lock);
        json_decref(doc);
        if (rc != TP_OK)
                return rc;
        return tp_http_reply_json(resp, had ? 200 : 201,
                                  json_pack("{s:s, s:i, s:b}", "key", req->params[0], "touchpoints", n, "created",
                                            !had));
}

tp_rc api_touchpoints_list(tp_req *req, tp_resp *resp) {
        json_t *arr = tp_catalog_to_json(req->ctx->cat);

        if (!arr)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        return tp_http_reply_json(resp, 200, json_pack("{s:o}", "touchpoints", arr));
}

/* One touchpoint's public face, for pages that hold only an ingest key or no
 * key at all (the kiosk, the survey page): no department, no expected
 * scores.  NULL when the key is unknown (or out of memory). */
json_t *api_touchpoint_public(tp_catalog *cat, const char *key) {
        json_t *arr = tp_catalog_to_json(cat), *t, *o = NULL;
        size_t i;

        json_array_foreach (arr, i, t) {
                json_t *name = json_object_get(t, "name");
                if (strcmp(json_string_value(json_object_get(t, "key")), key) != 0)
                        continue;
                o = json_pack("{s:O, s:O?, s:O?, s:O?, s:O?}", "key", json_object_get(t, "key"), "name_vi",
                              json_object_get(name, "vi"), "name_en", json_object_get(name, "en"), "channel",
                              json_object_get(t, "channel"), "stage", json_object_get(t, "stage"));
                break;
        }
        json_decref(arr);
        return o;
}

tp_rc api_touchpoint_get(tp_req *req, tp_resp *resp) {
        json_t *o = api_touchpoint_public(req->ctx->cat, req->params[0]);

        if (!o)
                return tp_err_setc(&req->err, TP_NOTFOUND, "unknown_touchpoint", "touchpoint", "no touchpoint '%.64s'",
                                   req->params[0]);
        return tp_http_reply_json(resp, 200, o);
}
