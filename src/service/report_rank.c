/* SPDX-License-Identifier: MIT */
/*
 * report_rank.c -- the questions that judge touchpoints rather than describe
 * them: the weakest touchpoints and the expectation gap.  Both stand on the
 * engine's per-touchpoint scores and say how sure they are.
 *
 * Weakest: a touchpoint is ranked by the UPPER end of its 95% interval (see
 * get_stat() for which interval), so it
 * comes first only when even the most generous reading of its answers is bad;
 * three angry answers (a wide interval) do not outrank three thousand lukewarm
 * ones.  Beside it, an empirical-Bayes score shrunk towards the overall score
 * (method-of-moments between-touchpoint variance), the share of all detractors
 * (or of all non-top-2 CSAT answers) the touchpoint accounts for, and the trend:
 * the last 30 days of the range against the 30 before, flagged significant when
 * the change exceeds 1.96 standard errors.
 *
 * Expectation gap: the owner's expected CSAT (mean, 1-5), NPS and CES (mean,
 * 1-7) against what customers report.  A mean's margin uses the Bhatia-Davis
 * bound on the variance of a bounded scale, (max - mean)(mean - min), which is
 * conservative: a gap flagged "below" is below.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "service/report.h"
#include "service/report_int.h"
#include "service/validate.h"

#define Z95 1.959963984540054
#define TREND_WINDOW (30 * 86400)

typedef struct stat {
        double score, se;    /* in points (NPS) or % (CSAT); se of the raw score */
        double lower, upper; /* the adjusted 95% interval, see get_stat() */
        uint64_t n, bad;     /* bad: detractors, or CSAT answers below 4 */
} stat;

/* The interval is not the plain Wald one, whose width is zero when every answer
 * agrees (three detractors out of three would be "certainly -100" and rank
 * first).  NPS adds one pseudo-answer to each of promoters, passives and
 * detractors (Agresti-Coull style) before taking the normal interval; CSAT uses
 * the Wilson interval.  Both keep honest width for small samples and agree
 * with Wald for large ones. */
static int get_stat(const tp_engine_score_row *r, tp_metric m, stat *ret) {
        if (m == TP_METRIC_NPS) {
                double n = (double) r->nps.n, p, d, na, pa, da, sa, sea;
                if (!r->nps.n)
                        return 0;
                p = (double) r->nps.promoters / n;
                d = (double) r->nps.detractors / n;
                ret->score = (p - d) * 100.0;
                ret->se = sqrt((p + d - (p - d) * (p - d)) / n) * 100.0;
                na = n + 3;
                pa = ((double) r->nps.promoters + 1) / na;
                da = ((double) r->nps.detractors + 1) / na;
                sa = (pa - da) * 100.0;
                sea = sqrt((pa + da - (pa - da) * (pa - da)) / na) * 100.0;
                ret->lower = sa - Z95 * sea;
                ret->upper = sa + Z95 * sea;
                ret->n = r->nps.n;
                ret->bad = r->nps.detractors;
        } else {
                double n = (double) r->csat.n, p, z2 = Z95 * Z95, c, h;
                if (!r->csat.n)
                        return 0;
                p = (double) r->csat.top2 / n;
                ret->score = p * 100.0;
                ret->se = sqrt(p * (1 - p) / n) * 100.0;
                c = (p + z2 / (2 * n)) / (1 + z2 / n);
                h = Z95 * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
                ret->lower = (c - h) * 100.0;
                ret->upper = (c + h) * 100.0;
                ret->n = r->csat.n;
                ret->bad = r->csat.n - r->csat.top2;
        }
        return 1;
}

/* The channel, segment and attribute filters of the question. */
static void filtered(tp_engine_scores_query *q, const tp_report_args *a) {
        q->channels = a->scores.channels;
        q->nchannels = a->scores.nchannels;
        q->segments = a->scores.segments;
        q->nsegments = a->scores.nsegments;
        q->attrs = a->scores.attrs;
        q->nattrs = a->scores.nattrs;
}

/* Scores by touchpoint (or overall) for one metric over [from, to). */
static tp_rc run_scores(tp_engine *e, const tp_report_args *a, int64_t from, int64_t to, tp_engine_group g,
                        tp_engine_scores **ret, tp_err *err) {
        tp_engine_scores_query q;
        tp_metric m = a->metric;

        tp_engine_scores_query_init(&q);
        filtered(&q, a);
        q.from = from;
        q.to = to;
        q.metrics = TP_ENGINE_METRIC(m);
        q.group = g;
        return tp_engine_scores_run(e, &q, ret, err);
}

static const tp_engine_score_row *find_row(const tp_engine_scores *r, int64_t tp) {
        for (size_t i = 0; r && i < r->nrows; i++)
                if (r->rows[i].touchpoint == tp)
                        return &r->rows[i];
        return NULL;
}

typedef struct ranked {
        int64_t tp;
        stat s;
        double upper;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
        const ranked *x = a, *y = b;

        if (x->upper != y->upper)
                return x->upper < y->upper ? -1 : 1;
        return x->tp < y->tp ? -1 : x->tp > y->tp;
}

static json_t *num_or_null(double v) {
        return isfinite(v) ? json_real(v) : json_null();
}

tp_rc tp_report_weakest(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        tp_engine_scores *all = NULL, *by = NULL, *recent = NULL, *prev = NULL;
        int64_t end = a->scores.to < a->now ? a->scores.to : a->now;
        ranked *v = NULL;
        size_t n = 0;
        stat overall = { 0 };
        double var_sum = 0, se2_sum = 0, mean_s = 0, tau2;
        uint64_t bad_total = 0;
        json_t *arr = NULL, *j = NULL;
        tp_rc rc;

        if ((rc = run_scores(e, a, a->scores.from, a->scores.to, TP_ENGINE_GROUP_NONE, &all, err)) != TP_OK ||
            (rc = run_scores(e, a, a->scores.from, a->scores.to, TP_ENGINE_GROUP_TOUCHPOINT, &by, err)) != TP_OK ||
            (rc = run_scores(e, a, end - TREND_WINDOW, end, TP_ENGINE_GROUP_TOUCHPOINT, &recent, err)) !=
                    TP_OK ||
            (rc = run_scores(e, a, end - 2 * TREND_WINDOW, end - TREND_WINDOW, TP_ENGINE_GROUP_TOUCHPOINT, &prev,
                             err)) != TP_OK)
                goto out;
        if (all->nrows)
                (void) get_stat(&all->rows[0], a->metric, &overall);
        v = tp_calloc(by->nrows ? by->nrows : 1, sizeof(*v));
        if (!v) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < by->nrows; i++) {
                if (!get_stat(&by->rows[i], a->metric, &v[n].s))
                        continue;
                v[n].tp = by->rows[i].touchpoint;
                v[n].upper = v[n].s.upper;
                mean_s += v[n].s.score;
                se2_sum += v[n].s.se * v[n].s.se;
                bad_total += v[n].s.bad;
                n++;
        }
        /* Method of moments: the spread of touchpoint scores beyond what their
         * sampling error explains is the between-touchpoint variance. */
        if (n > 1) {
                mean_s /= (double) n;
                for (size_t i = 0; i < n; i++)
                        var_sum += (v[i].s.score - mean_s) * (v[i].s.score - mean_s);
                tau2 = var_sum / (double) (n - 1) - se2_sum / (double) n;
                if (tau2 < 0)
                        tau2 = 0;
        } else {
                tau2 = 0;
        }
        qsort(v, n, sizeof(*v), cmp_ranked);
        arr = json_array();
        for (size_t i = 0; arr && i < n && (long long) i < a->limit; i++) {
                const tp_engine_score_row *r1 = find_row(recent, v[i].tp), *r0 = find_row(prev, v[i].tp);
                stat s1, s0;
                double w = tau2 + v[i].s.se * v[i].s.se > 0 ? tau2 / (tau2 + v[i].s.se * v[i].s.se) : 0;
                double ec = NAN, en = NAN, es = NAN;
                char key[64], stage[64] = "";
                json_t *trend = json_null(), *o;

                tp_catalog_key_of(cat, v[i].tp, key, sizeof(key));
                (void) tp_catalog_expected(cat, v[i].tp, &ec, &en, &es, stage, sizeof(stage));
                if (r1 && r0 && get_stat(r1, a->metric, &s1) && get_stat(r0, a->metric, &s0)) {
                        double d = s1.score - s0.score, se = sqrt(s1.se * s1.se + s0.se * s0.se);
                        json_decref(trend);
                        trend = json_pack("{s:f, s:f, s:f, s:b}", "recent", s1.score, "previous", s0.score, "delta", d,
                                          "significant", fabs(d) > Z95 * se);
                }
                o = json_pack("{s:I, s:s, s:s, s:I, s:f, s:f, s:f, s:o, s:f, s:o, s:b}", "rank", (json_int_t) (i + 1),
                              "touchpoint", key, "stage", stage, "n", (json_int_t) v[i].s.n, "score", v[i].s.score,
                              "lower", v[i].s.lower, "upper", v[i].upper, "shrunk",
                              num_or_null(w * v[i].s.score + (1 - w) * overall.score), "bad_share",
                              bad_total ? (double) v[i].s.bad / (double) bad_total : 0.0, "trend",
                              trend ? trend : json_null(), "low_volume", v[i].s.n < 30);
                if (!o || json_array_append_new(arr, o) != 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        if (arr)
                j = json_pack("{s:s, s:s, s:{s:o, s:I}, s:o}", "metric", tp_metric_name(a->metric), "ranked_by",
                              "upper 95% bound, ascending", "overall", "score",
                              num_or_null(all->nrows ? overall.score : NAN), "n", (json_int_t) overall.n, "touchpoints",
                              arr);
        if (!j) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        *ret_json = j;
out:
        tp_free(v);
        tp_engine_scores_free(all);
        tp_engine_scores_free(by);
        tp_engine_scores_free(recent);
        tp_engine_scores_free(prev);
        return rc;
}

/* One metric's gap, or NULL when the touchpoint has no expectation or no answers. */
static json_t *gap_json(double expected, double actual, double margin, uint64_t n) {
        const char *status;

        if (!isfinite(expected) || n == 0 || !isfinite(actual))
                return NULL;
        status = actual - expected < -margin ? "below" : actual - expected > margin ? "above" : "as_expected";
        return json_pack("{s:f, s:f, s:f, s:f, s:I, s:s}", "expected", expected, "actual", actual, "gap",
                         actual - expected, "margin", margin, "n", (json_int_t) n, "status", status);
}

static double mean_margin(double mean, double lo, double hi, uint64_t n) {
        double var = (hi - mean) * (mean - lo);

        return Z95 * sqrt((var > 0 ? var : 0) / (double) n);
}

tp_rc tp_report_expectations(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        tp_engine_scores_query q;
        tp_engine_scores *r = NULL;
        json_t *arr;
        tp_rc rc;

        tp_engine_scores_query_init(&q);
        q.from = a->scores.from;
        q.to = a->scores.to;
        q.metrics = TP_ENGINE_METRIC(TP_METRIC_NPS) | TP_ENGINE_METRIC(TP_METRIC_CSAT) | TP_ENGINE_METRIC(TP_METRIC_CES);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT;
        filtered(&q, a);
        if ((rc = tp_engine_scores_run(e, &q, &r, err)) != TP_OK)
                return rc;
        arr = json_array();
        for (size_t i = 0; arr && i < r->nrows; i++) {
                const tp_engine_score_row *row = &r->rows[i];
                double ec = NAN, en = NAN, es = NAN;
                char key[64], stage[64] = "";
                json_t *o, *g;

                if (tp_catalog_expected(cat, row->touchpoint, &ec, &en, &es, stage, sizeof(stage)) != TP_OK ||
                    (!isfinite(ec) && !isfinite(en) && !isfinite(es)))
                        continue;
                tp_catalog_key_of(cat, row->touchpoint, key, sizeof(key));
                o = json_pack("{s:s, s:s}", "touchpoint", key, "stage", stage);
                if (o && (g = gap_json(ec, row->csat.mean, row->csat.n ? mean_margin(row->csat.mean, 1, 5, row->csat.n) : 0,
                                       row->csat.n)))
                        json_object_set_new(o, "csat", g);
                if (o && (g = gap_json(en, row->nps.score, row->nps.margin, row->nps.n)))
                        json_object_set_new(o, "nps", g);
                if (o && (g = gap_json(es, row->ces.mean, row->ces.n ? mean_margin(row->ces.mean, 1, 7, row->ces.n) : 0,
                                       row->ces.n)))
                        json_object_set_new(o, "ces", g);
                if (!o || json_array_append_new(arr, o) != 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        tp_engine_scores_free(r);
        if (!arr || !(*ret_json = json_pack("{s:o}", "touchpoints", arr)))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        return TP_OK;
}

/* ---- key drivers ----------------------------------------------------------- */

tp_rc tp_report_parse_drivers(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err) {
        tp_engine_drivers_query *q = &a->drivers_q;
        const char *m = get(arg, "metric"), *o = get(arg, "outcome"), *ot = get(arg, "outcome_touchpoint"),
                   *mn = get(arg, "min_n");
        long long v = 0;

        tp_engine_drivers_query_init(q);
        q->from = a->scores.from;
        q->to = a->scores.to;
        q->filter = a->filter;
        if (m && tp_metric_parse(m, &q->metric) != TP_OK)
                return tp_err_setc(err, TP_INVALID, "invalid_value", "metric", "unknown metric '%.32s'", m);
        if (o && strcmp(o, "purchase") == 0) {
                q->outcome = TP_DRIVERS_OUTCOME_PURCHASE;
        } else if (o && tp_metric_parse(o, &q->outcome_metric) != TP_OK) {
                return tp_err_setc(err, TP_INVALID, "invalid_value", "outcome",
                                   "'outcome' must be a metric (nps, csat, ces, goal, ease, emotion) or purchase");
        }
        if (ot) {
                if (q->outcome == TP_DRIVERS_OUTCOME_PURCHASE)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "outcome_touchpoint",
                                           "'outcome_touchpoint' goes with a metric outcome, not purchase");
                if (tp_catalog_find(cat, ot, &q->outcome_touchpoint, NULL) != TP_OK)
                        return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "outcome_touchpoint",
                                           "unknown touchpoint '%.64s'", ot);
                q->outcome = TP_DRIVERS_OUTCOME_TOUCHPOINT;
        }
        if (mn) {
                if (tp_parse_int(mn, "min_n", &v, err) != TP_OK || v < 3 || v > 100000)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "min_n",
                                           "'min_n' must be a whole number from 3 to 100000");
                q->min_n = (uint32_t) v;
        }
        /* The scores' touchpoint filter (parsed by the caller) narrows the predictors. */
        q->touchpoints = a->scores.touchpoints;
        q->ntouchpoints = a->scores.ntouchpoints;
        return TP_OK;
}

tp_rc tp_report_drivers(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        tp_engine_drivers *r = NULL;
        json_t *j;
        tp_rc rc = tp_engine_drivers_run(e, &a->drivers_q, &r, err);

        if (rc != TP_OK)
                return rc;
        j = tp_engine_drivers_json(r, tp_catalog_key_fn, cat);
        tp_engine_drivers_free(r);
        if (!j)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        *ret_json = j;
        return TP_OK;
}
