/* SPDX-License-Identifier: MIT */
/*
 * engine_json.c -- the JSON the API serves for the engine's answers.
 *
 * Numbers are given at full precision (rounding is the client's business);
 * statistics without answers are null, never NaN (JSON has none).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine_int.h"

/* Steals v; -1 when v is NULL (out of memory) or cannot be set. */
static int put(json_t *o, const char *k, json_t *v) {
        return v && json_object_set_new_nocheck(o, k, v) == 0 ? 0 : -1; /* k: our own ASCII keys */
}

static json_t *num(double x) {
        return isnan(x) || isinf(x) ? json_null() : json_real(x);
}

static json_t *uint_(uint64_t x) {
        return json_integer((json_int_t) x);
}

/* "touchpoint_id" and, with a namer, "touchpoint" (or the given names). */
static int put_tp(json_t *o, const char *idk, const char *keyk, int64_t id, tp_engine_key_fn fn, void *arg) {
        char key[128] = "";

        if (put(o, idk, json_integer(id)))
                return -1;
        if (!fn)
                return 0;
        fn(arg, id, key, sizeof(key));
        return put(o, keyk, json_string(key));
}

static void local_time(int64_t ts, int32_t tz, int64_t *ret_days, int *ret_sec) {
        int64_t t = ts + tz;
        int64_t d = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

        *ret_days = d;
        *ret_sec = (int) (t - d * 86400);
}

static int put_bucket(json_t *o, tp_engine_bucket bucket, int64_t start, int32_t tz) {
        char date[32], rfc[48];
        int64_t days, y;
        unsigned m, d;
        int sec, off = tz < 0 ? -tz : tz;

        local_time(start, tz, &days, &sec);
        eng_civil(days, &y, &m, &d);
        if (bucket == TP_ENGINE_BUCKET_MONTH)
                (void) snprintf(date, sizeof(date), "%04lld-%02u", (long long) y, m);
        else
                (void) snprintf(date, sizeof(date), "%04lld-%02u-%02u", (long long) y, m, d);
        (void) snprintf(
                rfc,
                sizeof(rfc),
                "%04lld-%02u-%02uT%02d:%02d:%02d%c%02d:%02d",
                (long long) y,
                m,
                d,
                sec / 3600,
                sec / 60 % 60,
                sec % 60,
                tz < 0 ? '-' : '+',
                off / 3600,
                off / 60 % 60);
        return put(o, "bucket", json_string(date)) || put(o, "start", json_string(rfc));
}

static json_t *nps_json(const tp_engine_nps *x) {
        json_t *o;

        if (!x->n)
                return json_null();
        if (!(o = json_object()))
                return NULL;
        if (put(o, "n", uint_(x->n)) || put(o, "promoters", uint_(x->promoters)) ||
            put(o, "passives", uint_(x->passives)) || put(o, "detractors", uint_(x->detractors)) ||
            put(o, "score", num(x->score)) || put(o, "margin", num(x->margin)) ||
            put(o, "low_volume", json_boolean(x->low_volume))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *csat_json(const tp_engine_csat *x) {
        json_t *o;

        if (!x->n)
                return json_null();
        if (!(o = json_object()))
                return NULL;
        if (put(o, "n", uint_(x->n)) || put(o, "top2", uint_(x->top2)) || put(o, "pct", num(x->pct)) ||
            put(o, "lo", num(x->lo)) || put(o, "hi", num(x->hi)) || put(o, "mean", num(x->mean)) ||
            put(o, "low_volume", json_boolean(x->low_volume))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *ces_json(const tp_engine_ces *x) {
        json_t *o;

        if (!x->n)
                return json_null();
        if (!(o = json_object()))
                return NULL;
        if (put(o, "n", uint_(x->n)) || put(o, "easy", uint_(x->easy)) || put(o, "mean", num(x->mean)) ||
            put(o, "pct_easy", num(x->pct_easy)) || put(o, "low_volume", json_boolean(x->low_volume))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *factor_json(const tp_engine_factor *x) {
        json_t *o;

        if (!x->n)
                return json_null();
        if (!(o = json_object()))
                return NULL;
        if (put(o, "n", uint_(x->n)) || put(o, "top", uint_(x->top)) || put(o, "mean", num(x->mean)) ||
            put(o, "pct_top", num(x->pct_top)) || put(o, "low_volume", json_boolean(x->low_volume))) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static const char *const bucket_names[] = { "none", "day", "week", "month" };
static const char *const group_names[] = { "none",  "touchpoint", "channel", "touchpoint_channel",
                                           "stage", "sentiment",  "theme", "segment", "attribute" };

json_t *tp_engine_scores_json(const tp_engine_scores *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *rows = json_array();
        int gtp = r->group == TP_ENGINE_GROUP_TOUCHPOINT || r->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        int gch = r->group == TP_ENGINE_GROUP_CHANNEL || r->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;

        if (!o || !rows)
                goto fail;
        for (size_t i = 0; i < r->nrows; i++) {
                const tp_engine_score_row *x = &r->rows[i];
                json_t *row = json_object();

                if (!row || json_array_append_new(rows, row))
                        goto fail;
                if (r->bucket != TP_ENGINE_BUCKET_NONE && put_bucket(row, r->bucket, x->bucket, r->tz_offset))
                        goto fail;
                if (gtp && put_tp(row, "touchpoint_id", "touchpoint", x->touchpoint, key_fn, arg))
                        goto fail;
                if (gch && put(row, "channel", x->channel[0] ? json_string(x->channel) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_STAGE && put(row, "stage", json_integer(x->stage)))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_SENTIMENT &&
                    put(row, "sentiment", tp_sentiment_name(x->sentiment) ? json_string(tp_sentiment_name(x->sentiment))
                                                                        : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_THEME &&
                    put(row, "theme", x->theme[0] ? json_string(x->theme) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_SEGMENT &&
                    put(row, "segment", x->segment[0] ? json_string(x->segment) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_ATTRIBUTE &&
                    (put(row, "attribute", json_string(r->attribute)) ||
                     put(row, "value", x->attribute[0] ? json_string(x->attribute) : json_null())))
                        goto fail;
                if ((r->metrics & TP_ENGINE_METRIC(TP_METRIC_NPS) && put(row, "nps", nps_json(&x->nps))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_CSAT) && put(row, "csat", csat_json(&x->csat))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_CES) && put(row, "ces", ces_json(&x->ces))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_GOAL) && put(row, "goal", factor_json(&x->goal))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_EASE) && put(row, "ease", factor_json(&x->ease))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_EMOTION) &&
                     put(row, "emotion", factor_json(&x->emotion))))
                        goto fail;
        }
        if (put(o, "bucket", json_string(bucket_names[r->bucket])) ||
            put(o, "group", json_string(group_names[r->group])) ||
            (r->group == TP_ENGINE_GROUP_ATTRIBUTE && put(o, "attribute", json_string(r->attribute))) ||
            put(o, "tz_offset", json_integer(r->tz_offset)) || put(o, "min_n", json_integer(r->min_n)))
                goto fail;
        if (put(o, "rows", rows)) {
                rows = NULL;
                goto fail;
        }
        return o;
fail:
        json_decref(rows);
        json_decref(o);
        return NULL;
}

json_t *tp_engine_transitions_json(const tp_engine_transitions *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *rows = json_array();
        size_t i = 0;

        if (!o || !rows)
                goto fail;
        /* Rows are ordered by `from`: each run gives the row's outgoing total. */
        while (i < r->nrows) {
                size_t j = i;
                uint64_t out = 0;

                while (j < r->nrows && r->rows[j].from == r->rows[i].from)
                        out += r->rows[j++].n;
                for (; i < j; i++) {
                        const tp_engine_transition *x = &r->rows[i];
                        json_t *row = json_object();

                        if (!row || json_array_append_new(rows, row))
                                goto fail;
                        if (put_tp(row, "from_id", "from", x->from, key_fn, arg) ||
                            put_tp(row, "to_id", "to", x->to, key_fn, arg) || put(row, "n", uint_(x->n)) ||
                            put(row, "share", json_real((double) x->n / (double) out)))
                                goto fail;
                }
        }
        if (put(o, "total", uint_(r->total)))
                goto fail;
        if (put(o, "transitions", rows)) {
                rows = NULL;
                goto fail;
        }
        return o;
fail:
        json_decref(rows);
        json_decref(o);
        return NULL;
}

json_t *tp_engine_last_touch_json(const tp_engine_last_touch *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *rows = json_array(), *un = NULL;

        if (!o || !rows)
                goto fail;
        for (size_t i = 0; i < r->nrows; i++) {
                const tp_engine_touch *x = &r->rows[i];
                json_t *row = json_object();

                if (!row || json_array_append_new(rows, row))
                        goto fail;
                if (put_tp(row, "touchpoint_id", "touchpoint", x->touchpoint, key_fn, arg) ||
                    put(row, "conversions", uint_(x->purchases)) ||
                    put(row, "value", json_integer(x->revenue)))
                        goto fail;
        }
        if (put(o, "model", json_string("last")) || put(o, "conversion", json_string("purchase")) ||
            put(o, "conversions", uint_(r->purchases)) || put(o, "value", json_integer(r->revenue)))
                goto fail;
        if (!(un = json_object()) || put(un, "conversions", uint_(r->unattributed)) ||
            put(un, "value", json_integer(r->unattributed_revenue)))
                goto fail;
        if (put(o, "unattributed", un)) {
                un = NULL;
                goto fail;
        }
        un = NULL;
        if (put(o, "touchpoints", rows)) {
                rows = NULL;
                goto fail;
        }
        return o;
fail:
        json_decref(un);
        json_decref(rows);
        json_decref(o);
        return NULL;
}
