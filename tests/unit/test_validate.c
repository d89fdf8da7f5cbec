/* SPDX-License-Identifier: MIT */
/*
 * test_validate.c -- the field rules of events and responses, on parsed JSON,
 * against a catalogue loaded from a real (in-memory) store.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "service/catalog.h"
#include "service/config.h"
#include "service/journey.h"
#include "service/validate.h"
#include "store/store.h"

#define NOW ((int64_t) 1714557600) /* 2024-05-01T10:00:00Z */

static const char journey_json[] =
        "{\"key\": \"shop\", \"stages\": [{\"key\": \"buy\", \"touchpoints\": ["
        "{\"key\": \"website\", \"channel\": \"web\"},"
        "{\"key\": \"store\", \"channel\": \"store\"},"
        "{\"key\": \"nochan\"}]}]}";

typedef struct fx {
        tp_store *s;
        tp_catalog *cat;
        tp_config cfg;
        tp_vctx v;
        int64_t id_website, id_store, id_nochan;
} fx;

static int setup(void **state) {
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };
        json_t *doc = NULL;
        int n = 0;

        assert_non_null(f);
        assert_int_equal(tp_store_open("sqlite::memory:", 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        assert_int_equal(tp_json_parse(journey_json, strlen(journey_json), 32, &doc, &err), TP_OK);
        if (tp_journey_apply(f->s, doc, NULL, &n, &err) != TP_OK)
                fail_msg("journey: %s", err.msg);
        json_decref(doc);
        assert_int_equal(n, 3);
        assert_int_equal(tp_catalog_new(&f->cat, &err), TP_OK);
        assert_int_equal(tp_catalog_load(f->cat, f->s, &err), TP_OK);
        assert_int_equal(tp_catalog_count(f->cat), 3);
        assert_int_equal(tp_catalog_find(f->cat, "website", &f->id_website, NULL), TP_OK);
        assert_int_equal(tp_catalog_find(f->cat, "store", &f->id_store, NULL), TP_OK);
        assert_int_equal(tp_catalog_find(f->cat, "nochan", &f->id_nochan, NULL), TP_OK);
        tp_config_init(&f->cfg);
        f->v.cat = f->cat;
        f->v.lim = &f->cfg.lim;
        f->v.now = NOW;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fx *f = *state;

        tp_catalog_free(f->cat);
        tp_store_close(f->s);
        free(f);
        return 0;
}

static json_t *parse(const char *text) {
        json_t *o = NULL;
        tp_err err = { 0 };

        if (tp_json_parse(text, strlen(text), 32, &o, &err) != TP_OK)
                fail_msg("test JSON does not parse: %s: %s", text, err.msg);
        return o;
}

/* An event that must fail with field and code; the out-parameters stay as they were. */
static void ev_fails(fx *f, const char *text, const char *field, const char *code) {
        json_t *o = parse(text);
        tp_event ev, before;
        char *props = (char *) 0x1;
        char id_buf[28];
        tp_err err = { 0 };
        tp_rc rc;

        memset(&ev, 0x5a, sizeof(ev));
        before = ev;
        rc = tp_validate_event(o, &f->v, &ev, &props, id_buf, &err);
        if (rc != TP_UNPROCESSABLE)
                fail_msg("%s: got %s, want unprocessable", text, tp_rc_code(rc));
        if (strcmp(err.field, field) != 0 || strcmp(tp_err_code(&err), code) != 0)
                fail_msg(
                        "%s: got field '%s' code '%s' (%s), want '%s' '%s'",
                        text,
                        err.field,
                        tp_err_code(&err),
                        err.msg,
                        field,
                        code);
        assert_int_equal(err.rc, TP_UNPROCESSABLE);
        assert_string_not_equal(err.msg, "");
        assert_memory_equal(&ev, &before, sizeof(ev));
        assert_ptr_equal(props, (char *) 0x1);
        json_decref(o);
}

static void rs_fails(fx *f, const char *text, const char *field, const char *code) {
        json_t *o = parse(text);
        tp_response r, before;
        char id_buf[28];
        tp_err err = { 0 };
        tp_rc rc;

        memset(&r, 0x5a, sizeof(r));
        before = r;
        rc = tp_validate_response(o, &f->v, &r, id_buf, &err);
        if (rc != TP_UNPROCESSABLE)
                fail_msg("%s: got %s, want unprocessable", text, tp_rc_code(rc));
        if (strcmp(err.field, field) != 0 || strcmp(tp_err_code(&err), code) != 0)
                fail_msg(
                        "%s: got field '%s' code '%s' (%s), want '%s' '%s'",
                        text,
                        err.field,
                        tp_err_code(&err),
                        err.msg,
                        field,
                        code);
        assert_memory_equal(&r, &before, sizeof(r));
        json_decref(o);
}

/* A valid event; *ret_o keeps the strings alive, the caller frees both. */
static tp_event ev_ok(fx *f, const char *text, json_t **ret_o, char **ret_props, char *id_buf) {
        json_t *o = parse(text);
        tp_event ev = { 0 };
        tp_err err = { 0 };

        if (tp_validate_event(o, &f->v, &ev, ret_props, id_buf, &err) != TP_OK)
                fail_msg("%s rejected: %s (field %s)", text, err.msg, err.field);
        *ret_o = o;
        return ev;
}

static tp_response rs_ok(fx *f, const char *text, json_t **ret_o, char *id_buf) {
        json_t *o = parse(text);
        tp_response r = { 0 };
        tp_err err = { 0 };

        if (tp_validate_response(o, &f->v, &r, id_buf, &err) != TP_OK)
                fail_msg("%s rejected: %s (field %s)", text, err.msg, err.field);
        *ret_o = o;
        return r;
}

static int score_of(fx *f, const char *text) {
        char id_buf[28];
        json_t *o = NULL;
        tp_response r = rs_ok(f, text, &o, id_buf);

        json_decref(o);
        return r.score;
}

#define EV(extra) \
        "{\"id\": \"e1\", \"customer\": \"c1\", \"touchpoint\": \"website\", \"type\": \"view\"" extra "}"
#define RS(extra) "{\"id\": \"r1\", \"touchpoint\": \"website\"" extra "}"

/* ---- events ------------------------------------------------------------------ */

static void test_event_valid_full(void **state) {
        fx *f = *state;
        char id_buf[28] = "untouched";
        char *props = NULL;
        json_t *o = NULL;
        tp_event ev = ev_ok(
                f,
                "{\"id\": \"order-1\", \"customer\": \"Nguy\xe1\xbb\x85n-42\", \"touchpoint\": \"store\","
                " \"channel\": \"phone\", \"type\": \"purchase\", \"time\": \"2024-05-01T17:00:00+07:00\","
                " \"value\": 250000, \"currency\": \"VND\", \"properties\": { \"sku\" : \"A1\", \"n\": [1, 2] }}",
                &o,
                &props,
                id_buf);

        assert_string_equal(ev.id, "order-1");
        assert_string_equal(ev.customer, "Nguy\xe1\xbb\x85n-42");
        assert_int_equal(ev.touchpoint, f->id_store);
        assert_string_equal(ev.channel, "phone");
        assert_string_equal(ev.type, "purchase");
        assert_int_equal(ev.ts, NOW);
        assert_int_equal(ev.has_value, 1);
        assert_int_equal(ev.value, 250000);
        assert_string_equal(ev.currency, "VND");
        assert_non_null(props);
        assert_ptr_equal(ev.properties, props);
        assert_string_equal(props, "{\"sku\":\"A1\",\"n\":[1,2]}");
        assert_string_equal(id_buf, "untouched"); /* an id was given */
        tp_free(props);
        json_decref(o);
}

static void test_event_defaults(void **state) {
        fx *f = *state;
        char id_buf[28];
        char *props = (char *) 0x1;
        json_t *o = NULL;
        tp_event ev;

        /* No channel: the touchpoint's own; no time: now; no value: no currency. */
        ev = ev_ok(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"store\", \"type\": \"visit\"}",
                &o,
                &props,
                id_buf);
        assert_string_equal(ev.channel, "store");
        assert_int_equal(ev.ts, NOW);
        assert_int_equal(ev.has_value, 0);
        assert_null(ev.currency);
        assert_null(ev.properties);
        assert_null(props);
        json_decref(o);

        /* A touchpoint without a channel leaves it unset. */
        ev = ev_ok(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"nochan\", \"type\": \"visit\"}",
                &o,
                &props,
                id_buf);
        assert_null(ev.channel);
        assert_int_equal(ev.touchpoint, f->id_nochan);
        json_decref(o);

        /* A value without a currency is in VND; null members count as absent. */
        ev = ev_ok(f, EV(", \"value\": -5, \"channel\": null, \"properties\": null"), &o, &props, id_buf);
        assert_int_equal(ev.has_value, 1);
        assert_int_equal(ev.value, -5);
        assert_string_equal(ev.currency, "VND");
        assert_string_equal(ev.channel, "web");
        assert_null(props);
        json_decref(o);
}

static void test_event_generated_id(void **state) {
        fx *f = *state;
        char id1[28], id2[28];
        char *props = NULL;
        json_t *o1 = NULL, *o2 = NULL;
        tp_event a, b;
        const char *noid = "{\"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}";

        a = ev_ok(f, noid, &o1, &props, id1);
        b = ev_ok(f, noid, &o2, &props, id2);
        assert_ptr_equal(a.id, id1);
        assert_int_equal(strlen(a.id), 27);
        assert_memory_equal(a.id, "tp-", 3);
        for (size_t i = 3; i < 27; i++)
                assert_non_null(strchr("0123456789abcdef", a.id[i]));
        assert_string_not_equal(a.id, b.id);
        json_decref(o1);
        json_decref(o2);
}

static void test_event_touchpoint_rules(void **state) {
        fx *f = *state;

        ev_fails(f, "{\"id\": \"e\", \"customer\": \"c\", \"type\": \"view\"}", "touchpoint", "missing");
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"type\": \"view\", \"touchpoint\": null}",
                "touchpoint",
                "missing");
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"type\": \"view\", \"touchpoint\": \"atm\"}",
                "touchpoint",
                "unknown_touchpoint");
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"type\": \"view\", \"touchpoint\": 7}",
                "touchpoint",
                "invalid_type");
}

static void test_event_field_rules(void **state) {
        fx *f = *state;

        ev_fails(f, "{\"id\": \"e\", \"touchpoint\": \"website\", \"type\": \"view\"}", "customer", "missing");
        ev_fails(f, "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"website\"}", "type", "missing");
        ev_fails(f, EV(", \"colour\": \"red\""), "colour", "unknown_field");
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"View\"}",
                "type",
                "invalid_value");
        ev_fails(f, EV(", \"channel\": \"fax\""), "channel", "invalid_value");
        ev_fails(f, EV(", \"channel\": 3"), "channel", "invalid_type");
        ev_fails(f, EV(", \"currency\": \"VND\""), "value", "missing");
        ev_fails(f, EV(", \"value\": 10, \"currency\": \"vnd\""), "currency", "invalid_value");
        ev_fails(f, EV(", \"value\": 10.5"), "value", "invalid_type");
        ev_fails(f, EV(", \"value\": \"10\""), "value", "invalid_type");
        ev_fails(f, EV(", \"value\": 1000000000000001"), "value", "out_of_range");
        ev_fails(f, EV(", \"properties\": [1, 2]"), "properties", "invalid_type");
        ev_fails(f, EV(", \"properties\": \"{}\""), "properties", "invalid_type");
        ev_fails(f, "[1]", "", "invalid_type");
}

static void test_event_id_rules(void **state) {
        fx *f = *state;
        char text[512], id[200];
        char id_buf[28];
        char *props = NULL;
        json_t *o = NULL;
        tp_event ev;

        memset(id, 'x', 129);
        id[129] = '\0';
        (void) snprintf(
                text,
                sizeof(text),
                "{\"id\": \"%s\", \"customer\": \"c\", \"touchpoint\": \"website\", "
                "\"type\": \"view\"}",
                id);
        ev_fails(f, text, "id", "too_long");
        id[128] = '\0'; /* exactly the limit */
        (void) snprintf(
                text,
                sizeof(text),
                "{\"id\": \"%s\", \"customer\": \"c\", \"touchpoint\": \"website\", "
                "\"type\": \"view\"}",
                id);
        ev = ev_ok(f, text, &o, &props, id_buf);
        assert_int_equal(strlen(ev.id), 128);
        json_decref(o);

        ev_fails(
                f,
                "{\"id\": \"a\\u0001b\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "id",
                "invalid_value");
        ev_fails(
                f,
                "{\"id\": \"a\\nb\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "id",
                "invalid_value");
        ev_fails(
                f,
                "{\"id\": \"a\\u007fb\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "id",
                "invalid_value");
        ev_fails(
                f,
                "{\"id\": \"\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "id",
                "invalid_value");
        ev_fails(
                f,
                "{\"id\": 5, \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "id",
                "invalid_type");
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\\t1\", \"touchpoint\": \"website\", \"type\": \"view\"}",
                "customer",
                "invalid_value");
}

static void test_event_time_rules(void **state) {
        fx *f = *state;
        char text[256], stamp[32];
        char id_buf[28];
        char *props = NULL;
        json_t *o = NULL;
        tp_event ev;

        ev = ev_ok(f, EV(", \"time\": \"2024-05-01T10:00:00-03:30\""), &o, &props, id_buf);
        assert_int_equal(ev.ts, 1714570200);
        json_decref(o);
        ev = ev_ok(f, EV(", \"time\": \"2024-04-30T23:59:59.75Z\""), &o, &props, id_buf);
        assert_int_equal(ev.ts, NOW - 36001);
        json_decref(o);

        /* Up to the skew is accepted, one second beyond is not. */
        tp_time_format_rfc3339(NOW + f->cfg.lim.future_skew, stamp, sizeof(stamp));
        (void) snprintf(text, sizeof(text), EV(", \"time\": \"%s\""), stamp);
        ev = ev_ok(f, text, &o, &props, id_buf);
        assert_int_equal(ev.ts, NOW + 86400);
        json_decref(o);
        tp_time_format_rfc3339(NOW + f->cfg.lim.future_skew + 1, stamp, sizeof(stamp));
        (void) snprintf(text, sizeof(text), EV(", \"time\": \"%s\""), stamp);
        ev_fails(f, text, "time", "out_of_range");

        ev_fails(f, EV(", \"time\": \"yesterday\""), "time", "invalid_value");
        ev_fails(f, EV(", \"time\": \"2023-02-29T00:00:00Z\""), "time", "invalid_value");
        ev_fails(f, EV(", \"time\": 1714557600"), "time", "invalid_type");
}

static void test_event_time_error_without_err(void **state) {
        fx *f = *state;
        json_t *o = parse(EV(", \"time\": \"not a time\""));
        char id_buf[28];
        char *props = (char *) 0x1;
        tp_event ev;

        /* err may be NULL: the result code alone is reported. */
        assert_int_equal(tp_validate_event(o, &f->v, &ev, &props, id_buf, NULL), TP_UNPROCESSABLE);
        assert_ptr_equal(props, (char *) 0x1);
        json_decref(o);
}

static void test_event_properties_limit(void **state) {
        fx *f = *state;
        char id_buf[28];
        char *props = NULL;
        json_t *o = NULL;
        tp_event ev;

        f->cfg.lim.max_properties = 20;
        /* {"k":"0123456789ab"} is exactly 20 bytes compact. */
        ev = ev_ok(f, EV(", \"properties\": { \"k\" : \"0123456789ab\" }"), &o, &props, id_buf);
        assert_string_equal(ev.properties, "{\"k\":\"0123456789ab\"}");
        tp_free(props);
        json_decref(o);
        ev_fails(f, EV(", \"properties\": {\"k\": \"0123456789abc\"}"), "properties", "too_long");
}

static void test_event_create_touchpoints(void **state) {
        fx *f = *state;
        char id_buf[28];
        char *props = NULL;
        json_t *o = NULL;
        tp_event ev;

        f->v.create_touchpoints = 1;
        ev = ev_ok(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"new-kiosk\", \"type\": \"view\"}",
                &o,
                &props,
                id_buf);
        assert_int_equal(ev.touchpoint, 0);
        assert_null(ev.channel);
        json_decref(o);
        /* Known keys still resolve; invalid keys are still unknown. */
        ev = ev_ok(f, EV(""), &o, &props, id_buf);
        assert_int_equal(ev.touchpoint, f->id_website);
        json_decref(o);
        ev_fails(
                f,
                "{\"id\": \"e\", \"customer\": \"c\", \"touchpoint\": \"Bad Key\", \"type\": \"view\"}",
                "touchpoint",
                "unknown_touchpoint");
}

/* ---- responses --------------------------------------------------------------- */

static void test_response_valid(void **state) {
        fx *f = *state;
        char id_buf[28];
        json_t *o = NULL;
        tp_response r = rs_ok(
                f,
                "{\"id\": \"r1\", \"customer\": \"c1\", \"touchpoint\": \"store\", \"metric\": \"nps\","
                " \"score\": 9, \"comment\": \"Nh\xc3\xa2n vi\xc3\xaan t\xe1\xbb\x91t\", \"language\":"
                " \"vi\", \"time\": \"2024-05-01T17:00:00+07:00\", \"event\": \"order-1\"}",
                &o,
                id_buf);

        assert_string_equal(r.id, "r1");
        assert_string_equal(r.customer, "c1");
        assert_int_equal(r.touchpoint, f->id_store);
        assert_string_equal(r.channel, "store");
        assert_int_equal(r.metric, TP_METRIC_NPS);
        assert_int_equal(r.score, 9);
        assert_string_equal(r.language, "vi");
        assert_int_equal(r.ts, NOW);
        assert_string_equal(r.event, "order-1");
        json_decref(o);

        /* Anonymous, no comment, no language. */
        r = rs_ok(f, RS(", \"metric\": \"csat\", \"score\": 5"), &o, id_buf);
        assert_null(r.customer);
        assert_null(r.comment);
        assert_null(r.language);
        assert_null(r.event);
        assert_int_equal(r.metric, TP_METRIC_CSAT);
        json_decref(o);
}

static void test_response_nps_rules(void **state) {
        fx *f = *state;
        json_t *o = NULL;
        tp_err err = { 0 };

        assert_int_equal(score_of(f, RS(", \"metric\": \"nps\", \"score\": 0")), 0);
        assert_int_equal(score_of(f, RS(", \"metric\": \"nps\", \"score\": 10")), 10);
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 11"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": -1"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 10.5"), "score", "invalid_type");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 7.0"), "score", "invalid_type");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": \"7\""), "score", "invalid_type");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": true"), "score", "invalid_type");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 9223372036854775807"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": -9223372036854775808"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 4294967305"), "score", "out_of_range"); /* 2^32 + 9 */
        rs_fails(f, RS(", \"metric\": \"nps\""), "score", "missing");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": null"), "score", "missing");
        /* 2^63 does not even parse: jansson refuses integers that overflow. */
        o = (json_t *) 0x1;
        static const char big[] = RS(", \"metric\": \"nps\", \"score\": 9223372036854775808");
        assert_int_equal(tp_json_parse(big, strlen(big), 32, &o, &err), TP_BADJSON);
        assert_ptr_equal(o, (json_t *) 0x1);
        assert_non_null(strstr(err.msg, "too big"));
}

static void test_response_metric_rules(void **state) {
        fx *f = *state;

        assert_int_equal(score_of(f, RS(", \"metric\": \"ces\", \"score\": 1")), 1);
        assert_int_equal(score_of(f, RS(", \"metric\": \"ces\", \"score\": 7")), 7);
        rs_fails(f, RS(", \"metric\": \"ces\", \"score\": 0"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"ces\", \"score\": 8"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"csat\", \"score\": 0"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"csat\", \"score\": 6"), "score", "out_of_range");
        rs_fails(f, RS(", \"metric\": \"emotion\", \"score\": 6"), "score", "out_of_range");
        assert_int_equal(score_of(f, RS(", \"metric\": \"ease\", \"score\": 7")), 7);

        assert_int_equal(score_of(f, RS(", \"metric\": \"goal\", \"score\": \"yes\"")), 2);
        assert_int_equal(score_of(f, RS(", \"metric\": \"goal\", \"score\": \"partly\"")), 1);
        assert_int_equal(score_of(f, RS(", \"metric\": \"goal\", \"score\": \"no\"")), 0);
        assert_int_equal(score_of(f, RS(", \"metric\": \"goal\", \"score\": 2")), 2);
        rs_fails(f, RS(", \"metric\": \"goal\", \"score\": \"maybe\""), "score", "invalid_value");
        rs_fails(f, RS(", \"metric\": \"goal\", \"score\": \"Yes\""), "score", "invalid_value");
        rs_fails(f, RS(", \"metric\": \"goal\", \"score\": 3"), "score", "out_of_range");
        /* Words are for goal only. */
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": \"yes\""), "score", "invalid_type");

        rs_fails(f, RS(", \"metric\": \"happiness\", \"score\": 1"), "metric", "invalid_value");
        rs_fails(f, RS(", \"metric\": \"NPS\", \"score\": 1"), "metric", "invalid_value");
        rs_fails(f, RS(", \"score\": 1"), "metric", "missing");
        rs_fails(f, RS(", \"metric\": 1, \"score\": 1"), "metric", "invalid_type");
}

static void test_response_field_rules(void **state) {
        fx *f = *state;
        char text[400], comment[300];
        char id_buf[28];
        json_t *o = NULL;
        tp_response r;

        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"rating\": 5"), "rating", "unknown_field");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"type\": \"view\""), "type", "unknown_field");
        rs_fails(f, "{\"metric\": \"nps\", \"score\": 1}", "touchpoint", "missing");
        rs_fails(
                f,
                "{\"touchpoint\": \"nope\", \"metric\": \"nps\", \"score\": 1}",
                "touchpoint",
                "unknown_touchpoint");
        rs_fails(
                f,
                RS(", \"metric\": \"nps\", \"score\": 1, \"channel\": \"telegram\""),
                "channel",
                "invalid_value");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"comment\": 5"), "comment", "invalid_type");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"event\": \"a\\u0002\""), "event", "invalid_value");
        rs_fails(f, "\"just a string\"", "", "invalid_type");

        /* Comment length, at and past the limit. */
        f->cfg.lim.max_comment = 200;
        memset(comment, 'c', 201);
        comment[201] = '\0';
        (void) snprintf(
                text, sizeof(text), RS(", \"metric\": \"nps\", \"score\": 1, \"comment\": \"%s\""), comment);
        rs_fails(f, text, "comment", "too_long");
        comment[200] = '\0';
        (void) snprintf(
                text, sizeof(text), RS(", \"metric\": \"nps\", \"score\": 1, \"comment\": \"%s\""), comment);
        r = rs_ok(f, text, &o, id_buf);
        assert_int_equal(strlen(r.comment), 200);
        json_decref(o);
}

static void test_response_language(void **state) {
        fx *f = *state;
        char id_buf[28];
        json_t *o = NULL;
        tp_response r;

        r = rs_ok(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"vi\""), &o, id_buf);
        assert_string_equal(r.language, "vi");
        json_decref(o);
        r = rs_ok(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"en\""), &o, id_buf);
        assert_string_equal(r.language, "en");
        json_decref(o);
        r = rs_ok(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"vi-VN\""), &o, id_buf);
        assert_string_equal(r.language, "vi-VN");
        json_decref(o);
        rs_fails(
                f,
                RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"english\""),
                "language",
                "invalid_value");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"VI\""), "language", "invalid_value");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"\""), "language", "invalid_value");
        rs_fails(f, RS(", \"metric\": \"nps\", \"score\": 1, \"language\": \"vi-\""), "language", "invalid_value");
}

static void test_response_generated_id(void **state) {
        fx *f = *state;
        char id_buf[28];
        json_t *o = NULL;
        tp_response r = rs_ok(
                f, "{\"touchpoint\": \"website\", \"metric\": \"nps\", \"score\": 8}", &o, id_buf);

        assert_ptr_equal(r.id, id_buf);
        assert_int_equal(strlen(r.id), 27);
        assert_memory_equal(r.id, "tp-", 3);
        json_decref(o);
}

/* ---- field checkers ---------------------------------------------------------- */

static void test_checkers(void **state) {
        long long v = 77;
        tp_err err = { 0 };
        int g = 9;

        (void) state;
        assert_int_equal(tp_parse_int("42", "n", &v, &err), TP_OK);
        assert_int_equal(v, 42);
        assert_int_equal(tp_parse_int("-7", "n", &v, &err), TP_OK);
        assert_int_equal(v, -7);
        v = 77;
        assert_int_equal(tp_parse_int("+5", "n", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_parse_int("", "n", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_parse_int(" 5", "n", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_parse_int("5 ", "n", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_parse_int("5x", "n", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_parse_int("99999999999999999999", "score", &v, &err), TP_UNPROCESSABLE);
        assert_int_equal(v, 77);
        assert_string_equal(err.field, "score");
        assert_string_equal(tp_err_code(&err), "invalid_type");

        assert_int_equal(tp_parse_goal("partly", &g, &err), TP_OK);
        assert_int_equal(g, 1);
        g = 9;
        assert_int_equal(tp_parse_goal("maybe", &g, &err), TP_UNPROCESSABLE);
        assert_int_equal(g, 9);

        assert_int_equal(tp_check_currency("USD", &err), TP_OK);
        assert_int_equal(tp_check_currency("US", &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_check_currency("USDT", &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_check_event_type("purchase_2", &err), TP_OK);
        assert_int_equal(tp_check_event_type("2purchase", &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_check_event_type("abcdefghijklmnopqrstuvwxyzabcdefg", &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_check_channel("marketplace", &err), TP_OK);
        assert_int_equal(tp_check_channel("Web", &err), TP_UNPROCESSABLE);
        assert_int_equal(tp_check_score(TP_METRIC_EMOTION, 5, &err), TP_OK);
        assert_int_equal(tp_check_score(TP_METRIC_EMOTION, 0, &err), TP_UNPROCESSABLE);
        assert_non_null(strstr(err.msg, "emotion"));
        assert_true(tp_key_valid("a-b_c9"));
        assert_false(tp_key_valid("-a"));
        assert_false(tp_key_valid("A"));
        assert_false(tp_key_valid(""));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_event_valid_full),        T(test_event_defaults),
                T(test_event_generated_id),      T(test_event_touchpoint_rules),
                T(test_event_field_rules),       T(test_event_id_rules),
                T(test_event_time_rules),        T(test_event_time_error_without_err),
                T(test_event_properties_limit),  T(test_event_create_touchpoints),
                T(test_response_valid),          T(test_response_nps_rules),
                T(test_response_metric_rules),   T(test_response_field_rules),
                T(test_response_language),       T(test_response_generated_id),
                cmocka_unit_test(test_checkers),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
