/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c -- the analytics engine: statistics against hand-computed
 * values, buckets in UTC+7, late events, rollups against scans and against an
 * independent brute-force reference on seeded random data, allocation failures,
 * budgets, JSON, and loading from a real SQLite store.
 *
 * Two more modes, each a test that skips unless its variable is set:
 *   TP_ENGINE_SQL_DIR=DIR   load DIR/events_sql.csv and DIR/responses_sql.csv
 *                           (tpgen --sql) through tp_engine_add_*, write the
 *                           answers to ../shared/bench/q1..q6.sql as
 *                           DIR/engine_q1.csv .. engine_q6.csv, in the SQL's
 *                           column order (tests/e2e/engine_sql.sh compares them);
 *   TP_ENGINE_BENCH=DIR     the same load on the large data set, timed, the
 *                           memory breakdown, Q1-Q6 (median of 5 runs each) and
 *                           every attribution model, rollup against scan;
 *                           with TP_ENGINE_BENCH_STORE=URL also tp_engine_load()
 *                           from that store.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "engine/engine.h"
#include "engine/engine_int.h" /* the writer mutex, for the bounded catch-up test */
#include "engine/engine_mta.h" /* the attribution rollups, compared after a rebuild */
#include "service/journey.h"
#include "store/store.h"

#define NCH 5
static const char *const CH[NCH] = { "web", "mobile_app", "email", "phone", "store" };
#define NTYPE 4
static const char *const TYPES[NTYPE] = { "purchase", "view", "click", "visit" };
static const int SLOT_BASE[_TP_METRIC_MAX] = { 0, 11, 16, 23, 26, 33 };
static const int SCORE_LO[_TP_METRIC_MAX] = { 0, 1, 1, 0, 1, 1 };
static const int SCORE_HI[_TP_METRIC_MAX] = { 10, 5, 7, 2, 7, 5 };

/* ---- helpers ------------------------------------------------------------- */

static uint32_t scan_threads; /* for the engines mk_engine() makes */
static int64_t attrib_lb = -1; /* their attrib_lookback, -1: the default */

static tp_engine *mk_engine(int32_t tz, uint32_t delta_min) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_err err = { 0 };

        tp_engine_opts_init(&o);
        o.tz_offset = tz;
        o.delta_min = delta_min;
        o.scan_threads = scan_threads;
        if (attrib_lb >= 0)
                o.attrib_lookback = attrib_lb;
        if (tp_engine_new(&o, &e, &err) != TP_OK)
                fail_msg("tp_engine_new: %s", err.msg);
        return e;
}

static void ev(
        tp_engine *e, int64_t seq, const char *cust, int64_t tp, const char *type, int64_t ts, int64_t value) {
        tp_event x = { .id = "x",
                       .customer = cust,
                       .touchpoint = tp,
                       .channel = "web",
                       .type = type,
                       .ts = ts,
                       .has_value = value >= 0,
                       .value = value >= 0 ? value : 0,
                       .currency = "VND" };
        tp_err err = { 0 };

        if (tp_engine_add_event(e, seq, &x, &err) != TP_OK)
                fail_msg("add_event %lld: %s", (long long) seq, err.msg);
}

static void rs(tp_engine *e, int64_t seq, int64_t tp, const char *ch, tp_metric m, int score, int64_t ts) {
        tp_response x = {
                .id = "r", .customer = "c1", .touchpoint = tp, .channel = ch, .metric = m, .score = score, .ts = ts
        };
        tp_err err = { 0 };

        if (tp_engine_add_response(e, seq, &x, &err) != TP_OK)
                fail_msg("add_response %lld: %s", (long long) seq, err.msg);
}

static tp_engine_scores *scores(tp_engine *e, const tp_engine_scores_query *q) {
        tp_engine_scores *r = NULL;
        tp_err err = { 0 };

        if (tp_engine_scores_run(e, q, &r, &err) != TP_OK)
                fail_msg("scores: %s", err.msg);
        return r;
}

static tp_engine_scores *scores_all(tp_engine *e, tp_engine_group g, tp_engine_bucket b) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        q.group = g;
        q.bucket = b;
        return scores(e, &q);
}

static tp_engine_transitions *transitions(tp_engine *e, const tp_engine_path_query *q) {
        tp_engine_transitions *r = NULL;
        tp_err err = { 0 };

        if (tp_engine_transitions_run(e, q, &r, &err) != TP_OK)
                fail_msg("transitions: %s", err.msg);
        return r;
}

static tp_engine_last_touch *last_touch(tp_engine *e, const tp_engine_path_query *q) {
        tp_engine_last_touch *r = NULL;
        tp_err err = { 0 };

        if (tp_engine_last_touch_run(e, q, &r, &err) != TP_OK)
                fail_msg("last touch: %s", err.msg);
        return r;
}

static void near(double got, double want, double tol, const char *what) {
        if (!(fabs(got - want) <= tol))
                fail_msg("%s: got %.12g, want %.12g", what, got, want);
}

static int same_double(double a, double b) {
        return (isnan(a) && isnan(b)) || a == b;
}

/* ---- hand-computed statistics -------------------------------------------- */

/* 10 NPS answers: 5 promoters (9, 10, 9, 10, 9), 3 passives (7, 8, 7) and 2
 * detractors (3, 6).  NPS = 50% - 20% = 30; p = 0.5, d = 0.2:
 * margin = 1.96 * sqrt((0.5 + 0.2 - 0.3^2) / 10) * 100
 *        = 1.96 * sqrt(0.061) * 100 = 1.96 * 0.2469818 * 100 = 48.40843. */
static void test_nps_hand(void **state) {
        static const int s[10] = { 9, 10, 9, 10, 9, 7, 8, 7, 3, 6 };
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_scores *r;

        (void) state;
        for (int i = 0; i < 10; i++)
                rs(e, i + 1, 1, "web", TP_METRIC_NPS, s[i], 1717200000 + i * 60);
        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 1);
        assert_int_equal(r->rows[0].nps.n, 10);
        assert_int_equal(r->rows[0].nps.promoters, 5);
        assert_int_equal(r->rows[0].nps.passives, 3);
        assert_int_equal(r->rows[0].nps.detractors, 2);
        near(r->rows[0].nps.score, 30.0, 1e-12, "nps");
        near(r->rows[0].nps.margin, 48.40843, 1e-4, "margin");
        assert_true(r->rows[0].nps.low_volume); /* 10 < 30 */
        assert_int_equal(r->rows[0].csat.n, 0);
        assert_true(isnan(r->rows[0].csat.pct));
        tp_engine_scores_free(r);
        tp_engine_free(e);
}

static void rs_text(tp_engine *e, int64_t seq, int64_t tp, tp_metric m, int score, int sentiment, const char *themes,
                    int64_t ts) {
        tp_response x = { .id = "r", .customer = "c1", .touchpoint = tp, .channel = "web", .metric = m,
                          .score = score, .ts = ts, .sentiment = sentiment, .themes = themes };
        tp_err err = { 0 };

        if (tp_engine_add_response(e, seq, &x, &err) != TP_OK)
                fail_msg("add_response %lld: %s", (long long) seq, err.msg);
}

/* Six NPS answers with what their comments said:
 *   1: 2, negative, delivery,price     4: 9, positive, staff
 *   2: 3, negative, delivery           5: 10, (no comment)
 *   3: 8, neutral,  (no theme)         6: 6, negative, price
 * By sentiment: none {10} NPS 100; negative {2,3,6} n 3, 3 detractors, -100;
 * neutral {8} 0; positive {9} 100.  By theme (an answer once per theme):
 * delivery {2,3} -100; price {2,6} -100; staff {9} 100; none {8,10} n 2, 50.
 * theme=delivery: n 2.  Detractors only, by theme: delivery 2, price 2 (and
 * nothing for staff or none).  sentiment=positive,none: {9,10} NPS 100. */
static void test_sentiment_and_themes(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_scores_query q;
        tp_engine_scores *r;
        int64_t t0 = 1717200000;

        (void) state;
        rs_text(e, 1, 1, TP_METRIC_NPS, 2, 1, "delivery,price", t0);
        rs_text(e, 2, 1, TP_METRIC_NPS, 3, 1, "delivery", t0 + 60);
        rs_text(e, 3, 1, TP_METRIC_NPS, 8, 2, NULL, t0 + 120);
        rs_text(e, 4, 1, TP_METRIC_NPS, 9, 3, "staff", t0 + 180);
        rs_text(e, 5, 1, TP_METRIC_NPS, 10, 0, NULL, t0 + 240);
        rs_text(e, 6, 1, TP_METRIC_NPS, 6, 1, "price", t0 + 300);

        r = scores_all(e, TP_ENGINE_GROUP_SENTIMENT, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 4);
        assert_int_equal(r->rows[0].sentiment, 0);
        assert_int_equal(r->rows[0].nps.n, 1);
        near(r->rows[0].nps.score, 100.0, 1e-12, "none");
        assert_int_equal(r->rows[1].sentiment, 1);
        assert_int_equal(r->rows[1].nps.n, 3);
        assert_int_equal(r->rows[1].nps.detractors, 3);
        near(r->rows[1].nps.score, -100.0, 1e-12, "negative");
        assert_int_equal(r->rows[2].sentiment, 2);
        near(r->rows[2].nps.score, 0.0, 1e-12, "neutral");
        assert_int_equal(r->rows[3].sentiment, 3);
        near(r->rows[3].nps.score, 100.0, 1e-12, "positive");
        tp_engine_scores_free(r);

        r = scores_all(e, TP_ENGINE_GROUP_THEME, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 4); /* "", delivery, price, staff: ordered by key */
        assert_string_equal(r->rows[0].theme, "");
        assert_int_equal(r->rows[0].nps.n, 2);
        near(r->rows[0].nps.score, 50.0, 1e-12, "no theme");
        assert_string_equal(r->rows[1].theme, "delivery");
        assert_int_equal(r->rows[1].nps.n, 2);
        near(r->rows[1].nps.score, -100.0, 1e-12, "delivery");
        assert_string_equal(r->rows[2].theme, "price");
        assert_int_equal(r->rows[2].nps.n, 2);
        assert_string_equal(r->rows[3].theme, "staff");
        assert_int_equal(r->rows[3].nps.n, 1);
        near(r->rows[3].nps.score, 100.0, 1e-12, "staff");
        tp_engine_scores_free(r);

        tp_engine_scores_query_init(&q);
        q.theme = "delivery";
        r = scores(e, &q);
        assert_int_equal(r->nrows, 1);
        assert_int_equal(r->rows[0].nps.n, 2);
        tp_engine_scores_free(r);
        q.theme = "nosuch";
        r = scores(e, &q);
        assert_int_equal(r->nrows, 0);
        tp_engine_scores_free(r);

        tp_engine_scores_query_init(&q);
        q.detractors = 1;
        q.group = TP_ENGINE_GROUP_THEME;
        r = scores(e, &q);
        assert_int_equal(r->nrows, 2);
        assert_string_equal(r->rows[0].theme, "delivery");
        assert_int_equal(r->rows[0].nps.n, 2);
        assert_string_equal(r->rows[1].theme, "price");
        assert_int_equal(r->rows[1].nps.n, 2);
        tp_engine_scores_free(r);
        /* Detractors without other filters may use the rollup: same answer. */
        q.group = TP_ENGINE_GROUP_NONE;
        r = scores(e, &q);
        assert_int_equal(r->rows[0].nps.n, 3);
        assert_int_equal(r->rows[0].nps.detractors, 3);
        tp_engine_scores_free(r);
        q.strategy = TP_ENGINE_SCAN;
        r = scores(e, &q);
        assert_int_equal(r->rows[0].nps.n, 3);
        tp_engine_scores_free(r);

        tp_engine_scores_query_init(&q);
        q.sentiments = 1u << 3 | 1u << 0;
        r = scores(e, &q);
        assert_int_equal(r->rows[0].nps.n, 2);
        near(r->rows[0].nps.score, 100.0, 1e-12, "positive or none");
        tp_engine_scores_free(r);
        tp_engine_free(e);
}

/* Segments: k1 vip (NPS 10, 9), k2 regular (3), k3 none (7), anonymous (0).
 * By segment: none {7, 0} n 2, -50; regular {3} -100; vip {10, 9} 100.
 * segment=vip,none: n 4.  Re-segmenting k2 to vip moves its answer. */
static void test_segments(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        static const char *const vip_none[] = { "vip", "" };
        tp_engine_scores_query q;
        tp_engine_scores *r;
        tp_engine_value *segs = NULL;
        size_t nsegs = 0;
        tp_err err = { 0 };
        int64_t t0 = 1717200000;
        tp_response anon = { .id = "r", .touchpoint = 1, .metric = TP_METRIC_NPS, .score = 0, .ts = t0 + 500 };

        (void) state;
        assert_int_equal(tp_engine_set_customer(e, "k1", "vip", NULL, &err), TP_OK);
        assert_int_equal(tp_engine_set_customer(e, "k2", "regular", NULL, &err), TP_OK);
        assert_int_equal(tp_engine_set_customer(e, "", "vip", NULL, &err), TP_INVALID);
        for (int i = 0; i < 2; i++) {
                tp_response x = { .id = "r", .customer = "k1", .touchpoint = 1, .metric = TP_METRIC_NPS,
                                  .score = 10 - i, .ts = t0 + i };
                assert_int_equal(tp_engine_add_response(e, i + 1, &x, &err), TP_OK);
        }
        {
                tp_response x = { .id = "r", .customer = "k2", .touchpoint = 1, .metric = TP_METRIC_NPS, .score = 3, .ts = t0 + 10 };
                tp_response y = { .id = "r", .customer = "k3", .touchpoint = 1, .metric = TP_METRIC_NPS, .score = 7, .ts = t0 + 20 };
                assert_int_equal(tp_engine_add_response(e, 3, &x, &err), TP_OK);
                assert_int_equal(tp_engine_add_response(e, 4, &y, &err), TP_OK);
                assert_int_equal(tp_engine_add_response(e, 5, &anon, &err), TP_OK);
        }
        r = scores_all(e, TP_ENGINE_GROUP_SEGMENT, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 3);
        assert_string_equal(r->rows[0].segment, "");
        assert_int_equal(r->rows[0].nps.n, 2);
        near(r->rows[0].nps.score, -50.0, 1e-12, "none");
        assert_string_equal(r->rows[1].segment, "regular");
        near(r->rows[1].nps.score, -100.0, 1e-12, "regular");
        assert_string_equal(r->rows[2].segment, "vip");
        assert_int_equal(r->rows[2].nps.n, 2);
        near(r->rows[2].nps.score, 100.0, 1e-12, "vip");
        tp_engine_scores_free(r);

        tp_engine_scores_query_init(&q);
        q.segments = vip_none;
        q.nsegments = 2;
        r = scores(e, &q);
        assert_int_equal(r->rows[0].nps.n, 4);
        tp_engine_scores_free(r);

        assert_int_equal(tp_engine_set_customer(e, "k2", "vip", NULL, &err), TP_OK);
        q.nsegments = 1;
        r = scores(e, &q);
        assert_int_equal(r->rows[0].nps.n, 3);
        tp_engine_scores_free(r);

        assert_int_equal(tp_engine_segments(e, &segs, &nsegs, &err), TP_OK);
        assert_int_equal(nsegs, 2);
        assert_string_equal(segs[0].name, "vip");
        assert_int_equal(segs[0].customers, 2);
        assert_string_equal(segs[1].name, "regular");
        assert_int_equal(segs[1].customers, 0);
        tp_free(segs);
        tp_engine_free(e);
}

/* All answers, grouped by group_attr (NULL: not grouped), filtered by f. */
static tp_engine_scores_query attr_query(const char *group_attr, const tp_engine_attr_filter *f, size_t nf) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        if (group_attr) {
                q.group = TP_ENGINE_GROUP_ATTRIBUTE;
                q.attribute = group_attr;
        }
        q.attrs = f;
        q.nattrs = nf;
        return q;
}

static tp_engine_scores *scores_attr(tp_engine *e, const char *group_attr, const tp_engine_attr_filter *f,
                                     size_t nf) {
        tp_engine_scores_query q = attr_query(group_attr, f, nf);

        return scores(e, &q);
}

static tp_rc scores_attr_rc(tp_engine *e, const char *group_attr, const tp_engine_attr_filter *f, size_t nf,
                            tp_err *err) {
        tp_engine_scores_query q = attr_query(group_attr, f, nf);
        tp_engine_scores *r = NULL;
        tp_rc rc = tp_engine_scores_run(e, &q, &r, err);

        tp_engine_scores_free(r);
        return rc;
}

static void set_cust(tp_engine *e, const char *id, const char *seg, const char *attrs_json) {
        json_t *a = attrs_json ? json_loads(attrs_json, 0, NULL) : NULL;
        tp_err err = { 0 };

        assert_true(!attrs_json || a);
        if (tp_engine_set_customer(e, id, seg, a, &err) != TP_OK)
                fail_msg("set_customer %s: %s", id, err.msg);
        json_decref(a);
}

/* Customer attributes as a breakdown and as filters, by hand:
 *   k1 {city HCM, plan gold, age 34, vip true}: NPS 10, 9
 *   k2 {city HN, plan gold}: 3      k3 {city HCM}: 7      k4 (none): 0
 *   anonymous: 5 */
static void test_attributes(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        static const char *const hcm[] = { "HCM" }, *const gold[] = { "gold" }, *const none[] = { "" },
                                 *const hn_hcm[] = { "HN", "HCM" }, *const x[] = { "x" };
        static const char *const ids[] = { "k1", "k1", "k2", "k3", "k4", NULL };
        static const int sc[] = { 10, 9, 3, 7, 0, 5 };
        tp_engine_attr_filter f[2];
        tp_engine_attribute *at = NULL;
        size_t nat = 0;
        uint64_t dropped = 0;
        tp_engine_scores *r;
        tp_err err = { 0 };
        int64_t t0 = 1717200000;

        (void) state;
        set_cust(e, "k1", "vip", "{\"city\": \"HCM\", \"plan\": \"gold\", \"age\": 34, \"vip\": true, "
                                 "\"note\": null, \"tags\": [1, 2], \"addr\": {\"zip\": 1}}");
        set_cust(e, "k2", NULL, "{\"city\": \"HN\", \"plan\": \"gold\"}");
        set_cust(e, "k3", NULL, "{\"city\": \"HCM\"}");
        for (int i = 0; i < 6; i++) {
                tp_response y = { .id = "r", .customer = ids[i], .touchpoint = 1, .metric = TP_METRIC_NPS,
                                  .score = sc[i], .ts = t0 + i };
                assert_int_equal(tp_engine_add_response(e, i + 1, &y, &err), TP_OK);
        }

        /* By city: none (k4 0, anonymous 5) -100; HCM (10, 9, 7) 66.67; HN (3) -100. */
        r = scores_attr(e, "city", NULL, 0);
        assert_string_equal(r->attribute, "city");
        assert_int_equal(r->nrows, 3);
        assert_string_equal(r->rows[0].attribute, "");
        assert_int_equal(r->rows[0].nps.n, 2);
        near(r->rows[0].nps.score, -100.0, 1e-12, "none");
        assert_string_equal(r->rows[1].attribute, "HCM");
        assert_int_equal(r->rows[1].nps.n, 3);
        near(r->rows[1].nps.score, 200.0 / 3.0, 1e-9, "HCM");
        assert_string_equal(r->rows[2].attribute, "HN");
        near(r->rows[2].nps.score, -100.0, 1e-12, "HN");
        assert_true(r->rows_scanned > 0); /* the rollup has no customers */
        tp_engine_scores_free(r);
        /* Numbers and booleans as their JSON text. */
        r = scores_attr(e, "age", NULL, 0);
        assert_int_equal(r->nrows, 2);
        assert_string_equal(r->rows[1].attribute, "34");
        assert_int_equal(r->rows[1].nps.n, 2);
        tp_engine_scores_free(r);
        r = scores_attr(e, "vip", NULL, 0);
        assert_string_equal(r->rows[1].attribute, "true");
        tp_engine_scores_free(r);
        /* null, arrays and objects are no value: no such attribute. */
        assert_int_equal(scores_attr_rc(e, "note", NULL, 0, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "group");
        assert_int_equal(scores_attr_rc(e, "tags", NULL, 0, &err), TP_UNPROCESSABLE);
        assert_int_equal(scores_attr_rc(e, "addr", NULL, 0, &err), TP_UNPROCESSABLE);

        /* Filters: city HCM -> 3 answers; and plan gold -> k1's 2; plan none -> k3, k4, anonymous. */
        f[0] = (tp_engine_attr_filter){ .name = "city", .values = hcm, .nvalues = 1 };
        f[1] = (tp_engine_attr_filter){ .name = "plan", .values = gold, .nvalues = 1 };
        r = scores_attr(e, NULL, f, 1);
        assert_int_equal(r->rows[0].nps.n, 3);
        tp_engine_scores_free(r);
        r = scores_attr(e, NULL, f, 2);
        assert_int_equal(r->rows[0].nps.n, 2);
        near(r->rows[0].nps.score, 100.0, 1e-12, "HCM gold");
        tp_engine_scores_free(r);
        f[0] = (tp_engine_attr_filter){ .name = "plan", .values = none, .nvalues = 1 };
        r = scores_attr(e, NULL, f, 1);
        assert_int_equal(r->rows[0].nps.n, 3);
        assert_int_equal(r->rows[0].nps.detractors, 2);
        tp_engine_scores_free(r);
        /* A value nobody has matches nobody; an unknown attribute is an error. */
        f[0] = (tp_engine_attr_filter){ .name = "city", .values = x, .nvalues = 1 };
        r = scores_attr(e, NULL, f, 1);
        assert_int_equal(r->nrows, 0);
        tp_engine_scores_free(r);
        f[0] = (tp_engine_attr_filter){ .name = "ctiy", .values = hcm, .nvalues = 1 };
        assert_int_equal(scores_attr_rc(e, NULL, f, 1, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "attr");
        /* Grouped by one attribute, filtered by another. */
        f[0] = (tp_engine_attr_filter){ .name = "plan", .values = gold, .nvalues = 1 };
        r = scores_attr(e, "city", f, 1);
        assert_int_equal(r->nrows, 2);
        assert_string_equal(r->rows[0].attribute, "HCM");
        assert_int_equal(r->rows[0].nps.n, 2);
        assert_string_equal(r->rows[1].attribute, "HN");
        tp_engine_scores_free(r);

        /* A PUT replaces the attributes: k1 loses plan and moves to HN. */
        set_cust(e, "k1", "vip", "{\"city\": \"HN\"}");
        f[0] = (tp_engine_attr_filter){ .name = "plan", .values = gold, .nvalues = 1 };
        r = scores_attr(e, NULL, f, 1);
        assert_int_equal(r->rows[0].nps.n, 1); /* k2 only */
        tp_engine_scores_free(r);
        f[0] = (tp_engine_attr_filter){ .name = "city", .values = hn_hcm, .nvalues = 2 };
        r = scores_attr(e, NULL, f, 1);
        assert_int_equal(r->rows[0].nps.n, 4);
        tp_engine_scores_free(r);

        /* A value over 31 bytes overflows the attribute: refused, named. */
        set_cust(e, "k5", NULL, "{\"email\": \"someone.with.a.long.name@example.com\", \"zip\": \"1\"}");
        assert_int_equal(scores_attr_rc(e, "email", NULL, 0, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "group");
        assert_non_null(strstr(err.msg, "email"));
        /* So do 256 distinct values. */
        for (int i = 0; i < 300; i++) {
                char id[16], js[64];
                (void) snprintf(id, sizeof(id), "z%d", i);
                (void) snprintf(js, sizeof(js), "{\"zip\": \"%d\"}", 10000 + i);
                set_cust(e, id, NULL, js);
        }
        f[0] = (tp_engine_attr_filter){ .name = "zip", .values = x, .nvalues = 1 };
        assert_int_equal(scores_attr_rc(e, NULL, f, 1, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "attr");
        /* At most 16 attributes are indexed: 6 so far, 14 more offered. */
        {
                char js[512] = "{";
                for (int i = 0; i < 14; i++)
                        (void) snprintf(js + strlen(js), sizeof(js) - strlen(js), "%s\"a%02d\": %d", i ? ", " : "",
                                        i, i);
                strcat(js, "}");
                set_cust(e, "k6", NULL, js);
        }
        assert_int_equal(tp_engine_attributes(e, &at, &nat, &dropped, &err), TP_OK);
        assert_int_equal(nat, 16);
        assert_int_equal(dropped, 4);
        assert_string_equal(at[0].name, "city");
        assert_int_equal(at[0].customers, 3); /* k1 HN, k2 HN, k3 HCM */
        assert_int_equal(at[0].nvalues, 2);
        assert_string_equal(at[0].values[0].name, "HCM");
        assert_int_equal(at[0].values[0].customers, 1);
        assert_int_equal(at[0].values[1].customers, 2);
        assert_false(at[0].overflow);
        assert_string_equal(at[4].name, "email");
        assert_true(at[4].overflow);
        assert_int_equal(at[4].customers, 1); /* k5 has one, though it cannot be named */
        assert_int_equal(at[4].nvalues, 0);
        assert_int_equal(at[5].customers, 301); /* zip: k5 and 300 more; 254 coded values, 47 not */
        assert_true(at[5].overflow); /* zip */
        assert_string_equal(at[15].name, "a09");
        tp_engine_attributes_free(at, nat);
        tp_engine_free(e);
}

/* 20 CSAT answers: 1, 2, 3 x3, 4 x7, 5 x8.  top2 = 15, 75%; mean = 80 / 20 = 4.
 * Wilson, z = 1.96, z^2 = 3.8416, p = 0.75, n = 20:
 *   den  = 1 + 3.8416/20 = 1.19208
 *   mid  = 0.75 + 3.8416/40 = 0.84604
 *   half = 1.96 * sqrt(0.75*0.25/20 + 3.8416/1600) = 1.96 * sqrt(0.011776)
 *        = 1.96 * 0.1085173 = 0.2126939
 *   lo = (0.84604 - 0.2126939) / 1.19208 = 0.5312950 -> 53.12950%
 *   hi = (0.84604 + 0.2126939) / 1.19208 = 1.0587339 / 1.19208 = 0.8881399 -> 88.81399% */
static void test_csat_hand(void **state) {
        static const int s[20] = { 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5 };
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_scores *r;

        (void) state;
        for (int i = 0; i < 20; i++)
                rs(e, i + 1, 1, "web", TP_METRIC_CSAT, s[i], 1717200000 + i);
        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 1);
        assert_int_equal(r->rows[0].csat.n, 20);
        assert_int_equal(r->rows[0].csat.top2, 15);
        near(r->rows[0].csat.pct, 75.0, 1e-12, "csat");
        near(r->rows[0].csat.mean, 4.0, 1e-12, "mean");
        near(r->rows[0].csat.lo, 53.12950, 1e-4, "wilson lo");
        near(r->rows[0].csat.hi, 88.81399, 1e-4, "wilson hi");
        assert_true(r->rows[0].csat.low_volume);
        assert_int_equal(r->rows[0].nps.n, 0);
        assert_true(isnan(r->rows[0].nps.score));
        tp_engine_scores_free(r);
        tp_engine_free(e);
}

/* CES 2, 3, 5, 5, 6, 7, 7, 4: n 8, easy (5-7) 5 = 62.5%, mean 39 / 8 = 4.875.
 * Goal no, yes, yes, partly: n 4, yes 2 = 50%, mean (0+2+2+1)/4 = 1.25.
 * Ease 7, 4: easy 1 = 50%, mean 5.5.  Emotion 5, 4, 1: top 2, mean 10/3. */
static void test_ces_factors_hand(void **state) {
        static const int ces[8] = { 2, 3, 5, 5, 6, 7, 7, 4 }, goal[4] = { 0, 2, 2, 1 };
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_scores *r;
        int64_t seq = 1;

        (void) state;
        for (int i = 0; i < 8; i++)
                rs(e, seq++, 1, NULL, TP_METRIC_CES, ces[i], 1717200000);
        for (int i = 0; i < 4; i++)
                rs(e, seq++, 1, NULL, TP_METRIC_GOAL, goal[i], 1717200000);
        rs(e, seq++, 1, NULL, TP_METRIC_EASE, 7, 1717200000);
        rs(e, seq++, 1, NULL, TP_METRIC_EASE, 4, 1717200000);
        rs(e, seq++, 1, NULL, TP_METRIC_EMOTION, 5, 1717200000);
        rs(e, seq++, 1, NULL, TP_METRIC_EMOTION, 4, 1717200000);
        rs(e, seq++, 1, NULL, TP_METRIC_EMOTION, 1, 1717200000);
        r = scores_all(e, TP_ENGINE_GROUP_CHANNEL, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->nrows, 1);
        assert_string_equal(r->rows[0].channel, ""); /* answers without a channel */
        assert_int_equal(r->rows[0].ces.n, 8);
        assert_int_equal(r->rows[0].ces.easy, 5);
        near(r->rows[0].ces.pct_easy, 62.5, 1e-12, "ces easy");
        near(r->rows[0].ces.mean, 4.875, 1e-12, "ces mean");
        assert_int_equal(r->rows[0].goal.n, 4);
        near(r->rows[0].goal.pct_top, 50.0, 1e-12, "goal yes");
        near(r->rows[0].goal.mean, 1.25, 1e-12, "goal mean");
        near(r->rows[0].ease.pct_top, 50.0, 1e-12, "ease");
        near(r->rows[0].ease.mean, 5.5, 1e-12, "ease mean");
        assert_int_equal(r->rows[0].emotion.top, 2);
        near(r->rows[0].emotion.mean, 10.0 / 3.0, 1e-12, "emotion mean");
        tp_engine_scores_free(r);
        tp_engine_free(e);
}

/* ---- buckets in the organisation's zone ---------------------------------- */

/* 2024-06-02 is a Sunday.  An answer at Sunday 23:30 UTC is Monday 2024-06-03
 * 06:30 in Hanoi (UTC+7): the week that starts Monday 2024-06-03 00:00 +07,
 * i.e. 2024-06-02T17:00:00Z.  One at Sunday 16:30 UTC is Sunday 23:30 in Hanoi:
 * the week before, from 2024-05-27T00:00+07 = 2024-05-26T17:00:00Z.  In UTC
 * both fall in the earlier week (Monday 2024-05-27T00:00Z). */
static void test_week_buckets_utc7(void **state) {
        int64_t sun2330 = 0, sun1630 = 0, wk_new = 0, wk_old = 0, wk_utc = 0, may31 = 0;
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024), *u = mk_engine(0, 1024);
        tp_engine_scores *r;
        tp_engine_scores_query q;
        json_t *j;
        tp_err err = { 0 };

        (void) state;
        assert_int_equal(tp_time_parse_rfc3339("2024-06-02T23:30:00Z", "t", &sun2330, &err), TP_OK);
        assert_int_equal(tp_time_parse_rfc3339("2024-06-02T16:30:00Z", "t", &sun1630, &err), TP_OK);
        assert_int_equal(tp_time_parse_rfc3339("2024-06-03T00:00:00+07:00", "t", &wk_new, &err), TP_OK);
        assert_int_equal(tp_time_parse_rfc3339("2024-05-27T00:00:00+07:00", "t", &wk_old, &err), TP_OK);
        assert_int_equal(tp_time_parse_rfc3339("2024-05-27T00:00:00Z", "t", &wk_utc, &err), TP_OK);
        /* 2024-05-31 18:00 UTC is 2024-06-01 01:00 in Hanoi: June. */
        assert_int_equal(tp_time_parse_rfc3339("2024-05-31T18:00:00Z", "t", &may31, &err), TP_OK);
        rs(e, 1, 1, "web", TP_METRIC_NPS, 10, sun2330);
        rs(e, 2, 1, "web", TP_METRIC_NPS, 0, sun1630);
        rs(e, 3, 1, "web", TP_METRIC_NPS, 9, may31);
        rs(u, 1, 1, "web", TP_METRIC_NPS, 10, sun2330);
        rs(u, 2, 1, "web", TP_METRIC_NPS, 0, sun1630);

        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_WEEK);
        assert_int_equal(r->nrows, 2);
        assert_int_equal(r->rows[0].bucket, wk_old);
        assert_int_equal(r->rows[0].nps.n, 2); /* may31 (Saturday 06-01 local) and sun1630 */
        assert_int_equal(r->rows[1].bucket, wk_new);
        assert_int_equal(r->rows[1].nps.n, 1);
        assert_int_equal(r->rows[1].nps.promoters, 1);
        j = tp_engine_scores_json(r, NULL, NULL);
        assert_non_null(j);
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(j, "rows"), 1), "bucket")),
                "2024-06-03");
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(j, "rows"), 1), "start")),
                "2024-06-03T00:00:00+07:00");
        json_decref(j);
        tp_engine_scores_free(r);

        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_MONTH);
        assert_int_equal(r->nrows, 1); /* all three in June, local time */
        j = tp_engine_scores_json(r, NULL, NULL);
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(j, "rows"), 0), "bucket")),
                "2024-06");
        json_decref(j);
        tp_engine_scores_free(r);

        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_DAY);
        assert_int_equal(r->nrows, 3); /* 06-01, 06-02, 06-03 local */
        tp_engine_scores_free(r);

        /* A range starting at the local Monday midnight takes only the later one. */
        tp_engine_scores_query_init(&q);
        q.from = wk_new;
        r = scores(e, &q);
        assert_int_equal(r->nrows, 1);
        assert_int_equal(r->rows[0].nps.n, 1);
        tp_engine_scores_free(r);

        r = scores_all(u, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_WEEK);
        assert_int_equal(r->nrows, 1);
        assert_int_equal(r->rows[0].bucket, wk_utc);
        assert_int_equal(r->rows[0].nps.n, 2);
        tp_engine_scores_free(r);
        tp_engine_free(e);
        tp_engine_free(u);
}

/* ---- paths: late events -------------------------------------------------- */

typedef struct pev {
        int64_t tp;
        const char *type;
        int64_t ts;
        int64_t value;
} pev;

/* One customer: view@tp1 t100, view@tp2 t200, purchase@tp3 t300 (50),
 * view@tp4 t400, purchase@tp5 t500 (70).  Transitions 1>2, 2>3, 3>4, 4>5;
 * last touch: the first purchase to tp2 (50), the second to tp4 (70). */
static const pev JOURNEY[5] = {
        { 1, "view", 100, -1 }, { 2, "view", 200, -1 },     { 3, "purchase", 300, 50 },
        { 4, "view", 400, -1 }, { 5, "purchase", 500, 70 },
};

static void check_journey(tp_engine *e) {
        static const int64_t want[4][2] = { { 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 5 } };
        tp_engine_path_query q;

        tp_engine_path_query_init(&q);
        for (int strat = 0; strat < 2; strat++) {
                tp_engine_transitions *t;
                tp_engine_last_touch *l;

                q.strategy = strat ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                t = transitions(e, &q);
                assert_int_equal(t->nrows, 4);
                assert_int_equal(t->total, 4);
                for (int i = 0; i < 4; i++) {
                        assert_int_equal(t->rows[i].from, want[i][0]);
                        assert_int_equal(t->rows[i].to, want[i][1]);
                        assert_int_equal(t->rows[i].n, 1);
                }
                l = last_touch(e, &q);
                assert_int_equal(l->nrows, 2);
                assert_int_equal(l->rows[0].touchpoint, 2);
                assert_int_equal(l->rows[0].purchases, 1);
                assert_int_equal(l->rows[0].revenue, 50);
                assert_int_equal(l->rows[1].touchpoint, 4);
                assert_int_equal(l->rows[1].revenue, 70);
                assert_int_equal(l->unattributed, 0);
                tp_engine_transitions_free(t);
                tp_engine_last_touch_free(l);
        }
}

static void test_out_of_order(void **state) {
        static const int orders[4][5] = {
                { 0, 1, 2, 3, 4 }, { 3, 4, 0, 2, 1 }, { 4, 3, 2, 1, 0 }, { 2, 0, 4, 1, 3 }
        };

        (void) state;
        for (int o = 0; o < 4; o++) {
                /* Each order with and without a compaction in the middle, so late
                 * events land both beside compacted and beside delta events. */
                for (int cut = 0; cut < 2; cut++) {
                        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20);
                        tp_err err = { 0 };

                        for (int i = 0; i < 5; i++) {
                                const pev *x = &JOURNEY[orders[o][i]];

                                ev(e, 2 * i + 1, "alice", x->tp, x->type, x->ts, x->value);
                                /* another customer's events in between change nothing */
                                ev(e, 2 * i + 2, "bob", 9, "view", 1000 - i, -1);
                                if (cut && i == 2)
                                        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
                        }
                        /* bob: 9>9 four times; take him out by a range that keeps only alice */
                        {
                                tp_engine_path_query q;
                                tp_engine_transitions *t;

                                tp_engine_path_query_init(&q);
                                q.to = 600;
                                t = transitions(e, &q);
                                assert_int_equal(t->nrows, 4);
                                tp_engine_transitions_free(t);
                        }
                        /* drop bob entirely for check_journey: a fresh engine with only alice */
                        tp_engine_free(e);
                        e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20);
                        for (int i = 0; i < 5; i++) {
                                const pev *x = &JOURNEY[orders[o][i]];

                                ev(e, i + 1, "alice", x->tp, x->type, x->ts, x->value);
                                if (cut && i == 2)
                                        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
                        }
                        check_journey(e);
                        tp_engine_free(e);
                }
        }
}

/* Equal times are ordered by seq, i.e. by arrival. */
static void test_equal_times(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20);
        tp_engine_path_query q;
        tp_engine_transitions *t;
        tp_engine_last_touch *l;
        tp_err err = { 0 };

        (void) state;
        tp_engine_path_query_init(&q);
        ev(e, 1, "c", 1, "view", 100, -1);
        ev(e, 2, "c", 2, "view", 300, -1);
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        ev(e, 3, "c", 3, "view", 100, -1);    /* after 1 (same time, larger seq), before 2 */
        ev(e, 4, "c", 4, "purchase", 100, 5); /* after 3 */
        for (int strat = 0; strat < 2; strat++) {
                q.strategy = strat ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                t = transitions(e, &q);
                assert_int_equal(t->nrows, 3); /* 1>3, 3>4, 4>2 */
                assert_int_equal(t->rows[0].from, 1);
                assert_int_equal(t->rows[0].to, 3);
                assert_int_equal(t->rows[1].from, 3);
                assert_int_equal(t->rows[1].to, 4);
                assert_int_equal(t->rows[2].from, 4);
                assert_int_equal(t->rows[2].to, 2);
                l = last_touch(e, &q);
                assert_int_equal(l->nrows, 1);
                assert_int_equal(l->rows[0].touchpoint, 3);
                assert_int_equal(l->rows[0].revenue, 5);
                tp_engine_transitions_free(t);
                tp_engine_last_touch_free(l);
        }
        tp_engine_free(e);
}

/* ---- random data and an independent reference ---------------------------- */

static uint64_t rng;

static uint64_t rnd(void) {
        uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static uint32_t rndn(uint32_t n) {
        return (uint32_t) (rnd() % n);
}

typedef struct rev {
        int64_t seq;
        int cust; /* -1: anonymous */
        int64_t tp;
        int ch; /* -1: none */
        int type;
        int64_t ts;
        int has_value;
        int64_t value;
} rev;

typedef struct rrs {
        int64_t seq;
        int cust;
        int64_t tp;
        int ch;
        tp_metric m;
        int score;
        int64_t ts;
} rrs;

typedef struct refdata {
        rev *ev;
        size_t nev, capev;
        rrs *rs;
        size_t nrs, caprs;
        int ntp;
} refdata;

static int64_t tp_id(int k) {
        return 1000 + 7 * k; /* sparse store ids */
}

static void ref_done(refdata *d) {
        free(d->ev);
        free(d->rs);
        memset(d, 0, sizeof(*d));
}

static void push_ev(refdata *d, const rev *x) {
        if (d->nev == d->capev) {
                d->capev = d->capev ? d->capev * 2 : 256;
                d->ev = realloc(d->ev, d->capev * sizeof(*d->ev));
                assert_non_null(d->ev);
        }
        d->ev[d->nev++] = *x;
}

static void push_rs(refdata *d, const rrs *x) {
        if (d->nrs == d->caprs) {
                d->caprs = d->caprs ? d->caprs * 2 : 256;
                d->rs = realloc(d->rs, d->caprs * sizeof(*d->rs));
                assert_non_null(d->rs);
        }
        d->rs[d->nrs++] = *x;
}

static rev gen_ev(int64_t seq, int ncust, int ntp, int64_t t0, int64_t span) {
        rev x = { .seq = seq };

        x.cust = rndn(20) == 0 ? -1 : (int) rndn((uint32_t) ncust);
        x.tp = tp_id((int) rndn((uint32_t) ntp));
        x.ch = rndn(8) == 0 ? -1 : (int) rndn(NCH);
        x.type = rndn(5) == 0 ? 0 : 1 + (int) rndn(NTYPE - 1);
        x.ts = t0 + (int64_t) rndn((uint32_t) span);
        if (rndn(4) == 0)
                x.ts -= x.ts % 5000; /* equal times */
        else if (rndn(4) == 0)
                x.ts -= x.ts % 1800;
        x.has_value = x.type == 0 ? rndn(10) != 0 : rndn(30) == 0;
        x.value = x.has_value ? (int64_t) rndn(1000000) : 0;
        return x;
}

static rrs gen_rs(int64_t seq, int ncust, int ntp, int64_t t0, int64_t span) {
        rrs x = { .seq = seq };

        x.cust = rndn(10) == 0 ? -1 : (int) rndn((uint32_t) ncust);
        x.tp = tp_id((int) rndn((uint32_t) ntp));
        x.ch = rndn(8) == 0 ? -1 : (int) rndn(NCH);
        x.m = (tp_metric) rndn(_TP_METRIC_MAX);
        x.score = SCORE_LO[x.m] + (int) rndn((uint32_t) (SCORE_HI[x.m] - SCORE_LO[x.m] + 1));
        x.ts = t0 + (int64_t) rndn((uint32_t) span);
        if (rndn(4) == 0)
                x.ts -= x.ts % 1800; /* on the hour or half hour: local midnights in every test zone */
        return x;
}

static tp_rc feed_ev(tp_engine *e, const rev *x, tp_err *err) {
        char cust[16], id[32];
        tp_event v = { .id = id,
                       .customer = x->cust >= 0 ? cust : NULL,
                       .touchpoint = x->tp,
                       .channel = x->ch >= 0 ? CH[x->ch] : NULL,
                       .type = TYPES[x->type],
                       .ts = x->ts,
                       .has_value = x->has_value,
                       .value = x->value,
                       .currency = "VND" };

        (void) snprintf(cust, sizeof(cust), "cust-%d", x->cust);
        (void) snprintf(id, sizeof(id), "e%lld", (long long) x->seq);
        return tp_engine_add_event(e, x->seq, &v, err);
}

static tp_rc feed_rs(tp_engine *e, const rrs *x, tp_err *err) {
        char cust[16];
        tp_response v = { .id = "r",
                          .customer = x->cust >= 0 ? cust : NULL,
                          .touchpoint = x->tp,
                          .channel = x->ch >= 0 ? CH[x->ch] : NULL,
                          .metric = x->m,
                          .score = x->score,
                          .ts = x->ts };

        (void) snprintf(cust, sizeof(cust), "cust-%d", x->cust);
        return tp_engine_add_response(e, x->seq, &v, err);
}

/* Bucket start computed with gmtime_r, independently of the engine. */
static int64_t ref_bucket(int64_t ts, int32_t tz, tp_engine_bucket b) {
        time_t t = (time_t) (ts + tz);
        struct tm tm;
        int64_t midnight;

        gmtime_r(&t, &tm);
        midnight = ts - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
        switch (b) {
        case TP_ENGINE_BUCKET_NONE:
                return 0;
        case TP_ENGINE_BUCKET_DAY:
                return midnight;
        case TP_ENGINE_BUCKET_WEEK:
                return midnight - (int64_t) ((tm.tm_wday + 6) % 7) * 86400;
        case TP_ENGINE_BUCKET_MONTH:
                return midnight - (int64_t) (tm.tm_mday - 1) * 86400;
        }
        return 0;
}

typedef struct rtuple {
        int64_t bucket, tp;
        const char *ch;
        int slot;
} rtuple;

static int cmp_tuple(const void *pa, const void *pb) {
        const rtuple *a = pa, *b = pb;

        if (a->bucket != b->bucket)
                return a->bucket < b->bucket ? -1 : 1;
        if (a->tp != b->tp)
                return a->tp < b->tp ? -1 : 1;
        return strcmp(a->ch, b->ch);
}

static int in_list_i64(const int64_t *v, size_t n, int64_t x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return 1;
        return 0;
}

static int in_list_str(const char *const *v, size_t n, const char *x) {
        for (size_t i = 0; i < n; i++)
                if (x && strcmp(v[i], x) == 0)
                        return 1;
        return 0;
}

/* Check one engine row against the counts of a reference group. */
static void check_row(const tp_engine_score_row *r, const uint64_t *c, uint32_t min_n) {
        uint64_t n = 0, p = c[9] + c[10], pa = c[7] + c[8], cn = 0, top2 = c[11 + 3] + c[11 + 4], cs = 0;
        uint64_t en = 0, es = 0, easy = 0;

        for (int s = 0; s <= 10; s++)
                n += c[s];
        for (int s = 0; s < 5; s++) {
                cn += c[11 + s];
                cs += c[11 + s] * (uint64_t) (s + 1);
        }
        for (int s = 0; s < 7; s++) {
                en += c[16 + s];
                es += c[16 + s] * (uint64_t) (s + 1);
                easy += s + 1 >= 5 ? c[16 + s] : 0;
        }
        assert_int_equal(r->nps.n, n);
        assert_int_equal(r->nps.promoters, p);
        assert_int_equal(r->nps.passives, pa);
        assert_int_equal(r->nps.low_volume, n < min_n);
        if (n) {
                double pp = (double) p / (double) n, dd = (double) (n - p - pa) / (double) n;

                near(r->nps.score, 100.0 * (pp - dd), 1e-9, "ref nps");
                near(r->nps.margin,
                     1.96 * sqrt((pp + dd - (pp - dd) * (pp - dd)) / (double) n) * 100.0,
                     1e-9,
                     "ref margin");
        }
        assert_int_equal(r->csat.n, cn);
        assert_int_equal(r->csat.top2, top2);
        if (cn) {
                near(r->csat.pct, 100.0 * (double) top2 / (double) cn, 1e-9, "ref csat");
                near(r->csat.mean, (double) cs / (double) cn, 1e-9, "ref csat mean");
                assert_true(r->csat.lo <= r->csat.pct + 1e-9 && r->csat.pct <= r->csat.hi + 1e-9);
        }
        assert_int_equal(r->ces.n, en);
        assert_int_equal(r->ces.easy, easy);
        if (en)
                near(r->ces.mean, (double) es / (double) en, 1e-9, "ref ces");
        assert_int_equal(r->goal.n, c[23] + c[24] + c[25]);
        assert_int_equal(r->goal.top, c[25]);
}

static void ref_scores_check(
        const refdata *d, const tp_engine_scores_query *q, int32_t tz, const tp_engine_scores *got) {
        int gtp = q->group == TP_ENGINE_GROUP_TOUCHPOINT || q->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        int gch = q->group == TP_ENGINE_GROUP_CHANNEL || q->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        rtuple *t = calloc(d->nrs + 1, sizeof(*t));
        size_t n = 0, row = 0;

        assert_non_null(t);
        for (size_t i = 0; i < d->nrs; i++) {
                const rrs *x = &d->rs[i];
                const char *ch = x->ch >= 0 ? CH[x->ch] : NULL;

                if (x->ts < q->from || x->ts >= q->to)
                        continue;
                if (q->touchpoints && !in_list_i64(q->touchpoints, q->ntouchpoints, x->tp))
                        continue;
                if (q->channels && !in_list_str(q->channels, q->nchannels, ch))
                        continue;
                if (q->metrics && !((q->metrics >> x->m) & 1))
                        continue;
                t[n].bucket = ref_bucket(x->ts, tz, q->bucket);
                t[n].tp = gtp ? x->tp : 0;
                t[n].ch = gch && ch ? ch : "";
                t[n].slot = SLOT_BASE[x->m] + x->score - SCORE_LO[x->m];
                n++;
        }
        qsort(t, n, sizeof(*t), cmp_tuple);
        for (size_t i = 0; i < n;) {
                uint64_t c[38] = { 0 };
                size_t j = i;

                while (j < n && cmp_tuple(&t[i], &t[j]) == 0)
                        c[t[j++].slot]++;
                if (row >= got->nrows)
                        fail_msg("engine has %zu rows, the reference more", got->nrows);
                assert_int_equal(got->rows[row].bucket, t[i].bucket);
                assert_int_equal(got->rows[row].touchpoint, t[i].tp);
                assert_string_equal(got->rows[row].channel, t[i].ch);
                check_row(&got->rows[row], c, 30);
                row++;
                i = j;
        }
        assert_int_equal(row, got->nrows);
        free(t);
}

static void same_scores(const tp_engine_scores *a, const tp_engine_scores *b) {
        assert_int_equal(a->nrows, b->nrows);
        for (size_t i = 0; i < a->nrows; i++) {
                const tp_engine_score_row *x = &a->rows[i], *y = &b->rows[i];

                assert_int_equal(x->bucket, y->bucket);
                assert_int_equal(x->touchpoint, y->touchpoint);
                assert_string_equal(x->channel, y->channel);
                assert_int_equal(x->nps.n, y->nps.n);
                assert_int_equal(x->nps.promoters, y->nps.promoters);
                assert_int_equal(x->nps.detractors, y->nps.detractors);
                assert_true(
                        same_double(x->nps.score, y->nps.score) && same_double(x->nps.margin, y->nps.margin));
                assert_int_equal(x->csat.n, y->csat.n);
                assert_true(same_double(x->csat.lo, y->csat.lo) && same_double(x->csat.mean, y->csat.mean));
                assert_int_equal(x->ces.n, y->ces.n);
                assert_true(same_double(x->ces.mean, y->ces.mean));
                assert_int_equal(x->goal.n, y->goal.n);
                assert_int_equal(x->ease.n, y->ease.n);
                assert_int_equal(x->emotion.n, y->emotion.n);
        }
}

static int cmp_rev(const void *pa, const void *pb) {
        const rev *a = pa, *b = pb;

        if (a->cust != b->cust)
                return a->cust < b->cust ? -1 : 1;
        if (a->ts != b->ts)
                return a->ts < b->ts ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Events with a customer, by (customer, ts, seq). */
static rev *ref_sorted(const refdata *d, size_t *ret_n) {
        rev *v = malloc((d->nev + 1) * sizeof(*v));
        size_t n = 0;

        assert_non_null(v);
        for (size_t i = 0; i < d->nev; i++)
                if (d->ev[i].cust >= 0)
                        v[n++] = d->ev[i];
        qsort(v, n, sizeof(*v), cmp_rev);
        *ret_n = n;
        return v;
}

#define MAXTP 64

static void ref_paths_check(
        const refdata *d,
        const tp_engine_path_query *q,
        const tp_engine_transitions *t,
        const tp_engine_last_touch *l) {
        static uint64_t m[MAXTP][MAXTP], pu[MAXTP + 1];
        static int64_t rv[MAXTP + 1];
        size_t n = 0, nz = 0, nzl = 0;
        rev *v = ref_sorted(d, &n);
        uint64_t total = 0;

        memset(m, 0, sizeof(m));
        memset(pu, 0, sizeof(pu));
        memset(rv, 0, sizeof(rv));
        for (size_t i = 0; i < n;) {
                size_t j = i;
                int prev = -1, np = -1;
                int64_t np_ts = 0;

                while (j < n && v[j].cust == v[i].cust)
                        j++;
                for (size_t k = i; k < j; k++) {
                        int tk = (int) ((v[k].tp - 1000) / 7);
                        int in = v[k].ts >= q->from && v[k].ts < q->to;

                        if (in) {
                                if (prev >= 0)
                                        m[prev][tk]++;
                                prev = tk;
                        }
                        if (v[k].type == 0) {
                                if (in) {
                                        int a = np >= 0 && (!q->lookback || v[k].ts - np_ts <= q->lookback) ?
                                                np + 1 :
                                                0;

                                        pu[a]++;
                                        rv[a] += v[k].has_value ? v[k].value : 0;
                                }
                        } else {
                                np = tk;
                                np_ts = v[k].ts;
                        }
                }
                i = j;
        }
        if (t) {
                for (size_t i = 0; i < t->nrows; i++) {
                        int a = (int) ((t->rows[i].from - 1000) / 7), b = (int) ((t->rows[i].to - 1000) / 7);

                        assert_int_equal(t->rows[i].n, m[a][b]);
                        total += t->rows[i].n;
                }
                for (int a = 0; a < MAXTP; a++)
                        for (int b = 0; b < MAXTP; b++)
                                nz += m[a][b] != 0;
                assert_int_equal(t->nrows, nz);
                assert_int_equal(t->total, total);
        }
        if (l) {
                for (size_t i = 0; i < l->nrows; i++) {
                        int a = (int) ((l->rows[i].touchpoint - 1000) / 7);

                        assert_int_equal(l->rows[i].purchases, pu[a + 1]);
                        assert_int_equal(l->rows[i].revenue, rv[a + 1]);
                }
                for (int a = 1; a <= MAXTP; a++)
                        nzl += pu[a] != 0;
                assert_int_equal(l->nrows, nzl);
                assert_int_equal(l->unattributed, pu[0]);
                assert_int_equal(l->unattributed_revenue, rv[0]);
        }
        free(v);
}

static void same_paths(
        const tp_engine_transitions *a,
        const tp_engine_transitions *b,
        const tp_engine_last_touch *x,
        const tp_engine_last_touch *y) {
        assert_int_equal(a->nrows, b->nrows);
        for (size_t i = 0; i < a->nrows; i++) {
                assert_int_equal(a->rows[i].from, b->rows[i].from);
                assert_int_equal(a->rows[i].to, b->rows[i].to);
                assert_int_equal(a->rows[i].n, b->rows[i].n);
        }
        assert_int_equal(x->nrows, y->nrows);
        for (size_t i = 0; i < x->nrows; i++) {
                assert_int_equal(x->rows[i].touchpoint, y->rows[i].touchpoint);
                assert_int_equal(x->rows[i].purchases, y->rows[i].purchases);
                assert_int_equal(x->rows[i].revenue, y->rows[i].revenue);
        }
        assert_int_equal(x->unattributed, y->unattributed);
        assert_int_equal(x->unattributed_revenue, y->unattributed_revenue);
}

#define T0 1714521600 /* 2024-05-01T00:00:00Z */
#define SPAN (75 * 86400)

static void gen_data(refdata *d, uint64_t seed, int ncust, int ntp, int nev, int nrs) {
        rng = seed;
        memset(d, 0, sizeof(*d));
        d->ntp = ntp;
        for (int i = 0; i < nev; i++) {
                rev x = gen_ev(i + 1, ncust, ntp, T0, SPAN);

                push_ev(d, &x);
        }
        for (int i = 0; i < nrs; i++) {
                rrs x = gen_rs(i + 1, ncust, ntp, T0, SPAN);

                push_rs(d, &x);
        }
}

static void feed_all(tp_engine *e, const refdata *d) {
        tp_err err = { 0 };

        for (size_t i = 0; i < d->nev; i++)
                if (feed_ev(e, &d->ev[i], &err) != TP_OK)
                        fail_msg("feed event %zu: %s", i, err.msg);
        for (size_t i = 0; i < d->nrs; i++)
                if (feed_rs(e, &d->rs[i], &err) != TP_OK)
                        fail_msg("feed response %zu: %s", i, err.msg);
}

/* nev more random events (their times anywhere in the span, so many are late
 * for their customer), into the reference and the engine. */
static void feed_more(tp_engine *e, refdata *d, int ncust, int nev) {
        tp_err err = { 0 };

        for (int i = 0; i < nev; i++) {
                rev x = gen_ev((int) d->nev + 1, ncust, d->ntp, T0, SPAN);

                push_ev(d, &x);
                if (feed_ev(e, &x, &err) != TP_OK)
                        fail_msg("feed event: %s", err.msg);
        }
}

/* A random time bound: open, a local midnight, the time of a row (so bounds
 * meet rows exactly), or any second. */
static int64_t rnd_bound(const refdata *d, int32_t tz, int lower) {
        switch (rndn(5)) {
        case 0:
                return lower ? INT64_MIN : INT64_MAX;
        case 1: {
                int64_t day = (T0 + (int64_t) rndn(SPAN) + tz) / 86400;

                return day * 86400 - tz;
        }
        case 2:
                if (d->nrs && rndn(2))
                        return d->rs[rndn((uint32_t) d->nrs)].ts;
                if (d->nev)
                        return d->ev[rndn((uint32_t) d->nev)].ts;
                return T0;
        default:
                return T0 - 86400 + (int64_t) rndn(SPAN + 2 * 86400);
        }
}

static void check_random_queries(tp_engine *e, const refdata *d, int32_t tz, int nq) {
        for (int qi = 0; qi < nq; qi++) {
                tp_engine_scores_query q;
                int64_t tps[8];
                const char *chs[3];
                tp_engine_scores *a, *b;

                tp_engine_scores_query_init(&q);
                q.from = rnd_bound(d, tz, 1);
                q.to = rnd_bound(d, tz, 0);
                if (rndn(6) == 0 && q.from != INT64_MIN && q.from < INT64_MAX - 3600)
                        q.to = q.from + (int64_t) rndn(7200); /* within a day or two */
                q.group = (tp_engine_group) rndn(4);
                q.bucket = (tp_engine_bucket) rndn(4);
                if (rndn(3) == 0)
                        q.metrics = rndn(1u << _TP_METRIC_MAX);
                if (rndn(3) == 0) {
                        q.ntouchpoints = 1 + rndn(8);
                        for (size_t i = 0; i < q.ntouchpoints; i++)
                                tps[i] = tp_id((int) rndn((uint32_t) d->ntp + 2)); /* maybe unknown */
                        q.touchpoints = tps;
                }
                if (rndn(4) == 0) {
                        q.nchannels = 1 + rndn(3);
                        for (size_t i = 0; i < q.nchannels; i++)
                                chs[i] = rndn(6) == 0 ? "fax" : CH[rndn(NCH)];
                        q.channels = chs;
                }
                a = scores(e, &q);
                q.strategy = TP_ENGINE_SCAN;
                b = scores(e, &q);
                same_scores(a, b);
                ref_scores_check(d, &q, tz, a);
                tp_engine_scores_free(a);
                tp_engine_scores_free(b);
        }
        for (int qi = 0; qi < nq / 4; qi++) {
                tp_engine_path_query q;
                tp_engine_transitions *t, *ts;
                tp_engine_last_touch *l, *ls;

                tp_engine_path_query_init(&q);
                if (qi) {
                        q.from = rnd_bound(d, tz, 1);
                        q.to = rnd_bound(d, tz, 0);
                        /* multiples of 1800 s meet the rounded times exactly */
                        q.lookback = rndn(3) == 0 ? 0 :
                                rndn(2)           ? 1800 * (int64_t) (1 + rndn(96)) :
                                                    (int64_t) rndn(10 * 86400);
                }
                t = transitions(e, &q);
                l = last_touch(e, &q);
                q.strategy = TP_ENGINE_SCAN;
                ts = transitions(e, &q);
                ls = last_touch(e, &q);
                same_paths(t, ts, l, ls);
                ref_paths_check(d, &q, t, l);
                if (qi == 0)
                        assert_int_equal(t->rows_scanned, 0); /* the rollups answered */
                tp_engine_transitions_free(t);
                tp_engine_transitions_free(ts);
                tp_engine_last_touch_free(l);
                tp_engine_last_touch_free(ls);
        }
}

/* Rollups equal scans equal the reference, across zones, with compactions
 * happening during ingest and events arriving in random time order. */
static void test_rollup_equals_scan_random(void **state) {
        static const int32_t zones[3] = { TP_ENGINE_TZ_DEFAULT, 0, -(4 * 3600 + 1800) };

        (void) state;
        for (int z = 0; z < 3; z++) {
                refdata d;
                tp_engine *e;

                scan_threads = z == 1 ? 2 : 0; /* split path scans in two threads once */
                e = mk_engine(zones[z], 97);
                scan_threads = 0;

                gen_data(&d, 42 + (uint64_t) z, 150, 12, 4000, 3000);
                feed_all(e, &d);
                rng = 7 + (uint64_t) z;
                check_random_queries(e, &d, zones[z], 150);
                /* and again after everything is compacted */
                assert_int_equal(tp_engine_compact(e, NULL), TP_OK);
                check_random_queries(e, &d, zones[z], 40);
                /* and after the rollups are rebuilt from the columns (as after
                 * a snapshot), with some events still in the delta */
                feed_more(e, &d, 150, 500);
                assert_int_equal(eng_rollups_rebuild(e), TP_OK);
                check_random_queries(e, &d, zones[z], 40);
                tp_engine_free(e);
                ref_done(&d);
        }
}

/* ---- multi-touch attribution: rollups, scans and a reference ------------- */

static tp_attrib_result *
        attrib(tp_engine *e, const tp_engine_path_query *q, tp_attrib_model m, const tp_attrib_params *p) {
        tp_attrib_result *r = NULL;
        tp_err err = { 0 };

        if (tp_engine_attribution_run(e, q, m, p, &r, &err) != TP_OK)
                fail_msg("attribution, model %d: %s", (int) m, err.msg);
        return r;
}

static void same_bits(double a, double b, const char *what, size_t i) {
        if (memcmp(&a, &b, sizeof(a)) != 0)
                fail_msg("%s [%zu]: %a (%.17g) and %a (%.17g) differ", what, i, a, a, b, b);
}

/* Rollup and scan: the same numbers, bit for bit. */
static void same_attrib(const tp_attrib_result *a, const tp_attrib_result *b) {
        assert_int_equal(a->model, b->model);
        assert_int_equal(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
                assert_int_equal(a->touchpoints[i], b->touchpoints[i]);
                same_bits(a->conversions[i], b->conversions[i], "conversions", i);
                same_bits(a->value[i], b->value[i], "value", i);
        }
        same_bits(a->total_conversions, b->total_conversions, "total conversions", 0);
        same_bits(a->total_value, b->total_value, "total value", 0);
        same_bits(a->unattributed_conversions, b->unattributed_conversions, "unattributed", 0);
        same_bits(a->unattributed_value, b->unattributed_value, "unattributed value", 0);
        same_bits(a->total_nulls, b->total_nulls, "nulls", 0);
}

static int tp_index(const tp_attrib_result *r, int64_t id) {
        for (size_t i = 0; i < r->n; i++)
                if (r->touchpoints[i] == id)
                        return (int) i;
        fail_msg("touchpoint %lld not in the result", (long long) id);
        return -1;
}

static void near_rel(double got, double want, const char *what, size_t i) {
        if (!(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want))))
                fail_msg("%s [%zu]: got %.17g, want %.17g", what, i, got, want);
}

/* The paths built here from the reference rows, independently of the engine
 * (ct: the conversion's type index), through tp_attrib_paths(); the engine's
 * answer got must agree within 1e-9, relative. */
static void ref_attrib_check(
        const refdata *d,
        const tp_engine_path_query *q,
        int ct,
        tp_attrib_model model,
        const tp_attrib_params *p,
        const tp_attrib_result *got) {
        size_t n = 0, np = 0, nt = 0;
        rev *v = ref_sorted(d, &n);
        tp_attrib_path *paths = malloc((n + 1) * sizeof(*paths));
        int *touch = malloc((n + 1) * sizeof(*touch));
        double *age = malloc((n + 1) * sizeof(*age));
        tp_attrib_result want;
        tp_err err = { 0 };

        assert_true(paths && touch && age);
        for (size_t i = 0; i < n;) {
                size_t j = i, seg = i, o;

                while (j < n && v[j].cust == v[i].cust)
                        j++;
                for (size_t k = i; k < j; k++) {
                        if (v[k].type != ct)
                                continue;
                        if (v[k].ts >= q->from && v[k].ts < q->to) {
                                o = nt;
                                for (size_t x = seg; x < k; x++) {
                                        if (q->lookback > 0 && v[k].ts - v[x].ts > q->lookback)
                                                continue;
                                        touch[nt] = tp_index(got, v[x].tp);
                                        age[nt++] = (double) (v[k].ts - v[x].ts);
                                }
                                paths[np++] = (tp_attrib_path){ touch + o,
                                                                nt - o,
                                                                age + o,
                                                                1.0,
                                                                v[k].has_value ? (double) v[k].value : 0.0,
                                                                0.0 };
                        }
                        seg = k + 1;
                }
                if (seg < j && v[j - 1].ts >= q->from && v[j - 1].ts < q->to) {
                        o = nt;
                        for (size_t x = seg; x < j; x++) {
                                touch[nt] = tp_index(got, v[x].tp);
                                age[nt++] = (double) (v[j - 1].ts - v[x].ts);
                        }
                        paths[np++] = (tp_attrib_path){ touch + o, nt - o, age + o, 0.0, 0.0, 1.0 };
                }
                i = j;
        }
        if (tp_attrib_paths(paths, np, (int) got->n, model, p, &want, &err) != TP_OK)
                fail_msg("reference: %s", err.msg);
        for (size_t i = 0; i < got->n; i++) {
                near_rel(got->conversions[i], want.conversions[i], "conversions vs reference", i);
                near_rel(got->value[i], want.value[i], "value vs reference", i);
        }
        /* Counts and integer sums: exact. */
        assert_true(got->total_conversions == want.total_conversions);
        assert_true(got->total_value == want.total_value);
        assert_true(got->unattributed_conversions == want.unattributed_conversions);
        assert_true(got->unattributed_value == want.unattributed_value);
        assert_true(got->total_nulls == want.total_nulls);
        tp_attrib_result_done(&want);
        free(paths);
        free(touch);
        free(age);
        free(v);
}

/* Every model (last non-direct with three direct touchpoints and none),
 * unlimited and with the engine's look-back lb: the rollup's answer (no row
 * scanned) is the scan's bit for bit and the reference's.  Then nq random
 * questions the rollups do not all answer (ranges, look-backs, conversion
 * types): AUTO equals SCAN, and the reference, whichever answered. */
static void check_attribution(tp_engine *e, const refdata *d, int64_t lb, int nq) {
        const int64_t lbs[2] = { 0, lb };
        int64_t emin = INT64_MAX, emax = INT64_MIN;

        for (size_t i = 0; i < d->nev; i++)
                if (d->ev[i].cust >= 0) {
                        emin = d->ev[i].ts < emin ? d->ev[i].ts : emin;
                        emax = d->ev[i].ts > emax ? d->ev[i].ts : emax;
                }
        for (int l = 0; l < 2; l++)
                for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++)
                        for (int dir = -1; dir < (m == TP_ATTRIB_LAST_NON_DIRECT ? 3 : 0); dir++) {
                                tp_engine_path_query q;
                                tp_attrib_params p;
                                tp_attrib_result *a, *b;

                                tp_attrib_params_init(&p);
                                p.half_life = 86400;
                                p.direct = dir < 0 ? -1 : dir == 2 ? d->ntp - 1 : dir;
                                tp_engine_path_query_init(&q);
                                q.lookback = lbs[l];
                                a = attrib(e, &q, (tp_attrib_model) m, &p);
                                q.strategy = TP_ENGINE_SCAN;
                                b = attrib(e, &q, (tp_attrib_model) m, &p);
                                assert_int_equal(a->rows_scanned == 0, m != TP_ATTRIB_TIME_DECAY);
                                assert_true(b->rows_scanned > 0);
                                same_attrib(a, b);
                                ref_attrib_check(d, &q, 0, (tp_attrib_model) m, &p, a);
                                tp_attrib_result_free(a);
                                tp_attrib_result_free(b);
                        }
        for (int qi = 0; qi < nq; qi++) {
                tp_engine_path_query q;
                tp_attrib_params p;
                tp_attrib_model m = (tp_attrib_model) rndn(_TP_ATTRIB_MODEL_MAX);
                tp_attrib_result *a, *b;
                int ct = rndn(4) == 0 ? 1 : 0, whole;

                tp_attrib_params_init(&p);
                p.half_life = 3600.0 * (1 + rndn(48));
                p.direct = (int) rndn((uint32_t) d->ntp + 1) - 1;
                tp_engine_path_query_init(&q);
                if (rndn(2)) {
                        q.from = rnd_bound(d, 0, 1);
                        q.to = rnd_bound(d, 0, 0);
                }
                q.lookback = rndn(3) == 0 ? 0 : rndn(2) ? lb : 1800 * (int64_t) (1 + rndn(200));
                q.conversion = ct ? TYPES[ct] : rndn(2) ? "purchase" : NULL;
                whole = q.from <= emin && q.to > emax;
                a = attrib(e, &q, m, &p);
                q.strategy = TP_ENGINE_SCAN;
                b = attrib(e, &q, m, &p);
                assert_int_equal(
                        a->rows_scanned == 0,
                        whole && !ct && (q.lookback == 0 || q.lookback == lb) && m != TP_ATTRIB_TIME_DECAY);
                same_attrib(a, b);
                ref_attrib_check(d, &q, ct, m, &p, a);
                tp_attrib_result_free(a);
                tp_attrib_result_free(b);
        }
}

/* The attribution rollups as views, to compare them before and after a rebuild. */
static void mta_views(tp_engine *e, eng_mview v[3]) {
        assert_non_null(e->mta);
        assert_int_equal(eng_mview_of(&e->mta->conv[0], e->ntp, ~0u, &v[0]), TP_OK);
        assert_int_equal(eng_mview_of(&e->mta->conv[1], e->ntp, ~0u, &v[1]), TP_OK);
        assert_int_equal(eng_mview_of(&e->mta->null, e->ntp, ~0u, &v[2]), TP_OK);
}

static void same_views(const eng_mview *a, const eng_mview *b, uint32_t ntp) {
        assert_int_equal(a->paths, b->paths);
        assert_int_equal(a->empty, b->empty);
        assert_int_equal(a->value, b->value);
        assert_int_equal(a->empty_value, b->empty_value);
        assert_memory_equal(a->first, b->first, (size_t) ntp * 2 * sizeof(*a->first));
        assert_memory_equal(a->mstart, b->mstart, (size_t) ntp * sizeof(*a->mstart));
        assert_memory_equal(a->mend, b->mend, (size_t) ntp * sizeof(*a->mend));
        assert_int_equal(a->ncells, b->ncells);
        if (a->ncells)
                assert_memory_equal(a->cells, b->cells, a->ncells * sizeof(*a->cells));
}

/* Multi-touch attribution from the rollups equals the scans (bit for bit)
 * and an independent reference (1e-9), with events arriving in random time
 * order (most are late for their customer), automatic compactions during
 * ingest, late events into a compacted engine, and a rebuild of the rollups
 * (which must give the same sums).  Two look-backs kept at ingest: 2 days
 * (a multiple of the 1800 s the generator rounds to, so windows meet events
 * exactly) and 1 hour. */
static void test_attribution_rollup_random(void **state) {
        static const int64_t lbs[2] = { 2 * 86400, 3600 };

        (void) state;
        for (int k = 0; k < 2; k++) {
                refdata d;
                eng_mview before[3], after[3];
                tp_engine *e;

                attrib_lb = lbs[k];
                e = mk_engine(TP_ENGINE_TZ_DEFAULT, 97);
                attrib_lb = -1;
                gen_data(&d, 1234 + (uint64_t) k, 120, 9, 3000, 0);
                feed_all(e, &d);
                rng = 55 + (uint64_t) k;
                check_attribution(e, &d, lbs[k], 60);
                assert_int_equal(tp_engine_compact(e, NULL), TP_OK);
                feed_more(e, &d, 120, 400); /* late into compacted customers */
                check_attribution(e, &d, lbs[k], 20);
                mta_views(e, before);
                assert_int_equal(eng_rollups_rebuild(e), TP_OK);
                mta_views(e, after);
                for (int i = 0; i < 3; i++) {
                        same_views(&before[i], &after[i], e->ntp);
                        eng_mview_done(&before[i]);
                        eng_mview_done(&after[i]);
                }
                feed_more(e, &d, 120, 300); /* the rebuilt rollups go on from there */
                check_attribution(e, &d, lbs[k], 20);
                tp_engine_free(e);
                ref_done(&d);
        }
}

/* Thirty years of daily buckets x 100 touchpoints x channels is a key space
 * too large for the dense group index: the hash table path, checked the same. */
static void test_sparse_groups(void **state) {
        refdata d = { .ntp = 100 };
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_scores_query q;
        tp_engine_scores *a, *b;

        (void) state;
        rng = 77;
        for (int i = 0; i < 3000; i++) {
                rrs x = gen_rs(i + 1, 500, 100, 631152000, 30 * 365 * 86400); /* 1990 .. 2020 */

                push_rs(&d, &x);
        }
        feed_all(e, &d);
        tp_engine_scores_query_init(&q);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        q.bucket = TP_ENGINE_BUCKET_DAY;
        a = scores(e, &q);
        q.strategy = TP_ENGINE_SCAN;
        b = scores(e, &q);
        same_scores(a, b);
        ref_scores_check(&d, &q, TP_ENGINE_TZ_DEFAULT, a);
        tp_engine_scores_free(a);
        tp_engine_scores_free(b);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT;
        q.strategy = TP_ENGINE_AUTO;
        a = scores(e, &q);
        ref_scores_check(&d, &q, TP_ENGINE_TZ_DEFAULT, a);
        tp_engine_scores_free(a);
        tp_engine_free(e);
        ref_done(&d);
}

/* The dictionaries' limits are errors naming the field, not wrapped codes. */
static void test_dictionary_limits(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20);
        tp_err err = { 0 };
        char ch[64];
        int64_t seq = 1;

        (void) state;
        for (int i = 1; i <= 255; i++) {
                (void) snprintf(ch, sizeof(ch), "ch%d", i);
                rs(e, seq++, 1, ch, TP_METRIC_NPS, 5, 1000);
        }
        {
                tp_response x = {
                        .id = "r", .touchpoint = 1, .channel = "one-too-many", .metric = TP_METRIC_NPS, .ts = 1000
                };

                assert_int_equal(tp_engine_add_response(e, seq++, &x, &err), TP_UNPROCESSABLE);
                assert_string_equal(err.field, "channel");
                x.channel = "a-channel-name-longer-than-31-bytes";
                assert_int_equal(tp_engine_add_response(e, seq++, &x, &err), TP_UNPROCESSABLE);
                assert_string_equal(err.field, "channel");
        }
        for (int i = 2; i <= 4095; i++)
                rs(e, seq++, i, "ch1", TP_METRIC_NPS, 5, 1000);
        {
                tp_response x = {
                        .id = "r", .touchpoint = 4096, .channel = "ch1", .metric = TP_METRIC_NPS, .ts = 1000
                };
                tp_engine_mem m;

                assert_int_equal(tp_engine_add_response(e, seq++, &x, &err), TP_UNPROCESSABLE);
                assert_string_equal(err.field, "touchpoint");
                tp_engine_memory(e, &m);
                assert_int_equal(m.touchpoints, 4095);
                assert_int_equal(m.responses, 255 + 4094);
        }
        tp_engine_free(e);
}

/* The ends of the u32 time range: 1970-01-01 and 2106-02-07. */
static void test_extreme_times(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        int64_t top = (int64_t) UINT32_MAX;

        (void) state;
        rs(e, 1, 1, "web", TP_METRIC_NPS, 10, 0);
        rs(e, 2, 1, "web", TP_METRIC_NPS, 0, 86399);
        rs(e, 3, 1, "web", TP_METRIC_NPS, 9, top);
        ev(e, 1, "c", 1, "view", 0, -1);
        ev(e, 2, "c", 2, "view", top, -1);
        for (int strat = 0; strat < 2; strat++) {
                tp_engine_scores_query q;
                tp_engine_path_query pq;
                tp_engine_scores *r;
                tp_engine_transitions *t;

                tp_engine_scores_query_init(&q);
                q.strategy = strat ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                q.from = top;
                r = scores(e, &q);
                assert_int_equal(r->nrows, 1);
                assert_int_equal(r->rows[0].nps.promoters, 1);
                tp_engine_scores_free(r);
                q.from = 1;
                q.bucket = TP_ENGINE_BUCKET_MONTH;
                r = scores(e, &q);
                assert_int_equal(r->nrows, 2); /* 1970-01 and 2106-02 */
                assert_int_equal(r->rows[0].nps.detractors, 1);
                tp_engine_scores_free(r);
                tp_engine_path_query_init(&pq);
                pq.strategy = q.strategy;
                t = transitions(e, &pq);
                assert_int_equal(t->total, 1);
                tp_engine_transitions_free(t);
                pq.to = top;
                t = transitions(e, &pq);
                assert_int_equal(t->total, 0);
                tp_engine_transitions_free(t);
        }
        tp_engine_free(e);
}

/* Replaying rows (seq <= the last one) changes nothing; bad rows change nothing. */
static void test_replay_and_bad_rows(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_response bad = {
                .id = "r", .customer = "c", .touchpoint = 1, .metric = TP_METRIC_CSAT, .score = 6, .ts = 100
        };
        tp_event badev = { .id = "e", .customer = "c", .touchpoint = 1, .type = "view", .ts = -5 };
        tp_engine_scores *r;
        tp_engine_mem m;
        int64_t es = 0, rss = 0;
        tp_err err = { 0 };

        (void) state;
        rs(e, 1, 1, "web", TP_METRIC_NPS, 10, 1000);
        rs(e, 1, 1, "web", TP_METRIC_NPS, 0, 1000); /* replay: skipped */
        ev(e, 5, "c", 1, "view", 100, -1);
        ev(e, 3, "c", 2, "view", 50, -1); /* older seq: skipped */
        assert_int_equal(tp_engine_add_response(e, 2, &bad, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "score");
        assert_int_equal(tp_engine_add_event(e, 6, &badev, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "ts");
        badev.ts = 5;
        badev.type = NULL;
        assert_int_equal(tp_engine_add_event(e, 6, &badev, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "type");
        r = scores_all(e, TP_ENGINE_GROUP_NONE, TP_ENGINE_BUCKET_NONE);
        assert_int_equal(r->rows[0].nps.n, 1);
        assert_int_equal(r->rows[0].nps.promoters, 1);
        tp_engine_scores_free(r);
        tp_engine_memory(e, &m);
        assert_int_equal(m.events, 1);
        assert_int_equal(m.responses, 1);
        tp_engine_last_seq(e, &es, &rss);
        assert_int_equal(es, 5);
        assert_int_equal(rss, 1);
        tp_engine_free(e);
}

static void test_memory_breakdown(void **state) {
        refdata d;
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 512);
        tp_engine_mem m;
        size_t sum;

        (void) state;
        gen_data(&d, 5, 300, 20, 6000, 2000);
        feed_all(e, &d);
        tp_engine_memory(e, &m);
        sum = m.customer_dict + m.customer_state + m.small_dicts + m.event_columns + m.event_values +
                m.event_delta + m.transitions + m.attribution + m.attribution_paths + m.response_columns +
                m.score_rollup;
        assert_int_equal(sum, m.total);
        assert_true(m.event_columns > 0 && m.response_columns > 0 && m.score_rollup > 0);
        assert_true(m.attribution_paths > 0);
        assert_int_equal(m.events + m.anonymous, d.nev);
        assert_int_equal(m.responses, d.nrs);
        assert_int_equal(m.touchpoints, 20);
        near(m.per_event,
             (double) (m.customer_dict + m.customer_state + m.event_columns + m.event_values + m.event_delta + m.transitions + m.attribution + m.attribution_paths) /
                     (double) m.events,
             1e-9,
             "per event");
        assert_int_equal(tp_engine_compact(e, NULL), TP_OK);
        tp_engine_memory(e, &m);
        assert_int_equal(m.event_delta, 0);
        assert_int_equal(m.event_columns, m.events * 8);
        tp_engine_free(e);
        ref_done(&d);
}

/* Allocation failures anywhere in ingest, compaction and queries: each failing
 * call returns TP_NOMEM, the engine stays exactly the sum of the rows that were
 * accepted, and nothing leaks (ASan). */
static void test_oom(void **state) {
        refdata d;

        (void) state;
        gen_data(&d, 11, 25, 6, 300, 150);
        for (long n = 1;; n++) {
                refdata ok = { .ntp = d.ntp };
                tp_engine *e = NULL;
                tp_engine_opts o;
                tp_engine_scores *r = NULL;
                tp_err err = { 0 };
                unsigned long before = tp_alloc_count(), after;
                int failed = 0;
                tp_rc rc;

                tp_engine_opts_init(&o);
                o.delta_min = 40;
                o.scan_threads = 2;
                o.attrib_lookback = 2 * 86400;
                tp_alloc_fail_after(n);
                if (tp_engine_new(&o, &e, &err) != TP_OK) {
                        tp_alloc_fail_after(0);
                        continue;
                }
                for (size_t i = 0; i < d.nev; i++) {
                        rc = feed_ev(e, &d.ev[i], &err);
                        if (rc == TP_OK) {
                                push_ev(&ok, &d.ev[i]);
                        } else {
                                assert_int_equal(rc, TP_NOMEM);
                                failed++;
                        }
                }
                for (size_t i = 0; i < d.nrs; i++) {
                        rc = feed_rs(e, &d.rs[i], &err);
                        if (rc == TP_OK) {
                                push_rs(&ok, &d.rs[i]);
                        } else {
                                assert_int_equal(rc, TP_NOMEM);
                                failed++;
                        }
                }
                rc = tp_engine_compact(e, &err);
                assert_true(rc == TP_OK || rc == TP_NOMEM);
                {
                        tp_engine_scores_query q;

                        tp_engine_scores_query_init(&q);
                        q.group = TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
                        q.bucket = TP_ENGINE_BUCKET_WEEK;
                        rc = tp_engine_scores_run(e, &q, &r, &err);
                        assert_true(rc == TP_OK || rc == TP_NOMEM);
                        tp_engine_scores_free(r);
                }
                after = tp_alloc_count();
                tp_alloc_fail_after(0);
                assert_true(failed <= 1); /* one allocation failed, so at most one row */
                rng = 99;
                check_random_queries(e, &ok, TP_ENGINE_TZ_DEFAULT, 8);
                check_attribution(e, &ok, 2 * 86400, 0);
                tp_engine_free(e);
                ref_done(&ok);
                if (after - before < (unsigned long) n)
                        break; /* the scenario ran without reaching the nth allocation */
                if (n > 100000)
                        fail_msg("no end to the allocation-failure loop");
        }
        ref_done(&d);
}

static void test_budgets(void **state) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_engine_scores *r = NULL;
        tp_engine_transitions *t = NULL;
        tp_engine_scores_query q;
        tp_engine_path_query pq;
        tp_err err = { 0 };

        (void) state;
        tp_engine_opts_init(&o);
        o.max_groups = 2;
        o.max_rows = 3;
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_OK);
        for (int i = 0; i < 3; i++)
                rs(e, i + 1, 10 + i, "web", TP_METRIC_NPS, 9, 1717200000 + i);
        rs(e, 4, 10, "web", TP_METRIC_NPS, 9, 1717200000);
        ev(e, 1, "a", 1, "view", 10, -1);
        ev(e, 2, "a", 2, "view", 20, -1);
        ev(e, 3, "a", 3, "view", 30, -1);
        ev(e, 4, "a", 4, "view", 40, -1);
        tp_engine_scores_query_init(&q);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT;
        assert_int_equal(tp_engine_scores_run(e, &q, &r, &err), TP_UNPROCESSABLE);
        assert_null(r);
        assert_string_equal(err.field, "max_groups");
        assert_non_null(strstr(err.msg, "2"));
        /* the rollup answers without scanning: no row budget is spent */
        q.group = TP_ENGINE_GROUP_NONE;
        assert_int_equal(tp_engine_scores_run(e, &q, &r, &err), TP_OK);
        tp_engine_scores_free(r);
        r = NULL;
        q.strategy = TP_ENGINE_SCAN; /* 4 responses > 3 */
        assert_int_equal(tp_engine_scores_run(e, &q, &r, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "max_rows");
        tp_engine_path_query_init(&pq);
        pq.to = 35;
        assert_int_equal(tp_engine_transitions_run(e, &pq, &t, &err), TP_UNPROCESSABLE);
        assert_null(t);
        pq.to = INT64_MAX; /* 3 transitions from the rollup > 2 groups */
        assert_int_equal(tp_engine_transitions_run(e, &pq, &t, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "max_groups");
        tp_engine_free(e);
}

static void key_of(void *arg, int64_t id, char *out, size_t outsz) {
        (void) arg;
        (void) snprintf(out, outsz, "tp-%lld", (long long) id);
}

static void test_json(void **state) {
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1024);
        tp_engine_path_query pq;
        tp_engine_scores *r;
        tp_engine_transitions *t;
        tp_engine_last_touch *l;
        json_t *j, *row;
        char *text;

        (void) state;
        for (int i = 0; i < 5; i++) {
                const pev *x = &JOURNEY[i];

                ev(e, i + 1, "alice", x->tp, x->type, x->ts, x->value);
        }
        ev(e, 6, "bob", 1, "view", 10, -1);
        ev(e, 7, "bob", 4, "view", 20, -1);
        rs(e, 1, 2, "web", TP_METRIC_NPS, 10, 1717200000);
        rs(e, 2, 2, NULL, TP_METRIC_CSAT, 5, 1717200000);
        r = scores_all(e, TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL, TP_ENGINE_BUCKET_NONE);
        j = tp_engine_scores_json(r, key_of, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "group")), "touchpoint_channel");
        row = json_array_get(json_object_get(j, "rows"), 0); /* channel "" sorts first */
        assert_true(json_is_null(json_object_get(row, "channel")));
        assert_string_equal(json_string_value(json_object_get(row, "touchpoint")), "tp-2");
        assert_true(json_is_null(json_object_get(row, "nps")));
        assert_true(json_is_true(json_object_get(json_object_get(row, "csat"), "low_volume")));
        row = json_array_get(json_object_get(j, "rows"), 1);
        near(json_real_value(json_object_get(json_object_get(row, "nps"), "score")), 100.0, 0, "json nps");
        text = tp_json_dump(j, NULL);
        assert_non_null(text);
        assert_null(strstr(text, "nan"));
        tp_free(text);
        json_decref(j);
        tp_engine_scores_free(r);

        tp_engine_path_query_init(&pq);
        t = transitions(e, &pq);
        j = tp_engine_transitions_json(t, key_of, NULL);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
        row = json_array_get(json_object_get(j, "transitions"), 0); /* 1 > 2 (alice), 1 > 4 (bob) */
        assert_int_equal(json_integer_value(json_object_get(row, "from_id")), 1);
        assert_string_equal(json_string_value(json_object_get(row, "to")), "tp-2");
        near(json_real_value(json_object_get(row, "share")), 0.5, 0, "share");
        json_decref(j);
        tp_engine_transitions_free(t);

        l = last_touch(e, &pq);
        j = tp_engine_last_touch_json(l, NULL, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "model")), "last");
        row = json_array_get(json_object_get(j, "touchpoints"), 1);
        assert_int_equal(json_integer_value(json_object_get(row, "touchpoint_id")), 4);
        assert_null(json_object_get(row, "touchpoint"));
        assert_int_equal(json_integer_value(json_object_get(row, "conversions")), 1);
        assert_int_equal(json_integer_value(json_object_get(row, "value")), 70);
        json_decref(j);
        tp_engine_last_touch_free(l);
        tp_engine_free(e);
}

/* ---- load from a real SQLite store --------------------------------------- */

typedef struct store_fx {
        char dir[64], path[128], url[160];
        tp_store *s;
        int64_t tps[6];
        int ntps;
} store_fx;

static int collect_tp(void *arg, const tp_touchpoint *t) {
        store_fx *f = arg;

        if (f->ntps < 6)
                f->tps[f->ntps++] = t->id;
        return 0;
}

static void store_open(store_fx *f) {
        static const char doc_text[] =
                "{\"key\": \"shop\", \"name\": {\"vi\": \"Cửa hàng\", \"en\": \"Shop\"}, \"stages\": ["
                "{\"key\": \"before\", \"name\": {\"vi\": \"Trước\", \"en\": \"Before\"}, \"touchpoints\": ["
                "{\"key\": \"ads\", \"name\": {\"vi\": \"Quảng cáo\", \"en\": \"Ads\"}, \"channel\": \"social\", \"department\": \"marketing\"},"
                "{\"key\": \"website\", \"name\": {\"vi\": \"Trang web\", \"en\": \"Website\"}, \"channel\": \"web\", \"department\": \"marketing\"}]},"
                "{\"key\": \"during\", \"name\": {\"vi\": \"Trong\", \"en\": \"During\"}, \"touchpoints\": ["
                "{\"key\": \"store\", \"name\": {\"vi\": \"Cửa hàng\", \"en\": \"Store\"}, \"channel\": \"store\", \"department\": \"sales\"},"
                "{\"key\": \"invoice\", \"name\": {\"vi\": \"Hóa đơn\", \"en\": \"Invoice\"}, \"channel\": \"email\", \"department\": \"sales\"}]}]}";
        json_t *doc = NULL;
        tp_err err = { 0 };
        int ntps = 0;

        memset(f, 0, sizeof(*f));
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/tp-engine-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        assert_int_equal(tp_store_open(f->url, 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        assert_int_equal(tp_json_parse(doc_text, strlen(doc_text), 64, &doc, &err), TP_OK);
        if (tp_journey_apply(f->s, doc, NULL, &ntps, &err) != TP_OK)
                fail_msg("journey: %s (%s)", err.msg, err.field);
        json_decref(doc);
        assert_int_equal(ntps, 4);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, f, &err), TP_OK);
        assert_int_equal(f->ntps, 4);
}

static void store_close(store_fx *f) {
        char p[200];

        tp_store_close(f->s);
        (void) unlink(f->path);
        (void) snprintf(p, sizeof(p), "%s-wal", f->path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", f->path);
        (void) unlink(p);
        (void) rmdir(f->dir);
}

/* Write d's rows [ev0, ev1) and [rs0, rs1) to the store, touchpoints mapped to
 * the store's ids; the direct engine gets the same rows with the same seqs. */
static void store_write(
        store_fx *f, const refdata *d, size_t ev0, size_t ev1, size_t rs0, size_t rs1, tp_engine *direct) {
        tp_err err = { 0 };
        int dup = 0;

        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        for (size_t i = ev0; i < ev1; i++) {
                rev x = d->ev[i];
                char cust[16], id[32];
                tp_event v;

                x.tp = f->tps[(x.tp - 1000) / 7];
                (void) snprintf(cust, sizeof(cust), "cust-%d", x.cust);
                (void) snprintf(id, sizeof(id), "e%lld", (long long) x.seq);
                v = (tp_event){ .id = id,
                                .customer = x.cust >= 0 ? cust : NULL,
                                .touchpoint = x.tp,
                                .channel = x.ch >= 0 ? CH[x.ch] : NULL,
                                .type = TYPES[x.type],
                                .ts = x.ts,
                                .has_value = x.has_value,
                                .value = x.value,
                                .currency = x.has_value ? "VND" : NULL };
                if (tp_store_event_put(f->s, &v, &dup, &err) != TP_OK)
                        fail_msg("event_put: %s", err.msg);
                assert_int_equal(dup, 0);
                x.seq = (int64_t) i + 1; /* the store numbers rows 1, 2, ... */
                if (feed_ev(direct, &x, &err) != TP_OK)
                        fail_msg("direct: %s", err.msg);
        }
        for (size_t i = rs0; i < rs1; i++) {
                rrs x = d->rs[i];
                char cust[16], id[32];
                tp_response v;

                x.tp = f->tps[(x.tp - 1000) / 7];
                (void) snprintf(cust, sizeof(cust), "cust-%d", x.cust);
                (void) snprintf(id, sizeof(id), "r%lld", (long long) x.seq);
                v = (tp_response){ .id = id,
                                   .customer = x.cust >= 0 ? cust : NULL,
                                   .touchpoint = x.tp,
                                   .channel = x.ch >= 0 ? CH[x.ch] : NULL,
                                   .metric = x.m,
                                   .score = x.score,
                                   .ts = x.ts };
                if (tp_store_response_put(f->s, &v, &dup, &err) != TP_OK)
                        fail_msg("response_put: %s", err.msg);
                x.seq = (int64_t) i + 1;
                if (feed_rs(direct, &x, &err) != TP_OK)
                        fail_msg("direct: %s", err.msg);
        }
        assert_int_equal(tp_store_commit(f->s, &err), TP_OK);
}

static void same_engines(tp_engine *a, tp_engine *b) {
        for (int g = 0; g < 4; g++) {
                for (int bk = 0; bk < 4; bk++) {
                        tp_engine_scores *x = scores_all(a, (tp_engine_group) g, (tp_engine_bucket) bk);
                        tp_engine_scores *y = scores_all(b, (tp_engine_group) g, (tp_engine_bucket) bk);

                        same_scores(x, y);
                        tp_engine_scores_free(x);
                        tp_engine_scores_free(y);
                }
        }
        for (int s = 0; s < 2; s++) {
                tp_engine_path_query q;
                tp_engine_transitions *t1, *t2;
                tp_engine_last_touch *l1, *l2;

                tp_engine_path_query_init(&q);
                q.strategy = s ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                t1 = transitions(a, &q);
                t2 = transitions(b, &q);
                l1 = last_touch(a, &q);
                l2 = last_touch(b, &q);
                same_paths(t1, t2, l1, l2);
                assert_true(t1->nrows > 0 && l1->nrows > 0);
                tp_engine_transitions_free(t1);
                tp_engine_transitions_free(t2);
                tp_engine_last_touch_free(l1);
                tp_engine_last_touch_free(l2);
        }
}

static void test_load_from_store(void **state) {
        store_fx f;
        refdata d;
        tp_engine *loaded = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20),
                  *direct = mk_engine(TP_ENGINE_TZ_DEFAULT, 64);
        tp_engine_mem m;
        int64_t es = 0, rss = 0;
        tp_err err = { 0 };

        (void) state;
        gen_data(&d, 3, 40, 4, 600, 300);
        store_open(&f);
        store_write(&f, &d, 0, 400, 0, 200, direct);
        if (tp_engine_load(loaded, f.s, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        same_engines(loaded, direct);
        /* A second load reads only the new rows (the tail). */
        store_write(&f, &d, 400, 600, 200, 300, direct);
        if (tp_engine_load(loaded, f.s, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        same_engines(loaded, direct);
        tp_engine_last_seq(loaded, &es, &rss);
        assert_int_equal(es, 600);
        assert_int_equal(rss, 300);
        tp_engine_memory(loaded, &m);
        assert_int_equal(m.events + m.anonymous, 600);
        assert_int_equal(m.responses, 300);
        assert_true(m.event_delta > 0); /* 600 rows: below delta_min, no compaction */
        store_close(&f);
        tp_engine_free(loaded);
        tp_engine_free(direct);
        ref_done(&d);
}

/* tp_engine_catch_up gives up after wait_ms while another load holds the
 * engine (here: the writer mutex held by the test), and catches up once free. */
static void test_catch_up_bounded(void **state) {
        store_fx f;
        refdata d;
        tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20), *direct = mk_engine(TP_ENGINE_TZ_DEFAULT, 64);
        int64_t es = -1, rss = -1;
        int skipped = -1;
        tp_err err = { 0 };

        (void) state;
        gen_data(&d, 3, 40, 4, 200, 100);
        store_open(&f);
        store_write(&f, &d, 0, 200, 0, 100, direct);
        pthread_mutex_lock(&e->wmu);
        assert_int_equal(tp_engine_catch_up(e, f.s, 50, &skipped, &err), TP_OK);
        pthread_mutex_unlock(&e->wmu);
        assert_int_equal(skipped, 1);
        tp_engine_last_seq(e, &es, &rss);
        assert_int_equal(es, 0); /* nothing read while skipped */
        assert_int_equal(tp_engine_catch_up(e, f.s, 50, &skipped, &err), TP_OK);
        assert_int_equal(skipped, 0);
        tp_engine_last_seq(e, &es, &rss);
        assert_int_equal(es, 200);
        assert_int_equal(rss, 100);
        same_engines(e, direct);
        store_close(&f);
        tp_engine_free(e);
        tp_engine_free(direct);
        ref_done(&d);
}

/* A store row the engine cannot hold (year 2128) is skipped and counted, and
 * loading goes on; the direct engine refuses the same row with 422. */
static void test_load_refused_row(void **state) {
        store_fx f;
        refdata d;
        tp_engine *loaded = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20),
                  *direct = mk_engine(TP_ENGINE_TZ_DEFAULT, 64);
        tp_event odd = { .id = "odd", .customer = "cust-1", .type = "view", .ts = 5000000000 };
        tp_engine_mem m;
        int64_t es = 0;
        tp_err err = { 0 };
        int dup = 0;

        (void) state;
        gen_data(&d, 4, 30, 4, 200, 50);
        store_open(&f);
        store_write(&f, &d, 0, 100, 0, 50, direct);
        odd.touchpoint = f.tps[0];
        assert_int_equal(tp_store_begin(f.s, &err), TP_OK);
        assert_int_equal(tp_store_event_put(f.s, &odd, &dup, &err), TP_OK);
        assert_int_equal(tp_store_commit(f.s, &err), TP_OK);
        assert_int_equal(tp_engine_add_event(direct, 101, &odd, &err), TP_UNPROCESSABLE);
        /* the rows after it get seqs 102.. in the store; shift them for the direct engine */
        for (size_t i = 100; i < 200; i++)
                d.ev[i].seq++;
        {
                refdata tail = d;

                tail.ev = d.ev + 100;
                tail.nev = 100;
                assert_int_equal(tp_store_begin(f.s, &err), TP_OK);
                for (size_t i = 0; i < tail.nev; i++) {
                        rev x = tail.ev[i];
                        char cust[16], id[32];
                        tp_event v;

                        (void) snprintf(cust, sizeof(cust), "cust-%d", x.cust);
                        (void) snprintf(id, sizeof(id), "e%lld", (long long) x.seq);
                        x.tp = f.tps[(x.tp - 1000) / 7];
                        v = (tp_event){ .id = id,
                                        .customer = x.cust >= 0 ? cust : NULL,
                                        .touchpoint = x.tp,
                                        .channel = x.ch >= 0 ? CH[x.ch] : NULL,
                                        .type = TYPES[x.type],
                                        .ts = x.ts,
                                        .has_value = x.has_value,
                                        .value = x.value };
                        assert_int_equal(tp_store_event_put(f.s, &v, &dup, &err), TP_OK);
                        assert_int_equal(feed_ev(direct, &x, &err), TP_OK);
                }
                assert_int_equal(tp_store_commit(f.s, &err), TP_OK);
        }
        if (tp_engine_load(loaded, f.s, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        tp_engine_memory(loaded, &m);
        assert_int_equal(m.refused, 1);
        assert_int_equal(m.events + m.anonymous, 200);
        tp_engine_last_seq(loaded, &es, NULL);
        assert_int_equal(es, 201);
        same_engines(loaded, direct);
        store_close(&f);
        tp_engine_free(loaded);
        tp_engine_free(direct);
        ref_done(&d);
}

/* Allocation failures during a load (in the reader thread or the applier):
 * TP_NOMEM, and a second load resumes to exactly the full engine. */
static void test_load_oom_resume(void **state) {
        store_fx f;
        refdata d;
        tp_engine *direct = mk_engine(TP_ENGINE_TZ_DEFAULT, 64);

        (void) state;
        gen_data(&d, 8, 40, 4, 500, 200);
        store_open(&f);
        store_write(&f, &d, 0, 500, 0, 200, direct);
        for (long n = 1;; n++) {
                tp_engine *e = mk_engine(TP_ENGINE_TZ_DEFAULT, 128);
                unsigned long before = tp_alloc_count(), after;
                tp_err err = { 0 };
                tp_rc rc;

                tp_alloc_fail_after(n);
                rc = tp_engine_load(e, f.s, &err);
                after = tp_alloc_count();
                tp_alloc_fail_after(0);
                if (rc != TP_OK) {
                        if (rc != TP_NOMEM)
                                fail_msg("load with allocation %ld failing: %s (%s)", n, tp_rc_code(rc), err.msg);
                        if (tp_engine_load(e, f.s, &err) != TP_OK)
                                fail_msg("resume: %s", err.msg);
                }
                same_engines(e, direct);
                tp_engine_free(e);
                if (after - before < (unsigned long) n)
                        break;
                if (n > 100000)
                        fail_msg("no end to the allocation-failure loop");
        }
        store_close(&f);
        tp_engine_free(direct);
        ref_done(&d);
}

/* One writer and two readers at once: queries see a consistent engine at every
 * moment (every scan equals the rollup it runs beside), and the end state is
 * the reference's.  Run under ASan here; TSan would need its own build mode. */
typedef struct conc {
        tp_engine *e;
        const refdata *d;
        atomic_int done;
        int bad;
} conc;

static void *conc_writer(void *arg) {
        conc *c = arg;
        tp_err err = { 0 };

        for (size_t i = 0; i < c->d->nev; i++)
                if (feed_ev(c->e, &c->d->ev[i], &err) != TP_OK)
                        c->bad = 1;
        for (size_t i = 0; i < c->d->nrs; i++)
                if (feed_rs(c->e, &c->d->rs[i], &err) != TP_OK)
                        c->bad = 1;
        atomic_store(&c->done, 1);
        return NULL;
}

static void *conc_reader(void *arg) {
        conc *c = arg;

        while (!atomic_load(&c->done)) {
                tp_engine_path_query q;
                tp_engine_transitions *t = NULL;
                tp_engine_last_touch *l = NULL;
                tp_engine_scores_query sq;
                tp_engine_scores *s = NULL;
                tp_engine_mem m;
                tp_err err = { 0 };

                tp_engine_path_query_init(&q);
                q.strategy = TP_ENGINE_SCAN;
                if (tp_engine_transitions_run(c->e, &q, &t, &err) != TP_OK ||
                    tp_engine_last_touch_run(c->e, &q, &l, &err) != TP_OK) {
                        c->bad = 1;
                } else {
                        tp_engine_memory(c->e, &m);
                        /* a snapshot can only be behind the counters read after it */
                        if (t->total > m.events || l->purchases + l->unattributed > m.events)
                                c->bad = 1;
                }
                tp_engine_transitions_free(t);
                tp_engine_last_touch_free(l);
                tp_engine_scores_query_init(&sq);
                sq.group = TP_ENGINE_GROUP_CHANNEL;
                sq.bucket = TP_ENGINE_BUCKET_DAY;
                if (tp_engine_scores_run(c->e, &sq, &s, &err) != TP_OK)
                        c->bad = 1;
                tp_engine_scores_free(s);
        }
        return NULL;
}

static void test_concurrent(void **state) {
        refdata d;
        conc c = { 0 };
        pthread_t w, r1, r2;

        (void) state;
        gen_data(&d, 21, 200, 10, 6000, 2000);
        scan_threads = 2;
        c.e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1000);
        scan_threads = 0;
        c.d = &d;
        atomic_init(&c.done, 0);
        assert_int_equal(pthread_create(&r1, NULL, conc_reader, &c), 0);
        assert_int_equal(pthread_create(&r2, NULL, conc_reader, &c), 0);
        assert_int_equal(pthread_create(&w, NULL, conc_writer, &c), 0);
        pthread_join(w, NULL);
        pthread_join(r1, NULL);
        pthread_join(r2, NULL);
        assert_int_equal(c.bad, 0);
        rng = 5;
        check_random_queries(c.e, &d, TP_ENGINE_TZ_DEFAULT, 20);
        tp_engine_free(c.e);
        ref_done(&d);
}

/* ---- the standard bench data set (tpgen --sql) --------------------------- */

static double now_s(void) {
        return (double) tp_time_mono_us() / 1e6;
}

static int64_t num(const char *s) {
        int64_t v = 0;
        int neg = *s == '-';

        for (s += neg; *s >= '0' && *s <= '9'; s++)
                v = v * 10 + (*s - '0');
        return neg ? -v : v;
}

/* Split a line (NUL-terminated, no newline) at commas into at most max fields. */
static int split(char *line, char **f, int max) {
        int n = 0;

        f[n++] = line;
        for (char *p = line; *p && n < max; p++) {
                if (*p == ',') {
                        *p = '\0';
                        f[n++] = p + 1;
                }
        }
        return n;
}

typedef struct csv_load {
        double add_s; /* time inside tp_engine_add_* */
        double total_s;
        size_t rows;
} csv_load;

#define CSV_CHUNK (16u << 20)

/* Load an events_sql.csv (responses = 0) or responses_sql.csv (1) through the
 * batch API: chunks of the file are split in place and handed over at once. */
static void load_csv(tp_engine *e, const char *path, int responses, csv_load *st) {
        FILE *fp = fopen(path, "rb");
        char *buf = malloc(CSV_CHUNK + 2);
        size_t have = 0, cap = CSV_CHUNK / 16;
        int64_t *seqs = malloc(cap * sizeof(*seqs));
        tp_event *evs = responses ? NULL : malloc(cap * sizeof(*evs));
        tp_response *rss = responses ? malloc(cap * sizeof(*rss)) : NULL;
        double t0 = now_s();
        tp_err err = { 0 };

        if (!fp)
                fail_msg("cannot open %s", path);
        assert_non_null(buf);
        assert_non_null(seqs);
        memset(st, 0, sizeof(*st));
        for (;;) {
                size_t got = fread(buf + have, 1, CSV_CHUNK - have, fp), end, n = 0, pos = 0, done = 0;
                int eof = got == 0;
                double t1;

                have += got;
                if (eof && have && buf[have - 1] != '\n')
                        buf[have++] = '\n';
                end = have;
                while (end > 0 && buf[end - 1] != '\n')
                        end--;
                if (end == 0 && eof)
                        break;
                while (pos < end) {
                        char *line = buf + pos, *nl = memchr(line, '\n', end - pos), *fl[9];
                        int nf;

                        *nl = '\0';
                        pos = (size_t) (nl - buf) + 1;
                        if (nl > line && nl[-1] == '\r')
                                nl[-1] = '\0';
                        if (!*line)
                                continue;
                        if (n == cap)
                                fail_msg("CSV lines too short for the batch size");
                        nf = split(line, fl, 9);
                        if (!responses) {
                                /* event_id, customer_id, touchpoint_id, channel_id, ts, event_type, revenue */
                                if (nf < 6)
                                        fail_msg("bad events line");
                                seqs[n] = num(fl[0]);
                                evs[n] = (tp_event){ .id = fl[0],
                                                     .customer = fl[1],
                                                     .touchpoint = num(fl[2]),
                                                     .channel = fl[3],
                                                     .type = fl[5],
                                                     .ts = num(fl[4]),
                                                     .has_value = nf > 6 && fl[6][0] != '\0',
                                                     .value = nf > 6 ? num(fl[6]) : 0 };
                        } else {
                                /* response_id, customer_id, touchpoint_id, channel_id, metric, score, ts, event_id */
                                tp_metric m = TP_METRIC_NPS;

                                if (nf < 7 || tp_metric_parse(fl[4], &m) != TP_OK)
                                        fail_msg("bad responses line");
                                seqs[n] = num(fl[0]);
                                rss[n] = (tp_response){ .id = fl[0],
                                                        .customer = fl[1],
                                                        .touchpoint = num(fl[2]),
                                                        .channel = fl[3],
                                                        .metric = m,
                                                        .score = (int) num(fl[5]),
                                                        .ts = num(fl[6]),
                                                        .event = nf > 7 ? fl[7] : NULL };
                        }
                        n++;
                }
                t1 = now_s();
                if ((responses ? tp_engine_add_responses(e, seqs, rss, n, &done, &err) :
                                 tp_engine_add_events(e, seqs, evs, n, &done, &err)) != TP_OK)
                        fail_msg("%s: row %zu: %s", path, st->rows + done, err.msg);
                st->add_s += now_s() - t1;
                st->rows += n;
                memmove(buf, buf + end, have - end);
                have -= end;
                if (eof && !have)
                        break;
        }
        st->total_s = now_s() - t0;
        fclose(fp);
        free(buf);
        free(seqs);
        free(evs);
        free(rss);
}

#define Q4_FROM 1711929600 /* 2024-04-01T00:00:00Z */
#define Q4_TO 1719792000   /* 2024-07-01T00:00:00Z */

static FILE *open_out(const char *dir, const char *name) {
        char p[1024];
        FILE *fp;

        (void) snprintf(p, sizeof(p), "%s/%s", dir, name);
        if (!(fp = fopen(p, "w")))
                fail_msg("cannot write %s", p);
        return fp;
}

static void put_num(FILE *fp, double x, int last) {
        if (!isnan(x))
                fprintf(fp, "%.17g", x);
        fputc(last ? '\n' : ',', fp);
}

/* The six questions, each as its SQL file asks it. */
static tp_engine_scores *q1(tp_engine *e, tp_engine_strategy s) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        q.metrics = TP_ENGINE_METRIC(TP_METRIC_NPS);
        q.strategy = s;
        return scores(e, &q);
}

static tp_engine_scores *q2(tp_engine *e, tp_engine_strategy s) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT;
        q.strategy = s;
        return scores(e, &q);
}

static tp_engine_scores *q3(tp_engine *e, tp_engine_strategy s) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        q.metrics = TP_ENGINE_METRIC(TP_METRIC_NPS);
        q.bucket = TP_ENGINE_BUCKET_WEEK;
        q.strategy = s;
        return scores(e, &q);
}

static tp_engine_scores *q4(tp_engine *e, tp_engine_strategy s) {
        tp_engine_scores_query q;

        tp_engine_scores_query_init(&q);
        q.from = Q4_FROM;
        q.to = Q4_TO;
        q.metrics = TP_ENGINE_METRIC(TP_METRIC_NPS);
        q.group = TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        q.strategy = s;
        return scores(e, &q);
}

static tp_engine_transitions *q5(tp_engine *e, tp_engine_strategy s) {
        tp_engine_path_query q;

        tp_engine_path_query_init(&q);
        q.strategy = s;
        return transitions(e, &q);
}

static tp_engine_last_touch *q6(tp_engine *e, tp_engine_strategy s) {
        tp_engine_path_query q;

        tp_engine_path_query_init(&q);
        q.strategy = s;
        return last_touch(e, &q);
}

static void write_answers(tp_engine *e, const char *dir) {
        tp_engine_scores *r;
        tp_engine_transitions *t;
        tp_engine_last_touch *l;
        FILE *fp;

        r = q1(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q1.csv");
        for (size_t i = 0; i < r->nrows; i++) {
                put_num(fp, r->rows[i].nps.score, 0);
                fprintf(fp, "%llu\n", (unsigned long long) r->rows[i].nps.n);
        }
        fclose(fp);
        tp_engine_scores_free(r);

        r = q2(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q2.csv");
        for (size_t i = 0; i < r->nrows; i++) {
                fprintf(fp, "%lld,", (long long) r->rows[i].touchpoint);
                put_num(fp, r->rows[i].nps.score, 0);
                put_num(fp, r->rows[i].csat.pct, 0);
                put_num(fp, r->rows[i].ces.mean, 1);
        }
        fclose(fp);
        tp_engine_scores_free(r);

        r = q3(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q3.csv");
        for (size_t i = 0; i < r->nrows; i++) {
                assert_true(r->rows[i].nps.n > 0); /* NPS asked: only groups with NPS answers */
                fprintf(fp, "%lld,", (long long) r->rows[i].bucket);
                put_num(fp, r->rows[i].nps.score, 0);
                fprintf(fp, "%llu\n", (unsigned long long) r->rows[i].nps.n);
        }
        fclose(fp);
        tp_engine_scores_free(r);

        r = q4(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q4.csv");
        for (size_t i = 0; i < r->nrows; i++) {
                assert_true(r->rows[i].nps.n > 0); /* NPS asked: only groups with NPS answers */
                fprintf(fp, "%lld,%s,", (long long) r->rows[i].touchpoint, r->rows[i].channel);
                put_num(fp, r->rows[i].nps.score, 0);
                fprintf(fp, "%llu\n", (unsigned long long) r->rows[i].nps.n);
        }
        fclose(fp);
        tp_engine_scores_free(r);

        t = q5(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q5.csv");
        for (size_t i = 0; i < t->nrows; i++)
                fprintf(fp,
                        "%lld,%lld,%llu\n",
                        (long long) t->rows[i].from,
                        (long long) t->rows[i].to,
                        (unsigned long long) t->rows[i].n);
        fclose(fp);
        tp_engine_transitions_free(t);

        l = q6(e, TP_ENGINE_AUTO);
        fp = open_out(dir, "engine_q6.csv");
        for (size_t i = 0; i < l->nrows; i++)
                fprintf(fp,
                        "%lld,%llu,%lld\n",
                        (long long) l->rows[i].touchpoint,
                        (unsigned long long) l->rows[i].purchases,
                        (long long) l->rows[i].revenue);
        fclose(fp);
        tp_engine_last_touch_free(l);
}

static void load_sql_csvs(tp_engine *e, const char *dir, csv_load *ev_st, csv_load *rs_st) {
        char p[1024];

        (void) snprintf(p, sizeof(p), "%s/events_sql.csv", dir);
        load_csv(e, p, 0, ev_st);
        (void) snprintf(p, sizeof(p), "%s/responses_sql.csv", dir);
        load_csv(e, p, 1, rs_st);
}

static void test_sql_dir(void **state) {
        const char *dir = getenv("TP_ENGINE_SQL_DIR");
        csv_load a, b;
        tp_engine *e;

        (void) state;
        if (!dir || !*dir)
                skip();
        e = mk_engine(0, 1u << 20); /* q3.sql's weeks start Monday 00:00 UTC */
        load_sql_csvs(e, dir, &a, &b);
        /* The scans must agree with the rollups on this data too. */
        {
                tp_engine_scores *x, *y;
                tp_engine_transitions *t1, *t2;
                tp_engine_last_touch *l1, *l2;

                x = q3(e, TP_ENGINE_AUTO);
                y = q3(e, TP_ENGINE_SCAN);
                same_scores(x, y);
                tp_engine_scores_free(x);
                tp_engine_scores_free(y);
                t1 = q5(e, TP_ENGINE_AUTO);
                t2 = q5(e, TP_ENGINE_SCAN);
                l1 = q6(e, TP_ENGINE_AUTO);
                l2 = q6(e, TP_ENGINE_SCAN);
                same_paths(t1, t2, l1, l2);
                tp_engine_transitions_free(t1);
                tp_engine_transitions_free(t2);
                tp_engine_last_touch_free(l1);
                tp_engine_last_touch_free(l2);
        }
        write_answers(e, dir);
        tp_engine_free(e);
}

static int cmp_double(const void *pa, const void *pb) {
        double a = *(const double *) pa, b = *(const double *) pb;

        return a < b ? -1 : a > b;
}

#define RUNS 5

typedef enum bq { BQ1, BQ2, BQ3, BQ4, BQ5, BQ6 } bq;

/* Median wall time of RUNS runs of one question, in milliseconds. */
/* JSON text, as the API would send it; freed at once. */
static void dump_free(json_t *j) {
        char *text = tp_json_dump(j, NULL);

        assert_non_null(text);
        tp_free(text);
        json_decref(j);
}

/* with_json: also build the JSON and serialise it. */
static double time_query(tp_engine *e, bq which, tp_engine_strategy s, int with_json) {
        double t[RUNS];

        for (int i = 0; i < RUNS; i++) {
                double t0 = now_s();
                tp_engine_scores *r = NULL;

                switch (which) {
                case BQ1:
                        r = q1(e, s);
                        break;
                case BQ2:
                        r = q2(e, s);
                        break;
                case BQ3:
                        r = q3(e, s);
                        break;
                case BQ4:
                        r = q4(e, s);
                        break;
                case BQ5: {
                        tp_engine_transitions *x = q5(e, s);

                        if (with_json)
                                dump_free(tp_engine_transitions_json(x, key_of, NULL));
                        tp_engine_transitions_free(x);
                        break;
                }
                case BQ6: {
                        tp_engine_last_touch *x = q6(e, s);

                        if (with_json)
                                dump_free(tp_engine_last_touch_json(x, key_of, NULL));
                        tp_engine_last_touch_free(x);
                        break;
                }
                }
                if (r && with_json)
                        dump_free(tp_engine_scores_json(r, key_of, NULL));
                tp_engine_scores_free(r);
                t[i] = (now_s() - t0) * 1e3;
        }
        qsort(t, RUNS, sizeof(t[0]), cmp_double);
        return t[RUNS / 2];
}

static void print_mem(const tp_engine_mem *m) {
        printf("memory: %llu events (+%llu anonymous), %llu responses, %llu customers, %llu touchpoints\n",
               (unsigned long long) m->events,
               (unsigned long long) m->anonymous,
               (unsigned long long) m->responses,
               (unsigned long long) m->customers,
               (unsigned long long) m->touchpoints);
#define MEMROW(f, per)                                       \
        printf("  %-18s %12zu B  %6.2f B/%s\n",              \
               #f,                                           \
               m->f,                                         \
               (double) m->f / (double) ((per) ? (per) : 1), \
               (per) == m->events ? "event" : "response")
        MEMROW(customer_dict, m->events);
        MEMROW(customer_state, m->events);
        MEMROW(event_columns, m->events);
        MEMROW(event_values, m->events);
        MEMROW(event_delta, m->events);
        MEMROW(transitions, m->events);
        MEMROW(attribution, m->events);
        MEMROW(attribution_paths, m->events);
        MEMROW(response_columns, m->responses);
        MEMROW(score_rollup, m->responses);
#undef MEMROW
        printf("  %-18s %12zu B\n", "small_dicts", m->small_dicts);
        printf("  %-18s %12zu B  (%.1f MiB)\n", "total", m->total, (double) m->total / 1048576.0);
        printf("  per event %.2f B, per response %.2f B\n", m->per_event, m->per_response);
}

static int count_event(void *arg, int64_t seq, const tp_event *x) {
        (void) seq;
        (void) x;
        ++*(uint64_t *) arg;
        return 0;
}

static int count_response(void *arg, int64_t seq, const tp_response *x) {
        (void) seq;
        (void) x;
        ++*(uint64_t *) arg;
        return 0;
}

/* Median wall time in ms of runs attribution queries; *keep (may be NULL) gets
 * the last answer. */
static double time_attrib(
        tp_engine *e, tp_attrib_model m, int64_t lookback, tp_engine_strategy s, int runs, tp_attrib_result **keep) {
        tp_engine_path_query q;
        tp_attrib_params p;
        double t[RUNS];

        assert_true(runs >= 1 && runs <= RUNS);
        tp_attrib_params_init(&p);
        p.direct = 0;
        p.half_life = 7 * 86400.0;
        tp_engine_path_query_init(&q);
        q.lookback = lookback;
        q.strategy = s;
        for (int i = 0; i < runs; i++) {
                double t0 = now_s();
                tp_attrib_result *r = attrib(e, &q, m, &p);

                t[i] = (now_s() - t0) * 1e3;
                if (keep && i == runs - 1)
                        *keep = r;
                else
                        tp_attrib_result_free(r);
        }
        qsort(t, (size_t) runs, sizeof(t[0]), cmp_double);
        return t[runs / 2];
}

/* Every attribution model, no look-back and 90 days: the rollups (AUTO, median
 * of 5) against the scan (median of 3), and the two answers equal, bit for bit. */
static void bench_attribution(tp_engine *e) {
        static const char *const names[_TP_ATTRIB_MODEL_MAX] = { "first",  "last",       "last_non_direct",
                                                                 "linear", "time_decay", "position",
                                                                 "markov", "shapley" };
        static const int64_t lbs[2] = { 0, 90 * 86400 };

        printf("attribution (ms)    lookback 0: auto   scan    | 90 days: auto   scan\n");
        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                double t[4];

                for (int l = 0; l < 2; l++) {
                        tp_attrib_result *a = NULL, *b = NULL;

                        t[2 * l] = time_attrib(e, (tp_attrib_model) m, lbs[l], TP_ENGINE_AUTO, 5, &a);
                        t[2 * l + 1] = time_attrib(e, (tp_attrib_model) m, lbs[l], TP_ENGINE_SCAN, 3, &b);
                        same_attrib(a, b);
                        tp_attrib_result_free(a);
                        tp_attrib_result_free(b);
                }
                printf("  %-16s %9.3f %9.1f    | %9.3f %9.1f\n", names[m], t[0], t[1], t[2], t[3]);
        }
        /* What a snapshot load pays for the rollups, and the same sums after it. */
        {
                eng_mview before[3], after[3];
                double t0;

                mta_views(e, before);
                t0 = now_s();
                assert_int_equal(eng_rollups_rebuild(e), TP_OK);
                printf("eng_rollups_rebuild (every rollup): %.3f s\n", now_s() - t0);
                mta_views(e, after);
                for (int i = 0; i < 3; i++) {
                        same_views(&before[i], &after[i], e->ntp);
                        eng_mview_done(&before[i]);
                        eng_mview_done(&after[i]);
                }
        }
}

static void test_bench(void **state) {
        const char *dir = getenv("TP_ENGINE_BENCH"), *url = getenv("TP_ENGINE_BENCH_STORE");
        static const char *const names[6] = { "Q1", "Q2", "Q3", "Q4", "Q5", "Q6" };
        csv_load a, b;
        tp_engine_mem m;
        tp_engine *e;
        double t0, tc;
        tp_err err = { 0 };

        (void) state;
        if (!dir || !*dir)
                skip();
        /* As tp_engine_load does: no compaction until the end. */
        e = mk_engine(0, UINT32_MAX);
        load_sql_csvs(e, dir, &a, &b);
        t0 = now_s();
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        tc = now_s() - t0;
        printf("load: %zu events in %.2f s (%.2f s in the engine, %.1f M rows/s), %zu responses in %.2f s "
               "(%.2f s in the engine); compaction %.2f s; total %.2f s\n",
               a.rows,
               a.total_s,
               a.add_s,
               (double) a.rows / a.add_s / 1e6,
               b.rows,
               b.total_s,
               b.add_s,
               tc,
               a.total_s + b.total_s + tc);
        tp_engine_memory(e, &m);
        print_mem(&m);
        printf("query   auto (ms)   auto+JSON (ms)   scan (ms)   (median of %d runs)\n", RUNS);
        for (int k = 0; k < 6; k++)
                printf("%s   %9.3f   %14.3f   %9.3f\n",
                       names[k],
                       time_query(e, (bq) k, TP_ENGINE_AUTO, 0),
                       time_query(e, (bq) k, TP_ENGINE_AUTO, 1),
                       time_query(e, (bq) k, TP_ENGINE_SCAN, 0));
        bench_attribution(e);
        {
                tp_engine_scores *r = q1(e, TP_ENGINE_AUTO), *x, *y;
                tp_engine_transitions *t1 = q5(e, TP_ENGINE_AUTO), *t2 = q5(e, TP_ENGINE_SCAN);
                tp_engine_last_touch *l1 = q6(e, TP_ENGINE_AUTO), *l2 = q6(e, TP_ENGINE_SCAN);

                printf("Q1 NPS %.4f n %llu\n", r->rows[0].nps.score, (unsigned long long) r->rows[0].nps.n);
                /* and the rollups agree with the scans on the large set too */
                same_paths(t1, t2, l1, l2);
                x = q3(e, TP_ENGINE_AUTO);
                y = q3(e, TP_ENGINE_SCAN);
                same_scores(x, y);
                tp_engine_scores_free(x);
                tp_engine_scores_free(y);
                x = q2(e, TP_ENGINE_AUTO);
                y = q2(e, TP_ENGINE_SCAN);
                same_scores(x, y);
                tp_engine_scores_free(x);
                tp_engine_scores_free(y);
                tp_engine_scores_free(r);
                tp_engine_transitions_free(t1);
                tp_engine_transitions_free(t2);
                tp_engine_last_touch_free(l1);
                tp_engine_last_touch_free(l2);
        }
        tp_engine_free(e);

        if (url && *url) {
                tp_store *s = NULL;
                uint64_t rows = 0;

                assert_int_equal(tp_store_open(url, TP_STORE_READONLY, &s, &err), TP_OK);
                /* What reading the store costs by itself, for comparison. */
                t0 = now_s();
                assert_int_equal(tp_store_event_scan(s, 0, count_event, &rows, &err), TP_OK);
                assert_int_equal(tp_store_response_scan(s, 0, count_response, &rows, &err), TP_OK);
                printf("store scan alone: %llu rows in %.2f s\n", (unsigned long long) rows, now_s() - t0);
                e = mk_engine(TP_ENGINE_TZ_DEFAULT, 1u << 20);
                t0 = now_s();
                if (tp_engine_load(e, s, &err) != TP_OK)
                        fail_msg("load: %s", err.msg);
                printf("tp_engine_load from %s: %.2f s\n", url, now_s() - t0);
                tp_engine_free(e);
                /* The same with the compaction timed apart. */
                e = mk_engine(TP_ENGINE_TZ_DEFAULT, UINT32_MAX);
                t0 = now_s();
                if (tp_engine_load(e, s, &err) != TP_OK)
                        fail_msg("load: %s", err.msg);
                tc = now_s();
                assert_int_equal(tp_engine_compact(e, &err), TP_OK);
                printf("  of which reading and applying %.2f s, compaction %.2f s\n", tc - t0, now_s() - tc);
                tp_engine_memory(e, &m);
                print_mem(&m);
                tp_engine_free(e);
                tp_store_close(s);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nps_hand),
                cmocka_unit_test(test_csat_hand),
                cmocka_unit_test(test_ces_factors_hand),
                cmocka_unit_test(test_week_buckets_utc7),
                cmocka_unit_test(test_out_of_order),
                cmocka_unit_test(test_equal_times),
                cmocka_unit_test(test_rollup_equals_scan_random),
                cmocka_unit_test(test_attribution_rollup_random),
                cmocka_unit_test(test_sparse_groups),
                cmocka_unit_test(test_dictionary_limits),
                cmocka_unit_test(test_extreme_times),
                cmocka_unit_test(test_replay_and_bad_rows),
                cmocka_unit_test(test_memory_breakdown),
                cmocka_unit_test(test_oom),
                cmocka_unit_test(test_budgets),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_sentiment_and_themes),
                cmocka_unit_test(test_segments),
                cmocka_unit_test(test_attributes),
                cmocka_unit_test(test_load_from_store),
                cmocka_unit_test(test_catch_up_bounded),
                cmocka_unit_test(test_load_refused_row),
                cmocka_unit_test(test_load_oom_resume),
                cmocka_unit_test(test_concurrent),
                cmocka_unit_test(test_sql_dir),
                cmocka_unit_test(test_bench),
        };

        tp_json_global_init();
        return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
