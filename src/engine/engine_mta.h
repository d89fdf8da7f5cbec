/* SPDX-License-Identifier: MIT */
/*
 * engine_mta.h -- multi-touch attribution as integer sums over paths
 * (engine_mta.c), shared by the rollups kept at ingest (engine_rollup.c) and
 * the scans of tp_engine_attribution_run() (engine_attrib.c).  Engine-private.
 *
 * Every model but time decay is additive over paths, and what a path gives
 * each touchpoint depends on a few integers only: its first touch, its last
 * touch t1 and the last touch other than t1 (last non-direct, whatever the
 * direct touchpoint), its length L with each touchpoint's multiplicity and
 * multiplicity in the middle (linear, position), its number k of distinct
 * touchpoints (Shapley), and its transitions (Markov).  A set of paths is
 * therefore kept as integer sums keyed by those integers, and the models
 * divide only when asked (eng_mta_result()).  Rollup and scan go through the
 * same division, so they answer bit for bit alike; the sums are exact, the
 * only roundings are the final divisions and the sums over length classes.
 *
 * Time decay weighs touches by their age in seconds against a half-life the
 * query chooses: no finite set of sums serves every half-life, so it stays a
 * scan.
 */
#ifndef TP_ENGINE_MTA_H
#define TP_ENGINE_MTA_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine_int.h"

/* Kinds of sparse cells; a key is kind << 56 | a << 32 | b.
 *   PAIR (t1, t2 + 1)  paths whose last touch is t1 and whose last touch other
 *                      than t1 is t2 (b = 0: none): v0 paths, v1 their value;
 *   LEN (t, L)         paths of L touches: v0 touches at t, v1 their value
 *                      (value x multiplicity), v2 and v3 the same for the
 *                      touches in the middle (neither first nor last);
 *   DIST (t, k)        paths with k distinct touchpoints, t among them: v0
 *                      paths, v1 their value;
 *   EDGE (a, b)        Markov transitions a -> b between consecutive touches
 *                      (repeats included): v0.  Only beyond ENG_MTA_DENSE
 *                      touchpoints: up to there they are eng_msum.edges. */
enum { ENG_MK_PAIR = 1, ENG_MK_LEN, ENG_MK_DIST, ENG_MK_EDGE };

/* Markov transitions are a dense matrix up to this many touchpoints (256 KB
 * per sum at most), cells beyond: most events of a customer are not purchases
 * and each adds one transition, which had better be an increment in a small
 * array than a probe into the cells.  Markov itself stops at
 * TP_ATTRIB_MARKOV_MAX states. */
#define ENG_MTA_DENSE 256

typedef struct eng_mcell {
        uint64_t key; /* 0: an empty slot */
        int64_t v[4];
} eng_mcell;

/* Integer sums over a set of paths.  For null paths only paths, mstart, mend
 * and the transitions are used. */
typedef struct eng_msum {
        uint64_t paths; /* paths with at least one touch */
        int64_t value;  /* their conversion value */
        uint64_t empty; /* conversions without touches (unattributed) */
        int64_t empty_value;
        uint32_t cap;     /* entries of the per-touchpoint arrays */
        int64_t *first;   /* [2t]: paths whose first touch is t, [2t + 1]: their value */
        uint64_t *mstart; /* Markov: start -> t */
        uint64_t *mend;   /* Markov: paths ending at t (to conversion, or to null) */
        uint32_t *edges;  /* Markov: a -> b at [a * cap + b] while cap <= ENG_MTA_DENSE, else NULL */
        eng_mcell *cells; /* open addressing, linear probing; ncap a power of two */
        uint32_t ncells, ncap;
        uint64_t want; /* counting mode (sign 0): keys not yet present, an upper bound */
} eng_msum;

/* Per-path scratch: counters per touchpoint, zero between paths. */
typedef struct eng_mscratch {
        uint32_t *cnt, *mid;
        uint16_t *seen; /* the path's distinct touchpoints */
        uint32_t cap;
} eng_mscratch;

/* The rollups: purchases under no look-back and under o.attrib_lookback,
 * and the null paths, which no look-back cuts. */
struct eng_mta {
        eng_msum conv[2]; /* [1] unused when o.attrib_lookback is 0 */
        eng_msum null;
        eng_mscratch sc;
        eng_item *seg; /* the writer's scratch: a path, or a customer's events */
        uint32_t segcap;
};
typedef struct eng_mta eng_mta;

/* ---- sums ---- */

/* Room for ntp touchpoints in the per-touchpoint arrays (zeroed); past
 * ENG_MTA_DENSE the transitions move into cells. */
tp_rc eng_msum_grow(eng_msum *s, uint32_t ntp);
tp_rc eng_mscratch_grow(eng_mscratch *sc, uint32_t ntp);
/* Room for `more` new cells, so that the adds after it cannot fail. */
tp_rc eng_msum_reserve(eng_msum *s, uint64_t more);
/* Zero every sum, keeping the allocations. */
void eng_msum_clear(eng_msum *s);
void eng_msum_done(eng_msum *s);
void eng_mscratch_done(eng_mscratch *sc);

/* Add (sign 1) or take out (sign -1) one converting path of m touches v[0,
 * m) (m = 0: an unattributed conversion) with its value; room reserved.
 * Sign 0 only counts into s->want the cells it would create. */
void eng_mconv(eng_msum *s, eng_mscratch *sc, const eng_item *v, uint32_t m, int64_t value, int sign);
/* The same for one null path (m >= 1). */
void eng_mnull(eng_msum *s, const eng_item *v, uint32_t m, int sign);
/* Reserve for one eng_mconv() / eng_mnull() of these touches (a long path
 * is counted first rather than reserving three cells per touch). */
tp_rc eng_mconv_reserve(eng_msum *s, eng_mscratch *sc, const eng_item *v, uint32_t m);
tp_rc eng_mnull_reserve(eng_msum *s, const eng_item *v, uint32_t m);

/* The first of the touches v[0, m) (in time order) within lookback seconds
 * of the conversion at time at; m when none is, 0 when lookback is 0. */
uint32_t eng_mwindow(const eng_item *v, uint32_t m, uint32_t at, int64_t lookback);

/* ---- answers ---- */

/* A copy of a sum for ntp touchpoints, with the cells of the kinds in the
 * mask kinds (bit 1 << ENG_MK_*) sorted by key, zero cells left out: taken
 * under the lock, the division runs after it. */
typedef struct eng_mview {
        uint64_t paths, empty;
        int64_t value, empty_value;
        int64_t *first;          /* 2 * ntp */
        uint64_t *mstart, *mend; /* ntp */
        eng_mcell *cells;
        size_t ncells;
} eng_mview;

tp_rc eng_mview_of(const eng_msum *s, uint32_t ntp, unsigned kinds, eng_mview *ret);
/* The kinds of cells eng_mta_result() reads for model, in the converting
 * paths' sums (nulls: 0) or the null paths'. */
unsigned eng_mta_kinds(tp_attrib_model model, int nulls);
void eng_mview_done(eng_mview *v);

/* Attribution of the converting paths cv (and, for Markov, the null paths
 * nv) over ntp >= 1 touchpoints with model (not time decay).  Fills *ret as
 * tp_attrib_paths() would; errors as it (the Markov limit), TP_NOMEM. */
tp_rc eng_mta_result(
        const eng_mview *cv,
        const eng_mview *nv,
        uint32_t ntp,
        tp_attrib_model model,
        const tp_attrib_params *p,
        tp_attrib_result *ret,
        tp_err *err);

/* engine_attrib.c: the Markov chain of tp_attrib_paths().  eng_markov_check()
 * refuses more than TP_ATTRIB_MARKOV_MAX states (call it before allocating);
 * eng_markov_solve() takes counts among start (0) and states 1..m (cnt, (m+1)^2,
 * row-major), conversions and all journeys leaving each state (conv, tot; cnt
 * and conv are normalised in place) and sets r->conversions / r->value of
 * touchpoint back[s - 1] from r->total_conversions / total_value. */
tp_rc eng_markov_check(size_t m, tp_err *err);
tp_rc eng_markov_solve(
        double *cnt, double *conv, const double *tot, size_t m, const int *back, tp_attrib_result *r, tp_err *err);

/* ---- the rollups (writer: wmu and rw exclusive held) ---- */

/* Allocate the rollups on first use and grow them to cap touchpoints. */
tp_rc eng_mta_grow(tp_engine *e, uint32_t cap);
/* An event of customer c at or after its latest one, before it is inserted:
 * closes the open path at a purchase (walking back to the previous one),
 * extends it otherwise.  TP_NOMEM changes nothing.  The caller then updates
 * the customer's ENG_NP_CONV flag. */
tp_rc eng_mta_event(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value);
/* Room for a customer's whole contribution: its events v[0, n), plus r (may
 * be NULL) placed among them in (ts, seq) order as a newer event. */
tp_rc eng_mta_reserve(tp_engine *e, const eng_item *v, uint32_t n, const eng_rec *r, int64_t value);
/* Add (1) or take out (-1) a customer's paths, v its events in order. */
void eng_mta_cust(tp_engine *e, const eng_item *v, uint32_t n, int sign);
void eng_mta_clear(tp_engine *e);
size_t eng_mta_bytes(const tp_engine *e);
void eng_mta_free(tp_engine *e);

#endif
