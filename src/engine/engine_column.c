/* SPDX-License-Identifier: MIT */
/*
 * engine_column.c -- the event and response columns.
 *
 * Events: a compacted part in customer order (8-byte records, a per-customer
 * offset array, values of the few valued events in a separate sparse array
 * reached by rank) and a delta of recent events (see engine_int.h).
 * Compaction merges the delta in with one counting sort by customer, a stable
 * insertion sort of each customer's (nearly sorted) run by time, and one merge
 * pass; it builds the new arrays without the lock, since only the writer
 * changes the columns and it is busy building, and takes the write lock only to
 * swap pointers.
 *
 * Rejected: one growable array per customer (a million small allocations with
 * 25-50% slack and malloc headers: about 7 bytes per event more, and a scan
 * jumps around the heap) and a linked list through all events (4 more bytes per
 * event and a cache miss per event in every path scan).
 *
 * Responses: blocks of ENG_RBLK rows holding one array per column and the
 * block's time range, so a time-ranged scan skips whole blocks (responses
 * arrive in roughly time order) and never reallocates a big array.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

tp_rc eng_delta_reserve(tp_engine *e) {
        uint32_t k = e->ndelta >> ENG_DCHUNK_BITS;

        if (k < e->ndchunks)
                return TP_OK;
        if (e->ndchunks == e->capdchunks) {
                uint32_t n = e->capdchunks ? e->capdchunks * 2 : 16;
                eng_delta **p = tp_realloc(e->dchunks, (size_t) n * sizeof(*p));

                if (!p)
                        return TP_NOMEM;
                e->dchunks = p;
                e->capdchunks = n;
        }
        if (!(e->dchunks[e->ndchunks] = tp_malloc(sizeof(eng_delta) << ENG_DCHUNK_BITS)))
                return TP_NOMEM;
        e->ndchunks++;
        return TP_OK;
}

tp_rc eng_resp_reserve(tp_engine *e) {
        eng_rblock *b;

        if (e->nrblocks && e->rblocks[e->nrblocks - 1]->n < ENG_RBLK)
                return TP_OK;
        if (e->nrblocks == e->caprblocks) {
                uint32_t n = e->caprblocks ? e->caprblocks * 2 : 64;
                eng_rblock **p = tp_realloc(e->rblocks, (size_t) n * sizeof(*p));

                if (!p)
                        return TP_NOMEM;
                e->rblocks = p;
                e->caprblocks = n;
        }
        if (!(b = tp_malloc(sizeof(*b))))
                return TP_NOMEM;
        b->n = 0;
        b->min_ts = UINT32_MAX;
        b->max_ts = 0;
        e->rblocks[e->nrblocks++] = b;
        return TP_OK;
}

uint32_t eng_cust_len(const tp_engine *e, uint32_t c) {
        uint32_t n = c < e->snc ? e->soff[c + 1] - e->soff[c] : 0;

        for (uint32_t d = e->cust[c].dhead; d != ENG_NONE; d = eng_dget(e, d)->next)
                n++;
        return n;
}

uint32_t eng_value_rank(const tp_engine *e, uint32_t c) {
        uint32_t k = c >> ENG_VCHECK_BITS;
        uint32_t r, i, end;

        if (c >= e->snc)
                return e->nsvals;
        r = e->svcheck[k];
        end = e->soff[c];
        for (i = e->soff[k << ENG_VCHECK_BITS]; i < end; i++)
                r += (e->srec[i].tb & ENG_TB_VALUE) != 0;
        return r;
}

uint32_t eng_cust_events(const tp_engine *e, uint32_t c, eng_item *buf) {
        uint32_t s = 0, sn = 0, dn = 0, v, k;
        int64_t i, j;

        if (c < e->snc) {
                s = e->soff[c];
                sn = e->soff[c + 1] - s;
        }
        for (uint32_t d = e->cust[c].dhead; d != ENG_NONE; d = eng_dget(e, d)->next)
                dn++;
        /* The delta, oldest first, at the front of buf ... */
        k = dn;
        for (uint32_t d = e->cust[c].dhead; d != ENG_NONE; d = eng_dget(e, d)->next) {
                const eng_delta *x = eng_dget(e, d);

                buf[--k] = (eng_item){ .r = x->r, .value = x->value };
        }
        /* ... then the compacted events merged in from the back, which never
         * overwrites a delta event not yet moved (the write position stays
         * above it).  A delta event goes after a compacted one with the same
         * time: its seq is larger. */
        v = eng_value_rank(e, c);
        for (uint32_t t = 0; t < sn; t++)
                v += (e->srec[s + t].tb & ENG_TB_VALUE) != 0;
        i = (int64_t) sn - 1;
        j = (int64_t) dn - 1;
        k = sn + dn;
        while (i >= 0) {
                const eng_rec *r = &e->srec[s + (uint32_t) i];

                if (j >= 0 && buf[j].r.ts >= r->ts) {
                        buf[--k] = buf[j--];
                } else {
                        buf[--k] = (eng_item){ .r = *r, .value = (r->tb & ENG_TB_VALUE) ? e->svals[--v] : 0 };
                        i--;
                }
        }
        return sn + dn;
}

int64_t eng_cust_read(const tp_engine *e, uint32_t c, const eng_filter *f, eng_item **buf, size_t *cap) {
        uint32_t n = eng_cust_len(e, c);

        if (n > *cap) {
                size_t nc = *cap ? *cap : 64;
                eng_item *b;

                while (nc < n)
                        nc *= 2;
                if (!(b = tp_realloc(*buf, nc * sizeof(*b))))
                        return -1;
                *buf = b;
                *cap = nc;
        }
        return eng_filter_events(f, *buf, eng_cust_events(e, c, *buf));
}

void eng_delta_insert(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value, int latest) {
        uint32_t idx = e->ndelta++;
        eng_delta *x = eng_dget(e, idx);
        uint32_t prev = ENG_NONE, cur = e->cust[c].dhead;

        /* Newest first: walk past the later events (few, for a late arrival;
         * none, and no read of the old head, for the latest). */
        while (!latest && cur != ENG_NONE && eng_dget(e, cur)->r.ts > r->ts) {
                prev = cur;
                cur = eng_dget(e, cur)->next;
        }
        x->r = *r;
        x->cust = c;
        x->next = cur;
        x->value = value;
        if (prev == ENG_NONE)
                e->cust[c].dhead = idx;
        else
                eng_dget(e, prev)->next = idx;
}

/* Stable insertion sort by time: runs arrive nearly sorted. */
static void sort_run(eng_item *v, uint32_t n) {
        for (uint32_t i = 1; i < n; i++) {
                eng_item x = v[i];
                uint32_t j = i;

                while (j > 0 && v[j - 1].r.ts > x.r.ts) {
                        v[j] = v[j - 1];
                        j--;
                }
                v[j] = x;
        }
}

tp_rc eng_compact(tp_engine *e, tp_err *err) {
        uint32_t nc = e->ncust, D = e->ndelta, S = e->nsealed;
        uint32_t N = S + D, nv = e->nsvals, w = 0, wv = 0, sv = 0;
        uint32_t *dstart = NULL, *noff = NULL, *ncheck = NULL, nncheck;
        eng_item *tmp = NULL;
        eng_rec *nrec = NULL;
        int64_t *nvals = NULL;
        tp_rc rc = TP_NOMEM;

        if (D == 0)
                return TP_OK;
        nncheck = (nc >> ENG_VCHECK_BITS) + 1;
        dstart = tp_calloc((size_t) nc + 1, sizeof(*dstart));
        noff = tp_malloc(((size_t) nc + 1) * sizeof(*noff));
        ncheck = tp_malloc((size_t) nncheck * sizeof(*ncheck));
        tmp = tp_malloc((size_t) D * sizeof(*tmp));
        nrec = tp_malloc((size_t) N * sizeof(*nrec));
        if (!dstart || !noff || !ncheck || !tmp || !nrec)
                goto out;

        /* Counting sort of the delta by customer, arrival (= seq) order kept. */
        for (uint32_t d = 0; d < D; d++) {
                const eng_delta *x = eng_dget(e, d);

                dstart[x->cust + 1]++;
                nv += (x->r.tb & ENG_TB_VALUE) != 0;
        }
        for (uint32_t c = 0; c < nc; c++)
                dstart[c + 1] += dstart[c];
        for (uint32_t d = 0; d < D; d++) {
                const eng_delta *x = eng_dget(e, d);

                tmp[dstart[x->cust]++] = (eng_item){ .r = x->r, .value = x->value };
        }
        /* dstart[c] is now the end of customer c's run. */
        if (nv && !(nvals = tp_malloc((size_t) nv * sizeof(*nvals))))
                goto out;

        /* Merge each customer's compacted run with its sorted delta run. */
        noff[0] = 0;
        for (uint32_t c = 0; c < nc; c++) {
                uint32_t ds = c ? dstart[c - 1] : 0, de = dstart[c];
                uint32_t ss = c < e->snc ? e->soff[c] : 0, se = c < e->snc ? e->soff[c + 1] : 0;

                if ((c & ((1u << ENG_VCHECK_BITS) - 1)) == 0)
                        ncheck[c >> ENG_VCHECK_BITS] = wv;
                sort_run(tmp + ds, de - ds);
                while (ss < se || ds < de) {
                        /* Equal times: the compacted event first (smaller seq). */
                        if (ds == de || (ss < se && e->srec[ss].ts <= tmp[ds].r.ts)) {
                                nrec[w] = e->srec[ss];
                                if (nrec[w].tb & ENG_TB_VALUE)
                                        nvals[wv++] = e->svals[sv++];
                                ss++;
                        } else {
                                nrec[w] = tmp[ds].r;
                                if (nrec[w].tb & ENG_TB_VALUE)
                                        nvals[wv++] = tmp[ds].value;
                                ds++;
                        }
                        w++;
                }
                noff[c + 1] = w;
        }
        if ((nc & ((1u << ENG_VCHECK_BITS) - 1)) == 0)
                ncheck[nc >> ENG_VCHECK_BITS] = wv;

        /* Swap under the write lock; the old arrays are freed after it. */
        pthread_rwlock_wrlock(&e->rw);
        {
                eng_rec *orec = e->srec;
                uint32_t *ooff = e->soff, *ocheck = e->svcheck;
                int64_t *ovals = e->svals;

                e->srec = nrec;
                e->nsealed = N;
                e->soff = noff;
                e->snc = nc;
                e->svals = nvals;
                e->nsvals = nv;
                e->svcheck = ncheck;
                e->nsvcheck = nncheck;
                for (uint32_t c = 0; c < nc; c++)
                        e->cust[c].dhead = ENG_NONE;
                e->ndelta = 0;
                for (uint32_t k = 0; k < e->ndchunks; k++)
                        tp_free(e->dchunks[k]);
                tp_free(e->dchunks);
                e->dchunks = NULL;
                e->ndchunks = e->capdchunks = 0;
                nrec = orec;
                noff = ooff;
                ncheck = ocheck;
                nvals = ovals;
        }
        pthread_rwlock_unlock(&e->rw);
        rc = TP_OK;
out:
        tp_free(dstart);
        tp_free(noff);
        tp_free(ncheck);
        tp_free(tmp);
        tp_free(nrec);
        tp_free(nvals);
        if (rc != TP_OK)
                return tp_err_set(err, rc, "out of memory compacting %u events", N);
        return TP_OK;
}

void eng_column_done(tp_engine *e) {
        for (uint32_t k = 0; k < e->ndchunks; k++)
                tp_free(e->dchunks[k]);
        tp_free(e->dchunks);
        for (uint32_t b = 0; b < e->nrblocks; b++)
                tp_free(e->rblocks[b]);
        tp_free(e->rblocks);
        tp_free(e->srec);
        tp_free(e->soff);
        tp_free(e->svals);
        tp_free(e->svcheck);
}
