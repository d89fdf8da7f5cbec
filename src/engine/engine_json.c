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

int eng_jput(json_t *o, const char *k, json_t *v) {
        return v && json_object_set_new_nocheck(o, k, v) == 0 ? 0 : -1; /* k: our own ASCII keys */
}

int eng_jappend(json_t *a, json_t *v) {
        return v && json_array_append_new(a, v) == 0 ? 0 : -1;
}

json_t *eng_jnum(double x) {
        return isnan(x) || isinf(x) ? json_null() : json_real(x);
}

json_t *eng_juint(uint64_t x) {
        return json_integer((json_int_t) x);
}

int eng_jtp(json_t *o, const char *idk, const char *keyk, int64_t id, tp_engine_key_fn fn, void *arg) {
        char key[128] = "";

        if (eng_jput(o, idk, json_integer(id)))
                return -1;
        if (!fn)
                return 0;
        fn(arg, id, key, sizeof(key));
        return eng_jput(o, keyk, json_string(key));
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
        return eng_jput(o, "bucket", json_string(date)) || eng_jput(o, "start", json_string(rfc));
}

static json_t *nps_json(const tp_engine_nps *x) {
        json_t *o;

        if (!x->n)
                return json_null();
        if (!(o = json_object()))
                return NULL;
        if (eng_jput(o, "n", eng_juint(x->n)) || eng_jput(o, "promoters", eng_juint(x->promoters)) ||
            eng_jput(o, "passives", eng_juint(x->passives)) || eng_jput(o, "detractors", eng_juint(x->detractors)) ||
            eng_jput(o, "score", eng_jnum(x->score)) || eng_jput(o, "margin", eng_jnum(x->margin)) ||
            eng_jput(o, "low_volume", json_boolean(x->low_volume))) {
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
        if (eng_jput(o, "n", eng_juint(x->n)) || eng_jput(o, "top2", eng_juint(x->top2)) || eng_jput(o, "pct", eng_jnum(x->pct)) ||
            eng_jput(o, "lo", eng_jnum(x->lo)) || eng_jput(o, "hi", eng_jnum(x->hi)) || eng_jput(o, "mean", eng_jnum(x->mean)) ||
            eng_jput(o, "low_volume", json_boolean(x->low_volume))) {
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
        if (eng_jput(o, "n", eng_juint(x->n)) || eng_jput(o, "easy", eng_juint(x->easy)) || eng_jput(o, "mean", eng_jnum(x->mean)) ||
            eng_jput(o, "pct_easy", eng_jnum(x->pct_easy)) || eng_jput(o, "low_volume", json_boolean(x->low_volume))) {
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
        if (eng_jput(o, "n", eng_juint(x->n)) || eng_jput(o, "top", eng_juint(x->top)) || eng_jput(o, "mean", eng_jnum(x->mean)) ||
            eng_jput(o, "pct_top", eng_jnum(x->pct_top)) || eng_jput(o, "low_volume", json_boolean(x->low_volume))) {
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
                if (gtp && eng_jtp(row, "touchpoint_id", "touchpoint", x->touchpoint, key_fn, arg))
                        goto fail;
                if (gch && eng_jput(row, "channel", x->channel[0] ? json_string(x->channel) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_STAGE && eng_jput(row, "stage", json_integer(x->stage)))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_SENTIMENT &&
                    eng_jput(row, "sentiment", tp_sentiment_name(x->sentiment) ? json_string(tp_sentiment_name(x->sentiment))
                                                                        : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_THEME &&
                    eng_jput(row, "theme", x->theme[0] ? json_string(x->theme) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_SEGMENT &&
                    eng_jput(row, "segment", x->segment[0] ? json_string(x->segment) : json_null()))
                        goto fail;
                if (r->group == TP_ENGINE_GROUP_ATTRIBUTE &&
                    (eng_jput(row, "attribute", json_string(r->attribute)) ||
                     eng_jput(row, "value", x->attribute[0] ? json_string(x->attribute) : json_null())))
                        goto fail;
                if ((r->metrics & TP_ENGINE_METRIC(TP_METRIC_NPS) && eng_jput(row, "nps", nps_json(&x->nps))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_CSAT) && eng_jput(row, "csat", csat_json(&x->csat))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_CES) && eng_jput(row, "ces", ces_json(&x->ces))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_GOAL) && eng_jput(row, "goal", factor_json(&x->goal))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_EASE) && eng_jput(row, "ease", factor_json(&x->ease))) ||
                    (r->metrics & TP_ENGINE_METRIC(TP_METRIC_EMOTION) &&
                     eng_jput(row, "emotion", factor_json(&x->emotion))))
                        goto fail;
        }
        if (eng_jput(o, "bucket", json_string(bucket_names[r->bucket])) ||
            eng_jput(o, "group", json_string(group_names[r->group])) ||
            (r->group == TP_ENGINE_GROUP_ATTRIBUTE && eng_jput(o, "attribute", json_string(r->attribute))) ||
            eng_jput(o, "tz_offset", json_integer(r->tz_offset)) || eng_jput(o, "min_n", json_integer(r->min_n)))
                goto fail;
        if (eng_jput(o, "rows", rows)) {
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
                        if (eng_jtp(row, "from_id", "from", x->from, key_fn, arg) ||
                            eng_jtp(row, "to_id", "to", x->to, key_fn, arg) || eng_jput(row, "n", eng_juint(x->n)) ||
                            eng_jput(row, "share", json_real((double) x->n / (double) out)))
                                goto fail;
                }
        }
        if (eng_jput(o, "total", eng_juint(r->total)))
                goto fail;
        if (eng_jput(o, "transitions", rows)) {
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
                if (eng_jtp(row, "touchpoint_id", "touchpoint", x->touchpoint, key_fn, arg) ||
                    eng_jput(row, "conversions", eng_juint(x->purchases)) ||
                    eng_jput(row, "value", json_integer(x->revenue)))
                        goto fail;
        }
        if (eng_jput(o, "model", json_string("last")) || eng_jput(o, "conversion", json_string("purchase")) ||
            eng_jput(o, "conversions", eng_juint(r->purchases)) || eng_jput(o, "value", json_integer(r->revenue)))
                goto fail;
        if (!(un = json_object()) || eng_jput(un, "conversions", eng_juint(r->unattributed)) ||
            eng_jput(un, "value", json_integer(r->unattributed_revenue)))
                goto fail;
        if (eng_jput(o, "unattributed", un)) {
                un = NULL;
                goto fail;
        }
        un = NULL;
        if (eng_jput(o, "touchpoints", rows)) {
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
