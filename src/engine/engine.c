/* SPDX-License-Identifier: MIT */
/*
 * engine.c -- the engine's life cycle, locks, ingest entry points and the
 * memory breakdown (loading from the store is engine_load.c).
 *
 * Locking (see engine.h): wmu serialises writers; rw is held exclusively only
 * while a writer changes the columns.  The unlocked row functions eng_ev_add()
 * and eng_rs_add() need both held; compaction needs wmu only (it takes rw for
 * its swap), so it runs between batches, never inside one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"
#include "engine/engine_mta.h"

#define BATCH 65536 /* rows applied per exclusive hold of rw */

void tp_engine_opts_init(tp_engine_opts *o) {
        memset(o, 0, sizeof(*o));
        o->tz_offset = TP_ENGINE_TZ_DEFAULT;
        o->min_n = 30;
        o->max_groups = 100000;
        o->max_rows = 0;
        o->delta_min = 1u << 20;
        o->attrib_lookback = 90 * 86400;
}

tp_rc tp_engine_new(const tp_engine_opts *opts, tp_engine **ret, tp_err *err) {
        pthread_rwlockattr_t attr;
        tp_engine *e;

        if (opts && (opts->tz_offset <= -86400 || opts->tz_offset >= 86400))
                return tp_err_setf(
                        err,
                        TP_INVALID,
                        "tz_offset",
                        "time-zone offset %d s is not within a day",
                        (int) opts->tz_offset);
        if (opts && opts->scan_threads > 2)
                return tp_err_setf(err, TP_INVALID, "scan_threads", "scan_threads is 0, 1 or 2");
        if (opts && opts->attrib_lookback < 0)
                return tp_err_setf(
                        err, TP_INVALID, "attrib_lookback", "the look-back window cannot be negative");
        if (!(e = tp_calloc(1, sizeof(*e))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        if (opts)
                e->o = *opts;
        else
                tp_engine_opts_init(&e->o);
        if (e->o.delta_min == 0)
                e->o.delta_min = 1;
        e->compact_at = e->o.delta_min;
        if (eng_dict_init(e) != TP_OK) {
                eng_dict_done(e);
                tp_free(e);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        /* Prefer writers: a steady stream of dashboard queries must not starve
         * ingest (glibc's default lets readers overtake a waiting writer). */
        pthread_rwlockattr_init(&attr);
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
        pthread_rwlock_init(&e->rw, &attr);
        pthread_rwlockattr_destroy(&attr);
        pthread_mutex_init(&e->wmu, NULL);
        *ret = e;
        return TP_OK;
}

void tp_engine_free(tp_engine *e) {
        if (!e)
                return;
        eng_rollup_done(e);
        eng_column_done(e);
        eng_dict_done(e);
        pthread_rwlock_destroy(&e->rw);
        pthread_mutex_destroy(&e->wmu);
        tp_free(e);
}

/* ---- rows ---------------------------------------------------------------- */

static tp_rc check_ts(int64_t ts, tp_err *err) {
        if (ts < 0 || ts > (int64_t) UINT32_MAX)
                return tp_err_setf(
                        err, TP_UNPROCESSABLE, "ts", "time %lld is outside 1970..2106", (long long) ts);
        return TP_OK;
}

static tp_rc channel_code(tp_engine *e, const char *ch, uint8_t *ret, tp_err *err) {
        if (!ch || !*ch) {
                *ret = 0;
                return TP_OK;
        }
        return eng_sdict_intern(&e->chans, ch, "channel", ret, err);
}

tp_rc eng_ev_add(tp_engine *e, int64_t seq, const tp_event *ev, tp_err *err) {
        uint8_t ch = 0, type = 0;
        uint16_t tp = 0;
        uint32_t c = 0;
        eng_rec r;
        tp_rc rc;

        if (seq <= e->last_eseq)
                return TP_OK; /* already applied */
        if ((rc = check_ts(ev->ts, err)) != TP_OK)
                return rc;
        if (!ev->type || !*ev->type)
                return tp_err_setf(err, TP_UNPROCESSABLE, "type", "an event needs a type");
        if (!ev->customer) {
                e->nanon++;
                e->last_eseq = seq;
                return TP_OK;
        }
        if ((uint64_t) e->nsealed + e->ndelta >= UINT32_MAX - 1)
                return tp_err_setf(err, TP_UNPROCESSABLE, "event", "the engine holds the most events it can");
        if ((rc = eng_tp_intern(e, ev->touchpoint, &tp, err)) != TP_OK ||
            (rc = channel_code(e, ev->channel, &ch, err)) != TP_OK ||
            (rc = eng_sdict_intern(&e->types, ev->type, "type", &type, err)) != TP_OK ||
            (rc = eng_cust_intern(e, ev->customer, &c, err)) != TP_OK)
                return rc;
        if (eng_delta_reserve(e) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        r = (eng_rec){ .ts = (uint32_t) ev->ts,
                       .tp = tp,
                       .ch = ch,
                       .tb = (uint8_t) (type | (ev->has_value ? ENG_TB_VALUE : 0)) };
        if ((rc = eng_paths_add(e, c, &r, ev->has_value ? ev->value : 0, err)) != TP_OK)
                return rc;
        if (!e->nevents || r.ts < e->emin_ts)
                e->emin_ts = r.ts;
        if (!e->nevents || r.ts > e->emax_ts)
                e->emax_ts = r.ts;
        e->nevents++;
        e->last_eseq = seq;
        return TP_OK;
}

tp_rc eng_rs_add(tp_engine *e, int64_t seq, const tp_response *rsp, tp_err *err) {
        uint32_t c = ENG_NONE, i;
        uint16_t tp = 0;
        uint8_t ch = 0;
        uint16_t tset = 0;
        int32_t day;
        eng_rblock *b;
        tp_rc rc;

        if (seq <= e->last_rseq)
                return TP_OK;
        if ((unsigned) rsp->metric >= _TP_METRIC_MAX)
                return tp_err_setf(err, TP_UNPROCESSABLE, "metric", "unknown metric %d", (int) rsp->metric);
        if (rsp->score < eng_score_lo[rsp->metric] || rsp->score > eng_score_hi[rsp->metric])
                return tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "score",
                        "score %d is out of range for %s",
                        rsp->score,
                        tp_metric_name(rsp->metric));
        if ((rc = check_ts(rsp->ts, err)) != TP_OK)
                return rc;
        if ((rc = eng_tp_intern(e, rsp->touchpoint, &tp, err)) != TP_OK ||
            (rc = channel_code(e, rsp->channel, &ch, err)) != TP_OK)
                return rc;
        if (rsp->customer && (rc = eng_cust_intern(e, rsp->customer, &c, err)) != TP_OK)
                return rc;
        if (eng_tset_intern(e, rsp->themes, &tset) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        day = eng_day(rsp->ts, e->o.tz_offset);
        if (eng_roll_reserve(e, tp, day) != TP_OK || eng_resp_reserve(e) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        b = e->rblocks[e->nrblocks - 1];
        i = b->n++;
        b->ts[i] = (uint32_t) rsp->ts;
        b->cust[i] = c;
        b->tp[i] = tp;
        b->ch[i] = ch;
        b->slot[i] = (uint8_t) (eng_slot_base[rsp->metric] + rsp->score - eng_score_lo[rsp->metric]);
        b->sent[i] = (uint8_t) (rsp->sentiment >= 0 && rsp->sentiment <= 3 ? rsp->sentiment : 0);
        b->tset[i] = tset;
        if (b->ts[i] < b->min_ts)
                b->min_ts = b->ts[i];
        if (b->ts[i] > b->max_ts)
                b->max_ts = b->ts[i];
        if (!e->nresp || b->ts[i] < e->rmin_ts)
                e->rmin_ts = b->ts[i];
        if (!e->nresp || b->ts[i] > e->rmax_ts)
                e->rmax_ts = b->ts[i];
        eng_roll_add(e, tp, day, b->slot[i]);
        e->nresp++;
        e->last_rseq = seq;
        return TP_OK;
}

/* ---- locking wrappers ---------------------------------------------------- */

void eng_compacted(tp_engine *e) {
        uint32_t at = e->nsealed / 8;

        e->compact_at = at > e->o.delta_min ? at : e->o.delta_min;
}

/* wmu held, rw not held. */
static void maybe_compact(tp_engine *e) {
        if (e->ndelta < e->compact_at)
                return;
        if (eng_compact(e, NULL) == TP_OK) {
                eng_compacted(e);
        } else {
                /* Out of memory: the rows are safe in the delta; try again when
                 * it has doubled rather than on every row. */
                e->compact_at = e->ndelta < UINT32_MAX / 2 ? e->ndelta * 2 : UINT32_MAX;
        }
}

tp_rc tp_engine_add_event(tp_engine *e, int64_t seq, const tp_event *ev, tp_err *err) {
        tp_rc rc;

        pthread_mutex_lock(&e->wmu);
        pthread_rwlock_wrlock(&e->rw);
        rc = eng_ev_add(e, seq, ev, err);
        pthread_rwlock_unlock(&e->rw);
        maybe_compact(e);
        pthread_mutex_unlock(&e->wmu);
        return rc;
}

tp_rc tp_engine_add_response(tp_engine *e, int64_t seq, const tp_response *r, tp_err *err) {
        tp_rc rc;

        pthread_mutex_lock(&e->wmu);
        pthread_rwlock_wrlock(&e->rw);
        rc = eng_rs_add(e, seq, r, err);
        pthread_rwlock_unlock(&e->rw);
        pthread_mutex_unlock(&e->wmu);
        return rc;
}

tp_rc tp_engine_add_events(
        tp_engine *e, const int64_t *seqs, const tp_event *evs, size_t n, size_t *ret_done, tp_err *err) {
        tp_rc rc = TP_OK;
        size_t i = 0;

        pthread_mutex_lock(&e->wmu);
        while (i < n && rc == TP_OK) {
                size_t end = n - i > BATCH ? i + BATCH : n;

                pthread_rwlock_wrlock(&e->rw);
                for (; i < end; i++) {
                        eng_prefetch_ahead(e, &evs[0].customer, sizeof(*evs), i, end);
                        if ((rc = eng_ev_add(e, seqs[i], &evs[i], err)) != TP_OK)
                                break;
                }
                pthread_rwlock_unlock(&e->rw);
                maybe_compact(e);
        }
        pthread_mutex_unlock(&e->wmu);
        if (ret_done)
                *ret_done = i;
        return rc;
}

tp_rc tp_engine_add_responses(
        tp_engine *e, const int64_t *seqs, const tp_response *rs, size_t n, size_t *ret_done, tp_err *err) {
        tp_rc rc = TP_OK;
        size_t i = 0;

        pthread_mutex_lock(&e->wmu);
        while (i < n && rc == TP_OK) {
                size_t end = n - i > BATCH ? i + BATCH : n;

                pthread_rwlock_wrlock(&e->rw);
                for (; i < end; i++) {
                        eng_prefetch_ahead(e, &rs[0].customer, sizeof(*rs), i, end);
                        if ((rc = eng_rs_add(e, seqs[i], &rs[i], err)) != TP_OK)
                                break;
                }
                pthread_rwlock_unlock(&e->rw);
        }
        pthread_mutex_unlock(&e->wmu);
        if (ret_done)
                *ret_done = i;
        return rc;
}

void tp_engine_last_seq(tp_engine *e, int64_t *ret_event_seq, int64_t *ret_response_seq) {
        pthread_rwlock_rdlock(&e->rw);
        if (ret_event_seq)
                *ret_event_seq = e->last_eseq;
        if (ret_response_seq)
                *ret_response_seq = e->last_rseq;
        pthread_rwlock_unlock(&e->rw);
}

tp_rc tp_engine_compact(tp_engine *e, tp_err *err) {
        tp_rc rc;

        pthread_mutex_lock(&e->wmu);
        rc = eng_compact(e, err);
        if (rc == TP_OK)
                eng_compacted(e);
        pthread_mutex_unlock(&e->wmu);
        return rc;
}

/* ---- memory -------------------------------------------------------------- */

void tp_engine_memory(tp_engine *e, tp_engine_mem *ret) {
        tp_engine_mem m = { 0 };
        size_t ev;

        pthread_rwlock_rdlock(&e->rw);
        m.events = e->nevents;
        m.anonymous = e->nanon;
        m.responses = e->nresp;
        m.refused = e->nrefused;
        m.customers = e->ncust;
        m.touchpoints = e->ntp;
        m.customer_dict = (size_t) e->ncslots * sizeof(*e->cslots) + e->names_cap;
        m.customer_state = (size_t) e->capcust * sizeof(*e->cust) +
                (e->soff ? ((size_t) e->snc + 1) * sizeof(*e->soff) : 0) +
                (size_t) e->nsvcheck * sizeof(*e->svcheck) + e->wcap * sizeof(*e->wbuf) + eng_cdim_bytes(e);
        m.small_dicts = sizeof(*e) + (size_t) e->captp * sizeof(*e->tp_ids) +
                (size_t) e->ntpslots * sizeof(*e->tpslots) +
                ((size_t) e->chans.max + e->types.max + e->tkeys.max) * sizeof(e->chans.names[0]) +
                (size_t) e->captsets * (sizeof(*e->tsets) + 2 * sizeof(*e->tsslots));
        m.event_columns = (size_t) e->nsealed * sizeof(*e->srec);
        m.event_values = (size_t) e->nsvals * sizeof(*e->svals);
        m.event_delta = ((size_t) e->ndchunks << ENG_DCHUNK_BITS) * sizeof(eng_delta) +
                (size_t) e->capdchunks * sizeof(*e->dchunks);
        m.transitions = (size_t) e->tcap * e->tcap * sizeof(*e->trans);
        m.attribution = e->tcap ? ((size_t) e->tcap + 1) * (sizeof(*e->apurch) + sizeof(*e->arev)) : 0;
        m.attribution_paths = eng_mta_bytes(e);
        m.response_columns = (size_t) e->nrblocks * sizeof(eng_rblock) +
                (size_t) e->caprblocks * sizeof(*e->rblocks);
        m.score_rollup = (size_t) e->captp * sizeof(*e->roll);
        for (uint32_t t = 0; t < e->ntp; t++)
                m.score_rollup += (size_t) e->roll[t].ndays * ENG_NSLOT * sizeof(uint32_t);
        pthread_rwlock_unlock(&e->rw);

        ev = m.customer_dict + m.customer_state + m.event_columns + m.event_values + m.event_delta +
                m.transitions + m.attribution + m.attribution_paths;
        m.total = ev + m.small_dicts + m.response_columns + m.score_rollup;
        m.per_event = m.events ? (double) ev / (double) m.events : 0.0;
        m.per_response = m.responses ? (double) (m.response_columns + m.score_rollup) / (double) m.responses :
                                       0.0;
        *ret = m;
}

int32_t tp_engine_tz(const tp_engine *e) {
        return e->o.tz_offset; /* set at creation, never changed: no lock */
}
