/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/custidx.h"

typedef struct entry {
        uint32_t ts;  /* seconds since the epoch, clamped to u32 */
        uint32_t seq; /* store sequence number */
} entry;

typedef struct vec {
        entry *v;
        uint32_t n, cap;
} vec;

typedef struct cust_rec {
        char *name;
        vec ev, rs;
} cust_rec;

struct tp_custidx {
        tp_store *store;
        pthread_rwlock_t lock;      /* the table below */
        pthread_mutex_t tail_lock;  /* one catch-up at a time; owns `store` */
        cust_rec *cust;             /* customers by number */
        uint32_t ncust, capcust;
        uint32_t *slots;            /* open addressing: customer number + 1, 0 = empty */
        uint32_t nslots;            /* power of two */
        int64_t last_event, last_response;
        uint64_t rows;
        int oom;
};

static uint64_t hash_str(const char *s) {
        /* FNV-1a: customer ids are short; the table is not exposed to untrusted
         * probing beyond ingest, which is authenticated. */
        uint64_t h = 1469598103934665603ull;

        while (*s)
                h = (h ^ (unsigned char) *s++) * 1099511628211ull;
        return h;
}

static tp_rc grow_slots(tp_custidx *ci) {
        uint32_t n = ci->nslots ? ci->nslots * 2 : 1024;
        uint32_t *slots = tp_calloc(n, sizeof(*slots));

        if (!slots)
                return TP_NOMEM;
        for (uint32_t c = 0; c < ci->ncust; c++) {
                uint32_t i = (uint32_t) hash_str(ci->cust[c].name) & (n - 1);
                while (slots[i])
                        i = (i + 1) & (n - 1);
                slots[i] = c + 1;
        }
        tp_free(ci->slots);
        ci->slots = slots;
        ci->nslots = n;
        return TP_OK;
}

/* The customer's number, or UINT32_MAX when absent (and not created). */
static uint32_t find(const tp_custidx *ci, const char *name, uint32_t *ret_slot) {
        uint32_t i;

        if (!ci->nslots)
                return UINT32_MAX;
        i = (uint32_t) hash_str(name) & (ci->nslots - 1);
        while (ci->slots[i]) {
                if (strcmp(ci->cust[ci->slots[i] - 1].name, name) == 0)
                        return ci->slots[i] - 1;
                i = (i + 1) & (ci->nslots - 1);
        }
        if (ret_slot)
                *ret_slot = i;
        return UINT32_MAX;
}

static cust_rec *find_or_add(tp_custidx *ci, const char *name) {
        uint32_t slot = 0, c;

        if ((uint64_t) (ci->ncust + 1) * 2 > ci->nslots && grow_slots(ci) != TP_OK)
                return NULL;
        c = find(ci, name, &slot);
        if (c != UINT32_MAX)
                return &ci->cust[c];
        if (ci->ncust == ci->capcust) {
                uint32_t cap = ci->capcust ? ci->capcust * 2 : 1024;
                cust_rec *v = tp_realloc(ci->cust, (size_t) cap * sizeof(*v));
                if (!v)
                        return NULL;
                ci->cust = v;
                ci->capcust = cap;
        }
        c = ci->ncust;
        memset(&ci->cust[c], 0, sizeof(ci->cust[c]));
        ci->cust[c].name = tp_strdup(name);
        if (!ci->cust[c].name)
                return NULL;
        ci->ncust++;
        ci->slots[slot] = c + 1;
        return &ci->cust[c];
}

static int push(vec *v, int64_t ts, int64_t seq) {
        if (v->n == v->cap) {
                uint32_t cap = v->cap ? v->cap * 2 : 4;
                entry *e = tp_realloc(v->v, (size_t) cap * sizeof(*e));
                if (!e)
                        return -1;
                v->v = e;
                v->cap = cap;
        }
        v->v[v->n].ts = ts < 0 ? 0 : ts > UINT32_MAX ? UINT32_MAX : (uint32_t) ts;
        v->v[v->n].seq = (uint32_t) seq;
        v->n++;
        return 0;
}

tp_rc tp_custidx_new(tp_store *store, tp_custidx **ret, tp_err *err) {
        tp_custidx *ci = tp_calloc(1, sizeof(*ci));

        if (!ci)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        ci->store = store;
        pthread_rwlock_init(&ci->lock, NULL);
        pthread_mutex_init(&ci->tail_lock, NULL);
        *ret = ci;
        return TP_OK;
}

void tp_custidx_free(tp_custidx *ci) {
        if (!ci)
                return;
        for (uint32_t c = 0; c < ci->ncust; c++) {
                tp_free(ci->cust[c].name);
                tp_free(ci->cust[c].ev.v);
                tp_free(ci->cust[c].rs.v);
        }
        tp_free(ci->cust);
        tp_free(ci->slots);
        pthread_rwlock_destroy(&ci->lock);
        pthread_mutex_destroy(&ci->tail_lock);
        tp_free(ci);
}

typedef struct scan_ctx {
        tp_custidx *ci;
        int responses;
        unsigned since; /* rows applied since the write lock was last let go */
} scan_ctx;

/* Rows applied per hold of the write lock: readers (timelines) get in between
 * batches instead of waiting for a whole scan after a bulk import. */
#define APPLY_BATCH 4096

static int add_row_key(void *arg, int64_t seq, const char *customer, int64_t ts) {
        scan_ctx *sc = arg;
        tp_custidx *ci = sc->ci;
        cust_rec *c;

        if (customer) {
                if (seq > UINT32_MAX || !(c = find_or_add(ci, customer)) ||
                    push(sc->responses ? &c->rs : &c->ev, ts, seq) != 0) {
                        ci->oom = 1;
                        return 1; /* not marked as read: the next catch-up retries this row */
                }
                ci->rows++;
        }
        if (sc->responses)
                ci->last_response = seq;
        else
                ci->last_event = seq;
        if (++sc->since == APPLY_BATCH) {
                sc->since = 0;
                pthread_rwlock_unlock(&ci->lock);
                pthread_rwlock_wrlock(&ci->lock);
        }
        return 0;
}

/* tail_lock held. */
static tp_rc catch_up_locked(tp_custidx *ci, tp_err *err) {
        scan_ctx ev = { ci, 0, 0 }, rs = { ci, 1, 0 };
        tp_rc rc;

        /* The write lock is taken per batch of rows (see add_row_key): a reader
         * sees every customer's list whole, and at worst misses the newest rows. */
        pthread_rwlock_wrlock(&ci->lock);
        rc = tp_store_ckey_scan(ci->store, 0, ci->last_event, add_row_key, &ev, err);
        if (rc == TP_OK && !ci->oom)
                rc = tp_store_ckey_scan(ci->store, 1, ci->last_response, add_row_key, &rs, err);
        if (rc == TP_OK && ci->oom)
                rc = tp_err_set(err, TP_NOMEM, "customer index: out of memory (or more than 2^32 rows)");
        ci->oom = 0;
        pthread_rwlock_unlock(&ci->lock);
        return rc;
}

tp_rc tp_custidx_catch_up(tp_custidx *ci, tp_err *err) {
        tp_rc rc;

        pthread_mutex_lock(&ci->tail_lock);
        rc = catch_up_locked(ci, err);
        pthread_mutex_unlock(&ci->tail_lock);
        return rc;
}

/* As tp_custidx_catch_up, but when another catch-up has run for over wait_ms
 * (a bulk import being indexed), go on without: the caller reads the index as
 * it stands rather than holding an HTTP thread. */
static tp_rc catch_up_wait(tp_custidx *ci, long wait_ms, tp_err *err) {
        struct timespec ts;
        tp_rc rc;

        tp_time_deadline(wait_ms, &ts);
        if (pthread_mutex_timedlock(&ci->tail_lock, &ts) != 0)
                return TP_OK;
        rc = catch_up_locked(ci, err);
        pthread_mutex_unlock(&ci->tail_lock);
        return rc;
}

typedef struct tkey {
        int64_t ts;
        int kind;
        int64_t seq;
} tkey;

static int cmp_tkey(const void *a, const void *b) {
        const tkey *x = a, *y = b;

        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int after(const tkey *k, int64_t ts, int kind, int64_t seq) {
        tkey c = { ts, kind, seq };

        return cmp_tkey(k, &c) > 0;
}

tp_rc tp_custidx_timeline(tp_custidx *ci, const char *customer, int64_t after_ts, int after_kind, int64_t after_seq,
                          int limit, tp_store *rows_store, pthread_mutex_t *rows_lock, tp_store_timeline_fn fn,
                          void *arg, int *ret_n, tp_err *err) {
        tkey *keys = NULL;
        int64_t *seqs = NULL;
        size_t n = 0, total;
        uint32_t c;
        tp_rc rc;

        rc = catch_up_wait(ci, 1000, err);
        if (rc != TP_OK)
                return rc;
        pthread_rwlock_rdlock(&ci->lock);
        c = find(ci, customer, NULL);
        total = c == UINT32_MAX ? 0 : (size_t) ci->cust[c].ev.n + ci->cust[c].rs.n;
        if (total) {
                keys = tp_malloc(total * sizeof(*keys));
                if (keys) {
                        const cust_rec *cu = &ci->cust[c];
                        for (uint32_t i = 0; i < cu->ev.n; i++) {
                                tkey k = { cu->ev.v[i].ts, 0, cu->ev.v[i].seq };
                                if (after(&k, after_ts, after_kind, after_seq))
                                        keys[n++] = k;
                        }
                        for (uint32_t i = 0; i < cu->rs.n; i++) {
                                tkey k = { cu->rs.v[i].ts, 1, cu->rs.v[i].seq };
                                if (after(&k, after_ts, after_kind, after_seq))
                                        keys[n++] = k;
                        }
                }
        }
        pthread_rwlock_unlock(&ci->lock);
        if (total && !keys)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        if (n > 1) /* keys is NULL when the customer has no rows: qsort must not see it */
                qsort(keys, n, sizeof(*keys), cmp_tkey);
        if (n > (size_t) limit)
                n = (size_t) limit;
        seqs = tp_malloc((n ? n : 1) * sizeof(*seqs));
        if (!seqs) {
                tp_free(keys);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                seqs[i] = keys[i].seq << 1 | keys[i].kind;
        if (rows_store) {
                pthread_mutex_lock(rows_lock);
                rc = tp_store_rows_get(rows_store, seqs, n, fn, arg, err);
                pthread_mutex_unlock(rows_lock);
        } else {
                /* The index's own handle belongs to the tailer: borrow it under tail_lock. */
                pthread_mutex_lock(&ci->tail_lock);
                rc = tp_store_rows_get(ci->store, seqs, n, fn, arg, err);
                pthread_mutex_unlock(&ci->tail_lock);
        }
        tp_free(seqs);
        tp_free(keys);
        if (rc == TP_OK && ret_n)
                *ret_n = (int) n;
        return rc;
}

void tp_custidx_size(tp_custidx *ci, uint64_t *ret_customers, uint64_t *ret_rows) {
        pthread_rwlock_rdlock(&ci->lock);
        *ret_customers = ci->ncust;
        *ret_rows = ci->rows;
        pthread_rwlock_unlock(&ci->lock);
}
