/* SPDX-License-Identifier: MIT */
/*
 * custidx.h -- the in-memory customer index: for every customer, the sequence
 * numbers and times of its events and responses, so a timeline is a few point
 * reads instead of an index the store would have to maintain on every insert
 * (random customer keys made that index cost 2.3x in ingest speed).
 *
 * The index tails the store by sequence number (SQLite assigns sequence numbers
 * in commit order, its writer lock serialising commits), so rows written by any
 * process -- the server's writer, `touchpoint import` -- are picked up by
 * tp_custidx_catch_up(); the timeline catches up before answering, so a client
 * reads its own writes.
 *
 * 8 bytes per row (u32 time, u32 sequence number) plus about 48 per customer.
 */
#ifndef TP_CUSTIDX_H
#define TP_CUSTIDX_H

#include <pthread.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

typedef struct tp_custidx tp_custidx;

/* store is borrowed and used only by this index (give it its own handle). */
tp_rc tp_custidx_new(tp_store *store, tp_custidx **ret, tp_err *err);
void tp_custidx_free(tp_custidx *ci);

/* Read the rows committed since the last call. */
tp_rc tp_custidx_catch_up(tp_custidx *ci, tp_err *err);

/* A customer's rows in (time, kind, seq) order after the cursor (after_ts,
 * after_kind, after_seq; pass INT64_MIN as after_ts for the start), at most
 * limit of them, passed to fn with the store's row.  *ret_n is how many.  It
 * first catches up, waiting at most a second for a catch-up already running.
 * Rows are read from rows_store under *rows_lock, or from the index's own
 * handle when rows_store is NULL. */
tp_rc tp_custidx_timeline(tp_custidx *ci, const char *customer, int64_t after_ts, int after_kind, int64_t after_seq,
                          int limit, tp_store *rows_store, pthread_mutex_t *rows_lock, tp_store_timeline_fn fn,
                          void *arg, int *ret_n, tp_err *err);

/* Customers and rows indexed (for health and metrics). */
void tp_custidx_size(tp_custidx *ci, uint64_t *ret_customers, uint64_t *ret_rows);

#endif
