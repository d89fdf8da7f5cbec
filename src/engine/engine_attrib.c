/* SPDX-License-Identifier: MIT */
/*
 * engine_attrib.c -- multi-touch attribution: first, last, last non-direct,
 * linear, time decay, position-based, Markov removal effect and Shapley value,
 * over paths in the shape of the ChannelAttribution package's input.
 *
 * The heuristic models share each path's conversions and value over its
 * touches in one pass.
 *
 * Markov: a first-order chain with the states start, the touchpoints that
 * occur, conversion and null, transition probabilities from the paths' counts
 * (conversions + nulls journeys per path).  P(conversion | start) is the
 * solution of (I - Q) x = r over the transient states (Gaussian elimination
 * with partial pivoting); removing touchpoint t sends every transition into t
 * to null.  removal(t) = 1 - P_without_t / P, and t gets total * removal(t) /
 * sum of removals.  No simulation: the answer is exact (to rounding).
 *
 * Shapley: the coalition value v(S) is the conversions (value) of the paths
 * whose set of touchpoints is a subset of S; that game is a sum of unanimity
 * games, so the exact Shapley value splits each path equally over its distinct
 * touchpoints (see shapley()).
 *
 * Over the engine's events (tp_engine_attribution_run()): the rollups kept at
 * ingest answer when they can (engine_mta.h says which questions); otherwise
 * build_paths() scans every customer's events and hands each journey to the
 * same integer sums (or, for time decay, collects the paths themselves for
 * tp_attrib_paths()), so a rollup and a scan divide the same integers the same
 * way and agree to the bit.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/engine_mta.h"

void tp_attrib_params_init(tp_attrib_params *p) {
        p->direct = -1;
        p->half_life = 7.0;
}

void tp_attrib_result_done(tp_attrib_result *r) {
        if (!r)
                return;
        tp_free(r->conversions);
        tp_free(r->value);
        tp_free(r->touchpoints);
        r->conversions = r->value = NULL;
        r->touchpoints = NULL;
}

void tp_attrib_result_free(tp_attrib_result *r) {
        if (!r)
                return;
        tp_attrib_result_done(r);
        tp_free(r);
}

static int finite_nonneg(double x) {
        return isfinite(x) && x >= 0;
}

static tp_rc check_paths(const tp_attrib_path *paths, size_t n, int ntp, tp_err *err) {
        for (size_t i = 0; i < n; i++) {
                const tp_attrib_path *pa = &paths[i];

                if (!finite_nonneg(pa->conversions) || !finite_nonneg(pa->nulls) || !isfinite(pa->value))
                        return tp_err_set(err, TP_INVALID, "path %zu: conversions and nulls must be finite and >= 0, value finite", i);
                if (pa->ntouches && !pa->touches)
                        return tp_err_set(err, TP_INVALID, "path %zu: touches missing", i);
                for (size_t k = 0; k < pa->ntouches; k++) {
                        if (pa->touches[k] < 0 || pa->touches[k] >= ntp)
                                return tp_err_set(err, TP_INVALID, "path %zu: touchpoint index %d out of 0..%d", i,
                                        pa->touches[k], ntp - 1);
                        if (pa->ages && !isfinite(pa->ages[k]))
                                return tp_err_set(err, TP_INVALID, "path %zu: age not finite", i);
                }
        }
        return TP_OK;
}

/* ---- heuristic models --------------------------------------------------- */

static void credit(tp_attrib_result *r, int t, const tp_attrib_path *pa, double share) {
        r->conversions[t] += pa->conversions * share;
        r->value[t] += pa->value * share;
}

static void heuristic(const tp_attrib_path *paths, size_t n, tp_attrib_model model, const tp_attrib_params *p,
        tp_attrib_result *r) {
        for (size_t i = 0; i < n; i++) {
                const tp_attrib_path *pa = &paths[i];
                size_t m = pa->ntouches;

                if (m == 0)
                        continue;
                switch (model) {
                case TP_ATTRIB_FIRST:
                        credit(r, pa->touches[0], pa, 1.0);
                        break;
                case TP_ATTRIB_LAST:
                        credit(r, pa->touches[m - 1], pa, 1.0);
                        break;
                case TP_ATTRIB_LAST_NON_DIRECT: {
                        size_t k = m;

                        while (k > 0 && pa->touches[k - 1] == p->direct)
                                k--;
                        credit(r, pa->touches[k > 0 ? k - 1 : m - 1], pa, 1.0);
                        break;
                }
                case TP_ATTRIB_LINEAR:
                        for (size_t k = 0; k < m; k++)
                                credit(r, pa->touches[k], pa, 1.0 / (double) m);
                        break;
                case TP_ATTRIB_TIME_DECAY: {
                        /* Normalised weights: subtracting the smallest age
                         * first keeps 2^(-age/h) from underflowing to 0 for
                         * every touch of an old path (the ratio is the same). */
                        double amin = INFINITY, sum = 0;

                        for (size_t k = 0; k < m; k++) {
                                double a = pa->ages ? pa->ages[k] : (double) (m - 1 - k);
                                if (a < amin)
                                        amin = a;
                        }
                        for (size_t k = 0; k < m; k++) {
                                double a = pa->ages ? pa->ages[k] : (double) (m - 1 - k);
                                sum += exp2(-(a - amin) / p->half_life);
                        }
                        for (size_t k = 0; k < m; k++) {
                                double a = pa->ages ? pa->ages[k] : (double) (m - 1 - k);
                                credit(r, pa->touches[k], pa, exp2(-(a - amin) / p->half_life) / sum);
                        }
                        break;
                }
                case TP_ATTRIB_POSITION:
                        if (m == 1) {
                                credit(r, pa->touches[0], pa, 1.0);
                        } else if (m == 2) {
                                credit(r, pa->touches[0], pa, 0.5);
                                credit(r, pa->touches[1], pa, 0.5);
                        } else {
                                credit(r, pa->touches[0], pa, 0.4);
                                credit(r, pa->touches[m - 1], pa, 0.4);
                                for (size_t k = 1; k + 1 < m; k++)
                                        credit(r, pa->touches[k], pa, 0.2 / (double) (m - 2));
                        }
                        break;
                default:
                        break;
                }
        }
}

/* ---- Markov ------------------------------------------------------------- */

/* Solve a x = b in place (a: k x k row-major, destroyed; b becomes x) by
 * Gaussian elimination with partial pivoting.  Returns -1 when singular. */
static int gauss(double *a, double *b, size_t k) {
        for (size_t c = 0; c < k; c++) {
                size_t piv = c;
                double best = fabs(a[c * k + c]);

                for (size_t rr = c + 1; rr < k; rr++)
                        if (fabs(a[rr * k + c]) > best) {
                                best = fabs(a[rr * k + c]);
                                piv = rr;
                        }
                if (best < 1e-300)
                        return -1;
                if (piv != c) {
                        for (size_t j = 0; j < k; j++) {
                                double t = a[c * k + j];
                                a[c * k + j] = a[piv * k + j];
                                a[piv * k + j] = t;
                        }
                        double t = b[c];
                        b[c] = b[piv];
                        b[piv] = t;
                }
                for (size_t rr = c + 1; rr < k; rr++) {
                        double f = a[rr * k + c] / a[c * k + c];
                        if (f == 0)
                                continue;
                        for (size_t j = c; j < k; j++)
                                a[rr * k + j] -= f * a[c * k + j];
                        b[rr] -= f * b[c];
                }
        }
        for (size_t c = k; c-- > 0;) {
                double s = b[c];
                for (size_t j = c + 1; j < k; j++)
                        s -= a[c * k + j] * b[j];
                b[c] = s / a[c * k + c];
        }
        return 0;
}

/* P(conversion | start) with state `removed` (1..m, 0 = none) sent to null.
 * prob: (m+1) x (m+1) transition probabilities among start (0) and the
 * touchpoints (1..m); pconv[s]: s -> conversion.  a, b, idx: scratch. */
static int conv_prob(const double *prob, const double *pconv, size_t m, size_t removed, double *a, double *b,
        size_t *idx, double *ret) {
        size_t s = m + 1, k = 0;

        for (size_t i = 0; i < s; i++)
                if (removed == 0 || i != removed)
                        idx[k++] = i;
        for (size_t i = 0; i < k; i++) {
                for (size_t j = 0; j < k; j++)
                        a[i * k + j] = (i == j ? 1.0 : 0.0) - prob[idx[i] * s + idx[j]];
                b[i] = pconv[idx[i]];
        }
        if (gauss(a, b, k) < 0)
                return -1;
        *ret = b[0]; /* start is idx[0] = 0, never removed */
        return 0;
}

tp_rc eng_markov_check(size_t m, tp_err *err) {
        if (m > TP_ATTRIB_MARKOV_MAX)
                return tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "touchpoints",
                        "Markov attribution is limited to %d distinct touchpoints in paths (%zu occur)",
                        TP_ATTRIB_MARKOV_MAX,
                        m);
        return TP_OK;
}

tp_rc eng_markov_solve(
        double *cnt, double *conv, const double *tot, size_t m, const int *back, tp_attrib_result *r, tp_err *err) {
        size_t s = m + 1;
        double *rem = NULL, *a = NULL, *b = NULL;
        size_t *idx = NULL;
        double p0, sum = 0;
        tp_rc rc = TP_OK;

        for (size_t i = 0; i < s; i++) {
                if (tot[i] <= 0)
                        continue;
                for (size_t j = 0; j < s; j++)
                        cnt[i * s + j] /= tot[i];
                conv[i] /= tot[i];
        }
        if (m == 0 || r->total_conversions <= 0)
                return TP_OK;
        rem = tp_calloc(s, sizeof *rem);
        a = tp_malloc(s * s * sizeof *a);
        b = tp_malloc(s * sizeof *b);
        idx = tp_malloc(s * sizeof *idx);
        if (!rem || !a || !b || !idx) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory (Markov attribution over %zu touchpoints)", m);
                goto out;
        }
        if (conv_prob(cnt, conv, m, 0, a, b, idx, &p0) < 0 || p0 <= 0)
                goto out; /* cannot happen with counts from paths; nothing to attribute */
        for (size_t t = 1; t <= m; t++) {
                double pt;
                if (conv_prob(cnt, conv, m, t, a, b, idx, &pt) < 0)
                        pt = 0;
                rem[t] = 1.0 - pt / p0;
                if (rem[t] < 0) /* rounding only: removing a state cannot raise P */
                        rem[t] = 0;
                sum += rem[t];
        }
        if (sum > 0)
                for (size_t t = 1; t <= m; t++) {
                        r->conversions[back[t - 1]] = r->total_conversions * rem[t] / sum;
                        r->value[back[t - 1]] = r->total_value * rem[t] / sum;
                }
out:
        tp_free(rem);
        tp_free(a);
        tp_free(b);
        tp_free(idx);
        return rc;
}

/* Over paths: the states in order of first occurrence. */
static tp_rc markov(const tp_attrib_path *paths, size_t n, int ntp, tp_attrib_result *r, tp_err *err) {
        tp_rc rc;
        int *map = NULL;    /* touchpoint -> state 1..m, 0: does not occur */
        int *back = NULL;   /* state - 1 -> touchpoint */
        double *cnt = NULL; /* (m+1)^2 counts, then probabilities */
        double *conv = NULL, *tot = NULL;
        size_t m = 0, s;

        map = tp_calloc((size_t) ntp, sizeof *map);
        back = tp_malloc((size_t) ntp * sizeof *back);
        if (!map || !back)
                goto nomem;
        for (size_t i = 0; i < n; i++) {
                if (paths[i].conversions + paths[i].nulls <= 0)
                        continue;
                for (size_t k = 0; k < paths[i].ntouches; k++) {
                        int t = paths[i].touches[k];
                        if (!map[t]) {
                                map[t] = (int) ++m;
                                back[m - 1] = t;
                        }
                }
        }
        if ((rc = eng_markov_check(m, err)) != TP_OK)
                goto out;
        s = m + 1;
        cnt = tp_calloc(s * s, sizeof *cnt);
        conv = tp_calloc(s, sizeof *conv);
        tot = tp_calloc(s, sizeof *tot);
        if (!cnt || !conv || !tot)
                goto nomem;
        for (size_t i = 0; i < n; i++) {
                const tp_attrib_path *pa = &paths[i];
                double w = pa->conversions + pa->nulls;
                size_t prev = 0;

                if (pa->ntouches == 0 || w <= 0)
                        continue;
                for (size_t k = 0; k < pa->ntouches; k++) {
                        size_t st = (size_t) map[pa->touches[k]];
                        cnt[prev * s + st] += w;
                        tot[prev] += w;
                        prev = st;
                }
                conv[prev] += pa->conversions;
                tot[prev] += w; /* to conversion and to null */
        }
        rc = eng_markov_solve(cnt, conv, tot, m, back, r, err);
        goto out;
nomem:
        rc = tp_err_set(err, TP_NOMEM, "out of memory (Markov attribution over %zu touchpoints)", m);
out:
        tp_free(map);
        tp_free(back);
        tp_free(cnt);
        tp_free(conv);
        tp_free(tot);
        return rc;
}

/* ---- Shapley ------------------------------------------------------------ */

/* The characteristic function is v(S) = the conversions (value) of the paths
 * whose set of touchpoints lies inside S.  Each path contributes c * u_T, the
 * unanimity game on its touch set T, and the Shapley value of u_T gives 1/|T|
 * to each member of T; by linearity the exact Shapley value is every path's
 * conversions split equally over its DISTINCT touchpoints.  No 2^n coalitions
 * to visit, so any number of touchpoints. */
static tp_rc shapley(const tp_attrib_path *paths, size_t n, int ntp, tp_attrib_result *r, tp_err *err) {
        size_t *seen = tp_calloc((size_t) ntp, sizeof *seen); /* path stamp + 1 of the last visit */

        if (!seen)
                return tp_err_set(err, TP_NOMEM, "out of memory (Shapley attribution)");
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;

                if (paths[i].ntouches == 0 || (paths[i].conversions <= 0 && paths[i].value == 0))
                        continue;
                for (size_t t = 0; t < paths[i].ntouches; t++) {
                        int tp = paths[i].touches[t];
                        if (seen[tp] != i + 1) {
                                seen[tp] = i + 1;
                                k++;
                        }
                }
                for (size_t t = 0; t < paths[i].ntouches; t++) {
                        int tp = paths[i].touches[t];
                        if (seen[tp] == i + 1) {
                                r->conversions[tp] += paths[i].conversions / (double) k;
                                r->value[tp] += paths[i].value / (double) k;
                                seen[tp] = 0; /* each distinct touchpoint once */
                        }
                }
        }
        tp_free(seen);
        return TP_OK;
}

/* ---- entry point -------------------------------------------------------- */

tp_rc tp_attrib_paths(const tp_attrib_path *paths, size_t n, int ntouchpoints, tp_attrib_model model,
        const tp_attrib_params *p, tp_attrib_result *ret, tp_err *err) {
        tp_attrib_params defaults;
        tp_attrib_result r;
        tp_rc rc;

        if (!p) {
                tp_attrib_params_init(&defaults);
                p = &defaults;
        }
        if ((int) model < 0 || model >= _TP_ATTRIB_MODEL_MAX)
                return tp_err_set(err, TP_INVALID, "unknown attribution model %d", (int) model);
        if (ntouchpoints < 1 || ntouchpoints > 65535)
                return tp_err_set(err, TP_INVALID, "touchpoints: %d, not in 1..65535", ntouchpoints);
        if (n && !paths)
                return tp_err_set(err, TP_INVALID, "paths missing");
        if (model == TP_ATTRIB_TIME_DECAY && !(isfinite(p->half_life) && p->half_life > 0))
                return tp_err_set(err, TP_INVALID, "half-life must be > 0");
        rc = check_paths(paths, n, ntouchpoints, err);
        if (rc != TP_OK)
                return rc;

        memset(&r, 0, sizeof r);
        r.model = model;
        r.n = (size_t) ntouchpoints;
        r.conversions = tp_calloc(r.n, sizeof *r.conversions);
        r.value = tp_calloc(r.n, sizeof *r.value);
        if (!r.conversions || !r.value) {
                tp_attrib_result_done(&r);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                r.total_nulls += paths[i].nulls;
                if (paths[i].ntouches) {
                        r.total_conversions += paths[i].conversions;
                        r.total_value += paths[i].value;
                } else {
                        r.unattributed_conversions += paths[i].conversions;
                        r.unattributed_value += paths[i].value;
                }
        }

        switch (model) {
        case TP_ATTRIB_MARKOV:
                rc = markov(paths, n, ntouchpoints, &r, err);
                break;
        case TP_ATTRIB_SHAPLEY:
                rc = shapley(paths, n, ntouchpoints, &r, err);
                break;
        default:
                heuristic(paths, n, model, p, &r);
                rc = TP_OK;
                break;
        }
        if (rc != TP_OK) {
                tp_attrib_result_done(&r);
                return rc;
        }
        *ret = r;
        return TP_OK;
}

/* ---- over the engine's events ------------------------------------------- */

/* Paths built from the events, one per journey; touches and ages in shared
 * arrays (offsets while building, pointers once complete). */
typedef struct pathset {
        tp_attrib_path *p;
        size_t n, cap;
        int *t;
        double *age;
        size_t nt, capt;
} pathset;

static int ps_reserve(pathset *s, size_t touches) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 256;
                tp_attrib_path *p = tp_realloc(s->p, cap * sizeof *p);
                if (!p)
                        return -1;
                s->p = p;
                s->cap = cap;
        }
        if (s->nt + touches > s->capt) {
                size_t cap = s->capt ? s->capt : 1024;
                while (cap < s->nt + touches)
                        cap *= 2;
                int *t = tp_realloc(s->t, cap * sizeof *t);
                if (!t)
                        return -1;
                s->t = t;
                double *a = tp_realloc(s->age, cap * sizeof *a);
                if (!a)
                        return -1;
                s->age = a;
                s->capt = cap;
        }
        return 0;
}

/* One journey: the non-purchase events of buf[a, z) (within lookback seconds
 * of `at` when lookback > 0), ages measured from `at`. */
static int ps_add(pathset *s, const eng_item *buf, uint32_t a, uint32_t z, uint32_t at, int64_t lookback,
        int ctype, double conv, double value, double nulls) {
        size_t off;
        tp_attrib_path *p;

        if (ps_reserve(s, z - a) < 0)
                return -1;
        off = s->nt;
        for (uint32_t i = a; i < z; i++) {
                if ((int) (buf[i].r.tb & ENG_TB_TYPE) == ctype)
                        continue;
                if (lookback > 0 && (int64_t) at - (int64_t) buf[i].r.ts > lookback)
                        continue;
                s->t[s->nt] = buf[i].r.tp;
                s->age[s->nt] = (double) at - (double) buf[i].r.ts;
                s->nt++;
        }
        p = &s->p[s->n++];
        memset(p, 0, sizeof *p);
        p->touches = (const int *) (uintptr_t) off; /* patched to pointers at the end */
        p->ages = (const double *) (uintptr_t) off;
        p->ntouches = s->nt - off;
        p->conversions = conv;
        p->value = value;
        p->nulls = nulls;
        return 0;
}

static void ps_done(pathset *s) {
        tp_free(s->p);
        tp_free(s->t);
        tp_free(s->age);
}

/* Where build_paths() puts each journey: the paths themselves (time decay,
 * which needs their ages), or their sums (every other model). */
typedef struct sink {
        pathset *ps;
        eng_msum *conv, *null;
        eng_mscratch *sc;
} sink;

/* The converting journey of buf[a, z) (no conversion among them) ending at at. */
static int sink_conv(
        sink *k, const eng_item *buf, uint32_t a, uint32_t z, uint32_t at, int64_t lookback, int ctype, int64_t value) {
        if (k->ps)
                return ps_add(k->ps, buf, a, z, at, lookback, ctype, 1.0, (double) value, 0.0);
        a += eng_mwindow(buf + a, z - a, at, lookback);
        if (eng_mconv_reserve(k->conv, k->sc, buf + a, z - a) != TP_OK)
                return -1;
        eng_mconv(k->conv, k->sc, buf + a, z - a, value, 1);
        return 0;
}

static int sink_null(sink *k, const eng_item *buf, uint32_t a, uint32_t z, int ctype) {
        if (k->ps)
                return ps_add(k->ps, buf, a, z, buf[z - 1].r.ts, 0, ctype, 0.0, 0.0, 1.0);
        if (eng_mnull_reserve(k->null, buf + a, z - a) != TP_OK)
                return -1;
        eng_mnull(k->null, buf + a, z - a, 1);
        return 0;
}

/* Every customer's journeys ending at events of type code ctype (-1: the type
 * never occurred, so every journey is a null path), of the customers and
 * channels f keeps (NULL: all); rdlock held.  -1 when out of memory. */
static int build_paths(const tp_engine *e, const tp_engine_path_query *q, const eng_filter *f, int ctype, sink *k) {
        eng_item *buf = NULL;
        size_t cap = 0;
        int rc = -1;

        for (uint32_t c = 0; c < e->ncust; c++) {
                int64_t got;
                uint32_t n, seg = 0;

                if (eng_cust_len(e, c) == 0 || (f && f->cust && !eng_cfilter_pass(&f->cf, c)))
                        continue;
                if ((got = eng_cust_read(e, c, f, &buf, &cap)) < 0)
                        goto out;
                n = (uint32_t) got;
                for (uint32_t i = 0; i < n; i++) {
                        const eng_rec *r = &buf[i].r;

                        if ((int) (r->tb & ENG_TB_TYPE) != ctype)
                                continue;
                        if ((int64_t) r->ts >= q->from && (int64_t) r->ts < q->to &&
                            sink_conv(k, buf, seg, i, r->ts, q->lookback, ctype, buf[i].value) < 0)
                                goto out;
                        seg = i + 1;
                }
                if (seg < n && (int64_t) buf[n - 1].r.ts >= q->from && (int64_t) buf[n - 1].r.ts < q->to &&
                    sink_null(k, buf, seg, n, ctype) < 0)
                        goto out;
        }
        if (k->ps)
                for (size_t i = 0; i < k->ps->n; i++) {
                        size_t off = (size_t) (uintptr_t) k->ps->p[i].touches;
                        k->ps->p[i].touches = k->ps->t ? k->ps->t + off : NULL;
                        k->ps->p[i].ages = k->ps->age ? k->ps->age + off : NULL;
                }
        rc = 0;
out:
        tp_free(buf);
        return rc;
}

static int whole_range(const tp_engine *e, const tp_engine_path_query *q) {
        return !e->nevents || (q->from <= (int64_t) e->emin_ts && q->to > (int64_t) e->emax_ts);
}

/* The rollup that answers q for model, NULL when it takes a scan. */
static const eng_msum *rollup_for(const tp_engine *e, const tp_engine_path_query *q, tp_attrib_model model) {
        if (q->strategy != TP_ENGINE_AUTO || !e->mta || model == TP_ATTRIB_TIME_DECAY || !whole_range(e, q) ||
            q->filter.channels || q->filter.segments || q->filter.nattrs)
                return NULL;
        if (q->conversion && strcmp(q->conversion, "purchase") != 0)
                return NULL;
        if (q->lookback == 0)
                return &e->mta->conv[0];
        if (e->o.attrib_lookback > 0 && q->lookback == e->o.attrib_lookback)
                return &e->mta->conv[1];
        return NULL;
}

tp_rc tp_engine_attribution_run(tp_engine *e, const tp_engine_path_query *q, tp_attrib_model model,
        const tp_attrib_params *p, tp_attrib_result **ret, tp_err *err) {
        pathset s = { 0 };
        eng_msum sconv = { 0 }, snull = { 0 };
        eng_mscratch scr = { 0 };
        eng_mview cv = { 0 }, nv = { 0 };
        sink k = { 0 };
        eng_filter flt;
        const eng_msum *roll;
        tp_attrib_params defaults;
        tp_attrib_result r, *res = NULL;
        int64_t *ids = NULL;
        uint64_t scanned = 0;
        uint32_t ntp;
        tp_rc rc;

        if (q->lookback < 0)
                return tp_err_setf(err, TP_INVALID, "lookback", "the look-back window cannot be negative");
        if ((int) model < 0 || model >= _TP_ATTRIB_MODEL_MAX)
                return tp_err_set(err, TP_INVALID, "unknown attribution model %d", (int) model);
        if (!p) {
                tp_attrib_params_init(&defaults);
                p = &defaults;
        }
        if (!(res = tp_calloc(1, sizeof *res)))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_rwlock_rdlock(&e->rw);
        if ((rc = eng_filter_init(e, &q->filter, &flt, err)) != TP_OK)
                goto out;
        ntp = e->ntp;
        if (ntp == 0) {
                /* No touchpoints yet: nothing to attribute. */
                pthread_rwlock_unlock(&e->rw);
                res->model = model;
                *ret = res;
                return TP_OK;
        }
        if ((roll = rollup_for(e, q, model))) {
                /* A copy of the sums: the division runs after the lock. */
                if (eng_mview_of(roll, ntp, eng_mta_kinds(model, 0), &cv) != TP_OK ||
                    eng_mview_of(&e->mta->null, ntp, eng_mta_kinds(model, 1), &nv) != TP_OK) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
        } else {
                if (e->o.max_rows && (uint64_t) e->nsealed + e->ndelta > e->o.max_rows) {
                        rc = tp_err_setf(
                                err,
                                TP_UNPROCESSABLE,
                                "max_rows",
                                "the query would scan more than max_rows = %llu rows",
                                (unsigned long long) e->o.max_rows);
                        goto out;
                }
                scanned = (uint64_t) e->nsealed + e->ndelta;
                if (model == TP_ATTRIB_TIME_DECAY) {
                        k.ps = &s;
                } else {
                        k.conv = &sconv;
                        k.null = &snull;
                        k.sc = &scr;
                        if (eng_msum_grow(&sconv, ntp) != TP_OK || eng_msum_grow(&snull, ntp) != TP_OK ||
                            eng_mscratch_grow(&scr, ntp) != TP_OK) {
                                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                                goto out;
                        }
                }
                if (build_paths(
                            e,
                            q,
                            flt.any ? &flt : NULL,
                            q->conversion && strcmp(q->conversion, "purchase") != 0 ?
                                    eng_sdict_find(&e->types, q->conversion) :
                                    ENG_TYPE_PURCHASE,
                            &k) < 0) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
        }
        if (!(ids = tp_malloc((size_t) ntp * sizeof *ids))) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        memcpy(ids, e->tp_ids, (size_t) ntp * sizeof *ids);
        pthread_rwlock_unlock(&e->rw);

        if (model == TP_ATTRIB_TIME_DECAY) {
                rc = tp_attrib_paths(s.p, s.n, (int) ntp, model, p, &r, err);
        } else {
                if (!roll &&
                    (eng_mview_of(&sconv, ntp, eng_mta_kinds(model, 0), &cv) != TP_OK ||
                     eng_mview_of(&snull, ntp, eng_mta_kinds(model, 1), &nv) != TP_OK)) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto done;
                }
                rc = eng_mta_result(&cv, &nv, ntp, model, p, &r, err);
        }
        if (rc != TP_OK)
                goto done;
        *res = r;
        res->touchpoints = ids;
        res->rows_scanned = scanned;
        ids = NULL;
        goto done;
out:
        pthread_rwlock_unlock(&e->rw);
done:
        ps_done(&s);
        eng_msum_done(&sconv);
        eng_msum_done(&snull);
        eng_mscratch_done(&scr);
        eng_mview_done(&cv);
        eng_mview_done(&nv);
        tp_free(ids);
        if (rc != TP_OK) {
                tp_attrib_result_free(res);
                return rc;
        }
        *ret = res;
        return TP_OK;
}
