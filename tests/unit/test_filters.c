/* SPDX-License-Identifier: MIT */
/*
 * test_filters.c -- the channel, segment and attribute filters of the path
 * questions (transitions, last touch, funnel, standing, top paths, explorer,
 * next touchpoint and its accuracy).
 *
 * The property: a question asked of the whole data with a filter gives the
 * same answer as the question asked without one of an engine fed only what
 * the filter keeps (the events, in those channels, of the customers in those
 * segments and with those attribute values).  Random data with late events,
 * part compacted and part in the delta; both strategies on the filtered side.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

#define NCUST 300
#define NTP 12
#define NEV 6000
#define T0 1717200000 /* 2024-06-01 */
#define SPAN (60 * 86400)

static const char *const CH[3] = { "web", "app", "store" };
static const char *const TYPES[3] = { "purchase", "view", "cart" };

typedef struct ev {
        int cust, ch, type; /* ch -1: none */
        int64_t tp, ts, value;
} ev;

static uint64_t rng;

static uint32_t rndn(uint32_t n) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        return (uint32_t) ((rng >> 33) % n);
}

static ev data[NEV];

#define NRS 4000
typedef struct rs {
        int cust, ch, metric, score;
        int64_t tp, ts;
} rs;
static rs rdata[NRS];

static void gen(uint64_t seed) {
        rng = seed;
        for (int i = 0; i < NEV; i++) {
                ev *x = &data[i];

                x->cust = (int) rndn(NCUST);
                x->tp = 100 + rndn(NTP);
                x->ch = rndn(9) == 0 ? -1 : (int) rndn(3);
                x->type = rndn(6) == 0 ? 0 : 1 + (int) rndn(2);
                x->ts = T0 + rndn(SPAN); /* random order: many events are late for their customer */
                x->value = x->type == 0 ? (int64_t) rndn(500000) : 0;
        }
        /* Answers for key drivers: CSAT at six touchpoints, NPS overall; the
         * NPS leans on the CSAT of 100 and 101 so that the weights differ. */
        for (int i = 0; i < NRS; i++) {
                rs *y = &rdata[i];

                y->cust = (int) rndn(NCUST);
                y->ch = rndn(9) == 0 ? -1 : (int) rndn(3);
                y->ts = T0 + rndn(SPAN);
                if (i % 4 == 3) {
                        y->metric = TP_METRIC_NPS;
                        y->tp = 111;
                        y->score = (int) ((y->cust * 7) % 11);
                } else {
                        y->metric = TP_METRIC_CSAT;
                        y->tp = 100 + rndn(6);
                        y->score = 1 + (y->tp <= 101 ? y->cust * 7 % 11 / 2 : (int) rndn(5)) % 5;
                }
        }
}

static const char *segment_of(int c) {
        return c % 3 == 0 ? "vip" : c % 3 == 1 ? "reg" : NULL;
}

static const char *city_of(int c) {
        return c % 7 == 0 ? NULL : c % 2 ? "HCM" : "HN";
}

static void set_customer(tp_engine *e, int c) {
        char id[16];
        json_t *a = city_of(c) ? json_pack("{s:s, s:i}", "city", city_of(c), "n", c % 5) : NULL;
        tp_err err = { 0 };

        (void) snprintf(id, sizeof(id), "c%d", c);
        assert_int_equal(tp_engine_set_customer(e, id, segment_of(c), a, &err), TP_OK);
        json_decref(a);
}

/* The filter the reference applies by hand: NULL lists keep everything. */
typedef struct keep {
        const char *const *segs; /* "" = none */
        size_t nsegs;
        const char *const *cities;
        size_t ncities;
        const char *const *chans;
        size_t nchans;
} keep;

static int in_list(const char *s, const char *const *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(s ? s : "", v[i]) == 0)
                        return 1;
        return 0;
}

static int kept(const keep *k, int cust, int ch) {
        if (k->segs && !in_list(segment_of(cust), k->segs, k->nsegs))
                return 0;
        if (k->cities && !in_list(city_of(cust), k->cities, k->ncities))
                return 0;
        if (k->chans && (ch < 0 || !in_list(CH[ch], k->chans, k->nchans)))
                return 0;
        return 1;
}

/* Feed the events k keeps (NULL: all), compacting half way so that both the
 * compacted columns and the delta are read. */
static tp_engine *feed(const keep *k) {
        tp_engine_opts o;
        tp_engine *e;
        tp_err err = { 0 };
        int64_t seq = 0;

        tp_engine_opts_init(&o);
        o.delta_min = 1u << 30; /* compactions only when asked */
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_OK);
        for (int c = 0; c < NCUST && !k; c++)
                set_customer(e, c);
        for (int i = 0; i < NEV; i++) {
                const ev *x = &data[i];
                char id[16];
                tp_event v = { .id = "e", .customer = id, .touchpoint = x->tp, .ts = x->ts,
                               .channel = x->ch >= 0 ? CH[x->ch] : NULL, .type = TYPES[x->type],
                               .has_value = x->type == 0, .value = x->value, .currency = "VND" };

                if (i == NEV / 2)
                        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
                if (k && !kept(k, x->cust, x->ch))
                        continue;
                (void) snprintf(id, sizeof(id), "c%d", x->cust);
                if (tp_engine_add_event(e, ++seq, &v, &err) != TP_OK)
                        fail_msg("add event: %s", err.msg);
        }
        seq = 0;
        for (int i = 0; i < NRS; i++) {
                const rs *y = &rdata[i];
                char id[16];
                tp_response v = { .id = "r", .customer = id, .touchpoint = y->tp, .ts = y->ts,
                                  .channel = y->ch >= 0 ? CH[y->ch] : NULL, .metric = (tp_metric) y->metric,
                                  .score = y->score };

                if (k && !kept(k, y->cust, y->ch))
                        continue;
                (void) snprintf(id, sizeof(id), "c%d", y->cust);
                if (tp_engine_add_response(e, ++seq, &v, &err) != TP_OK)
                        fail_msg("add response: %s", err.msg);
        }
        return e;
}

static int stage_of(void *arg, int64_t tp) {
        (void) arg;
        return tp - 100 < 8 ? (int) ((tp - 100) % 4) : -1;
}

/* a and b equal, reals to within 1e-9 relative (sums over customers taken in
 * another order differ in the last bits). */
static int near_json(json_t *a, json_t *b) {
        const char *k;
        json_t *v;
        size_t i;

        if (json_is_number(a) && json_is_number(b)) {
                double x = json_number_value(a), y = json_number_value(b);
                return fabs(x - y) <= 1e-9 * (fabs(x) > fabs(y) ? fabs(x) : fabs(y)) + 1e-12;
        }
        if (json_typeof(a) != json_typeof(b))
                return 0;
        if (json_is_object(a)) {
                if (json_object_size(a) != json_object_size(b))
                        return 0;
                json_object_foreach(a, k, v) if (!near_json(v, json_object_get(b, k))) return 0;
                return 1;
        }
        if (json_is_array(a)) {
                if (json_array_size(a) != json_array_size(b))
                        return 0;
                json_array_foreach(a, i, v) if (!near_json(v, json_array_get(b, i))) return 0;
                return 1;
        }
        return json_equal(a, b);
}

static int exact = 1; /* same_json: json_equal, else near_json */

/* rows_scanned differs by design (the reference engine holds fewer rows). */
static void same_json(json_t *a, json_t *b, const char *what) {
        (void) json_object_del(a, "rows_scanned");
        (void) json_object_del(b, "rows_scanned");
        if (!a || !b || !(exact ? json_equal(a, b) : near_json(a, b))) {
                char *sa = a ? json_dumps(a, JSON_SORT_KEYS) : NULL, *sb = b ? json_dumps(b, JSON_SORT_KEYS) : NULL;

                print_error("%s differs:\n filtered  %.600s\n reference %.600s\n", what, sa ? sa : "(null)",
                            sb ? sb : "(null)");
                free(sa);
                free(sb);
                fail();
        }
        json_decref(a);
        json_decref(b);
}

static int near(double x, double y) {
        return fabs(x - y) <= 1e-9 * (fabs(x) > fabs(y) ? fabs(x) : fabs(y)) + 1e-9;
}

/* Attributed conversions and value of touchpoint id in r (0 when absent). */
static void credit_of(const tp_attrib_result *r, int64_t id, double *conv, double *value) {
        *conv = *value = 0;
        for (size_t i = 0; i < r->n; i++)
                if (r->touchpoints[i] == id) {
                        *conv = r->conversions[i];
                        *value = r->value[i];
                }
}

/* Every attribution model, filtered on all against unfiltered on ref: the
 * same credit per touchpoint (store ids: the engines' indexes differ) and
 * totals, to 1e-9 (time decay sums its paths in another order). */
static void compare_attribution(tp_engine *all, tp_engine *ref, const tp_engine_filter *f, tp_engine_strategy strategy,
                                int64_t lookback, const char *name) {
        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                tp_engine_path_query pq, rq;
                tp_attrib_params p;
                tp_attrib_result *a = NULL, *b = NULL;
                tp_err err = { 0 };

                tp_engine_path_query_init(&pq);
                tp_engine_path_query_init(&rq);
                pq.filter = *f;
                pq.strategy = strategy;
                pq.lookback = rq.lookback = lookback;
                tp_attrib_params_init(&p);
                p.half_life = 7 * 86400.0;
                if (tp_engine_attribution_run(all, &pq, (tp_attrib_model) m, &p, &a, &err) != TP_OK ||
                    tp_engine_attribution_run(ref, &rq, (tp_attrib_model) m, &p, &b, &err) != TP_OK)
                        fail_msg("%s: attribution model %d: %s", name, m, err.msg);
                assert_true(a->rows_scanned > 0); /* a filter is never answered by the rollup */
                assert_true(b->total_conversions > 0);
                if (!near(a->total_conversions, b->total_conversions) || !near(a->total_value, b->total_value) ||
                    !near(a->unattributed_conversions, b->unattributed_conversions) ||
                    !near(a->total_nulls, b->total_nulls))
                        fail_msg("%s: attribution model %d totals: %g/%g vs %g/%g", name, m, a->total_conversions,
                                 a->total_value, b->total_conversions, b->total_value);
                for (int64_t id = 100; id < 100 + NTP; id++) {
                        double ca, va, cb, vb;

                        credit_of(a, id, &ca, &va);
                        credit_of(b, id, &cb, &vb);
                        if (!near(ca, cb) || !near(va, vb))
                                fail_msg("%s: attribution model %d, touchpoint %lld: %.12g/%.12g vs %.12g/%.12g", name, m,
                                         (long long) id, ca, va, cb, vb);
                }
                tp_attrib_result_free(a);
                tp_attrib_result_free(b);
        }
}

/* Every path question of `all` under filter f equals the same question of
 * `ref` without one; strategy applies to the filtered side. */
static void compare(tp_engine *all, tp_engine *ref, const tp_engine_filter *f, tp_engine_strategy strategy,
                    const char *name) {
        tp_engine_path_query pq, rq;
        tp_engine_journey_query jq, jr;
        tp_err err = { 0 };
        char what[96];

        for (int lb = 0; lb < 2; lb++) {
                tp_engine_transitions *ta, *tb;
                tp_engine_last_touch *la, *lb_;

                tp_engine_path_query_init(&pq);
                tp_engine_path_query_init(&rq);
                pq.filter = *f;
                pq.strategy = strategy;
                if (lb) {
                        pq.lookback = rq.lookback = 3 * 86400;
                        pq.from = rq.from = T0 + 10 * 86400;
                        pq.to = rq.to = T0 + 50 * 86400;
                }
                assert_int_equal(tp_engine_transitions_run(all, &pq, &ta, &err), TP_OK);
                assert_int_equal(tp_engine_transitions_run(ref, &rq, &tb, &err), TP_OK);
                assert_true(ta->total > 0);
                (void) snprintf(what, sizeof(what), "%s: transitions %d", name, lb);
                same_json(tp_engine_transitions_json(ta, NULL, NULL), tp_engine_transitions_json(tb, NULL, NULL), what);
                assert_true(ta->rows_scanned > 0); /* a filter is never answered by the rollup */
                tp_engine_transitions_free(ta);
                tp_engine_transitions_free(tb);
                assert_int_equal(tp_engine_last_touch_run(all, &pq, &la, &err), TP_OK);
                assert_int_equal(tp_engine_last_touch_run(ref, &rq, &lb_, &err), TP_OK);
                (void) snprintf(what, sizeof(what), "%s: last touch %d", name, lb);
                same_json(tp_engine_last_touch_json(la, NULL, NULL), tp_engine_last_touch_json(lb_, NULL, NULL), what);
                tp_engine_last_touch_free(la);
                tp_engine_last_touch_free(lb_);
        }

        compare_attribution(all, ref, f, strategy, 0, name);
        compare_attribution(all, ref, f, strategy, 5 * 86400, name);

        tp_engine_journey_query_init(&jq);
        tp_engine_journey_query_init(&jr);
        jq.filter = *f;
        jq.strategy = strategy;
        jq.stage_fn = jr.stage_fn = stage_of;
        jq.nstages = jr.nstages = 4;
        jq.start = jr.start = 101;
        jq.last = jr.last = 102;
        jq.prev = jr.prev = 101;
        jq.split = jr.split = T0 + 40 * 86400;
        {
                tp_engine_funnel *a, *b;
                assert_int_equal(tp_engine_funnel_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_funnel_run(ref, &jr, &b, &err), TP_OK);
                assert_true(a->customers > 0);
                (void) snprintf(what, sizeof(what), "%s: funnel", name);
                same_json(tp_engine_funnel_json(a), tp_engine_funnel_json(b), what);
                tp_engine_funnel_free(a);
                tp_engine_funnel_free(b);
        }
        {
                tp_engine_standing *a, *b;
                assert_int_equal(tp_engine_standing_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_standing_run(ref, &jr, &b, &err), TP_OK);
                (void) snprintf(what, sizeof(what), "%s: standing", name);
                same_json(tp_engine_standing_json(a), tp_engine_standing_json(b), what);
                tp_engine_standing_free(a);
                tp_engine_standing_free(b);
        }
        {
                tp_engine_paths *a, *b;
                assert_int_equal(tp_engine_paths_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_paths_run(ref, &jr, &b, &err), TP_OK);
                (void) snprintf(what, sizeof(what), "%s: paths", name);
                same_json(tp_engine_paths_json(a, NULL, NULL), tp_engine_paths_json(b, NULL, NULL), what);
                tp_engine_paths_free(a);
                tp_engine_paths_free(b);
        }
        {
                tp_engine_explorer *a, *b;
                assert_int_equal(tp_engine_explorer_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_explorer_run(ref, &jr, &b, &err), TP_OK);
                (void) snprintf(what, sizeof(what), "%s: explorer", name);
                same_json(tp_engine_explorer_json(a, NULL, NULL), tp_engine_explorer_json(b, NULL, NULL), what);
                tp_engine_explorer_free(a);
                tp_engine_explorer_free(b);
        }
        for (int order = 1; order <= 2; order++) {
                tp_engine_next *a, *b;
                jq.order = jr.order = order;
                assert_int_equal(tp_engine_next_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_next_run(ref, &jr, &b, &err), TP_OK);
                (void) snprintf(what, sizeof(what), "%s: next order %d", name, order);
                same_json(tp_engine_next_json(a, NULL, NULL), tp_engine_next_json(b, NULL, NULL), what);
                tp_engine_next_free(a);
                tp_engine_next_free(b);
        }
        {
                /* Key drivers: answers in the channels, of the customers kept
                 * (min_n 5: the filtered sets are small). */
                tp_engine_drivers_query dq, dr;
                tp_engine_drivers *a, *b;

                tp_engine_drivers_query_init(&dq);
                tp_engine_drivers_query_init(&dr);
                dq.filter = *f;
                dq.min_n = dr.min_n = 5;
                assert_int_equal(tp_engine_drivers_run(all, &dq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_drivers_run(ref, &dr, &b, &err), TP_OK);
                assert_true(a->customers > 0);
                (void) snprintf(what, sizeof(what), "%s: drivers", name);
                exact = 0;
                same_json(tp_engine_drivers_json(a, NULL, NULL), tp_engine_drivers_json(b, NULL, NULL), what);
                exact = 1;
                tp_engine_drivers_free(a);
                tp_engine_drivers_free(b);
        }
        {
                tp_engine_next_accuracy *a, *b;
                assert_int_equal(tp_engine_next_accuracy_run(all, &jq, &a, &err), TP_OK);
                assert_int_equal(tp_engine_next_accuracy_run(ref, &jr, &b, &err), TP_OK);
                assert_true(a->test > 0);
                (void) snprintf(what, sizeof(what), "%s: next accuracy", name);
                same_json(tp_engine_next_accuracy_json(a), tp_engine_next_accuracy_json(b), what);
                tp_engine_next_accuracy_free(a);
                tp_engine_next_accuracy_free(b);
        }
}

static void test_filters_equal_a_filtered_feed(void **state) {
        static const char *const vip[] = { "vip" }, *const vip_none[] = { "vip", "" }, *const hcm[] = { "HCM" },
                                 *const hn[] = { "HN" }, *const web_app[] = { "web", "app" },
                                 *const store[] = { "store" };
        static const tp_engine_attr_filter f_hcm = { .name = "city", .values = hcm, .nvalues = 1 },
                                           f_hn = { .name = "city", .values = hn, .nvalues = 1 };
        struct {
                const char *name;
                keep k;
                tp_engine_filter f;
        } cases[] = {
                { "segment vip", { .segs = vip, .nsegs = 1 }, { .segments = vip, .nsegments = 1 } },
                { "city HCM", { .cities = hcm, .ncities = 1 }, { .attrs = &f_hcm, .nattrs = 1 } },
                { "channels web, app", { .chans = web_app, .nchans = 2 }, { .channels = web_app, .nchannels = 2 } },
                { "vip or none, city HN, store",
                  { .segs = vip_none, .nsegs = 2, .cities = hn, .ncities = 1, .chans = store, .nchans = 1 },
                  { .segments = vip_none, .nsegments = 2, .attrs = &f_hn, .nattrs = 1, .channels = store,
                    .nchannels = 1 } },
        };
        tp_engine *all;

        (void) state;
        gen(11);
        all = feed(NULL);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                tp_engine *ref = feed(&cases[i].k);

                compare(all, ref, &cases[i].f, TP_ENGINE_AUTO, cases[i].name);
                compare(all, ref, &cases[i].f, TP_ENGINE_SCAN, cases[i].name);
                tp_engine_free(ref);
        }
        tp_engine_free(all);
}

/* A filter on an attribute nobody has is an error naming it; an unknown
 * channel or segment keeps nothing. */
static void test_filter_errors(void **state) {
        static const char *const x[] = { "x" };
        static const tp_engine_attr_filter bad = { .name = "ctiy", .values = x, .nvalues = 1 };
        tp_engine_path_query pq;
        tp_engine_journey_query jq;
        tp_engine_transitions *t = NULL;
        tp_engine_paths *p = NULL;
        tp_err err = { 0 };
        tp_engine *e;

        (void) state;
        gen(5);
        e = feed(NULL);
        tp_engine_path_query_init(&pq);
        pq.filter.attrs = &bad;
        pq.filter.nattrs = 1;
        assert_int_equal(tp_engine_transitions_run(e, &pq, &t, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "attr");
        assert_null(t);
        tp_engine_journey_query_init(&jq);
        jq.filter.attrs = &bad;
        jq.filter.nattrs = 1;
        assert_int_equal(tp_engine_paths_run(e, &jq, &p, &err), TP_UNPROCESSABLE);
        assert_null(p);
        jq.filter.nattrs = 0;
        jq.filter.channels = x;
        jq.filter.nchannels = 1;
        assert_int_equal(tp_engine_paths_run(e, &jq, &p, &err), TP_OK);
        assert_int_equal(p->customers, 0);
        tp_engine_paths_free(p);
        pq.filter.attrs = NULL;
        pq.filter.nattrs = 0;
        pq.filter.segments = x;
        pq.filter.nsegments = 1;
        assert_int_equal(tp_engine_transitions_run(e, &pq, &t, &err), TP_OK);
        assert_int_equal(t->total, 0);
        tp_engine_transitions_free(t);
        tp_engine_free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_filters_equal_a_filtered_feed),
                cmocka_unit_test(test_filter_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
