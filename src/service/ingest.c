/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/ingest.h"

struct tp_ingest {
        tp_store *store;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        tp_ingest_job *head, *tail;
        size_t jobs, bytes;
        size_t max_jobs, max_bytes, txn_max_items;
        int stopping;
        int joined;
        tp_ingest_stats st;
};

static const uint64_t lat_bounds[12] = TP_INGEST_LAT_BOUNDS;
static const uint64_t batch_bounds[8] = TP_INGEST_BATCH_BOUNDS;

static void observe(uint64_t *buckets, const uint64_t *bounds, int n, uint64_t v) {
        for (int i = 0; i < n; i++)
                if (v <= bounds[i]) {
                        buckets[i]++;
                        return;
                }
}

static tp_rc write_job(tp_ingest *ing, tp_ingest_job *job, tp_err *err) {
        tp_batch *b = job->batch;
        tp_rc rc = TP_OK;

        for (size_t i = 0; rc == TP_OK && i < b->n_ok; i++) {
                int dup = 0;
                if (b->kind == TP_KIND_EVENTS)
                        rc = tp_store_event_put(ing->store, &b->ev[i], &dup, err);
                else
                        rc = tp_store_response_put(ing->store, &b->rs[i], &dup, err);
                b->dup[i] = (unsigned char) dup;
        }
        return rc;
}

/* One group commit over the jobs list; every job learns the same outcome,
 * because they share one transaction. */
static void commit_group(tp_ingest *ing, tp_ingest_job *list) {
        tp_err err = { 0 };
        uint64_t items = 0, ev = 0, rs = 0, dups = 0;
        int64_t t0 = tp_time_mono_us();
        tp_rc rc = tp_store_begin(ing->store, &err);

        for (tp_ingest_job *j = list; rc == TP_OK && j; j = j->next)
                rc = write_job(ing, j, &err);
        if (rc == TP_OK)
                rc = tp_store_commit(ing->store, &err);
        if (rc != TP_OK)
                tp_store_rollback(ing->store);
        for (tp_ingest_job *j = list; j; j = j->next) {
                tp_batch *b = j->batch;
                items += b->n_ok;
                if (rc == TP_OK) {
                        uint64_t d = 0;
                        for (size_t i = 0; i < b->n_ok; i++)
                                d += b->dup[i];
                        dups += d;
                        if (b->kind == TP_KIND_EVENTS)
                                ev += b->n_ok - d;
                        else
                                rs += b->n_ok - d;
                }
        }
        pthread_mutex_lock(&ing->lock);
        if (rc == TP_OK) {
                uint64_t us = (uint64_t) (tp_time_mono_us() - t0);
                ing->st.commits++;
                ing->st.rows_events += ev;
                ing->st.rows_responses += rs;
                ing->st.duplicates += dups;
                observe(ing->st.commit_us_buckets, lat_bounds, 12, us);
                ing->st.commit_us_sum += us;
                observe(ing->st.batch_buckets, batch_bounds, 8, items);
                ing->st.batch_items_sum += items;
        } else {
                ing->st.commit_failures++;
        }
        pthread_mutex_unlock(&ing->lock);
        while (list) {
                tp_ingest_job *next = list->next;
                list->rc = rc;
                if (rc != TP_OK)
                        list->err = err;
                /* After done() the submitter may free the job: read next first. */
                list->done(list, list->arg);
                list = next;
        }
}

static void *writer_main(void *arg) {
        tp_ingest *ing = arg;

        for (;;) {
                tp_ingest_job *list, *last;
                size_t items;

                pthread_mutex_lock(&ing->lock);
                while (!ing->head && !ing->stopping)
                        pthread_cond_wait(&ing->wake, &ing->lock);
                if (!ing->head) {
                        pthread_mutex_unlock(&ing->lock);
                        break;
                }
                /* Take as many jobs as fit one transaction (always at least one). */
                list = last = ing->head;
                items = list->batch->n_ok;
                ing->jobs--;
                ing->bytes -= list->bytes;
                while (last->next && items + last->next->batch->n_ok <= ing->txn_max_items) {
                        last = last->next;
                        items += last->batch->n_ok;
                        ing->jobs--;
                        ing->bytes -= last->bytes;
                }
                ing->head = last->next;
                if (!ing->head)
                        ing->tail = NULL;
                last->next = NULL;
                ing->st.queue_jobs = ing->jobs;
                pthread_mutex_unlock(&ing->lock);
                commit_group(ing, list);
        }
        return NULL;
}

tp_rc tp_ingest_new(tp_store *store, size_t max_jobs, size_t max_bytes, size_t txn_max_items,
                    tp_ingest **ret_ing, tp_err *err) {
        tp_ingest *ing = tp_calloc(1, sizeof(*ing));

        if (!ing)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        ing->store = store;
        ing->max_jobs = max_jobs ? max_jobs : 1;
        ing->max_bytes = max_bytes;
        ing->txn_max_items = txn_max_items ? txn_max_items : 1;
        pthread_mutex_init(&ing->lock, NULL);
        pthread_cond_init(&ing->wake, NULL);
        if (pthread_create(&ing->thread, NULL, writer_main, ing) != 0) {
                pthread_mutex_destroy(&ing->lock);
                pthread_cond_destroy(&ing->wake);
                tp_free(ing);
                return tp_err_set(err, TP_INTERNAL, "cannot start the writer thread");
        }
        *ret_ing = ing;
        return TP_OK;
}

void tp_ingest_stop(tp_ingest *ing) {
        if (!ing || ing->joined)
                return;
        pthread_mutex_lock(&ing->lock);
        ing->stopping = 1;
        pthread_cond_signal(&ing->wake);
        pthread_mutex_unlock(&ing->lock);
        pthread_join(ing->thread, NULL);
        ing->joined = 1;
}

void tp_ingest_free(tp_ingest *ing) {
        if (!ing)
                return;
        tp_ingest_stop(ing);
        pthread_mutex_destroy(&ing->lock);
        pthread_cond_destroy(&ing->wake);
        tp_free(ing);
}

tp_rc tp_ingest_submit(tp_ingest *ing, tp_ingest_job *job, tp_err *err) {
        tp_rc rc = TP_OK;

        job->next = NULL;
        pthread_mutex_lock(&ing->lock);
        if (ing->stopping) {
                rc = tp_err_set(err, TP_BUSY, "the server is shutting down");
        } else if (ing->jobs >= ing->max_jobs || (ing->jobs > 0 && ing->bytes + job->bytes > ing->max_bytes)) {
                ing->st.rejected_busy++;
                rc = tp_err_set(err, TP_BUSY, "the ingest queue is full (%zu requests waiting); retry shortly",
                                ing->jobs);
        } else {
                if (ing->tail)
                        ing->tail->next = job;
                else
                        ing->head = job;
                ing->tail = job;
                ing->jobs++;
                ing->bytes += job->bytes;
                ing->st.queue_jobs = ing->jobs;
                if (ing->jobs > ing->st.queue_jobs_max)
                        ing->st.queue_jobs_max = ing->jobs;
                pthread_cond_signal(&ing->wake);
        }
        pthread_mutex_unlock(&ing->lock);
        return rc;
}

typedef struct waiter {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done;
} waiter;

static void wake_waiter(tp_ingest_job *job, void *arg) {
        waiter *w = arg;

        (void) job;
        pthread_mutex_lock(&w->lock);
        w->done = 1;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

tp_rc tp_ingest_submit_wait(tp_ingest *ing, tp_batch *b, tp_err *err) {
        waiter w = { .done = 0 };
        tp_ingest_job job = { .batch = b, .done = wake_waiter, .arg = &w };
        tp_rc rc;

        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.cond, NULL);
        rc = tp_ingest_submit(ing, &job, err);
        if (rc == TP_OK) {
                pthread_mutex_lock(&w.lock);
                while (!w.done)
                        pthread_cond_wait(&w.cond, &w.lock);
                pthread_mutex_unlock(&w.lock);
                rc = job.rc;
                if (rc != TP_OK && err)
                        *err = job.err;
        }
        pthread_mutex_destroy(&w.lock);
        pthread_cond_destroy(&w.cond);
        return rc;
}

void tp_ingest_get_stats(tp_ingest *ing, tp_ingest_stats *ret) {
        pthread_mutex_lock(&ing->lock);
        *ret = ing->st;
        pthread_mutex_unlock(&ing->lock);
}
