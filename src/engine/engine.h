/* SPDX-License-Identifier: MIT */
/*
 * engine.h -- the analytics engine: every analytic answer of Touchpoint, from
 * memory, exactly.
 *
 * The engine holds the store's events and responses as dictionary-encoded
 * columns (customer -> u32, touchpoint -> u16, channel and event type -> u8,
 * time as u32 seconds) and keeps rollups current at ingest:
 *
 *   - response counts per touchpoint x local day x metric x score, so scores
 *     over any day-aligned range, bucketed by day / week / month, cost
 *     O(touchpoints x days), not O(responses);
 *   - the touchpoint -> touchpoint transition matrix (consecutive events of a
 *     customer in (time, seq) order);
 *   - last-touch attribution: purchases and revenue per touchpoint of the
 *     customer's previous non-purchase event, with each customer's last event
 *     and last non-purchase touchpoint as the per-customer state.
 *
 * Events that arrive out of time order for a customer are placed in order and
 * the customer's share of both path rollups is recomputed, so the rollups
 * always equal a scan.  Everything else (channel filters and groups, ranges that
 * cut a day, time-ranged paths, look-back windows) is answered by tight scans
 * over the columns; `strategy = TP_ENGINE_SCAN` forces the scan (tests compare
 * the two).
 *
 * What it is not: the record.  The store is; the engine is rebuilt from it at
 * start (tp_engine_load) and fed each committed row after that.  It does not
 * know touchpoint keys (the catalogue does): touchpoints are the store's ids,
 * and the JSON builders take a callback to name them.
 *
 * Concurrency: one writer, many readers.  Every mutating call (add, load,
 * compact) takes an internal writer mutex, so calls from several threads are
 * serialised rather than corrupting anything, and a pthread rwlock: queries and
 * tp_engine_memory() hold it shared for their whole run; a writer holds it
 * exclusively only while it changes the columns (per row, per batch of 65,536
 * rows during load, and for the final pointer swap of a compaction).  The
 * rwlock prefers writers, so a stream of queries cannot starve ingest.
 *
 * Memory (measured on the standard bench data, 20M events, 2M responses): see
 * tp_engine_memory(); about 12 bytes per event and 14 per response.
 */
#ifndef TP_ENGINE_H
#define TP_ENGINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/model.h"
#include "store/store.h"

typedef struct tp_engine tp_engine;

/* Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving time). */
#define TP_ENGINE_TZ_DEFAULT (7 * 3600)

typedef struct tp_engine_opts {
        int32_t tz_offset;   /* seconds east of UTC of the zone whose midnight starts a day,
                              * week (Monday) and month bucket; -86399..86399 */
        uint32_t min_n;      /* a metric with fewer answers in a group is flagged low_volume */
        uint64_t max_groups; /* a query returning more groups fails with TP_UNPROCESSABLE; 0 = no limit */
        uint64_t max_rows;   /* a column scan visiting more rows fails with TP_UNPROCESSABLE; 0 = no limit */
        uint32_t delta_min;  /* events added since the last compaction before the next one is
                              * considered (it runs when they are also >= 1/8 of the compacted ones) */
        uint32_t scan_threads; /* threads one path scan may use: 0 = two from 1M events on,
                                * else one; 1 = one; 2 = two */
} tp_engine_opts;

/* The defaults: tz_offset TP_ENGINE_TZ_DEFAULT, min_n 30, max_groups 100,000,
 * max_rows 0 (no limit), delta_min 1,048,576, scan_threads 0. */
void tp_engine_opts_init(tp_engine_opts *opts);

/* opts may be NULL (the defaults); it is copied.  *ret is owned by the caller
 * and released with tp_engine_free().  Errors: TP_INVALID for an out-of-range
 * option, TP_NOMEM. */
tp_rc tp_engine_new(const tp_engine_opts *opts, tp_engine **ret, tp_err *err);
/* Accepts NULL.  No query may be running. */
void tp_engine_free(tp_engine *e);

/* ---- ingest -------------------------------------------------------------- */

/* Add one committed row; seq is its store sequence number.  The record and its
 * strings are only read during the call.  Sequence numbers must grow from one
 * call to the next (per kind): a row with seq <= the last one added is taken as
 * already applied and skipped (TP_OK), so replaying a tail is harmless.
 *
 * Events without a customer are counted but take no part in paths.  A
 * customer's events are ordered by (ts, seq): an event older than the
 * customer's latest is inserted in place and the path rollups corrected.
 *
 * Errors (nothing is changed then): TP_UNPROCESSABLE for a time outside
 * 1970..2106, a score out of its metric's range, a missing event type, a
 * channel longer than 31 bytes, or a dictionary that is full (4,095
 * touchpoints, as the transition matrix is dense; 255 channels; 127 event
 * types; 2^32-2 customers or events); TP_NOMEM. */
tp_rc tp_engine_add_event(tp_engine *e, int64_t seq, const tp_event *ev, tp_err *err);
tp_rc tp_engine_add_response(tp_engine *e, int64_t seq, const tp_response *r, tp_err *err);

/* The same for n rows at once (one lock round trip per 65,536 rows): the
 * ingest writer applies a committed group with one call.  Stops at the first
 * failing row; *ret_done (may be NULL) is the number of rows applied. */
tp_rc tp_engine_add_events(
        tp_engine *e, const int64_t *seqs, const tp_event *evs, size_t n, size_t *ret_done, tp_err *err);
tp_rc tp_engine_add_responses(
        tp_engine *e, const int64_t *seqs, const tp_response *rs, size_t n, size_t *ret_done, tp_err *err);

/* Read the store's events and responses after the last sequence numbers added:
 * everything at start-up, only the new rows when called again, so it is also
 * how the engine follows the store after each commit (the store's put methods
 * return no sequence numbers).  Compacts at the end when the delta is due (the
 * whole load, at start-up).  A second thread reads the store while this one
 * applies the rows; the store handle is used only during the call.
 *
 * A row the engine cannot represent (TP_UNPROCESSABLE from the add functions)
 * is skipped and counted in tp_engine_mem.refused: the store is the record and
 * one odd row must not stop every later start.  Other errors (TP_NOMEM, the
 * store's) stop the load, naming the row's sequence number in err->msg; the
 * rows before it stay, so calling again resumes where it stopped. */
tp_rc tp_engine_load(tp_engine *e, tp_store *store, tp_err *err);

/* The last sequence numbers added (0 before any). */
void tp_engine_last_seq(tp_engine *e, int64_t *ret_event_seq, int64_t *ret_response_seq);

/* Merge the events added since the last compaction into the customer-ordered
 * columns.  Runs by itself when enough have gathered (see delta_min) and at the
 * end of tp_engine_load(); queries keep running while it builds and wait only
 * for the final swap.  Errors: TP_NOMEM (nothing is lost: the rows stay where
 * they were). */
tp_rc tp_engine_compact(tp_engine *e, tp_err *err);

/* ---- memory -------------------------------------------------------------- */

/* Bytes allocated, by structure (capacity, not just what is used).  The
 * per-event figure charges event and customer structures to events, the
 * per-response figure the response structures; total is the sum of all. */
typedef struct tp_engine_mem {
        uint64_t events;    /* events added with a customer */
        uint64_t anonymous; /* events added without a customer (counted only) */
        uint64_t responses;
        uint64_t refused; /* store rows tp_engine_load() could not represent and skipped */
        uint64_t customers;
        uint64_t touchpoints;
        size_t customer_dict;    /* hash slots and interned ids */
        size_t customer_state;   /* per customer: id offset, last event, delta head, column offsets */
        size_t small_dicts;      /* touchpoints, channels, event types */
        size_t event_columns;    /* compacted events in customer, (ts, seq) order: 8 bytes each */
        size_t event_values;     /* the money of events that carry one (sparse) */
        size_t event_delta;      /* events added since the last compaction */
        size_t transitions;      /* the transition matrix rollup */
        size_t attribution;      /* last-touch rollup */
        size_t response_columns; /* responses in blocks of 4,096 with time zone maps */
        size_t score_rollup;     /* counts per touchpoint x day x metric x score */
        size_t total;            /* the sum of the fields above */
        double per_event;        /* (customer_* + event_* + transitions + attribution) / events */
        double per_response;     /* (response_columns + score_rollup) / responses */
} tp_engine_mem;

void tp_engine_memory(tp_engine *e, tp_engine_mem *ret);

/* ---- queries ------------------------------------------------------------- */

/* Every query takes the shared lock for its run, returns a result the caller
 * owns (free it with the matching _free, which accepts NULL) and never writes
 * *ret on failure.  Budget errors are TP_UNPROCESSABLE with field "max_groups"
 * or "max_rows" and a message naming the limit. */

typedef enum tp_engine_strategy {
        TP_ENGINE_AUTO, /* rollups where they answer the question, scans otherwise */
        TP_ENGINE_SCAN  /* always scan the columns (tests, benchmarks) */
} tp_engine_strategy;

typedef enum tp_engine_group {
        TP_ENGINE_GROUP_NONE,
        TP_ENGINE_GROUP_TOUCHPOINT,
        TP_ENGINE_GROUP_CHANNEL,
        TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL
} tp_engine_group;

typedef enum tp_engine_bucket {
        TP_ENGINE_BUCKET_NONE,
        TP_ENGINE_BUCKET_DAY,
        TP_ENGINE_BUCKET_WEEK, /* from Monday 00:00 in the configured zone */
        TP_ENGINE_BUCKET_MONTH
} tp_engine_bucket;

typedef struct tp_engine_scores_query {
        int64_t from, to;            /* [from, to), Unix seconds; INT64_MIN / INT64_MAX: open */
        const int64_t *touchpoints;  /* only these (store ids; a stage is its touchpoints), */
        size_t ntouchpoints;         /*   NULL: all */
        const char *const *channels; /* only these channels, NULL: all */
        size_t nchannels;
        unsigned metrics; /* only these: bits 1u << TP_METRIC_*; 0: all */
        tp_engine_group group;
        tp_engine_bucket bucket;
        tp_engine_strategy strategy;
} tp_engine_scores_query;

#define TP_ENGINE_METRIC(m) (1u << (m)) /* a bit of tp_engine_scores_query.metrics */

/* All touchpoints, channels and metrics, all time, no groups, no buckets, AUTO. */
void tp_engine_scores_query_init(tp_engine_scores_query *q);

/* NPS 0..10: promoters 9-10, passives 7-8, detractors 0-6; score = %P - %D;
 * margin = 1.96 * sqrt((p + d - (p - d)^2) / n) * 100, in points (95%). */
typedef struct tp_engine_nps {
        uint64_t n, promoters, passives, detractors;
        double score, margin; /* NaN when n = 0 */
        int low_volume;       /* n < min_n */
} tp_engine_nps;

/* CSAT 1..5: top-2-box % (4-5) with a 95% Wilson interval, and the mean. */
typedef struct tp_engine_csat {
        uint64_t n, top2;
        double pct, lo, hi, mean; /* pct, lo, hi in %; NaN when n = 0 */
        int low_volume;
} tp_engine_csat;

/* CES 1..7 (7 = very easy): the mean and % easy (5-7). */
typedef struct tp_engine_ces {
        uint64_t n, easy;
        double mean, pct_easy;
        int low_volume;
} tp_engine_ces;

/* The three CX factors: goal achieved (0 no, 1 partly, 2 yes; top = yes), was
 * it easy (1..7; top = 5-7), how did it feel (1..5; top = 4-5). */
typedef struct tp_engine_factor {
        uint64_t n, top;
        double mean, pct_top;
        int low_volume;
} tp_engine_factor;

typedef struct tp_engine_score_row {
        int64_t bucket;     /* start of the bucket (local midnight as Unix seconds); 0 without buckets */
        int64_t touchpoint; /* store id; 0 when not grouped by touchpoint */
        char channel[32];   /* "" when not grouped by channel or the answers had none */
        tp_engine_nps nps;
        tp_engine_csat csat;
        tp_engine_ces ces;
        tp_engine_factor goal, ease, emotion;
} tp_engine_score_row;

typedef struct tp_engine_scores {
        tp_engine_score_row *rows; /* ordered by bucket, touchpoint id, channel */
        size_t nrows;              /* groups with at least one answer in the metrics asked */
        unsigned metrics;          /* the metrics asked (never 0); the others' fields are 0 / NaN */
        tp_engine_bucket bucket;
        tp_engine_group group;
        int32_t tz_offset;
        uint32_t min_n;
        uint64_t rows_scanned; /* responses visited by scans (0: rollup only) */
} tp_engine_scores;

tp_rc tp_engine_scores_run(tp_engine *e, const tp_engine_scores_query *q, tp_engine_scores **ret, tp_err *err);
void tp_engine_scores_free(tp_engine_scores *r);

/* Transitions and attribution share this query.  Transitions count pairs of
 * consecutive events of a customer, in (ts, seq) order, with both events in
 * [from, to).  Last touch attributes each purchase in [from, to) to the
 * touchpoint of the customer's previous non-purchase event (at any earlier
 * time, or within lookback seconds of the purchase when lookback > 0). */
typedef struct tp_engine_path_query {
        int64_t from, to; /* INT64_MIN / INT64_MAX: open */
        int64_t lookback; /* last touch only; 0 = unlimited */
        tp_engine_strategy strategy;
} tp_engine_path_query;

void tp_engine_path_query_init(tp_engine_path_query *q);

typedef struct tp_engine_transition {
        int64_t from, to; /* store ids */
        uint64_t n;
} tp_engine_transition;

typedef struct tp_engine_transitions {
        tp_engine_transition *rows; /* ordered by (from, to); only n > 0 */
        size_t nrows;
        uint64_t total;        /* sum of n */
        uint64_t rows_scanned; /* events visited (0: from the rollup) */
} tp_engine_transitions;

tp_rc tp_engine_transitions_run(
        tp_engine *e, const tp_engine_path_query *q, tp_engine_transitions **ret, tp_err *err);
void tp_engine_transitions_free(tp_engine_transitions *r);

typedef struct tp_engine_touch {
        int64_t touchpoint; /* store id */
        uint64_t purchases;
        int64_t revenue; /* sum of the purchases' values, minor units */
} tp_engine_touch;

typedef struct tp_engine_last_touch {
        tp_engine_touch *rows; /* ordered by touchpoint id; only purchases > 0 */
        size_t nrows;
        uint64_t purchases; /* attributed, the sum over rows */
        int64_t revenue;
        uint64_t unattributed; /* purchases with no earlier non-purchase event (in the window) */
        int64_t unattributed_revenue;
        uint64_t rows_scanned;
} tp_engine_last_touch;

tp_rc tp_engine_last_touch_run(
        tp_engine *e, const tp_engine_path_query *q, tp_engine_last_touch **ret, tp_err *err);
void tp_engine_last_touch_free(tp_engine_last_touch *r);

/* ---- JSON ---------------------------------------------------------------- */

/* Names a touchpoint for JSON: write its key into out ("" if unknown).  The
 * catalogue's tp_catalog_key_of() fits behind a one-line wrapper. */
typedef void (*tp_engine_key_fn)(void *arg, int64_t touchpoint, char *out, size_t outsz);

/* New references (json_decref), NULL when out of memory.  key_fn may be NULL:
 * touchpoints are then given by "touchpoint_id" only; otherwise "touchpoint"
 * carries the key as well.  NaN statistics are null; a metric without answers
 * in a group is null.  Buckets are given as the local date ("2024-04-01",
 * month "2024-04") and as "start", RFC 3339 with the zone's offset.  Metrics
 * not asked for are left out. */
json_t *tp_engine_scores_json(const tp_engine_scores *r, tp_engine_key_fn key_fn, void *arg);
json_t *tp_engine_transitions_json(const tp_engine_transitions *r, tp_engine_key_fn key_fn, void *arg);
json_t *tp_engine_last_touch_json(const tp_engine_last_touch *r, tp_engine_key_fn key_fn, void *arg);

#endif
