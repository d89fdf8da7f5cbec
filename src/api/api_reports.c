/* SPDX-License-Identifier: MIT */
/*
 * api_reports.c -- analytics answered by the engine: scores, touchpoint
 * transitions and attribution (parameters and rules in service/report.c).
 * Every report first lets the engine read what the store committed since its
 * last look, so a client sees its own writes.
 */
#include <unistd.h>

#include "api/api.h"
#include "service/report.h"

static const char *query_param(void *arg, const char *name) {
        return tp_req_query((tp_req *) arg, name);
}

static tp_rc report(tp_req *req, tp_resp *resp, tp_report_kind kind) {
        const tp_config *cfg = req->ctx->cfg;
        tp_report_args a;
        json_t *j = NULL;
        tp_rc rc;

        /* Heavy questions are capped so a burst of them cannot starve ingest of
         * the two cores: beyond the cap, 503 and come back in a second. */
        if (atomic_fetch_add(&req->ctx->reports_running, 1) >= cfg->max_reports) {
                atomic_fetch_sub(&req->ctx->reports_running, 1);
                req->retry_after = 1;
                return tp_err_setc(&req->err, TP_BUSY, NULL, "", "%u reports are running already (the limit); retry shortly",
                                   cfg->max_reports);
        }
        if (cfg->report_delay_us > 0)
                usleep((useconds_t) cfg->report_delay_us);
        rc = tp_report_parse(kind, query_param, req, req->ctx->cat, tp_engine_tz(req->ctx->engine), &a, &req->err);
        a.text = req->ctx->text;
        if (rc == TP_OK)
                rc = tp_engine_catch_up(req->ctx->engine, req->ctx->engine_store, 1000, NULL, &req->err);
        if (rc == TP_OK)
                rc = tp_report_run(req->ctx->engine, req->ctx->cat, &a, &j, &req->err);
        tp_report_args_done(&a);
        atomic_fetch_sub(&req->ctx->reports_running, 1);
        return rc == TP_OK ? tp_http_reply_json(resp, 200, j) : rc;
}

tp_rc api_report_scores(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_SCORES);
}

tp_rc api_report_transitions(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_TRANSITIONS);
}

tp_rc api_attribution(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_ATTRIBUTION);
}

tp_rc api_report_weakest(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_WEAKEST);
}

tp_rc api_report_expectations(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_EXPECTATIONS);
}

tp_rc api_report_funnel(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_FUNNEL);
}

tp_rc api_report_standing(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_STANDING);
}

tp_rc api_report_paths(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_PATHS);
}

tp_rc api_report_explorer(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_EXPLORER);
}

tp_rc api_report_next(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_NEXT);
}

tp_rc api_report_next_accuracy(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_NEXT_ACCURACY);
}

tp_rc api_report_drivers(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_DRIVERS);
}

tp_rc api_report_themes(tp_req *req, tp_resp *resp) {
        return report(req, resp, TP_REPORT_THEMES);
}
