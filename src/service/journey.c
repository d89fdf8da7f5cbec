/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "service/catalog.h"
#include "service/journey.h"

extern const char tp_template_retail_vn[];

const char *tp_journey_template(const char *name) {
        if (strcmp(name, "retail-vn") == 0)
                return tp_template_retail_vn;
        return NULL;
}

const char *tp_journey_template_names(void) {
        return "retail-vn";
}

#define MAX_TOUCHPOINTS 1024

static tp_rc bad(tp_err *err, const char *path, const char *msg) {
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_journey", path, "%s: %s", path, msg);
}

static tp_rc only_keys(json_t *o, const char *const *known, const char *path, tp_err *err) {
        const char *k;
        json_t *v;
        char p[128];

        json_object_foreach(o, k, v) {
                int ok = 0;
                for (const char *const *q = known; *q; q++)
                        ok |= strcmp(*q, k) == 0;
                if (!ok) {
                        (void) snprintf(p, sizeof(p), "%s%s%.32s", path, *path ? "." : "", k);
                        return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_field", p, "unknown field '%s'", p);
                }
        }
        return TP_OK;
}

/* "name" may be a string (both languages) or {"vi": ..., "en": ...}. */
static tp_rc get_names(json_t *o, const char *path, const char **vi, const char **en, tp_err *err) {
        json_t *n = json_object_get(o, "name");
        char p[128];

        (void) snprintf(p, sizeof(p), "%s%sname", path, *path ? "." : "");
        *vi = *en = NULL;
        if (!n)
                return TP_OK;
        if (json_is_string(n)) {
                *vi = *en = json_string_value(n);
                return TP_OK;
        }
        if (!json_is_object(n))
                return bad(err, p, "must be a string or an object {\"vi\": ..., \"en\": ...}");
        if (json_object_get(n, "vi") && !json_is_string(json_object_get(n, "vi")))
                return bad(err, p, "'vi' must be a string");
        if (json_object_get(n, "en") && !json_is_string(json_object_get(n, "en")))
                return bad(err, p, "'en' must be a string");
        *vi = json_string_value(json_object_get(n, "vi"));
        *en = json_string_value(json_object_get(n, "en"));
        if (!*vi)
                *vi = *en;
        if (!*en)
                *en = *vi;
        return TP_OK;
}

static tp_rc get_expected(json_t *tpo, const char *path, tp_touchpoint *t, tp_err *err) {
        static const char *const known[] = { "csat", "nps", "ces", NULL };
        static const double lo[] = { 1, -100, 1 }, hi[] = { 5, 100, 7 };
        double *dst[] = { &t->expected_csat, &t->expected_nps, &t->expected_ces };
        json_t *e = json_object_get(tpo, "expected");
        char p[128];
        tp_rc rc;

        t->expected_csat = t->expected_nps = t->expected_ces = NAN;
        if (!e || json_is_null(e))
                return TP_OK;
        (void) snprintf(p, sizeof(p), "%s.expected", path);
        if (!json_is_object(e))
                return bad(err, p, "must be an object such as {\"csat\": 4.2, \"nps\": 30}");
        if ((rc = only_keys(e, known, p, err)) != TP_OK)
                return rc;
        for (int i = 0; i < 3; i++) {
                json_t *v = json_object_get(e, known[i]);
                if (!v)
                        continue;
                if (!json_is_number(v) || json_number_value(v) < lo[i] || json_number_value(v) > hi[i]) {
                        char msg[96];
                        (void) snprintf(msg, sizeof(msg), "'%s' must be a number from %g to %g", known[i], lo[i],
                                        hi[i]);
                        return bad(err, p, msg);
                }
                *dst[i] = json_number_value(v);
        }
        return TP_OK;
}

typedef struct owner_ctx {
        const char *journey;
        const tp_touchpoint *tps;
        int n;
        char conflict_key[64], conflict_journey[64];
} owner_ctx;

static int check_owner(void *arg, const tp_touchpoint *t) {
        owner_ctx *c = arg;

        if (!t->journey || strcmp(t->journey, c->journey) == 0)
                return 0;
        for (int i = 0; i < c->n; i++) {
                if (strcmp(c->tps[i].key, t->key) == 0) {
                        (void) snprintf(c->conflict_key, sizeof(c->conflict_key), "%s", t->key);
                        (void) snprintf(c->conflict_journey, sizeof(c->conflict_journey), "%s", t->journey);
                        return 1;
                }
        }
        return 0;
}

static tp_rc parse_touchpoint(json_t *tpo, const char *path, tp_touchpoint *t, tp_err *err) {
        static const char *const known[] = { "key", "name", "channel", "department", "expected", NULL };
        json_t *k, *ch, *dep;
        char p[128];
        tp_rc rc;

        if (!json_is_object(tpo))
                return bad(err, path, "must be an object");
        if ((rc = only_keys(tpo, known, path, err)) != TP_OK)
                return rc;
        k = json_object_get(tpo, "key");
        (void) snprintf(p, sizeof(p), "%s.key", path);
        if (!json_is_string(k) || !tp_key_valid(json_string_value(k)))
                return bad(err, p, "required: 1-63 characters of a-z, 0-9, - and _");
        t->key = json_string_value(k);
        if ((rc = get_names(tpo, path, &t->name_vi, &t->name_en, err)) != TP_OK)
                return rc;
        ch = json_object_get(tpo, "channel");
        (void) snprintf(p, sizeof(p), "%s.channel", path);
        if (ch && (!json_is_string(ch) || !tp_channel_valid(json_string_value(ch)))) {
                char msg[160];
                (void) snprintf(msg, sizeof(msg), "must be one of %s", tp_channel_list());
                return bad(err, p, msg);
        }
        t->channel = json_string_value(ch);
        dep = json_object_get(tpo, "department");
        (void) snprintf(p, sizeof(p), "%s.department", path);
        if (dep && (!json_is_string(dep) || !tp_key_valid(json_string_value(dep))))
                return bad(err, p, "must be a key: 1-63 characters of a-z, 0-9, - and _");
        t->department = json_string_value(dep);
        t->active = 1;
        return get_expected(tpo, path, t, err);
}

tp_rc tp_journey_apply(tp_store *s, json_t *doc, const char *path_key, int *ret_ntps, tp_err *err) {
        static const char *const known[] = { "key", "name", "stages", NULL };
        static const char *const stage_known[] = { "key", "name", "touchpoints", NULL };
        tp_touchpoint *tps = NULL;
        const char *key, *vi, *en;
        json_t *stages, *k;
        char *text = NULL;
        owner_ctx oc;
        int n = 0;
        tp_rc rc;

        if (!json_is_object(doc))
                return bad(err, "body", "a journey must be a JSON object");
        if ((rc = only_keys(doc, known, "", err)) != TP_OK)
                return rc;
        k = json_object_get(doc, "key");
        if (k && !json_is_string(k))
                return bad(err, "key", "must be a string");
        key = k ? json_string_value(k) : path_key;
        if (!key || !tp_key_valid(key))
                return bad(err, "key", "required: 1-63 characters of a-z, 0-9, - and _");
        if (path_key && strcmp(key, path_key) != 0)
                return tp_err_setc(err, TP_UNPROCESSABLE, "key_mismatch", "key",
                                   "the body's key '%s' differs from the URL's '%s'", key, path_key);
        if ((rc = get_names(doc, "", &vi, &en, err)) != TP_OK)
                return rc;
        stages = json_object_get(doc, "stages");
        if (!json_is_array(stages) || json_array_size(stages) == 0 || json_array_size(stages) > 64)
                return bad(err, "stages", "required: an array of 1 to 64 stages");
        tps = tp_calloc(MAX_TOUCHPOINTS, sizeof(*tps));
        if (!tps)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        for (size_t si = 0; si < json_array_size(stages); si++) {
                json_t *st = json_array_get(stages, si), *sk, *list;
                char sp[64];

                (void) snprintf(sp, sizeof(sp), "stages[%zu]", si);
                if (!json_is_object(st)) {
                        rc = bad(err, sp, "must be an object");
                        goto out;
                }
                if ((rc = only_keys(st, stage_known, sp, err)) != TP_OK)
                        goto out;
                sk = json_object_get(st, "key");
                if (!json_is_string(sk) || !tp_key_valid(json_string_value(sk))) {
                        (void) snprintf(sp, sizeof(sp), "stages[%zu].key", si);
                        rc = bad(err, sp, "required: 1-63 characters of a-z, 0-9, - and _");
                        goto out;
                }
                for (size_t sj = 0; sj < si; sj++) {
                        if (json_equal(json_object_get(json_array_get(stages, sj), "key"), sk)) {
                                (void) snprintf(sp, sizeof(sp), "stages[%zu].key", si);
                                rc = bad(err, sp, "duplicate stage key");
                                goto out;
                        }
                }
                if ((rc = get_names(st, sp, &vi, &en, err)) != TP_OK)
                        goto out;
                list = json_object_get(st, "touchpoints");
                if (!json_is_array(list)) {
                        (void) snprintf(sp, sizeof(sp), "stages[%zu].touchpoints", si);
                        rc = bad(err, sp, "required: an array of touchpoints");
                        goto out;
                }
                for (size_t ti = 0; ti < json_array_size(list); ti++) {
                        char tpath[64];
                        (void) snprintf(tpath, sizeof(tpath), "stages[%zu].touchpoints[%zu]", si, ti);
                        if (n == MAX_TOUCHPOINTS) {
                                rc = bad(err, tpath, "a journey holds at most 1024 touchpoints");
                                goto out;
                        }
                        if ((rc = parse_touchpoint(json_array_get(list, ti), tpath, &tps[n], err)) != TP_OK)
                                goto out;
                        for (int j = 0; j < n; j++) {
                                if (strcmp(tps[j].key, tps[n].key) == 0) {
                                        rc = tp_err_setc(err, TP_UNPROCESSABLE, "invalid_journey", tpath,
                                                         "%s: touchpoint '%s' appears twice", tpath, tps[n].key);
                                        goto out;
                                }
                        }
                        tps[n].stage = json_string_value(sk);
                        tps[n].stage_pos = (int) si;
                        tps[n].pos = (int) ti;
                        n++;
                }
        }
        memset(&oc, 0, sizeof(oc));
        oc.journey = key;
        oc.tps = tps;
        oc.n = n;
        if ((rc = tp_store_touchpoint_list(s, check_owner, &oc, err)) != TP_OK)
                goto out;
        if (oc.conflict_key[0]) {
                rc = tp_err_setc(err, TP_CONFLICT, "touchpoint_taken", "touchpoint",
                                 "touchpoint '%s' already belongs to journey '%s'", oc.conflict_key,
                                 oc.conflict_journey);
                goto out;
        }
        if (!json_object_get(doc, "key") && json_object_set_new(doc, "key", json_string(key)) != 0) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        text = tp_json_dump(doc, NULL);
        if (!text) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        rc = tp_store_journey_put(s, key, text, tps, n, err);
        if (rc == TP_OK && ret_ntps)
                *ret_ntps = n;
out:
        tp_free(text);
        tp_free(tps);
        return rc;
}
