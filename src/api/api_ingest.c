/* SPDX-License-Identifier: MIT */
/*
 * api_ingest.c -- POST /v1/events and /v1/responses: validate every item, queue
 * the good ones for the group-commit writer, answer after the commit.
 */
#include "api/api.h"
#include "common/timeutil.h"
#include "service/batch.h"

static tp_rc ingest(tp_req *req, tp_resp *resp, tp_kind kind) {
        tp_vctx v = { .cat = req->ctx->cat, .lim = &req->ctx->cfg->lim, .now = tp_time_now(), .ann = req->ctx->ann };
        tp_rc rc;

        rc = tp_batch_parse(&req->batch, kind, req->body.data ? req->body.data : "", req->body.len, req->ndjson, &v,
                            &req->err);
        if (rc != TP_OK)
                return rc;
        req->async = 1; /* from here on the batch belongs to the request */
        if (req->batch.n_ok == 0)
                return api_ingest_finish(req, resp);
        req->job.batch = &req->batch;
        return TP_OK;
}

tp_rc api_events_post(tp_req *req, tp_resp *resp) {
        return ingest(req, resp, TP_KIND_EVENTS);
}

tp_rc api_responses_post(tp_req *req, tp_resp *resp) {
        return ingest(req, resp, TP_KIND_RESPONSES);
}

tp_rc api_ingest_outcome(tp_req *req, json_t **ret_json, size_t *ret_accepted, size_t *ret_dups) {
        json_t *j;

        if (req->batch.n_ok > 0 && req->job.rc != TP_OK) {
                req->err = req->job.err;
                req->retry_after = 1;
                return req->job.rc;
        }
        req->async = 0; /* nothing left to submit: a plain reply */
        j = tp_batch_result(&req->batch, ret_accepted, ret_dups);
        tp_batch_done(&req->batch);
        if (!j)
                return tp_err_set(&req->err, TP_NOMEM, "out of memory");
        *ret_json = j;
        return TP_OK;
}

/* Called once the writer committed (or failed), or at once when nothing was valid. */
tp_rc api_ingest_finish(tp_req *req, tp_resp *resp) {
        size_t acc = 0, dups = 0;
        json_t *j = NULL;
        tp_rc rc = api_ingest_outcome(req, &j, &acc, &dups);

        return rc == TP_OK ? tp_http_reply_json(resp, acc + dups > 0 ? 200 : 422, j) : rc;
}
