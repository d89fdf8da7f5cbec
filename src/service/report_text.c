/* SPDX-License-Identifier: MIT */
/*
 * report_text.c -- what comments say, from the engine: the themes of the
 * answers asked (e.g. a touchpoint's detractors) with their volume, share,
 * sentiment and scores, and each theme's trend.  Scores by sentiment or theme
 * are the scores report with group=sentiment|theme (report.c).
 */
#include <string.h>

#include "common/alloc.h"
#include "service/report_int.h"
#include "text/text.h"

static uint64_t row_n(const tp_engine_score_row *r) {
        return r->nps.n + r->csat.n + r->ces.n + r->goal.n + r->ease.n + r->emotion.n;
}

static tp_rc run(tp_engine *e, const tp_report_args *a, tp_engine_group g, tp_engine_bucket b, unsigned sentiments,
                 tp_engine_scores **ret, tp_err *err) {
        tp_engine_scores_query q = a->scores;

        q.group = g;
        q.bucket = b;
        q.sentiments = sentiments;
        return tp_engine_scores_run(e, &q, ret, err);
}

/* The row of theme key in r, or NULL. */
static const tp_engine_score_row *find(const tp_engine_scores *r, const char *key) {
        for (size_t i = 0; r && i < r->nrows; i++)
                if (strcmp(r->rows[i].theme, key) == 0)
                        return &r->rows[i];
        return NULL;
}

tp_rc tp_report_themes(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        tp_engine_scores *all = NULL, *by_sent[3] = { NULL }, *read = NULL, *trend = NULL;
        json_t *o = NULL, *arr = NULL, *full = NULL;
        uint64_t commented = 0;
        tp_rc rc;

        if ((rc = run(e, a, TP_ENGINE_GROUP_THEME, TP_ENGINE_BUCKET_NONE, a->scores.sentiments, &all, err)) != TP_OK)
                goto out;
        for (int k = 0; k < 3; k++) {
                unsigned want = 1u << (k + 1);
                if (a->scores.sentiments && !(a->scores.sentiments & want))
                        continue;
                if ((rc = run(e, a, TP_ENGINE_GROUP_THEME, TP_ENGINE_BUCKET_NONE, want, &by_sent[k], err)) != TP_OK)
                        goto out;
        }
        /* Answers whose comment was read: the base of each theme's share. */
        if ((rc = run(e, a, TP_ENGINE_GROUP_SENTIMENT, TP_ENGINE_BUCKET_NONE, a->scores.sentiments, &read, err)) !=
            TP_OK)
                goto out;
        for (size_t i = 0; i < read->nrows; i++)
                if (read->rows[i].sentiment > 0)
                        commented += row_n(&read->rows[i]);
        if (a->scores.bucket != TP_ENGINE_BUCKET_NONE &&
            (rc = run(e, a, TP_ENGINE_GROUP_THEME, a->scores.bucket, a->scores.sentiments, &trend, err)) != TP_OK)
                goto out;

        o = json_object();
        arr = json_array();
        full = tp_engine_scores_json(all, tp_catalog_key_fn, cat);
        if (!o || !arr || !full) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < all->nrows; i++) {
                const tp_engine_score_row *r = &all->rows[i];
                uint64_t n = row_n(r);
                json_t *t, *stats = json_array_get(json_object_get(full, "rows"), i);
                int ti;

                if (!r->theme[0]) /* answers naming no theme */
                        continue;
                ti = a->text ? tp_text_theme_find(a->text, r->theme) : -1;
                t = json_pack("{s:s, s:s?, s:s?, s:I, s:f}", "theme", r->theme, "name_vi",
                              ti >= 0 ? tp_text_theme_name(a->text, ti, "vi") : NULL, "name_en",
                              ti >= 0 ? tp_text_theme_name(a->text, ti, "en") : NULL, "mentions", (json_int_t) n,
                              "share", commented ? (double) n / (double) commented : 0.0);
                if (!t || json_array_append_new(arr, t) != 0) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                for (int k = 0; k < 3; k++) {
                        static const char *const names[] = { "negative", "neutral", "positive" };
                        const tp_engine_score_row *s = find(by_sent[k], r->theme);
                        json_object_set_new(t, names[k], json_integer(s ? (json_int_t) row_n(s) : 0));
                }
                /* The scores of the answers naming the theme, as the scores report gives them. */
                json_object_update_missing(t, stats);
                json_object_del(t, "touchpoint");
        }
        /* Most mentioned first; ties by key, so the order is stable. */
        {
                size_t n = json_array_size(arr);
                for (size_t i = 1; i < n; i++) {
                        for (size_t j = i; j > 0; j--) {
                                json_t *x = json_array_get(arr, j - 1), *y = json_array_get(arr, j);
                                json_int_t mx = json_integer_value(json_object_get(x, "mentions")),
                                           my = json_integer_value(json_object_get(y, "mentions"));
                                if (mx > my || (mx == my && strcmp(json_string_value(json_object_get(x, "theme")),
                                                                   json_string_value(json_object_get(y, "theme"))) <= 0))
                                        break;
                                json_incref(x);
                                json_array_set(arr, j - 1, y);
                                json_array_set_new(arr, j, x);
                        }
                }
        }
        json_object_set_new(o, "commented", json_integer((json_int_t) commented));
        json_object_set_new(o, "detractors", json_boolean(a->scores.detractors));
        json_object_set_new(o, "themes", arr);
        arr = NULL;
        if (trend) {
                json_t *tj = tp_engine_scores_json(trend, tp_catalog_key_fn, cat);
                if (!tj) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                json_object_set(o, "bucket", json_object_get(tj, "bucket"));
                json_object_set(o, "trend", json_object_get(tj, "rows"));
                json_decref(tj);
        }
        *ret_json = o;
        o = NULL;
out:
        json_decref(o);
        json_decref(arr);
        json_decref(full);
        tp_engine_scores_free(all);
        tp_engine_scores_free(read);
        tp_engine_scores_free(trend);
        for (int k = 0; k < 3; k++)
                tp_engine_scores_free(by_sent[k]);
        return rc;
}
