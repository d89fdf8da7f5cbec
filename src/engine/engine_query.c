/* SPDX-License-Identifier: MIT */
/*
 * engine_query.c -- scores, transitions and last-touch attribution.
 *
 * Scores: groups are keyed by (bucket, touchpoint, channel) packed into one
 * integer; the accumulators (ENG_NSLOT counts each) are found through a dense
 * index when the key space is small, a hash table otherwise.  Whole local days
 * come from the rollup; the parts of a range that cut a day, channel filters and
 * channel groups come from a scan of the response blocks, which skips blocks
 * outside the range by their time bounds.  The statistics are computed once
 * per group from its counts, so the rollup and the scan give identical rows.
 *
 * Paths: the rollups answer the all-time questions; a time range or a
 * look-back window scans every customer's events in order (compacted events
 * front to back, the few customers with recent events merged first).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "engine/engine_int.h"

#define Z95 1.96
#define DENSE_MAX (1u << 20) /* key spaces up to this use a dense index (4 MB) */

void eng_civil(int64_t days, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d) {
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1;
        int64_t m = mp < 10 ? mp + 3 : mp - 9;

        *ret_y = yoe + era * 400 + (m <= 2);
        *ret_m = (unsigned) m;
        *ret_d = (unsigned) d;
}

void tp_engine_scores_query_init(tp_engine_scores_query *q) {
        memset(q, 0, sizeof(*q));
        q->from = INT64_MIN;
        q->to = INT64_MAX;
}

void tp_engine_path_query_init(tp_engine_path_query *q) {
        memset(q, 0, sizeof(*q));
        q->from = INT64_MIN;
        q->to = INT64_MAX;
}

/* ---- statistics ---------------------------------------------------------- */

static void nps_of(const uint64_t *c, uint32_t min_n, tp_engine_nps *o) {
        uint64_t n = 0;

        for (int s = 0; s <= 10; s++)
                n += c[s];
        o->n = n;
        o->promoters = c[9] + c[10];
        o->passives = c[7] + c[8];
        o->detractors = n - o->promoters - o->passives;
        o->low_volume = n < min_n;
        if (!n) {
                o->score = o->margin = NAN;
                return;
        }
        {
                double p = (double) o->promoters / (double) n, d = (double) o->detractors / (double) n;
                double var = p + d - (p - d) * (p - d);

                /* The same operations as 100.0 * (P - D) / n in SQL. */
                o->score = 100.0 * (double) ((int64_t) o->promoters - (int64_t) o->detractors) / (double) n;
                o->margin = Z95 * sqrt(var > 0 ? var / (double) n : 0.0) * 100.0;
        }
}

/* Counts c[0..k) for scores lo..lo+k-1: n, the mean and how many are >= top. */
static void dist_of(
        const uint64_t *c, int k, int lo, int top, uint64_t *ret_n, uint64_t *ret_top, double *ret_mean) {
        uint64_t n = 0, t = 0, sum = 0;

        for (int s = 0; s < k; s++) {
                n += c[s];
                sum += c[s] * (uint64_t) (s + lo);
                if (s + lo >= top)
                        t += c[s];
        }
        *ret_n = n;
        *ret_top = t;
        *ret_mean = n ? (double) sum / (double) n : NAN;
}

static void csat_of(const uint64_t *c, uint32_t min_n, tp_engine_csat *o) {
        dist_of(c, 5, 1, 4, &o->n, &o->top2, &o->mean);
        o->low_volume = o->n < min_n;
        if (!o->n) {
                o->pct = o->lo = o->hi = NAN;
                return;
        }
        {
                /* Wilson score interval: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n). */
                double n = (double) o->n, p = (double) o->top2 / n, z2 = Z95 * Z95;
                double den = 1.0 + z2 / n, mid = p + z2 / (2.0 * n);
                double half = Z95 * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));

                o->pct = 100.0 * (double) o->top2 / n;
                o->lo = 100.0 * (mid - half) / den;
                o->hi = 100.0 * (mid + half) / den;
        }
}

static void ces_of(const uint64_t *c, uint32_t min_n, tp_engine_ces *o) {
        dist_of(c, 7, 1, 5, &o->n, &o->easy, &o->mean);
        o->low_volume = o->n < min_n;
        o->pct_easy = o->n ? 100.0 * (double) o->easy / (double) o->n : NAN;
}

static void factor_of(const uint64_t *c, int k, int lo, int top, uint32_t min_n, tp_engine_factor *o) {
        dist_of(c, k, lo, top, &o->n, &o->top, &o->mean);
        o->low_volume = o->n < min_n;
        o->pct_top = o->n ? 100.0 * (double) o->top / (double) o->n : NAN;
}

/* The metric of each slot. */
static const uint8_t slot_metric[ENG_NSLOT] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2,
        2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5,
};

static void row_stats(const uint64_t *c, uint32_t min_n, tp_engine_score_row *r) {
        nps_of(c + eng_slot_base[TP_METRIC_NPS], min_n, &r->nps);
        csat_of(c + eng_slot_base[TP_METRIC_CSAT], min_n, &r->csat);
        ces_of(c + eng_slot_base[TP_METRIC_CES], min_n, &r->ces);
        factor_of(c + eng_slot_base[TP_METRIC_GOAL], 3, 0, 2, min_n, &r->goal);
        factor_of(c + eng_slot_base[TP_METRIC_EASE], 7, 1, 5, min_n, &r->ease);
        factor_of(c + eng_slot_base[TP_METRIC_EMOTION], 5, 1, 4, min_n, &r->emotion);
}

/* ---- group accumulators -------------------------------------------------- */

typedef struct accmap {
        uint64_t space;  /* keys are < space */
        uint32_t *dense; /* key -> accumulator + 1, when space <= DENSE_MAX */
        eng_hmap h;      /* otherwise key -> accumulator + 1 */
        uint64_t *acc;  /* nacc x ENG_NSLOT counts */
        uint64_t *keys; /* key of each accumulator */
        uint32_t nacc, cap;
        uint64_t max_groups; /* 0: no limit */
        tp_rc rc;            /* sticky failure */
} accmap;

static tp_rc accmap_init(accmap *m, uint64_t space, uint64_t max_groups) {
        memset(m, 0, sizeof(*m));
        m->space = space;
        m->max_groups = max_groups;
        if (space <= DENSE_MAX) {
                if (!(m->dense = tp_calloc((size_t) space, sizeof(*m->dense))))
                        return TP_NOMEM;
        }
        return TP_OK;
}

static void accmap_done(accmap *m) {
        tp_free(m->dense);
        eng_hmap_done(&m->h);
        tp_free(m->acc);
        tp_free(m->keys);
}

/* A new accumulator for key; UINT32_MAX (and m->rc) on failure. */
static uint32_t acc_new(accmap *m, uint64_t key) {
        uint32_t a;

        if (m->max_groups && m->nacc >= m->max_groups) {
                m->rc = TP_UNPROCESSABLE;
                return UINT32_MAX;
        }
        if (m->nacc == m->cap) {
                uint32_t n = m->cap ? m->cap * 2 : 64;
                uint64_t *acc = tp_realloc(m->acc, (size_t) n * ENG_NSLOT * sizeof(*acc));
                uint64_t *keys;

                if (!acc) {
                        m->rc = TP_NOMEM;
                        return UINT32_MAX;
                }
                m->acc = acc;
                if (!(keys = tp_realloc(m->keys, (size_t) n * sizeof(*keys)))) {
                        m->rc = TP_NOMEM;
                        return UINT32_MAX;
                }
                m->keys = keys;
                m->cap = n;
        }
        a = m->nacc++;
        memset(m->acc + (size_t) a * ENG_NSLOT, 0, ENG_NSLOT * sizeof(*m->acc));
        m->keys[a] = key;
        return a;
}

static uint32_t acc_hash_find(accmap *m, uint64_t key) {
        uint64_t *slot = eng_hmap_slot(&m->h, key);
        uint32_t a;

        if (!slot) {
                m->rc = TP_NOMEM;
                return UINT32_MAX;
        }
        if (*slot)
                return (uint32_t) (*slot - 1);
        if ((a = acc_new(m, key)) != UINT32_MAX)
                *slot = (uint64_t) a + 1;
        return a;
}

/* The accumulator of key, created if needed; UINT32_MAX on failure. */
static inline uint32_t acc_find(accmap *m, uint64_t key) {
        if (m->dense) {
                uint32_t a = m->dense[key];

                if (a)
                        return a - 1;
                if ((a = acc_new(m, key)) != UINT32_MAX)
                        m->dense[key] = a + 1;
                return a;
        }
        return acc_hash_find(m, key);
}

/* ---- scores -------------------------------------------------------------- */

typedef struct sctx {
        const tp_engine *e;
        accmap m;
        const uint8_t *tpf;        /* touchpoint filter (NULL: all) */
        const uint8_t *chf;        /* channel filter (NULL: all) */
        uint8_t slotf[ENG_NSLOT];  /* the metrics asked, by slot */
        uint32_t slotm[ENG_NSLOT]; /* the same as masks, for the rollup loop */
        int allslots;              /* all metrics asked */
        int gtp, gch;              /* grouped by touchpoint (or stage), by channel */
        int gsent, gtheme;         /* grouped by sentiment, theme (the second key dimension, as channel) */
        const eng_cdim *gdim;      /* grouped by this customer dimension (segment, attribute), NULL: not */
        const eng_cfilter *cf;     /* customers by segment and attributes (NULL: all) */
        const uint8_t *sentf;      /* sentiment filter, by tp_response.sentiment (NULL: all) */
        const uint8_t *tsf;        /* theme filter, by theme set (NULL: all) */
        const uint32_t *tpmap;     /* by stage: touchpoint index -> stage group (NULL: by touchpoint) */
        uint32_t ntpg, nchg;       /* touchpoint, channel dimension of the key */
        int bucketed;
        int32_t dlo;      /* first day of daymap */
        uint32_t *daymap; /* day - dlo -> bucket index */
        int64_t *bstart;  /* bucket index -> start */
        uint32_t nb;
        uint64_t scanned;
} sctx;

static inline uint64_t group_key(const sctx *s, int32_t day, uint32_t tp, uint32_t ch) {
        uint64_t b = s->bucketed ? s->daymap[day - s->dlo] : 0;

        return (b * s->ntpg + (s->gtp ? (s->tpmap ? s->tpmap[tp] : tp) : 0)) * s->nchg +
               (s->gch || s->gsent || s->gtheme || s->gdim ? ch : 0);
}


/* One block's rows with a <= ts < z; full: all of them are (no time test).
 * Inlined twice, so the test is compiled out of the full case. */
static inline __attribute__((always_inline)) int
        scan_block(sctx *s, const eng_rblock *b, int64_t a, int64_t z, int full) {
        int32_t tz = s->e->o.tz_offset;

        for (uint32_t i = 0; i < b->n; i++) {
                uint32_t ts = b->ts[i], acc;

                if (!full && ((int64_t) ts < a || (int64_t) ts >= z))
                        continue;
                if (s->tpf && !s->tpf[b->tp[i]])
                        continue;
                if (s->chf && !s->chf[b->ch[i]])
                        continue;
                if (!s->allslots && !s->slotf[b->slot[i]])
                        continue;
                if (s->sentf && !s->sentf[b->sent[i]])
                        continue;
                if (s->tsf && !s->tsf[b->tset[i]])
                        continue;
                if (s->cf && !eng_cfilter_pass(s->cf, b->cust[i]))
                        continue;
                if (s->gtheme && b->tset[i]) {
                        /* One count per theme the comment names. */
                        uint64_t m = s->e->tsets[b->tset[i]];
                        while (m) {
                                uint32_t k = (uint32_t) __builtin_ctzll(m);
                                m &= m - 1;
                                acc = acc_find(&s->m, group_key(s, eng_day(ts, tz), b->tp[i], k + 1));
                                if (acc == UINT32_MAX)
                                        return -1;
                                s->m.acc[(size_t) acc * ENG_NSLOT + b->slot[i]]++;
                        }
                        continue;
                }
                acc = acc_find(&s->m, group_key(s, eng_day(ts, tz), b->tp[i],
                                                s->gsent    ? b->sent[i]
                                                : s->gtheme ? 0
                                                : s->gdim   ? eng_dim_of(s->gdim, b->cust[i])
                                                            : b->ch[i]));
                if (acc == UINT32_MAX)
                        return -1;
                s->m.acc[(size_t) acc * ENG_NSLOT + b->slot[i]]++;
        }
        return 0;
}

/* Responses with a <= ts < z. */
static int scan_responses(sctx *s, int64_t a, int64_t z) {
        const tp_engine *e = s->e;

        for (uint32_t k = 0; k < e->nrblocks; k++) {
                const eng_rblock *b = e->rblocks[k];
                int r;

                if (!b->n || (int64_t) b->max_ts < a || (int64_t) b->min_ts >= z)
                        continue;
                s->scanned += b->n;
                if ((int64_t) b->min_ts >= a && (int64_t) b->max_ts < z)
                        r = scan_block(s, b, a, z, 1);
                else
                        r = scan_block(s, b, a, z, 0);
                if (r)
                        return r;
        }
        return 0;
}

static uint64_t scan_size(const tp_engine *e, int64_t a, int64_t z) {
        uint64_t n = 0;

        for (uint32_t k = 0; k < e->nrblocks; k++) {
                const eng_rblock *b = e->rblocks[k];

                if (b->n && (int64_t) b->max_ts >= a && (int64_t) b->min_ts < z)
                        n += b->n;
        }
        return n;
}

/* Whole days [fd, ld) from the rollup (no channel groups or filters here). */
static int roll_days(sctx *s, int32_t fd, int32_t ld) {
        const tp_engine *e = s->e;

        for (uint32_t t = 0; t < e->ntp; t++) {
                const eng_roll *r = &e->roll[t];
                int32_t d0, d1;
                uint64_t lastkey = UINT64_MAX;
                uint64_t *acc = NULL;

                if (s->tpf && !s->tpf[t])
                        continue;
                if (!r->ndays)
                        continue;
                d0 = fd > r->day0 ? fd : r->day0;
                d1 = (int64_t) ld < (int64_t) r->day0 + r->ndays ? ld :
                                                                   (int32_t) (r->day0 + (int32_t) r->ndays);
                for (int32_t d = d0; d < d1; d++) {
                        const uint32_t *row = r->cnt + (size_t) (d - r->day0) * ENG_NSLOT;
                        uint64_t key = group_key(s, d, t, 0);
                        uint32_t any = 0;

                        for (int k = 0; k < ENG_NSLOT; k++)
                                any |= row[k] & s->slotm[k];
                        if (!any)
                                continue;
                        if (key != lastkey) {
                                uint32_t a = acc_find(&s->m, key);

                                if (a == UINT32_MAX)
                                        return -1;
                                lastkey = key;
                                acc = s->m.acc + (size_t) a * ENG_NSLOT;
                        }
                        for (int k = 0; k < ENG_NSLOT; k++)
                                acc[k] += row[k] & s->slotm[k];
                }
        }
        return 0;
}

/* Bucket of each day in [dlo, dhi), and each bucket's start. */
static tp_rc make_daymap(sctx *s, tp_engine_bucket bucket, int32_t dlo, int32_t dhi) {
        uint32_t nd = (uint32_t) (dhi - dlo);
        int32_t tz = s->e->o.tz_offset;
        int64_t prev = INT64_MIN;

        s->dlo = dlo;
        s->daymap = tp_malloc((size_t) nd * sizeof(*s->daymap));
        s->bstart = tp_malloc((size_t) nd * sizeof(*s->bstart));
        if (!s->daymap || !s->bstart)
                return TP_NOMEM;
        s->nb = 0;
        for (uint32_t i = 0; i < nd; i++) {
                int64_t d = (int64_t) dlo + i, key, start;

                if (bucket == TP_ENGINE_BUCKET_DAY) {
                        key = d;
                        start = d;
                } else if (bucket == TP_ENGINE_BUCKET_WEEK) {
                        /* 1970-01-05, day 4, was a Monday. */
                        key = d - 4 >= 0 ? (d - 4) / 7 : -((4 - d + 6) / 7);
                        start = key * 7 + 4;
                } else {
                        int64_t y;
                        unsigned m, dd;

                        eng_civil(d, &y, &m, &dd);
                        key = y * 12 + m - 1;
                        start = tp_time_days_from_civil(y, m, 1);
                }
                if (key != prev) {
                        s->bstart[s->nb++] = start * 86400 - tz;
                        prev = key;
                }
                s->daymap[i] = s->nb - 1;
        }
        return TP_OK;
}

static int cmp_score_row(const void *pa, const void *pb) {
        const tp_engine_score_row *a = pa, *b = pb;

        if (a->bucket != b->bucket)
                return a->bucket < b->bucket ? -1 : 1;
        if (a->touchpoint != b->touchpoint)
                return a->touchpoint < b->touchpoint ? -1 : 1;
        if (a->stage != b->stage)
                return a->stage < b->stage ? -1 : 1;
        if (a->sentiment != b->sentiment)
                return a->sentiment < b->sentiment ? -1 : 1;
        if (strcmp(a->theme, b->theme) != 0)
                return strcmp(a->theme, b->theme);
        if (strcmp(a->segment, b->segment) != 0)
                return strcmp(a->segment, b->segment);
        if (strcmp(a->attribute, b->attribute) != 0)
                return strcmp(a->attribute, b->attribute);
        return strcmp(a->channel, b->channel);
}

static tp_rc budget_error(tp_err *err, const char *what, uint64_t limit) {
        return tp_err_setf(
                err,
                TP_UNPROCESSABLE,
                what,
                "the query exceeds the engine's %s limit of %llu",
                what,
                (unsigned long long) limit);
}

/* The segment and attribute grouping and filters of q, into s (rw held). */
static tp_rc dim_setup(const tp_engine *e, const tp_engine_scores_query *q, sctx *s, eng_cfilter *cf,
                       tp_err *err) {
        tp_rc rc;
        int d;

        if (q->group == TP_ENGINE_GROUP_SEGMENT)
                s->gdim = &e->dims[0];
        if (q->group == TP_ENGINE_GROUP_ATTRIBUTE) {
                if (!q->attribute || (d = eng_cdim_find(e, q->attribute)) < 0)
                        return tp_err_setf(err, TP_UNPROCESSABLE, "group", "no customer has an attribute '%.40s'",
                                           q->attribute ? q->attribute : "");
                if ((rc = eng_cdim_usable(e, d, "group", err)) != TP_OK)
                        return rc;
                s->gdim = &e->dims[d];
        }
        if ((rc = eng_cfilter_init(e, q->segments, q->nsegments, q->attrs, q->nattrs, cf, err)) != TP_OK)
                return rc;
        s->cf = cf->n ? cf : NULL;
        return TP_OK;
}

tp_rc tp_engine_scores_run(tp_engine *e, const tp_engine_scores_query *q, tp_engine_scores **ret, tp_err *err) {
        tp_engine_scores *res = NULL;
        uint8_t *tpf = NULL, chf[256], sentf[4], *tsf = NULL;
        eng_cfilter cf;
        uint32_t *tpmap = NULL;
        sctx s = { 0 };
        tp_rc rc = TP_OK;
        int64_t lo, hi;
        int locked = 0;

        if ((unsigned) q->group > TP_ENGINE_GROUP_ATTRIBUTE ||
            (q->group == TP_ENGINE_GROUP_STAGE && (!q->stage_fn || q->nstages < 1 || q->nstages > TP_ENGINE_STAGES_MAX)))
                return tp_err_setf(err, TP_INVALID, "group", "unknown grouping %d", (int) q->group);
        if ((unsigned) q->bucket > TP_ENGINE_BUCKET_MONTH)
                return tp_err_setf(err, TP_INVALID, "bucket", "unknown bucket %d", (int) q->bucket);
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        res->bucket = q->bucket;
        res->group = q->group;
        res->metrics = q->metrics & ((1u << _TP_METRIC_MAX) - 1);
        if (!res->metrics)
                res->metrics = (1u << _TP_METRIC_MAX) - 1;
        res->tz_offset = e->o.tz_offset;
        res->min_n = e->o.min_n;

        pthread_rwlock_rdlock(&e->rw);
        locked = 1;
        s.e = e;
        for (int k = 0; k < ENG_NSLOT; k++) {
                s.slotf[k] = (uint8_t) ((res->metrics >> slot_metric[k]) & 1);
                s.slotm[k] = s.slotf[k] ? UINT32_MAX : 0;
        }
        s.allslots = res->metrics == (1u << _TP_METRIC_MAX) - 1;
        /* Customer dimensions are checked before anything else, so a wrong
         * attribute name is an error on an empty engine too. */
        if ((rc = dim_setup(e, q, &s, &cf, err)) != TP_OK)
                goto done;
        if (s.gdim && s.gdim != &e->dims[0])
                memcpy(res->attribute, s.gdim->name, sizeof(res->attribute));
        if (!e->nresp)
                goto done;
        lo = q->from > (int64_t) e->rmin_ts ? q->from : (int64_t) e->rmin_ts;
        hi = q->to < (int64_t) e->rmax_ts + 1 ? q->to : (int64_t) e->rmax_ts + 1;
        if (lo >= hi)
                goto done;

        if (q->touchpoints) {
                if (!(tpf = tp_calloc((size_t) e->ntp + 1, 1))) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                for (size_t i = 0; i < q->ntouchpoints; i++) {
                        uint32_t t = eng_tp_find(e, q->touchpoints[i]);

                        if (t != UINT32_MAX)
                                tpf[t] = 1;
                }
                s.tpf = tpf;
        }
        if (q->channels) {
                memset(chf, 0, sizeof(chf));
                for (size_t i = 0; i < q->nchannels; i++) {
                        int c = q->channels[i] ? eng_sdict_find(&e->chans, q->channels[i]) : -1;

                        if (c > 0)
                                chf[c] = 1;
                }
                s.chf = chf;
        }
        s.gtp = q->group == TP_ENGINE_GROUP_TOUCHPOINT || q->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL ||
                q->group == TP_ENGINE_GROUP_STAGE;
        s.gch = q->group == TP_ENGINE_GROUP_CHANNEL || q->group == TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL;
        s.ntpg = s.gtp ? e->ntp : 1;
        if (q->group == TP_ENGINE_GROUP_STAGE) {
                /* Stage groups 0 .. nstages-1, and nstages for touchpoints without one. */
                if (!(tpmap = tp_malloc((e->ntp ? e->ntp : 1) * sizeof(*tpmap)))) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                for (uint32_t t = 0; t < e->ntp; t++) {
                        int st = q->stage_fn(q->stage_arg, e->tp_ids[t]);
                        tpmap[t] = st >= 0 && (uint32_t) st < q->nstages ? (uint32_t) st : q->nstages;
                }
                s.tpmap = tpmap;
                s.ntpg = q->nstages + 1;
        }
        s.gsent = q->group == TP_ENGINE_GROUP_SENTIMENT;
        s.gtheme = q->group == TP_ENGINE_GROUP_THEME;
        s.nchg = s.gch      ? e->chans.n
                 : s.gsent  ? 4
                 : s.gtheme ? e->tkeys.n + 1
                 : s.gdim   ? (s.gdim->vals.n ? s.gdim->vals.n : 1)
                            : 1;
        if (q->sentiments) {
                for (int k = 0; k < 4; k++)
                        sentf[k] = (uint8_t) ((q->sentiments >> k) & 1);
                s.sentf = sentf;
        }
        if (q->theme) {
                int code = eng_sdict_find(&e->tkeys, q->theme);
                if (!(tsf = tp_calloc((size_t) e->ntsets + 1, 1))) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                for (uint32_t k = 1; code >= 0 && k < e->ntsets; k++)
                        tsf[k] = (uint8_t) ((e->tsets[k] >> code) & 1);
                s.tsf = tsf;
        }
        if (q->detractors) {
                for (int k = 0; k < ENG_NSLOT; k++) {
                        int m = slot_metric[k], score = k - eng_slot_base[m] + eng_score_lo[m];
                        int unhappy = m == TP_METRIC_NPS       ? score <= 6
                                      : m == TP_METRIC_CSAT || m == TP_METRIC_EMOTION ? score <= 2
                                      : m == TP_METRIC_GOAL ? score == 0
                                                            : score <= 3; /* CES, ease: 1..7 */
                        if (!unhappy)
                                s.slotf[k] = 0;
                        s.slotm[k] = s.slotf[k] ? UINT32_MAX : 0;
                }
                s.allslots = 0;
        }
        s.bucketed = q->bucket != TP_ENGINE_BUCKET_NONE;
        {
                int32_t dlo = eng_day(lo, e->o.tz_offset), dhi = eng_day(hi - 1, e->o.tz_offset) + 1;
                int32_t fd, ld;
                /* The rollup has no channel, sentiment or theme; its slots serve
                 * the detractor filter as any metric filter. */
                int use_roll = q->strategy == TP_ENGINE_AUTO && !q->channels && !s.gch && !s.sentf && !s.tsf &&
                               !s.gsent && !s.gtheme && !s.cf && !s.gdim;
                int r = 0;

                s.nb = 1;
                if (s.bucketed && make_daymap(&s, q->bucket, dlo, dhi) != TP_OK) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                if (accmap_init(&s.m, (uint64_t) s.nb * s.ntpg * s.nchg, e->o.max_groups) != TP_OK) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                /* Whole days of the range (a bound beyond the data counts as whole). */
                fd = q->from <= (int64_t) e->rmin_ts ? dlo : eng_day(lo + 86399, e->o.tz_offset);
                ld = q->to > (int64_t) e->rmax_ts ? dhi : eng_day(hi, e->o.tz_offset);
                if (!use_roll || fd >= ld) {
                        if (e->o.max_rows && scan_size(e, lo, hi) > e->o.max_rows) {
                                rc = budget_error(err, "max_rows", e->o.max_rows);
                                goto done;
                        }
                        r = scan_responses(&s, lo, hi);
                } else {
                        int64_t fs = (int64_t) fd * 86400 - e->o.tz_offset;
                        int64_t ls = (int64_t) ld * 86400 - e->o.tz_offset;

                        if (e->o.max_rows &&
                            (lo < fs ? scan_size(e, lo, fs) : 0) + (ls < hi ? scan_size(e, ls, hi) : 0) >
                                    e->o.max_rows) {
                                rc = budget_error(err, "max_rows", e->o.max_rows);
                                goto done;
                        }
                        r = roll_days(&s, fd, ld);
                        if (!r && lo < fs)
                                r = scan_responses(&s, lo, fs);
                        if (!r && ls < hi)
                                r = scan_responses(&s, ls, hi);
                }
                if (r) {
                        rc = s.m.rc == TP_UNPROCESSABLE ? budget_error(err, "max_groups", e->o.max_groups) :
                                                          tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
        }

        /* One row per group with answers. */
        if (s.m.nacc && !(res->rows = tp_calloc(s.m.nacc, sizeof(*res->rows)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto done;
        }
        for (uint32_t a = 0; a < s.m.nacc; a++) {
                const uint64_t *c = s.m.acc + (size_t) a * ENG_NSLOT;
                uint64_t key = s.m.keys[a], tot = 0;
                uint32_t ch, tp, b;
                tp_engine_score_row *row;

                for (int k = 0; k < ENG_NSLOT; k++)
                        tot += c[k];
                if (!tot)
                        continue;
                ch = (uint32_t) (key % s.nchg);
                key /= s.nchg;
                tp = (uint32_t) (key % s.ntpg);
                b = (uint32_t) (key / s.ntpg);
                row = &res->rows[res->nrows++];
                row->bucket = s.bucketed ? s.bstart[b] : 0;
                row->touchpoint = s.gtp && !s.tpmap ? e->tp_ids[tp] : 0;
                row->stage = s.tpmap ? (tp < q->nstages ? (int) tp : -1) : -1;
                if (s.gch)
                        memcpy(row->channel, e->chans.names[ch], sizeof(row->channel));
                row->sentiment = s.gsent ? (int) ch : 0;
                if (s.gtheme && ch > 0)
                        memcpy(row->theme, e->tkeys.names[ch - 1], sizeof(row->theme));
                if (s.gdim && ch > 0)
                        memcpy(s.gdim == &e->dims[0] ? row->segment : row->attribute, s.gdim->vals.names[ch],
                               sizeof(row->segment));
                row_stats(c, e->o.min_n, row);
        }
        if (res->nrows)
                qsort(res->rows, res->nrows, sizeof(*res->rows), cmp_score_row);
done:
        res->rows_scanned = s.scanned;
        if (locked)
                pthread_rwlock_unlock(&e->rw);
        accmap_done(&s.m);
        tp_free(s.daymap);
        tp_free(s.bstart);
        tp_free(tpf);
        tp_free(tsf);
        tp_free(tpmap);
        if (rc != TP_OK) {
                tp_engine_scores_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_scores_free(tp_engine_scores *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r);
}

/* ---- paths --------------------------------------------------------------- */

/* A path scan over customers [c0, c1) with its own accumulators, so that two
 * halves can run on the two cores (from PAR_MIN events, see scan_threads) and
 * be added up.  Readers share the rdlock, so the helper thread reads under the
 * lock its query holds. */
#define PAR_MIN 1000000

typedef struct pjob {
        const tp_engine *e;
        const tp_engine_path_query *q;
        uint32_t c0, c1;
        uint32_t cap; /* transitions: m is cap x cap */
        uint64_t *m;
        uint64_t *purch; /* last touch: [0] unattributed, [tp + 1] */
        int64_t *rev;
        const eng_filter *f; /* NULL: every customer and event */
        eng_item *buf;       /* scratch for customers with delta events (or filtered channels) */
        size_t bufcap;
        int oom;
} pjob;

/* Customer c is left out by the filter. */
static inline int cust_out(const pjob *j, uint32_t c) {
        return j->f && j->f->cust && !eng_cfilter_pass(&j->f->cf, c);
}

/* Customer c's events can be read in place: compacted, no channel filter. */
static inline int in_place(const pjob *j, uint32_t c) {
        return j->e->cust[c].dhead == ENG_NONE && !(j->f && j->f->chan);
}

/* Customer c's events merged into j->buf (only the filter's channels); -1
 * when out of memory. */
static int64_t merged(pjob *j, uint32_t c) {
        return eng_cust_read(j->e, c, j->f, &j->buf, &j->bufcap);
}

static int whole_range(const tp_engine *e, const tp_engine_path_query *q) {
        return !e->nevents || (q->from <= (int64_t) e->emin_ts && q->to > (int64_t) e->emax_ts);
}

/* Transitions of one customer's ordered run with both events in [a, z). */
static inline void trans_run(
        uint64_t *m, uint32_t cap, const eng_rec *v, size_t stride, uint32_t n, int64_t a, int64_t z) {
        uint32_t prev = ENG_NONE;

        for (uint32_t i = 0; i < n; i++) {
                const eng_rec *r = (const eng_rec *) ((const char *) v + i * stride);

                if ((int64_t) r->ts < a)
                        continue;
                if ((int64_t) r->ts >= z)
                        break;
                if (prev != ENG_NONE)
                        m[(size_t) prev * cap + r->tp]++;
                prev = r->tp;
        }
}

static void *trans_job(void *arg) {
        pjob *j = arg;
        const tp_engine *e = j->e;

        for (uint32_t c = j->c0; c < j->c1; c++) {
                uint32_t s = c < e->snc ? e->soff[c] : 0, t = c < e->snc ? e->soff[c + 1] : 0;

                if (cust_out(j, c))
                        continue;
                if (in_place(j, c)) {
                        if (t - s > 1)
                                trans_run(
                                        j->m, j->cap, e->srec + s, sizeof(eng_rec), t - s, j->q->from, j->q->to);
                } else {
                        int64_t n = merged(j, c);

                        if (n < 0) {
                                j->oom = 1;
                                break;
                        }
                        trans_run(
                                j->m, j->cap, &j->buf[0].r, sizeof(eng_item), (uint32_t) n, j->q->from, j->q->to);
                }
        }
        return NULL;
}

static inline void lt_purchase(pjob *j, uint32_t np, uint32_t np_ts, uint32_t ts, int64_t value) {
        uint32_t k;

        if ((int64_t) ts < j->q->from || (int64_t) ts >= j->q->to)
                return;
        k = np && (!j->q->lookback || (int64_t) ts - (int64_t) np_ts <= j->q->lookback) ? np : 0;
        j->purch[k]++;
        j->rev[k] += value;
}

static void *lt_job(void *arg) {
        pjob *j = arg;
        const tp_engine *e = j->e;
        uint32_t v = j->c0 < e->snc ? eng_value_rank(e, j->c0) : e->nsvals; /* next valued compacted event */

        for (uint32_t c = j->c0; c < j->c1; c++) {
                uint32_t s = c < e->snc ? e->soff[c] : 0, t = c < e->snc ? e->soff[c + 1] : 0;
                uint32_t np = 0, np_ts = 0;
                int out = cust_out(j, c);

                if (!out && in_place(j, c)) {
                        for (uint32_t i = s; i < t; i++) {
                                const eng_rec *r = &e->srec[i];
                                int64_t value = (r->tb & ENG_TB_VALUE) ? e->svals[v++] : 0;

                                if ((r->tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE) {
                                        lt_purchase(j, np, np_ts, r->ts, value);
                                } else {
                                        np = r->tp + 1u;
                                        np_ts = r->ts;
                                }
                        }
                } else {
                        int64_t n;

                        /* Keep the rank of the next valued compacted event. */
                        for (uint32_t i = s; i < t; i++)
                                v += (e->srec[i].tb & ENG_TB_VALUE) != 0;
                        if (out)
                                continue;
                        if ((n = merged(j, c)) < 0) {
                                j->oom = 1;
                                break;
                        }
                        for (int64_t i = 0; i < n; i++) {
                                const eng_item *x = &j->buf[i];

                                if ((x->r.tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE) {
                                        lt_purchase(j, np, np_ts, x->r.ts, x->value);
                                } else {
                                        np = x->r.tp + 1u;
                                        np_ts = x->r.ts;
                                }
                        }
                }
        }
        return NULL;
}

/* Run fn over all customers, in two halves on two threads when the engine is
 * big enough; the halves' accumulators are added into jobs[0].  rdlock held.
 * TP_NOMEM when a scratch or accumulator allocation fails. */
static tp_rc run_paths(
        const tp_engine *e,
        const tp_engine_path_query *q,
        const eng_filter *f,
        void *(*fn)(void *),
        uint32_t cap,
        int transitions,
        pjob *jobs) {
        int n = e->o.scan_threads == 2 ||
                        (e->o.scan_threads == 0 && (uint64_t) e->nsealed + e->ndelta >= PAR_MIN) ?
                2 :
                1;
        size_t cells = transitions ? (size_t) cap * cap : (size_t) cap + 1;
        pthread_t th;
        int threaded = 0;
        tp_rc rc = TP_OK;

        for (int k = 0; k < n; k++) {
                jobs[k] = (pjob){ .e = e, .q = q, .cap = cap, .f = f };
                jobs[k].c0 = (uint32_t) ((uint64_t) e->ncust * (uint64_t) k / (uint64_t) n);
                jobs[k].c1 = (uint32_t) ((uint64_t) e->ncust * (uint64_t) (k + 1) / (uint64_t) n);
                if (transitions)
                        jobs[k].m = tp_calloc(cells, sizeof(uint64_t));
                else {
                        jobs[k].purch = tp_calloc(cells, sizeof(uint64_t));
                        jobs[k].rev = tp_calloc(cells, sizeof(int64_t));
                }
                if (transitions ? !jobs[k].m : !jobs[k].purch || !jobs[k].rev)
                        rc = TP_NOMEM;
        }
        if (rc == TP_OK) {
                threaded = n == 2 && pthread_create(&th, NULL, fn, &jobs[1]) == 0;
                fn(&jobs[0]);
                if (threaded)
                        pthread_join(th, NULL);
                else if (n == 2)
                        fn(&jobs[1]);
                for (int k = 0; k < n; k++)
                        if (jobs[k].oom)
                                rc = TP_NOMEM;
        }
        if (n == 2 && rc == TP_OK) {
                for (size_t i = 0; i < cells; i++) {
                        if (transitions) {
                                jobs[0].m[i] += jobs[1].m[i];
                        } else {
                                jobs[0].purch[i] += jobs[1].purch[i];
                                jobs[0].rev[i] += jobs[1].rev[i];
                        }
                }
        }
        for (int k = 0; k < n; k++)
                tp_free(jobs[k].buf);
        for (int k = 1; k < n; k++) {
                tp_free(jobs[k].m);
                tp_free(jobs[k].purch);
                tp_free(jobs[k].rev);
        }
        return rc;
}

static int cmp_transition(const void *pa, const void *pb) {
        const tp_engine_transition *a = pa, *b = pb;

        if (a->from != b->from)
                return a->from < b->from ? -1 : 1;
        return a->to < b->to ? -1 : a->to > b->to;
}

tp_rc tp_engine_transitions_run(
        tp_engine *e, const tp_engine_path_query *q, tp_engine_transitions **ret, tp_err *err) {
        tp_engine_transitions *res = NULL;
        pjob jobs[2] = { { 0 } };
        eng_filter flt;
        uint64_t *m = NULL;
        uint32_t cap, ntp;
        size_t nz = 0;
        tp_rc rc = TP_OK;

        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_rwlock_rdlock(&e->rw);
        ntp = e->ntp;
        cap = ntp ? ntp : 1;
        if ((rc = eng_filter_init(e, &q->filter, &flt, err)) != TP_OK)
                goto out;
        if (q->strategy == TP_ENGINE_AUTO && whole_range(e, q) && !flt.any) {
                if (!(m = tp_calloc((size_t) cap * cap, sizeof(*m)))) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                for (uint32_t a = 0; a < ntp; a++)
                        for (uint32_t b = 0; b < ntp; b++)
                                m[(size_t) a * cap + b] = e->trans[(size_t) a * e->tcap + b];
        } else {
                if (e->o.max_rows && (uint64_t) e->nsealed + e->ndelta > e->o.max_rows) {
                        rc = budget_error(err, "max_rows", e->o.max_rows);
                        goto out;
                }
                res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
                rc = run_paths(e, q, flt.any ? &flt : NULL, trans_job, cap, 1, jobs);
                m = jobs[0].m;
                if (rc != TP_OK) {
                        rc = tp_err_set(err, rc, "out of memory");
                        goto out;
                }
        }
        for (size_t i = 0; i < (size_t) cap * cap; i++)
                nz += m[i] != 0;
        if (e->o.max_groups && nz > e->o.max_groups) {
                rc = budget_error(err, "max_groups", e->o.max_groups);
                goto out;
        }
        if (nz && !(res->rows = tp_malloc(nz * sizeof(*res->rows)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        for (uint32_t a = 0; a < ntp; a++) {
                for (uint32_t b = 0; b < ntp; b++) {
                        uint64_t n = m[(size_t) a * cap + b];

                        if (!n)
                                continue;
                        res->rows[res->nrows++] = (tp_engine_transition){ e->tp_ids[a], e->tp_ids[b], n };
                        res->total += n;
                }
        }
        if (res->nrows)
                qsort(res->rows, res->nrows, sizeof(*res->rows), cmp_transition);
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(m);
        if (rc != TP_OK) {
                tp_engine_transitions_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_transitions_free(tp_engine_transitions *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r);
}

static int cmp_touch(const void *pa, const void *pb) {
        const tp_engine_touch *a = pa, *b = pb;

        return a->touchpoint < b->touchpoint ? -1 : a->touchpoint > b->touchpoint;
}

tp_rc tp_engine_last_touch_run(
        tp_engine *e, const tp_engine_path_query *q, tp_engine_last_touch **ret, tp_err *err) {
        tp_engine_last_touch *res = NULL;
        pjob jobs[2] = { { 0 } };
        eng_filter flt;
        uint64_t *purch = NULL;
        int64_t *rev = NULL;
        tp_rc rc = TP_OK;
        uint32_t ntp;
        size_t nz = 0;

        if (q->lookback < 0)
                return tp_err_setf(err, TP_INVALID, "lookback", "the look-back window cannot be negative");
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_rwlock_rdlock(&e->rw);
        ntp = e->ntp;
        if ((rc = eng_filter_init(e, &q->filter, &flt, err)) != TP_OK)
                goto out;
        if (q->strategy == TP_ENGINE_AUTO && !q->lookback && whole_range(e, q) && !flt.any) {
                purch = tp_calloc((size_t) ntp + 1, sizeof(*purch));
                rev = tp_calloc((size_t) ntp + 1, sizeof(*rev));
                if (!purch || !rev) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                if (e->tcap) {
                        memcpy(purch, e->apurch, ((size_t) ntp + 1) * sizeof(*purch));
                        memcpy(rev, e->arev, ((size_t) ntp + 1) * sizeof(*rev));
                }
        } else {
                if (e->o.max_rows && (uint64_t) e->nsealed + e->ndelta > e->o.max_rows) {
                        rc = budget_error(err, "max_rows", e->o.max_rows);
                        goto out;
                }
                res->rows_scanned = (uint64_t) e->nsealed + e->ndelta;
                rc = run_paths(e, q, flt.any ? &flt : NULL, lt_job, ntp, 0, jobs);
                purch = jobs[0].purch;
                rev = jobs[0].rev;
                if (rc != TP_OK) {
                        rc = tp_err_set(err, rc, "out of memory");
                        goto out;
                }
        }
        for (uint32_t t = 0; t < ntp; t++)
                nz += purch[t + 1] != 0;
        if (e->o.max_groups && nz > e->o.max_groups) {
                rc = budget_error(err, "max_groups", e->o.max_groups);
                goto out;
        }
        if (nz && !(res->rows = tp_malloc(nz * sizeof(*res->rows)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        for (uint32_t t = 0; t < ntp; t++) {
                if (!purch[t + 1])
                        continue;
                res->rows[res->nrows++] = (tp_engine_touch){ e->tp_ids[t], purch[t + 1], rev[t + 1] };
                res->purchases += purch[t + 1];
                res->revenue += rev[t + 1];
        }
        res->unattributed = purch[0];
        res->unattributed_revenue = rev[0];
        if (res->nrows)
                qsort(res->rows, res->nrows, sizeof(*res->rows), cmp_touch);
out:
        pthread_rwlock_unlock(&e->rw);
        tp_free(purch);
        tp_free(rev);
        if (rc != TP_OK) {
                tp_engine_last_touch_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}

void tp_engine_last_touch_free(tp_engine_last_touch *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r);
}
