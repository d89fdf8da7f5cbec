/* SPDX-License-Identifier: MIT */
/*
 * test_drivers.c -- key drivers (engine_drivers.c): Johnson's relative
 * weights on hand-checked cases (orthogonal predictors, identical predictors,
 * missing values that zero-filling would distort, a non-positive-definite
 * pairwise matrix, R² against the normal equations), the limits, the airline
 * survey of ../shared/data/airline/train.csv (read from the repository root;
 * skipped, saying so, when absent) against what published analyses agree on,
 * and the engine query against tp_drivers_compute() on the same matrix.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

#define AIRLINE_CSV "../shared/data/airline/train.csv"

static void assert_near(double got, double want, double tol, const char *what) {
        if (!(fabs(got - want) <= tol)) {
                print_error("%s: got %.12f, want %.12f (tolerance %g)\n", what, got, want, tol);
                fail();
        }
}

/* Pearson over the rows where both are present (the reference). */
static double pearson(const double *a, size_t sa, const double *b, size_t sb, size_t n) {
        double ma = 0, mb = 0, k = 0, sab = 0, saa = 0, sbb = 0;

        for (size_t i = 0; i < n; i++)
                if (!isnan(a[i * sa]) && !isnan(b[i * sb])) {
                        ma += a[i * sa];
                        mb += b[i * sb];
                        k += 1;
                }
        ma /= k;
        mb /= k;
        for (size_t i = 0; i < n; i++)
                if (!isnan(a[i * sa]) && !isnan(b[i * sb])) {
                        sab += (a[i * sa] - ma) * (b[i * sb] - mb);
                        saa += (a[i * sa] - ma) * (a[i * sa] - ma);
                        sbb += (b[i * sb] - mb) * (b[i * sb] - mb);
                }
        return sab / sqrt(saa * sbb);
}

static void check_sums(const tp_drivers_result *r) {
        double s = 0, t = 0;

        for (size_t j = 0; j < r->p; j++) {
                s += r->raw[j];
                t += r->rel[j];
                assert_true(r->raw[j] >= -1e-12);
        }
        assert_near(s, r->r2, 1e-12, "sum of raw weights = R²");
        assert_near(t, 1.0, 1e-12, "relative importances sum to 1");
}

/* ---- hand-checked cases --------------------------------------------------- */

/* x1, x2 orthogonal and centred, e orthogonal to both; y = 2 x1 + x2 + e.
 * Σ(2x1)² = 32, Σx2² = 8, Σe² = 8, Σy² = 48: r1 = 16/√384, r2 = 8/√384,
 * r1² = 2/3, r2² = 1/6, R² = 5/6; weights equal the squared correlations. */
static void test_orthogonal(void **state) {
        const double x1[8] = { 1, 1, -1, -1, 1, 1, -1, -1 }, x2[8] = { 1, -1, 1, -1, 1, -1, 1, -1 };
        const double e[8] = { 1, -1, -1, 1, -1, 1, 1, -1 };
        double x[16], y[8];
        tp_drivers_result r;
        tp_err err;

        (void) state;
        for (int i = 0; i < 8; i++) {
                x[2 * i] = x1[i];
                x[2 * i + 1] = x2[i];
                y[i] = 2 * x1[i] + x2[i] + e[i] + 10;
        }
        assert_int_equal(tp_drivers_compute(x, 8, 2, y, &r, &err), TP_OK);
        assert_int_equal(r.n, 8);
        assert_near(r.r[0], 16 / sqrt(384), 1e-12, "r1");
        assert_near(r.r[1], 8 / sqrt(384), 1e-12, "r2");
        assert_near(r.rxx[1], 0, 1e-12, "r12");
        assert_near(r.raw[0], 2.0 / 3, 1e-12, "raw1 = r1²");
        assert_near(r.raw[1], 1.0 / 6, 1e-12, "raw2 = r2²");
        assert_near(r.r2, 5.0 / 6, 1e-12, "R²");
        assert_near(r.rel[0], 0.8, 1e-12, "rel1");
        assert_near(r.rel[1], 0.2, 1e-12, "rel2");
        assert_near(r.mean[0], 0, 1e-12, "mean1");
        assert_int_equal(r.clamped, 0);
        check_sums(&r);
        tp_drivers_result_done(&r);
}

/* x1 = x2: Rxx is singular; each gets r²/2 (Λ⁺ is the pseudo-inverse). */
static void test_identical(void **state) {
        const double v[6] = { 1, 2, 3, 4, 5, 6 }, y[6] = { 2, 1, 4, 3, 6, 5 };
        double x[12], rr;
        tp_drivers_result r;
        tp_err err;

        (void) state;
        for (int i = 0; i < 6; i++)
                x[2 * i] = x[2 * i + 1] = v[i];
        rr = pearson(v, 1, y, 1, 6); /* 29/35 */
        assert_near(rr, 29.0 / 35, 1e-12, "r by hand");
        assert_int_equal(tp_drivers_compute(x, 6, 2, y, &r, &err), TP_OK);
        assert_near(r.rxx[1], 1, 1e-12, "r12");
        assert_near(r.raw[0], rr * rr / 2, 1e-9, "raw1");
        assert_near(r.raw[1], rr * rr / 2, 1e-9, "raw2");
        assert_near(r.rel[0], 0.5, 1e-9, "rel1");
        assert_near(r.r2, rr * rr, 1e-9, "R² = r²");
        check_sums(&r);
        tp_drivers_result_done(&r);
}

/* x1 is missing on two rows; where present it equals y, so r1 = 1 over its 6
 * rows.  Zero-filling the gaps pulls r1 down and moves weight to x2. */
static void test_missing(void **state) {
        const double y[8] = { 1, 2, 3, 4, 5, 6, 2, 5 };
        const double x1[8] = { 1, 2, 3, 4, 5, 6, NAN, NAN }, x2[8] = { 2, 1, 3, 1, 2, 2, 1, 3 };
        double x[16], z[16];
        tp_drivers_result r, rz;
        tp_err err;

        (void) state;
        for (int i = 0; i < 8; i++) {
                x[2 * i] = x1[i];
                x[2 * i + 1] = x2[i];
                z[2 * i] = isnan(x1[i]) ? 0 : x1[i];
                z[2 * i + 1] = x2[i];
        }
        assert_int_equal(tp_drivers_compute(x, 8, 2, y, &r, &err), TP_OK);
        assert_int_equal(r.n, 8);
        assert_int_equal(r.r_n[0], 6);
        assert_int_equal(r.r_n[1], 8);
        assert_int_equal(r.rxx_n[1], 6);
        assert_near(r.r[0], 1.0, 1e-12, "r1 pairwise = 1");
        assert_near(r.r[1], pearson(x2, 1, y, 1, 8), 1e-12, "r2 over 8 rows");
        assert_near(r.rxx[1], pearson(x1, 1, x2, 1, 8), 1e-12, "r12 over 6 rows");
        assert_near(r.mean[0], 3.5, 1e-12, "mean of x1 over its rows");
        check_sums(&r);

        assert_int_equal(tp_drivers_compute(z, 8, 2, y, &rz, &err), TP_OK);
        assert_near(rz.r[0], pearson(z, 2, y, 1, 8), 1e-12, "zero-filled r1");
        assert_near(rz.r[0], 0.6229178176443524, 1e-12, "zero-filled r1, not 1");
        assert_true(fabs(rz.rel[0] - r.rel[0]) > 0.05); /* a different answer */
        assert_true(rz.mean[0] < 3);
        tp_drivers_result_done(&r);
        tp_drivers_result_done(&rz);
}

/* Complete data: R² equals the OLS R² = r_xyᵀ Rxx⁻¹ r_xy (3 x 3 by Cramer). */
static double det3(const double *m) {
        return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6])
               + m[2] * (m[3] * m[7] - m[4] * m[6]);
}

static void test_r2_ols(void **state) {
        double x[3 * 50], y[50], b[3], m[9];
        tp_drivers_result r;
        tp_err err;
        double r2 = 0;
        uint32_t s = 12345;

        (void) state;
        for (int i = 0; i < 50; i++) {
                for (int j = 0; j < 3; j++) {
                        s = s * 1103515245u + 12345u;
                        x[3 * i + j] = (double) ((s >> 16) % 5 + 1);
                }
                x[3 * i + 2] = floor((x[3 * i + 2] + x[3 * i]) / 2); /* correlated with x1 */
                s = s * 1103515245u + 12345u;
                y[i] = x[3 * i] + 0.5 * x[3 * i + 1] + 0.3 * x[3 * i + 2] + (double) ((s >> 16) % 7);
        }
        assert_int_equal(tp_drivers_compute(x, 50, 3, y, &r, &err), TP_OK);
        for (int k = 0; k < 3; k++) {
                memcpy(m, r.rxx, sizeof m);
                for (int i = 0; i < 3; i++)
                        m[i * 3 + k] = r.r[i];
                b[k] = det3(m) / det3(r.rxx);
        }
        for (int k = 0; k < 3; k++)
                r2 += b[k] * r.r[k];
        assert_near(r.r2, r2, 1e-10, "R² = OLS R²");
        check_sums(&r);
        /* The weights of a correlated pair: between the zero-order and the
         * part contributions; all positive here. */
        for (int j = 0; j < 3; j++)
                assert_true(r.raw[j] > 0);
        tp_drivers_result_done(&r);
}

/* A pairwise matrix that no data set could give: r12 = 1, r23 = 1, r13 = -1
 * (each pair seen on different rows).  Its negative eigenvalue is clamped. */
static void test_not_psd(void **state) {
        double x[15 * 3], y[15];
        tp_drivers_result r;
        tp_err err;

        (void) state;
        for (int i = 0; i < 15; i++) {
                double v = (double) (i % 5 + 1);

                x[3 * i] = i < 5 || i >= 10 ? v : NAN;
                x[3 * i + 1] = i < 10 ? v : NAN;
                x[3 * i + 2] = i >= 5 ? (i >= 10 ? 6 - v : v) : NAN;
                y[i] = (double) ((i * 7) % 5) + v;
        }
        assert_int_equal(tp_drivers_compute(x, 15, 3, y, &r, &err), TP_OK);
        assert_near(r.rxx[0 * 3 + 1], 1, 1e-12, "r12");
        assert_near(r.rxx[1 * 3 + 2], 1, 1e-12, "r23");
        assert_near(r.rxx[0 * 3 + 2], -1, 1e-12, "r13");
        assert_true(r.clamped >= 1);
        assert_true(r.min_eigen < -0.5);
        assert_true(isfinite(r.r2));
        check_sums(&r);
        tp_drivers_result_done(&r);
}

static void test_limits(void **state) {
        double *x = calloc(65 * 70, sizeof(double)), y[70];
        tp_drivers_result r;
        tp_err err;

        (void) state;
        assert_non_null(x);
        for (int i = 0; i < 70; i++) {
                y[i] = i % 3;
                for (int j = 0; j < 65; j++)
                        x[i * 65 + j] = (i * (j + 1)) % 5;
        }
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_drivers_compute(x, 70, 65, y, &r, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "predictors");
        assert_non_null(strstr(err.msg, "64"));
        /* 5 predictors need 7 rows; 6 given. */
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_drivers_compute(x, 6, 5, y, &r, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "rows");
        assert_non_null(strstr(err.msg, "7"));
        /* Rows without the outcome do not count. */
        y[0] = NAN;
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_drivers_compute(x, 7, 5, y, &r, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "rows");
        y[0] = 0;
        assert_int_equal(tp_drivers_compute(x, 7, 5, y, &r, &err), TP_OK);
        tp_drivers_result_done(&r);
        /* A constant outcome. */
        for (int i = 0; i < 70; i++)
                y[i] = 3;
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_drivers_compute(x, 70, 2, y, &r, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "outcome");
        assert_int_equal(tp_drivers_compute(x, 70, 0, y, &r, &err), TP_INVALID);
        tp_drivers_result_done(NULL);
        free(x);
}

/* ---- the airline survey --------------------------------------------------- */

#define AIR_P 14
static const char *const air_names[AIR_P] = {
        "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking",
        "Gate location",         "Food and drink",                    "Online boarding",
        "Seat comfort",          "Inflight entertainment",            "On-board service",
        "Leg room service",      "Baggage handling",                  "Checkin service",
        "Inflight service",      "Cleanliness",
};

static void test_airline(void **state) {
        FILE *f = fopen(AIRLINE_CSV, "rb");
        char line[4096];
        double *x = NULL, *y = NULL;
        size_t n = 0, cap = 0, order[AIR_P];
        tp_drivers_result r;
        tp_err err;
        size_t online = 0, gate = 0;

        (void) state;
        if (!f) {
                print_message("skipping: %s not found (run from the repository root)\n", AIRLINE_CSV);
                skip();
        }
        assert_non_null(fgets(line, sizeof line, f));
        /* The header: an empty first cell, the ratings in columns 8..21. */
        {
                char *p = line;
                int c = 0;

                assert_int_equal(line[0], ',');
                for (char *t = p; c < 8 + AIR_P; t++)
                        if (*t == ',' && ++c >= 8 && c < 8 + AIR_P) {
                                size_t len = strlen(air_names[c - 8]);

                                assert_int_equal(strncmp(t + 1, air_names[c - 8], len), 0);
                                assert_true(t[1 + len] == ',');
                        } else if (!*t)
                                break;
        }
        while (fgets(line, sizeof line, f)) {
                char *cell[32], *p = line;
                int nc = 0;

                line[strcspn(line, "\r\n")] = '\0';
                if (!*line)
                        continue;
                cell[nc++] = p;
                while ((p = strchr(p, ',')) && nc < 32) {
                        *p++ = '\0';
                        cell[nc++] = p;
                }
                assert_int_equal(nc, 25);
                if (n == cap) {
                        cap = cap ? 2 * cap : 131072;
                        x = realloc(x, cap * AIR_P * sizeof(double));
                        y = realloc(y, cap * sizeof(double));
                        assert_true(x && y);
                }
                for (int j = 0; j < AIR_P; j++) {
                        long v = strtol(cell[8 + j], NULL, 10);

                        assert_true(v >= 0 && v <= 5);
                        x[n * AIR_P + (size_t) j] = v == 0 ? NAN : (double) v; /* 0: not rated */
                }
                if (strcmp(cell[24], "satisfied") == 0)
                        y[n] = 1;
                else {
                        assert_string_equal(cell[24], "neutral or dissatisfied");
                        y[n] = 0;
                }
                n++;
        }
        fclose(f);
        assert_int_equal(n, 103904);

        assert_int_equal(tp_drivers_compute(x, n, AIR_P, y, &r, &err), TP_OK);
        check_sums(&r);
        for (size_t j = 0; j < AIR_P; j++)
                order[j] = j;
        for (size_t a = 0; a < AIR_P; a++) /* by relative weight, descending */
                for (size_t b = a + 1; b < AIR_P; b++)
                        if (r.rel[order[b]] > r.rel[order[a]]) {
                                size_t t = order[a];

                                order[a] = order[b];
                                order[b] = t;
                        }
        printf("airline: %zu passengers, %zu used, R^2 = %.4f, clamped eigenvalues %u (min %.4f)\n",
               n,
               r.n,
               r.r2,
               r.clamped,
               r.min_eigen);
        printf("  %-36s %8s %8s %9s %9s %6s\n", "service", "n", "r", "weight%", "raw", "mean");
        for (size_t a = 0; a < AIR_P; a++) {
                size_t j = order[a];

                printf("  %-36s %8llu %8.4f %9.2f %9.5f %6.3f\n",
                       air_names[j],
                       (unsigned long long) r.r_n[j],
                       r.r[j],
                       100 * r.rel[j],
                       r.raw[j],
                       r.mean[j]);
                if (j == 5)
                        online = a;
                if (j == 3)
                        gate = a;
        }
        assert_int_equal(online, 0);           /* Online boarding: the largest weight */
        assert_true(gate >= AIR_P - 2);        /* Gate location: among the two smallest */
        assert_true(fabs(r.r[3]) < 0.05);      /* ... with about no correlation */
        assert_true(r.r[1] < 0);               /* Departure/Arrival time convenient: negative */
        tp_drivers_result_done(&r);
        free(x);
        free(y);
}

/* ---- the engine ------------------------------------------------------------ */

#define NC 40
#define TP_A 101
#define TP_B 102
#define TP_C 103
#define TP_D 104 /* too few customers */
#define TP_OVERALL 900
#define T0 1700000000

static void rs(tp_engine *e, int64_t *seq, const char *cust, int64_t tp, tp_metric m, int score, int64_t ts) {
        tp_response x = { .id = "r", .customer = cust, .touchpoint = tp, .metric = m, .score = score, .ts = ts };
        tp_err err = { 0 };

        ++*seq;
        if (tp_engine_add_response(e, *seq, &x, &err) != TP_OK)
                fail_msg("add_response %lld: %s", (long long) *seq, err.msg);
}

static void ev(tp_engine *e, int64_t *seq, const char *cust, int64_t tp, const char *type, int64_t ts) {
        tp_event x = { .id = "x", .customer = cust, .touchpoint = tp, .channel = "web", .type = type, .ts = ts };
        tp_err err = { 0 };

        ++*seq;
        if (tp_engine_add_event(e, *seq, &x, &err) != TP_OK)
                fail_msg("add_event %lld: %s", (long long) *seq, err.msg);
}

static const tp_engine_driver *find_row(const tp_engine_drivers *d, int64_t tp) {
        for (size_t i = 0; i < d->nrows; i++)
                if (d->rows[i].touchpoint == tp)
                        return &d->rows[i];
        return NULL;
}

/* The engine's answer against tp_drivers_compute() on the matrix built by
 * hand (columns A, B, C). */
static void same(const tp_engine_drivers *d, const double *x, const double *y, size_t n) {
        static const int64_t ids[3] = { TP_A, TP_B, TP_C };
        tp_drivers_result r;
        tp_err err;

        assert_int_equal(tp_drivers_compute(x, n, 3, y, &r, &err), TP_OK);
        assert_int_equal(d->nrows, 3);
        assert_int_equal(d->customers, r.n);
        assert_near(d->r2, r.r2, 1e-12, "R²");
        for (size_t j = 0; j < 3; j++) {
                const tp_engine_driver *row = find_row(d, ids[j]);

                assert_non_null(row);
                assert_int_equal(row->n, r.r_n[j]);
                assert_near(row->r, r.r[j], 1e-12, "r");
                assert_near(row->weight_pct, 100 * r.rel[j], 1e-10, "weight");
                assert_near(row->raw, r.raw[j], 1e-12, "raw");
                assert_near(row->performance, r.mean[j], 1e-12, "performance");
        }
        for (size_t i = 1; i < d->nrows; i++)
                assert_true(d->rows[i - 1].weight_pct >= d->rows[i].weight_pct);
        tp_drivers_result_done(&r);
}

static void key_fn(void *arg, int64_t tp, char *out, size_t outsz) {
        (void) arg;
        (void) snprintf(out, outsz, "tp-%lld", (long long) tp);
}

static void test_engine(void **state) {
        tp_engine *e = NULL;
        tp_engine_drivers *d = NULL, *keep;
        tp_engine_drivers_query q;
        tp_err err;
        int64_t seq = 0, eseq = 0;
        double x[NC * 3], y[NC], ym[NC], yp[NC];
        char name[16];

        (void) state;
        assert_int_equal(tp_engine_new(NULL, &e, &err), TP_OK);
        for (int i = 0; i < NC; i++) {
                int a = i % 5 + 1, b = (i * 3) % 5 + 1, c = (i * 7 + 2) % 5 + 1, nps;
                int64_t ts = T0 + i * 60;

                (void) snprintf(name, sizeof name, "c%02d", i);
                /* A: answered twice by every fourth customer (the mean is the score). */
                rs(e, &seq, name, TP_A, TP_METRIC_CSAT, a, ts);
                x[i * 3] = a;
                if (i % 4 == 0) {
                        int a2 = a < 5 ? a + 1 : a - 1;

                        rs(e, &seq, name, TP_A, TP_METRIC_CSAT, a2, ts + 1);
                        x[i * 3] = (a + a2) / 2.0;
                }
                /* B: missing for every fifth customer. */
                if (i % 5 != 0) {
                        rs(e, &seq, name, TP_B, TP_METRIC_CSAT, b, ts + 2);
                        x[i * 3 + 1] = b;
                } else
                        x[i * 3 + 1] = NAN;
                rs(e, &seq, name, TP_C, TP_METRIC_CSAT, c, ts + 3);
                x[i * 3 + 2] = c;
                if (i < 10)
                        rs(e, &seq, name, TP_D, TP_METRIC_CSAT, 3, ts + 4);
                /* The overall NPS: mostly A and B. */
                nps = a + (i % 5 != 0 ? b : 3) - 2 + (i % 3);
                if (nps > 10)
                        nps = 10;
                rs(e, &seq, name, TP_OVERALL, TP_METRIC_NPS, nps, ts + 5);
                y[i] = nps;
                /* An NPS at touchpoint C too, for half: the "mean NPS" outcome. */
                if (i % 2) {
                        rs(e, &seq, name, TP_C, TP_METRIC_NPS, 10 - c, ts + 6);
                        ym[i] = (nps + 10 - c) / 2.0;
                } else
                        ym[i] = nps;
                /* Purchases by customers with a high A. */
                ev(e, &eseq, name, TP_C, "view", ts);
                if (a + (i % 2) >= 4)
                        ev(e, &eseq, name, TP_C, "purchase", ts + 7);
                yp[i] = a + (i % 2) >= 4;
        }
        /* Anonymous answers take no part; answers outside the range neither. */
        rs(e, &seq, NULL, TP_A, TP_METRIC_CSAT, 1, T0);
        rs(e, &seq, "late", TP_A, TP_METRIC_CSAT, 1, T0 + 86400 * 10);
        rs(e, &seq, "late", TP_OVERALL, TP_METRIC_NPS, 10, T0 + 86400 * 10);

        /* Outcome at a touchpoint. */
        tp_engine_drivers_query_init(&q);
        q.to = T0 + 86400;
        q.outcome = TP_DRIVERS_OUTCOME_TOUCHPOINT;
        q.outcome_touchpoint = TP_OVERALL;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_OK);
        same(d, x, y, NC);
        assert_int_equal(d->nexcluded, 1);
        assert_int_equal(d->excluded[0].touchpoint, TP_D);
        assert_int_equal(d->excluded[0].n, 10);
        assert_int_equal(d->min_n, 30);
        assert_int_equal(find_row(d, TP_B)->n, 32);
        {
                double mi = 0, mp = 0;

                for (size_t j = 0; j < 3; j++) {
                        mi += d->rows[j].weight_pct / 3;
                        mp += d->rows[j].performance / 3;
                }
                assert_near(d->mean_importance, mi, 1e-12, "mean importance");
                for (size_t j = 0; j < 3; j++) {
                        const tp_engine_driver *r = &d->rows[j];
                        tp_drivers_quadrant want = r->weight_pct >= mi
                                                           ? (r->performance >= mp ? TP_DRIVERS_KEEP_UP
                                                                                   : TP_DRIVERS_FIX_FIRST)
                                                           : (r->performance >= mp ? TP_DRIVERS_OVERKILL
                                                                                   : TP_DRIVERS_LOW_PRIORITY);

                        assert_int_equal(r->quadrant, want);
                }
        }
        {
                json_t *j = tp_engine_drivers_json(d, key_fn, NULL);
                char *s;

                assert_non_null(j);
                s = json_dumps(j, JSON_COMPACT);
                assert_non_null(s);
                printf("engine drivers: %s\n", s);
                assert_non_null(strstr(s, "\"quadrant\""));
                assert_non_null(strstr(s, "\"touchpoint\":\"tp-104\""));
                free(s);
                json_decref(j);
        }
        keep = d;

        /* The same with a smaller min_n: D joins (its 10 customers). */
        q.min_n = 5;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_OK);
        assert_int_equal(d->nrows, 4);
        assert_int_equal(d->nexcluded, 0);
        tp_engine_drivers_free(d);
        q.min_n = 0;

        /* Outcome: the customer's mean NPS over all touchpoints. */
        q.outcome = TP_DRIVERS_OUTCOME_METRIC;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_OK);
        same(d, x, ym, NC);
        tp_engine_drivers_free(d);

        /* Outcome: purchased in range (1/0). */
        q.outcome = TP_DRIVERS_OUTCOME_PURCHASE;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_OK);
        same(d, x, yp, NC);
        tp_engine_drivers_free(d);
        /* ... from the compacted columns too. */
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_OK);
        same(d, x, yp, NC);
        tp_engine_drivers_free(d);

        /* Refusals; *ret untouched. */
        d = keep;
        q.outcome = TP_DRIVERS_OUTCOME_METRIC;
        q.outcome_metric = TP_METRIC_CSAT;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_INVALID);
        assert_ptr_equal(d, keep);
        q.outcome_metric = TP_METRIC_NPS;
        q.outcome = TP_DRIVERS_OUTCOME_TOUCHPOINT;
        q.outcome_touchpoint = 4242;
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_INVALID);
        q.outcome_touchpoint = TP_OVERALL;
        q.min_n = 1000;
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_engine_drivers_run(e, &q, &d, &err), TP_UNPROCESSABLE);
        assert_string_equal(err.field, "min_n");
        assert_ptr_equal(d, keep);
        tp_engine_drivers_free(keep);
        tp_engine_drivers_free(NULL);
        tp_engine_free(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_orthogonal), cmocka_unit_test(test_identical),
                cmocka_unit_test(test_missing),    cmocka_unit_test(test_r2_ols),
                cmocka_unit_test(test_not_psd),    cmocka_unit_test(test_limits),
                cmocka_unit_test(test_airline),    cmocka_unit_test(test_engine),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
