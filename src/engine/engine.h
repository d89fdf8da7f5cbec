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
 *     and last non-purchase touchpoint as the per-customer state;
 *   - multi-touch attribution of purchases (every model but time decay) as
 *     integer sums over the customers' paths, with no look-back and with
 *     opts.attrib_lookback, so GET /v1/attribution is a lookup (see
 *     tp_engine_attribution_run()).
 *
 * Events that arrive out of time order for a customer are placed in order and
 * the customer's share of the path rollups is recomputed, so the rollups
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
        int64_t attrib_lookback; /* seconds, >= 0: multi-touch attribution with this look-back
                                  * is kept at ingest besides the unlimited one (0: only that) */
} tp_engine_opts;

/* The defaults: tz_offset TP_ENGINE_TZ_DEFAULT, min_n 30, max_groups 100,000,
 * max_rows 0 (no limit), delta_min 1,048,576, scan_threads 0, attrib_lookback
 * 90 days. */
void tp_engine_opts_init(tp_engine_opts *opts);

/* opts may be NULL (the defaults); it is copied.  *ret is owned by the caller
 * and released with tp_engine_free().  Errors: TP_INVALID for an out-of-range
 * option, TP_NOMEM. */
tp_rc tp_engine_new(const tp_engine_opts *opts, tp_engine **ret, tp_err *err);
/* Accepts NULL.  No query may be running. */
void tp_engine_free(tp_engine *e);

/* The zone whose midnights start the engine's days (opts.tz_offset), for the
 * callers that read local dates in questions. */
int32_t tp_engine_tz(const tp_engine *e);

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

/* tp_engine_load() for request threads: when another load (the tailer's, after
 * a bulk import say) holds the engine for more than wait_ms, give up at once
 * with *ret_skipped = 1 (ret_skipped may be NULL) and TP_OK, so the caller
 * answers from the rows already loaded instead of holding its thread. */
tp_rc tp_engine_catch_up(tp_engine *e, tp_store *store, long wait_ms, int *ret_skipped, tp_err *err);

/* The last sequence numbers added (0 before any). */
void tp_engine_last_seq(tp_engine *e, int64_t *ret_event_seq, int64_t *ret_response_seq);

/* Merge the events added since the last compaction into the customer-ordered
 * columns.  Runs by itself when enough have gathered (see delta_min) and at the
 * end of tp_engine_load(); queries keep running while it builds and wait only
 * for the final swap.  Errors: TP_NOMEM (nothing is lost: the rows stay where
 * they were). */
tp_rc tp_engine_compact(tp_engine *e, tp_err *err);

/* ---- snapshot file (engine_snap.c) ----------------------------------------- */

/* A snapshot file holds the engine's dictionaries, compacted event columns,
 * response blocks and counters, so that start-up reads one file instead of
 * the whole store.  It is a cache: the store stays the record, and deleting
 * the file is always safe.  Not in it: the rollups (rebuilt from the columns
 * at load) and the customers' segments and attributes (tp_engine_load() reads
 * the customers table).  After a successful load the caller runs
 * tp_engine_load(), which reads only the rows after the snapshot's sequence
 * numbers.
 *
 * A snapshot is valid only for the store it was made from, unchanged up to
 * its sequence numbers.  The caller describes the store in a tp_engine_snap_id
 * (service/snapshot.h fills one from the store); saving records it, loading
 * compares it. */

/* A fingerprint of the store's rows at event_seq and response_seq (0: none),
 * into ret: computed when saving, computed again and compared when loading.
 * An error (a row is missing: an older copy of the store) refuses the
 * snapshot. */
typedef tp_rc (*tp_engine_tail_fn)(
        void *arg, int64_t event_seq, int64_t response_seq, unsigned char ret[32], tp_err *err);

typedef struct tp_engine_snap_id {
        unsigned char store[32]; /* the store's random instance id */
        uint64_t generation;     /* bumped in the store by whatever rewrites or removes rows */
        tp_engine_tail_fn tail_fn; /* NULL: no tail check (then the fingerprint is zeros) */
        void *tail_arg;
} tp_engine_snap_id;

/* Compact, then write the snapshot to path + ".tmp", fsync, rename it to path
 * and fsync the directory.  The writer mutex is held while the columns are
 * written (seconds on a large engine): queries go on, the engine's writer
 * (tp_engine_load, the add calls) waits.  The tail fingerprint is taken after
 * that.  Errors: TP_IO (naming the file), TP_CONFLICT when another process is
 * writing the same snapshot, whatever id->tail_fn returns, TP_NOMEM.  On
 * failure path is left as it was. */
tp_rc tp_engine_snapshot_save(tp_engine *e, const char *path, const tp_engine_snap_id *id, tp_err *err);

/* Fill a freshly made, empty engine from the snapshot at path: the header is
 * checked (magic, format version, layout, checksum), then the identity against
 * expect (store id, generation, tail fingerprint), then every size against the
 * file's, before anything is allocated; the body's checksum is verified before
 * it is used, and every code in it is bounds-checked.  The rollups are rebuilt
 * with the engine's own time zone.  On any failure e is left as it was (empty
 * and usable) and err says why: TP_NOTFOUND when there is no file, TP_CONFLICT
 * for a snapshot of another store or of a different state of it, TP_CORRUPT
 * for a damaged or foreign file, TP_INVALID when e is not empty, TP_IO,
 * TP_NOMEM. */
tp_rc tp_engine_snapshot_load(tp_engine *e, const char *path, const tp_engine_snap_id *expect, tp_err *err);

/* What a snapshot's header says (checked for magic, version and its own
 * checksum; the body is not read). */
typedef struct tp_engine_snap_info {
        int64_t event_seq, response_seq; /* the store rows it covers */
        uint64_t events, anonymous, responses, customers;
        uint64_t bytes;   /* file size */
        int64_t created;  /* Unix seconds */
        unsigned char store[32];
        uint64_t generation;
        unsigned char tail[32]; /* the tail fingerprint (zeros: saved without a tail check) */
} tp_engine_snap_info;

/* Errors: TP_NOTFOUND, TP_CORRUPT, TP_IO. */
tp_rc tp_engine_snapshot_info(const char *path, tp_engine_snap_info *ret, tp_err *err);

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
        size_t customer_state;   /* per customer: id offset, last event, delta head, column offsets,
                                  * segment and attribute codes */
        size_t small_dicts;      /* touchpoints, channels, event types */
        size_t event_columns;    /* compacted events in customer, (ts, seq) order: 8 bytes each */
        size_t event_values;     /* the money of events that carry one (sparse) */
        size_t event_delta;      /* events added since the last compaction */
        size_t transitions;      /* the transition matrix rollup */
        size_t attribution;      /* last-touch rollup */
        size_t attribution_paths; /* multi-touch attribution rollups (sums over paths) */
        size_t response_columns; /* responses in blocks of 4,096 with time zone maps */
        size_t score_rollup;     /* counts per touchpoint x day x metric x score */
        size_t total;            /* the sum of the fields above */
        double per_event;        /* (customer_* + event_* + transitions + attribution*) / events */
        double per_response;     /* (response_columns + score_rollup) / responses */
} tp_engine_mem;

void tp_engine_memory(tp_engine *e, tp_engine_mem *ret);

/* ---- customers: segment and attributes ---------------------------------- */

/* What the business knows of a customer (a CRM's segment and attributes), as
 * breakdowns and filters of answers.  Sets the customer's segment (NULL or ""
 * clears it) and replaces its attributes with the scalar members of the
 * object attributes (NULL: none): strings as given, numbers as JSON text,
 * true / false; null, arrays and objects count as no value.  A customer not
 * seen yet is added.  Thread-safe, like the ingest calls.
 *
 * Limits: at most 255 segment names of up to 31 bytes (TP_UNPROCESSABLE,
 * field "segment", and nothing changes); the first 16 attribute names seen
 * (1..31 bytes, without ':' ',' ';') are indexed, later ones are counted as
 * dropped; an attribute with more than 255 values or a value over 31 bytes is
 * still listed but refused as a breakdown or filter (overflow). */
tp_rc tp_engine_set_customer(tp_engine *e, const char *customer, const char *segment, const json_t *attributes,
                             tp_err *err);

typedef struct tp_engine_value {
        char name[32];
        uint64_t customers;
} tp_engine_value;

/* The segments in the order they were first seen, with their customers;
 * *ret is the caller's (tp_free). */
tp_rc tp_engine_segments(tp_engine *e, tp_engine_value **ret, size_t *ret_n, tp_err *err);

typedef struct tp_engine_attribute {
        char name[32];
        uint64_t customers;     /* with a value (coded or not: see overflow) */
        int overflow;           /* cannot break down answers (see above) */
        tp_engine_value *values; /* in the order first seen */
        size_t nvalues;
} tp_engine_attribute;

/* The indexed attributes in the order first seen; free *ret with
 * tp_engine_attributes_free(*ret, *ret_n).  *ret_dropped (may be NULL): values
 * of attributes past the 16 indexed. */
tp_rc tp_engine_attributes(tp_engine *e, tp_engine_attribute **ret, size_t *ret_n, uint64_t *ret_dropped,
                           tp_err *err);
void tp_engine_attributes_free(tp_engine_attribute *v, size_t n);

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
        TP_ENGINE_GROUP_TOUCHPOINT_CHANNEL,
        TP_ENGINE_GROUP_STAGE, /* by the stage query.stage_fn gives each touchpoint */
        TP_ENGINE_GROUP_SENTIMENT, /* the comment's sentiment; answers without one form a row of their own */
        TP_ENGINE_GROUP_THEME,     /* each theme the comment names (an answer counts once per theme);
                                    * answers naming none form a row of their own */
        TP_ENGINE_GROUP_SEGMENT,   /* the segment of the answer's customer (anonymous or none: a row of its own) */
        TP_ENGINE_GROUP_ATTRIBUTE  /* the value of query.attribute for the answer's customer (none: a row) */
} tp_engine_group;

/* A touchpoint's stage, 0 .. nstages-1, or -1 when it has none (its answers then
 * form a row of stage -1).  Called once per touchpoint, under the engine's lock:
 * it must not call the engine. */
typedef int (*tp_engine_stage_fn)(void *arg, int64_t touchpoint);

typedef enum tp_engine_bucket {
        TP_ENGINE_BUCKET_NONE,
        TP_ENGINE_BUCKET_DAY,
        TP_ENGINE_BUCKET_WEEK, /* from Monday 00:00 in the configured zone */
        TP_ENGINE_BUCKET_MONTH
} tp_engine_bucket;

/* A filter on a customer attribute: the customer's value is one of values
 * ("" = no value).  An unknown attribute, or one that overflowed, fails the
 * query with TP_UNPROCESSABLE (field "attr"). */
typedef struct tp_engine_attr_filter {
        const char *name;
        const char *const *values;
        size_t nvalues;
} tp_engine_attr_filter;

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
        tp_engine_stage_fn stage_fn; /* TP_ENGINE_GROUP_STAGE: required */
        void *stage_arg;
        uint32_t nstages;            /* 1 .. TP_ENGINE_STAGES_MAX */
        unsigned sentiments;         /* only these: bits 1u << tp_response.sentiment (1 negative ..
                                      * 3 positive, 0 unread); 0: all */
        const char *theme;           /* only answers whose comment names this theme key; NULL: all */
        int detractors;              /* only unhappy answers: NPS 0-6, CSAT and emotion 1-2,
                                      * CES and ease 1-3, goal "no" */
        const char *const *segments; /* only answers of customers in these segments ("" = none); */
        size_t nsegments;            /*   NULL: all */
        const char *attribute;       /* TP_ENGINE_GROUP_ATTRIBUTE: the customer attribute's name */
        const tp_engine_attr_filter *attrs; /* only answers of customers matching all of these */
        size_t nattrs;
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
        int stage;          /* grouped by stage: 0 .. nstages-1, or -1 for touchpoints without one */
        int sentiment;      /* grouped by sentiment: 0 (no comment read) .. 3 */
        char theme[32];     /* grouped by theme: its key, "" for answers naming none */
        char segment[32];   /* grouped by segment: its name, "" for none */
        char attribute[32]; /* grouped by attribute: the value, "" for none */
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
        char attribute[32]; /* TP_ENGINE_GROUP_ATTRIBUTE: the attribute's name */
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
/* What path questions (transitions, attribution, journeys) look at: only the
 * events in these channels (a customer's path is then its events there, in
 * order), of the customers in these segments and with these attribute values
 * (as the scores' filters).  All NULL: everything.  With any filter set the
 * rollups do not apply: the question is answered by a scan. */
typedef struct tp_engine_filter {
        const char *const *channels; /* unknown channels match nothing */
        size_t nchannels;
        const char *const *segments; /* "" = none */
        size_t nsegments;
        const tp_engine_attr_filter *attrs;
        size_t nattrs;
} tp_engine_filter;

typedef struct tp_engine_path_query {
        int64_t from, to; /* INT64_MIN / INT64_MAX: open */
        tp_engine_filter filter;
        int64_t lookback; /* last touch only; 0 = unlimited */
        const char *conversion; /* tp_engine_attribution_run(): the event type that converts;
                                 * NULL: "purchase" (the rollups always use purchase) */
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

/* ---- multi-touch attribution ---- */

/* Attribution of conversions and their value to touchpoints over paths, in
 * the shape of the ChannelAttribution package's input: a path is a sequence
 * of touchpoint indexes with the conversions, conversion value and nulls
 * (journeys that did not convert) of every journey that took it.
 * tp_attrib_paths() is pure (no engine); tp_engine_attribution_run() builds
 * the paths from the engine's events and calls it. */

typedef enum tp_attrib_model {
        TP_ATTRIB_FIRST,
        TP_ATTRIB_LAST,
        TP_ATTRIB_LAST_NON_DIRECT, /* the last touch that is not params.direct (all direct: direct) */
        TP_ATTRIB_LINEAR,          /* equal shares over the touches, repeats included */
        TP_ATTRIB_TIME_DECAY,      /* weight 2^(-age / half_life), shares normalised per path */
        TP_ATTRIB_POSITION,        /* 40/20/40; one touch 100%, two 50/50 */
        TP_ATTRIB_MARKOV,          /* first-order removal effect, exact absorbing-chain solution */
        TP_ATTRIB_SHAPLEY,         /* Shapley value of v(S) = conversions of paths with all touches in S:
                                    * exact, each path split equally over its distinct touchpoints */
        _TP_ATTRIB_MODEL_MAX
} tp_attrib_model;

/* Limit: beyond it tp_attrib_paths() answers TP_UNPROCESSABLE naming it
 * (Markov solves one n x n system per touchpoint, O(n^4)).  Only touchpoints
 * that occur in paths with conversions or nulls count. */
#define TP_ATTRIB_MARKOV_MAX 256

typedef struct tp_attrib_path {
        const int *touches; /* ntouches touchpoint indexes, in journey order */
        size_t ntouches;    /* a path without touches (a direct purchase) is unattributed */
        const double *ages; /* time decay: seconds from each touch to the conversion;
                             * NULL: steps (the last touch 0, the one before 1, ...) */
        double conversions; /* >= 0 */
        double value;       /* conversion value, the sum over the conversions */
        double nulls;       /* >= 0; used by MARKOV only */
} tp_attrib_path;

typedef struct tp_attrib_params {
        int direct;       /* LAST_NON_DIRECT: the "direct" touchpoint index, -1: none (= LAST) */
        double half_life; /* TIME_DECAY: > 0, in steps, or in seconds when paths carry ages */
} tp_attrib_params;

/* direct -1, half_life 7 (steps or seconds: set it when paths carry ages). */
void tp_attrib_params_init(tp_attrib_params *p);

typedef struct tp_attrib_result {
        tp_attrib_model model;
        size_t n;             /* touchpoints: indexes 0 .. n-1 */
        double *conversions;  /* [n] attributed conversions */
        double *value;        /* [n] attributed value */
        int64_t *touchpoints; /* [n] store id of index i (engine); NULL from tp_attrib_paths() */
        double total_conversions, total_value;   /* over paths with at least one touch */
        double unattributed_conversions, unattributed_value; /* paths without touches */
        double total_nulls;
        uint64_t rows_scanned; /* tp_engine_attribution_run(): events visited, 0 when the rollups answered */
} tp_attrib_result;

/* Attribute the conversions and value of n paths over ntouchpoints (1 ..
 * 65,535) touchpoints with model.  p may be NULL (the defaults).  On success
 * *ret is filled and owns its arrays (tp_attrib_result_done()); on failure it
 * is not written.  Errors: TP_INVALID for a touch index out of range, a
 * negative or non-finite count, an unknown model or a half-life <= 0;
 * TP_UNPROCESSABLE (field "touchpoints") beyond TP_ATTRIB_MARKOV_MAX distinct
 * touchpoints; TP_NOMEM. */
tp_rc tp_attrib_paths(const tp_attrib_path *paths, size_t n, int ntouchpoints, tp_attrib_model model,
        const tp_attrib_params *p, tp_attrib_result *ret, tp_err *err);
/* Release the arrays of an embedded result; accepts NULL. */
void tp_attrib_result_done(tp_attrib_result *r);
/* Release a result from tp_engine_attribution_run(); accepts NULL. */
void tp_attrib_result_free(tp_attrib_result *r);

/* Multi-touch attribution over the engine's events: per customer, in (ts,
 * seq) order, each purchase in [q->from, q->to) closes a converting path (its
 * value, in minor units, is the conversion value) whose touches are the
 * non-purchase events since the previous purchase, within q->lookback
 * seconds of it when lookback > 0; the non-purchase events after a customer's
 * last purchase form a null path (counted when its last event is in [from,
 * to)).  Time decay ages are seconds.  Index i of the result is touchpoint
 * (*ret)->touchpoints[i] (store id).  Errors as tp_attrib_paths(), and the
 * path query's max_rows budget (scans only).
 *
 * The rollups answer (rows_scanned 0) conversion "purchase" (or NULL) over a
 * range holding every event, with lookback 0 or the engine's attrib_lookback,
 * for every model but time decay; strategy TP_ENGINE_SCAN, another range,
 * look-back or conversion type, and time decay scan the events.  Both give
 * the same numbers, bit for bit: they share the integer sums and the division
 * (engine_mta.h), which may differ from tp_attrib_paths() over the same paths
 * in the last bits (it sums per path). */
tp_rc tp_engine_attribution_run(tp_engine *e, const tp_engine_path_query *q, tp_attrib_model model,
        const tp_attrib_params *p, tp_attrib_result **ret, tp_err *err);

/* ---- journey questions ---- */

/* Journeys, from the same per-customer (ts, seq) event order as the
 * transitions (engine_journey.c): the stage funnel, top paths, a path explorer
 * for a Sankey, next-touchpoint Markov chains of order 1 and 2 with a time-split
 * accuracy report, and where each customer stands now.  Each takes the shared
 * lock for its run and scans every customer's events (no rollup), so max_rows
 * applies; results are owned by the caller, freed with the matching _free
 * (NULL accepted), and *ret is never written on failure. */

#define TP_ENGINE_STAGES_MAX 64     /* nstages: 1 .. this */
#define TP_ENGINE_PATH_LEN_MAX 32   /* path_len: 1 .. this */
#define TP_ENGINE_DEPTH_MAX 32      /* depth: 1 .. this */

/* The stage position (0 .. nstages-1) of a touchpoint (store id), -1 when it
 * has none.  Called under the engine's shared lock, once per touchpoint the
 * engine knows: it must not call the engine. */

typedef struct tp_engine_journey_query {
        int64_t from, to;            /* events in [from, to); INT64_MIN / INT64_MAX: open */
        tp_engine_stage_fn stage_fn; /* funnel, standing: required */
        void *stage_arg;
        uint32_t nstages;
        uint32_t path_len;           /* top paths: the first K touches (default 5) */
        uint32_t npaths;             /* top paths: the N most frequent (default 20) */
        int64_t start;               /* explorer: the start touchpoint (store id) */
        uint32_t depth;              /* explorer: steps after the start (default 3) */
        int order;                   /* next: 1 or 2 (default 1) */
        int64_t prev, last;          /* next: the context (store ids); order 2 uses both */
        const char *customer;        /* next: external id; when set, the context is the
                                      *   customer's last one or two events in range */
        uint32_t nnext;              /* next: the K likeliest (default 5) */
        int64_t split;               /* accuracy: train on transitions whose target event is
                                      *   before split, test on those at or after it */
        tp_engine_strategy strategy; /* standing: SCAN skips the per-customer latest event */
        tp_engine_filter filter;
} tp_engine_journey_query;

/* Open range, nstages 0, path_len 5, npaths 20, depth 3, order 1, nnext 5, AUTO. */
void tp_engine_journey_query_init(tp_engine_journey_query *q);

/* ---- stage funnel ---- */

/* A customer reaches stage s when any of their events in range is at a
 * touchpoint of stage s.  For s > 0: converted = customers reaching s-1 and s,
 * conversion = converted / reached(s-1) (NaN when nobody reached s-1), dropped
 * = reached(s-1) - converted, drop_off = dropped / reached(s-1).  The time
 * between stages is first(s) - first(s-1) in seconds, over the customers whose
 * first event of s-1 comes before their first event of s (in (ts, seq) order);
 * median of an even count is the mean of the two middle values; NaN when none. */
typedef struct tp_engine_funnel_stage {
        uint32_t stage;
        uint64_t reached;
        uint64_t converted; /* 0 for stage 0 */
        uint64_t dropped;
        double conversion, drop_off; /* NaN for stage 0 */
        uint64_t timed;              /* customers with a time from s-1 to s */
        double median_seconds;
} tp_engine_funnel_stage;

typedef struct tp_engine_funnel {
        tp_engine_funnel_stage *stages; /* nstages entries, by stage */
        uint32_t nstages;
        uint64_t customers;    /* with at least one event in range */
        uint64_t rows_scanned; /* events visited */
} tp_engine_funnel;

/* Errors: TP_INVALID (field "stages") without stage_fn or with nstages out of
 * 1..TP_ENGINE_STAGES_MAX; budget errors; TP_NOMEM. */
tp_rc tp_engine_funnel_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_funnel **ret, tp_err *err);
void tp_engine_funnel_free(tp_engine_funnel *r);

/* ---- where each customer stands now ---- */

/* Customers by the stage of their latest event in range (by (ts, seq)). */
typedef struct tp_engine_standing {
        uint64_t *customers; /* nstages counts, by stage */
        uint32_t nstages;
        uint64_t unstaged; /* latest event at a touchpoint without a stage */
        uint64_t total;    /* customers with an event in range */
        uint64_t rows_scanned;
} tp_engine_standing;

tp_rc tp_engine_standing_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_standing **ret, tp_err *err);
void tp_engine_standing_free(tp_engine_standing *r);

/* ---- top paths ---- */

/* A customer's path: the touchpoints of their events in range, consecutive
 * repeats collapsed, cut after path_len touches.  Customers without events in
 * range have none. */
typedef struct tp_engine_path {
        const int64_t *touchpoints; /* len store ids, inside the result */
        uint32_t len;
        uint64_t customers;
} tp_engine_path;

typedef struct tp_engine_paths {
        tp_engine_path *rows; /* by customers descending, then touchpoint ids */
        size_t nrows;         /* at most npaths */
        uint64_t customers;   /* customers with a path */
        uint64_t distinct;    /* distinct paths */
        int64_t *ids;         /* storage of the rows' touchpoints */
        uint64_t rows_scanned;
} tp_engine_paths;

/* Errors: TP_INVALID for path_len out of 1..TP_ENGINE_PATH_LEN_MAX or npaths
 * 0; budget errors; TP_NOMEM. */
tp_rc tp_engine_paths_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_paths **ret, tp_err *err);
void tp_engine_paths_free(tp_engine_paths *r);

/* ---- path explorer (Sankey) ---- */

/* From the first occurrence of start in each customer's path (as above,
 * repeats collapsed, not cut): step 0 is start, steps 1..depth follow.  A node
 * counts the customers at (step, touchpoint); ended those whose path stops
 * there before depth.  A link counts the customers going from (step, from) to
 * (step + 1, to). */
typedef struct tp_engine_sankey_node {
        uint32_t step;
        int64_t touchpoint;
        uint64_t customers, ended;
} tp_engine_sankey_node;

typedef struct tp_engine_sankey_link {
        uint32_t step; /* of the source */
        int64_t from, to;
        uint64_t customers;
} tp_engine_sankey_link;

typedef struct tp_engine_explorer {
        int64_t start;
        uint32_t depth;
        tp_engine_sankey_node *nodes; /* by step, customers descending, touchpoint id */
        size_t nnodes;
        tp_engine_sankey_link *links; /* by step, customers descending, from, to */
        size_t nlinks;
        uint64_t customers; /* customers whose path contains start */
        uint64_t rows_scanned;
} tp_engine_explorer;

/* An unknown start gives an empty answer.  Errors: TP_INVALID for depth out of
 * 1..TP_ENGINE_DEPTH_MAX; budget errors (max_groups counts nodes + links);
 * TP_NOMEM. */
tp_rc tp_engine_explorer_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_explorer **ret, tp_err *err);
void tp_engine_explorer_free(tp_engine_explorer *r);

/* ---- next touchpoint ---- */

/* Markov chains over consecutive events of a customer in range (repeats kept).
 * Order 1: P(next | last) = n(last -> next) / n(last -> any); order 2 the same
 * for the pair (prev, last).  An order-2 context never seen falls back to
 * order 1 (order_used 1); one never seen at all has no rows (order_used 0).
 * Ties rank by touchpoint id. */
typedef struct tp_engine_next_row {
        int64_t touchpoint;
        uint64_t n;
        double p;
} tp_engine_next_row;

typedef struct tp_engine_next {
        int order, order_used;
        int64_t prev, last; /* the context; prev 0 for order 1 or a customer with one event */
        uint64_t context_n; /* transitions out of the context used */
        tp_engine_next_row *rows; /* by p descending, then touchpoint id; at most nnext */
        size_t nrows;
        uint64_t rows_scanned;
} tp_engine_next;

/* Errors: TP_INVALID for order not 1 or 2, nnext 0; TP_NOTFOUND (field
 * "customer") for a customer unknown or without events in range; budget
 * errors; TP_NOMEM. */
tp_rc tp_engine_next_run(tp_engine *e, const tp_engine_journey_query *q, tp_engine_next **ret, tp_err *err);
void tp_engine_next_free(tp_engine_next *r);

/* Time-split hold-out: the chains are trained on the transitions in range
 * whose target event is before q->split, tested on those at or after it.  A
 * test transition is a top-k hit when its target is among the k likeliest for
 * its context; order 2 uses order 1 when the pair was unseen in training (or
 * the target has one predecessor only); a context unseen by order 1 is a miss. */
typedef struct tp_engine_next_accuracy {
        int64_t split;
        uint64_t train, test;      /* transitions */
        uint64_t top1[2], top3[2]; /* hits, [0] order 1, [1] order 2 */
        double top1_rate[2], top3_rate[2]; /* hits / test, NaN when test = 0 */
        uint64_t unseen;           /* test transitions whose last touchpoint was never a source in training */
        uint64_t fallback;         /* order-2 predictions made by order 1 */
        uint64_t rows_scanned;
} tp_engine_next_accuracy;

tp_rc tp_engine_next_accuracy_run(
        tp_engine *e, const tp_engine_journey_query *q, tp_engine_next_accuracy **ret, tp_err *err);
void tp_engine_next_accuracy_free(tp_engine_next_accuracy *r);

/* New references, NULL when out of memory; touchpoints as in the other
 * builders ("touchpoint_id", and "touchpoint" with a namer); NaN is null. */
json_t *tp_engine_funnel_json(const tp_engine_funnel *r);
json_t *tp_engine_standing_json(const tp_engine_standing *r);
json_t *tp_engine_paths_json(const tp_engine_paths *r, tp_engine_key_fn key_fn, void *arg);
json_t *tp_engine_explorer_json(const tp_engine_explorer *r, tp_engine_key_fn key_fn, void *arg);
json_t *tp_engine_next_json(const tp_engine_next *r, tp_engine_key_fn key_fn, void *arg);
json_t *tp_engine_next_accuracy_json(const tp_engine_next_accuracy *r);

/* ---- key drivers ---- */

/* How strongly each touchpoint's score moves an overall outcome: the Pearson
 * correlation of each predictor with the outcome and Johnson's relative
 * weights (Johnson 2000), shown as an importance x performance matrix.
 * tp_drivers_compute() is the pure statistics (engine_drivers.c);
 * tp_engine_drivers_run() builds the customer x touchpoint matrix from the
 * engine's responses and calls it.
 *
 * Missing is missing, never zero: every correlation uses the rows where both
 * of its variables are present (pairwise-complete), among the rows whose
 * outcome is present.  A pairwise matrix need not be positive semi-definite:
 * negative eigenvalues are clamped to 0 and counted.  Eigenvalues at or below
 * 1e-10 x the largest are treated as 0 in Λ⁻¹ (a pseudo-inverse), so
 * identical predictors share their weight equally instead of failing. */

#define TP_DRIVERS_MAX_P 64 /* predictors: 1 .. this */

typedef struct tp_drivers_result {
        size_t p;        /* predictors */
        size_t n;        /* rows used: outcome present and at least one predictor present */
        double *r;       /* [p] correlation of predictor j with the outcome (0 when j or y is
                          *   constant over their common rows) */
        uint64_t *r_n;   /* [p] rows with predictor j and the outcome present */
        double *rxx;     /* [p * p] pairwise correlations among the predictors, row-major;
                          *   1 on the diagonal, 0 where a pair has < 3 common rows or no variance */
        uint64_t *rxx_n; /* [p * p] common rows of each pair (the diagonal: r_n) */
        double *raw;     /* [p] raw relative weights ε_j; they sum to r2 */
        double *rel;     /* [p] relative importance ε_j / r2, a fraction summing to 1 (0 when r2 = 0) */
        double *mean;    /* [p] mean of predictor j over its rows with the outcome present */
        double r2;       /* Σ ε = r_xyᵀ Rxx⁺ r_xy */
        unsigned clamped;   /* negative eigenvalues of rxx set to 0 (not positive semi-definite) */
        double min_eigen;   /* the smallest eigenvalue of rxx before clamping */
        unsigned undefined; /* predictor pairs (j < k) whose correlation was undefined and set to 0 */
} tp_drivers_result;

/* x: n rows x p predictors, row-major, NaN = missing; y: n outcomes, a NaN
 * row is skipped.  On success *ret is filled and owns its arrays
 * (tp_drivers_result_done()); on failure it is not written.  Errors:
 * TP_INVALID for NULL inputs or p = 0; TP_UNPROCESSABLE with field
 * "predictors" when p > TP_DRIVERS_MAX_P, field "rows" when a predictor has
 * fewer than p + 2 rows with the outcome present, field "outcome" when the
 * outcome is constant; TP_NOMEM. */
tp_rc tp_drivers_compute(
        const double *x, size_t n, size_t p, const double *y, tp_drivers_result *ret, tp_err *err);
/* Release the arrays of a result; accepts NULL. */
void tp_drivers_result_done(tp_drivers_result *r);

typedef enum tp_drivers_outcome {
        TP_DRIVERS_OUTCOME_TOUCHPOINT, /* the customer's mean answer of outcome_metric at outcome_touchpoint */
        TP_DRIVERS_OUTCOME_METRIC,     /* the customer's mean answer of outcome_metric at any touchpoint */
        TP_DRIVERS_OUTCOME_PURCHASE    /* 1 when the customer has a purchase event in range, else 0 */
} tp_drivers_outcome;

/* The importance x performance priority matrix, split at the mean relative
 * weight (100 / p %) and the mean of the touchpoints' performances; a value
 * equal to the mean counts as high. */
typedef enum tp_drivers_quadrant {
        TP_DRIVERS_FIX_FIRST,    /* high importance, low performance */
        TP_DRIVERS_KEEP_UP,      /* high importance, high performance */
        TP_DRIVERS_LOW_PRIORITY, /* low importance, low performance */
        TP_DRIVERS_OVERKILL      /* low importance, high performance: "possible overkill" */
} tp_drivers_quadrant;

/* "fix_first", "keep_up", "low_priority", "possible_overkill". */
const char *tp_drivers_quadrant_name(tp_drivers_quadrant q);

typedef struct tp_engine_drivers_query {
        int64_t from, to;            /* answers and purchases in [from, to); INT64_MIN / INT64_MAX: open */
        tp_metric metric;            /* the predictors' metric (default CSAT) */
        const int64_t *touchpoints;  /* only these as predictors (store ids), NULL: all */
        size_t ntouchpoints;
        tp_drivers_outcome outcome;  /* default TP_DRIVERS_OUTCOME_METRIC */
        tp_metric outcome_metric;    /* default NPS */
        int64_t outcome_touchpoint;  /* OUTCOME_TOUCHPOINT: its store id (never a predictor) */
        uint32_t min_n;              /* predictors need this many customers with the outcome;
                                      *   0: the engine's min_n (30 by default) */
        tp_engine_filter filter;     /* only answers given in these channels by these customers
                                      *   (the purchase outcome counts purchases in any channel) */
} tp_engine_drivers_query;

/* Open range, CSAT predictors, outcome the customer's mean NPS, min_n 0. */
void tp_engine_drivers_query_init(tp_engine_drivers_query *q);

typedef struct tp_engine_driver {
        int64_t touchpoint; /* store id */
        uint64_t n;         /* customers with an answer here and the outcome */
        double r;           /* correlation with the outcome */
        double weight_pct;  /* relative weight, % of R² */
        double raw;         /* raw relative weight ε (share of the outcome's variance) */
        double performance; /* mean of the customers' scores here (metric's scale) */
        tp_drivers_quadrant quadrant;
} tp_engine_driver;

typedef struct tp_engine_driver_excluded {
        int64_t touchpoint;
        uint64_t n; /* customers with an answer here and the outcome (< min_n) */
} tp_engine_driver_excluded;

typedef struct tp_engine_drivers {
        tp_metric metric;
        tp_drivers_outcome outcome;
        tp_metric outcome_metric;
        int64_t outcome_touchpoint;
        uint32_t min_n;
        tp_engine_driver *rows; /* by weight descending, then touchpoint id */
        size_t nrows;
        tp_engine_driver_excluded *excluded; /* below min_n, by touchpoint id */
        size_t nexcluded;
        double r2;
        uint64_t customers; /* with the outcome and at least one predictor */
        double mean_importance, mean_performance; /* the quadrant split */
        unsigned clamped;   /* as tp_drivers_result */
        double min_eigen;
        unsigned undefined;
        uint64_t rows_scanned; /* responses visited */
} tp_engine_drivers;

/* Per customer (anonymous answers take no part) and predictor touchpoint: the
 * mean of the customer's answers of q->metric there in range.  Errors:
 * TP_INVALID for an unknown metric or outcome, an outcome metric equal to the
 * predictors' metric with OUTCOME_METRIC (the outcome would contain its
 * predictors), an outcome touchpoint the engine does not know; TP_UNPROCESSABLE
 * as tp_drivers_compute() (field "predictors": more than TP_DRIVERS_MAX_P
 * touchpoints qualify, filter them) and when no touchpoint reaches min_n
 * (field "min_n"); the max_rows budget; TP_NOMEM. */
tp_rc tp_engine_drivers_run(
        tp_engine *e, const tp_engine_drivers_query *q, tp_engine_drivers **ret, tp_err *err);
void tp_engine_drivers_free(tp_engine_drivers *r);

/* New reference, NULL when out of memory: {"metric", "outcome", "r2",
 * "customers", "mean_importance", "mean_performance", "clamped_eigenvalues",
 * "touchpoints": [{"touchpoint_id", "touchpoint" (with a namer), "n",
 * "correlation", "weight_pct", "raw_weight", "performance", "quadrant"}],
 * "excluded": [{"touchpoint_id", "touchpoint", "n"}]}. */
json_t *tp_engine_drivers_json(const tp_engine_drivers *r, tp_engine_key_fn key_fn, void *arg);

#endif
