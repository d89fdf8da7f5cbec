/* SPDX-License-Identifier: MIT */
/*
 * test_snapshot.c -- the engine's snapshot file (engine_snap.c) and its
 * identity in the store (service/snapshot.c):
 *
 *   - save -> load into a fresh engine answers every query exactly as the
 *     original (scores by every group and bucket, both strategies,
 *     transitions, last touch, every attribution model, funnel, standing,
 *     paths, explorer, next touchpoint, accuracy), on random data with late
 *     events and events still in the delta at save; then the same rows added
 *     to both, in order and late, and everything compared again (the rebuilt
 *     per-customer state is right);
 *   - corruption: every byte flipped in turn, truncation at every length,
 *     foreign magic, version, byte order, huge sizes, forged contents with
 *     valid checksums; each a clear error with the engine left empty and
 *     usable; allocation failures at every step of a load;
 *   - identity: another store, another generation, another tail, a store
 *     restored from an older copy (and grown again), a non-empty engine;
 *   - with a real SQLite store: snapshot + tail load equals a full load;
 *   - save: an unwritable path, a concurrent saver of the same file.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "engine/engine.h"
#include "service/journey.h"
#include "service/snapshot.h"
#include "store/store.h"

/* Header offsets (engine_snap.c, struct snap_hdr). */
#define H_VERSION 8
#define H_BOM 12
#define H_LAYOUT 16
#define H_STORE 40
#define H_GENERATION 72
#define H_NEVENTS 128
#define H_NRESP 152
#define H_NAMES_LEN 160
#define H_NCUST 184
#define H_NTP 188
#define H_NSEALED 208
#define H_NRBLOCKS 220
#define H_BODY_SUM 224
#define H_HDR_SUM 256
#define H_SIZE 288

#define NCH 4
static const char *const CH[NCH] = { "web", "mobile_app", "email", "store" };
#define NTYPE 4
static const char *const TYPES[NTYPE] = { "purchase", "view", "click", "visit" };
#define NTHEME 5
static const char *const THEMES[NTHEME] = { "price", "staff,price", "delivery", "staff", "wait,delivery,price" };
#define T0 1700000000

static char dir[64];

static void path_in(char *buf, size_t n, const char *name) {
        (void) snprintf(buf, n, "%s/%s", dir, name);
}

static int setup(void **state) {
        (void) state;
        (void) snprintf(dir, sizeof(dir), "/tmp/tp-snap-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];

        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static uint64_t rng;

static uint32_t rndn(uint32_t n) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (uint32_t) (rng % n);
}

static tp_engine *mk(uint32_t delta_min) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_err err = { 0 };

        tp_engine_opts_init(&o);
        o.delta_min = delta_min;
        o.scan_threads = 1;
        if (tp_engine_new(&o, &e, &err) != TP_OK)
                fail_msg("tp_engine_new: %s", err.msg);
        return e;
}

/* A store identity without a store: no tail check unless set. */
static tp_engine_snap_id id_of(unsigned char fill) {
        tp_engine_snap_id id;

        memset(&id, 0, sizeof(id));
        memset(id.store, fill, sizeof(id.store));
        return id;
}

/* ---- random rows, fed to several engines ---------------------------------- */

typedef struct gen {
        int64_t eseq, rseq;
        int ncust, ntp;
} gen;

static int64_t tp_id(int k) {
        return 100 + 7 * k;
}

/* One random event (late with probability 1/8) and, every third, a response;
 * the same row to each engine of es. */
static void add_rows(gen *g, tp_engine **es, int nes, int n) {
        for (int i = 0; i < n; i++) {
                char cust[32];
                int c = (int) rndn((uint32_t) g->ncust), type = (int) rndn(NTYPE);
                int64_t ts = T0 + (int64_t) g->eseq * 600 + (int64_t) rndn(3600);
                tp_event ev;

                if (rndn(8) == 0)
                        ts -= (int64_t) rndn(90) * 86400; /* late: before the customer's latest */
                (void) snprintf(cust, sizeof(cust), "customer-%d", c);
                ev = (tp_event){ .id = "x",
                                 .customer = rndn(20) ? cust : NULL,
                                 .touchpoint = tp_id((int) rndn((uint32_t) g->ntp)),
                                 .channel = rndn(5) ? CH[rndn(NCH)] : NULL,
                                 .type = TYPES[type],
                                 .ts = ts,
                                 .has_value = type == 0 || rndn(10) == 0,
                                 .value = 1000 + rndn(100000) };
                g->eseq++;
                for (int k = 0; k < nes; k++) {
                        tp_err err = { 0 };

                        if (tp_engine_add_event(es[k], g->eseq, &ev, &err) != TP_OK)
                                fail_msg("add_event: %s", err.msg);
                }
                if (i % 3 == 0) {
                        tp_metric m = (tp_metric) rndn(_TP_METRIC_MAX);
                        static const int lo[] = { 0, 1, 1, 0, 1, 1 }, hi[] = { 10, 5, 7, 2, 7, 5 };
                        tp_response r = { .id = "r",
                                          .customer = rndn(6) ? cust : NULL,
                                          .touchpoint = tp_id((int) rndn((uint32_t) g->ntp)),
                                          .channel = rndn(4) ? CH[rndn(NCH)] : NULL,
                                          .metric = m,
                                          .score = lo[m] + (int) rndn((uint32_t) (hi[m] - lo[m] + 1)),
                                          .ts = ts - (int64_t) rndn(86400),
                                          .sentiment = (int) rndn(4),
                                          .themes = rndn(3) ? THEMES[rndn(NTHEME)] : NULL };

                        g->rseq++;
                        for (int k = 0; k < nes; k++) {
                                tp_err err = { 0 };

                                if (tp_engine_add_response(es[k], g->rseq, &r, &err) != TP_OK)
                                        fail_msg("add_response: %s", err.msg);
                        }
                }
        }
}

/* ---- every query on two engines -------------------------------------------- */

static void same_json(json_t *a, json_t *b, const char *what) {
        if (!a || !b)
                fail_msg("%s: no JSON", what);
        if (!json_equal(a, b)) {
                char *x = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT),
                     *y = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);

                fprintf(stderr,
                        "%s differs:\n  original %.2000s\n  loaded   %.2000s\n",
                        what,
                        x ? x : "?",
                        y ? y : "?");
                free(x);
                free(y);
                fail_msg("%s differs", what);
        }
        json_decref(a);
        json_decref(b);
}

static int stage_of(void *arg, int64_t tp) {
        (void) arg;
        return tp % 4 == 3 ? -1 : (int) (tp % 3);
}

static json_t *scores_json(
        tp_engine *e, tp_engine_group g, tp_engine_bucket b, tp_engine_strategy s, int64_t from, int64_t to) {
        tp_engine_scores_query q;
        tp_engine_scores *r = NULL;
        tp_err err = { 0 };
        json_t *j;

        tp_engine_scores_query_init(&q);
        q.group = g;
        q.bucket = b;
        q.strategy = s;
        q.from = from;
        q.to = to;
        q.stage_fn = stage_of;
        q.nstages = 3;
        if (tp_engine_scores_run(e, &q, &r, &err) != TP_OK)
                fail_msg("scores: %s", err.msg);
        j = tp_engine_scores_json(r, NULL, NULL);
        tp_engine_scores_free(r);
        return j;
}

static json_t *
        paths_json(tp_engine *e, int which, tp_engine_strategy s, int64_t from, int64_t to, int64_t lookback) {
        tp_engine_path_query q;
        tp_err err = { 0 };
        json_t *j = NULL;

        tp_engine_path_query_init(&q);
        q.strategy = s;
        q.from = from;
        q.to = to;
        q.lookback = lookback;
        if (which == 0) {
                tp_engine_transitions *r = NULL;

                if (tp_engine_transitions_run(e, &q, &r, &err) != TP_OK)
                        fail_msg("transitions: %s", err.msg);
                j = tp_engine_transitions_json(r, NULL, NULL);
                tp_engine_transitions_free(r);
        } else {
                tp_engine_last_touch *r = NULL;

                if (tp_engine_last_touch_run(e, &q, &r, &err) != TP_OK)
                        fail_msg("last touch: %s", err.msg);
                j = tp_engine_last_touch_json(r, NULL, NULL);
                tp_engine_last_touch_free(r);
        }
        return j;
}

static json_t *attrib_json(tp_engine *e, tp_attrib_model m, int64_t from, int64_t to) {
        tp_engine_path_query q;
        tp_attrib_result *r = NULL;
        tp_err err = { 0 };
        json_t *j = json_object(), *rows = json_array();

        tp_engine_path_query_init(&q);
        q.from = from;
        q.to = to;
        if (tp_engine_attribution_run(e, &q, m, NULL, &r, &err) != TP_OK) {
                json_decref(rows);
                json_object_set_new(j, "error", json_string(err.msg));
                return j;
        }
        for (size_t i = 0; i < r->n; i++)
                json_array_append_new(
                        rows,
                        json_pack(
                                "{s:I, s:f, s:f}",
                                "tp",
                                (json_int_t) r->touchpoints[i],
                                "c",
                                r->conversions[i],
                                "v",
                                r->value[i]));
        json_object_set_new(j, "rows", rows);
        json_object_set_new(j, "total", json_real(r->total_conversions));
        json_object_set_new(j, "value", json_real(r->total_value));
        json_object_set_new(j, "unattributed", json_real(r->unattributed_conversions));
        json_object_set_new(j, "nulls", json_real(r->total_nulls));
        tp_attrib_result_free(r);
        return j;
}

static json_t *journey_json(tp_engine *e, int which, int64_t from, int64_t to) {
        tp_engine_journey_query q;
        tp_err err = { 0 };
        json_t *j = NULL;
        tp_rc rc = TP_OK;

        tp_engine_journey_query_init(&q);
        q.from = from;
        q.to = to;
        q.stage_fn = stage_of;
        q.nstages = 3;
        q.start = tp_id(1);
        q.order = 1 + which % 2;
        q.prev = tp_id(2);
        q.last = tp_id(3);
        q.split = T0 + 2000 * 600;
        switch (which) {
        case 0: {
                tp_engine_funnel *r = NULL;

                if ((rc = tp_engine_funnel_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_funnel_json(r);
                tp_engine_funnel_free(r);
                break;
        }
        case 1: {
                tp_engine_standing *r = NULL;

                if ((rc = tp_engine_standing_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_standing_json(r);
                tp_engine_standing_free(r);
                break;
        }
        case 2: {
                tp_engine_paths *r = NULL;

                if ((rc = tp_engine_paths_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_paths_json(r, NULL, NULL);
                tp_engine_paths_free(r);
                break;
        }
        case 3: {
                tp_engine_explorer *r = NULL;

                if ((rc = tp_engine_explorer_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_explorer_json(r, NULL, NULL);
                tp_engine_explorer_free(r);
                break;
        }
        case 4:
        case 5: {
                tp_engine_next *r = NULL;

                if (which == 5)
                        q.customer = "customer-3";
                if ((rc = tp_engine_next_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_next_json(r, NULL, NULL);
                tp_engine_next_free(r);
                break;
        }
        default: {
                tp_engine_next_accuracy *r = NULL;

                if ((rc = tp_engine_next_accuracy_run(e, &q, &r, &err)) == TP_OK)
                        j = tp_engine_next_accuracy_json(r);
                tp_engine_next_accuracy_free(r);
                break;
        }
        }
        if (rc != TP_OK)
                j = json_pack("{s:s, s:s}", "error", tp_rc_code(rc), "msg", err.msg);
        return j;
}

static json_t *counts_json(tp_engine *e) {
        tp_engine_mem m;
        int64_t es = 0, rs = 0;

        tp_engine_memory(e, &m);
        tp_engine_last_seq(e, &es, &rs);
        return json_pack(
                "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                "events",
                (json_int_t) m.events,
                "anonymous",
                (json_int_t) m.anonymous,
                "responses",
                (json_int_t) m.responses,
                "refused",
                (json_int_t) m.refused,
                "customers",
                (json_int_t) m.customers,
                "touchpoints",
                (json_int_t) m.touchpoints,
                "eseq",
                (json_int_t) es,
                "rseq",
                (json_int_t) rs);
}

/* Every question, open and over a range that cuts days and customers. */
static void same_answers(tp_engine *a, tp_engine *b, int64_t span) {
        const int64_t from[2] = { INT64_MIN, T0 + span / 3 + 4321 },
                      to[2] = { INT64_MAX, T0 + 2 * span / 3 + 777 };
        char what[96];

        same_json(counts_json(a), counts_json(b), "counts");
        for (int r = 0; r < 2; r++) {
                for (int g = TP_ENGINE_GROUP_NONE; g <= TP_ENGINE_GROUP_THEME; g++) {
                        for (int bk = TP_ENGINE_BUCKET_NONE; bk <= TP_ENGINE_BUCKET_MONTH; bk++) {
                                for (int s = 0; s < 2; s++) {
                                        (void) snprintf(
                                                what,
                                                sizeof(what),
                                                "scores group %d bucket %d strategy %d range %d",
                                                g,
                                                bk,
                                                s,
                                                r);
                                        same_json(
                                                scores_json(
                                                        a,
                                                        (tp_engine_group) g,
                                                        (tp_engine_bucket) bk,
                                                        (tp_engine_strategy) s,
                                                        from[r],
                                                        to[r]),
                                                scores_json(
                                                        b,
                                                        (tp_engine_group) g,
                                                        (tp_engine_bucket) bk,
                                                        (tp_engine_strategy) s,
                                                        from[r],
                                                        to[r]),
                                                what);
                                }
                        }
                }
                for (int w = 0; w < 2; w++) {
                        for (int s = 0; s < 2; s++) {
                                (void) snprintf(
                                        what,
                                        sizeof(what),
                                        "%s strategy %d range %d",
                                        w ? "last touch" : "transitions",
                                        s,
                                        r);
                                same_json(
                                        paths_json(a, w, (tp_engine_strategy) s, from[r], to[r], 0),
                                        paths_json(b, w, (tp_engine_strategy) s, from[r], to[r], 0),
                                        what);
                        }
                }
                same_json(
                        paths_json(a, 1, TP_ENGINE_AUTO, from[r], to[r], 7 * 86400),
                        paths_json(b, 1, TP_ENGINE_AUTO, from[r], to[r], 7 * 86400),
                        "last touch, look-back");
                for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                        (void) snprintf(what, sizeof(what), "attribution model %d range %d", m, r);
                        same_json(
                                attrib_json(a, (tp_attrib_model) m, from[r], to[r]),
                                attrib_json(b, (tp_attrib_model) m, from[r], to[r]),
                                what);
                }
                for (int w = 0; w < 7; w++) {
                        (void) snprintf(what, sizeof(what), "journey question %d range %d", w, r);
                        same_json(journey_json(a, w, from[r], to[r]), journey_json(b, w, from[r], to[r]), what);
                }
        }
}

static void save(tp_engine *e, const char *path, const tp_engine_snap_id *id) {
        tp_err err = { 0 };

        if (tp_engine_snapshot_save(e, path, id, &err) != TP_OK)
                fail_msg("save: %s", err.msg);
}

static tp_engine *load(const char *path, const tp_engine_snap_id *id) {
        tp_engine *e = mk(1u << 20);
        tp_err err = { 0 };

        if (tp_engine_snapshot_load(e, path, id, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        return e;
}

/* ---- round trip ------------------------------------------------------------ */

static void round_trip(uint64_t seed, int ncust, int ntp, int n1, int n2) {
        gen g = { .ncust = ncust, .ntp = ntp };
        tp_engine *a = mk(256), *b = NULL, *both[2];
        tp_engine_snap_id id = id_of(7);
        tp_engine_snap_info info;
        tp_engine_mem m;
        tp_err err = { 0 };
        char path[128];

        rng = seed;
        path_in(path, sizeof(path), "round.snapshot");
        add_rows(&g, &a, 1, n1);
        tp_engine_memory(a, &m);
        if (n1 > 2000)
                assert_true(m.event_delta > 0); /* some events are still in the delta */
        save(a, path, &id);
        assert_int_equal(tp_engine_snapshot_info(path, &info, &err), TP_OK);
        assert_int_equal(info.event_seq, g.eseq);
        assert_int_equal(info.response_seq, g.rseq);
        assert_int_equal(info.events + info.anonymous, (uint64_t) g.eseq);
        assert_int_equal(info.responses, (uint64_t) g.rseq);
        b = load(path, &id);
        {
                json_t *j = attrib_json(a, TP_ATTRIB_SHAPLEY, INT64_MIN, INT64_MAX);

                assert_null(json_object_get(j, "error"));
                assert_true(json_array_size(json_object_get(j, "rows")) > 0);
                json_decref(j);
        }
        same_answers(a, b, (int64_t) g.eseq * 600);
        /* More rows to both, in order and late, new customers too: the
         * rebuilt per-customer state and rollups must go on like the original. */
        g.ncust += 50;
        both[0] = a;
        both[1] = b;
        add_rows(&g, both, 2, n2);
        same_answers(a, b, (int64_t) g.eseq * 600);
        tp_engine_compact(a, NULL);
        same_answers(a, b, (int64_t) g.eseq * 600);
        tp_engine_free(a);
        tp_engine_free(b);
}

static void test_round_trip(void **state) {
        (void) state;
        round_trip(11, 300, 12, 6000, 1500);
        round_trip(12, 40, 5, 900, 900); /* everything in the delta at save */
        round_trip(13, 2000, 30, 9000, 300);
}

/* The rollups are rebuilt in the loading engine's zone, not the saver's:
 * a snapshot saved at UTC+7 loads into a UTC engine that answers like one fed
 * the rows directly at UTC. */
static void test_other_zone(void **state) {
        gen g = { .ncust = 80, .ntp = 8 };
        tp_engine_opts o;
        tp_engine *a = mk(256), *utc = NULL, *b = NULL, *both[2];
        tp_engine_snap_id id = id_of(9);
        tp_err err = { 0 };
        char path[128];

        (void) state;
        tp_engine_opts_init(&o);
        o.tz_offset = 0;
        o.scan_threads = 1;
        assert_int_equal(tp_engine_new(&o, &utc, &err), TP_OK);
        assert_int_equal(tp_engine_new(&o, &b, &err), TP_OK);
        both[0] = a;
        both[1] = utc;
        rng = 41;
        add_rows(&g, both, 2, 1500);
        path_in(path, sizeof(path), "zone.snapshot");
        save(a, path, &id);
        if (tp_engine_snapshot_load(b, path, &id, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        same_answers(utc, b, (int64_t) g.eseq * 600);
        tp_engine_free(a);
        tp_engine_free(utc);
        tp_engine_free(b);
}

/* An empty engine, and one with anonymous events and responses only. */
static void test_small_engines(void **state) {
        tp_engine *a = mk(256), *b;
        tp_engine_snap_id id = id_of(1);
        tp_event ev = { .id = "x", .customer = NULL, .touchpoint = 5, .type = "view", .ts = T0 };
        tp_response r = { .id = "r", .touchpoint = 6, .metric = TP_METRIC_CSAT, .score = 4, .ts = T0 };
        char path[128];

        (void) state;
        path_in(path, sizeof(path), "small.snapshot");
        save(a, path, &id);
        b = load(path, &id);
        same_answers(a, b, 86400);
        tp_engine_free(b);
        assert_int_equal(tp_engine_add_event(a, 1, &ev, NULL), TP_OK);
        assert_int_equal(tp_engine_add_response(a, 3, &r, NULL), TP_OK);
        save(a, path, &id);
        b = load(path, &id);
        same_answers(a, b, 86400);
        tp_engine_free(a);
        tp_engine_free(b);
}

/* ---- corruption ------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *ret_n) {
        FILE *f = fopen(path, "rb");
        unsigned char *p;
        long n;

        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n > 0);
        rewind(f);
        p = malloc((size_t) n);
        assert_non_null(p);
        assert_int_equal(fread(p, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        *ret_n = (size_t) n;
        return p;
}

static void spit(const char *path, const void *p, size_t n) {
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
}

/* Recompute both checksums, as a forger would. */
static void reseal(unsigned char *p, size_t n) {
        crypto_generichash(p + H_BODY_SUM, 32, p + H_SIZE, n - H_SIZE, NULL, 0);
        crypto_generichash(p + H_HDR_SUM, 32, p, H_HDR_SUM, NULL, 0);
}

/* The engine is empty and takes rows and queries. */
static void still_empty_and_usable(tp_engine *e) {
        tp_engine_mem m;
        int64_t es = -1, rs = -1;
        tp_event ev = { .id = "x", .customer = "c", .touchpoint = 5, .type = "view", .ts = T0 };
        json_t *j;

        tp_engine_memory(e, &m);
        tp_engine_last_seq(e, &es, &rs);
        assert_int_equal(m.events + m.anonymous + m.responses + m.customers + m.touchpoints, 0);
        assert_int_equal(es, 0);
        assert_int_equal(rs, 0);
        assert_int_equal(tp_engine_add_event(e, 1, &ev, NULL), TP_OK);
        j = paths_json(e, 0, TP_ENGINE_AUTO, INT64_MIN, INT64_MAX, 0);
        assert_non_null(j);
        json_decref(j);
}

/* Load buf (n bytes) written to a file: the result code; on failure the
 * engine must be empty and usable, and the message non-empty. */
static tp_rc try_load(const unsigned char *buf, size_t n, const tp_engine_snap_id *id, tp_err *err) {
        char path[128];
        tp_engine *e = mk(1u << 20);
        tp_rc rc;

        path_in(path, sizeof(path), "bad.snapshot");
        spit(path, buf, n);
        memset(err, 0, sizeof(*err));
        rc = tp_engine_snapshot_load(e, path, id, err);
        if (rc != TP_OK) {
                assert_true(err->msg[0] != '\0');
                still_empty_and_usable(e);
        } else {
                /* A forged file that passed every check: it must still be
                 * a sound engine (ASan watches the queries). */
                json_decref(paths_json(e, 0, TP_ENGINE_SCAN, INT64_MIN, INT64_MAX, 0));
                json_decref(paths_json(e, 1, TP_ENGINE_AUTO, INT64_MIN, INT64_MAX, 0));
                json_decref(scores_json(
                        e, TP_ENGINE_GROUP_THEME, TP_ENGINE_BUCKET_DAY, TP_ENGINE_SCAN, INT64_MIN, INT64_MAX));
                json_decref(journey_json(e, 2, INT64_MIN, INT64_MAX));
                json_decref(attrib_json(e, TP_ATTRIB_LINEAR, INT64_MIN, INT64_MAX));
        }
        tp_engine_free(e);
        return rc;
}

static unsigned char *good_file(const tp_engine_snap_id *id, size_t *ret_n, uint64_t seed) {
        gen g = { .ncust = 60, .ntp = 6 };
        tp_engine *a = mk(64);
        char path[128];

        rng = seed;
        add_rows(&g, &a, 1, 500);
        path_in(path, sizeof(path), "good.snapshot");
        save(a, path, id);
        tp_engine_free(a);
        return slurp(path, ret_n);
}

static void test_flipped_bytes(void **state) {
        tp_engine_snap_id id = id_of(3);
        size_t n = 0, step;
        unsigned char *p = good_file(&id, &n, 21);
        tp_err err;

        (void) state;
        assert_int_equal(try_load(p, n, &id, &err), TP_OK);
        /* Every header byte, then body bytes spread over the file. */
        step = n / 1500 + 1;
        for (size_t i = 0; i < n; i += i < H_SIZE ? 1 : step) {
                p[i] ^= 0x5a;
                if (try_load(p, n, &id, &err) != TP_CORRUPT)
                        fail_msg("byte %zu flipped: %s", i, err.msg);
                p[i] ^= 0x5a;
        }
        free(p);
}

static void test_truncated(void **state) {
        tp_engine_snap_id id = id_of(3);
        size_t n = 0;
        unsigned char *p = good_file(&id, &n, 22);
        tp_err err;

        (void) state;
        for (size_t len = 0; len < n; len += len < H_SIZE + 64 ? 1 : 97)
                if (try_load(p, len, &id, &err) != TP_CORRUPT)
                        fail_msg("truncated to %zu: %s", len, err.msg);
        /* One byte too many. */
        {
                unsigned char *q = malloc(n + 1);

                assert_non_null(q);
                memcpy(q, p, n);
                q[n] = 0;
                assert_int_equal(try_load(q, n + 1, &id, &err), TP_CORRUPT);
                assert_non_null(strstr(err.msg, "bytes"));
                free(q);
        }
        free(p);
}

static void put32(unsigned char *p, size_t off, uint32_t v) {
        memcpy(p + off, &v, sizeof(v));
}

static void put64(unsigned char *p, size_t off, uint64_t v) {
        memcpy(p + off, &v, sizeof(v));
}

/* Header fields changed with valid checksums: each refused with its reason. */
static void test_foreign_headers(void **state) {
        tp_engine_snap_id id = id_of(3);
        size_t n = 0;
        unsigned char *p = good_file(&id, &n, 23), *q = malloc(n);
        tp_err err;
        static const struct {
                size_t off;
                int wide;
                uint64_t v;
                const char *says;
        } cases[] = {
                { H_VERSION, 0, 2, "version" },
                { H_BOM, 0, 0x04030201, "byte order" },
                { H_LAYOUT, 1, 12345, "layout" },
                { H_NSEALED, 0, 0xfffffff0u, "do not add up" },
                { H_NEVENTS, 1, UINT64_MAX, "do not add up" },
                { H_NRESP, 1, (uint64_t) 1 << 40, "do not add up" },
                { H_NRBLOCKS, 0, 0xffffffffu, "do not add up" },
                { H_NAMES_LEN, 1, (uint64_t) 1 << 62, "do not add up" },
                { H_NCUST, 0, 0xffffffffu, "do not add up" },
                { H_NTP, 0, 5000, "do not add up" },
        };

        (void) state;
        assert_non_null(q);
        memcpy(q, p, n);
        memcpy(q, "TPENGSNQ", 8);
        assert_int_equal(try_load(q, n, &id, &err), TP_CORRUPT);
        assert_non_null(strstr(err.msg, "not an engine snapshot"));
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                memcpy(q, p, n);
                if (cases[k].wide)
                        put64(q, cases[k].off, cases[k].v);
                else
                        put32(q, cases[k].off, (uint32_t) cases[k].v);
                reseal(q, n);
                if (try_load(q, n, &id, &err) != TP_CORRUPT || !strstr(err.msg, cases[k].says))
                        fail_msg("header field at %zu: '%s'", cases[k].off, err.msg);
        }
        free(q);
        free(p);
}

/* Body bytes changed with valid checksums (a forged file): never a crash, and
 * most are caught by the structural checks. */
static void test_forged_bodies(void **state) {
        tp_engine_snap_id id = id_of(3);
        size_t n = 0, caught = 0, tried = 0;
        unsigned char *p = good_file(&id, &n, 24);
        tp_err err;

        (void) state;
        for (size_t i = H_SIZE; i < n; i += 3) {
                static const unsigned char x[] = { 0x01, 0x80, 0xff };

                p[i] ^= x[i % 3];
                reseal(p, n);
                tried++;
                caught += try_load(p, n, &id, &err) == TP_CORRUPT;
                p[i] ^= x[i % 3];
        }
        reseal(p, n);
        assert_int_equal(try_load(p, n, &id, &err), TP_OK);
        /* Names, codes, offsets, counts are checked; times and values are
         * data.  Most flips land on something checked. */
        assert_true(caught > tried / 4);
        free(p);
}

static tp_rc flaky_tail(void *arg, int64_t eseq, int64_t rseq, unsigned char ret[32], tp_err *err) {
        int *mode = arg;

        (void) eseq;
        (void) rseq;
        if (*mode == 2)
                return tp_err_set(err, TP_NOTFOUND, "the store has no event with seq %lld", (long long) eseq);
        memset(ret, *mode ? 0xee : 0x11, 32);
        return TP_OK;
}

static void test_identity(void **state) {
        tp_engine_snap_id id = id_of(3), other = id_of(4);
        size_t n = 0;
        unsigned char *p = good_file(&id, &n, 25);
        int mode = 0;
        tp_err err;
        char path[128];
        tp_engine *e;

        (void) state;
        assert_int_equal(try_load(p, n, &other, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "another store"));
        other = id;
        other.generation = 1;
        assert_int_equal(try_load(p, n, &other, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "rewritten"));
        /* A tail check where there was none at save: the fingerprints differ. */
        other = id;
        other.tail_fn = flaky_tail;
        other.tail_arg = &mode;
        assert_int_equal(try_load(p, n, &other, &err), TP_CONFLICT);
        free(p);

        /* Saved with a tail fingerprint: the same one loads, another is refused,
         * a missing row is refused. */
        {
                gen g = { .ncust = 10, .ntp = 3 };
                tp_engine *a = mk(64);

                rng = 5;
                add_rows(&g, &a, 1, 50);
                path_in(path, sizeof(path), "tail.snapshot");
                save(a, path, &other);
                tp_engine_free(a);
        }
        e = load(path, &other);
        tp_engine_free(e);
        p = slurp(path, &n);
        mode = 1;
        assert_int_equal(try_load(p, n, &other, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "differ"));
        mode = 2;
        assert_int_equal(try_load(p, n, &other, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "no event with seq"));
        free(p);

        /* No file; a non-empty engine. */
        mode = 0;
        e = mk(64);
        path_in(path, sizeof(path), "missing.snapshot");
        assert_int_equal(tp_engine_snapshot_load(e, path, &other, &err), TP_NOTFOUND);
        path_in(path, sizeof(path), "tail.snapshot");
        {
                tp_event ev = { .id = "x", .customer = "c", .touchpoint = 5, .type = "view", .ts = T0 };

                assert_int_equal(tp_engine_add_event(e, 1, &ev, NULL), TP_OK);
        }
        assert_int_equal(tp_engine_snapshot_load(e, path, &other, &err), TP_INVALID);
        tp_engine_free(e);
}

/* Every allocation of a load fails in turn: TP_NOMEM, the engine empty and
 * usable, nothing leaked (ASan). */
static void test_load_oom(void **state) {
        tp_engine_snap_id id = id_of(3);
        size_t n = 0;
        unsigned char *p = good_file(&id, &n, 26);
        char path[128];
        int ok = 0;

        (void) state;
        path_in(path, sizeof(path), "oom.snapshot");
        spit(path, p, n);
        free(p);
        for (long k = 1; k < 100000 && !ok; k++) {
                tp_engine *e = mk(1u << 20);
                tp_err err = { 0 };
                tp_rc rc;

                tp_alloc_fail_after(k);
                rc = tp_engine_snapshot_load(e, path, &id, &err);
                tp_alloc_fail_after(0);
                if (rc == TP_OK) {
                        ok = 1;
                } else {
                        if (rc != TP_NOMEM)
                                fail_msg("allocation %ld failing: %s", k, err.msg);
                        still_empty_and_usable(e);
                }
                tp_engine_free(e);
        }
        assert_true(ok);
}

/* ---- save errors ------------------------------------------------------------ */

static void test_save_errors(void **state) {
        tp_engine *a = mk(64);
        tp_engine_snap_id id = id_of(3);
        tp_err err = { 0 };
        char path[128], tmp[140];
        struct stat st;
        int fd;

        (void) state;
        path_in(path, sizeof(path), "no/such/dir/x.snapshot");
        assert_int_equal(tp_engine_snapshot_save(a, path, &id, &err), TP_IO);
        assert_non_null(strstr(err.msg, "x.snapshot.tmp"));

        /* Another process holds path.tmp: refused, and its file is left alone. */
        path_in(path, sizeof(path), "busy.snapshot");
        (void) snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "partial", 7), 7);
        assert_int_equal(flock(fd, LOCK_EX), 0);
        if (fork() == 0) {
                /* A separate open file description, as another process has. */
                tp_engine *b = mk(64);
                tp_err e2 = { 0 };

                _exit(tp_engine_snapshot_save(b, path, &id, &e2) == TP_CONFLICT ? 0 : 1);
        }
        {
                int status = 0;

                assert_true(wait(&status) > 0);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        assert_int_equal(stat(tmp, &st), 0);
        assert_int_equal(st.st_size, 7);
        assert_int_not_equal(stat(path, &st), 0);
        close(fd);
        /* Once released, the stale tmp file is simply overwritten. */
        save(a, path, &id);
        assert_int_equal(stat(path, &st), 0);
        assert_int_not_equal(stat(tmp, &st), 0);
        tp_engine_free(a);
}

/* ---- with a real store ------------------------------------------------------ */

typedef struct fx {
        char path[160], url[180];
        tp_store *s;
        int64_t tps[4];
        int ntps;
        int64_t eseq, rseq;
} fx;

static int collect_tp(void *arg, const tp_touchpoint *t) {
        fx *f = arg;

        if (f->ntps < 4)
                f->tps[f->ntps++] = t->id;
        return 0;
}

static void fx_open(fx *f) {
        tp_err err = { 0 };

        if (tp_store_open(f->url, 0, &f->s, &err) != TP_OK || tp_store_migrate(f->s, NULL, &err) != TP_OK)
                fail_msg("store: %s", err.msg);
}

static void fx_new(fx *f, const char *name) {
        static const char doc_text[] =
                "{\"key\": \"shop\", \"name\": {\"vi\": \"C\", \"en\": \"Shop\"}, \"stages\": ["
                "{\"key\": \"before\", \"name\": {\"vi\": \"T\", \"en\": \"Before\"}, \"touchpoints\": ["
                "{\"key\": \"ads\", \"name\": {\"vi\": \"Q\", \"en\": \"Ads\"}, \"channel\": \"social\", \"department\": \"m\"},"
                "{\"key\": \"web\", \"name\": {\"vi\": \"W\", \"en\": \"Web\"}, \"channel\": \"web\", \"department\": \"m\"}]},"
                "{\"key\": \"during\", \"name\": {\"vi\": \"T\", \"en\": \"During\"}, \"touchpoints\": ["
                "{\"key\": \"store\", \"name\": {\"vi\": \"S\", \"en\": \"Store\"}, \"channel\": \"store\", \"department\": \"s\"},"
                "{\"key\": \"invoice\", \"name\": {\"vi\": \"H\", \"en\": \"Invoice\"}, \"channel\": \"email\", \"department\": \"s\"}]}]}";
        json_t *doc = NULL;
        tp_err err = { 0 };
        int ntps = 0;

        memset(f, 0, sizeof(*f));
        path_in(f->path, sizeof(f->path), name);
        (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        fx_open(f);
        assert_int_equal(tp_json_parse(doc_text, strlen(doc_text), 64, &doc, &err), TP_OK);
        if (tp_journey_apply(f->s, doc, NULL, &ntps, &err) != TP_OK)
                fail_msg("journey: %s", err.msg);
        json_decref(doc);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, f, &err), TP_OK);
        assert_int_equal(f->ntps, 4);
}

/* n events and n/2 responses with ids prefixed by tag (so that two stores'
 * rows under the same numbers differ), late ones included. */
static void fx_write(fx *f, const char *tag, int n) {
        tp_err err = { 0 };
        int dup = 0;

        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        for (int i = 0; i < n; i++) {
                char id[48], cust[32];
                int c = (int) rndn(30);
                tp_event ev;

                f->eseq++;
                (void) snprintf(id, sizeof(id), "%s-e%lld", tag, (long long) f->eseq);
                (void) snprintf(cust, sizeof(cust), "customer-%d", c);
                ev = (tp_event){ .id = id,
                                 .customer = cust,
                                 .touchpoint = f->tps[rndn(4)],
                                 .channel = CH[rndn(NCH)],
                                 .type = TYPES[rndn(NTYPE)],
                                 .ts = T0 + f->eseq * 100 - (rndn(6) ? 0 : 86400),
                                 .has_value = 1,
                                 .value = 500 };
                if (tp_store_event_put(f->s, &ev, &dup, &err) != TP_OK)
                        fail_msg("event_put: %s", err.msg);
                if (i % 2 == 0) {
                        tp_response r = { .id = id,
                                          .customer = cust,
                                          .touchpoint = f->tps[rndn(4)],
                                          .metric = TP_METRIC_NPS,
                                          .score = (int) rndn(11),
                                          .ts = ev.ts,
                                          .themes = THEMES[rndn(NTHEME)] };

                        f->rseq++;
                        if (tp_store_response_put(f->s, &r, &dup, &err) != TP_OK)
                                fail_msg("response_put: %s", err.msg);
                }
        }
        assert_int_equal(tp_store_commit(f->s, &err), TP_OK);
}

static tp_engine *full_load(fx *f) {
        tp_engine *e = mk(1u << 20);
        tp_err err = { 0 };

        if (tp_engine_load(e, f->s, &err) != TP_OK)
                fail_msg("load: %s", err.msg);
        return e;
}

static void copy_file(const char *from, const char *to) {
        size_t n = 0;
        unsigned char *p = slurp(from, &n);

        spit(to, p, n);
        free(p);
}

static void drop_wal(const char *path) {
        char p[200];

        (void) snprintf(p, sizeof(p), "%s-wal", path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", path);
        (void) unlink(p);
}

static void test_with_store(void **state) {
        fx f, g;
        tp_engine_snap_id id, id2;
        tp_engine *full, *warm;
        tp_err err = { 0 };
        char snap[160], old[200], line[512];
        int64_t es = 0, rs = 0;

        (void) state;
        rng = 31;
        fx_new(&f, "s.db");
        assert_int_equal(tp_snapshot_id(f.s, 0, &id, &err), TP_NOTFOUND);
        assert_int_equal(tp_snapshot_id(f.s, 1, &id, &err), TP_OK);
        fx_write(&f, "a", 300);
        /* An older copy of the store, with the same store id. */
        tp_store_close(f.s);
        (void) snprintf(old, sizeof(old), "%s.old", f.path);
        copy_file(f.path, old);
        fx_open(&f);
        fx_write(&f, "b", 300);

        full = full_load(&f);
        assert_int_equal(tp_snapshot_id(f.s, 0, &id, &err), TP_OK);
        assert_int_equal(tp_snapshot_default_path(f.url, snap, sizeof(snap)), 0);
        assert_non_null(strstr(snap, "s.db.snapshot"));
        save(full, snap, &id);
        tp_snapshot_describe(f.s, snap, line, sizeof(line));
        assert_non_null(strstr(line, "600 events, 300 responses (up to event seq 600, response seq 300)"));
        assert_non_null(strstr(line, "valid for this store"));

        /* Rows after the snapshot: the warm start reads only those. */
        fx_write(&f, "c", 200);
        tp_engine_free(full);
        full = full_load(&f);
        warm = load(snap, &id);
        tp_engine_last_seq(warm, &es, &rs);
        assert_int_equal(es, 600);
        assert_int_equal(rs, 300);
        assert_int_equal(tp_engine_load(warm, f.s, &err), TP_OK);
        same_answers(full, warm, 800 * 100);
        tp_engine_free(warm);
        tp_engine_free(full);

        /* Another store: refused. */
        fx_new(&g, "other.db");
        assert_int_equal(tp_snapshot_id(g.s, 1, &id2, &err), TP_OK);
        warm = mk(64);
        assert_int_equal(tp_engine_snapshot_load(warm, snap, &id2, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "another store"));
        tp_snapshot_describe(g.s, snap, line, sizeof(line));
        assert_non_null(strstr(line, "made from another one"));
        tp_snapshot_describe(g.s, old, line, sizeof(line));
        assert_non_null(strstr(line, "unusable"));
        still_empty_and_usable(warm);
        tp_engine_free(warm);
        tp_store_close(g.s);

        /* A bumped generation (what an erasure must do): refused. */
        assert_int_equal(tp_snapshot_invalidate(f.s, &err), TP_OK);
        assert_int_equal(tp_snapshot_id(f.s, 0, &id2, &err), TP_OK);
        assert_int_equal(id2.generation, id.generation + 1);
        warm = mk(64);
        assert_int_equal(tp_engine_snapshot_load(warm, snap, &id2, &err), TP_CONFLICT);
        tp_engine_free(warm);
        tp_store_close(f.s);

        /* The older copy restored: the snapshot's last rows are missing. */
        copy_file(old, f.path);
        drop_wal(f.path);
        fx_open(&f);
        f.eseq = 300;
        f.rseq = 150;
        assert_int_equal(tp_snapshot_id(f.s, 0, &id2, &err), TP_OK);
        assert_memory_equal(id2.store, id.store, 32);
        warm = mk(64);
        assert_int_equal(tp_engine_snapshot_load(warm, snap, &id2, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "no event with seq 600"));
        tp_engine_free(warm);
        /* ... and grown again past them with other rows: still refused. */
        fx_write(&f, "d", 400);
        warm = mk(64);
        assert_int_equal(tp_engine_snapshot_load(warm, snap, &id2, &err), TP_CONFLICT);
        assert_non_null(strstr(err.msg, "differ"));
        tp_snapshot_describe(f.s, snap, line, sizeof(line));
        assert_non_null(strstr(line, "its last rows differ"));
        still_empty_and_usable(warm);
        tp_engine_free(warm);
        tp_store_close(f.s);
}

static void test_default_path(void **state) {
        char buf[64];

        (void) state;
        assert_int_equal(tp_snapshot_default_path("sqlite:/var/lib/tp.db", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "/var/lib/tp.db.snapshot");
        assert_int_equal(tp_snapshot_default_path("sqlite:./touchpoint.db", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "./touchpoint.db.snapshot");
        assert_int_equal(tp_snapshot_default_path("data/tp.db", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "data/tp.db.snapshot");
        assert_int_equal(tp_snapshot_default_path("sqlite::memory:", buf, sizeof(buf)), -1);
        assert_int_equal(tp_snapshot_default_path("postgres://h/db", buf, sizeof(buf)), -1);
        assert_int_equal(tp_snapshot_default_path("sqlite:", buf, sizeof(buf)), -1);
        assert_int_equal(
                tp_snapshot_default_path(
                        "sqlite:/a/very/long/path/that/does/not/fit/in/the/sixty-four-byte/buffer.db",
                        buf,
                        sizeof(buf)),
                -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_small_engines),
                cmocka_unit_test(test_other_zone),    cmocka_unit_test(test_flipped_bytes),
                cmocka_unit_test(test_truncated),     cmocka_unit_test(test_foreign_headers),
                cmocka_unit_test(test_forged_bodies), cmocka_unit_test(test_identity),
                cmocka_unit_test(test_load_oom),      cmocka_unit_test(test_save_errors),
                cmocka_unit_test(test_with_store),    cmocka_unit_test(test_default_path),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests(tests, setup, teardown);
}
