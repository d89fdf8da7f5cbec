/* SPDX-License-Identifier: MIT */
/*
 * engine_int.h -- the engine's structures, shared by its files and nobody else.
 *
 *   engine.c          life cycle, locks, ingest entry points, memory
 *   engine_load.c     tp_engine_load: a store reader thread feeding the writer
 *   engine_dict.c     dictionaries: customers (own hash table, interned ids),
 *                     touchpoints (store id <-> u16), channels and event types (u8)
 *   engine_column.c   event columns (compacted + delta), per-customer order,
 *                     compaction; response blocks
 *   engine_rollup.c   rollups kept at ingest: scores, transitions, last touch
 *   engine_mta.c      multi-touch attribution sums (rollups and scans)
 *   engine_query.c    the three queries and their statistics; path scans
 *                     split over two threads
 *   engine_json.c     JSON for the API
 *
 * Events live in two parts.  The compacted part holds every customer's events
 * contiguously, in (ts, seq) order: 8-byte records indexed by a per-customer
 * offset array, so a path scan reads memory front to back.  Events added since
 * the last compaction sit in the delta: 24-byte entries in arrival order, each
 * customer's linked newest first (in-order arrival is a push, a late event
 * walks back a few entries).  A customer's sequence is the merge of the two;
 * on equal times the compacted event comes first, because its seq is smaller.
 *
 * Measured on the bench data (20M events, 1M customers, 2M responses): 11.7
 * bytes per event (8 column, 1.4 values, 2.3 customers) and 14.5 per response
 * (12 column, 2.5 rollup).
 */
#ifndef TP_ENGINE_INT_H
#define TP_ENGINE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define ENG_NONE UINT32_MAX /* no event, no customer */
#define ENG_TP_NONE 0xFFFFu /* no touchpoint (a customer without events) */
#define ENG_TP_MAX 4095u    /* touchpoints 0 .. ENG_TP_MAX-1: the transition matrix is dense */
#define ENG_NSLOT 38        /* metric x score slots, see eng_slot_base */
#define ENG_TYPE_PURCHASE 0 /* "purchase" is interned first */
#define ENG_TB_VALUE 0x80   /* the event carries a value */
#define ENG_TB_TYPE 0x7f
#define ENG_RBLK 4096      /* responses per block */
#define ENG_DCHUNK_BITS 16 /* delta entries per chunk: 65,536 */
#define ENG_VCHECK_BITS 8  /* one value-rank checkpoint per 256 customers */

/* One event as stored: 8 bytes. */
typedef struct eng_rec {
        uint32_t ts;
        uint16_t tp; /* dense touchpoint */
        uint8_t ch;  /* channel code, 0 = none */
        uint8_t tb;  /* event type code | ENG_TB_VALUE */
} eng_rec;

/* One event of the delta: 24 bytes. */
typedef struct eng_delta {
        eng_rec r;
        uint32_t cust;
        uint32_t next; /* the customer's previous delta event in (ts, seq) order, ENG_NONE at the end */
        int64_t value;
} eng_delta;

/* An event with its value, as iteration hands it out. */
typedef struct eng_item {
        eng_rec r;
        int64_t value;
} eng_item;

/* One customer: its latest event and latest non-purchase (kept at ingest so
 * that an in-order event updates the path rollups in O(1)), its newest delta
 * event and its id.  One record, so ingest touches one cache line for it. */
typedef struct eng_cust {
        uint32_t ts;    /* time of the latest event */
        uint16_t tp;    /* its touchpoint; ENG_TP_NONE: no events yet */
        uint16_t np;    /* latest non-purchase touchpoint + 1 (0: none) | ENG_NP_CONV */
        uint32_t dhead; /* newest delta event, ENG_NONE: none */
        uint32_t name;  /* offset of the id in names */
} eng_cust;

#define ENG_NP_CONV 0x8000u /* in eng_cust.np: the latest event is a purchase */
#define ENG_NP_TP 0x7fffu

/* A small string dictionary (channels, event types): code -> name, name -> code. */
typedef struct eng_sdict {
        char (*names)[32];
        unsigned n, max;     /* codes used (including reserved ones), the most allowed */
        uint16_t slots[512]; /* code + 1, 0 = empty */
} eng_sdict;

/* A customer dimension: one small dictionary code per customer (code 0 =
 * none: no value, or a customer past n).  Values are text of 1..31 bytes, at
 * most 255 segments or 254 values of an attribute; an attribute value that
 * cannot be coded (too long, or one too many) takes code 255 and sets
 * overflow, and the dimension is then refused as a breakdown or filter rather
 * than answering with a silently wrong split. */
#define ENG_DIM_MAX 17 /* the segment and 16 attributes */

typedef struct eng_cdim {
        char name[32];  /* the attribute's name; "" for the segment */
        eng_sdict vals; /* names allocated on first use */
        uint8_t *code;  /* cap entries */
        uint32_t n, cap; /* customers covered (code valid below n), allocated */
        int overflow;
} eng_cdim;

/* Customer c's code in dimension d (c may be ENG_NONE: anonymous). */
static inline uint32_t eng_dim_of(const eng_cdim *d, uint32_t c) {
        return c < d->n ? d->code[c] : 0;
}

/* Responses in blocks of ENG_RBLK, columns within a block, with a zone map. */
typedef struct eng_rblock {
        uint32_t n;
        uint32_t min_ts, max_ts;
        uint32_t ts[ENG_RBLK];
        uint32_t cust[ENG_RBLK]; /* ENG_NONE: anonymous */
        uint16_t tp[ENG_RBLK];
        uint8_t ch[ENG_RBLK];
        uint8_t slot[ENG_RBLK]; /* eng_slot_base[metric] + score - eng_score_lo[metric] */
        uint8_t sent[ENG_RBLK]; /* tp_response.sentiment: 0 unread, 1 negative .. 3 positive */
        uint16_t tset[ENG_RBLK]; /* the comment's theme set: index into tp_engine.tsets, 0 = none */
} eng_rblock;

/* Score rollup of one touchpoint: counts[(day - day0) * ENG_NSLOT + slot]. */
typedef struct eng_roll {
        int32_t day0;
        uint32_t ndays;
        uint32_t *cnt;
} eng_roll;

struct tp_engine {
        tp_engine_opts o;
        pthread_rwlock_t rw; /* readers vs. the writer's changes */
        pthread_mutex_t wmu; /* one writer at a time */

        /* customers */
        uint64_t *cslots; /* (hash32 << 32) | (customer + 1); 0 = empty */
        uint32_t ncslots; /* power of two */
        char *names;      /* interned ids, NUL-terminated */
        size_t names_len, names_cap;
        eng_cust *cust; /* capcust entries */
        uint32_t ncust, capcust;

        /* touchpoints */
        int64_t *tp_ids; /* dense -> store id */
        uint32_t ntp, captp;
        uint32_t *tpslots; /* dense + 1, 0 = empty */
        uint32_t ntpslots;

        eng_sdict chans; /* code 0 = none */
        eng_sdict types; /* code 0 = "purchase" */
        /* Themes of comments: keys (code k is bit k of a set) and the sets seen,
         * each a mask; set 0 is the empty one.  tsmap: mask -> index + 1. */
        /* Customer dimensions from the CRM (engine_cdim.c): dims[0] is the
         * segment, dims[1 .. ndims-1] the attributes seen, by first use. */
        eng_cdim dims[ENG_DIM_MAX];
        uint32_t ndims;
        uint64_t attrs_dropped; /* attribute names past the ENG_DIM_MAX - 1 indexed */
        int customers_loaded;   /* tp_engine_load() has read the customers table */
        eng_sdict tkeys;
        uint64_t *tsets;
        uint32_t ntsets, captsets;
        uint32_t *tsslots; /* mask hash -> index + 1, 0 = empty; 2 * captsets of them */

        /* compacted events */
        eng_rec *srec;
        uint32_t nsealed;
        uint32_t *soff; /* snc + 1 offsets */
        uint32_t snc;   /* customers covered by soff */
        int64_t *svals; /* values of valued events, in column order */
        uint32_t nsvals;
        uint32_t *svcheck; /* rank of the first valued event of customer k << ENG_VCHECK_BITS */
        uint32_t nsvcheck;

        /* delta */
        eng_delta **dchunks;
        uint32_t ndchunks, capdchunks;
        uint32_t ndelta;
        uint32_t compact_at; /* next automatic compaction when ndelta reaches this */

        /* responses */
        eng_rblock **rblocks;
        uint32_t nrblocks, caprblocks;
        uint64_t nresp;
        uint32_t rmin_ts, rmax_ts; /* over all responses */

        /* rollups */
        eng_roll *roll;  /* captp entries */
        uint32_t *trans; /* [from * tcap + to] */
        uint32_t tcap;
        uint64_t *apurch; /* [0]: unattributed, [tp + 1]: attributed to tp; tcap + 1 */
        int64_t *arev;
        struct eng_mta *mta; /* multi-touch attribution (engine_mta.h); NULL before any touchpoint */

        /* counters */
        uint64_t nevents, nanon;
        uint64_t nrefused;         /* rows tp_engine_load() skipped */
        uint32_t emin_ts, emax_ts; /* over events with a customer */
        int64_t last_eseq, last_rseq;

        /* the writer's scratch for one customer's events */
        eng_item *wbuf;
        size_t wcap;
};

extern const uint8_t eng_slot_base[_TP_METRIC_MAX + 1];
extern const int eng_score_lo[_TP_METRIC_MAX];
extern const int eng_score_hi[_TP_METRIC_MAX];

/* engine_dict.c */
tp_rc eng_dict_init(tp_engine *e);
void eng_dict_done(tp_engine *e);
/* Find or add; TP_NOMEM or TP_UNPROCESSABLE when full, nothing changed. */
tp_rc eng_cust_intern(tp_engine *e, const char *id, uint32_t *ret, tp_err *err);
tp_rc eng_tp_intern(tp_engine *e, int64_t id, uint16_t *ret, tp_err *err);
/* UINT32_MAX when unknown. */
uint32_t eng_tp_find(const tp_engine *e, int64_t id);
/* Prefetch what interning id will read: stage 0 its hash slot, 1 (the slot
 * cached) the customer record, 2 (the record cached) the interned id.  A batch
 * runs the stages a few rows ahead, so the cache misses of several rows
 * overlap instead of following each other. */
void eng_cust_prefetch(const tp_engine *e, const char *id, int stage);
tp_rc eng_sdict_intern(eng_sdict *d, const char *s, const char *what, uint8_t *ret, tp_err *err);
/* -1 when unknown. */
int eng_sdict_find(const eng_sdict *d, const char *s);
void eng_sdict_done(eng_sdict *d);

/* The theme set of a comma-separated key list: *ret is its index into
 * e->tsets (0 for none).  Keys past the 64th, or longer than 31 bytes, are
 * left out rather than refusing the response. */
tp_rc eng_tset_intern(tp_engine *e, const char *themes, uint16_t *ret);

/* engine_cdim.c */
void eng_cdim_done(tp_engine *e);
/* The attribute dimension named name (never the segment), -1 when unknown. */
int eng_cdim_find(const tp_engine *e, const char *name);
/* Check that dimension d can split answers: TP_UNPROCESSABLE naming field
 * when it overflowed. */
tp_rc eng_cdim_usable(const tp_engine *e, int d, const char *field, tp_err *err);
/* Bytes held by the dimensions' code arrays. */
size_t eng_cdim_bytes(const tp_engine *e);

/* A filter of customers by segment and attributes: a customer passes when its
 * code in dim[k] is set in mask[k] for every k < n. */
typedef struct eng_cfilter {
        const eng_cdim *dim[ENG_DIM_MAX];
        uint8_t mask[ENG_DIM_MAX][256];
        uint32_t n;
} eng_cfilter;

/* Build f from a query's segments (NULL: any; "" = none) and attribute filters
 * (rw held).  TP_UNPROCESSABLE (field "attr") for an attribute no customer has
 * or one that overflowed, or more than ENG_DIM_MAX - 1 of them. */
tp_rc eng_cfilter_init(const tp_engine *e, const char *const *segments, size_t nsegments,
                       const tp_engine_attr_filter *attrs, size_t nattrs, eng_cfilter *f, tp_err *err);

static inline int eng_cfilter_pass(const eng_cfilter *f, uint32_t c) {
        for (uint32_t k = 0; k < f->n; k++)
                if (!f->mask[k][eng_dim_of(f->dim[k], c)])
                        return 0;
        return 1;
}

/* A tp_engine_filter resolved against the dictionaries (rw held). */
typedef struct eng_filter {
        int any;           /* some filter is set */
        int cust;          /* customers are filtered: use eng_cfilter_pass(&cf, c) */
        int chan;          /* events are filtered: use chf[rec.ch] */
        eng_cfilter cf;
        uint8_t chf[256];
} eng_filter;

/* Errors as eng_cfilter_init(). */
tp_rc eng_filter_init(const tp_engine *e, const tp_engine_filter *q, eng_filter *f, tp_err *err);

/* Keep, in order, the n events of buf in the filter's channels (f may be NULL:
 * all); returns how many are left. */
uint32_t eng_filter_events(const eng_filter *f, eng_item *buf, uint32_t n);

/* engine.c: add one row; wmu and rw (exclusive) held. */
tp_rc eng_ev_add(tp_engine *e, int64_t seq, const tp_event *ev, tp_err *err);
tp_rc eng_rs_add(tp_engine *e, int64_t seq, const tp_response *r, tp_err *err);
/* After a compaction: when the next automatic one is due. */
void eng_compacted(tp_engine *e);

/* Rows ahead of the current one whose customer lookups are prefetched, by
 * stage (see eng_cust_prefetch): measured on the bench data, the three-stage
 * pipeline takes the engine's share of ingest from ~250 to ~160 ns per event.
 * ids points at the customer member of row 0, rows are stride bytes apart. */
#define PF0 16
#define PF1 10
#define PF2 5

static inline void
        eng_prefetch_ahead(const tp_engine *e, const char *const *ids, size_t stride, size_t i, size_t end) {
        const char *id;

        if (i + PF0 < end && (id = *(const char *const *) ((const char *) ids + (i + PF0) * stride)))
                eng_cust_prefetch(e, id, 0);
        if (i + PF1 < end && (id = *(const char *const *) ((const char *) ids + (i + PF1) * stride)))
                eng_cust_prefetch(e, id, 1);
        if (i + PF2 < end && (id = *(const char *const *) ((const char *) ids + (i + PF2) * stride)))
                eng_cust_prefetch(e, id, 2);
}

/* engine_column.c */
void eng_column_done(tp_engine *e);
static inline eng_delta *eng_dget(const tp_engine *e, uint32_t i) {
        return &e->dchunks[i >> ENG_DCHUNK_BITS][i & ((1u << ENG_DCHUNK_BITS) - 1)];
}
/* Make room for one more delta entry and one more response. */
tp_rc eng_delta_reserve(tp_engine *e);
tp_rc eng_resp_reserve(tp_engine *e);
/* Number of events of customer c (compacted + delta). */
uint32_t eng_cust_len(const tp_engine *e, uint32_t c);
/* Rank among valued compacted events of the first event of customer c. */
uint32_t eng_value_rank(const tp_engine *e, uint32_t c);
/* Customer c's events in (ts, seq) order into buf (capacity >= eng_cust_len);
 * returns the count. */
uint32_t eng_cust_events(const tp_engine *e, uint32_t c, eng_item *buf);
/* The same into *buf, grown as needed to *cap items (both the caller's; they
 * may start as NULL and 0), keeping only the channels of f (NULL: all); the
 * count, or -1 when out of memory (*buf unchanged). */
int64_t eng_cust_read(const tp_engine *e, uint32_t c, const eng_filter *f, eng_item **buf, size_t *cap);
/* Add an event of customer c to the delta, in its place (at the head when
 * latest is set: it is known to come after all the customer's events).  Room
 * reserved. */
void eng_delta_insert(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value, int latest);
/* Build the merged columns; the swap happens under the write lock. */
tp_rc eng_compact(tp_engine *e, tp_err *err);

/* engine_rollup.c */
void eng_rollup_done(tp_engine *e);
/* Grow the transition and attribution arrays for ntp touchpoints. */
tp_rc eng_paths_grow(tp_engine *e, uint32_t ntp);
/* Grow touchpoint tp's score rollup to cover day. */
tp_rc eng_roll_reserve(tp_engine *e, uint16_t tp, int32_t day);
void eng_roll_add(tp_engine *e, uint16_t tp, int32_t day, uint8_t slot);
/* Recompute every rollup from the columns (scores from the response blocks,
 * the path rollups and each customer's path state from its ordered events):
 * after the columns were filled other than row by row, as from a snapshot.
 * wmu and rw (exclusive) held, or the engine not yet shared.  TP_NOMEM leaves
 * the rollups incomplete: the caller must not use the engine then. */
tp_rc eng_rollups_rebuild(tp_engine *e);
/* Apply one event of customer c to the path rollups (write lock held). */
tp_rc eng_paths_add(tp_engine *e, uint32_t c, const eng_rec *r, int64_t value, tp_err *err);

/* Local day number of a Unix time in the engine's zone. */
static inline int32_t eng_day(int64_t ts, int32_t tz) {
        int64_t t = ts + tz;

        return (int32_t) (t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
}

/* Civil date of a day number (Howard Hinnant's algorithm). */
void eng_civil(int64_t days, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d);

/* Round n up to a power of two >= min. */
static inline uint32_t eng_pow2(uint32_t n, uint32_t min) {
        uint32_t p = min;

        while (p < n)
                p *= 2;
        return p;
}

/* ---- engine_json.c: helpers of the JSON builders --------------------------- */

/* Steal v; -1 when v is NULL (out of memory) or cannot be set / appended. */
int eng_jput(json_t *o, const char *k, json_t *v);
int eng_jappend(json_t *a, json_t *v);
/* NaN and infinities are null: JSON has neither. */
json_t *eng_jnum(double x);
json_t *eng_juint(uint64_t x);
/* idk: the store id and, with a namer, keyk: its key ("" if unknown). */
int eng_jtp(json_t *o, const char *idk, const char *keyk, int64_t id, tp_engine_key_fn fn, void *arg);

/* ---- engine_hmap.c: a u64 -> u64 hash map ---------------------------------- */

/* Zero-initialise; slots are allocated on first use.  keys[i] is key + 1, or 0
 * for an empty slot (iterate i < cap); n counts the keys. */
typedef struct eng_hmap {
        uint64_t *keys;
        uint64_t *vals;
        uint32_t cap, n;
} eng_hmap;

/* The value slot of key, created at 0; NULL when out of memory (nothing lost). */
uint64_t *eng_hmap_slot(eng_hmap *h, uint64_t key);
/* The value slot of key, or NULL when absent. */
const uint64_t *eng_hmap_get(const eng_hmap *h, uint64_t key);
void eng_hmap_done(eng_hmap *h);

#endif
