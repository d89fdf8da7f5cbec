/* SPDX-License-Identifier: MIT */
/*
 * api.h -- the handlers behind tp_api_routes (src/api/api.c), one file per
 * resource.  Private to src/api/.
 */
#ifndef TP_API_H
#define TP_API_H

#include "http/http.h"

tp_rc api_events_post(tp_req *req, tp_resp *resp);
tp_rc api_responses_post(tp_req *req, tp_resp *resp);
tp_rc api_ingest_finish(tp_req *req, tp_resp *resp);
/* After the writer ran a request's batch: {"accepted", "duplicates", "rejected"}
 * in *ret_json (new reference) and the counts; the batch is released.  An error
 * when the commit failed (req->err filled, Retry-After set). */
tp_rc api_ingest_outcome(tp_req *req, json_t **ret_json, size_t *ret_accepted, size_t *ret_dups);

tp_rc api_journeys_list(tp_req *req, tp_resp *resp);
tp_rc api_journey_get(tp_req *req, tp_resp *resp);
tp_rc api_journey_put(tp_req *req, tp_resp *resp);
tp_rc api_touchpoints_list(tp_req *req, tp_resp *resp);

tp_rc api_customer_timeline(tp_req *req, tp_resp *resp);
tp_rc api_responses_list(tp_req *req, tp_resp *resp);
tp_rc api_customer_put(tp_req *req, tp_resp *resp);
tp_rc api_segments_list(tp_req *req, tp_resp *resp);
tp_rc api_attributes_list(tp_req *req, tp_resp *resp);
/* A stored response as the API shows it (timeline and listing); NULL on OOM. */
json_t *api_response_json(tp_catalog *cat, const tp_response *r);

tp_rc api_session_post(tp_req *req, tp_resp *resp);
tp_rc api_session_get(tp_req *req, tp_resp *resp);
tp_rc api_session_delete(tp_req *req, tp_resp *resp);
tp_rc api_touchpoint_get(tp_req *req, tp_resp *resp);
json_t *api_touchpoint_public(tp_catalog *cat, const char *key);

tp_rc api_links_post(tp_req *req, tp_resp *resp);
tp_rc api_link_qr(tp_req *req, tp_resp *resp);
tp_rc api_survey_get(tp_req *req, tp_resp *resp);
tp_rc api_survey_post(tp_req *req, tp_resp *resp);
tp_rc api_survey_finish(tp_req *req, tp_resp *resp);

tp_rc api_report_scores(tp_req *req, tp_resp *resp);
tp_rc api_report_transitions(tp_req *req, tp_resp *resp);
tp_rc api_attribution(tp_req *req, tp_resp *resp);
tp_rc api_report_weakest(tp_req *req, tp_resp *resp);
tp_rc api_report_expectations(tp_req *req, tp_resp *resp);
tp_rc api_report_funnel(tp_req *req, tp_resp *resp);
tp_rc api_report_standing(tp_req *req, tp_resp *resp);
tp_rc api_report_paths(tp_req *req, tp_resp *resp);
tp_rc api_report_explorer(tp_req *req, tp_resp *resp);
tp_rc api_report_next(tp_req *req, tp_resp *resp);
tp_rc api_report_next_accuracy(tp_req *req, tp_resp *resp);
tp_rc api_report_drivers(tp_req *req, tp_resp *resp);
tp_rc api_report_themes(tp_req *req, tp_resp *resp);

tp_rc api_health(tp_req *req, tp_resp *resp);
tp_rc api_metrics(tp_req *req, tp_resp *resp);

#endif
