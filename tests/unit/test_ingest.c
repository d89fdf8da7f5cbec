/* SPDX-License-Identifier: MIT */
/*
 * test_ingest.c -- the single writer on a real file store: concurrent submitters,
 * exactly-once storage, duplicates, the queue bound, draining on free, statistics
 * and a failing group commit.
 *
 * Waiting is done on conditions (a job's done callback, a gate the test opens),
 * never on elapsed time, so the outcomes do not depend on scheduling.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "service/batch.h"
#include "service/catalog.h"
#include "service/config.h"
#include "service/ingest.h"
#include "service/journey.h"
#include "store/store.h"

#define NOW ((int64_t) 1714557600)

typedef struct fx {
        char dir[64], path[128], url[160];
        tp_store *s;  /* catalogue and counts */
        tp_store *ws; /* the writer's */
        tp_catalog *cat;
        tp_config cfg;
        tp_vctx v;
} fx;

static int setup(void **state) {
        static const char journey[] =
                "{\"key\": \"shop\", \"stages\": [{\"key\": \"buy\", \"touchpoints\": ["
                "{\"key\": \"website\", \"channel\": \"web\"},"
                "{\"key\": \"store\", \"channel\": \"store\"}]}]}";
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };
        json_t *doc = NULL;

        assert_non_null(f);
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/tp-ingest-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        assert_int_equal(tp_store_open(f->url, 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        assert_int_equal(tp_json_parse(journey, strlen(journey), 32, &doc, &err), TP_OK);
        assert_int_equal(tp_journey_apply(f->s, doc, NULL, NULL, &err), TP_OK);
        json_decref(doc);
        assert_int_equal(tp_catalog_new(&f->cat, &err), TP_OK);
        assert_int_equal(tp_catalog_load(f->cat, f->s, &err), TP_OK);
        assert_int_equal(tp_store_open(f->url, 0, &f->ws, &err), TP_OK);
        tp_config_init(&f->cfg);
        f->v.cat = f->cat;
        f->v.lim = &f->cfg.lim;
        f->v.now = NOW;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fx *f = *state;
        char p[200];

        tp_catalog_free(f->cat);
        tp_store_close(f->ws);
        tp_store_close(f->s);
        (void) unlink(f->path);
        (void) snprintf(p, sizeof(p), "%s-wal", f->path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", f->path);
        (void) unlink(p);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static void batch_of(fx *f, tp_batch *b, tp_kind kind, const char *ndjson) {
        tp_err err = { 0 };

        if (tp_batch_parse(b, kind, ndjson, strlen(ndjson), 1, &f->v, &err) != TP_OK)
                fail_msg("batch: %s", err.msg);
        assert_int_equal(json_array_size(b->rejected), 0);
}

static void counts_are(tp_store *s, int64_t want_ev, int64_t want_rs) {
        int64_t ev = -1, rs = -1;
        tp_err err = { 0 };

        assert_int_equal(tp_store_counts(s, &ev, &rs, &err), TP_OK);
        assert_int_equal(ev, want_ev);
        assert_int_equal(rs, want_rs);
}

#define EV(id) "{\"id\": \"" id "\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}\n"
#define RS(id) "{\"id\": \"" id "\", \"touchpoint\": \"store\", \"metric\": \"csat\", \"score\": 4}\n"

/* ---- a done callback the test can wait on, or hold the writer in ------------- */

typedef struct gate {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done; /* the callback ran */
        int hold; /* the callback waits until released */
        int released;
        tp_rc rc;
        char msg[256];
} signal_t;

static void signal_init(signal_t *s, int hold) {
        memset(s, 0, sizeof(*s));
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->hold = hold;
        s->rc = (tp_rc) -1;
}

static void signal_destroy(signal_t *s) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
}

static void on_done(tp_ingest_job *job, void *arg) {
        signal_t *s = arg;

        pthread_mutex_lock(&s->lock);
        s->rc = job->rc;
        (void) snprintf(s->msg, sizeof(s->msg), "%s", job->err.msg);
        s->done = 1;
        pthread_cond_broadcast(&s->cond);
        while (s->hold && !s->released)
                pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
}

static void wait_done(signal_t *s) {
        pthread_mutex_lock(&s->lock);
        while (!s->done)
                pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
}

static void release(signal_t *s) {
        pthread_mutex_lock(&s->lock);
        s->released = 1;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static int is_done(signal_t *s) {
        int d;

        pthread_mutex_lock(&s->lock);
        d = s->done;
        pthread_mutex_unlock(&s->lock);
        return d;
}

/* ---- concurrent submitters --------------------------------------------------- */

#define THREADS 4
#define BATCHES 50

typedef struct worker {
        fx *f;
        tp_ingest *ing;
        int t;
        int failures; /* checked on the main thread: cmocka asserts are not thread-safe */
        size_t dups, accepted;
        char first_error[320];
} worker;

static void *worker_main(void *arg) {
        worker *w = arg;
        char body[1024];

        for (int i = 0; i < BATCHES; i++) {
                tp_batch b;
                tp_err err = { 0 };
                size_t acc = 0, dups = 0;
                json_t *res;
                int n = snprintf(
                        body,
                        sizeof(body),
                        "{\"id\": \"t%d-b%d-0\", \"customer\": \"c%d\", \"touchpoint\": \"website\", "
                        "\"type\": \"view\"}\n"
                        "{\"id\": \"t%d-b%d-1\", \"customer\": \"c%d\", \"touchpoint\": \"store\", "
                        "\"type\": \"visit\"}\n"
                        "{\"id\": \"shared-%d\", \"touchpoint\": \"website\", \"customer\": \"s\", "
                        "\"type\": \"view\"}\n",
                        w->t,
                        i,
                        w->t,
                        w->t,
                        i,
                        w->t,
                        i);
                tp_rc rc = tp_batch_parse(&b, TP_KIND_EVENTS, body, (size_t) n, 1, &w->f->v, &err);

                if (rc == TP_OK && b.n_ok != 3)
                        rc = TP_INTERNAL;
                if (rc == TP_OK)
                        rc = tp_ingest_submit_wait(w->ing, &b, &err);
                if (rc == TP_OK) {
                        res = tp_batch_result(&b, &acc, &dups);
                        json_decref(res);
                        w->accepted += acc;
                        w->dups += dups;
                } else if (w->failures++ == 0) {
                        (void) snprintf(
                                w->first_error, sizeof(w->first_error), "%s: %.256s", tp_rc_code(rc), err.msg);
                }
                tp_batch_done(&b);
        }
        return NULL;
}

static void test_concurrent_exactly_once(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        pthread_t th[THREADS];
        worker w[THREADS];
        tp_ingest_stats st;
        tp_err err = { 0 };
        size_t acc = 0, dups = 0;
        tp_store *reader = NULL;

        assert_int_equal(tp_ingest_new(f->ws, 64, 1 << 20, 50000, &ing, &err), TP_OK);
        for (int t = 0; t < THREADS; t++) {
                memset(&w[t], 0, sizeof(w[t]));
                w[t].f = f;
                w[t].ing = ing;
                w[t].t = t;
                assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
        }
        for (int t = 0; t < THREADS; t++) {
                assert_int_equal(pthread_join(th[t], NULL), 0);
                if (w[t].failures)
                        fail_msg("thread %d: %d failures, first %s", t, w[t].failures, w[t].first_error);
                acc += w[t].accepted;
                dups += w[t].dups;
        }
        /* 2 own events per batch, plus one "shared-i" stored once for 4 senders. */
        assert_int_equal(acc, THREADS * BATCHES * 2 + BATCHES);
        assert_int_equal(dups, (THREADS - 1) * BATCHES);

        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.rows_events, THREADS * BATCHES * 2 + BATCHES);
        assert_int_equal(st.duplicates, (THREADS - 1) * BATCHES);
        assert_int_equal(st.rows_responses, 0);
        assert_int_equal(st.commit_failures, 0);
        assert_int_equal(st.rejected_busy, 0);
        assert_true(st.commits >= 1 && st.commits <= THREADS * BATCHES);
        assert_int_equal(st.batch_items_sum, THREADS * BATCHES * 3);
        assert_int_equal(st.queue_jobs, 0);
        tp_ingest_free(ing);

        /* Counted through a handle of its own. */
        assert_int_equal(tp_store_open(f->url, TP_STORE_READONLY, &reader, &err), TP_OK);
        counts_are(reader, THREADS * BATCHES * 2 + BATCHES, 0);
        tp_store_close(reader);
}

/* ---- exact statistics, duplicates across batches, a failed commit ----------- */

static void test_sequential_stats(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_ingest_stats st;
        tp_err err = { 0 };
        tp_batch a, b, r, again;
        size_t acc = 9, dups = 9;
        json_t *res;

        assert_int_equal(tp_ingest_new(f->ws, 8, 1 << 20, 1000, &ing, &err), TP_OK);
        batch_of(f, &a, TP_KIND_EVENTS, EV("a1") EV("a2") EV("a3"));
        batch_of(f, &b, TP_KIND_EVENTS, EV("a2") EV("b1"));
        batch_of(f, &r, TP_KIND_RESPONSES, RS("r1") RS("r2"));
        assert_int_equal(tp_ingest_submit_wait(ing, &a, &err), TP_OK);
        assert_int_equal(tp_ingest_submit_wait(ing, &b, &err), TP_OK);
        assert_int_equal(b.dup[0], 1);
        assert_int_equal(b.dup[1], 0);
        res = tp_batch_result(&b, &acc, &dups);
        assert_int_equal(acc, 1);
        assert_int_equal(dups, 1);
        json_decref(res);
        assert_int_equal(tp_ingest_submit_wait(ing, &r, &err), TP_OK);

        /* The same batch again: every item a duplicate, and still a success. */
        batch_of(f, &again, TP_KIND_EVENTS, EV("a1") EV("a2") EV("a3"));
        assert_int_equal(tp_ingest_submit_wait(ing, &again, &err), TP_OK);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(again.dup[i], 1);

        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.commits, 4);
        assert_int_equal(st.commit_failures, 0);
        assert_int_equal(st.rows_events, 4);
        assert_int_equal(st.rows_responses, 2);
        assert_int_equal(st.duplicates, 4);
        assert_int_equal(st.batch_items_sum, 3 + 2 + 2 + 3);
        assert_int_equal(st.batch_buckets[1], 4); /* every transaction held 2..10 items */
        assert_int_equal(st.rejected_busy, 0);
        assert_int_equal(st.queue_jobs, 0);
        assert_int_equal(st.queue_jobs_max, 1);
        tp_ingest_free(ing);
        counts_are(f->s, 4, 2);
        tp_batch_done(&a);
        tp_batch_done(&b);
        tp_batch_done(&r);
        tp_batch_done(&again);
}

static void test_failed_commit(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_ingest_stats st;
        tp_err err = { 0 };
        tp_batch bad, good;

        assert_int_equal(tp_ingest_new(f->ws, 8, 1 << 20, 1000, &ing, &err), TP_OK);
        /* Import mode lets an unknown key through with touchpoint 0, which the
         * store's foreign key refuses: the whole transaction fails. */
        f->v.create_touchpoints = 1;
        batch_of(
                f,
                &bad,
                TP_KIND_EVENTS,
                EV("x1") "{\"id\": \"x2\", \"customer\": \"c\", \"touchpoint\": \"not-made\", \"type\": \"view\"}\n");
        f->v.create_touchpoints = 0;
        assert_int_equal(bad.ev[1].touchpoint, 0);
        memset(&err, 0, sizeof(err));
        assert_int_equal(tp_ingest_submit_wait(ing, &bad, &err), TP_CONFLICT);
        assert_int_equal(err.rc, TP_CONFLICT);
        assert_non_null(strstr(err.msg, "FOREIGN KEY"));
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.commit_failures, 1);
        assert_int_equal(st.commits, 0);
        assert_int_equal(st.rows_events, 0);
        counts_are(f->s, 0, 0); /* x1 was rolled back with x2 */

        /* The writer goes on. */
        batch_of(f, &good, TP_KIND_EVENTS, EV("x1"));
        assert_int_equal(tp_ingest_submit_wait(ing, &good, &err), TP_OK);
        assert_int_equal(good.dup[0], 0);
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.commits, 1);
        assert_int_equal(st.rows_events, 1);
        tp_ingest_free(ing);
        counts_are(f->s, 1, 0);
        tp_batch_done(&bad);
        tp_batch_done(&good);
}

/* ---- the queue bound ---------------------------------------------------------- */

static void test_queue_full_busy(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_ingest_stats st;
        tp_err err = { 0 };
        tp_batch ba, bb, bc;
        signal_t sa, sb, sc;
        tp_ingest_job ja = { 0 }, jb = { 0 }, jc = { 0 };

        tp_store_set_commit_delay_us(f->ws, 20000);
        assert_int_equal(tp_ingest_new(f->ws, 1, 1 << 20, 1000, &ing, &err), TP_OK);
        batch_of(f, &ba, TP_KIND_EVENTS, EV("qa"));
        batch_of(f, &bb, TP_KIND_EVENTS, EV("qb"));
        batch_of(f, &bc, TP_KIND_EVENTS, EV("qc"));
        signal_init(&sa, 1);
        signal_init(&sb, 0);
        signal_init(&sc, 0);
        ja = (tp_ingest_job){ .batch = &ba, .bytes = 10, .done = on_done, .arg = &sa };
        jb = (tp_ingest_job){ .batch = &bb, .bytes = 10, .done = on_done, .arg = &sb };
        jc = (tp_ingest_job){ .batch = &bc, .bytes = 10, .done = on_done, .arg = &sc };

        /* A is committed (after the injected delay), then the writer is held in
         * A's callback: the queue is empty and nothing takes from it. */
        assert_int_equal(tp_ingest_submit(ing, &ja, &err), TP_OK);
        wait_done(&sa);
        assert_int_equal(sa.rc, TP_OK);
        assert_int_equal(tp_ingest_submit(ing, &jb, &err), TP_OK); /* fills the one slot */
        memset(&err, 0, sizeof(err));
        assert_int_equal(tp_ingest_submit(ing, &jc, &err), TP_BUSY);
        assert_int_equal(err.rc, TP_BUSY);
        assert_non_null(strstr(err.msg, "full"));
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.rejected_busy, 1);
        assert_int_equal(st.queue_jobs, 1);
        assert_int_equal(st.commits, 1);

        release(&sa);
        wait_done(&sb);
        assert_int_equal(sb.rc, TP_OK);
        tp_ingest_free(ing);
        assert_false(is_done(&sc)); /* a refused job is never called back */
        counts_are(f->s, 2, 0);
        signal_destroy(&sa);
        signal_destroy(&sb);
        signal_destroy(&sc);
        tp_batch_done(&ba);
        tp_batch_done(&bb);
        tp_batch_done(&bc);
}

static void test_byte_bound(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_err err = { 0 };
        tp_batch ba, bb, bc, bd;
        signal_t sa, sb, sc, sd;
        tp_ingest_job ja, jb, jc, jd;

        assert_int_equal(tp_ingest_new(f->ws, 100, 1000, 1000, &ing, &err), TP_OK);
        batch_of(f, &ba, TP_KIND_EVENTS, EV("ya"));
        batch_of(f, &bb, TP_KIND_EVENTS, EV("yb"));
        batch_of(f, &bc, TP_KIND_EVENTS, EV("yc"));
        batch_of(f, &bd, TP_KIND_EVENTS, EV("yd"));
        signal_init(&sa, 1);
        signal_init(&sb, 0);
        signal_init(&sc, 0);
        signal_init(&sd, 0);
        ja = (tp_ingest_job){ .batch = &ba, .bytes = 10, .done = on_done, .arg = &sa };
        jb = (tp_ingest_job){ .batch = &bb, .bytes = 5000, .done = on_done, .arg = &sb };
        jc = (tp_ingest_job){ .batch = &bc, .bytes = 1, .done = on_done, .arg = &sc };
        jd = (tp_ingest_job){ .batch = &bd, .bytes = 1, .done = on_done, .arg = &sd };
        assert_int_equal(tp_ingest_submit(ing, &ja, &err), TP_OK);
        wait_done(&sa);
        /* An empty queue takes one job of any size, so one big request can pass... */
        assert_int_equal(tp_ingest_submit(ing, &jb, &err), TP_OK);
        /* ...but nothing more joins it while it waits over the byte bound. */
        assert_int_equal(tp_ingest_submit(ing, &jc, &err), TP_BUSY);
        release(&sa);
        wait_done(&sb);
        assert_int_equal(sb.rc, TP_OK);
        assert_int_equal(tp_ingest_submit(ing, &jd, &err), TP_OK);
        wait_done(&sd);
        assert_int_equal(sd.rc, TP_OK);
        tp_ingest_free(ing);
        assert_false(is_done(&sc));
        counts_are(f->s, 3, 0);
        signal_destroy(&sa);
        signal_destroy(&sb);
        signal_destroy(&sc);
        signal_destroy(&sd);
        tp_batch_done(&ba);
        tp_batch_done(&bb);
        tp_batch_done(&bc);
        tp_batch_done(&bd);
}

/* ---- draining on free --------------------------------------------------------- */

static void *free_main(void *arg) {
        tp_ingest_free(arg);
        return NULL;
}

static void test_free_drains_queue(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_err err = { 0 };
        tp_batch ba, bb, bd;
        signal_t sa, sb, sd;
        tp_ingest_job ja, jb, jd;
        pthread_t ft;
        int saw_stopping = 0;

        tp_store_set_commit_delay_us(f->ws, 10000);
        assert_int_equal(tp_ingest_new(f->ws, 1, 1 << 20, 1000, &ing, &err), TP_OK);
        batch_of(f, &ba, TP_KIND_EVENTS, EV("da"));
        batch_of(f, &bb, TP_KIND_RESPONSES, RS("db1") RS("db2"));
        batch_of(f, &bd, TP_KIND_EVENTS, EV("dd"));
        signal_init(&sa, 1);
        signal_init(&sb, 0);
        signal_init(&sd, 0);
        ja = (tp_ingest_job){ .batch = &ba, .done = on_done, .arg = &sa };
        jb = (tp_ingest_job){ .batch = &bb, .done = on_done, .arg = &sb };
        jd = (tp_ingest_job){ .batch = &bd, .done = on_done, .arg = &sd };

        assert_int_equal(tp_ingest_submit(ing, &ja, &err), TP_OK);
        wait_done(&sa);                                            /* writer held in A's callback */
        assert_int_equal(tp_ingest_submit(ing, &jb, &err), TP_OK); /* B waits in the queue */
        assert_int_equal(pthread_create(&ft, NULL, free_main, ing), 0);
        /* tp_ingest_free cannot return while the writer is held, so `ing` stays
         * valid here; once it is stopping, submits are refused as "shutting down". */
        for (int i = 0; i < 100000 && !saw_stopping; i++) {
                memset(&err, 0, sizeof(err));
                assert_int_equal(tp_ingest_submit(ing, &jd, &err), TP_BUSY);
                saw_stopping = strstr(err.msg, "shutting down") != NULL;
                if (!saw_stopping)
                        (void) usleep(1000);
        }
        assert_true(saw_stopping);
        assert_false(is_done(&sb)); /* B is still queued... */
        release(&sa);
        assert_int_equal(pthread_join(ft, NULL), 0);
        /* ...and was committed and called back before free returned. */
        assert_true(is_done(&sb));
        assert_int_equal(sb.rc, TP_OK);
        assert_false(is_done(&sd));
        counts_are(f->s, 1, 2);
        signal_destroy(&sa);
        signal_destroy(&sb);
        signal_destroy(&sd);
        tp_batch_done(&ba);
        tp_batch_done(&bb);
        tp_batch_done(&bd);
}

static void test_group_commit_shares_transaction(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_ingest_stats st;
        tp_err err = { 0 };
        tp_batch ba, b[3];
        signal_t sa, s[3];
        tp_ingest_job ja, j[3];

        assert_int_equal(tp_ingest_new(f->ws, 16, 1 << 20, 1000, &ing, &err), TP_OK);
        batch_of(f, &ba, TP_KIND_EVENTS, EV("g0"));
        batch_of(f, &b[0], TP_KIND_EVENTS, EV("g1") EV("g2"));
        batch_of(f, &b[1], TP_KIND_RESPONSES, RS("g3"));
        batch_of(f, &b[2], TP_KIND_EVENTS, EV("g1") EV("g4"));
        signal_init(&sa, 1);
        ja = (tp_ingest_job){ .batch = &ba, .done = on_done, .arg = &sa };
        assert_int_equal(tp_ingest_submit(ing, &ja, &err), TP_OK);
        wait_done(&sa);
        /* Three jobs queue up behind the held writer and go in one transaction. */
        for (int i = 0; i < 3; i++) {
                signal_init(&s[i], 0);
                j[i] = (tp_ingest_job){ .batch = &b[i], .done = on_done, .arg = &s[i] };
                assert_int_equal(tp_ingest_submit(ing, &j[i], &err), TP_OK);
        }
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.queue_jobs, 3);
        assert_int_equal(st.queue_jobs_max, 3);
        release(&sa);
        for (int i = 0; i < 3; i++) {
                wait_done(&s[i]);
                assert_int_equal(s[i].rc, TP_OK);
        }
        /* A duplicate inside the same transaction is seen as one. */
        assert_int_equal(b[2].dup[0], 1);
        assert_int_equal(b[2].dup[1], 0);
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.commits, 2);
        assert_int_equal(st.rows_events, 4);
        assert_int_equal(st.rows_responses, 1);
        assert_int_equal(st.duplicates, 1);
        assert_int_equal(st.batch_items_sum, 1 + 5);
        tp_ingest_free(ing);
        counts_are(f->s, 4, 1);
        signal_destroy(&sa);
        tp_batch_done(&ba);
        for (int i = 0; i < 3; i++) {
                signal_destroy(&s[i]);
                tp_batch_done(&b[i]);
        }
}

static void test_free_null_and_idle(void **state) {
        fx *f = *state;
        tp_ingest *ing = NULL;
        tp_ingest_stats st;
        tp_err err = { 0 };

        tp_ingest_free(NULL);
        assert_int_equal(tp_ingest_new(f->ws, 0, 0, 0, &ing, &err), TP_OK);
        tp_ingest_get_stats(ing, &st);
        assert_int_equal(st.commits, 0);
        tp_ingest_free(ing);
        counts_are(f->s, 0, 0);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_concurrent_exactly_once),
                T(test_sequential_stats),
                T(test_failed_commit),
                T(test_queue_full_busy),
                T(test_byte_bound),
                T(test_free_drains_queue),
                T(test_group_commit_shares_transaction),
                T(test_free_null_and_idle),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
