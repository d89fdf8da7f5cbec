/* SPDX-License-Identifier: MIT */
/*
 * test_attrib.c -- multi-touch attribution (engine_attrib.c): the heuristic
 * models against the ChannelAttribution package's figures on
 * ../shared/data/attribution/paths.csv (read from the repository root; the
 * tests that need it skip, saying so, when it is absent), the white paper's
 * Markov toy case, hand-computed time decay, position-based, last non-direct
 * and Shapley cases, conservation of conversions and value for Markov and
 * Shapley, the limits, and the engine's path building against
 * tp_attrib_paths() on the same paths.
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

#include "common/alloc.h"
#include "engine/engine.h"

#define PATHS_CSV "../shared/data/attribution/paths.csv"

static void assert_near(double got, double want, double tol, const char *what) {
        if (!(fabs(got - want) <= tol)) {
                print_error("%s: got %.9f, want %.9f (tolerance %g)\n", what, got, want, tol);
                fail();
        }
}

/* ---- paths.csv ---------------------------------------------------------- */

#define MAXCH 32

typedef struct csv_set {
        tp_attrib_path *paths;
        int *touches; /* all paths' touches, back to back */
        size_t n;
        char names[MAXCH][32];
        int nch;
} csv_set;

static int channel_index(csv_set *s, const char *name, size_t len) {
        for (int i = 0; i < s->nch; i++)
                if (strlen(s->names[i]) == len && memcmp(s->names[i], name, len) == 0)
                        return i;
        assert_true(s->nch < MAXCH && len < sizeof s->names[0]);
        memcpy(s->names[s->nch], name, len);
        s->names[s->nch][len] = '\0';
        return s->nch++;
}

static int channel_find(const csv_set *s, const char *name) {
        for (int i = 0; i < s->nch; i++)
                if (strcmp(s->names[i], name) == 0)
                        return i;
        return -1;
}

/* 0 when the file is absent. */
static int csv_load(csv_set *s) {
        FILE *f = fopen(PATHS_CSV, "r");
        char line[4096];
        size_t cap = 0, ntouch = 0, tcap = 0;
        size_t *offs = NULL; /* touches offset of each path, patched into pointers at the end */

        memset(s, 0, sizeof *s);
        if (!f)
                return 0;
        assert_non_null(fgets(line, sizeof line, f)); /* header */
        assert_int_equal(strncmp(line, "path;", 5), 0);
        while (fgets(line, sizeof line, f)) {
                char *semi = strchr(line, ';'), *p = line;
                tp_attrib_path pa;

                if (!semi)
                        continue;
                *semi = '\0';
                memset(&pa, 0, sizeof pa);
                if (s->n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        s->paths = realloc(s->paths, cap * sizeof *s->paths);
                        offs = realloc(offs, cap * sizeof *offs);
                        assert_non_null(s->paths);
                        assert_non_null(offs);
                }
                offs[s->n] = ntouch;
                for (;;) {
                        char *sep = strstr(p, " > ");
                        size_t len = sep ? (size_t) (sep - p) : strlen(p);
                        if (ntouch == tcap) {
                                tcap = tcap ? tcap * 2 : 4096;
                                s->touches = realloc(s->touches, tcap * sizeof *s->touches);
                                assert_non_null(s->touches);
                        }
                        s->touches[ntouch++] = channel_index(s, p, len);
                        pa.ntouches++;
                        if (!sep)
                                break;
                        p = sep + 3;
                }
                assert_int_equal(sscanf(semi + 1, "%lf;%lf;%lf", &pa.conversions, &pa.value, &pa.nulls), 3);
                s->paths[s->n++] = pa;
        }
        fclose(f);
        for (size_t i = 0; i < s->n; i++)
                s->paths[i].touches = s->touches + offs[i];
        free(offs);
        return 1;
}

static void csv_free(csv_set *s) {
        free(s->paths);
        free(s->touches);
}

#define NEED_CSV(s)                                                                          \
        do {                                                                                 \
                if (!csv_load(s)) {                                                          \
                        print_message("SKIP: %s not found (run from the repository root " \
                                      "with ../shared/data present)\n", PATHS_CSV);          \
                        skip();                                                              \
                }                                                                            \
        } while (0)

/* The data README's table (the package's heuristic figures). */
static const struct {
        const char *ch;
        double first, last, linear, first_v, last_v, linear_v;
} readme[] = {
        { "alpha", 6308, 8447, 7574.719, 19121.272, 28414.214, 24524.710 },
        { "iota", 4606, 3355, 3857.096, 19597.261, 13487.974, 15988.989 },
        { "eta", 3164, 4167, 3539.951, 11909.476, 16754.204, 13783.497 },
        { "beta", 2831, 989, 2083.500, 12235.592, 3850.021, 8954.267 },
        { "theta", 1606, 653, 1022.801, 6652.349, 2799.092, 4295.744 },
        { "lambda", 902, 1207, 1035.258, 3735.602, 5249.950, 4430.316 },
        { "epsilon", 99, 531, 272.170, 412.301, 2202.612, 1106.270 },
        { "zeta", 27, 107, 136.552, 103.004, 453.261, 539.529 },
        { "kappa", 74, 230, 137.964, 305.743, 1069.384, 599.748 },
        { "gamma", 165, 92, 121.042, 718.978, 506.014, 569.417 },
        { "delta", 1, 5, 1.725, 6.119, 10.972, 4.404 },
        { "mi", 2, 2, 2.222, 5.273, 5.273, 6.081 },
};
#define NREADME (sizeof readme / sizeof readme[0])

/* Half a unit of the last printed digit, and a hair for binary rounding. */
#define HALF_INT 0.5
#define HALF_3DP (0.0005 + 1e-9)

static void test_readme_heuristics(void **state) {
        csv_set s;
        tp_attrib_result rf, rl, rn;
        tp_err err;

        (void) state;
        NEED_CSV(&s);
        assert_int_equal(s.n, 10000);
        assert_int_equal(s.nch, 12);
        assert_int_equal(tp_attrib_paths(s.paths, s.n, s.nch, TP_ATTRIB_FIRST, NULL, &rf, &err), TP_OK);
        assert_int_equal(tp_attrib_paths(s.paths, s.n, s.nch, TP_ATTRIB_LAST, NULL, &rl, &err), TP_OK);
        assert_int_equal(tp_attrib_paths(s.paths, s.n, s.nch, TP_ATTRIB_LINEAR, NULL, &rn, &err), TP_OK);
        assert_near(rf.total_conversions, 19785, 1e-9, "total conversions");
        /* The README prints the value total to 2 decimals: 74,802.97; the
         * file's exact sum is 74,802.971587... */
        assert_near(rf.total_value, 74802.97, 0.005, "total value (README, 2 decimals)");
        assert_near(rf.total_nulls, 68602, 1e-9, "total nulls");
        for (size_t i = 0; i < NREADME; i++) {
                int c = channel_find(&s, readme[i].ch);
                char what[64];

                assert_true(c >= 0);
                snprintf(what, sizeof what, "%s first", readme[i].ch);
                assert_near(rf.conversions[c], readme[i].first, 1e-9, what);
                snprintf(what, sizeof what, "%s last", readme[i].ch);
                assert_near(rl.conversions[c], readme[i].last, 1e-9, what);
                snprintf(what, sizeof what, "%s linear", readme[i].ch);
                assert_near(rn.conversions[c], readme[i].linear, HALF_3DP, what);
                snprintf(what, sizeof what, "%s first value", readme[i].ch);
                assert_near(rf.value[c], readme[i].first_v, HALF_3DP, what);
                snprintf(what, sizeof what, "%s last value", readme[i].ch);
                assert_near(rl.value[c], readme[i].last_v, HALF_3DP, what);
                snprintf(what, sizeof what, "%s linear value", readme[i].ch);
                assert_near(rn.value[c], readme[i].linear_v, HALF_3DP, what);
        }
        tp_attrib_result_done(&rf);
        tp_attrib_result_done(&rl);
        tp_attrib_result_done(&rn);
        csv_free(&s);
}

static void check_conserved(const csv_set *s, tp_attrib_model model) {
        tp_attrib_result r;
        tp_err err;
        double c = 0, v = 0, total_v = 0;

        assert_int_equal(tp_attrib_paths(s->paths, s->n, s->nch, model, NULL, &r, &err), TP_OK);
        for (size_t i = 0; i < r.n; i++) {
                assert_true(r.conversions[i] >= 0);
                assert_true(r.value[i] >= 0);
                c += r.conversions[i];
                v += r.value[i];
        }
        assert_near(c, 19785, 1e-6, "sum of conversions");
        /* The exact total of the file (the README's 74,802.97 is rounded). */
        for (size_t i = 0; i < s->n; i++)
                total_v += s->paths[i].value;
        assert_near(total_v, 74802.97, 0.005, "file value total");
        assert_near(v, total_v, 1e-6, "sum of value");
        for (size_t i = 0; i < r.n; i++)
                print_message("  %-8s %s conv %10.3f value %10.3f\n", s->names[i],
                        model == TP_ATTRIB_MARKOV ? "markov " : "shapley", r.conversions[i], r.value[i]);
        tp_attrib_result_done(&r);
}

static void test_csv_markov_shapley(void **state) {
        csv_set s;
        tp_attrib_result r;
        tp_err err;

        (void) state;
        NEED_CSV(&s);
        check_conserved(&s, TP_ATTRIB_MARKOV);
        check_conserved(&s, TP_ATTRIB_SHAPLEY);

        /* The simplified Shapley game is a sum of unanimity games (one per
         * path set), so its value is also each path's conversions split
         * equally over its distinct touchpoints: an independent check of the
         * 2^m coalition computation. */
        double want[MAXCH] = { 0 }, wantv[MAXCH] = { 0 };
        for (size_t i = 0; i < s.n; i++) {
                int seen[MAXCH] = { 0 }, k = 0;
                for (size_t j = 0; j < s.paths[i].ntouches; j++)
                        if (!seen[s.paths[i].touches[j]]++)
                                k++;
                for (int c = 0; c < s.nch; c++)
                        if (seen[c]) {
                                want[c] += s.paths[i].conversions / k;
                                wantv[c] += s.paths[i].value / k;
                        }
        }
        assert_int_equal(tp_attrib_paths(s.paths, s.n, s.nch, TP_ATTRIB_SHAPLEY, NULL, &r, &err), TP_OK);
        for (int c = 0; c < s.nch; c++) {
                assert_near(r.conversions[c], want[c], 1e-6, "shapley closed form");
                assert_near(r.value[c], wantv[c], 1e-6, "shapley value closed form");
        }
        tp_attrib_result_done(&r);
        csv_free(&s);
}

/* ---- hand-computed cases ------------------------------------------------ */

enum { A, B, C, D };

#define PATH(arr, conv, val, nul) { (arr), sizeof(arr) / sizeof((arr)[0]), NULL, (conv), (val), (nul) }

static void test_markov_white_paper(void **state) {
        /* A>B>A>B>B>A, A>B>B>A>A, A>A, one conversion each.  Every path
         * starts at A, so without A nothing converts: removal(A) = 1.  From
         * A: 3 of 8 transitions to conversion, 3 to B, 2 to A; without B
         * (B -> null) P = 3/8 / (1 - 2/8) = 1/2: removal(B) = 1/2.  Shares
         * 1 : 1/2 of 3 conversions: A = 2, B = 1. */
        static const int p1[] = { A, B, A, B, B, A }, p2[] = { A, B, B, A, A }, p3[] = { A, A };
        const tp_attrib_path paths[] = { PATH(p1, 1, 1, 0), PATH(p2, 1, 1, 0), PATH(p3, 1, 1, 0) };
        tp_attrib_result r;
        tp_err err;

        (void) state;
        assert_int_equal(tp_attrib_paths(paths, 3, 2, TP_ATTRIB_MARKOV, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[A], 2, 1e-9, "A");
        assert_near(r.conversions[B], 1, 1e-9, "B");
        assert_near(r.value[A], 2, 1e-9, "A value");
        assert_near(r.value[B], 1, 1e-9, "B value");
        assert_null(r.touchpoints);
        tp_attrib_result_done(&r);

        /* With nulls: A (1 conversion, 1 null), B (1 null).  P = 2/3 * 1/2
         * = 1/3; without A 0 (removal 1), without B still 1/3 (removal 0):
         * A takes the conversion. */
        static const int q1[] = { A }, q2[] = { B };
        const tp_attrib_path np[] = { PATH(q1, 1, 5, 1), PATH(q2, 0, 0, 1) };
        assert_int_equal(tp_attrib_paths(np, 2, 2, TP_ATTRIB_MARKOV, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[A], 1, 1e-12, "A");
        assert_near(r.conversions[B], 0, 1e-12, "B");
        assert_near(r.value[A], 5, 1e-12, "A value");
        tp_attrib_result_done(&r);
}

static void test_time_decay_hand(void **state) {
        /* A>B>C, 1 conversion worth 10, half-life 1 step: ages 2, 1, 0 give
         * weights 1/4, 1/2, 1 (sum 7/4): A 1/7, B 2/7, C 4/7. */
        static const int p1[] = { A, B, C };
        tp_attrib_path paths[] = { PATH(p1, 1, 10, 0) };
        tp_attrib_params p;
        tp_attrib_result r;
        tp_err err;

        (void) state;
        tp_attrib_params_init(&p);
        p.half_life = 1;
        assert_int_equal(tp_attrib_paths(paths, 1, 3, TP_ATTRIB_TIME_DECAY, &p, &r, &err), TP_OK);
        assert_near(r.conversions[A], 1.0 / 7, 1e-12, "A");
        assert_near(r.conversions[B], 2.0 / 7, 1e-12, "B");
        assert_near(r.conversions[C], 4.0 / 7, 1e-12, "C");
        assert_near(r.value[C], 40.0 / 7, 1e-12, "C value");
        tp_attrib_result_done(&r);

        /* Ages in seconds: A 2 h, B 1 h, C 1 h before the conversion, half-life
         * 1 h: weights 1/2, 1, 1 (sum 5/2): A 0.2, B 0.4, C 0.4.  The same
         * ages shifted by 30 days give the same shares (normalised). */
        static const double ages[] = { 7200, 3600, 3600 }, old[] = { 7200 + 2592000.0 * 40, 3600 + 2592000.0 * 40,
                                                                    3600 + 2592000.0 * 40 };
        paths[0].ages = ages;
        p.half_life = 3600;
        assert_int_equal(tp_attrib_paths(paths, 1, 3, TP_ATTRIB_TIME_DECAY, &p, &r, &err), TP_OK);
        assert_near(r.conversions[A], 0.2, 1e-12, "A");
        assert_near(r.conversions[B], 0.4, 1e-12, "B");
        assert_near(r.conversions[C], 0.4, 1e-12, "C");
        tp_attrib_result_done(&r);
        paths[0].ages = old;
        assert_int_equal(tp_attrib_paths(paths, 1, 3, TP_ATTRIB_TIME_DECAY, &p, &r, &err), TP_OK);
        assert_near(r.conversions[A], 0.2, 1e-12, "A (old)");
        assert_near(r.conversions[C], 0.4, 1e-12, "C (old)");
        tp_attrib_result_done(&r);

        /* A half-life of 0 is refused and *ret is left alone. */
        memset(&r, 0x5a, sizeof r);
        p.half_life = 0;
        assert_int_equal(tp_attrib_paths(paths, 1, 3, TP_ATTRIB_TIME_DECAY, &p, &r, &err), TP_INVALID);
        assert_int_equal(r.n, (size_t) 0x5a5a5a5a5a5a5a5aull);
}

static void test_position_hand(void **state) {
        /* A>B>C>D: A 0.4, B 0.1, C 0.1, D 0.4
         * B (one touch): B 1
         * C>A (two touches): C 0.5, A 0.5
         * A>B>A, 2 conversions worth 10: A 2 * 0.8 = 1.6, B 0.4; value A 8, B 2
         * Totals: A 2.5, B 1.5, C 0.6, D 0.4 (sum 5 = conversions). */
        static const int p1[] = { A, B, C, D }, p2[] = { B }, p3[] = { C, A }, p4[] = { A, B, A };
        const tp_attrib_path paths[] = { PATH(p1, 1, 0, 3), PATH(p2, 1, 0, 0), PATH(p3, 1, 0, 0),
                PATH(p4, 2, 10, 0) };
        tp_attrib_result r;
        tp_err err;

        (void) state;
        assert_int_equal(tp_attrib_paths(paths, 4, 4, TP_ATTRIB_POSITION, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[A], 2.5, 1e-12, "A");
        assert_near(r.conversions[B], 1.5, 1e-12, "B");
        assert_near(r.conversions[C], 0.6, 1e-12, "C");
        assert_near(r.conversions[D], 0.4, 1e-12, "D");
        assert_near(r.value[A], 8, 1e-12, "A value");
        assert_near(r.value[B], 2, 1e-12, "B value");
        tp_attrib_result_done(&r);
}

static void test_last_non_direct_hand(void **state) {
        /* direct = D.  A>D -> A;  D>D -> D (only direct);  A>B>D -> B;  D>C -> C. */
        static const int p1[] = { A, D }, p2[] = { D, D }, p3[] = { A, B, D }, p4[] = { D, C };
        const tp_attrib_path paths[] = { PATH(p1, 1, 1, 0), PATH(p2, 2, 2, 0), PATH(p3, 4, 4, 0),
                PATH(p4, 8, 8, 0) };
        tp_attrib_params p;
        tp_attrib_result r;
        tp_err err;

        (void) state;
        tp_attrib_params_init(&p);
        p.direct = D;
        assert_int_equal(tp_attrib_paths(paths, 4, 4, TP_ATTRIB_LAST_NON_DIRECT, &p, &r, &err), TP_OK);
        assert_near(r.conversions[A], 1, 0, "A");
        assert_near(r.conversions[B], 4, 0, "B");
        assert_near(r.conversions[C], 8, 0, "C");
        assert_near(r.conversions[D], 2, 0, "D");
        tp_attrib_result_done(&r);
        /* Without a direct touchpoint it is last touch: D 1 + 2 + 4, C 8. */
        assert_int_equal(tp_attrib_paths(paths, 4, 4, TP_ATTRIB_LAST_NON_DIRECT, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[D], 7, 0, "D");
        assert_near(r.conversions[C], 8, 0, "C");
        tp_attrib_result_done(&r);
}

static void test_shapley_hand(void **state) {
        /* Paths: A (2 conversions), B (1), A>B (3), B>A>B (1); nulls ignored.
         * v({}) = 0, v({A}) = 2, v({B}) = 1, v({A,B}) = 2 + 1 + 3 + 1 = 7.
         * phi(A) = 1/2 (v(A) - v({})) + 1/2 (v(AB) - v(B)) = 1/2 (2 + 6) = 4
         * phi(B) = 1/2 (v(B) - v({})) + 1/2 (v(AB) - v(A)) = 1/2 (1 + 5) = 3
         * Sum 7 = all conversions.  Values 10 per conversion: 40 and 30. */
        static const int p1[] = { A }, p2[] = { B }, p3[] = { A, B }, p4[] = { B, A, B };
        const tp_attrib_path paths[] = { PATH(p1, 2, 20, 5), PATH(p2, 1, 10, 0), PATH(p3, 3, 30, 1),
                PATH(p4, 1, 10, 0) };
        tp_attrib_result r;
        tp_err err;

        (void) state;
        assert_int_equal(tp_attrib_paths(paths, 4, 2, TP_ATTRIB_SHAPLEY, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[A], 4, 1e-12, "A");
        assert_near(r.conversions[B], 3, 1e-12, "B");
        assert_near(r.value[A], 40, 1e-12, "A value");
        assert_near(r.value[B], 30, 1e-12, "B value");
        tp_attrib_result_done(&r);
}

static void test_limits_and_errors(void **state) {
        int touches[41];
        tp_attrib_path paths[41];
        tp_attrib_result r;
        tp_err err;
        int nt = 41;

        (void) state;
        for (int i = 0; i < nt; i++) {
                touches[i] = i;
                paths[i] = (tp_attrib_path){ &touches[i], 1, NULL, 1, 1, 0 };
        }
        /* 41 distinct touchpoints: Shapley has no coalition limit (closed form),
         * and each single-touch path's conversion goes to its touchpoint. */
        memset(&err, 0, sizeof err);
        assert_int_equal(tp_attrib_paths(paths, (size_t) nt, nt, TP_ATTRIB_SHAPLEY, NULL, &r, &err), TP_OK);
        for (int i = 0; i < nt; i++)
                assert_near(r.conversions[i], 1, 1e-12, "one each");
        tp_attrib_result_done(&r);
        /* Markov has no limit at 41 either. */
        assert_int_equal(tp_attrib_paths(paths, (size_t) nt, nt, TP_ATTRIB_MARKOV, NULL, &r, &err), TP_OK);
        assert_near(r.conversions[0], 1, 1e-9, "markov one each");
        tp_attrib_result_done(&r);

        /* Bad input. */
        touches[0] = nt;
        assert_int_equal(tp_attrib_paths(paths, 1, nt, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_INVALID);
        touches[0] = 0;
        paths[0].conversions = -1;
        assert_int_equal(tp_attrib_paths(paths, 1, nt, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_INVALID);
        paths[0].conversions = NAN;
        assert_int_equal(tp_attrib_paths(paths, 1, nt, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_INVALID);
        paths[0].conversions = 1;
        assert_int_equal(tp_attrib_paths(paths, 1, nt, _TP_ATTRIB_MODEL_MAX, NULL, &r, &err), TP_INVALID);
        assert_int_equal(tp_attrib_paths(paths, 1, 0, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_INVALID);

        /* A path without touches is unattributed, under every model. */
        const tp_attrib_path empty[] = { { NULL, 0, NULL, 3, 30, 0 }, { touches, 1, NULL, 1, 10, 1 } };
        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                assert_int_equal(tp_attrib_paths(empty, 2, 1, (tp_attrib_model) m, NULL, &r, &err), TP_OK);
                assert_near(r.unattributed_conversions, 3, 0, "unattributed");
                assert_near(r.unattributed_value, 30, 0, "unattributed value");
                assert_near(r.total_conversions, 1, 0, "attributed total");
                assert_near(r.conversions[0], 1, 1e-12, "the one touch");
                assert_near(r.value[0], 10, 1e-12, "the one touch value");
                tp_attrib_result_done(&r);
        }
        tp_attrib_result_done(NULL);
        tp_attrib_result_free(NULL);
}


/* ---- the engine's paths ------------------------------------------------- */

static void ev(
        tp_engine *e, int64_t seq, const char *cust, int64_t tp, const char *type, int64_t ts, int64_t value) {
        tp_event x = { .id = "x",
                       .customer = cust,
                       .touchpoint = tp,
                       .channel = "web",
                       .type = type,
                       .ts = ts,
                       .has_value = value >= 0,
                       .value = value >= 0 ? value : 0,
                       .currency = "VND" };
        tp_err err = { 0 };

        if (tp_engine_add_event(e, seq, &x, &err) != TP_OK)
                fail_msg("add_event %lld: %s", (long long) seq, err.msg);
}

/* The journeys of the tiny engine below, by store id (A = 10, B = 20, C = 30):
 *   c1: A 100, B 200, purchase 300 (500)      -> [A B] converts 500, ages 200 100
 *       C 400                                 -> [C] null (ends at 400)
 *   c2: B 1000, purchase 1100 (200)           -> [B] converts 200, age 100
 *       A 1200, B 1300, purchase 5000 (700), C 1250 arriving late
 *                                             -> [A C B] converts 700, ages 3800 3750 3700
 *   c3: purchase 50 (100)                     -> [] converts 100 (unattributed)
 *   c4: A 10                                  -> [A] null (ends at 10) */
typedef struct ejourney {
        int64_t tps[3];
        double ages[3];
        size_t n;
        double conv, value, nulls;
        int64_t end; /* purchase time, or the last event's for a null path */
} ejourney;

static const ejourney journeys[] = {
        { { 10, 20 }, { 200, 100 }, 2, 1, 500, 0, 300 },
        { { 30 }, { 0 }, 1, 0, 0, 1, 400 },
        { { 20 }, { 100 }, 1, 1, 200, 0, 1100 },
        { { 10, 30, 20 }, { 3800, 3750, 3700 }, 3, 1, 700, 0, 5000 },
        { { 0 }, { 0 }, 0, 1, 100, 0, 50 },
        { { 10 }, { 0 }, 1, 0, 0, 1, 10 },
};
#define NJ (sizeof journeys / sizeof journeys[0])

static int index_of(const tp_attrib_result *r, int64_t id) {
        for (size_t i = 0; i < r->n; i++)
                if (r->touchpoints[i] == id)
                        return (int) i;
        fail_msg("touchpoint %lld not in the result", (long long) id);
        return -1;
}

/* The expected result: tp_attrib_paths() over the journeys above, restricted
 * like the engine's query, indexes as in the engine's result. */
static void expect(const tp_attrib_result *got, const tp_engine_path_query *q, tp_attrib_model model,
        const tp_attrib_params *p) {
        tp_attrib_path paths[NJ];
        int touches[NJ][3];
        double ages[NJ][3];
        size_t n = 0;
        tp_attrib_result want;
        tp_err err;

        for (size_t j = 0; j < NJ; j++) {
                const ejourney *x = &journeys[j];
                size_t k = 0;

                if (x->end < q->from || x->end >= q->to)
                        continue;
                for (size_t i = 0; i < x->n; i++) {
                        if (q->lookback > 0 && x->ages[i] > (double) q->lookback)
                                continue;
                        touches[n][k] = index_of(got, x->tps[i]);
                        ages[n][k] = x->ages[i];
                        k++;
                }
                paths[n] = (tp_attrib_path){ touches[n], k, ages[n], x->conv, x->value, x->nulls };
                n++;
        }
        assert_int_equal(tp_attrib_paths(paths, n, (int) got->n, model, p, &want, &err), TP_OK);
        for (size_t i = 0; i < got->n; i++) {
                assert_near(got->conversions[i], want.conversions[i], 1e-9, "engine conversions");
                assert_near(got->value[i], want.value[i], 1e-9, "engine value");
        }
        assert_near(got->unattributed_conversions, want.unattributed_conversions, 0, "unattributed");
        assert_near(got->unattributed_value, want.unattributed_value, 0, "unattributed value");
        assert_near(got->total_nulls, want.total_nulls, 0, "nulls");
        tp_attrib_result_done(&want);
}

static void check_engine(tp_engine *e) {
        tp_engine_path_query q;
        tp_attrib_params p;
        tp_attrib_result *r = NULL;
        tp_err err;

        tp_attrib_params_init(&p);
        p.half_life = 3600;
        p.direct = -1;
        for (int lb = 0; lb < 2; lb++)
                for (int rg = 0; rg < 2; rg++)
                        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                                tp_engine_path_query_init(&q);
                                q.lookback = lb ? 1000 : 0;
                                if (rg)
                                        q.from = 1000;
                                assert_int_equal(tp_engine_attribution_run(e, &q, (tp_attrib_model) m, &p, &r, &err),
                                        TP_OK);
                                assert_int_equal(r->n, 3);
                                /* The rollups (unlimited and 1000 s) answer the whole range. */
                                assert_int_equal(r->rows_scanned == 0, !rg && m != TP_ATTRIB_TIME_DECAY);
                                expect(r, &q, (tp_attrib_model) m, &p);
                                tp_attrib_result_free(r);
                        }

        /* Spot values, lookback 0, all time.  Last touch: B 500 + 200 + 700. */
        tp_engine_path_query_init(&q);
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_LAST, NULL, &r, &err), TP_OK);
        assert_near(r->conversions[index_of(r, 20)], 3, 0, "B last");
        assert_near(r->value[index_of(r, 20)], 1400, 0, "B last value");
        assert_near(r->unattributed_conversions, 1, 0, "c3");
        assert_near(r->total_nulls, 2, 0, "nulls");
        /* ... the same as the engine's own last-touch query. */
        tp_engine_last_touch *lt = NULL;
        assert_int_equal(tp_engine_last_touch_run(e, &q, &lt, &err), TP_OK);
        for (size_t i = 0; i < lt->nrows; i++) {
                int k = index_of(r, lt->rows[i].touchpoint);
                assert_near(r->conversions[k], (double) lt->rows[i].purchases, 0, "last touch purchases");
                assert_near(r->value[k], (double) lt->rows[i].revenue, 0, "last touch revenue");
        }
        tp_engine_last_touch_free(lt);
        tp_attrib_result_free(r);

        /* Look-back 1000 s: c2's second purchase loses its touches. */
        q.lookback = 1000;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_OK);
        assert_near(r->unattributed_conversions, 2, 0, "unattributed with look-back");
        assert_near(r->unattributed_value, 800, 0, "unattributed value with look-back");
        assert_near(r->conversions[index_of(r, 10)], 0.5, 1e-12, "A linear");
        assert_near(r->conversions[index_of(r, 20)], 1.5, 1e-12, "B linear");
        tp_attrib_result_free(r);

        /* Negative look-back: refused, *ret untouched. */
        q.lookback = -1;
        r = (tp_attrib_result *) &q;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_LINEAR, NULL, &r, &err), TP_INVALID);
        assert_ptr_equal(r, (tp_attrib_result *) &q);
}

static void test_engine_paths(void **state) {
        tp_engine *e = NULL;
        tp_engine_opts o;
        tp_attrib_result *r = NULL;
        tp_engine_path_query q;
        tp_err err;

        (void) state;
        tp_engine_opts_init(&o);
        o.attrib_lookback = 1000;
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_OK);

        /* No events: an empty result. */
        tp_engine_path_query_init(&q);
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_MARKOV, NULL, &r, &err), TP_OK);
        assert_int_equal(r->n, 0);
        tp_attrib_result_free(r);

        ev(e, 1, "c4", 10, "view", 10, -1);
        ev(e, 2, "c1", 10, "view", 100, -1);
        ev(e, 3, "c1", 20, "click", 200, -1);
        ev(e, 4, "c1", 10, "purchase", 300, 500);
        ev(e, 5, "c1", 30, "visit", 400, -1);
        ev(e, 6, "c2", 20, "view", 1000, -1);
        ev(e, 7, "c2", 20, "purchase", 1100, 200);
        ev(e, 8, "c2", 10, "view", 1200, -1);
        ev(e, 9, "c2", 20, "click", 1300, -1);
        ev(e, 10, "c2", 20, "purchase", 5000, 700);
        ev(e, 11, "c3", 30, "purchase", 50, 100);
        ev(e, 12, "c2", 30, "visit", 1250, -1); /* late */
        check_engine(e);                        /* from the delta */
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        check_engine(e); /* from the compacted columns */
        tp_engine_free(e);
}

/* ---- the rollups kept at ingest, by hand ------------------------------------ */

static tp_engine *mk_engine(int64_t attrib_lookback) {
        tp_engine *e = NULL;
        tp_engine_opts o;
        tp_err err;

        tp_engine_opts_init(&o);
        o.attrib_lookback = attrib_lookback;
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_OK);
        return e;
}

/* The rollups' answer (checked to be one: no row scanned), after checking it
 * is the scan's, bit for bit. */
static tp_attrib_result *rollup(tp_engine *e, int64_t lookback, tp_attrib_model model, int direct) {
        tp_engine_path_query q;
        tp_attrib_params p;
        tp_attrib_result *a = NULL, *b = NULL;
        tp_err err;

        tp_attrib_params_init(&p);
        p.direct = direct;
        tp_engine_path_query_init(&q);
        q.lookback = lookback;
        assert_int_equal(tp_engine_attribution_run(e, &q, model, &p, &a, &err), TP_OK);
        q.strategy = TP_ENGINE_SCAN;
        assert_int_equal(tp_engine_attribution_run(e, &q, model, &p, &b, &err), TP_OK);
        assert_int_equal(a->rows_scanned, 0);
        assert_true(b->rows_scanned > 0);
        assert_int_equal(a->n, b->n);
        assert_memory_equal(a->conversions, b->conversions, a->n * sizeof(double));
        assert_memory_equal(a->value, b->value, a->n * sizeof(double));
        assert_true(a->total_conversions == b->total_conversions && a->total_value == b->total_value);
        assert_true(
                a->unattributed_conversions == b->unattributed_conversions &&
                a->unattributed_value == b->unattributed_value && a->total_nulls == b->total_nulls);
        tp_attrib_result_free(b);
        return a;
}

/* Conversions and value of touchpoint id under model, from the rollup. */
static void expect_tp(
        tp_engine *e, int64_t lookback, tp_attrib_model model, int direct, int64_t id, double conv, double value) {
        tp_attrib_result *r = rollup(e, lookback, model, direct);
        char what[64];

        (void) snprintf(what, sizeof what, "model %d, touchpoint %lld", (int) model, (long long) id);
        assert_near(r->conversions[index_of(r, id)], conv, 1e-12, what);
        assert_near(r->value[index_of(r, id)], value, 1e-9, what);
        tp_attrib_result_free(r);
}

/* A late non-purchase steals a conversion: A 100, purchase 300 (50), C 400
 * and D 50 (late) make [D A] and the null path [C]; then B 200 arrives, late
 * too: [D A B], and B takes the last touch from A. */
static void test_rollup_late_touch(void **state) {
        tp_engine *e = mk_engine(0);

        (void) state;
        ev(e, 1, "s", 10, "view", 100, -1);
        ev(e, 2, "s", 30, "purchase", 300, 50);
        ev(e, 3, "s", 30, "visit", 400, -1);
        ev(e, 4, "s", 40, "view", 50, -1); /* other touchpoint, known to the engine */
        expect_tp(e, 0, TP_ATTRIB_LAST, -1, 10, 1, 50);
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 40, 1, 50); /* D 50 came late, before A */
        ev(e, 5, "s", 20, "click", 200, -1);
        expect_tp(e, 0, TP_ATTRIB_LAST, -1, 10, 0, 0);
        expect_tp(e, 0, TP_ATTRIB_LAST, -1, 20, 1, 50);
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 40, 1, 50);
        expect_tp(e, 0, TP_ATTRIB_LINEAR, -1, 20, 1.0 / 3, 50.0 / 3);
        expect_tp(e, 0, TP_ATTRIB_POSITION, -1, 10, 0.2, 10);
        expect_tp(e, 0, TP_ATTRIB_POSITION, -1, 20, 0.4, 20);
        expect_tp(e, 0, TP_ATTRIB_SHAPLEY, -1, 40, 1.0 / 3, 50.0 / 3);
        {
                tp_attrib_result *r = rollup(e, 0, TP_ATTRIB_MARKOV, -1);

                assert_near(r->total_nulls, 1, 0, "[C] is the null path");
                assert_near(r->total_conversions, 1, 0, "one conversion");
                tp_attrib_result_free(r);
        }
        tp_engine_free(e);
}

/* A late purchase splits a null path: A 100, B 200, C 300 do not convert
 * until a purchase at 250 (70) arrives: [A B] converts, [C] stays null.
 * Markov: start -> A -> B -> conversion, start -> C -> null; P = 1/2, and
 * removing A or B leaves 0, removing C leaves 1/2: A and B half each. */
static void test_rollup_late_purchase(void **state) {
        tp_engine *e = mk_engine(0);
        tp_attrib_result *r;

        (void) state;
        ev(e, 1, "n", 10, "view", 100, -1);
        ev(e, 2, "n", 20, "click", 200, -1);
        ev(e, 3, "n", 30, "visit", 300, -1);
        r = rollup(e, 0, TP_ATTRIB_MARKOV, -1);
        assert_near(r->total_nulls, 1, 0, "one null path");
        assert_near(r->total_conversions, 0, 0, "no conversion yet");
        tp_attrib_result_free(r);
        ev(e, 4, "n", 20, "purchase", 250, 70);
        r = rollup(e, 0, TP_ATTRIB_MARKOV, -1);
        assert_near(r->total_nulls, 1, 0, "[C] still null");
        assert_near(r->total_conversions, 1, 0, "[A B] converts");
        assert_near(r->total_value, 70, 0, "its value");
        assert_near(r->conversions[index_of(r, 10)], 0.5, 1e-12, "Markov A");
        assert_near(r->conversions[index_of(r, 20)], 0.5, 1e-12, "Markov B");
        assert_near(r->conversions[index_of(r, 30)], 0, 1e-12, "Markov C");
        assert_near(r->value[index_of(r, 20)], 35, 1e-9, "Markov B value");
        tp_attrib_result_free(r);
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 10, 1, 70);
        expect_tp(e, 0, TP_ATTRIB_LAST, -1, 20, 1, 70);
        expect_tp(e, 0, TP_ATTRIB_LAST, -1, 30, 0, 0);
        /* A second purchase after C closes [C]: no null path left. */
        ev(e, 5, "n", 30, "purchase", 400, 5);
        r = rollup(e, 0, TP_ATTRIB_LINEAR, -1);
        assert_near(r->total_nulls, 0, 0, "no null path");
        assert_near(r->conversions[index_of(r, 30)], 1, 1e-12, "C converts now");
        tp_attrib_result_free(r);
        tp_engine_free(e);
}

/* Look-back 1000 s, kept at ingest: A 100, B 1500, purchase 2000 (90) -> [B]
 * within the window, [A B] without.  C 500 arrives late, outside the window:
 * [B] and [A C B]; D 1200, inside: [D B] and [A C D B].  Then a purchase at
 * 1300 (10) arrives: [C D] within 1000 s of it (A is 1200 s old) and [A C D]
 * without; the purchase at 2000 keeps [B]. */
static void test_rollup_late_lookback(void **state) {
        tp_engine *e = mk_engine(1000);
        tp_attrib_result *r;

        (void) state;
        ev(e, 1, "w", 10, "view", 100, -1);
        ev(e, 2, "w", 20, "view", 1500, -1);
        ev(e, 3, "w", 20, "purchase", 2000, 90);
        expect_tp(e, 1000, TP_ATTRIB_LINEAR, -1, 20, 1, 90);
        expect_tp(e, 0, TP_ATTRIB_LINEAR, -1, 10, 0.5, 45);
        ev(e, 4, "w", 30, "visit", 500, -1);
        expect_tp(e, 1000, TP_ATTRIB_LINEAR, -1, 20, 1, 90);
        expect_tp(e, 1000, TP_ATTRIB_LINEAR, -1, 30, 0, 0);
        expect_tp(e, 0, TP_ATTRIB_LINEAR, -1, 30, 1.0 / 3, 30);
        ev(e, 5, "w", 40, "click", 1200, -1);
        expect_tp(e, 1000, TP_ATTRIB_LINEAR, -1, 40, 0.5, 45);
        expect_tp(e, 1000, TP_ATTRIB_FIRST, -1, 40, 1, 90);
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 10, 1, 90);
        expect_tp(e, 0, TP_ATTRIB_LINEAR, -1, 40, 0.25, 22.5);
        ev(e, 6, "w", 40, "purchase", 1300, 10);
        expect_tp(e, 1000, TP_ATTRIB_FIRST, -1, 30, 1, 10);
        expect_tp(e, 1000, TP_ATTRIB_FIRST, -1, 10, 0, 0);
        expect_tp(e, 1000, TP_ATTRIB_LAST, -1, 20, 1, 90);
        expect_tp(e, 1000, TP_ATTRIB_LAST, -1, 40, 1, 10);
        expect_tp(e, 1000, TP_ATTRIB_SHAPLEY, -1, 30, 0.5, 5);
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 10, 1, 10);
        expect_tp(e, 0, TP_ATTRIB_SHAPLEY, -1, 10, 1.0 / 3, 10.0 / 3);
        r = rollup(e, 1000, TP_ATTRIB_MARKOV, -1);
        assert_near(r->total_conversions, 2, 0, "two purchases");
        assert_near(r->unattributed_conversions, 0, 0, "both with touches");
        tp_attrib_result_free(r);
        /* A look-back the rollups do not keep is a scan, and agrees. */
        {
                tp_engine_path_query q;
                tp_attrib_result *a = NULL;
                tp_err err;

                tp_engine_path_query_init(&q);
                q.lookback = 500;
                assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_LINEAR, NULL, &a, &err), TP_OK);
                assert_true(a->rows_scanned > 0);
                assert_near(a->conversions[index_of(a, 40)], 1, 1e-12, "D alone within 500 s of 1300");
                assert_near(a->conversions[index_of(a, 20)], 1, 1e-12, "B alone within 500 s of 2000");
                tp_attrib_result_free(a);
        }
        tp_engine_free(e);
}

/* Last non-direct with the direct touchpoint set to each in turn (A 10, B 20,
 * D 40), u1's A arriving last and late:
 *   u1 [A D D] 10: last D, the last other A
 *   u2 [D D] 20:   last D, no other
 *   u3 [B A] 40:   last A, the last other B */
static void test_rollup_last_non_direct(void **state) {
        tp_engine *e = mk_engine(0);
        tp_attrib_result *r;
        int a, b, d;

        (void) state;
        ev(e, 1, "u1", 40, "view", 200, -1);
        ev(e, 2, "u1", 40, "view", 300, -1);
        ev(e, 3, "u1", 40, "purchase", 400, 10);
        ev(e, 4, "u2", 40, "view", 200, -1);
        ev(e, 5, "u2", 40, "view", 300, -1);
        ev(e, 6, "u2", 40, "purchase", 400, 20);
        ev(e, 7, "u3", 20, "view", 200, -1);
        ev(e, 8, "u3", 10, "view", 300, -1);
        ev(e, 9, "u3", 10, "purchase", 400, 40);
        ev(e, 10, "u1", 10, "view", 100, -1); /* late */
        r = rollup(e, 0, TP_ATTRIB_LAST, -1);
        a = index_of(r, 10);
        b = index_of(r, 20);
        d = index_of(r, 40);
        tp_attrib_result_free(r);
        /* D direct: u1 -> A, u2 -> D (nothing else), u3 -> A. */
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, d, 10, 2, 50);
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, d, 40, 1, 20);
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, d, 20, 0, 0);
        /* A direct: u1 -> D, u2 -> D, u3 -> B. */
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, a, 40, 2, 30);
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, a, 20, 1, 40);
        expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, a, 10, 0, 0);
        /* B direct, or none: last touch. */
        for (int dir = -1; dir <= b; dir += b + 1) {
                expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, dir, 40, 2, 30);
                expect_tp(e, 0, TP_ATTRIB_LAST_NON_DIRECT, dir, 10, 1, 40);
        }
        expect_tp(e, 0, TP_ATTRIB_FIRST, -1, 10, 1, 10);
        expect_tp(e, 0, TP_ATTRIB_POSITION, -1, 40, 0.4 + 0.2 + 1, 0.4 * 10 + 0.2 * 10 + 20);
        tp_engine_free(e);
}

/* Equal times across a compaction: the compacted event is the older.  x: A
 * 50, purchase 100 (compacted), then B 100 and a purchase 200: [B] converts
 * at 200.  y: A 50, B 100 (compacted), then a purchase 100 and one at 200:
 * the purchase at 100 takes [A B], the one at 200 nothing. */
static void test_rollup_equal_times(void **state) {
        tp_engine *e = mk_engine(0);
        tp_attrib_result *r;
        tp_err err;

        (void) state;
        ev(e, 1, "x", 10, "view", 50, -1);
        ev(e, 2, "x", 10, "purchase", 100, 3);
        ev(e, 3, "y", 10, "view", 50, -1);
        ev(e, 4, "y", 20, "view", 100, -1);
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        ev(e, 5, "x", 20, "click", 100, -1);
        ev(e, 6, "x", 30, "purchase", 200, 5);
        ev(e, 7, "y", 30, "purchase", 100, 7);
        ev(e, 8, "y", 30, "purchase", 200, 11);
        r = rollup(e, 0, TP_ATTRIB_LAST, -1);
        assert_near(r->conversions[index_of(r, 20)], 2, 0, "B last for x's second and y's first purchase");
        assert_near(r->value[index_of(r, 20)], 12, 0, "5 + 7");
        assert_near(r->conversions[index_of(r, 10)], 1, 0, "A last for x's first purchase");
        assert_near(r->unattributed_conversions, 1, 0, "y's second purchase has no touch");
        assert_near(r->unattributed_value, 11, 0, "its value");
        tp_attrib_result_free(r);
        tp_engine_free(e);
}

/* Paths longer than the reservation estimate (the sums count the cells a
 * path needs instead): one customer with 5,000 events, purchases every
 * ~1,700, a few hundred of them late, another with a long null path. */
static void test_rollup_long_paths(void **state) {
        tp_engine *e = mk_engine(3600);
        int64_t seq = 1;

        (void) state;
        for (int i = 0; i < 5000; i++) {
                int late = i % 17 == 5;
                int64_t ts = late ? 1000 + (int64_t) ((i * 7919) % 5000) * 10 : 1000 + (int64_t) i * 10;

                ev(e,
                   seq++,
                   "long",
                   10 + 10 * (i * 31 % 7),
                   i % 1700 == 1699 ? "purchase" : "view",
                   ts,
                   i % 1700 == 1699 ? i : -1);
                if (i % 5 == 0)
                        ev(e, seq++, "nulls", 10 + 10 * (i % 5), "view", 1000 + (int64_t) i, -1);
                if (i == 2500)
                        assert_int_equal(tp_engine_compact(e, NULL), TP_OK);
        }
        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                if (m == TP_ATTRIB_TIME_DECAY)
                        continue;
                tp_attrib_result_free(rollup(e, 0, (tp_attrib_model) m, -1));
                tp_attrib_result_free(rollup(e, 3600, (tp_attrib_model) m, 0));
        }
        tp_engine_free(e);
}

static void feed_events(tp_engine *e, int64_t *seq, int n, int ntp, int64_t tp0, uint32_t seed) {
        for (int i = 0; i < n; i++) {
                uint32_t h = (uint32_t) i * 2654435761u ^ seed;
                int k = (int) (*seq % 1000);
                char cust[16];

                (void) snprintf(cust, sizeof cust, "m%u", h % 23);
                ev(e,
                   (*seq)++,
                   cust,
                   tp0 + (h >> 8) % (uint32_t) ntp,
                   (h >> 20) % 5 == 0 ? "purchase" : "view",
                   5000 + (int64_t) k * 50 - ((h >> 12) % 7 == 0 ? (int64_t) ((h >> 4) % 3000) : 0),
                   k);
        }
}

/* Every model from the rollups, compared with the scan (bit for bit). */
static void rollup_all(tp_engine *e, int markov_ok) {
        for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                if (m == TP_ATTRIB_TIME_DECAY)
                        continue;
                if (m == TP_ATTRIB_MARKOV && !markov_ok) {
                        tp_engine_path_query q;
                        tp_attrib_result *r = NULL;
                        tp_err err;

                        tp_engine_path_query_init(&q);
                        for (int s = 0; s < 2; s++) {
                                q.strategy = s ? TP_ENGINE_SCAN : TP_ENGINE_AUTO;
                                assert_int_equal(
                                        tp_engine_attribution_run(e, &q, TP_ATTRIB_MARKOV, NULL, &r, &err),
                                        TP_UNPROCESSABLE);
                                assert_string_equal(err.field, "touchpoints");
                        }
                        continue;
                }
                tp_attrib_result_free(rollup(e, 0, (tp_attrib_model) m, 1));
                tp_attrib_result_free(rollup(e, 1000, (tp_attrib_model) m, 1));
        }
}

/* Past 256 touchpoints the Markov transitions move from a dense matrix into
 * cells, with the sums already there: 40 touchpoints in paths, then 300
 * more known from responses (the engine grows to 512), then paths through
 * them (more than Markov takes). */
static void test_rollup_many_touchpoints(void **state) {
        tp_engine *e = mk_engine(1000);
        int64_t seq = 1;
        tp_err err;

        (void) state;
        feed_events(e, &seq, 800, 40, 1, 7);
        rollup_all(e, 1);
        for (int i = 0; i < 300; i++) {
                tp_response x = {
                        .id = "r", .touchpoint = 1000 + i, .metric = TP_METRIC_NPS, .score = 5, .ts = 1000
                };

                assert_int_equal(tp_engine_add_response(e, i + 1, &x, &err), TP_OK);
        }
        rollup_all(e, 1);
        feed_events(e, &seq, 800, 40, 1, 11);
        rollup_all(e, 1);
        assert_int_equal(tp_engine_compact(e, &err), TP_OK);
        feed_events(e, &seq, 2000, 300, 1000, 13);
        rollup_all(e, 0);
        tp_engine_free(e);
}

/* Allocation failures while the rollups grow, events in time order (the
 * in-order path) and a few late ones: each failing event is refused with
 * TP_NOMEM and changes nothing, so the rollups still equal a scan of the
 * events that were taken. */
static void test_rollup_oom(void **state) {
        (void) state;
        for (long n = 1;; n++) {
                tp_engine *e = NULL;
                tp_engine_opts o;
                unsigned long before = tp_alloc_count(), after;
                int failed = 0;
                tp_err err;

                tp_engine_opts_init(&o);
                o.attrib_lookback = 500;
                tp_alloc_fail_after(n);
                if (tp_engine_new(&o, &e, &err) != TP_OK) {
                        tp_alloc_fail_after(0);
                        continue;
                }
                for (int i = 0; i < 600; i++) {
                        char cust[16];
                        int c = i % 20, k = i / 20;
                        tp_event x = { .id = "x",
                                       .customer = cust,
                                       .touchpoint = 1 + (i * 7 + k * k) % 40,
                                       .type = (k * 3 + c) % 5 == 0 ? "purchase" : "view",
                                       .ts = 1000 + (int64_t) k * 100 - (i % 23 == 0 ? 250 : 0),
                                       .has_value = 1,
                                       .value = i };
                        tp_rc rc;

                        (void) snprintf(cust, sizeof cust, "c%d", c);
                        rc = tp_engine_add_event(e, i + 1, &x, &err);
                        if (rc != TP_OK) {
                                assert_int_equal(rc, TP_NOMEM);
                                failed++;
                        }
                }
                after = tp_alloc_count();
                tp_alloc_fail_after(0);
                assert_true(failed <= 1);
                for (int m = 0; m < _TP_ATTRIB_MODEL_MAX; m++) {
                        if (m == TP_ATTRIB_TIME_DECAY)
                                continue;
                        tp_attrib_result_free(rollup(e, 0, (tp_attrib_model) m, 3));
                        tp_attrib_result_free(rollup(e, 500, (tp_attrib_model) m, 3));
                }
                tp_engine_free(e);
                if (after - before < (unsigned long) n)
                        break; /* ran without reaching the nth allocation */
                if (n > 100000)
                        fail_msg("no end to the allocation-failure loop");
        }
}

/* The look-back option: negative refused; 0 keeps the unlimited rollups only,
 * so a 90-day query is then a scan. */
static void test_rollup_option(void **state) {
        tp_engine_opts o;
        tp_engine *e = NULL;
        tp_engine_path_query q;
        tp_attrib_result *r = NULL;
        tp_err err;

        (void) state;
        tp_engine_opts_init(&o);
        assert_int_equal(o.attrib_lookback, 90 * 86400);
        o.attrib_lookback = -1;
        assert_int_equal(tp_engine_new(&o, &e, &err), TP_INVALID);
        assert_string_equal(err.field, "attrib_lookback");
        assert_null(e);
        e = mk_engine(0);
        ev(e, 1, "x", 10, "view", 100, -1);
        ev(e, 2, "x", 10, "purchase", 200, 1);
        tp_engine_path_query_init(&q);
        q.lookback = 90 * 86400;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_FIRST, NULL, &r, &err), TP_OK);
        assert_true(r->rows_scanned > 0);
        tp_attrib_result_free(r);
        q.lookback = 0;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_FIRST, NULL, &r, &err), TP_OK);
        assert_int_equal(r->rows_scanned, 0);
        tp_attrib_result_free(r);
        /* Another conversion type, a cut range and time decay: scans. */
        q.conversion = "view";
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_FIRST, NULL, &r, &err), TP_OK);
        assert_true(r->rows_scanned > 0);
        tp_attrib_result_free(r);
        q.conversion = NULL;
        q.from = 150;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_FIRST, NULL, &r, &err), TP_OK);
        assert_true(r->rows_scanned > 0);
        tp_attrib_result_free(r);
        q.from = INT64_MIN;
        assert_int_equal(tp_engine_attribution_run(e, &q, TP_ATTRIB_TIME_DECAY, NULL, &r, &err), TP_OK);
        assert_true(r->rows_scanned > 0);
        tp_attrib_result_free(r);
        tp_engine_free(e);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_readme_heuristics),
                cmocka_unit_test(test_csv_markov_shapley),
                cmocka_unit_test(test_markov_white_paper),
                cmocka_unit_test(test_time_decay_hand),
                cmocka_unit_test(test_position_hand),
                cmocka_unit_test(test_last_non_direct_hand),
                cmocka_unit_test(test_shapley_hand),
                cmocka_unit_test(test_limits_and_errors),
                cmocka_unit_test(test_engine_paths),
                cmocka_unit_test(test_rollup_late_touch),
                cmocka_unit_test(test_rollup_late_purchase),
                cmocka_unit_test(test_rollup_late_lookback),
                cmocka_unit_test(test_rollup_last_non_direct),
                cmocka_unit_test(test_rollup_equal_times),
                cmocka_unit_test(test_rollup_long_paths),
                cmocka_unit_test(test_rollup_many_touchpoints),
                cmocka_unit_test(test_rollup_oom),
                cmocka_unit_test(test_rollup_option),
        };
        /* clang-format on */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
