/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "service/annotate.h"
#include "service/validate.h"

tp_rc tp_check_id(const char *s, const char *field, size_t max, tp_err *err) {
        size_t n = strlen(s);

        if (n == 0)
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", field, "'%s' must not be empty", field);
        if (n > max)
                return tp_err_setc(err, TP_UNPROCESSABLE, "too_long", field, "'%s' is %zu bytes; the limit is %zu",
                                   field, n, max);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f)
                        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", field,
                                           "'%s' must not contain control characters", field);
        }
        return TP_OK;
}

tp_rc tp_check_event_type(const char *s, tp_err *err) {
        size_t n = strlen(s);

        if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
                goto bad;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        goto bad;
        }
        return TP_OK;
bad:
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "type",
                           "'type' must be 1-32 characters of a-z, 0-9 and _, starting with a letter "
                           "(view, click, visit, call, purchase, delivery, complaint, ...)");
}

tp_rc tp_check_channel(const char *s, tp_err *err) {
        if (tp_channel_valid(s))
                return TP_OK;
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "channel", "unknown channel '%.64s': use one of %s",
                           s, tp_channel_list());
}

tp_rc tp_check_currency(const char *s, tp_err *err) {
        if (strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
            s[2] <= 'Z')
                return TP_OK;
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "currency",
                           "'currency' must be an ISO 4217 code such as VND or USD");
}

tp_rc tp_check_language(const char *s, tp_err *err) {
        size_t n = strlen(s), i = 0;

        while (i < n && s[i] >= 'a' && s[i] <= 'z')
                i++;
        if ((i == 2 || i == 3) && (i == n || (s[i] == '-' && n - i >= 3 && n - i <= 9)))
                return TP_OK;
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "language",
                           "'language' must be a language tag such as vi or en");
}

tp_rc tp_check_score(tp_metric m, long long score, tp_err *err) {
        static const int lo[_TP_METRIC_MAX] = { 0, 1, 1, 0, 1, 1 };
        static const int hi[_TP_METRIC_MAX] = { 10, 5, 7, 2, 7, 5 };

        if (score >= lo[m] && score <= hi[m])
                return TP_OK;
        return tp_err_setc(err, TP_UNPROCESSABLE, "out_of_range", "score",
                           "'score' %lld is out of range for %s: allowed %d to %d", score, tp_metric_name(m), lo[m],
                           hi[m]);
}

tp_rc tp_check_time(int64_t ts, const tp_vctx *v, tp_err *err) {
        if (ts > v->now + v->lim->future_skew)
                return tp_err_setc(err, TP_UNPROCESSABLE, "out_of_range", "time",
                                   "'time' lies more than %ld seconds in the future; check the sender's clock",
                                   v->lim->future_skew);
        return TP_OK;
}

tp_rc tp_check_touchpoint(const tp_vctx *v, const char *key, int64_t *ret_id, const char **ret_channel,
                          tp_err *err) {
        if (tp_catalog_find(v->cat, key, ret_id, ret_channel) == TP_OK)
                return TP_OK;
        if (v->create_touchpoints && tp_key_valid(key)) {
                *ret_id = 0;
                if (ret_channel)
                        *ret_channel = NULL;
                return TP_OK;
        }
        return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint",
                           "unknown touchpoint '%.64s': define it in a journey first (PUT /v1/journeys/{key})", key);
}

tp_rc tp_parse_goal(const char *s, int *ret_score, tp_err *err) {
        static const char *const names[] = { "no", "partly", "yes" };

        for (int i = 0; i < 3; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *ret_score = i;
                        return TP_OK;
                }
        }
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "score",
                           "'score' for goal must be \"yes\", \"partly\" or \"no\"");
}

tp_rc tp_parse_int(const char *s, const char *field, long long *ret, tp_err *err) {
        char *end = NULL;
        long long v;

        errno = 0;
        if (!*s || *s == ' ' || *s == '+')
                goto bad;
        v = strtoll(s, &end, 10);
        if (errno || !end || *end)
                goto bad;
        *ret = v;
        return TP_OK;
bad:
        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", field, "'%s' must be a whole number", field);
}

void tp_gen_id(char *out) {
        unsigned char r[12];

        randombytes_buf(r, sizeof(r));
        memcpy(out, "tp-", 3);
        sodium_bin2hex(out + 3, 25, r, sizeof(r));
}

/* ---- JSON items ---------------------------------------------------------- */

/* A string member: absent or null leaves *ret NULL; required makes absence an error. */
static tp_rc get_str(json_t *o, const char *name, int required, const char **ret, tp_err *err) {
        json_t *j = json_object_get(o, name);

        *ret = NULL;
        if (!j || json_is_null(j)) {
                if (required)
                        return tp_err_setc(err, TP_UNPROCESSABLE, "missing", name, "'%s' is required", name);
                return TP_OK;
        }
        if (!json_is_string(j))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", name, "'%s' must be a string, not %s",
                                   name, tp_json_type_name(j));
        *ret = json_string_value(j);
        return TP_OK;
}

static tp_rc get_int(json_t *o, const char *name, int required, int *ret_has, long long *ret, tp_err *err) {
        json_t *j = json_object_get(o, name);

        *ret_has = 0;
        if (!j || json_is_null(j)) {
                if (required)
                        return tp_err_setc(err, TP_UNPROCESSABLE, "missing", name, "'%s' is required", name);
                return TP_OK;
        }
        if (!json_is_integer(j))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", name,
                                   "'%s' must be a whole number, not %s", name, tp_json_type_name(j));
        *ret = json_integer_value(j);
        *ret_has = 1;
        return TP_OK;
}

static tp_rc only_known(json_t *o, const char *const *known, tp_err *err) {
        const char *k;
        json_t *val;
        size_t found = 0;

        /* Hash lookups for the known names first; the member-by-member search
         * below only runs for an item that does have an unknown field. */
        for (const char *const *p = known; *p; p++)
                found += json_object_get(o, *p) != NULL;
        if (found == json_object_size(o))
                return TP_OK;
        json_object_foreach(o, k, val) {
                int ok = 0;
                for (const char *const *p = known; *p; p++)
                        if (strcmp(k, *p) == 0)
                                ok = 1;
                if (!ok)
                        return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_field", k, "unknown field '%.48s'", k);
        }
        return TP_OK;
}

static tp_rc common_fields(json_t *o, const tp_vctx *v, const char **ret_id, const char **ret_customer,
                           int customer_required, int64_t *ret_tp, const char **ret_channel, int64_t *ret_ts,
                           char *id_buf, tp_err *err) {
        const char *id, *customer, *tp, *channel, *tpchan = NULL, *time;
        tp_rc rc;

        if ((rc = get_str(o, "id", 0, &id, err)) != TP_OK)
                return rc;
        if (id && (rc = tp_check_id(id, "id", v->lim->max_id, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "customer", customer_required, &customer, err)) != TP_OK)
                return rc;
        if (customer && (rc = tp_check_id(customer, "customer", v->lim->max_id, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "touchpoint", 1, &tp, err)) != TP_OK)
                return rc;
        if ((rc = tp_check_touchpoint(v, tp, ret_tp, &tpchan, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "channel", 0, &channel, err)) != TP_OK)
                return rc;
        if (channel && (rc = tp_check_channel(channel, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "time", 0, &time, err)) != TP_OK)
                return rc;
        *ret_ts = v->now;
        if (time) {
                if ((rc = tp_time_parse_rfc3339(time, "time", ret_ts, err)) != TP_OK) {
                        if (err)
                                err->code = "invalid_value";
                        return rc;
                }
                if ((rc = tp_check_time(*ret_ts, v, err)) != TP_OK)
                        return rc;
        }
        if (!id) {
                tp_gen_id(id_buf);
                id = id_buf;
        }
        *ret_id = id;
        *ret_customer = customer;
        /* A touchpoint's own channel is the default: a store visit happens in the store. */
        *ret_channel = channel ? channel : tpchan;
        return TP_OK;
}

tp_rc tp_validate_event(json_t *o, const tp_vctx *v, tp_event *ret_ev, char **ret_props, char *id_buf,
                        tp_err *err) {
        static const char *const known[] = { "id", "customer", "touchpoint", "channel", "type", "time",
                                             "value", "currency", "properties", NULL };
        tp_event ev = { 0 };
        const char *currency;
        long long value = 0;
        int has_value = 0;
        json_t *props;
        char *ptext = NULL;
        size_t plen = 0;
        tp_rc rc;

        if (!json_is_object(o))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", "", "an event must be a JSON object, not %s",
                                   tp_json_type_name(o));
        if ((rc = only_known(o, known, err)) != TP_OK)
                return rc;
        rc = common_fields(o, v, &ev.id, &ev.customer, 1, &ev.touchpoint, &ev.channel, &ev.ts, id_buf, err);
        if (rc != TP_OK)
                return rc;
        if ((rc = get_str(o, "type", 1, &ev.type, err)) != TP_OK)
                return rc;
        if ((rc = tp_check_event_type(ev.type, err)) != TP_OK)
                return rc;
        if ((rc = get_int(o, "value", 0, &has_value, &value, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "currency", 0, &currency, err)) != TP_OK)
                return rc;
        if (currency && !has_value)
                return tp_err_setc(err, TP_UNPROCESSABLE, "missing", "value", "'currency' given without 'value'");
        if (currency && (rc = tp_check_currency(currency, err)) != TP_OK)
                return rc;
        if (has_value && (value < -1000000000000000LL || value > 1000000000000000LL))
                return tp_err_setc(err, TP_UNPROCESSABLE, "out_of_range", "value",
                                   "'value' must lie within +-10^15 minor units");
        ev.has_value = has_value;
        ev.value = value;
        ev.currency = has_value ? (currency ? currency : "VND") : NULL;
        props = json_object_get(o, "properties");
        if (props && !json_is_null(props)) {
                if (!json_is_object(props))
                        return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", "properties",
                                           "'properties' must be an object, not %s", tp_json_type_name(props));
                ptext = tp_json_dump(props, &plen);
                if (!ptext)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                if (plen > v->lim->max_properties) {
                        tp_free(ptext);
                        return tp_err_setc(err, TP_UNPROCESSABLE, "too_long", "properties",
                                           "'properties' is %zu bytes as JSON; the limit is %zu", plen,
                                           v->lim->max_properties);
                }
        }
        ev.properties = ptext;
        *ret_ev = ev;
        *ret_props = ptext;
        return TP_OK;
}

tp_rc tp_validate_response(json_t *o, const tp_vctx *v, tp_response *ret_r, char *id_buf, tp_err *err) {
        static const char *const known[] = { "id", "customer", "touchpoint", "channel", "metric", "score",
                                             "comment", "language", "time", "event", NULL };
        tp_response r = { 0 };
        const char *metric;
        json_t *score;
        tp_rc rc;

        if (!json_is_object(o))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", "",
                                   "a response must be a JSON object, not %s", tp_json_type_name(o));
        if ((rc = only_known(o, known, err)) != TP_OK)
                return rc;
        rc = common_fields(o, v, &r.id, &r.customer, 0, &r.touchpoint, &r.channel, &r.ts, id_buf, err);
        if (rc != TP_OK)
                return rc;
        if ((rc = get_str(o, "metric", 1, &metric, err)) != TP_OK)
                return rc;
        if (tp_metric_parse(metric, &r.metric) != TP_OK)
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "metric",
                                   "unknown metric '%.32s': use nps, csat, ces, goal, ease or emotion", metric);
        score = json_object_get(o, "score");
        if (!score || json_is_null(score))
                return tp_err_setc(err, TP_UNPROCESSABLE, "missing", "score", "'score' is required");
        if (r.metric == TP_METRIC_GOAL && json_is_string(score)) {
                if ((rc = tp_parse_goal(json_string_value(score), &r.score, err)) != TP_OK)
                        return rc;
        } else if (json_is_integer(score)) {
                json_int_t s = json_integer_value(score);
                if ((rc = tp_check_score(r.metric, s, err)) != TP_OK)
                        return rc;
                r.score = (int) s;
        } else {
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_type", "score",
                                   "'score' must be a whole number, not %s", tp_json_type_name(score));
        }
        if ((rc = get_str(o, "comment", 0, &r.comment, err)) != TP_OK)
                return rc;
        if (r.comment && strlen(r.comment) > v->lim->max_comment)
                return tp_err_setc(err, TP_UNPROCESSABLE, "too_long", "comment",
                                   "'comment' is %zu bytes; the limit is %zu", strlen(r.comment),
                                   v->lim->max_comment);
        if ((rc = get_str(o, "language", 0, &r.language, err)) != TP_OK)
                return rc;
        if (r.language && (rc = tp_check_language(r.language, err)) != TP_OK)
                return rc;
        if ((rc = get_str(o, "event", 0, &r.event, err)) != TP_OK)
                return rc;
        if (r.event && (rc = tp_check_id(r.event, "event", v->lim->max_id, err)) != TP_OK)
                return rc;
        tp_annotate_response(v->ann, &r);
        *ret_r = r;
        return TP_OK;
}
