/* SPDX-License-Identifier: MIT */
/* report_int.h -- shared between report.c and report_rank.c. */
#ifndef TP_REPORT_INT_H
#define TP_REPORT_INT_H

#include "service/report.h"

tp_rc tp_report_weakest(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);
tp_rc tp_report_expectations(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);

tp_rc tp_report_parse_journey(tp_report_kind kind, tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a,
                              tp_err *err);
tp_rc tp_report_run_journey(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);

tp_rc tp_report_parse_drivers(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err);
tp_rc tp_report_drivers(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);
tp_rc tp_report_themes(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);

/* Stages of the journey named by the "journey" parameter (or the only one), for
 * stage_fn below; TP_UNPROCESSABLE naming "journey" when unknown. */
tp_rc tp_report_stages(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err);
/* tp_engine_stage_fn over a tp_report_args filled by tp_report_stages(). */
int tp_report_stage_of(void *arg, int64_t id);
/* Add "key" (the stage key) to every object with a "stage" number in j[array],
 * and "journey" to j; returns j. */
json_t *tp_report_name_stages(json_t *j, const char *array, const tp_report_args *a);

/* The parameter `name` as a time: "2024-04-01" is local midnight in the
 * organisation's zone, otherwise RFC 3339.  Absent: *ret is left as is.
 * TP_INVALID naming the parameter for anything else. */

#endif
