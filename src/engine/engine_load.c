/* SPDX-License-Identifier: MIT */
/*
 * engine_load.c -- rebuilding the engine from the store (and tailing it).
 *
 * Reading the store and applying rows cost about the same (SQLite decodes a row
 * in ~0.5 us; the engine applies one in ~0.2 us), so on two cores they overlap:
 * a reader thread runs the store's scans and copies each row into one of two
 * batches (its strings into the batch's arena), and the calling thread applies
 * full batches under the write lock, with the same prefetching as
 * tp_engine_add_events().  The store handle is used by the reader only, while
 * the caller waits for it, so the store's one-thread-at-a-time rule holds.
 *
 * Not here: a snapshot file of the columns, which would make start-up
 * independent of the store's scan speed.
 */
#include <jansson.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "engine/engine_int.h"

#define LB 8192 /* rows per batch */

typedef struct lbatch {
        int responses; /* the kind of all its rows */
        size_t n;
        int64_t seq[LB];
        tp_event ev[LB];
        tp_response rs[LB];
        uint32_t str[LB][3]; /* customer, channel, type (events) or themes (responses):
                              * arena offset + 1, 0 = NULL */
        char *arena;
        size_t alen, acap;
} lbatch;

typedef struct loader {
        tp_engine *e;
        tp_store *store;
        int64_t after_e, after_r;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        lbatch *b[2];
        int full[2];     /* published, not applied yet (under mu) */
        int fill;        /* the batch the reader fills */
        int done;        /* the reader has finished (under mu) */
        atomic_int stop; /* the applier failed: the reader stops */
        int oom;         /* the reader could not copy a row */
        tp_rc scan_rc;
        tp_err scan_err;
} loader;

/* ---- reader thread -------------------------------------------------------- */

static uint32_t keep(lbatch *b, const char *s, int *oom) {
        size_t n;

        if (!s)
                return 0;
        n = strlen(s) + 1;
        if (b->alen + n > b->acap) {
                size_t cap = b->acap ? b->acap : 65536;
                char *p;

                while (cap < b->alen + n)
                        cap *= 2;
                if (cap > UINT32_MAX || !(p = tp_realloc(b->arena, cap))) {
                        *oom = 1;
                        return 0;
                }
                b->arena = p;
                b->acap = cap;
        }
        memcpy(b->arena + b->alen, s, n);
        b->alen += n;
        return (uint32_t) (b->alen - n + 1);
}

static const char *str_at(const lbatch *b, uint32_t off) {
        return off ? b->arena + off - 1 : NULL;
}

/* Point the rows' strings into the arena, which no longer moves: done by the
 * applier, since the reader (the store) is the slower side. */
static void fix_strings(lbatch *b) {
        for (size_t i = 0; i < b->n; i++) {
                if (b->responses) {
                        b->rs[i].customer = str_at(b, b->str[i][0]);
                        b->rs[i].channel = str_at(b, b->str[i][1]);
                        b->rs[i].themes = str_at(b, b->str[i][2]);
                } else {
                        b->ev[i].customer = str_at(b, b->str[i][0]);
                        b->ev[i].channel = str_at(b, b->str[i][1]);
                        b->ev[i].type = str_at(b, b->str[i][2]);
                }
        }
}

/* Hand the filled batch over and wait for the other one to be free. */
static void publish(loader *L) {
        pthread_mutex_lock(&L->mu);
        L->full[L->fill] = 1;
        pthread_cond_broadcast(&L->cv);
        L->fill ^= 1;
        while (L->full[L->fill])
                pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
        L->b[L->fill]->n = 0;
        L->b[L->fill]->alen = 0;
}

static lbatch *batch_for(loader *L, int responses) {
        lbatch *b = L->b[L->fill];

        if (b->n && b->responses != responses)
                publish(L);
        b = L->b[L->fill];
        b->responses = responses;
        return b;
}

static int rd_event(void *arg, int64_t seq, const tp_event *ev) {
        loader *L = arg;
        lbatch *b = batch_for(L, 0);
        size_t i = b->n;

        b->seq[i] = seq;
        b->ev[i] = *ev;
        b->ev[i].id = "";
        b->ev[i].currency = NULL;
        b->ev[i].properties = NULL;
        b->str[i][0] = keep(b, ev->customer, &L->oom);
        b->str[i][1] = keep(b, ev->channel, &L->oom);
        b->str[i][2] = keep(b, ev->type, &L->oom);
        if (L->oom)
                return 1;
        if (++b->n == LB)
                publish(L);
        return atomic_load(&L->stop);
}

static int rd_response(void *arg, int64_t seq, const tp_response *r) {
        loader *L = arg;
        lbatch *b = batch_for(L, 1);
        size_t i = b->n;

        b->seq[i] = seq;
        b->rs[i] = *r;
        b->rs[i].id = "";
        b->rs[i].comment = NULL;
        b->rs[i].language = NULL;
        b->rs[i].event = NULL;
        b->str[i][0] = keep(b, r->customer, &L->oom);
        b->str[i][1] = keep(b, r->channel, &L->oom);
        b->str[i][2] = keep(b, r->themes, &L->oom);
        if (L->oom)
                return 1;
        if (++b->n == LB)
                publish(L);
        return atomic_load(&L->stop);
}

static void *reader(void *arg) {
        loader *L = arg;
        tp_rc rc;

        rc = tp_store_event_scan_core(L->store, L->after_e, rd_event, L, &L->scan_err);
        if (rc == TP_OK && !L->oom && !atomic_load(&L->stop))
                rc = tp_store_response_scan_core(L->store, L->after_r, rd_response, L, &L->scan_err);
        if (rc == TP_OK && L->oom)
                rc = tp_err_set(&L->scan_err, TP_NOMEM, "out of memory reading the store");
        if (rc == TP_OK && !atomic_load(&L->stop) && L->b[L->fill]->n) {
                /* The last, partial batch: publish without waiting for the other. */
                pthread_mutex_lock(&L->mu);
                L->full[L->fill] = 1;
                pthread_mutex_unlock(&L->mu);
        }
        pthread_mutex_lock(&L->mu);
        L->scan_rc = rc;
        L->done = 1;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        return NULL;
}

/* ---- applier (the calling thread) ------------------------------------------ */

/* Apply one batch; wmu held, rw not held. */
static tp_rc apply(tp_engine *e, const lbatch *b, int64_t *ret_bad, tp_err *err) {
        tp_rc rc = TP_OK;

        pthread_rwlock_wrlock(&e->rw);
        for (size_t i = 0; i < b->n; i++) {
                if (b->responses) {
                        eng_prefetch_ahead(e, &b->rs[0].customer, sizeof(b->rs[0]), i, b->n);
                        rc = eng_rs_add(e, b->seq[i], &b->rs[i], err);
                } else {
                        eng_prefetch_ahead(e, &b->ev[0].customer, sizeof(b->ev[0]), i, b->n);
                        rc = eng_ev_add(e, b->seq[i], &b->ev[i], err);
                }
                if (rc == TP_UNPROCESSABLE) {
                        /* The store holds a row the engine cannot represent (a
                         * year past 2106, a 4,096th touchpoint): count it and go
                         * on, or one such row would stop every later load. */
                        e->nrefused++;
                        if (b->responses)
                                e->last_rseq = b->seq[i] > e->last_rseq ? b->seq[i] : e->last_rseq;
                        else
                                e->last_eseq = b->seq[i] > e->last_eseq ? b->seq[i] : e->last_eseq;
                        rc = TP_OK;
                        continue;
                }
                if (rc != TP_OK) {
                        *ret_bad = b->seq[i];
                        break;
                }
        }
        pthread_rwlock_unlock(&e->rw);
        return rc;
}

static void name_row(tp_err *err, int64_t seq) {
        if (err) {
                size_t len = strlen(err->msg);

                (void) snprintf(err->msg + len, sizeof(err->msg) - len, " (row seq %lld)", (long long) seq);
        }
}

/* wait_ms < 0: wait for the writer lock as long as it takes; otherwise give
 * up after wait_ms (*ret_skipped = 1, TP_OK) when another load holds it. */
static tp_rc load(tp_engine *e, tp_store *store, long wait_ms, int *ret_skipped, tp_err *err) {
        loader *L = NULL;
        pthread_t th;
        tp_rc rc = TP_OK, arc = TP_OK;
        int64_t bad = 0;
        int cur = 0, inited = 0;

        if (wait_ms < 0) {
                pthread_mutex_lock(&e->wmu);
        } else {
                struct timespec ts;

                tp_time_deadline(wait_ms, &ts);
                if (pthread_mutex_timedlock(&e->wmu, &ts) != 0) {
                        *ret_skipped = 1;
                        return TP_OK;
                }
        }
        if (!(L = tp_calloc(1, sizeof(*L))) || !(L->b[0] = tp_calloc(1, sizeof(lbatch))) ||
            !(L->b[1] = tp_calloc(1, sizeof(lbatch)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        L->e = e;
        L->store = store;
        L->after_e = e->last_eseq;
        L->after_r = e->last_rseq;
        atomic_init(&L->stop, 0);
        pthread_mutex_init(&L->mu, NULL);
        pthread_cond_init(&L->cv, NULL);
        inited = 1;
        if (pthread_create(&th, NULL, reader, L) != 0) {
                rc = tp_err_set(err, TP_NOMEM, "cannot start the store reader thread");
                goto out;
        }
        for (;;) {
                pthread_mutex_lock(&L->mu);
                while (!L->full[cur] && !L->done)
                        pthread_cond_wait(&L->cv, &L->mu);
                if (!L->full[cur]) {
                        pthread_mutex_unlock(&L->mu);
                        break; /* done, nothing left */
                }
                pthread_mutex_unlock(&L->mu);
                /* After a failure the batches are only drained, so the reader
                 * is never left waiting. */
                if (arc == TP_OK) {
                        fix_strings(L->b[cur]);
                        if ((arc = apply(e, L->b[cur], &bad, err)) != TP_OK)
                                atomic_store(&L->stop, 1);
                }
                pthread_mutex_lock(&L->mu);
                L->full[cur] = 0;
                pthread_cond_broadcast(&L->cv);
                pthread_mutex_unlock(&L->mu);
                cur ^= 1;
        }
        pthread_join(th, NULL);
        if (arc != TP_OK) {
                rc = arc;
                name_row(err, bad);
        } else if (L->scan_rc != TP_OK) {
                rc = L->scan_rc;
                if (err)
                        *err = L->scan_err;
        }
        /* No automatic compaction inside the load: one merge at the end is
         * cheaper than several growing ones (the delta is transient).  A short
         * tail stays in the delta like any other ingest. */
        if (rc == TP_OK && e->ndelta >= e->compact_at && (rc = eng_compact(e, err)) == TP_OK)
                eng_compacted(e);
out:
        pthread_mutex_unlock(&e->wmu);
        if (L) {
                if (inited) {
                        pthread_mutex_destroy(&L->mu);
                        pthread_cond_destroy(&L->cv);
                }
                for (int i = 0; i < 2; i++) {
                        if (L->b[i])
                                tp_free(L->b[i]->arena);
                        tp_free(L->b[i]);
                }
                tp_free(L);
        }
        return rc;
}

typedef struct cust_load {
        tp_engine *e;
        tp_rc rc;
        tp_err *err;
} cust_load;

static int load_customer(void *arg, const tp_customer *c) {
        cust_load *s = arg;
        json_t *attrs = NULL;

        if (!c->segment && !c->attributes)
                return 0;
        /* The store holds what the API checked: text that does not parse is
         * taken as no attributes rather than a reason not to start. */
        if (c->attributes)
                attrs = json_loads(c->attributes, 0, NULL);
        s->rc = tp_engine_set_customer(s->e, c->id, c->segment, attrs, s->err);
        /* More than 255 segments: this customer stays unsegmented (with its
         * attributes) rather than refusing to start. */
        if (s->rc == TP_UNPROCESSABLE)
                s->rc = tp_engine_set_customer(s->e, c->id, NULL, attrs, s->err);
        json_decref(attrs);
        return s->rc != TP_OK;
}

tp_rc tp_engine_load(tp_engine *e, tp_store *store, tp_err *err) {
        cust_load s = { .e = e, .rc = TP_OK, .err = err };
        tp_rc rc = load(e, store, -1, NULL, err);

        /* Segments and attributes come from the customers table, read once:
         * after that the server changes them through tp_engine_set_customer
         * as it writes the table (the tailer calls this every second, and a
         * CRM's million customers must not be read again each time). */
        if (rc == TP_OK && !e->customers_loaded) {
                rc = tp_store_customer_scan(store, load_customer, &s, err);
                if (rc == TP_OK && s.rc == TP_OK)
                        e->customers_loaded = 1;
        }
        return rc == TP_OK ? s.rc : rc;
}

tp_rc tp_engine_catch_up(tp_engine *e, tp_store *store, long wait_ms, int *ret_skipped, tp_err *err) {
        int skipped = 0;
        tp_rc rc = load(e, store, wait_ms < 0 ? 0 : wait_ms, &skipped, err);

        if (rc == TP_OK && ret_skipped)
                *ret_skipped = skipped;
        return rc;
}
