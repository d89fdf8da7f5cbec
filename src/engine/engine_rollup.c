/* SPDX-License-Identifier: MIT */
/*
 * engine_rollup.c -- the rollups kept current at ingest.
 *
 *   scores       per touchpoint, one row of ENG_NSLOT counts per local day
 *                (metric x score), grown at either end as days appear: 152
 *                bytes per touchpoint-day, about 4.4 MB for 40 touchpoints over
 *                two years, whatever the number of responses;
 *   transitions  a dense touchpoint x touchpoint matrix of counts;
 *   last touch   purchases and revenue per touchpoint of the previous
 *                non-purchase event (slot 0: purchases with none);
 *   multi-touch  sums over the customers' paths for every attribution model
 *                but time decay (engine_mta.c).
 *
 * The path rollups depend on each customer's order.  An event at or after the
 * customer's latest one (the normal case) changes one transition and at most
 * one attribution, found in the customer's eng_cust; for multi-touch it
 * extends the customer's open path, or a purchase closes it (the path is read
 * back to the previous purchase).  A late event can change several (it splits
 * a transition, a non-purchase steals the purchases that follow it, a purchase
 * splits a path, a look-back window moves), so the customer's whole
 * contribution is taken out, the event inserted and the contribution added
 * back: O(events of that customer).
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"
#include "engine/engine_mta.h"

/* Slots: NPS 0..10 at 0, CSAT 1..5 at 11, CES 1..7 at 16, goal 0..2 at 23,
 * ease 1..7 at 26, emotion 1..5 at 33; 38 in all. */
const uint8_t eng_slot_base[_TP_METRIC_MAX + 1] = { 0, 11, 16, 23, 26, 33, 38 };
const int eng_score_lo[_TP_METRIC_MAX] = { 0, 1, 1, 0, 1, 1 };
const int eng_score_hi[_TP_METRIC_MAX] = { 10, 5, 7, 2, 7, 5 };

tp_rc eng_paths_grow(tp_engine *e, uint32_t ntp) {
        uint32_t cap;
        uint32_t *t;
        uint64_t *ap;
        int64_t *ar;

        if (ntp <= e->tcap)
                return eng_mta_grow(e, e->tcap); /* nothing to do unless it failed before */
        cap = eng_pow2(ntp, 16);
        if (eng_mta_grow(e, cap) != TP_OK)
                return TP_NOMEM;
        t = tp_calloc((size_t) cap * cap, sizeof(*t));
        ap = tp_calloc((size_t) cap + 1, sizeof(*ap));
        ar = tp_calloc((size_t) cap + 1, sizeof(*ar));
        if (!t || !ap || !ar) {
                tp_free(t);
                tp_free(ap);
                tp_free(ar);
                return TP_NOMEM;
        }
        for (uint32_t a = 0; a < e->tcap; a++)
                memcpy(t + (size_t) a * cap, e->trans + (size_t) a * e->tcap, e->tcap * sizeof(*t));
        if (e->tcap) {
                memcpy(ap, e->apurch, (e->tcap + 1) * sizeof(*ap));
                memcpy(ar, e->arev, (e->tcap + 1) * sizeof(*ar));
        }
        tp_free(e->trans);
        tp_free(e->apurch);
        tp_free(e->arev);
        e->trans = t;
        e->apurch = ap;
        e->arev = ar;
        e->tcap = cap;
        return TP_OK;
}

tp_rc eng_roll_reserve(tp_engine *e, uint16_t tp, int32_t day) {
        eng_roll *r = &e->roll[tp];
        int64_t lo, hi, grow;
        uint32_t *cnt;

        if (r->ndays && day >= r->day0 && (int64_t) day < (int64_t) r->day0 + r->ndays)
                return TP_OK;
        /* Grow by a quarter (and at least 32 days) toward the new day. */
        grow = r->ndays / 4 + 32;
        if (!r->ndays) {
                lo = day;
                hi = (int64_t) day + 32;
        } else if (day < r->day0) {
                lo = (int64_t) day < (int64_t) r->day0 - grow ? day : (int64_t) r->day0 - grow;
                hi = (int64_t) r->day0 + r->ndays;
        } else {
                lo = r->day0;
                hi = (int64_t) r->day0 + r->ndays + grow;
                if (hi < (int64_t) day + 1)
                        hi = (int64_t) day + 1;
        }
        cnt = tp_calloc((size_t) (hi - lo) * ENG_NSLOT, sizeof(*cnt));
        if (!cnt)
                return TP_NOMEM;
        if (r->ndays)
                memcpy(cnt + (size_t) (r->day0 - lo) * ENG_NSLOT,
                       r->cnt,
                       (size_t) r->ndays * ENG_NSLOT * sizeof(*cnt));
        tp_free(r->cnt);
        r->cnt = cnt;
        r->day0 = (int32_t) lo;
        r->ndays = (uint32_t) (hi - lo);
        return TP_OK;
}

void eng_roll_add(tp_engine *e, uint16_t tp, int32_t day, uint8_t slot) {
        eng_roll *r = &e->roll[tp];

        r->cnt[(size_t) (day - r->day0) * ENG_NSLOT + slot]++;
}

/* Add (sign 1) or take out (sign -1) one customer's events from the path
 * rollups (room reserved: eng_mta_reserve()); returns the customer's np: the
 * latest non-purchase touchpoint + 1 (0: none), and ENG_NP_CONV when the
 * latest event is a purchase. */
static uint16_t contrib(tp_engine *e, const eng_item *v, uint32_t n, int sign) {
        uint16_t np = 0;

        if (e->mta)
                eng_mta_cust(e, v, n, sign);

        for (uint32_t i = 0; i < n; i++) {
                const eng_rec *r = &v[i].r;

                if (i) {
                        uint32_t *t = &e->trans[(size_t) v[i - 1].r.tp * e->tcap + r->tp];

                        *t = sign > 0 ? *t + 1 : *t - 1;
                }
                if ((r->tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE) {
                        e->apurch[np] = sign > 0 ? e->apurch[np] + 1 : e->apurch[np] - 1;
                        e->arev[np] += sign > 0 ? v[i].value : -v[i].value;
                } else {
                        np = (uint16_t) (r->tp + 1);
                }
        }
        if (n && (v[n - 1].r.tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE)
                np = (uint16_t) (np | ENG_NP_CONV);
        return np;
}

/* Room for n items in the writer's scratch buffer. */
static tp_rc wbuf_reserve(tp_engine *e, size_t n) {
        size_t cap;
        eng_item *p;

        if (n <= e->wcap)
                return TP_OK;
        cap = e->wcap ? e->wcap : 64;
        while (cap < n)
                cap *= 2;
        if (!(p = tp_realloc(e->wbuf, cap * sizeof(*p))))
                return TP_NOMEM;
        e->wbuf = p;
        e->wcap = cap;
        return TP_OK;
}

tp_rc eng_paths_add(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value, tp_err *err) {
        eng_cust *L = &e->cust[c];
        int purchase = (r->tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE;
        uint32_t n;

        if (L->tp == ENG_TP_NONE || r->ts >= L->ts) {
                /* In order (an equal time comes later: its seq is larger). */
                if (e->mta && eng_mta_event(e, c, r, value) != TP_OK)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                if (L->tp != ENG_TP_NONE)
                        e->trans[(size_t) L->tp * e->tcap + r->tp]++;
                if (purchase) {
                        uint16_t np = L->np & ENG_NP_TP;

                        e->apurch[np]++;
                        e->arev[np] += value;
                        L->np = (uint16_t) (np | ENG_NP_CONV);
                } else {
                        L->np = (uint16_t) (r->tp + 1);
                }
                L->ts = r->ts;
                L->tp = r->tp;
                eng_delta_insert(e, c, r, value, 1);
                return TP_OK;
        }

        /* Late: take the customer out, insert, put it back. */
        if (wbuf_reserve(e, (size_t) eng_cust_len(e, c) + 1) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        n = eng_cust_events(e, c, e->wbuf);
        if (e->mta && eng_mta_reserve(e, e->wbuf, n, r, value) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        (void) contrib(e, e->wbuf, n, -1);
        eng_delta_insert(e, c, r, value, 0);
        n = eng_cust_events(e, c, e->wbuf);
        L->np = contrib(e, e->wbuf, n, 1);
        /* The latest event is unchanged: r is older than it (so is the flag). */
        return TP_OK;
}

tp_rc eng_rollups_rebuild(tp_engine *e) {
        if (eng_paths_grow(e, e->ntp) != TP_OK)
                return TP_NOMEM;
        /* Scores: zero every touchpoint's days (keeping the arrays), then count
         * each response again. */
        for (uint32_t t = 0; t < e->ntp; t++)
                if (e->roll[t].ndays)
                        memset(e->roll[t].cnt, 0, (size_t) e->roll[t].ndays * ENG_NSLOT * sizeof(uint32_t));
        for (uint32_t k = 0; k < e->nrblocks; k++) {
                const eng_rblock *b = e->rblocks[k];

                for (uint32_t i = 0; i < b->n; i++) {
                        int32_t day = eng_day(b->ts[i], e->o.tz_offset);

                        if (eng_roll_reserve(e, b->tp[i], day) != TP_OK)
                                return TP_NOMEM;
                        eng_roll_add(e, b->tp[i], day, b->slot[i]);
                }
        }
        /* Paths: every customer's contribution from its ordered events, and the
         * per-customer state the in-order fast path of eng_paths_add() reads. */
        if (e->tcap) {
                memset(e->trans, 0, (size_t) e->tcap * e->tcap * sizeof(*e->trans));
                memset(e->apurch, 0, ((size_t) e->tcap + 1) * sizeof(*e->apurch));
                memset(e->arev, 0, ((size_t) e->tcap + 1) * sizeof(*e->arev));
        }
        eng_mta_clear(e);
        for (uint32_t c = 0, vr = 0; c < e->ncust; c++) {
                eng_cust *L = &e->cust[c];
                uint32_t n;

                if (wbuf_reserve(e, eng_cust_len(e, c)) != TP_OK)
                        return TP_NOMEM;
                /* Customers walked in order, the rank of the next valued
                 * compacted event is carried along, rather than found again
                 * from the last checkpoint for each (eng_value_rank): that
                 * search was more than half of a start from a snapshot. */
                if (c < e->snc && e->cust[c].dhead == ENG_NONE) {
                        uint32_t s = e->soff[c];

                        n = e->soff[c + 1] - s;
                        for (uint32_t i = 0; i < n; i++) {
                                const eng_rec *r = &e->srec[s + i];

                                e->wbuf[i] = (eng_item){ .r = *r, .value = (r->tb & ENG_TB_VALUE) ? e->svals[vr++] : 0 };
                        }
                } else {
                        n = eng_cust_events(e, c, e->wbuf);
                        if (c < e->snc)
                                for (uint32_t i = e->soff[c]; i < e->soff[c + 1]; i++)
                                        vr += (e->srec[i].tb & ENG_TB_VALUE) != 0;
                }
                if (e->mta && eng_mta_reserve(e, e->wbuf, n, NULL, 0) != TP_OK)
                        return TP_NOMEM;
                L->np = contrib(e, e->wbuf, n, 1);
                L->tp = n ? e->wbuf[n - 1].r.tp : ENG_TP_NONE;
                L->ts = n ? e->wbuf[n - 1].r.ts : 0;
        }
        return TP_OK;
}

void eng_rollup_done(tp_engine *e) {
        for (uint32_t t = 0; t < e->ntp; t++)
                tp_free(e->roll[t].cnt);
        tp_free(e->roll);
        tp_free(e->trans);
        tp_free(e->apurch);
        tp_free(e->arev);
        tp_free(e->wbuf);
        eng_mta_free(e);
}
