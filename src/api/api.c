/* SPDX-License-Identifier: MIT */
/*
 * api.c -- the route table.  docs/openapi.json describes the same routes; a test
 * (tests/e2e/openapi.sh) checks that the two agree.
 */
#include "api/api.h"

/* clang-format off */
const tp_route tp_api_routes[] = {
        { "GET",  "/v1/health",                  0,               TP_BODY_NONE,  api_health,            NULL },
        { "GET",  "/metrics",                    0,               TP_BODY_NONE,  api_metrics,           NULL },
        { "POST", "/v1/events",                  TP_SCOPE_INGEST, TP_BODY_BATCH, api_events_post,       api_ingest_finish },
        { "POST", "/v1/responses",               TP_SCOPE_INGEST, TP_BODY_BATCH, api_responses_post,    api_ingest_finish },
        { "GET",  "/v1/journeys",                TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_journeys_list,     NULL },
        { "GET",  "/v1/journeys/:key",           TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_journey_get,       NULL },
        { "PUT",  "/v1/journeys/:key",           TP_SCOPE_ADMIN,  TP_BODY_JSON,  api_journey_put,       NULL },
        { "GET",  "/v1/touchpoints",             TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_touchpoints_list,  NULL },
        { "GET",  "/v1/touchpoints/:key",        TP_SCOPE_INGEST, TP_BODY_NONE,  api_touchpoint_get,    NULL },
        { "GET",  "/v1/responses",               TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_responses_list,    NULL },
        { "POST", "/v1/session",                 0,               TP_BODY_JSON,  api_session_post,      NULL },
        { "GET",  "/v1/session",                 TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_session_get,       NULL },
        { "DELETE", "/v1/session",               TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_session_delete,    NULL },
        { "POST", "/v1/links",                   TP_SCOPE_ADMIN,  TP_BODY_JSON,  api_links_post,        NULL },
        { "GET",  "/v1/links/:token/qr.png",     0,               TP_BODY_NONE,  api_link_qr,           NULL },
        { "GET",  "/v1/survey/:token",           0,               TP_BODY_NONE,  api_survey_get,        NULL },
        { "POST", "/v1/survey/:token",           0,               TP_BODY_JSON,  api_survey_post,       api_survey_finish },
        { "GET",  "/v1/customers/:id/timeline",  TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_customer_timeline, NULL },
        { "PUT",  "/v1/customers/:id",           TP_SCOPE_ADMIN,  TP_BODY_JSON,  api_customer_put,      NULL },
        { "GET",  "/v1/segments",                TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_segments_list,     NULL },
        { "GET",  "/v1/attributes",              TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_attributes_list,   NULL },
        { "GET",  "/v1/reports/scores",          TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_scores,     NULL },
        { "GET",  "/v1/reports/transitions",     TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_transitions, NULL },
        { "GET",  "/v1/reports/weakest",         TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_weakest,    NULL },
        { "GET",  "/v1/reports/expectations",    TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_expectations, NULL },
        { "GET",  "/v1/reports/funnel",            TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_funnel, NULL },
        { "GET",  "/v1/reports/standing",          TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_standing, NULL },
        { "GET",  "/v1/reports/paths",             TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_paths, NULL },
        { "GET",  "/v1/reports/explorer",          TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_explorer, NULL },
        { "GET",  "/v1/reports/next",              TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_next, NULL },
        { "GET",  "/v1/reports/next-accuracy",     TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_next_accuracy, NULL },
        { "GET",  "/v1/reports/drivers",         TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_drivers,    NULL },
        { "GET",  "/v1/reports/themes",          TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_report_themes,     NULL },
        { "GET",  "/v1/attribution",             TP_SCOPE_ADMIN,  TP_BODY_NONE,  api_attribution,       NULL },
        { NULL, NULL, 0, TP_BODY_NONE, NULL, NULL },
};
/* clang-format on */
