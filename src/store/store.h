/* SPDX-License-Identifier: MIT */
/*
 * store.h -- the storage backend interface.
 *
 * Each backend (SQLite today, PostgreSQL later) provides one `const tp_store_ops`
 * table and an instance struct whose FIRST member is a `tp_store`.  Code outside
 * src/store/ calls only the tp_store_*() wrappers below; no SQLITE_* or libpq value
 * crosses this header: backends map their errors to tp_rc and put their own message
 * in err->msg.
 *
 * A tp_store handle is one connection: use it from one thread at a time.  The
 * server opens one handle for the ingest writer and one for everything else.
 */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/model.h"

typedef struct tp_store tp_store;
typedef struct tp_store_ops tp_store_ops;

/* Callbacks for reads: return 0 to go on, non-zero to stop early.  The row and
 * its strings live only during the call; copy what you keep. */
typedef int (*tp_store_touchpoint_fn)(void *arg, const tp_touchpoint *tp);
typedef int (*tp_store_key_fn)(void *arg, const tp_key_rec *k);
typedef int (*tp_store_timeline_fn)(void *arg, const tp_timeline_row *row);
typedef int (*tp_store_journey_fn)(void *arg, const char *key, const char *doc, int64_t updated);
typedef int (*tp_store_event_fn)(void *arg, int64_t seq, const tp_event *ev);
typedef int (*tp_store_response_fn)(void *arg, int64_t seq, const tp_response *r);
typedef int (*tp_store_customer_fn)(void *arg, const tp_customer *c);
/* Light scan row: sequence number, customer (NULL if anonymous), time. */
typedef int (*tp_store_ckey_fn)(void *arg, int64_t seq, const char *customer, int64_t ts);

/* A filter for response_list; zero fields match everything. */
typedef struct tp_response_filter {
        int64_t touchpoint;   /* catalogue id, 0 = any */
        int has_metric;
        tp_metric metric;
        int64_t from, to;     /* ts in [from, to); 0 = open */
        int has_min, has_max;
        int min_score, max_score;
        int sentiment;        /* 0 = any, else as tp_response.sentiment */
        const char *theme;    /* a theme key, or NULL */
        int has_comment;      /* only responses with a comment */
        const char *customer; /* or NULL */
        int64_t before_seq;   /* paging: only seq < before_seq; 0 = from the newest */
        int limit;            /* rows at most (the caller bounds it) */
} tp_response_filter;

/* Open flags. */
#define TP_STORE_READONLY 0x1 /* no writes, no migration */
#define TP_STORE_BULK 0x2     /* bulk import: large cache; durability unchanged */

#define TP_STORE_OPS_VERSION 3

struct tp_store_ops {
        int version;        /* TP_STORE_OPS_VERSION the backend was built for */
        const char *scheme; /* URL scheme: "sqlite", "postgres" */

        /* open() sets *ret_store only on success; close() accepts NULL. */
        tp_rc (*open)(const char *url, int flags, tp_store **ret_store, tp_err *err);
        void (*close)(tp_store *s);

        /* Bring the schema to the newest version; idempotent.  *ret_from is the
         * version found (0 for an empty store). */
        tp_rc (*migrate)(tp_store *s, int *ret_from, tp_err *err);
        int (*schema_version)(tp_store *s);

        /* Group commit: the caller batches many writes in one transaction.
         * rollback() is safe after a failed begin() or commit(). */
        tp_rc (*begin)(tp_store *s, tp_err *err);
        tp_rc (*commit)(tp_store *s, tp_err *err);
        void (*rollback)(tp_store *s);

        /* Insert unless a row with the same id exists; *ret_dup is 1 when it did
         * (nothing is written then).  Within a transaction. */
        tp_rc (*event_put)(tp_store *s, const tp_event *ev, int *ret_dup, tp_err *err);
        tp_rc (*response_put)(tp_store *s, const tp_response *r, int *ret_dup, tp_err *err);

        /* Journeys: doc is the journey's JSON text; tps its touchpoints in order.
         * Touchpoints of the journey missing from tps are marked inactive (rows
         * that refer to them stay valid).  Runs in its own transaction. */
        tp_rc (*journey_put)(tp_store *s, const char *key, const char *doc, const tp_touchpoint *tps,
                             int ntps, tp_err *err);
        tp_rc (*journey_list)(tp_store *s, tp_store_journey_fn fn, void *arg, tp_err *err);
        tp_rc (*touchpoint_list)(tp_store *s, tp_store_touchpoint_fn fn, void *arg, tp_err *err);
        /* Add one touchpoint outside any journey (import --create-touchpoints);
         * an existing key is left as it is.  *ret_id is its id either way. */
        tp_rc (*touchpoint_ensure)(tp_store *s, const char *key, int64_t *ret_id, tp_err *err);

        /* API keys. key_put fails with TP_CONFLICT if the prefix exists. */
        tp_rc (*key_put)(tp_store *s, const tp_key_rec *k, tp_err *err);
        /* TP_NOTFOUND when no key has that prefix; fn is called once otherwise. */
        tp_rc (*key_get)(tp_store *s, const char *prefix, tp_store_key_fn fn, void *arg, tp_err *err);
        tp_rc (*key_list)(tp_store *s, tp_store_key_fn fn, void *arg, tp_err *err);
        tp_rc (*key_revoke)(tp_store *s, const char *prefix, int64_t when, tp_err *err);

        /* Small named values (the key-hashing secret, ...).  *ret_len bytes are
         * copied into buf (at most bufsz); TP_NOTFOUND when absent. */
        tp_rc (*meta_get)(tp_store *s, const char *name, void *buf, size_t bufsz, size_t *ret_len,
                          tp_err *err);
        tp_rc (*meta_put)(tp_store *s, const char *name, const void *val, size_t len, tp_err *err);

        /* Point reads: the rows named by keys[i] = seq << 1 | is_response, in the
         * order given; a key with no row is skipped.  The server's customer index
         * (service/custidx) finds the keys of a customer's timeline. */
        tp_rc (*rows_get)(tp_store *s, const int64_t *keys, size_t n, tp_store_timeline_fn fn, void *arg,
                          tp_err *err);

        /* Rows in sequence order after after_seq: rebuilds the engine at start-up. */
        tp_rc (*event_scan)(tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err);
        tp_rc (*response_scan)(tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg,
                               tp_err *err);

        /* Only (seq, customer, ts) of rows after after_seq, in sequence order, from
         * events (responses = 0) or responses (1): feeds the customer index. */
        tp_rc (*ckey_scan)(tp_store *s, int responses, int64_t after_seq, tp_store_ckey_fn fn, void *arg,
                           tp_err *err);
        /* The same scans with only what analytics reads: id, currency,
         * properties (events) and id, comment, language, event (responses) come
         * back NULL, which spares decoding them (a third of the engine's start-up). */
        tp_rc (*event_scan_core)(tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err);
        tp_rc (*response_scan_core)(tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg,
                                    tp_err *err);
        tp_rc (*counts)(tp_store *s, int64_t *ret_events, int64_t *ret_responses, tp_err *err);
        /* Full consistency check; *ret_ok is 1 when the store is sound, msg says why not. */
        tp_rc (*check)(tp_store *s, int *ret_ok, char *msg, size_t msgsz, tp_err *err);
        /* Methods above are version 1.  Append new ones below this line and bump
         * TP_STORE_OPS_VERSION; never reorder or remove. */

        /* Version 2. */
        /* Responses matching f, newest (highest seq) first, full rows. */
        tp_rc (*response_list)(tp_store *s, const tp_response_filter *f, tp_store_response_fn fn, void *arg,
                               tp_err *err);
        /* *ret_found = 1 when a response with this id is stored. */
        tp_rc (*response_exists)(tp_store *s, const char *id, int *ret_found, tp_err *err);

        /* Version 3. */
        /* Insert or replace a customer's segment and attributes (own transaction). */
        tp_rc (*customer_put)(tp_store *s, const tp_customer *c, tp_err *err);
        tp_rc (*customer_scan)(tp_store *s, tp_store_customer_fn fn, void *arg, tp_err *err);
};

struct tp_store {
        const tp_store_ops *ops; /* always the first member */
};

extern const tp_store_ops tp_store_sqlite_ops;

/* Open the backend named by the URL scheme: "sqlite:/var/lib/touchpoint.db",
 * "sqlite::memory:", or a bare path (taken as SQLite).  *ret_store is owned by the
 * caller and released with tp_store_close(). */
tp_rc tp_store_open(const char *url, int flags, tp_store **ret_store, tp_err *err);

/* Test hook (fault injection): delay every commit by this many microseconds so
 * overload tests can fill the ingest queue deterministically. */
void tp_store_set_commit_delay_us(tp_store *s, long us);

/* Test hook: bring an SQLite store to exactly `version` (an older schema), so
 * migrations can be tested from every previous version. */
tp_rc tp_store_sqlite_migrate_to(tp_store *s, int version, tp_err *err);

/* Thin wrappers: the single place for asserts and fault injection. */
static inline void tp_store_close(tp_store *s) {
        if (s)
                s->ops->close(s);
}
static inline tp_rc tp_store_migrate(tp_store *s, int *ret_from, tp_err *err) {
        return s->ops->migrate(s, ret_from, err);
}
static inline int tp_store_schema_version(tp_store *s) {
        return s->ops->schema_version(s);
}
static inline tp_rc tp_store_begin(tp_store *s, tp_err *err) {
        return s->ops->begin(s, err);
}
static inline tp_rc tp_store_commit(tp_store *s, tp_err *err) {
        return s->ops->commit(s, err);
}
static inline void tp_store_rollback(tp_store *s) {
        s->ops->rollback(s);
}
static inline tp_rc tp_store_event_put(tp_store *s, const tp_event *ev, int *ret_dup, tp_err *err) {
        return s->ops->event_put(s, ev, ret_dup, err);
}
static inline tp_rc tp_store_response_put(tp_store *s, const tp_response *r, int *ret_dup, tp_err *err) {
        return s->ops->response_put(s, r, ret_dup, err);
}
static inline tp_rc tp_store_journey_put(
        tp_store *s, const char *key, const char *doc, const tp_touchpoint *tps, int ntps, tp_err *err) {
        return s->ops->journey_put(s, key, doc, tps, ntps, err);
}
static inline tp_rc tp_store_journey_list(tp_store *s, tp_store_journey_fn fn, void *arg, tp_err *err) {
        return s->ops->journey_list(s, fn, arg, err);
}
static inline tp_rc tp_store_touchpoint_list(tp_store *s, tp_store_touchpoint_fn fn, void *arg, tp_err *err) {
        return s->ops->touchpoint_list(s, fn, arg, err);
}
static inline tp_rc tp_store_touchpoint_ensure(tp_store *s, const char *key, int64_t *ret_id, tp_err *err) {
        return s->ops->touchpoint_ensure(s, key, ret_id, err);
}
static inline tp_rc tp_store_key_put(tp_store *s, const tp_key_rec *k, tp_err *err) {
        return s->ops->key_put(s, k, err);
}
static inline tp_rc tp_store_key_get(
        tp_store *s, const char *prefix, tp_store_key_fn fn, void *arg, tp_err *err) {
        return s->ops->key_get(s, prefix, fn, arg, err);
}
static inline tp_rc tp_store_key_list(tp_store *s, tp_store_key_fn fn, void *arg, tp_err *err) {
        return s->ops->key_list(s, fn, arg, err);
}
static inline tp_rc tp_store_key_revoke(tp_store *s, const char *prefix, int64_t when, tp_err *err) {
        return s->ops->key_revoke(s, prefix, when, err);
}
static inline tp_rc tp_store_meta_get(
        tp_store *s, const char *name, void *buf, size_t bufsz, size_t *ret_len, tp_err *err) {
        return s->ops->meta_get(s, name, buf, bufsz, ret_len, err);
}
static inline tp_rc tp_store_meta_put(tp_store *s, const char *name, const void *val, size_t len, tp_err *err) {
        return s->ops->meta_put(s, name, val, len, err);
}
static inline tp_rc tp_store_response_list(
        tp_store *s, const tp_response_filter *f, tp_store_response_fn fn, void *arg, tp_err *err) {
        return s->ops->response_list(s, f, fn, arg, err);
}
static inline tp_rc tp_store_response_exists(tp_store *s, const char *id, int *ret_found, tp_err *err) {
        return s->ops->response_exists(s, id, ret_found, err);
}
static inline tp_rc tp_store_customer_put(tp_store *s, const tp_customer *c, tp_err *err) {
        return s->ops->customer_put(s, c, err);
}
static inline tp_rc tp_store_customer_scan(tp_store *s, tp_store_customer_fn fn, void *arg, tp_err *err) {
        return s->ops->customer_scan(s, fn, arg, err);
}
static inline tp_rc tp_store_rows_get(
        tp_store *s, const int64_t *keys, size_t n, tp_store_timeline_fn fn, void *arg, tp_err *err) {
        return s->ops->rows_get(s, keys, n, fn, arg, err);
}
static inline tp_rc tp_store_event_scan(
        tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err) {
        return s->ops->event_scan(s, after_seq, fn, arg, err);
}
static inline tp_rc tp_store_response_scan(
        tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg, tp_err *err) {
        return s->ops->response_scan(s, after_seq, fn, arg, err);
}
static inline tp_rc tp_store_ckey_scan(
        tp_store *s, int responses, int64_t after_seq, tp_store_ckey_fn fn, void *arg, tp_err *err) {
        return s->ops->ckey_scan(s, responses, after_seq, fn, arg, err);
}
static inline tp_rc tp_store_event_scan_core(
        tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err) {
        return s->ops->event_scan_core(s, after_seq, fn, arg, err);
}
static inline tp_rc tp_store_response_scan_core(
        tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg, tp_err *err) {
        return s->ops->response_scan_core(s, after_seq, fn, arg, err);
}
static inline tp_rc tp_store_counts(tp_store *s, int64_t *ret_events, int64_t *ret_responses, tp_err *err) {
        return s->ops->counts(s, ret_events, ret_responses, err);
}
static inline tp_rc tp_store_check(tp_store *s, int *ret_ok, char *msg, size_t msgsz, tp_err *err) {
        return s->ops->check(s, ret_ok, msg, msgsz, err);
}

const char *tp_metric_name(tp_metric m);
/* TP_OK and *ret_m, or TP_NOTFOUND for an unknown name. */
tp_rc tp_metric_parse(const char *name, tp_metric *ret_m);
/* tp_response.sentiment (1..3) as "negative" | "neutral" | "positive"; NULL for 0. */
const char *tp_sentiment_name(int s);
tp_rc tp_sentiment_parse(const char *name, int *ret_s);

#endif
