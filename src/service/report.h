/* SPDX-License-Identifier: MIT */
/*
 * report.h -- the analytics questions as the API and `touchpoint report` ask
 * them: parameters read through a lookup function (URL query or command-line
 * options), checked the same way for both, run on the engine, answered as JSON.
 */
#ifndef TP_REPORT_H
#define TP_REPORT_H

#include <jansson.h>

#include "common/err.h"
#include "engine/engine.h"
#include "service/catalog.h"

typedef enum tp_report_kind {
        TP_REPORT_SCORES,
        TP_REPORT_TRANSITIONS,
        TP_REPORT_ATTRIBUTION,
        TP_REPORT_WEAKEST,      /* touchpoints ranked by the upper 95% bound of their score */
        TP_REPORT_EXPECTATIONS, /* each touchpoint's expected scores against what customers report */
        TP_REPORT_FUNNEL,       /* customers reaching each stage, conversion, drop-off, time between stages */
        TP_REPORT_STANDING,     /* customers by the stage of their latest event */
        TP_REPORT_PATHS,        /* the most frequent paths */
        TP_REPORT_EXPLORER,     /* paths from a start touchpoint, for a Sankey */
        TP_REPORT_NEXT,         /* the likely next touchpoints (Markov order 1 or 2) */
        TP_REPORT_NEXT_ACCURACY, /* the next-touchpoint models on a time-split hold-out */
        TP_REPORT_DRIVERS,       /* how strongly each touchpoint's score moves an outcome */
        TP_REPORT_THEMES         /* the themes comments name: volume, share, sentiment, scores, trend */
} tp_report_kind;

#define TP_REPORT_MAX_LIST 256

/* A parameter's value by name, or NULL when absent. */
typedef const char *(*tp_param_fn)(void *arg, const char *name);

#define TP_REPORT_MAX_ATTRS 8 /* attribute filters in one attr= parameter */

typedef struct tp_report_args {
        tp_report_kind kind;
        int32_t tz; /* the zone of local dates (tp_report_parse's) */
        tp_engine_scores_query scores;
        tp_engine_path_query path;
        long long lookback_days;
        tp_attrib_model model;      /* attribution */
        tp_attrib_params attrib;    /* attribution: half-life (seconds) */
        int64_t direct_tp;          /* attribution last_non_direct: store id of the "direct" touchpoint, 0: none */
        char conversion[33];        /* attribution: the converting event type */
        tp_metric metric;   /* weakest: nps or csat */
        long long limit;    /* weakest: how many */
        int64_t now;        /* weakest: the trend windows end at min(to, now) */
        tp_engine_journey_query journey_q; /* journey questions */
        struct {
                tp_catalog *cat;
                char journey[64];
        } stage_ctx;                       /* funnel, standing: stage of a touchpoint */
        char stages[TP_ENGINE_STAGES_MAX][64];
        int nstages;
        char customer[129];                /* next: the customer whose last events are the context */
        tp_engine_drivers_query drivers_q; /* drivers */
        int64_t tps[TP_REPORT_MAX_LIST];
        const char *channels[TP_REPORT_MAX_LIST];
        char *channel_text; /* owned: the channels point into it */
        const char *segments[TP_REPORT_MAX_LIST];
        char *segment_text; /* owned: the segments point into it */
        char attribute[32];  /* group=attr:NAME: the name (scores.attribute points here) */
        tp_engine_attr_filter attrs[TP_REPORT_MAX_ATTRS];
        const char *attr_values[TP_REPORT_MAX_ATTRS][TP_REPORT_MAX_LIST];
        char *attr_text;     /* owned: the attribute filters point into it */
        tp_engine_filter filter; /* path questions: channel, segment, attr (points into the above) */
        const struct tp_text *text; /* themes: names of the theme keys (may be NULL); set by the caller */
        char theme[32];             /* the theme filter's key (scores.theme points here) */
} tp_report_args;

/* Read and check the parameters of `kind`:
 *   all:          from, to (a local date 2024-04-01 in the zone tz (seconds east of UTC: the
 *                 engine's, tp_engine_tz), or RFC 3339)
 *   scores:       group none|touchpoint|channel|touchpoint,channel|stage|sentiment|theme;
 *                 bucket none|day|week|month; touchpoint, channel, metric, sentiment (comma-separated
 *                 lists), theme (a key), detractors (0|1: only unhappy answers), segment (a list;
 *                 "none" for customers without one), attr (customer attributes: "city:HCM,HN;plan:gold",
                 values of one attribute ORed, attributes ANDed, "none" = no value); group also
                 segment, or attr:NAME (by a customer attribute)
 *   every other: channel, segment, attr as scores: for transitions, attribution and the
 *                 journey questions only the events in those channels of the customers in
 *                 those segments with those attributes; for weakest, expectations and
 *                 drivers only those answers
 *   themes:       the filters of scores, and bucket for the trend
 *   attribution:  model first|last|last_non_direct|linear|time_decay|position|markov|shapley
 *                 (default last), conversion (an event type, default purchase), lookback_days 0..3650,
 *                 half_life_days (time_decay, default 7), direct (last_non_direct: a touchpoint key)
 *   weakest:      metric nps|csat (default nps), limit 1..1000 (default 10)
 *   funnel, standing: journey (a key; default the only one)
 *   paths:        length 1..32 (default 5), top 1..1000 (default 20)
 *   explorer:     start (a touchpoint key, required), depth 1..32 (default 3)
 *   next:         touchpoint (one key, or two "prev,last" for order 2) or customer, top 1..100
 *   next_accuracy: split (required; the hold-out starts there)
 *   drivers:      metric (the touchpoints' scores, default csat), outcome (a metric, default nps,
 *                 or "purchase"), outcome_touchpoint (a key: the outcome is asked there),
 *                 touchpoint (comma list), min_n 3..100000
 * Errors name the parameter: TP_INVALID for a malformed value, TP_UNPROCESSABLE
 * for an unknown touchpoint or a model this version does not answer.
 * tp_report_args_done() releases *a, also after a failure. */
/* A time parameter: a local date (2024-04-01, midnight in the zone tz) or an
 * RFC 3339 date-time; *ret is left alone when the parameter is absent. */
tp_rc tp_report_parse_when(tp_param_fn get, void *arg, const char *name, int32_t tz, int64_t *ret, tp_err *err);

tp_rc tp_report_parse(tp_report_kind kind, tp_param_fn get, void *arg, tp_catalog *cat, int32_t tz,
                      tp_report_args *a, tp_err *err);
void tp_report_args_done(tp_report_args *a);

/* Run the question on the engine; *ret_json is a new reference. */
tp_rc tp_report_run(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err);

#endif
