/* SPDX-License-Identifier: MIT */
/*
 * engine_mta.c -- multi-touch attribution as integer sums over paths (see
 * engine_mta.h for what is summed and why).
 *
 *   sums      per-touchpoint arrays and a small open-addressing table of cells
 *             keyed by (kind, touchpoint, length / pair / state).  Cells are
 *             never deleted (a path taken out leaves zeros behind), so probing
 *             needs no tombstones; the table holds one cell per key ever
 *             seen, a few thousand on the bench data whatever its size;
 *   rollups   the only per-customer state is one bit of eng_cust.np: is the
 *             latest event a purchase.  An event in order extends the
 *             customer's open (null) path in O(1) or, a purchase, closes it:
 *             the path is read back from the columns to the previous purchase,
 *             so each event is read once more in all.  A late event takes the
 *             customer's whole contribution out and adds it back, with the
 *             transitions and last touch (contrib() in engine_rollup.c);
 *   answers   a view of the sums is copied under the lock and the models
 *             divide after it (eng_mta_result()).
 *
 * Values are summed modulo 2^64 (as unsigned): a path taken out cancels
 * exactly, and no signed overflow is undefined.
 */
#include "engine/engine_mta.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define RESERVE_COUNT 4096 /* beyond this many cells, count what a path needs instead */

static int64_t add64(int64_t x, int64_t d) {
        return (int64_t) ((uint64_t) x + (uint64_t) d);
}

static int64_t mul64(int64_t x, int64_t y) {
        return (int64_t) ((uint64_t) x * (uint64_t) y);
}

/* x, or -x for sign < 0 (modulo 2^64). */
static int64_t signed_by(int sign, int64_t x) {
        return sign < 0 ? (int64_t) (0 - (uint64_t) x) : x;
}

static uint64_t mkey(unsigned kind, uint32_t a, uint32_t b) {
        return (uint64_t) kind << 56 | (uint64_t) a << 32 | b;
}

static unsigned key_kind(uint64_t k) {
        return (unsigned) (k >> 56);
}

static uint32_t key_a(uint64_t k) {
        return (uint32_t) (k >> 32) & 0xffffffu;
}

static uint32_t key_b(uint64_t k) {
        return (uint32_t) k;
}

static uint32_t key_hash(uint64_t k) {
        k ^= k >> 29;
        k *= 0x9e3779b97f4a7c15ull;
        return (uint32_t) (k >> 32);
}

/* ---- sums ---------------------------------------------------------------- */

static tp_rc cells_resize(eng_msum *s, uint32_t ncap) {
        eng_mcell *c = tp_calloc(ncap, sizeof(*c));

        if (!c)
                return TP_NOMEM;
        for (uint32_t j = 0; j < s->ncap; j++) {
                uint32_t i;

                if (!s->cells[j].key)
                        continue;
                for (i = key_hash(s->cells[j].key) & (ncap - 1); c[i].key; i = (i + 1) & (ncap - 1))
                        ;
                c[i] = s->cells[j];
        }
        tp_free(s->cells);
        s->cells = c;
        s->ncap = ncap;
        return TP_OK;
}

tp_rc eng_msum_reserve(eng_msum *s, uint64_t more) {
        uint64_t need = ((uint64_t) s->ncells + more) * 2, cap = s->ncap ? s->ncap : 64;

        if (need <= s->ncap)
                return TP_OK;
        while (cap < need)
                cap *= 2;
        if (cap > (uint64_t) 1 << 31)
                return TP_NOMEM;
        return cells_resize(s, (uint32_t) cap);
}

/* The cell of key, created (room reserved) unless sign is 0: then only
 * counted in s->want when missing, and NULL returned. */
static eng_mcell *cell(eng_msum *s, uint64_t key, int sign) {
        uint32_t i, mask = s->ncap - 1;

        if (!s->ncap) {
                assert(sign == 0);
                s->want++;
                return NULL;
        }
        for (i = key_hash(key) & mask; s->cells[i].key; i = (i + 1) & mask)
                if (s->cells[i].key == key)
                        return sign ? &s->cells[i] : NULL;
        if (!sign) {
                s->want++;
                return NULL;
        }
        assert(s->ncells + 1 < s->ncap); /* eng_msum_reserve() was called */
        memset(&s->cells[i], 0, sizeof(s->cells[i]));
        s->cells[i].key = key;
        s->ncells++;
        return &s->cells[i];
}

static void cell_add(eng_msum *s, uint64_t key, int sign, int64_t a, int64_t b, int64_t c, int64_t d) {
        eng_mcell *x = cell(s, key, sign);

        if (!x)
                return;
        x->v[0] = add64(x->v[0], a);
        x->v[1] = add64(x->v[1], b);
        x->v[2] = add64(x->v[2], c);
        x->v[3] = add64(x->v[3], d);
}

static void edge_add(eng_msum *s, uint32_t a, uint32_t b, int sign) {
        if (s->edges)
                s->edges[(size_t) a * s->cap + b] += (uint32_t) sign;
        else
                cell_add(s, mkey(ENG_MK_EDGE, a, b), sign, sign, 0, 0, 0);
}

tp_rc eng_msum_grow(eng_msum *s, uint32_t ntp) {
        int64_t *first;
        uint64_t *ms, *me;
        uint32_t *ed = NULL;
        uint64_t nz = 0;

        if (ntp <= s->cap)
                return TP_OK;
        first = tp_calloc((size_t) ntp * 2, sizeof(*first));
        ms = tp_calloc(ntp, sizeof(*ms));
        me = tp_calloc(ntp, sizeof(*me));
        if (ntp <= ENG_MTA_DENSE)
                ed = tp_calloc((size_t) ntp * ntp, sizeof(*ed));
        else if (s->edges)
                for (size_t i = 0; i < (size_t) s->cap * s->cap; i++)
                        nz += s->edges[i] != 0;
        if (!first || !ms || !me || (ntp <= ENG_MTA_DENSE && !ed) || eng_msum_reserve(s, nz) != TP_OK) {
                tp_free(first);
                tp_free(ms);
                tp_free(me);
                tp_free(ed);
                return TP_NOMEM;
        }
        if (s->cap) {
                memcpy(first, s->first, (size_t) s->cap * 2 * sizeof(*first));
                memcpy(ms, s->mstart, (size_t) s->cap * sizeof(*ms));
                memcpy(me, s->mend, (size_t) s->cap * sizeof(*me));
        }
        /* The transitions: into the larger matrix, or into cells. */
        for (uint32_t a = 0; s->edges && a < s->cap; a++)
                for (uint32_t b = 0; b < s->cap; b++) {
                        uint32_t n = s->edges[(size_t) a * s->cap + b];

                        if (ed)
                                ed[(size_t) a * ntp + b] = n;
                        else if (n)
                                cell_add(s, mkey(ENG_MK_EDGE, a, b), 1, n, 0, 0, 0);
                }
        tp_free(s->first);
        tp_free(s->mstart);
        tp_free(s->mend);
        tp_free(s->edges);
        s->first = first;
        s->mstart = ms;
        s->mend = me;
        s->edges = ed;
        s->cap = ntp;
        return TP_OK;
}

tp_rc eng_mscratch_grow(eng_mscratch *sc, uint32_t ntp) {
        uint32_t *cnt, *mid;
        uint16_t *seen;

        if (ntp <= sc->cap)
                return TP_OK;
        cnt = tp_calloc(ntp, sizeof(*cnt));
        mid = tp_calloc(ntp, sizeof(*mid));
        seen = tp_malloc((size_t) ntp * sizeof(*seen));
        if (!cnt || !mid || !seen) {
                tp_free(cnt);
                tp_free(mid);
                tp_free(seen);
                return TP_NOMEM;
        }
        /* The counters are zero between paths: nothing to copy. */
        eng_mscratch_done(sc);
        sc->cnt = cnt;
        sc->mid = mid;
        sc->seen = seen;
        sc->cap = ntp;
        return TP_OK;
}

void eng_msum_clear(eng_msum *s) {
        s->paths = s->empty = 0;
        s->value = s->empty_value = 0;
        if (s->cap) {
                memset(s->first, 0, (size_t) s->cap * 2 * sizeof(*s->first));
                memset(s->mstart, 0, (size_t) s->cap * sizeof(*s->mstart));
                memset(s->mend, 0, (size_t) s->cap * sizeof(*s->mend));
        }
        if (s->edges)
                memset(s->edges, 0, (size_t) s->cap * s->cap * sizeof(*s->edges));
        if (s->ncap)
                memset(s->cells, 0, (size_t) s->ncap * sizeof(*s->cells));
        s->ncells = 0;
        s->want = 0;
}

void eng_msum_done(eng_msum *s) {
        tp_free(s->first);
        tp_free(s->mstart);
        tp_free(s->mend);
        tp_free(s->edges);
        tp_free(s->cells);
        memset(s, 0, sizeof(*s));
}

void eng_mscratch_done(eng_mscratch *sc) {
        tp_free(sc->cnt);
        tp_free(sc->mid);
        tp_free(sc->seen);
        memset(sc, 0, sizeof(*sc));
}

void eng_mconv(eng_msum *s, eng_mscratch *sc, const eng_item *v, uint32_t m, int64_t value, int sign) {
        int64_t one = sign, val = signed_by(sign, value);
        uint32_t t1, t2 = 0, nd = 0;

        if (m == 0) {
                if (sign) {
                        s->empty += (uint64_t) one;
                        s->empty_value = add64(s->empty_value, val);
                }
                return;
        }
        if (sign) {
                uint32_t f = v[0].r.tp;

                s->paths += (uint64_t) one;
                s->value = add64(s->value, val);
                s->first[2 * f] += one;
                s->first[2 * f + 1] = add64(s->first[2 * f + 1], val);
                s->mstart[f] += (uint64_t) one;
                s->mend[v[m - 1].r.tp] += (uint64_t) one;
        }
        /* Last touch and the last touch other than it. */
        t1 = v[m - 1].r.tp;
        for (uint32_t i = m - 1; i-- > 0;)
                if (v[i].r.tp != t1) {
                        t2 = v[i].r.tp + 1u;
                        break;
                }
        cell_add(s, mkey(ENG_MK_PAIR, t1, t2), sign, one, val, 0, 0);
        /* Multiplicities (in the middle too) and the distinct touchpoints. */
        for (uint32_t i = 0; i < m; i++) {
                uint16_t t = v[i].r.tp;

                if (!sc->cnt[t]++)
                        sc->seen[nd++] = t;
                if (i && i + 1 < m)
                        sc->mid[t]++;
        }
        for (uint32_t j = 0; j < nd; j++) {
                uint16_t t = sc->seen[j];
                int64_t n = sc->cnt[t], md = sc->mid[t];

                cell_add(s, mkey(ENG_MK_LEN, t, m), sign, one * n, mul64(val, n), one * md, mul64(val, md));
                cell_add(s, mkey(ENG_MK_DIST, t, nd), sign, one, val, 0, 0);
                sc->cnt[t] = sc->mid[t] = 0;
        }
        for (uint32_t i = 1; i < m; i++)
                edge_add(s, v[i - 1].r.tp, v[i].r.tp, sign);
}

void eng_mnull(eng_msum *s, const eng_item *v, uint32_t m, int sign) {
        int64_t one = sign;

        if (sign) {
                s->paths += (uint64_t) one;
                s->mstart[v[0].r.tp] += (uint64_t) one;
                s->mend[v[m - 1].r.tp] += (uint64_t) one;
        }
        for (uint32_t i = 1; i < m; i++)
                edge_add(s, v[i - 1].r.tp, v[i].r.tp, sign);
}

tp_rc eng_mconv_reserve(eng_msum *s, eng_mscratch *sc, const eng_item *v, uint32_t m) {
        /* A path of m touches makes at most 1 + 2 * distinct + (m - 1) <= 3m cells. */
        if ((uint64_t) m * 3 <= RESERVE_COUNT)
                return eng_msum_reserve(s, (uint64_t) m * 3);
        s->want = 0;
        eng_mconv(s, sc, v, m, 0, 0);
        return eng_msum_reserve(s, s->want);
}

tp_rc eng_mnull_reserve(eng_msum *s, const eng_item *v, uint32_t m) {
        if (m <= RESERVE_COUNT)
                return eng_msum_reserve(s, m);
        s->want = 0;
        eng_mnull(s, v, m, 0);
        return eng_msum_reserve(s, s->want);
}

uint32_t eng_mwindow(const eng_item *v, uint32_t m, uint32_t at, int64_t lookback) {
        uint32_t i = m;

        if (lookback <= 0)
                return 0;
        while (i > 0 && (int64_t) at - (int64_t) v[i - 1].r.ts <= lookback)
                i--;
        return i;
}

/* ---- the rollups --------------------------------------------------------- */

static int nsets(const tp_engine *e) {
        return e->o.attrib_lookback > 0 ? 2 : 1;
}

static int is_purchase(const eng_rec *r) {
        return (r->tb & ENG_TB_TYPE) == ENG_TYPE_PURCHASE;
}

static tp_rc seg_reserve(eng_mta *M, size_t n) {
        size_t cap = M->segcap ? M->segcap : 64;
        eng_item *p;

        if (n <= M->segcap)
                return TP_OK;
        while (cap < n)
                cap *= 2;
        if (cap > UINT32_MAX || !(p = tp_realloc(M->seg, cap * sizeof(*p))))
                return TP_NOMEM;
        M->seg = p;
        M->segcap = (uint32_t) cap;
        return TP_OK;
}

tp_rc eng_mta_grow(tp_engine *e, uint32_t cap) {
        eng_mta *M = e->mta;

        if (!cap)
                return TP_OK;
        if (!M && !(M = e->mta = tp_calloc(1, sizeof(*M))))
                return TP_NOMEM;
        for (int k = 0; k < nsets(e); k++)
                if (eng_msum_grow(&M->conv[k], cap) != TP_OK)
                        return TP_NOMEM;
        if (eng_msum_grow(&M->null, cap) != TP_OK || eng_mscratch_grow(&M->sc, cap) != TP_OK ||
            seg_reserve(M, 64) != TP_OK) /* never NULL: an empty path is M->seg + 0 */
                return TP_NOMEM;
        return TP_OK;
}
/* Customer c's events after its latest purchase, oldest first, into M->seg:
 * read backwards, merging the delta (newest first) with the end of the
 * compacted run; on equal times the delta event is the later (larger seq). */
static tp_rc open_path(tp_engine *e, uint32_t c, uint32_t *ret_m) {
        eng_mta *M = e->mta;
        uint32_t d = e->cust[c].dhead, s0 = 0, s = 0, m = 0;

        if (c < e->snc) {
                s0 = e->soff[c];
                s = e->soff[c + 1];
        }
        for (;;) {
                eng_rec r;

                if (d != ENG_NONE && (s == s0 || eng_dget(e, d)->r.ts >= e->srec[s - 1].ts)) {
                        r = eng_dget(e, d)->r;
                        d = eng_dget(e, d)->next;
                } else if (s > s0) {
                        r = e->srec[--s];
                } else {
                        break;
                }
                if (is_purchase(&r))
                        break;
                if (seg_reserve(M, (size_t) m + 1) != TP_OK)
                        return TP_NOMEM;
                M->seg[m++] = (eng_item){ .r = r, .value = 0 };
        }
        for (uint32_t i = 0; i < m / 2; i++) {
                eng_item x = M->seg[i];

                M->seg[i] = M->seg[m - 1 - i];
                M->seg[m - 1 - i] = x;
        }
        *ret_m = m;
        return TP_OK;
}

tp_rc eng_mta_event(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value) {
        eng_mta *M = e->mta;
        const eng_cust *L = &e->cust[c];
        int open = L->tp != ENG_TP_NONE && !(L->np & ENG_NP_CONV); /* an open (null) path ends at L->tp */
        int64_t lb = e->o.attrib_lookback;
        uint32_t m = 0, w = 0;

        if (!is_purchase(r)) {
                /* The open path grows by one touch: a new last state. */
                if (eng_msum_reserve(&M->null, 1) != TP_OK)
                        return TP_NOMEM;
                if (open) {
                        edge_add(&M->null, L->tp, r->tp, 1);
                        M->null.mend[L->tp]--;
                } else {
                        M->null.paths++;
                        M->null.mstart[r->tp]++;
                }
                M->null.mend[r->tp]++;
                return TP_OK;
        }
        /* A purchase closes the open path: it stops being a null path and
         * becomes the purchase's (cut by the look-back in the second set). */
        if (open && open_path(e, c, &m) != TP_OK)
                return TP_NOMEM;
        if (lb > 0)
                w = eng_mwindow(M->seg, m, r->ts, lb);
        if (eng_mconv_reserve(&M->conv[0], &M->sc, M->seg, m) != TP_OK ||
            (lb > 0 && eng_mconv_reserve(&M->conv[1], &M->sc, M->seg + w, m - w) != TP_OK))
                return TP_NOMEM;
        if (m)
                eng_mnull(&M->null, M->seg, m, -1);
        eng_mconv(&M->conv[0], &M->sc, M->seg, m, value, 1);
        if (lb > 0)
                eng_mconv(&M->conv[1], &M->sc, M->seg + w, m - w, value, 1);
        return TP_OK;
}

void eng_mta_cust(tp_engine *e, const eng_item *v, uint32_t n, int sign) {
        eng_mta *M = e->mta;
        int64_t lb = e->o.attrib_lookback;
        uint32_t seg = 0;

        for (uint32_t i = 0; i < n; i++) {
                uint32_t m = i - seg, w;

                if (!is_purchase(&v[i].r))
                        continue;
                eng_mconv(&M->conv[0], &M->sc, v + seg, m, v[i].value, sign);
                if (lb > 0) {
                        w = eng_mwindow(v + seg, m, v[i].r.ts, lb);
                        eng_mconv(&M->conv[1], &M->sc, v + seg + w, m - w, v[i].value, sign);
                }
                seg = i + 1;
        }
        if (seg < n)
                eng_mnull(&M->null, v + seg, n - seg, sign);
}

tp_rc eng_mta_reserve(tp_engine *e, const eng_item *v, uint32_t n, const eng_rec *r, int64_t value) {
        eng_mta *M = e->mta;
        /* Each touch makes at most three cells in a purchase set, one in the nulls. */
        uint64_t est = (uint64_t) 3 * (n + 1) + 1;
        eng_msum *sums[3] = { &M->null, &M->conv[0], &M->conv[1] };
        int ns = 1 + nsets(e);

        if (est > RESERVE_COUNT) {
                /* Count instead: the events with r in its place (after those
                 * at or before its time: it is the newest). */
                if (r) {
                        uint32_t k = n;

                        if (seg_reserve(M, (size_t) n + 1) != TP_OK)
                                return TP_NOMEM;
                        while (k > 0 && v[k - 1].r.ts > r->ts)
                                k--;
                        memcpy(M->seg, v, (size_t) k * sizeof(*v));
                        M->seg[k] = (eng_item){ .r = *r, .value = value };
                        memcpy(M->seg + k + 1, v + k, (size_t) (n - k) * sizeof(*v));
                        v = M->seg;
                        n++;
                }
                for (int k = 0; k < ns; k++)
                        sums[k]->want = 0;
                eng_mta_cust(e, v, n, 0);
        }
        for (int k = 0; k < ns; k++)
                if (eng_msum_reserve(sums[k], est > RESERVE_COUNT ? sums[k]->want : est) != TP_OK)
                        return TP_NOMEM;
        return TP_OK;
}

void eng_mta_clear(tp_engine *e) {
        if (!e->mta)
                return;
        eng_msum_clear(&e->mta->conv[0]);
        eng_msum_clear(&e->mta->conv[1]);
        eng_msum_clear(&e->mta->null);
}

static size_t msum_bytes(const eng_msum *s) {
        return (size_t) s->cap * (2 * sizeof(*s->first) + sizeof(*s->mstart) + sizeof(*s->mend)) +
                (s->edges ? (size_t) s->cap * s->cap * sizeof(*s->edges) : 0) +
                (size_t) s->ncap * sizeof(*s->cells);
}

size_t eng_mta_bytes(const tp_engine *e) {
        const eng_mta *M = e->mta;

        if (!M)
                return 0;
        return sizeof(*M) + msum_bytes(&M->conv[0]) + msum_bytes(&M->conv[1]) + msum_bytes(&M->null) +
                (size_t) M->sc.cap * (sizeof(*M->sc.cnt) + sizeof(*M->sc.mid) + sizeof(*M->sc.seen)) +
                (size_t) M->segcap * sizeof(*M->seg);
}

void eng_mta_free(tp_engine *e) {
        eng_mta *M = e->mta;

        if (!M)
                return;
        eng_msum_done(&M->conv[0]);
        eng_msum_done(&M->conv[1]);
        eng_msum_done(&M->null);
        eng_mscratch_done(&M->sc);
        tp_free(M->seg);
        tp_free(M);
        e->mta = NULL;
}

/* ---- answers ------------------------------------------------------------- */

static int cmp_cell(const void *pa, const void *pb) {
        const eng_mcell *a = pa, *b = pb;

        return a->key < b->key ? -1 : a->key > b->key;
}

void eng_mview_done(eng_mview *v) {
        if (!v)
                return;
        tp_free(v->first);
        tp_free(v->mstart);
        tp_free(v->mend);
        tp_free(v->cells);
        memset(v, 0, sizeof(*v));
}

unsigned eng_mta_kinds(tp_attrib_model model, int nulls) {
        switch (model) {
        case TP_ATTRIB_LAST:
        case TP_ATTRIB_LAST_NON_DIRECT:
                return nulls ? 0 : 1u << ENG_MK_PAIR;
        case TP_ATTRIB_LINEAR:
        case TP_ATTRIB_POSITION:
                return nulls ? 0 : 1u << ENG_MK_LEN;
        case TP_ATTRIB_SHAPLEY:
                return nulls ? 0 : 1u << ENG_MK_DIST;
        case TP_ATTRIB_MARKOV:
                return 1u << ENG_MK_EDGE;
        default:
                return 0;
        }
}

static int cell_wanted(const eng_mcell *c, unsigned kinds) {
        return c->key && (kinds >> key_kind(c->key) & 1) && (c->v[0] || c->v[1] || c->v[2] || c->v[3]);
}

tp_rc eng_mview_of(const eng_msum *s, uint32_t ntp, unsigned kinds, eng_mview *ret) {
        eng_mview v = { .paths = s->paths, .empty = s->empty, .value = s->value, .empty_value = s->empty_value };
        uint32_t k = ntp < s->cap ? ntp : s->cap;
        const uint32_t *edges = kinds >> ENG_MK_EDGE & 1 ? s->edges : NULL;
        size_t n = 0;

        for (uint32_t i = 0; i < s->ncap; i++)
                n += (size_t) cell_wanted(&s->cells[i], kinds);
        for (size_t i = 0; edges && i < (size_t) s->cap * s->cap; i++)
                n += edges[i] != 0;
        v.first = tp_calloc((size_t) ntp * 2 + 1, sizeof(*v.first));
        v.mstart = tp_calloc((size_t) ntp + 1, sizeof(*v.mstart));
        v.mend = tp_calloc((size_t) ntp + 1, sizeof(*v.mend));
        v.cells = tp_malloc((n ? n : 1) * sizeof(*v.cells));
        if (!v.first || !v.mstart || !v.mend || !v.cells) {
                eng_mview_done(&v);
                return TP_NOMEM;
        }
        if (k) {
                memcpy(v.first, s->first, (size_t) k * 2 * sizeof(*v.first));
                memcpy(v.mstart, s->mstart, (size_t) k * sizeof(*v.mstart));
                memcpy(v.mend, s->mend, (size_t) k * sizeof(*v.mend));
        }
        for (uint32_t i = 0; i < s->ncap; i++)
                if (cell_wanted(&s->cells[i], kinds))
                        v.cells[v.ncells++] = s->cells[i];
        /* Dense transitions as the cells they would be beyond ENG_MTA_DENSE. */
        for (uint32_t a = 0; edges && a < s->cap; a++)
                for (uint32_t b = 0; b < s->cap; b++) {
                        uint32_t x = edges[(size_t) a * s->cap + b];

                        if (x)
                                v.cells[v.ncells++] = (eng_mcell){ .key = mkey(ENG_MK_EDGE, a, b), .v = { x } };
                }
        /* By key: the sums over length classes below run in one order,
         * whatever the table's history. */
        qsort(v.cells, v.ncells, sizeof(*v.cells), cmp_cell);
        *ret = v;
        return TP_OK;
}

/* Last touch, and last non-direct (direct >= 0): integer sums per touchpoint. */
static void last_touch(const eng_mview *cv, uint32_t ntp, int direct, tp_attrib_result *r, int64_t *acc) {
        for (size_t i = 0; i < cv->ncells; i++) {
                const eng_mcell *c = &cv->cells[i];
                uint32_t t1 = key_a(c->key), t2 = key_b(c->key), to = t1;

                if (key_kind(c->key) != ENG_MK_PAIR)
                        continue;
                /* A direct last touch passes the credit to the last other one
                 * (none: it keeps it). */
                if ((int) t1 == direct && t2)
                        to = t2 - 1;
                if (to >= ntp)
                        continue;
                acc[2 * to] += c->v[0];
                acc[2 * to + 1] = add64(acc[2 * to + 1], c->v[1]);
        }
        for (uint32_t t = 0; t < ntp; t++) {
                r->conversions[t] = (double) acc[2 * t];
                r->value[t] = (double) acc[2 * t + 1];
        }
}

/* Linear: each touch 1/L of its path; Shapley: each distinct touchpoint 1/k. */
static void per_class(const eng_mview *cv, uint32_t ntp, unsigned kind, tp_attrib_result *r) {
        for (size_t i = 0; i < cv->ncells; i++) {
                const eng_mcell *c = &cv->cells[i];
                uint32_t t = key_a(c->key);
                double d = (double) key_b(c->key);

                if (key_kind(c->key) != kind || t >= ntp)
                        continue;
                r->conversions[t] += (double) c->v[0] / d;
                r->value[t] += (double) c->v[1] / d;
        }
}

/* Position 40/20/40: one touch 1, two touches 1/2 each, else 0.4 to the
 * first and the last and 0.2 / (L - 2) to each touch in the middle. */
static void position(const eng_mview *cv, uint32_t ntp, tp_attrib_result *r, int64_t *acc) {
        /* acc per touchpoint: [0, 1] length 1, [2, 3] length 2, [4, 5] the
         * ends of longer paths (conversions, value). */
        for (size_t i = 0; i < cv->ncells; i++) {
                const eng_mcell *c = &cv->cells[i];
                uint32_t t = key_a(c->key), L = key_b(c->key);
                int64_t *a = &acc[6 * (size_t) t];

                if (key_kind(c->key) != ENG_MK_LEN || t >= ntp)
                        continue;
                if (L <= 2) {
                        a[2 * (L - 1)] += c->v[0];
                        a[2 * (L - 1) + 1] = add64(a[2 * (L - 1) + 1], c->v[1]);
                        continue;
                }
                a[4] += c->v[0] - c->v[2];
                a[5] = add64(a[5], add64(c->v[1], signed_by(-1, c->v[3])));
                r->conversions[t] += (double) c->v[2] * 0.2 / (double) (L - 2);
                r->value[t] += (double) c->v[3] * 0.2 / (double) (L - 2);
        }
        for (uint32_t t = 0; t < ntp; t++) {
                const int64_t *a = &acc[6 * (size_t) t];

                r->conversions[t] += (double) a[0] + 0.5 * (double) a[2] + 0.4 * (double) a[4];
                r->value[t] += (double) a[1] + 0.5 * (double) a[3] + 0.4 * (double) a[5];
        }
}

/* Markov over the converting and null paths: states are the touchpoints that
 * occur, in index order. */
static tp_rc markov(const eng_mview *cv, const eng_mview *nv, uint32_t ntp, tp_attrib_result *r, tp_err *err) {
        const eng_mview *vs[2] = { cv, nv };
        int *map = NULL, *back = NULL;
        double *cnt = NULL, *conv = NULL, *tot = NULL;
        size_t m = 0, s;
        tp_rc rc;

        map = tp_calloc(ntp, sizeof(*map));
        back = tp_malloc((size_t) ntp * sizeof(*back));
        if (!map || !back)
                goto nomem;
        for (int k = 0; k < 2; k++) {
                for (uint32_t t = 0; t < ntp; t++)
                        if (vs[k]->mstart[t])
                                map[t] = 1;
                for (size_t i = 0; i < vs[k]->ncells; i++) {
                        const eng_mcell *c = &vs[k]->cells[i];

                        if (key_kind(c->key) == ENG_MK_EDGE && key_a(c->key) < ntp && key_b(c->key) < ntp)
                                map[key_a(c->key)] = map[key_b(c->key)] = 1;
                }
        }
        for (uint32_t t = 0; t < ntp; t++)
                if (map[t]) {
                        map[t] = (int) ++m;
                        back[m - 1] = (int) t;
                }
        if ((rc = eng_markov_check(m, err)) != TP_OK)
                goto out;
        s = m + 1;
        cnt = tp_calloc(s * s, sizeof(*cnt));
        conv = tp_calloc(s, sizeof(*conv));
        tot = tp_calloc(s, sizeof(*tot));
        if (!cnt || !conv || !tot)
                goto nomem;
        for (int k = 0; k < 2; k++) {
                for (uint32_t t = 0; t < ntp; t++) {
                        size_t st = (size_t) map[t];

                        if (!st)
                                continue;
                        cnt[st] += (double) vs[k]->mstart[t];
                        tot[0] += (double) vs[k]->mstart[t];
                        tot[st] += (double) vs[k]->mend[t]; /* to conversion or to null */
                        if (k == 0)
                                conv[st] += (double) vs[k]->mend[t];
                }
                for (size_t i = 0; i < vs[k]->ncells; i++) {
                        const eng_mcell *c = &vs[k]->cells[i];
                        size_t a, b;

                        if (key_kind(c->key) != ENG_MK_EDGE || key_a(c->key) >= ntp || key_b(c->key) >= ntp)
                                continue;
                        a = (size_t) map[key_a(c->key)];
                        b = (size_t) map[key_b(c->key)];
                        cnt[a * s + b] += (double) c->v[0];
                        tot[a] += (double) c->v[0];
                }
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

tp_rc eng_mta_result(
        const eng_mview *cv,
        const eng_mview *nv,
        uint32_t ntp,
        tp_attrib_model model,
        const tp_attrib_params *p,
        tp_attrib_result *ret,
        tp_err *err) {
        tp_attrib_result r;
        int64_t *acc = NULL;
        tp_rc rc = TP_OK;

        assert(ntp >= 1 && model != TP_ATTRIB_TIME_DECAY);
        memset(&r, 0, sizeof(r));
        r.model = model;
        r.n = ntp;
        r.conversions = tp_calloc(ntp, sizeof(*r.conversions));
        r.value = tp_calloc(ntp, sizeof(*r.value));
        acc = tp_calloc((size_t) ntp * 6, sizeof(*acc));
        if (!r.conversions || !r.value || !acc) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        r.total_conversions = (double) cv->paths;
        r.total_value = (double) cv->value;
        r.unattributed_conversions = (double) cv->empty;
        r.unattributed_value = (double) cv->empty_value;
        r.total_nulls = (double) nv->paths;
        switch (model) {
        case TP_ATTRIB_FIRST:
                for (uint32_t t = 0; t < ntp; t++) {
                        r.conversions[t] = (double) cv->first[2 * t];
                        r.value[t] = (double) cv->first[2 * t + 1];
                }
                break;
        case TP_ATTRIB_LAST:
                last_touch(cv, ntp, -1, &r, acc);
                break;
        case TP_ATTRIB_LAST_NON_DIRECT:
                last_touch(cv, ntp, p ? p->direct : -1, &r, acc);
                break;
        case TP_ATTRIB_LINEAR:
                per_class(cv, ntp, ENG_MK_LEN, &r);
                break;
        case TP_ATTRIB_POSITION:
                position(cv, ntp, &r, acc);
                break;
        case TP_ATTRIB_SHAPLEY:
                per_class(cv, ntp, ENG_MK_DIST, &r);
                break;
        case TP_ATTRIB_MARKOV:
                rc = markov(cv, nv, ntp, &r, err);
                break;
        default:
                rc = tp_err_set(err, TP_INVALID, "attribution model %d is not kept as sums", (int) model);
                break;
        }
out:
        tp_free(acc);
        if (rc != TP_OK) {
                tp_attrib_result_done(&r);
                return rc;
        }
        *ret = r;
        return TP_OK;
}
