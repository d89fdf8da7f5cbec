/* SPDX-License-Identifier: MIT */
/*
 * engine_drivers.c -- key drivers: pairwise-complete correlations and
 * Johnson's relative weights, and the engine query that feeds them.
 *
 * The statistics (tp_drivers_compute) take a dense n x p matrix with NaN for
 * a missing rating.  Every correlation is computed over the rows where both of
 * its variables are present, from sums of values centred on the variable's
 * mean (one pass for the means, one for the pair sums), so the sums do not
 * cancel.  Relative weights (Johnson 2000): Rxx = V diag(λ) Vᵀ by the cyclic
 * Jacobi method, Λ = V diag(√λ) Vᵀ (the orthogonal Z closest to X has X = Z Λ),
 * β = Λ⁻¹ r_xy (y on Z), ε_j = Σ_k Λ_jk² β_k².
 *
 * The engine query (tp_engine_drivers_run) collects, under the shared lock,
 * the (customer, touchpoint, score) triples of the predictors' metric in range
 * and each customer's outcome; then, without the lock, averages a customer's
 * answers per touchpoint, keeps the touchpoints with min_n customers and
 * builds the matrix.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

/* ---- statistics ---------------------------------------------------------- */

/* Sums of one pair of variables over their common rows, centred values. */
typedef struct pairsum {
        uint64_t n;
        double sx, sy, sxx, syy, sxy;
} pairsum;

/* Correlation of a pair; 0 and *undef set when it is undefined. */
static double pair_r(const pairsum *s, int *undef) {
        double n = (double) s->n, vx, vy, cov, r;

        *undef = 0;
        if (s->n < 3) {
                *undef = 1;
                return 0.0;
        }
        vx = s->sxx - s->sx * s->sx / n;
        vy = s->syy - s->sy * s->sy / n;
        cov = s->sxy - s->sx * s->sy / n;
        /* A constant over the common rows: its centred sums cancel to rounding. */
        if (!(vx > 1e-12 * s->sxx) || !(vy > 1e-12 * s->syy) || vx <= 0 || vy <= 0) {
                *undef = 1;
                return 0.0;
        }
        r = cov / sqrt(vx * vy);
        return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}

/* Eigenvalues w and eigenvectors (columns of v) of the symmetric n x n matrix
 * a (destroyed), by cyclic Jacobi rotations. */
static void jacobi(double *a, size_t n, double *v, double *w) {
        double total = 0;

        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++) {
                        v[i * n + j] = i == j ? 1.0 : 0.0;
                        total += a[i * n + j] * a[i * n + j];
                }
        for (int sweep = 0; sweep < 100; sweep++) {
                double off = 0;

                for (size_t i = 0; i < n; i++)
                        for (size_t j = i + 1; j < n; j++)
                                off += a[i * n + j] * a[i * n + j];
                if (off <= 1e-30 * total || off == 0)
                        break;
                for (size_t p = 0; p < n; p++)
                        for (size_t q = p + 1; q < n; q++) {
                                double apq = a[p * n + q], theta, t, c, s;

                                if (fabs(apq) < 1e-300)
                                        continue;
                                theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                                t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                                c = 1.0 / sqrt(t * t + 1.0);
                                s = t * c;
                                for (size_t k = 0; k < n; k++) { /* columns p, q: A P */
                                        double akp = a[k * n + p], akq = a[k * n + q];

                                        a[k * n + p] = c * akp - s * akq;
                                        a[k * n + q] = s * akp + c * akq;
                                }
                                for (size_t k = 0; k < n; k++) { /* rows p, q: Pᵀ (A P) */
                                        double apk = a[p * n + k], aqk = a[q * n + k];

                                        a[p * n + k] = c * apk - s * aqk;
                                        a[q * n + k] = s * apk + c * aqk;
                                }
                                a[p * n + q] = a[q * n + p] = 0.0;
                                for (size_t k = 0; k < n; k++) {
                                        double vkp = v[k * n + p], vkq = v[k * n + q];

                                        v[k * n + p] = c * vkp - s * vkq;
                                        v[k * n + q] = s * vkp + c * vkq;
                                }
                        }
        }
        for (size_t i = 0; i < n; i++)
                w[i] = a[i * n + i];
}

void tp_drivers_result_done(tp_drivers_result *r) {
        if (!r)
                return;
        tp_free(r->r);
        tp_free(r->r_n);
        tp_free(r->rxx);
        tp_free(r->rxx_n);
        tp_free(r->raw);
        tp_free(r->rel);
        tp_free(r->mean);
        memset(r, 0, sizeof(*r));
}

tp_rc tp_drivers_compute(
        const double *x, size_t n, size_t p, const double *y, tp_drivers_result *ret, tp_err *err) {
        size_t q = p + 1; /* variables: the predictors, then y at index p */
        tp_drivers_result res = { 0 };
        pairsum *ps = NULL;
        double *shift = NULL, *cnt = NULL, *a = NULL, *v = NULL, *w = NULL, *lam = NULL, *beta = NULL, *d = NULL;
        size_t *idx = NULL;
        double ysum = 0, yss = 0, lmax = 0, tol;
        uint64_t yn = 0;
        tp_rc rc = TP_OK;

        if (!ret || (n && (!x || !y)))
                return tp_err_set(err, TP_INVALID, "drivers: NULL input");
        if (!p)
                return tp_err_setf(err, TP_INVALID, "predictors", "key drivers need at least one predictor");
        if (p > TP_DRIVERS_MAX_P)
                return tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "predictors",
                        "%zu predictors exceed the limit of %d for relative weights",
                        p,
                        TP_DRIVERS_MAX_P);
        res.p = p;
        if (!(ps = tp_calloc(q * q, sizeof(*ps))) || !(shift = tp_calloc(q, sizeof(*shift)))
            || !(cnt = tp_calloc(q, sizeof(*cnt))) || !(idx = tp_calloc(q, sizeof(*idx)))
            || !(d = tp_calloc(q, sizeof(*d))) || !(a = tp_calloc(p * p, sizeof(*a)))
            || !(v = tp_calloc(p * p, sizeof(*v))) || !(w = tp_calloc(p, sizeof(*w)))
            || !(lam = tp_calloc(p * p, sizeof(*lam))) || !(beta = tp_calloc(p, sizeof(*beta)))
            || !(res.r = tp_calloc(p, sizeof(*res.r))) || !(res.r_n = tp_calloc(p, sizeof(*res.r_n)))
            || !(res.rxx = tp_calloc(p * p, sizeof(*res.rxx)))
            || !(res.rxx_n = tp_calloc(p * p, sizeof(*res.rxx_n))) || !(res.raw = tp_calloc(p, sizeof(*res.raw)))
            || !(res.rel = tp_calloc(p, sizeof(*res.rel))) || !(res.mean = tp_calloc(p, sizeof(*res.mean)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }

        /* Pass 1: the means (the centring shifts) over the rows used. */
        for (size_t i = 0; i < n; i++) {
                const double *row = x + i * p;
                int any = 0;

                if (isnan(y[i]))
                        continue;
                for (size_t j = 0; j < p; j++)
                        if (!isnan(row[j])) {
                                shift[j] += row[j];
                                cnt[j] += 1;
                                any = 1;
                        }
                if (any) {
                        shift[p] += y[i];
                        cnt[p] += 1;
                }
        }
        for (size_t j = 0; j < q; j++)
                shift[j] = cnt[j] > 0 ? shift[j] / cnt[j] : 0.0;

        /* Pass 2: the sums of every pair over its common rows. */
        for (size_t i = 0; i < n; i++) {
                const double *row = x + i * p;
                size_t m = 0;

                if (isnan(y[i]))
                        continue;
                for (size_t j = 0; j < p; j++)
                        if (!isnan(row[j])) {
                                idx[m] = j;
                                d[m++] = row[j] - shift[j];
                        }
                if (!m)
                        continue;
                idx[m] = p;
                d[m++] = y[i] - shift[p];
                res.n++;
                yn++;
                ysum += y[i] - shift[p];
                yss += (y[i] - shift[p]) * (y[i] - shift[p]);
                for (size_t s = 0; s < m; s++)
                        for (size_t t = s + 1; t < m; t++) {
                                pairsum *o = &ps[idx[s] * q + idx[t]];

                                o->n++;
                                o->sx += d[s];
                                o->sy += d[t];
                                o->sxx += d[s] * d[s];
                                o->syy += d[t] * d[t];
                                o->sxy += d[s] * d[t];
                        }
        }

        for (size_t j = 0; j < p; j++) {
                const pairsum *o = &ps[j * q + p];
                int undef;

                res.r_n[j] = o->n;
                if (o->n < p + 2) {
                        rc = tp_err_setf(
                                err,
                                TP_UNPROCESSABLE,
                                "rows",
                                "predictor %zu has %llu rows with the outcome; relative weights of %zu "
                                "predictors need at least %zu (p + 2)",
                                j,
                                (unsigned long long) o->n,
                                p,
                                p + 2);
                        goto out;
                }
                res.r[j] = pair_r(o, &undef);
                res.mean[j] = shift[j] + o->sx / (double) o->n;
        }
        if (!(yss - ysum * ysum / (double) yn > 1e-12 * yss)) {
                rc = tp_err_setf(err, TP_UNPROCESSABLE, "outcome", "the outcome is constant over the rows used");
                goto out;
        }
        for (size_t j = 0; j < p; j++) {
                res.rxx[j * p + j] = 1.0;
                res.rxx_n[j * p + j] = res.r_n[j];
                for (size_t k = j + 1; k < p; k++) {
                        int undef;
                        double r = pair_r(&ps[j * q + k], &undef);

                        res.undefined += (unsigned) undef;
                        res.rxx[j * p + k] = res.rxx[k * p + j] = r;
                        res.rxx_n[j * p + k] = res.rxx_n[k * p + j] = ps[j * q + k].n;
                }
        }

        /* Λ = V diag(√λ) Vᵀ and β = Λ⁺ r_xy. */
        memcpy(a, res.rxx, p * p * sizeof(*a));
        jacobi(a, p, v, w);
        res.min_eigen = w[0];
        for (size_t k = 0; k < p; k++) {
                if (w[k] < res.min_eigen)
                        res.min_eigen = w[k];
                if (w[k] < 0) {
                        w[k] = 0;
                        res.clamped++;
                }
                if (w[k] > lmax)
                        lmax = w[k];
        }
        tol = 1e-10 * (lmax > 0 ? lmax : 1.0);
        for (size_t j = 0; j < p; j++)
                for (size_t k = 0; k < p; k++) {
                        double s = 0, si = 0;

                        for (size_t m = 0; m < p; m++) {
                                double vv = v[j * p + m] * v[k * p + m];

                                s += vv * sqrt(w[m]);
                                if (w[m] > tol)
                                        si += vv / sqrt(w[m]);
                        }
                        lam[j * p + k] = s;
                        a[j * p + k] = si; /* Λ⁺ */
                }
        for (size_t k = 0; k < p; k++) {
                double s = 0;

                for (size_t m = 0; m < p; m++)
                        s += a[k * p + m] * res.r[m];
                beta[k] = s;
        }
        for (size_t j = 0; j < p; j++) {
                double s = 0;

                for (size_t k = 0; k < p; k++)
                        s += lam[j * p + k] * lam[j * p + k] * beta[k] * beta[k];
                res.raw[j] = s;
                res.r2 += s;
        }
        for (size_t j = 0; j < p; j++)
                res.rel[j] = res.r2 > 0 ? res.raw[j] / res.r2 : 0.0;
        *ret = res;
        memset(&res, 0, sizeof(res));
out:
        tp_drivers_result_done(&res);
        tp_free(ps);
        tp_free(shift);
        tp_free(cnt);
        tp_free(idx);
        tp_free(d);
        tp_free(a);
        tp_free(v);
        tp_free(w);
        tp_free(lam);
        tp_free(beta);
        return rc;
}

/* ---- the engine query ---------------------------------------------------- */

const char *tp_drivers_quadrant_name(tp_drivers_quadrant q) {
        switch (q) {
        case TP_DRIVERS_FIX_FIRST:
                return "fix_first";
        case TP_DRIVERS_KEEP_UP:
                return "keep_up";
        case TP_DRIVERS_LOW_PRIORITY:
                return "low_priority";
        case TP_DRIVERS_OVERKILL:
                return "possible_overkill";
        }
        return "";
}

void tp_engine_drivers_query_init(tp_engine_drivers_query *q) {
        memset(q, 0, sizeof(*q));
        q->from = INT64_MIN;
        q->to = INT64_MAX;
        q->metric = TP_METRIC_CSAT;
        q->outcome = TP_DRIVERS_OUTCOME_METRIC;
        q->outcome_metric = TP_METRIC_NPS;
}

void tp_engine_drivers_free(tp_engine_drivers *r) {
        if (!r)
                return;
        tp_free(r->rows);
        tp_free(r->excluded);
        tp_free(r);
}

/* One predictor answer: customer, dense touchpoint, score. */
typedef struct dtrip {
        uint32_t cust;
        uint16_t tp;
        int16_t score;
} dtrip;

static int cmp_trip(const void *pa, const void *pb) {
        const dtrip *a = pa, *b = pb;

        if (a->cust != b->cust)
                return a->cust < b->cust ? -1 : 1;
        return a->tp < b->tp ? -1 : a->tp > b->tp;
}

static int cmp_driver(const void *pa, const void *pb) {
        const tp_engine_driver *a = pa, *b = pb;

        if (a->weight_pct != b->weight_pct)
                return a->weight_pct > b->weight_pct ? -1 : 1;
        return a->touchpoint < b->touchpoint ? -1 : a->touchpoint > b->touchpoint;
}

static int cmp_excluded(const void *pa, const void *pb) {
        const tp_engine_driver_excluded *a = pa, *b = pb;

        return a->touchpoint < b->touchpoint ? -1 : a->touchpoint > b->touchpoint;
}

/* Does customer c have a purchase in [from, to)?  Adds the events read to
 * *scanned; -1 when out of memory. */
static int has_purchase(const tp_engine *e, uint32_t c, int64_t from, int64_t to, eng_item **buf, size_t *cap,
        uint64_t *scanned) {
        const eng_rec *v;
        size_t stride, n;

        if (e->cust[c].dhead == ENG_NONE) {
                if (c >= e->snc)
                        return 0;
                v = e->srec + e->soff[c];
                n = e->soff[c + 1] - e->soff[c];
                stride = sizeof(eng_rec);
        } else {
                int64_t got = eng_cust_read(e, c, NULL, buf, cap);

                if (got < 0)
                        return -1;
                n = (size_t) got;
                v = &(*buf)[0].r;
                stride = sizeof(eng_item);
        }
        for (size_t i = 0; i < n; i++) {
                const eng_rec *r = (const eng_rec *) ((const char *) v + i * stride);

                (*scanned)++;
                if ((int64_t) r->ts < from)
                        continue;
                if ((int64_t) r->ts >= to)
                        break;
                if ((r->tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE)
                        return 1;
        }
        return 0;
}

/* The state collected under the lock, used after it. */
typedef struct dctx {
        dtrip *trips;
        size_t ntrips, captrips;
        double *ysum; /* per customer: outcome sum (PURCHASE: 0/1), NaN-free */
        uint32_t *ycnt; /* answers of the outcome (PURCHASE: 1 when known) */
        int64_t *tp_ids;
        uint32_t ncust, ntp;
} dctx;

static tp_rc collect(tp_engine *e, const tp_engine_drivers_query *q, dctx *x, uint64_t *scanned, tp_err *err) {
        uint8_t *tpf = NULL;
        uint32_t otp = ENG_NONE;
        unsigned pb = eng_slot_base[q->metric], pe = eng_slot_base[q->metric + 1];
        unsigned ob = eng_slot_base[q->outcome_metric], oe = eng_slot_base[q->outcome_metric + 1];
        int yres = q->outcome != TP_DRIVERS_OUTCOME_PURCHASE;
        eng_item *buf = NULL;
        eng_filter f;
        size_t bufcap = 0;
        tp_rc rc = TP_OK;

        x->ncust = e->ncust;
        x->ntp = e->ntp;
        if ((rc = eng_filter_init(e, &q->filter, &f, err)) != TP_OK)
                return rc;
        if (q->outcome == TP_DRIVERS_OUTCOME_TOUCHPOINT) {
                uint32_t t = eng_tp_find(e, q->outcome_touchpoint);

                if (t == UINT32_MAX)
                        return tp_err_setf(
                                err,
                                TP_INVALID,
                                "outcome_touchpoint",
                                "touchpoint %lld has no events or answers",
                                (long long) q->outcome_touchpoint);
                otp = t;
        }
        if (e->o.max_rows) {
                uint64_t n = 0;

                for (uint32_t k = 0; k < e->nrblocks; k++) {
                        const eng_rblock *b = e->rblocks[k];

                        if (b->n && (int64_t) b->max_ts >= q->from && (int64_t) b->min_ts < q->to)
                                n += b->n;
                }
                if (n > e->o.max_rows)
                        return tp_err_setf(
                                err,
                                TP_UNPROCESSABLE,
                                "max_rows",
                                "the query exceeds the engine's max_rows limit of %llu",
                                (unsigned long long) e->o.max_rows);
        }
        if (!(x->tp_ids = tp_calloc(x->ntp + 1, sizeof(*x->tp_ids)))
            || !(x->ysum = tp_calloc((size_t) x->ncust + 1, sizeof(*x->ysum)))
            || !(x->ycnt = tp_calloc((size_t) x->ncust + 1, sizeof(*x->ycnt)))
            || !(tpf = tp_calloc(x->ntp + 1, 1)))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        memcpy(x->tp_ids, e->tp_ids, x->ntp * sizeof(*x->tp_ids));
        if (q->touchpoints) {
                for (size_t i = 0; i < q->ntouchpoints; i++) {
                        uint32_t t = eng_tp_find(e, q->touchpoints[i]);

                        if (t != UINT32_MAX)
                                tpf[t] = 1;
                }
        } else
                memset(tpf, 1, x->ntp);
        if (otp != ENG_NONE)
                tpf[otp] = 0;

        for (uint32_t k = 0; k < e->nrblocks; k++) {
                const eng_rblock *b = e->rblocks[k];

                if (!b->n || (int64_t) b->max_ts < q->from || (int64_t) b->min_ts >= q->to)
                        continue;
                *scanned += b->n;
                for (uint32_t i = 0; i < b->n; i++) {
                        uint32_t c = b->cust[i];
                        unsigned s = b->slot[i];

                        if (c == ENG_NONE || (int64_t) b->ts[i] < q->from || (int64_t) b->ts[i] >= q->to)
                                continue;
                        if ((f.cust && !eng_cfilter_pass(&f.cf, c)) || (f.chan && !f.chf[b->ch[i]]))
                                continue;
                        if (s >= pb && s < pe && tpf[b->tp[i]]) {
                                if (x->ntrips == x->captrips) {
                                        size_t nc = x->captrips ? 2 * x->captrips : 1024;
                                        dtrip *t = tp_realloc(x->trips, nc * sizeof(*t));

                                        if (!t) {
                                                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                                                goto out;
                                        }
                                        x->trips = t;
                                        x->captrips = nc;
                                }
                                x->trips[x->ntrips++] = (dtrip) { c,
                                                                  b->tp[i],
                                                                  (int16_t) ((int) (s - pb)
                                                                             + eng_score_lo[q->metric]) };
                        }
                        if (yres && s >= ob && s < oe && (otp == ENG_NONE || b->tp[i] == otp)) {
                                x->ysum[c] += (double) ((int) (s - ob) + eng_score_lo[q->outcome_metric]);
                                x->ycnt[c]++;
                        }
                }
        }
        if (!yres) {
                /* The purchase outcome of each customer with a predictor answer. */
                for (size_t i = 0; i < x->ntrips; i++) {
                        uint32_t c = x->trips[i].cust;
                        int h;

                        if (x->ycnt[c])
                                continue;
                        if ((h = has_purchase(e, c, q->from, q->to, &buf, &bufcap, scanned)) < 0) {
                                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                                goto out;
                        }
                        x->ycnt[c] = 1;
                        x->ysum[c] = h;
                }
        }
out:
        tp_free(tpf);
        tp_free(buf);
        return rc;
}

tp_rc tp_engine_drivers_run(
        tp_engine *e, const tp_engine_drivers_query *q, tp_engine_drivers **ret, tp_err *err) {
        dctx x = { 0 };
        tp_engine_drivers *res = NULL;
        uint32_t *tpn = NULL, *col = NULL;  /* per dense touchpoint: customers with the outcome; column */
        uint32_t *tpany = NULL;             /* customers answering at all */
        uint32_t *rowof = NULL;             /* per customer: matrix row + 1, 0 = none */
        double *xm = NULL, *ym = NULL;
        size_t p = 0, nrow = 0;
        tp_drivers_result dr = { 0 };
        uint64_t scanned = 0;
        tp_rc rc;

        if ((unsigned) q->metric >= _TP_METRIC_MAX)
                return tp_err_setf(err, TP_INVALID, "metric", "unknown metric %d", (int) q->metric);
        if ((unsigned) q->outcome > TP_DRIVERS_OUTCOME_PURCHASE)
                return tp_err_setf(err, TP_INVALID, "outcome", "unknown outcome %d", (int) q->outcome);
        if (q->outcome != TP_DRIVERS_OUTCOME_PURCHASE && (unsigned) q->outcome_metric >= _TP_METRIC_MAX)
                return tp_err_setf(
                        err, TP_INVALID, "outcome_metric", "unknown metric %d", (int) q->outcome_metric);
        if (q->outcome == TP_DRIVERS_OUTCOME_METRIC && q->outcome_metric == q->metric)
                return tp_err_setf(
                        err,
                        TP_INVALID,
                        "outcome_metric",
                        "the outcome metric must differ from the predictors' metric (%s): the outcome would "
                        "contain its predictors",
                        tp_metric_name(q->metric));
        if (!(res = tp_calloc(1, sizeof(*res))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        res->metric = q->metric;
        res->outcome = q->outcome;
        res->outcome_metric = q->outcome_metric;
        res->outcome_touchpoint = q->outcome == TP_DRIVERS_OUTCOME_TOUCHPOINT ? q->outcome_touchpoint : 0;
        res->min_n = q->min_n ? q->min_n : e->o.min_n;

        pthread_rwlock_rdlock(&e->rw);
        rc = collect(e, q, &x, &scanned, err);
        pthread_rwlock_unlock(&e->rw);
        if (rc)
                goto fail;
        res->rows_scanned = scanned;

        /* A customer's answers at a touchpoint are adjacent once sorted. */
        qsort(x.trips, x.ntrips, sizeof(*x.trips), cmp_trip);
        if (!(tpn = tp_calloc(x.ntp + 1, sizeof(*tpn))) || !(tpany = tp_calloc(x.ntp + 1, sizeof(*tpany)))
            || !(col = tp_calloc(x.ntp + 1, sizeof(*col))) || !(rowof = tp_calloc((size_t) x.ncust + 1, sizeof(*rowof)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto fail;
        }
        for (size_t i = 0; i < x.ntrips; i++) {
                const dtrip *t = &x.trips[i];

                if (i && t->cust == x.trips[i - 1].cust && t->tp == x.trips[i - 1].tp)
                        continue;
                tpany[t->tp]++;
                if (x.ycnt[t->cust])
                        tpn[t->tp]++;
        }
        for (uint32_t t = 0; t < x.ntp; t++) {
                if (!tpany[t])
                        continue;
                if (tpn[t] >= res->min_n)
                        col[t] = (uint32_t) ++p;
                else
                        res->nexcluded++;
        }
        if (res->nexcluded) {
                size_t k = 0;

                if (!(res->excluded = tp_calloc(res->nexcluded, sizeof(*res->excluded)))) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto fail;
                }
                for (uint32_t t = 0; t < x.ntp; t++)
                        if (tpany[t] && !col[t])
                                res->excluded[k++] = (tp_engine_driver_excluded) { x.tp_ids[t], tpn[t] };
                qsort(res->excluded, res->nexcluded, sizeof(*res->excluded), cmp_excluded);
        }
        if (!p) {
                rc = tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "min_n",
                        "no touchpoint has %u customers with both a %s answer and the outcome",
                        res->min_n,
                        tp_metric_name(q->metric));
                goto fail;
        }
        if (p > TP_DRIVERS_MAX_P) {
                rc = tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "predictors",
                        "%zu touchpoints qualify, more than the limit of %d for relative weights: filter them",
                        p,
                        TP_DRIVERS_MAX_P);
                goto fail;
        }

        /* Rows: customers with the outcome and a kept predictor. */
        for (size_t i = 0; i < x.ntrips; i++) {
                uint32_t c = x.trips[i].cust;

                if (x.ycnt[c] && col[x.trips[i].tp] && !rowof[c])
                        rowof[c] = (uint32_t) ++nrow;
        }
        if (!(xm = tp_malloc(nrow * p * sizeof(*xm) + 1)) || !(ym = tp_malloc(nrow * sizeof(*ym) + 1))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto fail;
        }
        for (size_t i = 0; i < nrow * p; i++)
                xm[i] = NAN;
        for (size_t i = 0; i < x.ntrips;) {
                const dtrip *t = &x.trips[i];
                size_t j = i;
                double s = 0;

                while (j < x.ntrips && x.trips[j].cust == t->cust && x.trips[j].tp == t->tp)
                        s += x.trips[j++].score;
                if (rowof[t->cust] && col[t->tp]) {
                        size_t r = rowof[t->cust] - 1;

                        xm[r * p + col[t->tp] - 1] = s / (double) (j - i);
                        ym[r] = x.ysum[t->cust] / (double) x.ycnt[t->cust];
                }
                i = j;
        }
        if ((rc = tp_drivers_compute(xm, nrow, p, ym, &dr, err)))
                goto fail;

        if (!(res->rows = tp_calloc(p, sizeof(*res->rows)))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto fail;
        }
        res->nrows = p;
        for (uint32_t t = 0; t < x.ntp; t++) {
                tp_engine_driver *d;

                if (!col[t])
                        continue;
                d = &res->rows[col[t] - 1];
                d->touchpoint = x.tp_ids[t];
                d->n = dr.r_n[col[t] - 1];
                d->r = dr.r[col[t] - 1];
                d->weight_pct = 100.0 * dr.rel[col[t] - 1];
                d->raw = dr.raw[col[t] - 1];
                d->performance = dr.mean[col[t] - 1];
                res->mean_importance += d->weight_pct / (double) p;
                res->mean_performance += d->performance / (double) p;
        }
        for (size_t j = 0; j < p; j++) {
                tp_engine_driver *d = &res->rows[j];
                int hi_i = d->weight_pct >= res->mean_importance, hi_p = d->performance >= res->mean_performance;

                d->quadrant = hi_i ? (hi_p ? TP_DRIVERS_KEEP_UP : TP_DRIVERS_FIX_FIRST)
                                   : (hi_p ? TP_DRIVERS_OVERKILL : TP_DRIVERS_LOW_PRIORITY);
        }
        qsort(res->rows, p, sizeof(*res->rows), cmp_driver);
        res->r2 = dr.r2;
        res->customers = dr.n;
        res->clamped = dr.clamped;
        res->min_eigen = dr.min_eigen;
        res->undefined = dr.undefined;
        *ret = res;
        res = NULL;
fail:
        tp_drivers_result_done(&dr);
        tp_engine_drivers_free(res);
        tp_free(x.trips);
        tp_free(x.ysum);
        tp_free(x.ycnt);
        tp_free(x.tp_ids);
        tp_free(tpn);
        tp_free(tpany);
        tp_free(col);
        tp_free(rowof);
        tp_free(xm);
        tp_free(ym);
        return rc;
}

/* ---- JSON ---------------------------------------------------------------- */




static const char *outcome_name(tp_drivers_outcome o) {
        return o == TP_DRIVERS_OUTCOME_TOUCHPOINT ? "touchpoint"
               : o == TP_DRIVERS_OUTCOME_METRIC   ? "metric"
                                                  : "purchase";
}

json_t *tp_engine_drivers_json(const tp_engine_drivers *r, tp_engine_key_fn key_fn, void *arg) {
        json_t *o = json_object(), *rows, *ex, *oc;

        /* The containers go into o first: o owns them, and one decref frees all. */
        if (!o || eng_jput(o, "metric", json_string(tp_metric_name(r->metric)))
            || eng_jput(o, "outcome", oc = json_object()) || eng_jput(o, "min_n", json_integer(r->min_n))
            || eng_jput(o, "r2", eng_jnum(r->r2)) || eng_jput(o, "customers", json_integer((json_int_t) r->customers))
            || eng_jput(o, "mean_importance", eng_jnum(r->mean_importance))
            || eng_jput(o, "mean_performance", eng_jnum(r->mean_performance))
            || eng_jput(o, "clamped_eigenvalues", json_integer(r->clamped))
            || eng_jput(o, "undefined_pairs", json_integer(r->undefined))
            || eng_jput(o, "touchpoints", rows = json_array()) || eng_jput(o, "excluded", ex = json_array()))
                goto fail;
        if (eng_jput(oc, "type", json_string(outcome_name(r->outcome))))
                goto fail;
        if (r->outcome != TP_DRIVERS_OUTCOME_PURCHASE
            && eng_jput(oc, "metric", json_string(tp_metric_name(r->outcome_metric))))
                goto fail;
        if (r->outcome == TP_DRIVERS_OUTCOME_TOUCHPOINT && eng_jtp(oc, "touchpoint_id", "touchpoint", r->outcome_touchpoint, key_fn, arg))
                goto fail;
        for (size_t i = 0; i < r->nrows; i++) {
                const tp_engine_driver *d = &r->rows[i];
                json_t *row = json_object();

                if (!row || json_array_append_new(rows, row))
                        goto fail;
                if (eng_jtp(row, "touchpoint_id", "touchpoint", d->touchpoint, key_fn, arg) || eng_jput(row, "n", json_integer((json_int_t) d->n))
                    || eng_jput(row, "correlation", eng_jnum(d->r)) || eng_jput(row, "weight_pct", eng_jnum(d->weight_pct))
                    || eng_jput(row, "raw_weight", eng_jnum(d->raw)) || eng_jput(row, "performance", eng_jnum(d->performance))
                    || eng_jput(row, "quadrant", json_string(tp_drivers_quadrant_name(d->quadrant))))
                        goto fail;
        }
        for (size_t i = 0; i < r->nexcluded; i++) {
                json_t *row = json_object();

                if (!row || json_array_append_new(ex, row))
                        goto fail;
                if (eng_jtp(row, "touchpoint_id", "touchpoint", r->excluded[i].touchpoint, key_fn, arg)
                    || eng_jput(row, "n", json_integer((json_int_t) r->excluded[i].n)))
                        goto fail;
        }
        return o;
fail:
        json_decref(o);
        return NULL;
}
