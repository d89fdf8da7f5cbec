/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/report.h"
#include "service/report_int.h"
#include "service/validate.h"

static int days_in_month(int y, int m) {
        static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : days[m - 1];
}

tp_rc tp_report_parse_when(tp_param_fn get, void *arg, const char *name, int32_t tz, int64_t *ret, tp_err *err) {
        const char *s = get(arg, name);
        int y, m, d, used = 0;

        if (!s)
                return TP_OK;
        if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 && m >= 1 &&
            m <= 12 && d >= 1 && d <= days_in_month(y, m)) {
                *ret = tp_time_days_from_civil(y, (unsigned) m, (unsigned) d) * 86400 - tz;
                return TP_OK;
        }
        if (tp_time_parse_rfc3339(s, name, ret, err) != TP_OK)
                return tp_err_setc(err, TP_INVALID, "invalid_value", name,
                                   "'%s' must be a date (2024-04-01, local) or an RFC 3339 date-time", name);
        return TP_OK;
}

static tp_rc pick(tp_param_fn get, void *arg, const char *name, const char *const *names, int n, int *ret,
                  tp_err *err) {
        const char *s = get(arg, name);

        if (!s)
                return TP_OK;
        for (int i = 0; i < n; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret = i;
                        return TP_OK;
                }
        }
        return tp_err_setc(err, TP_INVALID, "invalid_value", name, "unknown value '%.40s' for '%s'", s, name);
}

/* Split a comma list in place (empty items are skipped).  More than
 * TP_REPORT_MAX_LIST items is an error rather than a silently shorter filter. */
static tp_rc split_list(const char *name, char *s, char **items, size_t *ret_n, tp_err *err) {
        size_t n = 0;
        char *save = NULL;

        for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (n == TP_REPORT_MAX_LIST) {
                        *ret_n = 0;
                        return tp_err_setc(err, TP_INVALID, "invalid_value", name, "'%s' lists more than %d values",
                                           name, TP_REPORT_MAX_LIST);
                }
                items[n++] = tok;
        }
        *ret_n = n;
        return TP_OK;
}

/* attr=city:HCM,HN;plan:gold -- one filter per attribute, its values ORed. */
static tp_rc parse_attr_filters(const char *s, tp_report_args *a, tp_err *err) {
        char *save = NULL;
        size_t nf = 0;

        if (!(a->attr_text = tp_strdup(s)))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        for (char *f = strtok_r(a->attr_text, ";", &save); f; f = strtok_r(NULL, ";", &save)) {
                char *colon = strchr(f, ':'), *items[TP_REPORT_MAX_LIST];
                size_t n = 0;
                tp_rc rc;

                if (nf == TP_REPORT_MAX_ATTRS)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "attr",
                                           "'attr' filters at most %d attributes", TP_REPORT_MAX_ATTRS);
                if (!colon || colon == f || colon - f > 31)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "attr",
                                           "'attr' is NAME:VALUE[,VALUE...][;NAME:VALUE...], e.g. city:HCM,HN;plan:gold");
                *colon = '\0';
                if ((rc = split_list("attr", colon + 1, items, &n, err)) != TP_OK)
                        return rc;
                if (n == 0)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "attr",
                                           "'attr' names no value for attribute '%.31s'", f);
                for (size_t i = 0; i < n; i++)
                        a->attr_values[nf][i] = strcmp(items[i], "none") == 0 ? "" : items[i];
                a->attrs[nf].name = f;
                a->attrs[nf].values = a->attr_values[nf];
                a->attrs[nf].nvalues = n;
                nf++;
        }
        a->scores.attrs = nf ? a->attrs : NULL;
        a->scores.nattrs = nf;
        return TP_OK;
}

/* The filters every question of customers takes: channel, segment, attr.
 * Scores read them from a->scores, path questions from a->filter. */
static tp_rc parse_filters(tp_param_fn get, void *arg, tp_report_args *a, tp_err *err) {
        char *items[TP_REPORT_MAX_LIST];
        const char *s;
        size_t n;
        tp_rc rc = TP_OK;

        if ((s = get(arg, "channel"))) {
                if (!(a->channel_text = tp_strdup(s)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                if ((rc = split_list("channel", a->channel_text, items, &n, err)) != TP_OK)
                        return rc;
                for (size_t i = 0; i < n; i++) {
                        if (tp_check_channel(items[i], err) != TP_OK)
                                return err ? (err->rc = TP_INVALID) : TP_INVALID;
                        a->channels[i] = items[i];
                }
                if (n) { /* "channel=" filters nothing (NULL: all) */
                        a->scores.channels = a->channels;
                        a->scores.nchannels = n;
                }
        }
        if ((s = get(arg, "segment"))) {
                if (!(a->segment_text = tp_strdup(s)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                if ((rc = split_list("segment", a->segment_text, items, &n, err)) != TP_OK)
                        return rc;
                for (size_t i = 0; i < n; i++) {
                        if (strlen(items[i]) > 31)
                                return tp_err_setc(err, TP_INVALID, "invalid_value", "segment",
                                                   "a segment name has at most 31 bytes");
                        a->segments[i] = strcmp(items[i], "none") == 0 ? "" : items[i];
                }
                if (n) {
                        a->scores.segments = a->segments;
                        a->scores.nsegments = n;
                }
        }
        if ((s = get(arg, "attr")) && (rc = parse_attr_filters(s, a, err)) != TP_OK)
                return rc;
        a->filter.channels = a->scores.channels;
        a->filter.nchannels = a->scores.nchannels;
        a->filter.segments = a->scores.segments;
        a->filter.nsegments = a->scores.nsegments;
        a->filter.attrs = a->scores.attrs;
        a->filter.nattrs = a->scores.nattrs;
        return rc;
}

static tp_rc parse_scores(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err) {
        static const char *const groups[] = { "none",  "touchpoint", "channel", "touchpoint,channel",
                                              "stage", "sentiment",  "theme",   "segment" };
        static const char *const buckets[] = { "none", "day", "week", "month" };
        char *items[TP_REPORT_MAX_LIST], *copy;
        int group = 0, bucket = 0;
        const char *s;
        size_t n;
        tp_rc rc;

        s = get(arg, "group");
        if (s && strncmp(s, "attr:", 5) == 0) {
                if (!s[5] || strlen(s + 5) > 31)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "group",
                                           "'group=attr:NAME' needs an attribute name of 1 to 31 bytes");
                (void) snprintf(a->attribute, sizeof(a->attribute), "%s", s + 5);
                a->scores.attribute = a->attribute;
                group = TP_ENGINE_GROUP_ATTRIBUTE;
        } else if ((rc = pick(get, arg, "group", groups, 8, &group, err)) != TP_OK) {
                return rc;
        }
        if ((rc = pick(get, arg, "bucket", buckets, 4, &bucket, err)) != TP_OK ||
            (rc = parse_filters(get, arg, a, err)) != TP_OK)
                return rc;
        a->scores.group = (tp_engine_group) group;
        a->scores.bucket = (tp_engine_bucket) bucket;
        if (a->scores.group == TP_ENGINE_GROUP_STAGE) {
                if ((rc = tp_report_stages(get, arg, cat, a, err)) != TP_OK)
                        return rc;
                a->scores.stage_fn = tp_report_stage_of;
                a->scores.stage_arg = a;
                a->scores.nstages = (uint32_t) a->nstages;
        }
        if ((s = get(arg, "touchpoint"))) {
                if (!(copy = tp_strdup(s)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                rc = split_list("touchpoint", copy, items, &n, err);
                for (size_t i = 0; i < n && rc == TP_OK; i++)
                        if (tp_catalog_find(cat, items[i], &a->tps[i], NULL) != TP_OK)
                                rc = tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint",
                                                 "unknown touchpoint '%.64s'", items[i]);
                tp_free(copy);
                if (rc != TP_OK)
                        return rc;
                if (n) { /* "touchpoint=" filters nothing, as "metric=" */
                        a->scores.touchpoints = a->tps;
                        a->scores.ntouchpoints = n;
                }
        }
        if ((s = get(arg, "metric"))) {
                if (!(copy = tp_strdup(s)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                rc = split_list("metric", copy, items, &n, err);
                for (size_t i = 0; i < n && rc == TP_OK; i++) {
                        tp_metric m;
                        if (tp_metric_parse(items[i], &m) != TP_OK)
                                rc = tp_err_setc(err, TP_INVALID, "invalid_value", "metric",
                                                 "unknown metric '%.32s': use nps, csat, ces, goal, ease, emotion",
                                                 items[i]);
                        else
                                a->scores.metrics |= TP_ENGINE_METRIC(m);
                }
                tp_free(copy);
                if (rc != TP_OK)
                        return rc;
        }
        if ((s = get(arg, "sentiment"))) {
                if (!(copy = tp_strdup(s)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                rc = split_list("sentiment", copy, items, &n, err);
                for (size_t i = 0; i < n && rc == TP_OK; i++) {
                        int v = 0;
                        if (strcmp(items[i], "none") == 0)
                                a->scores.sentiments |= 1u;
                        else if (tp_sentiment_parse(items[i], &v) == TP_OK)
                                a->scores.sentiments |= 1u << v;
                        else
                                rc = tp_err_setc(err, TP_INVALID, "invalid_value", "sentiment",
                                                 "unknown sentiment '%.32s': use negative, neutral, positive or none",
                                                 items[i]);
                }
                tp_free(copy);
                if (rc != TP_OK)
                        return rc;
        }
        if ((s = get(arg, "theme"))) {
                if (!tp_key_valid(s) || strlen(s) > 31)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "theme",
                                           "'theme' must be a theme key such as 'delivery' (touchpoint text themes)");
                (void) snprintf(a->theme, sizeof(a->theme), "%s", s);
                a->scores.theme = a->theme;
        }
        if ((s = get(arg, "detractors"))) {
                if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "detractors", "'detractors' must be 0 or 1");
                a->scores.detractors = s[0] == '1';
        }
        return rc;
}

static const char *const model_names[_TP_ATTRIB_MODEL_MAX] = {
        [TP_ATTRIB_FIRST] = "first",       [TP_ATTRIB_LAST] = "last",
        [TP_ATTRIB_LAST_NON_DIRECT] = "last_non_direct",
        [TP_ATTRIB_LINEAR] = "linear",     [TP_ATTRIB_TIME_DECAY] = "time_decay",
        [TP_ATTRIB_POSITION] = "position", [TP_ATTRIB_MARKOV] = "markov",
        [TP_ATTRIB_SHAPLEY] = "shapley",
};

static tp_rc parse_attribution(tp_param_fn get, void *arg, tp_catalog *cat, tp_report_args *a, tp_err *err) {
        const char *model = get(arg, "model"), *conv = get(arg, "conversion"), *lb = get(arg, "lookback_days"),
                   *hl = get(arg, "half_life_days"), *direct = get(arg, "direct");
        long long half = 7;
        int m;

        a->model = TP_ATTRIB_LAST;
        if (model) {
                for (m = 0; m < _TP_ATTRIB_MODEL_MAX && strcmp(model, model_names[m]) != 0; m++)
                        ;
                if (m == _TP_ATTRIB_MODEL_MAX)
                        return tp_err_setc(err, TP_INVALID, "invalid_value", "model",
                                           "unknown attribution model '%.32s': use first, last, last_non_direct, "
                                           "linear, time_decay, position, markov or shapley",
                                           model);
                a->model = (tp_attrib_model) m;
        }
        if (conv && tp_check_event_type(conv, err) != TP_OK)
                return tp_err_setc(err, TP_INVALID, "invalid_value", "conversion",
                                   "'conversion' must be an event type such as purchase or signup");
        if (conv)
                (void) snprintf(a->conversion, sizeof(a->conversion), "%s", conv);
        else
                (void) snprintf(a->conversion, sizeof(a->conversion), "purchase");
        a->path.conversion = a->conversion;
        if (lb && (tp_parse_int(lb, "lookback_days", &a->lookback_days, err) != TP_OK || a->lookback_days < 0 ||
                   a->lookback_days > 3650))
                return tp_err_setc(err, TP_INVALID, "invalid_value", "lookback_days",
                                   "'lookback_days' must be a whole number from 0 (unlimited) to 3650");
        if (hl && (tp_parse_int(hl, "half_life_days", &half, err) != TP_OK || half < 1 || half > 3650))
                return tp_err_setc(err, TP_INVALID, "invalid_value", "half_life_days",
                                   "'half_life_days' must be a whole number from 1 to 3650");
        if (direct && tp_catalog_find(cat, direct, &a->direct_tp, NULL) != TP_OK)
                return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "direct", "unknown touchpoint '%.64s'",
                                   direct);
        tp_attrib_params_init(&a->attrib);
        a->attrib.half_life = (double) half * 86400.0; /* engine paths carry ages in seconds */
        a->path.lookback = a->lookback_days * 86400;
        return TP_OK;
}

static tp_rc parse_weakest(tp_param_fn get, void *arg, tp_report_args *a, tp_err *err) {
        const char *m = get(arg, "metric"), *lim = get(arg, "limit");

        a->metric = TP_METRIC_NPS;
        a->limit = 10;
        a->now = tp_time_now();
        if (m && strcmp(m, "nps") != 0 && strcmp(m, "csat") != 0)
                return tp_err_setc(err, TP_INVALID, "invalid_value", "metric",
                                   "'metric' must be nps or csat for the weakest touchpoints");
        if (m && strcmp(m, "csat") == 0)
                a->metric = TP_METRIC_CSAT;
        if (lim && (tp_parse_int(lim, "limit", &a->limit, err) != TP_OK || a->limit < 1 || a->limit > 1000))
                return tp_err_setc(err, TP_INVALID, "invalid_value", "limit", "'limit' must be a whole number from 1 to 1000");
        return TP_OK;
}

tp_rc tp_report_parse(tp_report_kind kind, tp_param_fn get, void *arg, tp_catalog *cat, int32_t tz,
                      tp_report_args *a, tp_err *err) {
        int64_t from = INT64_MIN, to = INT64_MAX;
        tp_rc rc;

        memset(a, 0, sizeof(*a));
        a->kind = kind;
        a->tz = tz;
        tp_engine_scores_query_init(&a->scores);
        tp_engine_path_query_init(&a->path);
        if ((rc = tp_report_parse_when(get, arg, "from", tz, &from, err)) != TP_OK ||
            (rc = tp_report_parse_when(get, arg, "to", tz, &to, err)) != TP_OK)
                return rc;
        if (from >= to)
                return tp_err_setc(err, TP_INVALID, "invalid_value", "to", "'to' must be after 'from'");
        a->scores.from = a->path.from = from;
        a->scores.to = a->path.to = to;
        if (kind == TP_REPORT_SCORES || kind == TP_REPORT_THEMES)
                return parse_scores(get, arg, cat, a, err);
        /* Every other question takes the same filters: path questions look at
         * the events of the channels, segments and attribute values asked
         * (engine.h, tp_engine_filter), the others at those answers. */
        if ((rc = parse_filters(get, arg, a, err)) != TP_OK)
                return rc;
        a->path.filter = a->filter;
        if (kind == TP_REPORT_ATTRIBUTION)
                return parse_attribution(get, arg, cat, a, err);
        if (kind == TP_REPORT_WEAKEST)
                return parse_weakest(get, arg, a, err);
        if (kind == TP_REPORT_DRIVERS) {
                /* touchpoint= filters the predictors, as it filters scores. */
                const char *tp = get(arg, "touchpoint");
                if (tp) {
                        char *copy = tp_strdup(tp), *items[TP_REPORT_MAX_LIST];
                        size_t n = 0;
                        if (!copy)
                                return tp_err_set(err, TP_NOMEM, "out of memory");
                        rc = split_list("touchpoint", copy, items, &n, err);
                        for (size_t i = 0; i < n && rc == TP_OK; i++)
                                if (tp_catalog_find(cat, items[i], &a->tps[i], NULL) != TP_OK)
                                        rc = tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint",
                                                         "unknown touchpoint '%.64s'", items[i]);
                        tp_free(copy);
                        if (rc != TP_OK)
                                return rc;
                        if (n) {
                                a->scores.touchpoints = a->tps;
                                a->scores.ntouchpoints = n;
                        }
                }
                return tp_report_parse_drivers(get, arg, cat, a, err);
        }
        if (kind >= TP_REPORT_FUNNEL)
                return tp_report_parse_journey(kind, get, arg, cat, a, err);
        return TP_OK;
}

void tp_report_args_done(tp_report_args *a) {
        tp_free(a->channel_text);
        a->channel_text = NULL;
        tp_free(a->segment_text);
        a->segment_text = NULL;
        tp_free(a->attr_text);
        a->attr_text = NULL;
}

static json_t *attribution_json(const tp_engine_last_touch *r, tp_catalog *cat, long long lookback_days) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < r->nrows; i++) {
                char key[64];
                tp_catalog_key_of(cat, r->rows[i].touchpoint, key, sizeof(key));
                if (json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "touchpoint", key, "conversions",
                                                         (json_int_t) r->rows[i].purchases, "value",
                                                         (json_int_t) r->rows[i].revenue)) != 0) {
                        json_decref(arr);
                        return NULL;
                }
        }
        if (!arr)
                return NULL;
        return json_pack("{s:s, s:s, s:I, s:o, s:{s:I, s:I}}", "model", "last", "conversion", "purchase",
                         "lookback_days", (json_int_t) lookback_days, "touchpoints", arr, "unattributed",
                         "conversions", (json_int_t) r->unattributed, "value", (json_int_t) r->unattributed_revenue);
}

static json_t *multi_touch_json(const tp_attrib_result *r, tp_catalog *cat, const tp_report_args *a) {
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < r->n; i++) {
                char key[64];
                if (r->conversions[i] == 0 && r->value[i] == 0)
                        continue;
                tp_catalog_key_of(cat, r->touchpoints[i], key, sizeof(key));
                if (json_array_append_new(arr, json_pack("{s:s, s:f, s:f}", "touchpoint", key, "conversions",
                                                         r->conversions[i], "value", r->value[i])) != 0) {
                        json_decref(arr);
                        return NULL;
                }
        }
        if (!arr)
                return NULL;
        return json_pack("{s:s, s:s, s:I, s:o, s:{s:f, s:f}}", "model", model_names[a->model], "conversion",
                         a->conversion, "lookback_days", (json_int_t) a->lookback_days, "touchpoints", arr,
                         "unattributed", "conversions", r->unattributed_conversions, "value",
                         r->unattributed_value);
}

/* Every model but last touch (which has a rollup) builds the customers' paths. */
static tp_rc run_multi_touch(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json,
                             tp_err *err) {
        tp_attrib_params p = a->attrib;
        tp_attrib_result *r = NULL;
        tp_rc rc;

        if (a->model == TP_ATTRIB_LAST_NON_DIRECT && a->direct_tp) {
                /* The model names the direct touchpoint by the engine's index,
                 * which a first run tells. */
                rc = tp_engine_attribution_run(e, &a->path, TP_ATTRIB_LAST, &p, &r, err);
                if (rc != TP_OK)
                        return rc;
                for (size_t i = 0; i < r->n; i++)
                        if (r->touchpoints[i] == a->direct_tp)
                                p.direct = (int) i;
                tp_attrib_result_free(r);
                r = NULL;
        }
        rc = tp_engine_attribution_run(e, &a->path, a->model, &p, &r, err);
        if (rc != TP_OK)
                return rc;
        *ret_json = multi_touch_json(r, cat, a);
        tp_attrib_result_free(r);
        return *ret_json ? TP_OK : tp_err_set(err, TP_NOMEM, "out of memory");
}

tp_rc tp_report_run(tp_engine *e, tp_catalog *cat, const tp_report_args *a, json_t **ret_json, tp_err *err) {
        json_t *j = NULL;
        tp_rc rc;

        if (a->kind == TP_REPORT_WEAKEST)
                return tp_report_weakest(e, cat, a, ret_json, err);
        if (a->kind == TP_REPORT_DRIVERS)
                return tp_report_drivers(e, cat, a, ret_json, err);
        if (a->kind == TP_REPORT_THEMES)
                return tp_report_themes(e, cat, a, ret_json, err);
        if (a->kind >= TP_REPORT_FUNNEL)
                return tp_report_run_journey(e, cat, a, ret_json, err);
        /* The last-touch rollup counts purchases; another conversion type takes
         * the path builder, like the other models. */
        if (a->kind == TP_REPORT_ATTRIBUTION && (a->model != TP_ATTRIB_LAST || strcmp(a->conversion, "purchase") != 0))
                return run_multi_touch(e, cat, a, ret_json, err);
        if (a->kind == TP_REPORT_EXPECTATIONS)
                return tp_report_expectations(e, cat, a, ret_json, err);
        if (a->kind == TP_REPORT_SCORES) {
                tp_engine_scores *r = NULL;
                rc = tp_engine_scores_run(e, &a->scores, &r, err);
                if (rc == TP_OK)
                        j = tp_engine_scores_json(r, tp_catalog_key_fn, cat);
                if (j && a->scores.group == TP_ENGINE_GROUP_STAGE)
                        j = tp_report_name_stages(j, "rows", a);
                tp_engine_scores_free(r);
        } else if (a->kind == TP_REPORT_TRANSITIONS) {
                tp_engine_transitions *r = NULL;
                rc = tp_engine_transitions_run(e, &a->path, &r, err);
                if (rc == TP_OK)
                        j = tp_engine_transitions_json(r, tp_catalog_key_fn, cat);
                tp_engine_transitions_free(r);
        } else {
                tp_engine_last_touch *r = NULL;
                rc = tp_engine_last_touch_run(e, &a->path, &r, err);
                if (rc == TP_OK)
                        j = attribution_json(r, cat, a->lookback_days);
                tp_engine_last_touch_free(r);
        }
        if (rc != TP_OK)
                return rc;
        if (!j)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        *ret_json = j;
        return TP_OK;
}
