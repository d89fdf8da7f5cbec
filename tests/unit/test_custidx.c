/* SPDX-License-Identifier: MIT */
/*
 * test_custidx.c -- customer timelines from the in-memory customer index over a
 * real file store: (time, kind, seq) order with equal timestamps, paging with
 * the cursor, reading one's own writes from another handle, many customers, and
 * allocation failures during catch-up that must not lose rows.
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "service/custidx.h"
#include "store/store.h"

typedef struct fx {
        char dir[64], path[128], url[160];
        tp_store *w; /* writes */
        tp_store *r; /* the index's own handle */
        tp_custidx *ci;
        int64_t tp;
} fx;

static tp_touchpoint mk_tp(const char *key) {
        tp_touchpoint t = { 0 };

        t.key = key;
        t.stage = "s";
        t.channel = "web";
        t.expected_csat = t.expected_nps = t.expected_ces = NAN;
        t.active = 1;
        return t;
}

static int first_id(void *arg, const tp_touchpoint *t) {
        *(int64_t *) arg = t->id;
        return 1;
}

static int setup(void **state) {
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };
        tp_touchpoint t = mk_tp("website");

        assert_non_null(f);
        tp_alloc_fail_after(0);
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/tp-custidx-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        assert_int_equal(tp_store_open(f->url, 0, &f->w, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->w, NULL, &err), TP_OK);
        assert_int_equal(tp_store_journey_put(f->w, "j", "{}", &t, 1, &err), TP_OK);
        assert_int_equal(tp_store_touchpoint_list(f->w, first_id, &f->tp, &err), TP_OK);
        assert_int_equal(tp_store_open(f->url, 0, &f->r, &err), TP_OK);
        assert_int_equal(tp_custidx_new(f->r, &f->ci, &err), TP_OK);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fx *f = *state;
        char p[200];

        tp_custidx_free(f->ci);
        tp_store_close(f->r);
        tp_store_close(f->w);
        (void) unlink(f->path);
        (void) snprintf(p, sizeof(p), "%s-wal", f->path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", f->path);
        (void) unlink(p);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static void put_ev(fx *f, const char *id, const char *customer, int64_t ts) {
        tp_event e = { .id = id, .customer = customer, .touchpoint = f->tp, .type = "view", .ts = ts };
        tp_err err = { 0 };
        int dup = -1;

        assert_int_equal(tp_store_begin(f->w, &err), TP_OK);
        assert_int_equal(tp_store_event_put(f->w, &e, &dup, &err), TP_OK);
        assert_int_equal(dup, 0);
        assert_int_equal(tp_store_commit(f->w, &err), TP_OK);
}

static void put_rs(fx *f, const char *id, const char *customer, int64_t ts, int score) {
        tp_response r = { .id = id,
                          .customer = customer,
                          .touchpoint = f->tp,
                          .metric = TP_METRIC_CSAT,
                          .score = score,
                          .ts = ts };
        tp_err err = { 0 };
        int dup = -1;

        assert_int_equal(tp_store_begin(f->w, &err), TP_OK);
        assert_int_equal(tp_store_response_put(f->w, &r, &dup, &err), TP_OK);
        assert_int_equal(dup, 0);
        assert_int_equal(tp_store_commit(f->w, &err), TP_OK);
}

/* Events e1..e5 get seq 1..5, responses r1..r3 seq 1..3. */
static void fill(fx *f) {
        put_ev(f, "e1", "c1", 100);
        put_rs(f, "r1", "c1", 100, 1);
        put_ev(f, "e2", "c1", 100);
        put_ev(f, "e3", "c1", 50);
        put_rs(f, "r2", "c1", 200, 2);
        put_ev(f, "e4", "c2", 100);
        put_ev(f, "e5", "c1", 200);
        put_rs(f, "r3", NULL, 100, 3); /* anonymous: in no timeline */
}

typedef struct tl_seen {
        int n;
        char id[64][16];
        char customer[64][16];
        int is_response[64];
        int64_t seq[64], ts[64];
        int score[64];
} tl_seen;

static int collect(void *arg, const tp_timeline_row *row) {
        tl_seen *c = arg;

        if (c->n < 64) {
                const char *id = row->is_response ? row->u.resp.id : row->u.ev.id;
                const char *cu = row->is_response ? row->u.resp.customer : row->u.ev.customer;
                (void) snprintf(c->id[c->n], 16, "%s", id);
                (void) snprintf(c->customer[c->n], 16, "%s", cu ? cu : "(null)");
                c->is_response[c->n] = row->is_response;
                c->seq[c->n] = row->seq;
                c->ts[c->n] = row->is_response ? row->u.resp.ts : row->u.ev.ts;
                c->score[c->n] = row->is_response ? row->u.resp.score : 0;
        }
        c->n++;
        return 0;
}

static tl_seen timeline(fx *f, const char *customer, int64_t ts, int kind, int64_t seq, int limit) {
        tl_seen tl;
        tp_err err = { 0 };
        int n = -1;

        memset(&tl, 0, sizeof(tl));
        if (tp_custidx_timeline(f->ci, customer, ts, kind, seq, limit, NULL, NULL, collect, &tl, &n, &err) != TP_OK)
                fail_msg("timeline: %s", err.msg);
        assert_int_equal(n, tl.n);
        return tl;
}

static const char *const c1_order[] = { "e3", "e1", "e2", "r1", "e5", "r2" };

static void test_order(void **state) {
        fx *f = *state;
        tl_seen tl;

        fill(f);
        tl = timeline(f, "c1", INT64_MIN, 0, 0, 100);
        assert_int_equal(tl.n, 6);
        for (int i = 0; i < 6; i++) {
                assert_string_equal(tl.id[i], c1_order[i]);
                assert_string_equal(tl.customer[i], "c1");
        }
        /* Equal seconds: events before responses, then by sequence number. */
        assert_int_equal(tl.ts[1], 100);
        assert_int_equal(tl.seq[1], 1);
        assert_int_equal(tl.seq[2], 2);
        assert_int_equal(tl.is_response[3], 1);
        assert_int_equal(tl.seq[3], 1);
        assert_int_equal(tl.score[3], 1);
        assert_int_equal(tl.score[5], 2);

        tl = timeline(f, "c2", INT64_MIN, 0, 0, 100);
        assert_int_equal(tl.n, 1);
        assert_string_equal(tl.id[0], "e4");
}

static void test_unknown_customer(void **state) {
        fx *f = *state;
        tl_seen tl;

        tl = timeline(f, "nobody", INT64_MIN, 0, 0, 10); /* empty index */
        assert_int_equal(tl.n, 0);
        fill(f);
        tl = timeline(f, "nobody", INT64_MIN, 0, 0, 10);
        assert_int_equal(tl.n, 0);
        tl = timeline(f, "c1", 200, 1, 2, 10); /* after the last row */
        assert_int_equal(tl.n, 0);
}

static void test_paging(void **state) {
        fx *f = *state;
        int64_t ts = INT64_MIN, seq = 0;
        int kind = 0, total = 0, pages = 0;
        tl_seen tl;

        fill(f);
        for (;;) {
                tl = timeline(f, "c1", ts, kind, seq, 2);
                if (tl.n == 0)
                        break;
                assert_true(tl.n <= 2);
                for (int i = 0; i < tl.n; i++) {
                        assert_true(total < 6);
                        assert_string_equal(tl.id[i], c1_order[total]);
                        total++;
                }
                ts = tl.ts[tl.n - 1];
                kind = tl.is_response[tl.n - 1];
                seq = tl.seq[tl.n - 1];
                assert_true(++pages <= 3);
        }
        assert_int_equal(total, 6);
        assert_int_equal(pages, 3);

        /* Cursors inside one second. */
        tl = timeline(f, "c1", 100, 0, 1, 10); /* after e1 */
        assert_int_equal(tl.n, 4);
        assert_string_equal(tl.id[0], "e2");
        assert_string_equal(tl.id[1], "r1");
        tl = timeline(f, "c1", 100, 1, 1, 10); /* after r1 */
        assert_int_equal(tl.n, 2);
        assert_string_equal(tl.id[0], "e5");
        tl = timeline(f, "c1", 100, 0, 2, 1); /* after e2, one row */
        assert_int_equal(tl.n, 1);
        assert_string_equal(tl.id[0], "r1");
}

static void test_reads_own_writes(void **state) {
        fx *f = *state;
        tl_seen tl;
        tp_err err = { 0 };
        uint64_t custs = 0, rows = 0;

        fill(f);
        tl = timeline(f, "c1", INT64_MIN, 0, 0, 100);
        assert_int_equal(tl.n, 6);
        /* Written through another handle after the index caught up. */
        put_ev(f, "e6", "c1", 150);
        put_rs(f, "r4", "c3", 10, 5);
        tl = timeline(f, "c1", INT64_MIN, 0, 0, 100);
        assert_int_equal(tl.n, 7);
        assert_string_equal(tl.id[4], "e6");
        tl = timeline(f, "c3", INT64_MIN, 0, 0, 100);
        assert_int_equal(tl.n, 1);
        assert_string_equal(tl.id[0], "r4");

        assert_int_equal(tp_custidx_catch_up(f->ci, &err), TP_OK); /* nothing new: harmless */
        tp_custidx_size(f->ci, &custs, &rows);
        assert_int_equal(custs, 3);
        assert_int_equal(rows, 9); /* the anonymous response is not indexed */
}

static void test_many_customers(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        uint64_t custs = 0, rows = 0;
        char id[32], cu[32];
        int dup;

        /* Past the first table of 1024 slots (grown at half full). */
        assert_int_equal(tp_store_begin(f->w, &err), TP_OK);
        for (int i = 0; i < 1500; i++) {
                (void) snprintf(id, sizeof(id), "m%d", i);
                (void) snprintf(cu, sizeof(cu), "cust-%d", i % 700);
                tp_event e = { .id = id, .customer = cu, .touchpoint = f->tp, .type = "view", .ts = 1000 + i };
                assert_int_equal(tp_store_event_put(f->w, &e, &dup, &err), TP_OK);
        }
        assert_int_equal(tp_store_commit(f->w, &err), TP_OK);
        assert_int_equal(tp_custidx_catch_up(f->ci, &err), TP_OK);
        tp_custidx_size(f->ci, &custs, &rows);
        assert_int_equal(custs, 700);
        assert_int_equal(rows, 1500);
        for (int c = 0; c < 700; c += 37) {
                tl_seen tl;
                (void) snprintf(cu, sizeof(cu), "cust-%d", c);
                tl = timeline(f, cu, INT64_MIN, 0, 0, 10);
                assert_int_equal(tl.n, c < 100 ? 3 : 2); /* i = c, c + 700, c + 1400 */
                for (int i = 1; i < tl.n; i++)
                        assert_true(tl.ts[i] > tl.ts[i - 1]);
        }
}

static void test_oom_catch_up_loses_nothing(void **state) {
        fx *f = *state;
        long n;

        fill(f);
        for (n = 1; n < 10000; n++) {
                tp_custidx *ci = NULL;
                tp_err err = { 0 };
                tp_rc rc;
                tl_seen tl;

                assert_int_equal(tp_custidx_new(f->r, &ci, &err), TP_OK);
                tp_alloc_fail_after(n);
                rc = tp_custidx_catch_up(ci, &err);
                tp_alloc_fail_after(0);
                if (rc != TP_OK && rc != TP_NOMEM)
                        fail_msg("allocation %ld failing gave %s: %s", n, tp_rc_code(rc), err.msg);
                /* Whatever failed, the next catch-up completes the index. */
                tp_custidx *saved = f->ci;
                f->ci = ci;
                tl = timeline(f, "c1", INT64_MIN, 0, 0, 100);
                f->ci = saved;
                assert_int_equal(tl.n, 6);
                for (int i = 0; i < 6; i++)
                        assert_string_equal(tl.id[i], c1_order[i]);
                tp_custidx_free(ci);
                if (rc == TP_OK)
                        break;
        }
        assert_true(n > 3);
        assert_true(n < 10000);
}

static void test_oom_timeline(void **state) {
        fx *f = *state;
        long n;

        fill(f);
        for (n = 1; n < 10000; n++) {
                tl_seen tl;
                tp_err err = { 0 };
                int got = -7;
                tp_rc rc;

                memset(&tl, 0, sizeof(tl));
                tp_alloc_fail_after(n);
                rc = tp_custidx_timeline(f->ci, "c1", INT64_MIN, 0, 0, 100, NULL, NULL, collect, &tl, &got, &err);
                tp_alloc_fail_after(0);
                if (rc == TP_OK) {
                        assert_int_equal(got, 6);
                        break;
                }
                if (rc != TP_NOMEM)
                        fail_msg("allocation %ld failing gave %s: %s", n, tp_rc_code(rc), err.msg);
                assert_int_equal(got, -7); /* untouched */
        }
        assert_true(n > 1);
        assert_int_equal(timeline(f, "c1", INT64_MIN, 0, 0, 100).n, 6);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_order),          T(test_unknown_customer),
                T(test_paging),         T(test_reads_own_writes),
                T(test_many_customers), T(test_oom_catch_up_loses_nothing),
                T(test_oom_timeline),
        };

        tp_json_global_init();
        return cmocka_run_group_tests_name("custidx", tests, NULL, NULL);
}
