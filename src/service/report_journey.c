/* SPDX-License-Identifier: MIT */
/*
 * report_journey.c -- the journey questions (stage funnel, where customers
 * stand, top paths, path explorer, next touchpoint and its hold-out accuracy):
 * their parameters, and the engine queries behind them.
 */
#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"
#include "service/report.h"
#include "service/report_int.h"
#include "service/validate.h"

/* The engine asks once per touchpoint which stage of the chosen journey it is in. */
int tp_report_stage_of(void *arg, int64_t id) {
        const tp_report_args *a = arg;

        return tp_catalog_stage_pos(a->stage_ctx.cat, a->stage_ctx.journey, id);
}

static tp_rc uint_param(tp_param_fn get, void *arg, const char *name, long long lo, long long hi, uint32_t *ret,
                        tp_err *err) {
        const char *s = get(arg, name);
        long long v = 0;

        if (!s)
                return TP_OK;
        if (tp_parse_int(s, name, &v, err) != TP_OK || v < lo || v > hi)
                return tp_err_setc(err, TP_INVALID, "invalid_value", name, "'%s' must be a whole number from %lld to %lld",
                                   name, lo, hi);
        *ret = (uint32_t) v;
        return TP_OK;
}

static tp_rc touchpoint_param(tp_catalog *cat, const char *name, const char *key, int64_t *ret, tp_err *err) {
        if (tp_catalog_find(cat, key, ret, NULL) != TP_OK)
                return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", name, "unknown touchpoint '%.64s'", key);
        return TP_OK;
}

tp_rc tp_report_parse_journey(tp_report_kind kind, tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a,
                              tp_err *err) {
        tp_engine_journey_query *q = &a->journey_q;
        const char *s;
        tp_rc rc = TP_OK;

        tp_engine_journey_query_init(q);
        q->from = a->scores.from;
        q->to = a->scores.to;
        q->filter = a->filter;
        switch (kind) {
        case TP_REPORT_FUNNEL:
        case TP_REPORT_STANDING:
                rc = tp_report_stages(get, arg, cat, a, err);
                q->stage_fn = tp_report_stage_of;
                q->stage_arg = a;
                q->nstages = (uint32_t) a->nstages;
                return rc;
        case TP_REPORT_PATHS:
                if ((rc = uint_param(get, arg, "length", 1, TP_ENGINE_PATH_LEN_MAX, &q->path_len, err)) == TP_OK)
                        rc = uint_param(get, arg, "top", 1, 1000, &q->npaths, err);
                return rc;
        case TP_REPORT_EXPLORER:
                if (!(s = get(arg, "start")))
                        return tp_err_setc(err, TP_INVALID, "missing", "start", "'start' (a touchpoint key) is required");
                if ((rc = touchpoint_param(cat, "start", s, &q->start, err)) == TP_OK)
                        rc = uint_param(get, arg, "depth", 1, TP_ENGINE_DEPTH_MAX, &q->depth, err);
                return rc;
        case TP_REPORT_NEXT: {
                const char *tp = get(arg, "touchpoint"), *cust = get(arg, "customer"), *comma;
                if ((rc = uint_param(get, arg, "top", 1, 100, &q->nnext, err)) != TP_OK)
                        return rc;
                if (!!tp == !!cust)
                        return tp_err_setc(err, TP_INVALID, "missing", "touchpoint",
                                           "give either 'touchpoint' (a key, or 'prev,last') or 'customer'");
                if (cust) {
                        if ((rc = tp_check_id(cust, "customer", 128, err)) != TP_OK)
                                return err ? (err->rc = TP_INVALID) : TP_INVALID;
                        (void) snprintf(a->customer, sizeof(a->customer), "%s", cust);
                        q->customer = a->customer;
                        q->order = get(arg, "order") && strcmp(get(arg, "order"), "2") == 0 ? 2 : 1;
                        return TP_OK;
                }
                comma = strchr(tp, ',');
                if (!comma) {
                        q->order = 1;
                        return touchpoint_param(cat, "touchpoint", tp, &q->last, err);
                } else {
                        char prev[64];
                        (void) snprintf(prev, sizeof(prev), "%.*s", (int) (comma - tp), tp);
                        q->order = 2;
                        if ((rc = touchpoint_param(cat, "touchpoint", prev, &q->prev, err)) != TP_OK)
                                return rc;
                        return touchpoint_param(cat, "touchpoint", comma + 1, &q->last, err);
                }
        }
        case TP_REPORT_NEXT_ACCURACY:
                if (!get(arg, "split"))
                        return tp_err_setc(err, TP_INVALID, "missing", "split",
                                           "'split' (a date or RFC 3339 time where the hold-out starts) is required");
                return tp_report_parse_when(get, arg, "split", a->tz, &q->split, err);
        default:
                return TP_OK;
        }
}

tp_rc tp_report_stages(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err) {
        tp_rc rc = tp_catalog_stages(cat, get(arg, "journey"), a->stages, TP_ENGINE_STAGES_MAX, &a->nstages,
                                     a->stage_ctx.journey, err);

        if (rc == TP_NOTFOUND) {
                char msg[sizeof(err->msg)];
                (void) snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
                rc = tp_err_setc(err, TP_UNPROCESSABLE, "unknown_journey", "journey", "%s", msg);
        }
        a->stage_ctx.cat = cat;
        return rc;
}

json_t *tp_report_name_stages(json_t *j, const char *array, const tp_report_args *a) {
        json_t *arr = j ? json_object_get(j, array) : NULL, *o;
        size_t i;

        json_array_foreach(arr, i, o) {
                json_int_t s = json_integer_value(json_object_get(o, "stage"));
                if (json_is_object(o) && json_is_integer(json_object_get(o, "stage")) && s >= 0 && s < a->nstages)
                        json_object_set_new(o, "key", json_string(a->stages[s]));
        }
        if (j)
                json_object_set_new(j, "journey", json_string(a->stage_ctx.journey));
        return j;
}

tp_rc tp_report_run_journey(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        const tp_engine_journey_query *q = &a->journey_q;
        json_t *j = NULL;
        tp_rc rc;

        switch (a->kind) {
        case TP_REPORT_FUNNEL: {
                tp_engine_funnel *r = NULL;
                if ((rc = tp_engine_funnel_run(e, q, &r, err)) == TP_OK)
                        j = tp_report_name_stages(tp_engine_funnel_json(r), "stages", a);
                tp_engine_funnel_free(r);
                break;
        }
        case TP_REPORT_STANDING: {
                tp_engine_standing *r = NULL;
                if ((rc = tp_engine_standing_run(e, q, &r, err)) == TP_OK)
                        j = tp_report_name_stages(tp_engine_standing_json(r), "stages", a);
                tp_engine_standing_free(r);
                break;
        }
        case TP_REPORT_PATHS: {
                tp_engine_paths *r = NULL;
                if ((rc = tp_engine_paths_run(e, q, &r, err)) == TP_OK)
                        j = tp_engine_paths_json(r, tp_catalog_key_fn, cat);
                tp_engine_paths_free(r);
                break;
        }
        case TP_REPORT_EXPLORER: {
                tp_engine_explorer *r = NULL;
                if ((rc = tp_engine_explorer_run(e, q, &r, err)) == TP_OK)
                        j = tp_engine_explorer_json(r, tp_catalog_key_fn, cat);
                tp_engine_explorer_free(r);
                break;
        }
        case TP_REPORT_NEXT: {
                tp_engine_next *r = NULL;
                if ((rc = tp_engine_next_run(e, q, &r, err)) == TP_OK)
                        j = tp_engine_next_json(r, tp_catalog_key_fn, cat);
                else if (rc == TP_NOTFOUND && err)
                        err->field[0] = '\0', (void) snprintf(err->field, sizeof(err->field), "customer");
                tp_engine_next_free(r);
                break;
        }
        case TP_REPORT_NEXT_ACCURACY: {
                tp_engine_next_accuracy *r = NULL;
                if ((rc = tp_engine_next_accuracy_run(e, q, &r, err)) == TP_OK)
                        j = tp_engine_next_accuracy_json(r);
                tp_engine_next_accuracy_free(r);
                break;
        }
        default:
                return tp_err_set(err, TP_INTERNAL, "not a journey question");
        }
        if (rc != TP_OK)
                return rc;
        if (!j)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        *ret_json = j;
        return TP_OK;
}
