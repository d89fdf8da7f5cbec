/* SPDX-License-Identifier: MIT */
/*
 * test_journey_engine.c -- the engine's journey questions (engine_journey.c)
 * on a hand-made engine whose answers are worked out below by hand: stage
 * funnel, where customers stand, top paths, path explorer, next-touchpoint
 * Markov chains and their time-split accuracy; JSON; allocation failures.
 *
 * The data (times are T0 + the number shown; touchpoints A=10, B=20, C=30,
 * D=40; stages A=0, B=1, C=2, D none).  c1's B@200 is added last, after a
 * compaction that holds c1's A and C: a late event merged from the delta.
 *
 *   c1: A100 B200 C500            path ABC
 *   c2: A100 A150 B400 D450       path ABD   (A A collapsed)
 *   c3: D40 B100 A300             path DBA
 *   c4: A1000                     path A
 *   c5: D50 A60 B90 C100 A200     path DABCA
 *   c6: A10 B20 C30               path ABC
 *   c7: A5 B6 C7 D8               path ABCD
 *   c8: B1 A2 D3 B4 A5            path BADBA
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
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine.h"

#define T0 1700000000
#define A 10
#define B 20
#define C 30
#define D 40

static int64_t seq;

static void ev(tp_engine *e, const char *cust, int64_t tp, int64_t t) {
        tp_event x = {
                .id = "x", .customer = cust, .touchpoint = tp, .channel = "web", .type = "view", .ts = T0 + t
        };
        tp_err err = { 0 };

        if (tp_engine_add_event(e, ++seq, &x, &err) != TP_OK)
                fail_msg("add_event: %s", err.msg);
}

/* The engine above; compact: fold the first events into the columns. */
static tp_engine *mk(int compact) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_err err = { 0 };

        tp_engine_opts_init(&o);
        if (tp_engine_new(&o, &e, &err) != TP_OK)
                fail_msg("tp_engine_new: %s", err.msg);
        ev(e, "c1", A, 100);
        ev(e, "c1", C, 500);
        ev(e, "c6", A, 10);
        ev(e, "c6", B, 20);
        ev(e, "c6", C, 30);
        ev(e, "c2", A, 100);
        ev(e, "c2", A, 150);
        if (compact && tp_engine_compact(e, &err) != TP_OK)
                fail_msg("compact: %s", err.msg);
        ev(e, "c2", B, 400);
        ev(e, "c2", D, 450);
        ev(e, "c3", D, 40);
        ev(e, "c3", B, 100);
        ev(e, "c3", A, 300);
        ev(e, "c4", A, 1000);
        ev(e, "c5", D, 50);
        ev(e, "c5", A, 60);
        ev(e, "c5", B, 90);
        ev(e, "c5", C, 100);
        ev(e, "c5", A, 200);
        ev(e, "c7", A, 5);
        ev(e, "c7", B, 6);
        ev(e, "c7", C, 7);
        ev(e, "c7", D, 8);
        ev(e, "c8", B, 1);
        ev(e, "c8", A, 2);
        ev(e, "c8", D, 3);
        ev(e, "c8", B, 4);
        ev(e, "c8", A, 5);
        ev(e, "c1", B, 200); /* late */
        return e;
}

static int stage_of(void *arg, int64_t tp) {
        (void) arg;
        return tp == A ? 0 : tp == B ? 1 : tp == C ? 2 : -1;
}

static void key_of(void *arg, int64_t tp, char *out, size_t outsz) {
        (void) arg;
        (void) snprintf(out, outsz, "%c", (char) ('A' + tp / 10 - 1));
}

static void q_init(tp_engine_journey_query *q) {
        tp_engine_journey_query_init(q);
        q->stage_fn = stage_of;
        q->nstages = 3;
}

static void near(double got, double want, const char *what) {
        if (!(fabs(got - want) <= 1e-12))
                fail_msg("%s: got %.12g, want %.12g", what, got, want);
}

/* ---- funnel -------------------------------------------------------------- */

/* All time.  Stage 0 (A): all 8.  Stage 1 (B): all but c4 = 7, all of them
 * reached A: conversion 7/8, dropped 1.  A first then B: c1 100, c2 300, c5 30,
 * c6 10, c7 1 (c3 and c8 meet B first): median of {1,10,30,100,300} = 30.
 * Stage 2 (C): c1 c5 c6 c7 = 4, all reached B: 4/7, dropped 3; B to C: c1 300,
 * c5 10, c6 10, c7 1: median of {1,10,10,300} = 10.
 *
 * From T0+150: c1 B200 C500; c2 A150 B400 D450; c3 A300; c4 A1000; c5 A200.
 * Stage 0: c2 c3 c4 c5 = 4; stage 1: c1 c2 = 2, both stages c2 only: 1/4,
 * time 250; stage 2: c1 = 1, with B: 1/2, time 300. */
static void funnel_checks(tp_engine *e) {
        tp_engine_journey_query q;
        tp_engine_funnel *f = NULL;
        tp_err err = { 0 };

        q_init(&q);
        assert_int_equal(tp_engine_funnel_run(e, &q, &f, &err), TP_OK);
        assert_int_equal(f->nstages, 3);
        assert_int_equal(f->customers, 8);
        assert_int_equal(f->stages[0].reached, 8);
        assert_true(isnan(f->stages[0].conversion) && isnan(f->stages[0].median_seconds));
        assert_int_equal(f->stages[1].reached, 7);
        assert_int_equal(f->stages[1].converted, 7);
        assert_int_equal(f->stages[1].dropped, 1);
        near(f->stages[1].conversion, 7.0 / 8.0, "conversion 1");
        near(f->stages[1].drop_off, 1.0 / 8.0, "drop-off 1");
        assert_int_equal(f->stages[1].timed, 5);
        near(f->stages[1].median_seconds, 30, "median 1");
        assert_int_equal(f->stages[2].reached, 4);
        assert_int_equal(f->stages[2].converted, 4);
        assert_int_equal(f->stages[2].dropped, 3);
        near(f->stages[2].conversion, 4.0 / 7.0, "conversion 2");
        near(f->stages[2].drop_off, 3.0 / 7.0, "drop-off 2");
        assert_int_equal(f->stages[2].timed, 4);
        near(f->stages[2].median_seconds, 10, "median 2");
        tp_engine_funnel_free(f);

        q.from = T0 + 150;
        f = NULL;
        assert_int_equal(tp_engine_funnel_run(e, &q, &f, &err), TP_OK);
        assert_int_equal(f->customers, 5);
        assert_int_equal(f->stages[0].reached, 4);
        assert_int_equal(f->stages[1].reached, 2);
        assert_int_equal(f->stages[1].converted, 1);
        assert_int_equal(f->stages[1].dropped, 3);
        near(f->stages[1].conversion, 0.25, "ranged conversion 1");
        near(f->stages[1].median_seconds, 250, "ranged median 1");
        assert_int_equal(f->stages[2].reached, 1);
        near(f->stages[2].conversion, 0.5, "ranged conversion 2");
        near(f->stages[2].median_seconds, 300, "ranged median 2");
        tp_engine_funnel_free(f);
}

static void test_funnel(void **state) {
        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);

                funnel_checks(e);
                tp_engine_free(e);
        }
}

static void test_funnel_invalid(void **state) {
        tp_engine *e = mk(0);
        tp_engine_journey_query q;
        tp_engine_funnel *f = (tp_engine_funnel *) &q; /* must stay as is */
        tp_err err = { 0 };

        (void) state;
        tp_engine_journey_query_init(&q);
        assert_int_equal(tp_engine_funnel_run(e, &q, &f, &err), TP_INVALID);
        assert_string_equal(err.field, "stages");
        assert_ptr_equal(f, &q);
        q.stage_fn = stage_of;
        q.nstages = TP_ENGINE_STAGES_MAX + 1;
        assert_int_equal(tp_engine_funnel_run(e, &q, &f, &err), TP_INVALID);
        tp_engine_free(e);
}

/* ---- standing ------------------------------------------------------------ */

/* Latest events: c1 C, c2 D, c3 A, c4 A, c5 A, c6 C, c7 D, c8 A: stage 0 = 4,
 * stage 2 = 2, unstaged 2.  Before T0+300: c1 B200, c2 A150, c3 B100, c4 none,
 * c5 A200, c6 C30, c7 D8, c8 A5: stage 0 = 3, 1 = 2, 2 = 1, unstaged 1. */
static void test_standing(void **state) {
        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);

                for (int strat = 0; strat < 2; strat++) {
                        tp_engine_journey_query q;
                        tp_engine_standing *s = NULL;
                        tp_err err = { 0 };

                        q_init(&q);
                        q.strategy = strat ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                        assert_int_equal(tp_engine_standing_run(e, &q, &s, &err), TP_OK);
                        assert_int_equal(s->total, 8);
                        assert_int_equal(s->customers[0], 4);
                        assert_int_equal(s->customers[1], 0);
                        assert_int_equal(s->customers[2], 2);
                        assert_int_equal(s->unstaged, 2);
                        assert_int_equal(s->rows_scanned, strat ? 28 : 0);
                        tp_engine_standing_free(s);

                        q.to = T0 + 300;
                        s = NULL;
                        assert_int_equal(tp_engine_standing_run(e, &q, &s, &err), TP_OK);
                        assert_int_equal(s->total, 7);
                        assert_int_equal(s->customers[0], 3);
                        assert_int_equal(s->customers[1], 2);
                        assert_int_equal(s->customers[2], 1);
                        assert_int_equal(s->unstaged, 1);
                        tp_engine_standing_free(s);
                }
                tp_engine_free(e);
        }
}

/* ---- top paths ----------------------------------------------------------- */

static void path_is(const tp_engine_path *p, uint64_t n, const char *want) {
        char got[64];
        uint32_t i;

        for (i = 0; i < p->len && i < sizeof(got) - 1; i++)
                got[i] = (char) ('A' + p->touchpoints[i] / 10 - 1);
        got[i] = 0;
        assert_string_equal(got, want);
        assert_int_equal(p->customers, n);
}

/* K = 5: ABC twice (c1, c6), then once each, shortest / lowest ids first: A,
 * ABCD, ABD, BADBA, DABCA, DBA (7 distinct).  K = 3: ABC 3 (c1 c6 c7), then A,
 * ABD, BAD, DAB, DBA (6 distinct). */
static void test_paths(void **state) {
        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);
                tp_engine_journey_query q;
                tp_engine_paths *p = NULL;
                tp_err err = { 0 };

                tp_engine_journey_query_init(&q);
                assert_int_equal(tp_engine_paths_run(e, &q, &p, &err), TP_OK);
                assert_int_equal(p->customers, 8);
                assert_int_equal(p->distinct, 7);
                assert_int_equal(p->nrows, 7);
                path_is(&p->rows[0], 2, "ABC");
                path_is(&p->rows[1], 1, "A");
                path_is(&p->rows[2], 1, "ABCD");
                path_is(&p->rows[3], 1, "ABD");
                path_is(&p->rows[4], 1, "BADBA");
                path_is(&p->rows[5], 1, "DABCA");
                path_is(&p->rows[6], 1, "DBA");
                tp_engine_paths_free(p);

                q.path_len = 3;
                q.npaths = 2;
                p = NULL;
                assert_int_equal(tp_engine_paths_run(e, &q, &p, &err), TP_OK);
                assert_int_equal(p->distinct, 6);
                assert_int_equal(p->nrows, 2);
                path_is(&p->rows[0], 3, "ABC");
                path_is(&p->rows[1], 1, "A");
                tp_engine_paths_free(p);

                q.path_len = 0;
                assert_int_equal(tp_engine_paths_run(e, &q, &p, &err), TP_INVALID);
                tp_engine_free(e);
        }
}

/* ---- explorer ------------------------------------------------------------ */

/* From the first A, depth 3 (collapsed paths):
 *   c1 A B C.  c2 A B D.  c3 A.  c4 A.  c5 A B C A.  c6 A B C.  c7 A B C D.
 *   c8 A D B A.
 * Nodes: (0,A) 8 ended 2 (c3 c4); (1,B) 5; (1,D) 1; (2,C) 4 ended 2 (c1 c6);
 * (2,B) 1; (2,D) 1 ended 1 (c2); (3,A) 2; (3,D) 1.
 * Links: 0 A>B 5, 0 A>D 1, 1 B>C 4, 1 B>D 1, 1 D>B 1, 2 B>A 1, 2 C>A 1, 2
 * C>D 1. */
static void test_explorer(void **state) {
        static const struct {
                uint32_t step;
                int64_t tp;
                uint64_t n, ended;
        } nodes[] = { { 0, A, 8, 2 }, { 1, B, 5, 0 }, { 1, D, 1, 0 }, { 2, C, 4, 2 },
                      { 2, B, 1, 0 }, { 2, D, 1, 1 }, { 3, A, 2, 0 }, { 3, D, 1, 0 } };
        static const struct {
                uint32_t step;
                int64_t from, to;
                uint64_t n;
        } links[] = { { 0, A, B, 5 }, { 0, A, D, 1 }, { 1, B, C, 4 }, { 1, B, D, 1 },
                      { 1, D, B, 1 }, { 2, B, A, 1 }, { 2, C, A, 1 }, { 2, C, D, 1 } };

        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);
                tp_engine_journey_query q;
                tp_engine_explorer *x = NULL;
                tp_err err = { 0 };

                tp_engine_journey_query_init(&q);
                q.start = A;
                assert_int_equal(tp_engine_explorer_run(e, &q, &x, &err), TP_OK);
                assert_int_equal(x->customers, 8);
                assert_int_equal(x->nnodes, 8);
                assert_int_equal(x->nlinks, 8);
                for (size_t i = 0; i < 8; i++) {
                        assert_int_equal(x->nodes[i].step, nodes[i].step);
                        assert_int_equal(x->nodes[i].touchpoint, nodes[i].tp);
                        assert_int_equal(x->nodes[i].customers, nodes[i].n);
                        assert_int_equal(x->nodes[i].ended, nodes[i].ended);
                        assert_int_equal(x->links[i].step, links[i].step);
                        assert_int_equal(x->links[i].from, links[i].from);
                        assert_int_equal(x->links[i].to, links[i].to);
                        assert_int_equal(x->links[i].customers, links[i].n);
                }
                tp_engine_explorer_free(x);

                q.depth = 1;
                x = NULL;
                assert_int_equal(tp_engine_explorer_run(e, &q, &x, &err), TP_OK);
                assert_int_equal(x->nnodes, 3); /* (0,A) 8, (1,B) 5, (1,D) 1 */
                assert_int_equal(x->nlinks, 2);
                assert_int_equal(x->nodes[0].ended, 2);
                assert_int_equal(x->nodes[1].ended, 0); /* at the depth: not ended */
                tp_engine_explorer_free(x);

                q.start = 999; /* unknown: empty */
                x = NULL;
                assert_int_equal(tp_engine_explorer_run(e, &q, &x, &err), TP_OK);
                assert_int_equal(x->nnodes + x->nlinks + x->customers, 0);
                tp_engine_explorer_free(x);
                tp_engine_free(e);
        }
}

/* ---- next touchpoint ----------------------------------------------------- */

static tp_engine_next *next(tp_engine *e, int order, int64_t prev, int64_t last, const char *cust) {
        tp_engine_journey_query q;
        tp_engine_next *r = NULL;
        tp_err err = { 0 };

        tp_engine_journey_query_init(&q);
        q.order = order;
        q.prev = prev;
        q.last = last;
        q.customer = cust;
        if (tp_engine_next_run(e, &q, &r, &err) != TP_OK)
                fail_msg("next: %s", err.msg);
        return r;
}

static void row_is(const tp_engine_next *r, size_t i, int64_t tp, uint64_t n, double p) {
        assert_true(i < r->nrows);
        assert_int_equal(r->rows[i].touchpoint, tp);
        assert_int_equal(r->rows[i].n, n);
        near(r->rows[i].p, p, "p");
}

/* Consecutive events (repeats kept):
 *   c1 AB BC; c2 AA AB BD; c3 DB BA; c5 DA AB BC CA; c6 AB BC; c7 AB BC CD;
 *   c8 BA AD DB BA.
 * From A: B 5, A 1, D 1 (7).  From B: C 4, A 3, D 1 (8).  From D: B 2, A 1.
 * Pairs: (A,B) -> C 4, D 1; (D,B) -> A 2; (B,C) -> A 1 (c5), D 1 (c7). */
static void test_next(void **state) {
        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);
                tp_engine_next *r;
                tp_engine_journey_query q;
                tp_err err = { 0 };

                r = next(e, 1, 0, A, NULL);
                assert_int_equal(r->order_used, 1);
                assert_int_equal(r->context_n, 7);
                assert_int_equal(r->nrows, 3);
                row_is(r, 0, B, 5, 5.0 / 7);
                row_is(r, 1, A, 1, 1.0 / 7); /* tie with D: lower id first */
                row_is(r, 2, D, 1, 1.0 / 7);
                tp_engine_next_free(r);

                r = next(e, 1, 0, B, NULL);
                assert_int_equal(r->context_n, 8);
                row_is(r, 0, C, 4, 0.5);
                row_is(r, 1, A, 3, 0.375);
                row_is(r, 2, D, 1, 0.125);
                tp_engine_next_free(r);

                r = next(e, 2, A, B, NULL);
                assert_int_equal(r->order_used, 2);
                assert_int_equal(r->context_n, 5);
                assert_int_equal(r->nrows, 2);
                row_is(r, 0, C, 4, 0.8);
                row_is(r, 1, D, 1, 0.2);
                tp_engine_next_free(r);

                r = next(e, 2, D, B, NULL);
                assert_int_equal(r->order_used, 2);
                row_is(r, 0, A, 2, 1.0);
                tp_engine_next_free(r);

                r = next(e, 2, C, B, NULL); /* unseen pair: order 1 from B */
                assert_int_equal(r->order_used, 1);
                assert_int_equal(r->context_n, 8);
                row_is(r, 0, C, 4, 0.5);
                tp_engine_next_free(r);

                r = next(e, 1, 0, 999, NULL); /* unknown touchpoint */
                assert_int_equal(r->order_used, 0);
                assert_int_equal(r->nrows, 0);
                tp_engine_next_free(r);

                /* c1 ends B200 C500 (B added late): (B,C) -> A, D. */
                r = next(e, 2, 0, 0, "c1");
                assert_int_equal(r->order_used, 2);
                assert_int_equal(r->prev, B);
                assert_int_equal(r->last, C);
                assert_int_equal(r->context_n, 2);
                row_is(r, 0, A, 1, 0.5);
                row_is(r, 1, D, 1, 0.5);
                tp_engine_next_free(r);

                /* c2 ends B D: the pair was never followed, order 1 from D. */
                r = next(e, 2, 0, 0, "c2");
                assert_int_equal(r->order_used, 1);
                assert_int_equal(r->prev, B);
                assert_int_equal(r->last, D);
                row_is(r, 0, B, 2, 2.0 / 3);
                row_is(r, 1, A, 1, 1.0 / 3);
                tp_engine_next_free(r);

                /* c4 has one event: order 1 from A, no prev. */
                r = next(e, 2, 0, 0, "c4");
                assert_int_equal(r->order_used, 1);
                assert_int_equal(r->prev, 0);
                row_is(r, 0, B, 5, 5.0 / 7);
                tp_engine_next_free(r);

                tp_engine_journey_query_init(&q);
                q.customer = "nobody";
                r = (tp_engine_next *) &q;
                assert_int_equal(tp_engine_next_run(e, &q, &r, &err), TP_NOTFOUND);
                assert_string_equal(err.field, "customer");
                assert_ptr_equal(r, &q);
                q.customer = NULL;
                q.order = 3;
                assert_int_equal(tp_engine_next_run(e, &q, &r, &err), TP_INVALID);
                tp_engine_free(e);
        }
}

/* The order-1 counts agree with the transition matrix rollup. */
static void test_next_matches_transitions(void **state) {
        tp_engine *e = mk(1);
        tp_engine_path_query pq;
        tp_engine_transitions *t = NULL;
        tp_err err = { 0 };

        (void) state;
        tp_engine_path_query_init(&pq);
        assert_int_equal(tp_engine_transitions_run(e, &pq, &t, &err), TP_OK);
        for (int64_t a = A; a <= D; a += 10) {
                tp_engine_next *r = next(e, 1, 0, a, NULL);
                uint64_t sum = 0;

                for (size_t i = 0; i < t->nrows; i++)
                        if (t->rows[i].from == a)
                                sum += t->rows[i].n;
                assert_int_equal(r->context_n, sum);
                tp_engine_next_free(r);
        }
        tp_engine_transitions_free(t);
        tp_engine_free(e);
}

/* Split at T0+200.  Train (target before 200), 14 transitions:
 *   c2 AA; c3 DB; c5 DA AB BC; c6 AB BC; c7 AB BC CD; c8 BA AD DB BA.
 *   Order 1: A -> [B 3, A 1, D 1]; B -> [C 3, A 2]; C -> [D]; D -> [B 2, A 1].
 *   Order 2: (A,B) -> C 3; (D,B) -> A; (B,C) -> D; (D,A) -> B; (B,A) -> D;
 *            (A,D) -> B.
 * Test, 6 transitions (order 1 top1/top3, order 2 top1/top3):
 *   c1 A>B200   no pair (fallback)   1 1 | 1 1
 *   c1 B>C500   (A,B) -> C           1 1 | 1 1
 *   c2 A>B400   (A,A) unseen (fb)    1 1 | 1 1
 *   c2 B>D450   (A,B) -> C           0 0 | 0 0
 *   c3 B>A300   (D,B) -> A           0 1 | 1 1
 *   c5 C>A200   (B,C) -> D           0 0 | 0 0
 * Order 1: top1 3/6, top3 4/6; order 2: top1 4/6, top3 4/6; fallback 2. */
static void test_accuracy(void **state) {
        (void) state;
        for (int compact = 0; compact < 2; compact++) {
                tp_engine *e = mk(compact);
                tp_engine_journey_query q;
                tp_engine_next_accuracy *a = NULL;
                tp_err err = { 0 };

                tp_engine_journey_query_init(&q);
                q.split = T0 + 200;
                assert_int_equal(tp_engine_next_accuracy_run(e, &q, &a, &err), TP_OK);
                assert_int_equal(a->train, 14);
                assert_int_equal(a->test, 6);
                assert_int_equal(a->top1[0], 3);
                assert_int_equal(a->top3[0], 4);
                assert_int_equal(a->top1[1], 4);
                assert_int_equal(a->top3[1], 4);
                assert_int_equal(a->fallback, 2);
                assert_int_equal(a->unseen, 0);
                near(a->top1_rate[0], 0.5, "top1 o1");
                near(a->top3_rate[0], 4.0 / 6, "top3 o1");
                near(a->top1_rate[1], 4.0 / 6, "top1 o2");
                tp_engine_next_accuracy_free(a);

                /* Everything is training data: nothing to test. */
                q.split = INT64_MAX;
                a = NULL;
                assert_int_equal(tp_engine_next_accuracy_run(e, &q, &a, &err), TP_OK);
                assert_int_equal(a->train, 20);
                assert_int_equal(a->test, 0);
                assert_true(isnan(a->top1_rate[0]));
                tp_engine_next_accuracy_free(a);
                tp_engine_free(e);
        }
}

/* ---- JSON, budgets, allocation failures ---------------------------------- */

static void test_json(void **state) {
        tp_engine *e = mk(1);
        tp_engine_journey_query q;
        tp_engine_funnel *f = NULL;
        tp_engine_paths *p = NULL;
        tp_engine_explorer *x = NULL;
        tp_engine_next *n = NULL;
        tp_engine_next_accuracy *a = NULL;
        tp_engine_standing *s = NULL;
        tp_err err = { 0 };
        json_t *j;

        (void) state;
        q_init(&q);
        q.start = A;
        q.order = 2;
        q.prev = A;
        q.last = B;
        q.split = T0 + 200;
        assert_int_equal(tp_engine_funnel_run(e, &q, &f, &err), TP_OK);
        assert_int_equal(tp_engine_paths_run(e, &q, &p, &err), TP_OK);
        assert_int_equal(tp_engine_explorer_run(e, &q, &x, &err), TP_OK);
        assert_int_equal(tp_engine_next_run(e, &q, &n, &err), TP_OK);
        assert_int_equal(tp_engine_next_accuracy_run(e, &q, &a, &err), TP_OK);
        assert_int_equal(tp_engine_standing_run(e, &q, &s, &err), TP_OK);

        j = tp_engine_funnel_json(f);
        assert_non_null(j);
        assert_true(
                json_is_null(json_object_get(json_array_get(json_object_get(j, "stages"), 0), "conversion")));
        assert_int_equal(
                json_integer_value(json_object_get(json_array_get(json_object_get(j, "stages"), 2), "reached")),
                4);
        json_decref(j);

        j = tp_engine_paths_json(p, key_of, NULL);
        assert_non_null(j);
        assert_string_equal(
                json_string_value(json_object_get(
                        json_array_get(
                                json_object_get(json_array_get(json_object_get(j, "paths"), 0), "touchpoints"),
                                2),
                        "touchpoint")),
                "C");
        json_decref(j);

        j = tp_engine_explorer_json(x, key_of, NULL);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "links")), 8);
        assert_string_equal(json_string_value(json_object_get(j, "start")), "A");
        json_decref(j);

        j = tp_engine_next_json(n, NULL, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "order_used")), 2);
        assert_int_equal(
                json_integer_value(
                        json_object_get(json_array_get(json_object_get(j, "next"), 0), "touchpoint_id")),
                C);
        json_decref(j);

        j = tp_engine_next_accuracy_json(a);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "order2"), "top1")), 4);
        json_decref(j);

        j = tp_engine_standing_json(s);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "unstaged")), 2);
        json_decref(j);

        tp_engine_funnel_free(f);
        tp_engine_paths_free(p);
        tp_engine_explorer_free(x);
        tp_engine_next_free(n);
        tp_engine_next_accuracy_free(a);
        tp_engine_standing_free(s);
        tp_engine_free(e);
}

static void test_budget(void **state) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_engine_journey_query q;
        tp_engine_paths *p = NULL;
        tp_err err = { 0 };

        (void) state;
        tp_engine_opts_init(&o);
        o.max_rows = 2;
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_OK);
        ev(e, "c1", A, 1);
        ev(e, "c1", B, 2);
        ev(e, "c1", C, 3);
        tp_engine_journey_query_init(&q);
        assert_int_equal(tp_engine_paths_run(e, &q, &p, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "max_rows");
        assert_null(p);
        tp_engine_free(e);
}

/* Each query with its nth allocation failing: TP_NOMEM and *ret untouched,
 * until n reaches past the query's allocations. */
static void test_alloc_failures(void **state) {
        tp_engine *e = mk(1);

        (void) state;
        for (int which = 0; which < 6; which++) {
                for (long n = 1;; n++) {
                        tp_engine_journey_query q;
                        void *r = NULL;
                        tp_err err = { 0 };
                        tp_rc rc;

                        q_init(&q);
                        q.start = A;
                        q.order = 2;
                        q.prev = A;
                        q.last = B;
                        q.split = T0 + 200;
                        tp_alloc_fail_after(n);
                        switch (which) {
                        case 0:
                                rc = tp_engine_funnel_run(e, &q, (tp_engine_funnel **) &r, &err);
                                break;
                        case 1:
                                rc = tp_engine_paths_run(e, &q, (tp_engine_paths **) &r, &err);
                                break;
                        case 2:
                                rc = tp_engine_explorer_run(e, &q, (tp_engine_explorer **) &r, &err);
                                break;
                        case 3:
                                rc = tp_engine_next_run(e, &q, (tp_engine_next **) &r, &err);
                                break;
                        case 4:
                                rc = tp_engine_next_accuracy_run(e, &q, (tp_engine_next_accuracy **) &r, &err);
                                break;
                        default:
                                q.strategy = TP_ENGINE_SCAN;
                                rc = tp_engine_standing_run(e, &q, (tp_engine_standing **) &r, &err);
                                break;
                        }
                        tp_alloc_fail_after(0);
                        if (rc == TP_OK) {
                                assert_true(n > 1); /* the first allocation did fail */
                                assert_non_null(r);
                                switch (which) {
                                case 0:
                                        tp_engine_funnel_free(r);
                                        break;
                                case 1:
                                        tp_engine_paths_free(r);
                                        break;
                                case 2:
                                        tp_engine_explorer_free(r);
                                        break;
                                case 3:
                                        tp_engine_next_free(r);
                                        break;
                                case 4:
                                        tp_engine_next_accuracy_free(r);
                                        break;
                                default:
                                        tp_engine_standing_free(r);
                                        break;
                                }
                                break;
                        }
                        assert_int_equal(rc, TP_NOMEM);
                        assert_null(r);
                        if (n > 1000)
                                fail_msg("no end to the allocation-failure loop");
                }
        }
        tp_engine_free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_funnel),
                cmocka_unit_test(test_funnel_invalid),
                cmocka_unit_test(test_standing),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_explorer),
                cmocka_unit_test(test_next),
                cmocka_unit_test(test_next_matches_transitions),
                cmocka_unit_test(test_accuracy),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_budget),
                cmocka_unit_test(test_alloc_failures),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
