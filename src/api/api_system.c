/* SPDX-License-Identifier: MIT */
/*
 * api_system.c -- GET /v1/health (no key) and GET /metrics (Prometheus text).
 */

#include "api/api.h"
#include "common/timeutil.h"

tp_rc api_health(tp_req *req, tp_resp *resp) {
        tp_ctx *ctx = req->ctx;
        int64_t ev = 0, rs = 0;
        tp_err err = { 0 };
        tp_rc rc;

        pthread_mutex_lock(&ctx->store_lock);
        rc = tp_store_counts(ctx->store, &ev, &rs, &err);
        pthread_mutex_unlock(&ctx->store_lock);
        return tp_http_reply_json(resp, rc == TP_OK ? 200 : 503,
                                  json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:I}", "status", rc == TP_OK ? "ok" : "degraded",
                                            "customer_index", atomic_load(&ctx->cust_ready) ? "ready" : "building",
                                            "store", rc == TP_OK ? "ok" : tp_rc_code(rc), "uptime_s",
                                            (json_int_t) (tp_time_now() - ctx->started), "touchpoints",
                                            tp_catalog_count(ctx->cat), "events", (json_int_t) ev, "responses",
                                            (json_int_t) rs));
}

static tp_rc hist(tp_buf *b, const char *name, const char *help, const uint64_t *buckets, const uint64_t *bounds,
                  int n, double scale, uint64_t sum, uint64_t count) {
        uint64_t cum = 0;
        tp_rc rc = tp_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);

        for (int i = 0; rc == TP_OK && i < n; i++) {
                cum += buckets[i];
                rc = tp_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double) bounds[i] * scale,
                                   (unsigned long long) cum);
        }
        if (rc == TP_OK)
                rc = tp_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %g\n%s_count %llu\n", name,
                                   (unsigned long long) count, name, (double) sum * scale, name,
                                   (unsigned long long) count);
        return rc;
}

tp_rc api_metrics(tp_req *req, tp_resp *resp) {
        static const uint64_t lat[] = TP_INGEST_LAT_BOUNDS, bat[] = TP_INGEST_BATCH_BOUNDS;
        tp_ingest_stats st;
        tp_buf b;
        tp_rc rc;
        char *text;
        size_t len = 0;

        tp_ingest_get_stats(req->ctx->ingest, &st);
        tp_buf_init(&b, 1 << 20);
        rc = tp_http_metrics(tp_http_of(req), &b);
        if (rc == TP_OK)
                rc = tp_buf_printf(
                        &b,
                        "# HELP touchpoint_rows_ingested_total Rows committed to the store.\n"
                        "# TYPE touchpoint_rows_ingested_total counter\n"
                        "touchpoint_rows_ingested_total{kind=\"event\"} %llu\n"
                        "touchpoint_rows_ingested_total{kind=\"response\"} %llu\n"
                        "# HELP touchpoint_duplicates_total Items skipped because their id was already stored.\n"
                        "# TYPE touchpoint_duplicates_total counter\n"
                        "touchpoint_duplicates_total %llu\n"
                        "# HELP touchpoint_commit_failures_total Group commits that failed.\n"
                        "# TYPE touchpoint_commit_failures_total counter\n"
                        "touchpoint_commit_failures_total %llu\n"
                        "# HELP touchpoint_ingest_rejected_busy_total Requests refused with 503 because the queue was full.\n"
                        "# TYPE touchpoint_ingest_rejected_busy_total counter\n"
                        "touchpoint_ingest_rejected_busy_total %llu\n"
                        "# HELP touchpoint_ingest_queue_depth Requests waiting for the writer.\n"
                        "# TYPE touchpoint_ingest_queue_depth gauge\n"
                        "touchpoint_ingest_queue_depth %zu\n",
                        (unsigned long long) st.rows_events, (unsigned long long) st.rows_responses,
                        (unsigned long long) st.duplicates, (unsigned long long) st.commit_failures,
                        (unsigned long long) st.rejected_busy, st.queue_jobs);
        if (rc == TP_OK)
                rc = hist(&b, "touchpoint_commit_seconds", "Group commit latency, begin to durable commit.",
                          st.commit_us_buckets, lat, 12, 1e-6, st.commit_us_sum, st.commits);
        if (rc == TP_OK)
                rc = hist(&b, "touchpoint_commit_batch_items", "Items per group commit.", st.batch_buckets, bat, 8, 1,
                          st.batch_items_sum, st.commits);
        if (rc != TP_OK) {
                tp_buf_done(&b);
                return tp_err_set(&req->err, rc, "cannot build the metrics text");
        }
        text = tp_buf_take(&b, &len);
        if (!text)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        resp->status = 200;
        resp->body = text;
        resp->body_len = len;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return TP_OK;
}
