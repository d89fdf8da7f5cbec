/* SPDX-License-Identifier: MIT */
/*
 * ingest.h -- the single writer: a bounded queue of validated batches and one
 * thread that commits many of them in one transaction (group commit), then tells
 * each batch's owner.  A request is acknowledged only after its commit.
 *
 * When the queue is full (jobs or bytes) tp_ingest_submit() fails at once with
 * TP_BUSY, which the HTTP layer answers 503 with Retry-After: the queue never
 * grows without bound.
 */
#ifndef TP_INGEST_H
#define TP_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "service/batch.h"
#include "store/store.h"

typedef struct tp_ingest tp_ingest;
typedef struct tp_ingest_job tp_ingest_job;

/* Called on the writer thread once the job's transaction committed or failed.
 * The job belongs to the submitter; the callback must not free it while the
 * writer still holds it, so it only signals (a condition variable, or libmicro-
 * httpd's resume). */
typedef void (*tp_ingest_done_fn)(tp_ingest_job *job, void *arg);

struct tp_ingest_job {
        tp_batch *batch;       /* borrowed; dup[] is filled on success */
        size_t bytes;          /* request size, counted against the byte bound */
        tp_rc rc;              /* result: TP_OK, or why the commit failed */
        tp_err err;
        tp_ingest_done_fn done;
        void *arg;
        tp_ingest_job *next;   /* queue link, owned by tp_ingest */
};

/* Statistics for /metrics, read without the lock (approximate by design). */
typedef struct tp_ingest_stats {
        uint64_t commits;
        uint64_t commit_failures;
        uint64_t rows_events;
        uint64_t rows_responses;
        uint64_t duplicates;
        uint64_t rejected_busy;        /* submits refused because the queue was full */
        uint64_t commit_us_buckets[12];/* commit latency histogram, see TP_INGEST_LAT_BOUNDS */
        uint64_t commit_us_sum;
        uint64_t batch_buckets[8];     /* items per transaction, see TP_INGEST_BATCH_BOUNDS */
        uint64_t batch_items_sum;
        size_t queue_jobs;             /* current depth */
        size_t queue_jobs_max;         /* deepest seen */
} tp_ingest_stats;

#define TP_INGEST_LAT_BOUNDS { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000 }
#define TP_INGEST_BATCH_BOUNDS { 1, 10, 100, 1000, 10000, 50000, 100000, 1000000 }

/* Start the writer thread on `store` (borrowed, used only by that thread until
 * tp_ingest_free). */
tp_rc tp_ingest_new(tp_store *store, size_t max_jobs, size_t max_bytes, size_t txn_max_items,
                    tp_ingest **ret_ing, tp_err *err);
/* Drain and stop: every job already queued is committed and signalled, then the
 * thread ends; later submits fail with TP_BUSY (503).  Idempotent; accepts NULL.
 * The queue stays valid until tp_ingest_free(), so HTTP threads still running
 * may call tp_ingest_submit() and tp_ingest_get_stats() in between. */
void tp_ingest_stop(tp_ingest *ing);
/* Stop (if not yet) and free.  Accepts NULL.  Nobody may use ing afterwards. */
void tp_ingest_free(tp_ingest *ing);

/* Queue a job.  TP_BUSY when full or stopping: job->done is then never called. */
tp_rc tp_ingest_submit(tp_ingest *ing, tp_ingest_job *job, tp_err *err);

/* Queue and wait for the commit (for callers that may block, e.g. tests). */
tp_rc tp_ingest_submit_wait(tp_ingest *ing, tp_batch *b, tp_err *err);

void tp_ingest_get_stats(tp_ingest *ing, tp_ingest_stats *ret);

#endif
