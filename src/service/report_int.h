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

#endif
