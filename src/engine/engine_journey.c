/* SPDX-License-Identifier: MIT */
/*
 * engine_journey.c -- journey questions: stage funnel, where customers stand,
 * top paths, path explorer (Sankey), next-touchpoint Markov chains and their
 * time-split accuracy.
 *
 * Every question walks each customer's events in (ts, seq) order, the way the
 * transition scan of engine_query.c does: compacted events read in place, a
 * customer with delta events merged into a scratch buffer first
 * (eng_cust_events).  The walk is one thread under the shared lock; what it
 * keeps per customer is a handful of integers, so memory is the accumulators
 * (dense per touchpoint where the space is small, hashed where it is not).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

#define NOIDX UINT32_MAX

void tp_engine_journey_query_init(tp_engine_journey_query *q) {
        memset(q, 0, sizeof(*q));
        q->from = INT64_MIN;
        q->to = INT64_MAX;
        q->path_len = 5;
        q->npaths = 20;
        q->depth = 3;
        q->order = 1;
        q->nnext = 5;
        q->split = INT64_MAX;
}

/* ---- helpers ------------------------------------------------------------- */

static tp_rc budget_error(tp_err *err, const char *what, uint64_t limit) {
        return tp_err_setf(
                err,
                TP_UNPROCESSABLE,
                what,
                "the query exceeds the engine's %s limit of %llu",
                what,
                (unsigned long long) limit);
}

/* max_rows for a full scan; rdlock held. */
static tp_rc scan_budget(const tp_engine *e, tp_err *err) {
        if (e->o.max_rows && (uint64_t) e->nsealed + e->ndelta > e->o.max_rows)
                return budget_error(err, "max_rows", e->o.max_rows);
        return TP_OK;
}

/* One customer's events, in order, from the columns or merged; with a filter,
 * only the events of the customers and channels it keeps. */
typedef struct walk {
        const tp_engine *e;
        const eng_filter *f; /* NULL: everything */
        eng_item *buf;
        size_t cap;
} walk;

/* Resolve the query's filter into *f and point the walk at it (rdlock held). */
static tp_rc walk_filter(walk *w, eng_filter *f, const tp_engine_filter *q, tp_err *err) {
        tp_rc rc = eng_filter_init(w->e, q, f, err);

        w->f = rc == TP_OK && f->any ? f : NULL;
        return rc;
}

#define REC(v, stride, i) ((const eng_rec *) ((const char *) (v) + (size_t) (i) * (stride)))

/* Customer c's events in (ts, seq) order: *ret_v, *ret_stride, the count as
 * the result; -1 when out of memory. */
static int64_t walk_cust(walk *w, uint32_t c, const eng_rec **ret_v, size_t *ret_stride) {
        const tp_engine *e = w->e;
        const eng_filter *f = w->f;

        if (f && f->cust && !eng_cfilter_pass(&f->cf, c)) {
                *ret_v = e->srec;
                *ret_stride = sizeof(eng_rec);
                return 0;
        }
        if (e->cust[c].dhead == ENG_NONE && !(f && f->chan)) {
                uint32_t s = c < e->snc ? e->soff[c] : 0, t = c < e->snc ? e->soff[c + 1] : 0;

                *ret_v = e->srec + s;
                *ret_stride = sizeof(eng_rec);
                return t - s;
        } else {
                int64_t n = eng_cust_read(e, c, f, &w->buf, &w->cap);

                *ret_v = n > 0 ? &w->buf[0].r : e->srec;
                *ret_stride = sizeof(eng_item);
                return n;
        }
}

/* The in-range slice [*ret_i, *ret_j) of a customer's ordered events. */
static void in_range(
        const eng_rec *v, size_t stride, int64_t n, int64_t from, int64_t to, int64_t *ret_i, int64_t *ret_j) {
        int64_t i = 0, j;

        while (i < n && (int64_t) REC(v, stride, i)->ts < from)
                i++;
        j = i;
        while (j < n && (int64_t) REC(v, stride, j)->ts < to)
                j++;
        *ret_i = i;
        *ret_j = j;
}

/* The stage of each dense touchpoint (-1: none); rdlock held. */
static int8_t *stage_map(const tp_engine *e, const tp_engine_journey_query *q) {
        int8_t *m = tp_malloc((size_t) (e->ntp ? e->ntp : 1));

        if (!m)
                return NULL;
        for (uint32_t t = 0; t < e->ntp; t++) {
                int s = q->stage_fn(q->stage_arg, e->tp_ids[t]);

                m[t] = (int8_t) (s >= 0 && (uint32_t) s < q->nstages ? s : -1);
        }
        return m;
}

static tp_rc check_stages(const tp_engine_journey_query *q, tp_err *err) {
        if (!q->stage_fn || q->nstages < 1 || q->nstages > TP_ENGINE_STAGES_MAX)
                return tp_err_setf(
                        err,
                        TP_INVALID,
                        "stages",
                        "a stage function and 1 to %d stages are needed",
                        TP_ENGINE_STAGES_MAX);
        return TP_OK;
}

/* Customer by external id, read-only: the same FNV-1a hash and probe as
 * eng_cust_intern() in engine_dict.c.  ENG_NONE when unknown. */
static uint32_t cust_find(const tp_engine *e, const char *id) {
        uint64_t h = 1469598103934665603ull;
        uint32_t h32;

        for (const char *p = id; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        h32 = (uint32_t) (h ^ (h >> 32));
        if (!e->ncslots)
                return ENG_NONE;
        for (uint32_t i = h32 & (e->ncslots - 1); e->cslots[i]; i = (i + 1) & (e->ncslots - 1)) {
                uint64_t v = e->cslots[i];
                uint32_t k = (uint32_t) v - 1;

                if ((uint32_t) (v >> 32) == h32 && strcmp(e->names + e->cust[k].name, id) == 0)
                        return k;
        }
        return ENG_NONE;
}

static int cmp_u32(const void *pa, const void *pb) {
        uint32_t a = *(const uint32_t *) pa, b = *(const uint32_t *) pb;

        return a < b ? -1 : a > b;
}

/* ---- stage funnel -------------------------------------------------------- */

/* Seconds between stages, one growing array per stage. */
typedef struct u32vec {
        uint32_t *v;
        size_t n, cap;
} u32vec;

static int u32vec_push(u32vec *a, uint32_t x) {
        if (a->n == a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                uint32_t *p = tp_realloc(a->v, cap * sizeof(*p));

                if (!p)
                        return -1;
                a->v = p;
                a->cap = cap;
        }
        a->v[a->n++] = x;
        return 0;
}

static double median_u32(u32vec *a) {
        if (!a->n)
                return NAN;
        qsort(a->v, a->n, sizeof(*a->v), cmp_u32);
        if (a->n % 2)
                return (double) a->v[a->n / 2];
        return ((double) a->v[a->n / 2 - 1] + (double) a->v[a->n / 2]) / 2.0;
}

tp_rc tp_engine_funnel_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_funnel **ret, tp_err *err) {
        tp_engine_funnel *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        int8_t *stage = NULL;
        u32vec times[TP_ENGINE_STAGES_MAX];
        uint64_t reached[TP_ENGINE_STAGES_MAX] = { 0 }, conv[TP_ENGINE_STAGES_MAX] = { 0 };
        uint32_t fidx[TP_ENGINE_STAGES_MAX], fts[TP_ENGINE_STAGES_MAX];
        uint32_t ns = q->nstages;
        tp_rc rc;

        if ((rc = check_stages(q, err)) != TP_OK)
                return rc;
        memset(times, 0, sizeof(times));
        if (!(res = tp_calloc(1, sizeof(*res))) || !(res->stages = tp_calloc(ns, sizeof(*res->stages)))) {
                tp_free(res);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        res->nstages = ns;
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        if (!(stage = stage_map(e, q))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;

                if (n < 0) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                if (i0 == i1)
                        continue;
                res->customers++;
                for (uint32_t s = 0; s < ns; s++)
                        fidx[s] = NOIDX;
                for (int64_t i = i0; i < i1; i++) {
                        const eng_rec *r = REC(v, stride, i);
                        int st = stage[r->tp];

                        if (st >= 0 && fidx[st] == NOIDX) {
                                fidx[st] = (uint32_t) (i - i0);
                                fts[st] = r->ts;
                        }
                }
                for (uint32_t s = 0; s < ns; s++) {
                        if (fidx[s] == NOIDX)
                                continue;
                        reached[s]++;
                        if (!s || fidx[s - 1] == NOIDX)
                                continue;
                        conv[s]++;
                        if (fidx[s - 1] < fidx[s] && u32vec_push(&times[s], fts[s] - fts[s - 1])) {
                                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                                goto out;
                        }
                }
        }
        for (uint32_t s = 0; s < ns; s++) {
                tp_engine_funnel_stage *o = &res->stages[s];

                o->stage = s;
                o->reached = reached[s];
                o->conversion = o->drop_off = o->median_seconds = NAN;
                if (!s)
                        continue;
                o->converted = conv[s];
                o->dropped = reached[s - 1] - conv[s];
                if (reached[s - 1]) {
                        o->conversion = (double) conv[s] / (double) reached[s - 1];
                        o->drop_off = (double) o->dropped / (double) reached[s - 1];
                }
                o->timed = times[s].n;
                o->median_seconds = median_u32(&times[s]);
        }
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(stage);
        for (uint32_t s = 0; s < TP_ENGINE_STAGES_MAX; s++)
                tp_free(times[s].v);
        if (rc != TP_OK) {
                tp_engine_funnel_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_funnel_free(tp_engine_funnel *r) {
        if (!r)
                return;
        tp_free(r->stages);
        tp_free(r);
}

/* ---- where each customer stands ------------------------------------------ */

tp_rc tp_engine_standing_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_standing **ret, tp_err *err) {
        tp_engine_standing *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        int8_t *stage = NULL;
        tp_rc rc;

        if ((rc = check_stages(q, err)) != TP_OK)
                return rc;
        if (!(res = tp_calloc(1, sizeof(*res))) ||
            !(res->customers = tp_calloc(q->nstages, sizeof(*res->customers)))) {
                tp_free(res);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        res->nstages = q->nstages;
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        if (!(stage = stage_map(e, q))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        if (q->strategy == TP_ENGINE_AUTO && !w.f &&
            (!e->nevents || (q->from <= (int64_t) e->emin_ts && q->to > (int64_t) e->emax_ts))) {
                /* Each customer's latest event is kept at ingest. */
                for (uint32_t c = 0; c < e->ncust; c++) {
                        uint16_t tp = e->cust[c].tp;

                        if (tp == ENG_TP_NONE)
                                continue;
                        res->total++;
                        if (stage[tp] >= 0)
                                res->customers[stage[tp]]++;
                        else
                                res->unstaged++;
                }
                goto out;
        }
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;
                int st;

                if (n < 0) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                if (i0 == i1)
                        continue;
                res->total++;
                st = stage[REC(v, stride, i1 - 1)->tp];
                if (st >= 0)
                        res->customers[st]++;
                else
                        res->unstaged++;
        }
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(stage);
        if (rc != TP_OK) {
                tp_engine_standing_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_standing_free(tp_engine_standing *r) {
        if (!r)
                return;
        tp_free(r->customers);
        tp_free(r);
}

/* ---- top paths ----------------------------------------------------------- */

/* Distinct paths of k dense touchpoints (padded with ENG_TP_NONE) and counts.
 */
typedef struct ptab {
        uint32_t k;
        uint16_t *seq; /* n x k */
        uint64_t *cnt;
        uint32_t n, ncap;
        uint32_t *slots; /* path + 1, 0 = empty */
        uint32_t cap;
} ptab;

static uint32_t hash_path(const uint16_t *p, uint32_t k) {
        uint64_t h = 1469598103934665603ull;

        for (uint32_t i = 0; i < k; i++)
                h = (h ^ p[i]) * 1099511628211ull;
        return (uint32_t) (h ^ (h >> 32));
}

static void ptab_done(ptab *t) {
        tp_free(t->seq);
        tp_free(t->cnt);
        tp_free(t->slots);
}

/* Count one more customer on path p; -1 when out of memory. */
static int ptab_add(ptab *t, const uint16_t *p) {
        uint32_t i;

        if ((uint64_t) (t->n + 1) * 2 > t->cap) {
                uint32_t n = t->cap ? t->cap * 2 : 1024;
                uint32_t *s = tp_calloc(n, sizeof(*s));

                if (!s || n < t->cap) {
                        tp_free(s);
                        return -1;
                }
                for (uint32_t j = 0; j < t->n; j++) {
                        for (i = hash_path(t->seq + (size_t) j * t->k, t->k) & (n - 1); s[i];
                             i = (i + 1) & (n - 1))
                                ;
                        s[i] = j + 1;
                }
                tp_free(t->slots);
                t->slots = s;
                t->cap = n;
        }
        for (i = hash_path(p, t->k) & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1)) {
                uint32_t j = t->slots[i] - 1;

                if (memcmp(t->seq + (size_t) j * t->k, p, t->k * sizeof(*p)) == 0) {
                        t->cnt[j]++;
                        return 0;
                }
        }
        if (t->n == t->ncap) {
                uint32_t n = t->ncap ? t->ncap * 2 : 1024;
                uint16_t *seq = tp_realloc(t->seq, (size_t) n * t->k * sizeof(*seq));
                uint64_t *cnt;

                if (!seq)
                        return -1;
                t->seq = seq;
                if (!(cnt = tp_realloc(t->cnt, (size_t) n * sizeof(*cnt))))
                        return -1;
                t->cnt = cnt;
                t->ncap = n;
        }
        memcpy(t->seq + (size_t) t->n * t->k, p, t->k * sizeof(*p));
        t->cnt[t->n] = 1;
        t->slots[i] = ++t->n;
        return 0;
}

/* Sort context for qsort (paths by count, then store ids). */
typedef struct psort {
        const ptab *t;
        const int64_t *ids;
} psort;

static int cmp_path(const void *pa, const void *pb, void *arg) {
        const psort *s = arg;
        uint32_t a = *(const uint32_t *) pa, b = *(const uint32_t *) pb;
        const uint16_t *x = s->t->seq + (size_t) a * s->t->k, *y = s->t->seq + (size_t) b * s->t->k;

        if (s->t->cnt[a] != s->t->cnt[b])
                return s->t->cnt[a] > s->t->cnt[b] ? -1 : 1;
        for (uint32_t i = 0; i < s->t->k; i++) {
                if (x[i] == y[i])
                        continue;
                if (x[i] == ENG_TP_NONE || y[i] == ENG_TP_NONE)
                        return x[i] == ENG_TP_NONE ? -1 : 1; /* the shorter first */
                return s->ids[x[i]] < s->ids[y[i]] ? -1 : 1;
        }
        return 0;
}

tp_rc tp_engine_paths_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_paths **ret, tp_err *err) {
        tp_engine_paths *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        ptab t = { .k = q->path_len };
        uint16_t p[TP_ENGINE_PATH_LEN_MAX];
        uint32_t *order = NULL;
        size_t nids = 0;
        tp_rc rc = TP_OK;

        if (q->path_len < 1 || q->path_len > TP_ENGINE_PATH_LEN_MAX)
                return tp_err_setf(err, TP_INVALID, "path_len", "path_len is 1 to %d", TP_ENGINE_PATH_LEN_MAX);
        if (!q->npaths)
                return tp_err_setf(err, TP_INVALID, "npaths", "npaths must be at least 1");
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;
                uint32_t len = 0;

                if (n < 0)
                        goto oom;
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                if (i0 == i1)
                        continue;
                for (int64_t i = i0; i < i1 && len <= t.k; i++) {
                        uint16_t tp = REC(v, stride, i)->tp;

                        if (len && p[len - 1] == tp)
                                continue;
                        if (len == t.k)
                                break;
                        p[len++] = tp;
                }
                for (uint32_t i = len; i < t.k; i++)
                        p[i] = ENG_TP_NONE;
                res->customers++;
                if (ptab_add(&t, p))
                        goto oom;
        }
        res->distinct = t.n;
        if (t.n) {
                psort s = { &t, e->tp_ids };
                size_t nr = t.n < q->npaths ? t.n : q->npaths;

                if (!(order = tp_malloc((size_t) t.n * sizeof(*order))))
                        goto oom;
                for (uint32_t j = 0; j < t.n; j++)
                        order[j] = j;
                qsort_r(order, t.n, sizeof(*order), cmp_path, &s);
                res->rows = tp_calloc(nr, sizeof(*res->rows));
                res->ids = tp_malloc(nr * t.k * sizeof(*res->ids));
                if (!res->rows || !res->ids)
                        goto oom;
                for (size_t r = 0; r < nr; r++) {
                        const uint16_t *x = t.seq + (size_t) order[r] * t.k;
                        tp_engine_path *o = &res->rows[r];

                        o->touchpoints = res->ids + nids;
                        o->customers = t.cnt[order[r]];
                        while (o->len < t.k && x[o->len] != ENG_TP_NONE)
                                res->ids[nids++] = e->tp_ids[x[o->len++]];
                }
                res->nrows = nr;
        }
        goto out;
oom:
        rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(order);
        ptab_done(&t);
        if (rc != TP_OK) {
                tp_engine_paths_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_paths_free(tp_engine_paths *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r->ids);
        tp_free(r);
}

/* ---- path explorer ------------------------------------------------------- */

static int cmp_node(const void *pa, const void *pb) {
        const tp_engine_sankey_node *a = pa, *b = pb;

        if (a->step != b->step)
                return a->step < b->step ? -1 : 1;
        if (a->customers != b->customers)
                return a->customers > b->customers ? -1 : 1;
        return a->touchpoint < b->touchpoint ? -1 : a->touchpoint > b->touchpoint;
}

static int cmp_link(const void *pa, const void *pb) {
        const tp_engine_sankey_link *a = pa, *b = pb;

        if (a->step != b->step)
                return a->step < b->step ? -1 : 1;
        if (a->customers != b->customers)
                return a->customers > b->customers ? -1 : 1;
        if (a->from != b->from)
                return a->from < b->from ? -1 : 1;
        return a->to < b->to ? -1 : a->to > b->to;
}

tp_rc tp_engine_explorer_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_explorer **ret, tp_err *err) {
        tp_engine_explorer *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        eng_hmap links = { 0 };
        uint64_t *nodes = NULL, *ended = NULL;
        uint32_t ntp = 0, start, d = q->depth;
        size_t nn = 0;
        tp_rc rc = TP_OK;

        if (d < 1 || d > TP_ENGINE_DEPTH_MAX)
                return tp_err_setf(err, TP_INVALID, "depth", "depth is 1 to %d", TP_ENGINE_DEPTH_MAX);
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        res->start = q->start;
        res->depth = d;
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        if ((start = eng_tp_find(e, q->start)) == UINT32_MAX)
                goto out;
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        ntp = e->ntp;
        nodes = tp_calloc((size_t) (d + 1) * ntp, sizeof(*nodes));
        ended = tp_calloc((size_t) (d + 1) * ntp, sizeof(*ended));
        if (!nodes || !ended)
                goto oom;
        res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1, i;
                uint32_t step = 0, prev;

                if (n < 0)
                        goto oom;
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                for (i = i0; i < i1 && REC(v, stride, i)->tp != start; i++)
                        ;
                if (i == i1)
                        continue;
                res->customers++;
                nodes[start]++;
                prev = start;
                for (i++; i < i1 && step < d; i++) {
                        uint32_t tp = REC(v, stride, i)->tp;
                        uint64_t *l;

                        if (tp == prev)
                                continue;
                        if (!(l = eng_hmap_slot(&links, ((uint64_t) step * ntp + prev) * ntp + tp)))
                                goto oom;
                        (*l)++;
                        step++;
                        nodes[(size_t) step * ntp + tp]++;
                        prev = tp;
                }
                if (step < d)
                        ended[(size_t) step * ntp + prev]++;
        }
        for (size_t k = 0; k < (size_t) (d + 1) * ntp; k++)
                nn += nodes[k] != 0;
        if (e->o.max_groups && nn + links.n > e->o.max_groups) {
                rc = budget_error(err, "max_groups", e->o.max_groups);
                goto out;
        }
        if (nn && !(res->nodes = tp_malloc(nn * sizeof(*res->nodes))))
                goto oom;
        if (links.n && !(res->links = tp_malloc(links.n * sizeof(*res->links))))
                goto oom;
        for (size_t k = 0; k < (size_t) (d + 1) * ntp; k++)
                if (nodes[k])
                        res->nodes[res->nnodes++] = (tp_engine_sankey_node){
                                .step = (uint32_t) (k / ntp),
                                .touchpoint = e->tp_ids[k % ntp],
                                .customers = nodes[k],
                                .ended = ended[k],
                        };
        for (uint32_t s = 0; s < links.cap; s++) {
                uint64_t key;

                if (!links.keys[s])
                        continue;
                key = links.keys[s] - 1;
                res->links[res->nlinks++] = (tp_engine_sankey_link){
                        .step = (uint32_t) (key / ((uint64_t) ntp * ntp)),
                        .from = e->tp_ids[key / ntp % ntp],
                        .to = e->tp_ids[key % ntp],
                        .customers = links.vals[s],
                };
        }
        if (res->nnodes)
                qsort(res->nodes, res->nnodes, sizeof(*res->nodes), cmp_node);
        if (res->nlinks)
                qsort(res->links, res->nlinks, sizeof(*res->links), cmp_link);
        goto out;
oom:
        rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(nodes);
        tp_free(ended);
        eng_hmap_done(&links);
        if (rc != TP_OK) {
                tp_engine_explorer_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_explorer_free(tp_engine_explorer *r) {
        if (!r)
                return;
        tp_free(r->nodes);
        tp_free(r->links);
        tp_free(r);
}

/* ---- next touchpoint ----------------------------------------------------- */

/* Rank dense candidates by count descending, then store id. */
typedef struct cand {
        uint32_t tp;
        uint64_t n;
        int64_t id;
} cand;

static int cmp_cand(const void *pa, const void *pb) {
        const cand *a = pa, *b = pb;

        if (a->n != b->n)
                return a->n > b->n ? -1 : 1;
        return a->id < b->id ? -1 : a->id > b->id;
}

tp_rc tp_engine_next_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_next **ret, tp_err *err) {
        tp_engine_next *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        uint64_t *c1 = NULL, *c2 = NULL, t1 = 0, t2 = 0;
        cand *cs = NULL;
        uint32_t ntp, a = UINT32_MAX, x = UINT32_MAX; /* context: x, a (dense) */
        int have_prev = 0;
        tp_rc rc = TP_OK;

        if (q->order != 1 && q->order != 2)
                return tp_err_setf(err, TP_INVALID, "order", "order is 1 or 2");
        if (!q->nnext)
                return tp_err_setf(err, TP_INVALID, "nnext", "nnext must be at least 1");
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        res->order = q->order;
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        ntp = e->ntp;
        if (q->customer) {
                uint32_t c = cust_find(e, q->customer);
                const eng_rec *v;
                size_t stride;
                int64_t n, i0 = 0, i1 = 0;

                if (c != ENG_NONE) {
                        if ((n = walk_cust(&w, c, &v, &stride)) < 0)
                                goto oom;
                        in_range(v, stride, n, q->from, q->to, &i0, &i1);
                }
                if (i0 == i1) {
                        rc = tp_err_setf(
                                err, TP_NOTFOUND, "customer", "the customer has no events in the range asked");
                        goto out;
                }
                a = REC(v, stride, i1 - 1)->tp;
                res->last = e->tp_ids[a];
                if (q->order == 2 && i1 - i0 >= 2) {
                        x = REC(v, stride, i1 - 2)->tp;
                        res->prev = e->tp_ids[x];
                        have_prev = 1;
                }
        } else {
                res->last = q->last;
                a = eng_tp_find(e, q->last);
                if (q->order == 2) {
                        res->prev = q->prev;
                        x = eng_tp_find(e, q->prev);
                        have_prev = 1;
                }
        }
        if (a == UINT32_MAX)
                goto out; /* a touchpoint the engine never saw: no rows */
        if (x == UINT32_MAX)
                have_prev = 0; /* an unknown prev falls back on last */
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        c1 = tp_calloc(ntp, sizeof(*c1));
        c2 = tp_calloc(ntp, sizeof(*c2));
        if (!c1 || !c2)
                goto oom;
        res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;

                if (n < 0)
                        goto oom;
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                for (int64_t i = i0 + 1; i < i1; i++) {
                        const eng_rec *r = REC(v, stride, i);

                        if (REC(v, stride, i - 1)->tp != a)
                                continue;
                        c1[r->tp]++;
                        t1++;
                        if (have_prev && i - 2 >= i0 && REC(v, stride, i - 2)->tp == x) {
                                c2[r->tp]++;
                                t2++;
                        }
                }
        }
        {
                uint64_t *cnt = have_prev && t2 ? c2 : c1;
                size_t nc = 0;

                res->order_used = have_prev && t2 ? 2 : t1 ? 1 : 0;
                res->context_n = have_prev && t2 ? t2 : t1;
                if (!res->order_used)
                        goto out;
                if (!(cs = tp_malloc(ntp * sizeof(*cs))))
                        goto oom;
                for (uint32_t t = 0; t < ntp; t++)
                        if (cnt[t])
                                cs[nc++] = (cand){ t, cnt[t], e->tp_ids[t] };
                qsort(cs, nc, sizeof(*cs), cmp_cand);
                if (nc > q->nnext)
                        nc = q->nnext;
                if (!(res->rows = tp_malloc(nc * sizeof(*res->rows))))
                        goto oom;
                for (size_t k = 0; k < nc; k++)
                        res->rows[k] = (tp_engine_next_row){ cs[k].id,
                                                             cs[k].n,
                                                             (double) cs[k].n / (double) res->context_n };
                res->nrows = nc;
        }
        goto out;
oom:
        rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(c1);
        tp_free(c2);
        tp_free(cs);
        if (rc != TP_OK) {
                tp_engine_next_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_next_free(tp_engine_next *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r);
}

/* Order-2 training counts, sorted by context then rank. */
typedef struct tri {
        uint64_t ctx; /* x * ntp + a */
        uint64_t n;
        int64_t id; /* store id of the target */
        uint32_t tp;
} tri;

static int cmp_tri(const void *pa, const void *pb) {
        const tri *a = pa, *b = pb;

        if (a->ctx != b->ctx)
                return a->ctx < b->ctx ? -1 : 1;
        if (a->n != b->n)
                return a->n > b->n ? -1 : 1;
        return a->id < b->id ? -1 : a->id > b->id;
}

tp_rc tp_engine_next_accuracy_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_next_accuracy **ret, tp_err *err) {
        tp_engine_next_accuracy *res = NULL;
        walk w = { .e = e };
        eng_filter flt;
        uint64_t *m1 = NULL;
        uint32_t *top1 = NULL; /* ntp x 3 dense targets, NOIDX: none */
        eng_hmap h2 = { 0 }, ctx2 = { 0 };
        tri *tr = NULL;
        uint32_t ntp;
        size_t ntr = 0;
        tp_rc rc = TP_OK;

        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        res->split = q->split;
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = walk_filter(&w, &flt, &q->filter, err)) != TP_OK)
                goto out;
        if ((rc = scan_budget(e, err)) != TP_OK)
                goto out;
        ntp = e->ntp;
        res->rows_scanned = 2 * ((uint64_t) e->nsealed + e->ndelta);
        m1 = tp_calloc((size_t) ntp * ntp + 1, sizeof(*m1));
        top1 = tp_malloc(((size_t) ntp * 3 + 1) * sizeof(*top1));
        if (!m1 || !top1)
                goto oom;
        /* Train. */
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;

                if (n < 0)
                        goto oom;
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                for (int64_t i = i0 + 1; i < i1; i++) {
                        const eng_rec *r = REC(v, stride, i), *p = REC(v, stride, i - 1);
                        uint64_t *s;

                        if ((int64_t) r->ts >= q->split)
                                break; /* the rest of this customer is at or after the split */
                        res->train++;
                        m1[(size_t) p->tp * ntp + r->tp]++;
                        if (i - 2 >= i0) {
                                uint64_t ctx = (uint64_t) REC(v, stride, i - 2)->tp * ntp + p->tp;

                                if (!(s = eng_hmap_slot(&h2, ctx * ntp + r->tp)))
                                        goto oom;
                                (*s)++;
                        }
                }
        }
        /* Order 1: the three likeliest targets of each source. */
        for (uint32_t a = 0; a < ntp; a++) {
                cand best[3];
                int nb = 0;

                for (uint32_t b = 0; b < ntp; b++) {
                        cand x = { b, m1[(size_t) a * ntp + b], e->tp_ids[b] };
                        int k;

                        if (!x.n)
                                continue;
                        if (nb == 3 && cmp_cand(&x, &best[2]) >= 0)
                                continue;
                        k = nb < 3 ? nb++ : 2;
                        while (k > 0 && cmp_cand(&x, &best[k - 1]) < 0) {
                                best[k] = best[k - 1];
                                k--;
                        }
                        best[k] = x;
                }
                for (int k = 0; k < 3; k++)
                        top1[a * 3 + (uint32_t) k] = k < nb ? best[k].tp : NOIDX;
        }
        /* Order 2: sorted triples, each context's first index. */
        if (h2.n) {
                if (!(tr = tp_malloc(h2.n * sizeof(*tr))))
                        goto oom;
                for (uint32_t s = 0; s < h2.cap; s++) {
                        uint64_t key;

                        if (!h2.keys[s])
                                continue;
                        key = h2.keys[s] - 1;
                        tr[ntr++] = (tri){ key / ntp, h2.vals[s], e->tp_ids[key % ntp], (uint32_t) (key % ntp) };
                }
                qsort(tr, ntr, sizeof(*tr), cmp_tri);
                for (size_t k = 0; k < ntr; k++) {
                        uint64_t *s;

                        if (k && tr[k].ctx == tr[k - 1].ctx)
                                continue;
                        if (!(s = eng_hmap_slot(&ctx2, tr[k].ctx)))
                                goto oom;
                        *s = k;
                }
        }
        /* Test. */
        for (uint32_t c = 0; c < e->ncust; c++) {
                const eng_rec *v;
                size_t stride;
                int64_t n = walk_cust(&w, c, &v, &stride), i0, i1;

                if (n < 0)
                        goto oom;
                in_range(v, stride, n, q->from, q->to, &i0, &i1);
                for (int64_t i = i0 + 1; i < i1; i++) {
                        const eng_rec *r = REC(v, stride, i), *p = REC(v, stride, i - 1);
                        const uint32_t *t = top1 + (size_t) p->tp * 3;
                        const uint64_t *s = NULL;
                        int h1 = 0, h3 = 0;

                        if ((int64_t) r->ts < q->split)
                                continue;
                        res->test++;
                        if (t[0] == NOIDX)
                                res->unseen++;
                        for (int k = 0; k < 3; k++)
                                if (t[k] == r->tp) {
                                        h1 |= k == 0;
                                        h3 = 1;
                                }
                        res->top1[0] += (uint64_t) h1;
                        res->top3[0] += (uint64_t) h3;
                        if (i - 2 >= i0)
                                s = eng_hmap_get(&ctx2, (uint64_t) REC(v, stride, i - 2)->tp * ntp + p->tp);
                        if (s) {
                                size_t k0 = (size_t) *s;

                                h1 = h3 = 0;
                                for (size_t k = k0; k < ntr && k < k0 + 3 && tr[k].ctx == tr[k0].ctx; k++)
                                        if (tr[k].tp == r->tp) {
                                                h1 |= k == k0;
                                                h3 = 1;
                                        }
                        } else {
                                res->fallback++;
                        }
                        res->top1[1] += (uint64_t) h1;
                        res->top3[1] += (uint64_t) h3;
                }
        }
        for (int k = 0; k < 2; k++) {
                res->top1_rate[k] = res->test ? (double) res->top1[k] / (double) res->test : NAN;
                res->top3_rate[k] = res->test ? (double) res->top3[k] / (double) res->test : NAN;
        }
        goto out;
oom:
        rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(w.buf);
        tp_free(m1);
        tp_free(top1);
        tp_free(tr);
        eng_hmap_done(&h2);
        eng_hmap_done(&ctx2);
        if (rc != TP_OK) {
                tp_engine_next_accuracy_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_next_accuracy_free(tp_engine_next_accuracy *r) {
        tp_free(r);
}

/* ---- JSON ---------------------------------------------------------------- */






static json_t *fail(json_t *o) {
        json_decref(o);
        return NULL;
}

json_t *tp_engine_funnel_json(const tp_engine_funnel *r) {
        json_t *o = json_object(), *a = json_array();

        if (!o || !a || eng_jput(o, "customers", eng_juint(r->customers)) ||
            eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned))) {
                json_decref(a);
                return fail(o);
        }
        if (eng_jput(o, "stages", a))
                return fail(o);
        for (uint32_t s = 0; s < r->nstages; s++) {
                const tp_engine_funnel_stage *x = &r->stages[s];
                json_t *st = json_object();

                if (eng_jappend(a, st) || eng_jput(st, "stage", json_integer(x->stage)) ||
                    eng_jput(st, "reached", eng_juint(x->reached)) || eng_jput(st, "converted", eng_juint(x->converted)) ||
                    eng_jput(st, "dropped", eng_juint(x->dropped)) || eng_jput(st, "conversion", eng_jnum(x->conversion)) ||
                    eng_jput(st, "drop_off", eng_jnum(x->drop_off)) || eng_jput(st, "timed", eng_juint(x->timed)) ||
                    eng_jput(st, "median_seconds", eng_jnum(x->median_seconds)))
                        return fail(o);
        }
        return o;
}

json_t *tp_engine_standing_json(const tp_engine_standing *r) {
        json_t *o = json_object(), *a = json_array();

        if (!o || !a || eng_jput(o, "total", eng_juint(r->total)) || eng_jput(o, "unstaged", eng_juint(r->unstaged)) ||
            eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned))) {
                json_decref(a);
                return fail(o);
        }
        if (eng_jput(o, "stages", a))
                return fail(o);
        for (uint32_t s = 0; s < r->nstages; s++) {
                json_t *st = json_object();

                if (eng_jappend(a, st) || eng_jput(st, "stage", json_integer(s)) ||
                    eng_jput(st, "customers", eng_juint(r->customers[s])))
                        return fail(o);
        }
        return o;
}

/* [{"touchpoint_id": id, "touchpoint": key}, ...] */
static json_t *tp_list(const int64_t *ids, uint32_t n, tp_engine_key_fn fn, void *arg) {
        json_t *a = json_array();

        if (!a)
                return NULL;
        for (uint32_t i = 0; i < n; i++) {
                json_t *t = json_object();

                if (eng_jappend(a, t) || eng_jtp(t, "touchpoint_id", "touchpoint", ids[i], fn, arg))
                        return fail(a);
        }
        return a;
}

json_t *tp_engine_paths_json(const tp_engine_paths *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *a = json_array();

        if (!o || !a || eng_jput(o, "customers", eng_juint(r->customers)) || eng_jput(o, "distinct", eng_juint(r->distinct)) ||
            eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned))) {
                json_decref(a);
                return fail(o);
        }
        if (eng_jput(o, "paths", a))
                return fail(o);
        for (size_t i = 0; i < r->nrows; i++) {
                json_t *p = json_object();

                if (eng_jappend(a, p) || eng_jput(p, "customers", eng_juint(r->rows[i].customers)) ||
                    eng_jput(p, "touchpoints", tp_list(r->rows[i].touchpoints, r->rows[i].len, key_fn, arg)))
                        return fail(o);
        }
        return o;
}

json_t *tp_engine_explorer_json(const tp_engine_explorer *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *nodes = json_array(), *links = json_array();

        if (!o || !nodes || !links) {
                json_decref(nodes);
                json_decref(links);
                return fail(o);
        }
        if (eng_jput(o, "nodes", nodes)) {
                json_decref(links);
                return fail(o);
        }
        if (eng_jput(o, "links", links) || eng_jtp(o, "start_id", "start", r->start, key_fn, arg) ||
            eng_jput(o, "depth", json_integer(r->depth)) || eng_jput(o, "customers", eng_juint(r->customers)) ||
            eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned)))
                return fail(o);
        for (size_t i = 0; i < r->nnodes; i++) {
                const tp_engine_sankey_node *x = &r->nodes[i];
                json_t *n = json_object();

                if (eng_jappend(nodes, n) || eng_jput(n, "step", json_integer(x->step)) ||
                    eng_jtp(n, "touchpoint_id", "touchpoint", x->touchpoint, key_fn, arg) ||
                    eng_jput(n, "customers", eng_juint(x->customers)) || eng_jput(n, "ended", eng_juint(x->ended)))
                        return fail(o);
        }
        for (size_t i = 0; i < r->nlinks; i++) {
                const tp_engine_sankey_link *x = &r->links[i];
                json_t *l = json_object();

                if (eng_jappend(links, l) || eng_jput(l, "step", json_integer(x->step)) ||
                    eng_jtp(l, "from_id", "from", x->from, key_fn, arg) ||
                    eng_jtp(l, "to_id", "to", x->to, key_fn, arg) || eng_jput(l, "customers", eng_juint(x->customers)))
                        return fail(o);
        }
        return o;
}

json_t *tp_engine_next_json(const tp_engine_next *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *a = json_array();

        if (!o || !a || eng_jput(o, "order", json_integer(r->order)) ||
            eng_jput(o, "order_used", json_integer(r->order_used)) ||
            eng_jtp(o, "last_id", "last", r->last, key_fn, arg) ||
            (r->prev && eng_jtp(o, "prev_id", "prev", r->prev, key_fn, arg)) ||
            eng_jput(o, "context_n", eng_juint(r->context_n)) || eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned))) {
                json_decref(a);
                return fail(o);
        }
        if (eng_jput(o, "next", a))
                return fail(o);
        for (size_t i = 0; i < r->nrows; i++) {
                json_t *n = json_object();

                if (eng_jappend(a, n) ||
                    eng_jtp(n, "touchpoint_id", "touchpoint", r->rows[i].touchpoint, key_fn, arg) ||
                    eng_jput(n, "n", eng_juint(r->rows[i].n)) || eng_jput(n, "p", eng_jnum(r->rows[i].p)))
                        return fail(o);
        }
        return o;
}

json_t *tp_engine_next_accuracy_json(const tp_engine_next_accuracy *r) {
        json_t *o = json_object();

        if (!o || eng_jput(o, "split", json_integer(r->split)) || eng_jput(o, "train", eng_juint(r->train)) ||
            eng_jput(o, "test", eng_juint(r->test)) || eng_jput(o, "unseen", eng_juint(r->unseen)) ||
            eng_jput(o, "fallback", eng_juint(r->fallback)) || eng_jput(o, "rows_scanned", eng_juint(r->rows_scanned)))
                return fail(o);
        for (int k = 0; k < 2; k++) {
                json_t *x = json_object();

                if (eng_jput(o, k ? "order2" : "order1", x) || eng_jput(x, "top1", eng_juint(r->top1[k])) ||
                    eng_jput(x, "top3", eng_juint(r->top3[k])) || eng_jput(x, "top1_rate", eng_jnum(r->top1_rate[k])) ||
                    eng_jput(x, "top3_rate", eng_jnum(r->top3_rate[k])))
                        return fail(o);
        }
        return o;
}
