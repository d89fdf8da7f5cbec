/* SPDX-License-Identifier: MIT */
/*
 * test_batch.c -- tp_batch_parse (JSON object, array, NDJSON) and
 * tp_batch_result, with a catalogue from a real in-memory store.
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
#include "service/batch.h"
#include "service/catalog.h"
#include "service/config.h"
#include "service/journey.h"
#include "store/store.h"

#define NOW ((int64_t) 1714557600)

typedef struct fx {
        tp_store *s;
        tp_catalog *cat;
        tp_config cfg;
        tp_vctx v;
} fx;

static int setup(void **state) {
        static const char journey[] =
                "{\"key\": \"shop\", \"stages\": [{\"key\": \"buy\", \"touchpoints\": ["
                "{\"key\": \"website\", \"channel\": \"web\"},"
                "{\"key\": \"store\", \"channel\": \"store\"}]}]}";
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };
        json_t *doc = NULL;

        assert_non_null(f);
        tp_alloc_fail_after(0);
        assert_int_equal(tp_store_open("sqlite::memory:", 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        assert_int_equal(tp_json_parse(journey, strlen(journey), 32, &doc, &err), TP_OK);
        assert_int_equal(tp_journey_apply(f->s, doc, NULL, NULL, &err), TP_OK);
        json_decref(doc);
        assert_int_equal(tp_catalog_new(&f->cat, &err), TP_OK);
        assert_int_equal(tp_catalog_load(f->cat, f->s, &err), TP_OK);
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

static tp_rc parse(fx *f, tp_batch *b, tp_kind kind, const char *body, int ndjson, tp_err *err) {
        return tp_batch_parse(b, kind, body, strlen(body), ndjson, &f->v, err);
}

static void assert_empty(const tp_batch *b) {
        assert_int_equal(b->n_items, 0);
        assert_int_equal(b->n_ok, 0);
        assert_null(b->ev);
        assert_null(b->rs);
        assert_null(b->rejected);
        assert_null(b->docs);
        assert_int_equal(b->ndocs, 0);
}

#define E(id) "{\"id\": \"" id "\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\"}"
#define R(id, score) \
        "{\"id\": \"" id "\", \"touchpoint\": \"store\", \"metric\": \"nps\", \"score\": " score "}"

static void test_single_object(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, E("e1"), 0, &err), TP_OK);
        assert_int_equal(b.kind, TP_KIND_EVENTS);
        assert_int_equal(b.n_items, 1);
        assert_int_equal(b.n_ok, 1);
        assert_string_equal(b.ev[0].id, "e1");
        assert_string_equal(b.ev[0].channel, "web");
        assert_int_equal(b.ev[0].ts, NOW);
        assert_int_equal(json_array_size(b.rejected), 0);
        assert_int_equal(b.dup[0], 0);
        tp_batch_done(&b);
        assert_empty(&b);
}

static void test_array_with_rejections(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        json_t *rej;

        assert_int_equal(
                parse(f,
                      &b,
                      TP_KIND_RESPONSES,
                      "[" R("r1", "9") ", " R("r2", "11") ", " R("r3", "0") ", 5]",
                      0,
                      &err),
                TP_OK);
        assert_int_equal(b.n_items, 4);
        assert_int_equal(b.n_ok, 2);
        assert_string_equal(b.rs[0].id, "r1");
        assert_int_equal(b.rs[0].score, 9);
        assert_string_equal(b.rs[1].id, "r3");
        assert_int_equal(b.rs[1].score, 0);
        assert_int_equal(json_array_size(b.rejected), 2);
        rej = json_array_get(b.rejected, 0);
        assert_int_equal(json_integer_value(json_object_get(rej, "index")), 1);
        assert_string_equal(json_string_value(json_object_get(rej, "field")), "score");
        assert_string_equal(json_string_value(json_object_get(rej, "code")), "out_of_range");
        assert_non_null(strstr(json_string_value(json_object_get(rej, "message")), "11"));
        rej = json_array_get(b.rejected, 1);
        assert_int_equal(json_integer_value(json_object_get(rej, "index")), 3);
        assert_string_equal(json_string_value(json_object_get(rej, "code")), "invalid_type");
        tp_batch_done(&b);
}

static void test_events_keep_properties(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        static const char body[] =
                "[{\"id\": \"e1\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\","
                " \"properties\": {\"a\": 1}}, " E("e2") ", {\"customer\": \"c\", \"touchpoint\": \"store\","
                " \"type\": \"visit\"}]";

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, body, 0, &err), TP_OK);
        assert_int_equal(b.n_ok, 3);
        assert_string_equal(b.ev[0].properties, "{\"a\":1}");
        assert_ptr_equal(b.ev[0].properties, b.props[0]);
        assert_null(b.props[1]);
        /* The generated id lives in the batch. */
        assert_ptr_equal(b.ev[2].id, b.ids[2]);
        assert_int_equal(strlen(b.ev[2].id), 27);
        tp_batch_done(&b);
}

static void test_ndjson_blank_lines_crlf(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        static const char body[] = "\r\n" E("e1") "\r\n\r\n   \t\n" E("e2") "\r\n  " E("e3") "  \n\n";

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, body, 1, &err), TP_OK);
        assert_int_equal(b.n_items, 3);
        assert_int_equal(b.n_ok, 3);
        assert_string_equal(b.ev[0].id, "e1");
        assert_string_equal(b.ev[1].id, "e2");
        assert_string_equal(b.ev[2].id, "e3");
        assert_int_equal(b.ndocs, 3);
        assert_int_equal(json_array_size(b.rejected), 0);
        tp_batch_done(&b);

        /* No final newline. */
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, E("e1") "\n" E("e2"), 1, &err), TP_OK);
        assert_int_equal(b.n_ok, 2);
        tp_batch_done(&b);
}

static void test_ndjson_malformed_line(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        json_t *rej;
        const char *msg;
        /* Line 1 ok, line 2 blank, line 3 malformed, line 4 invalid item, line 5 ok. */
        static const char body[] = E("e1") "\n\n{\"id\": \"e2\", oops}\n" E("e3") "x\n"
                                   "{\"id\": \"e4\", \"customer\": \"c\", \"touchpoint\": \"atm\","
                                   " \"type\": \"v\"}\n"
                                   E("e5") "\n";

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, body, 1, &err), TP_OK);
        assert_int_equal(b.n_items, 5);
        assert_int_equal(b.n_ok, 2);
        assert_string_equal(b.ev[0].id, "e1");
        assert_string_equal(b.ev[1].id, "e5");
        assert_int_equal(json_array_size(b.rejected), 3);

        rej = json_array_get(b.rejected, 0);
        assert_int_equal(json_integer_value(json_object_get(rej, "index")), 1);
        assert_string_equal(json_string_value(json_object_get(rej, "code")), "invalid_json");
        assert_string_equal(json_string_value(json_object_get(rej, "field")), "body");
        msg = json_string_value(json_object_get(rej, "message"));
        assert_true(strncmp(msg, "line 3 column ", 14) == 0);

        rej = json_array_get(b.rejected, 1);
        assert_int_equal(json_integer_value(json_object_get(rej, "index")), 2);
        msg = json_string_value(json_object_get(rej, "message"));
        assert_true(strncmp(msg, "line 4 column ", 14) == 0);

        rej = json_array_get(b.rejected, 2);
        assert_int_equal(json_integer_value(json_object_get(rej, "index")), 3);
        assert_string_equal(json_string_value(json_object_get(rej, "code")), "unknown_touchpoint");
        assert_string_equal(json_string_value(json_object_get(rej, "field")), "touchpoint");
        tp_batch_done(&b);
}

static void test_ndjson_line_too_deep(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        json_t *rej;

        f->cfg.lim.max_depth = 3;
        assert_int_equal(
                parse(f,
                      &b,
                      TP_KIND_EVENTS,
                      E("e1") "\n{\"id\": \"e2\", \"properties\": {\"a\": {\"b\": [1]}}}\n",
                      1,
                      &err),
                TP_OK);
        assert_int_equal(b.n_ok, 1);
        assert_int_equal(json_array_size(b.rejected), 1);
        rej = json_array_get(b.rejected, 0);
        assert_string_equal(json_string_value(json_object_get(rej, "code")), "too_deep");
        assert_true(
                strncmp(json_string_value(json_object_get(rej, "message")), "line 2: JSON nesting", 20) == 0);
        tp_batch_done(&b);
}

static void test_too_many_items(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };

        f->cfg.lim.max_items = 3;
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "[" E("1") "," E("2") "," E("3") "]", 0, &err), TP_OK);
        assert_int_equal(b.n_ok, 3);
        tp_batch_done(&b);

        assert_int_equal(
                parse(f, &b, TP_KIND_EVENTS, "[" E("1") "," E("2") "," E("3") "," E("4") "]", 0, &err),
                TP_TOOBIG);
        assert_int_equal(err.rc, TP_TOOBIG);
        assert_string_equal(tp_err_code(&err), "too_many_items");
        assert_string_equal(err.field, "body");
        assert_non_null(strstr(err.msg, "4 items"));
        assert_empty(&b);

        memset(&err, 0, sizeof(err));
        assert_int_equal(
                parse(f, &b, TP_KIND_EVENTS, E("1") "\n" E("2") "\n\n" E("3") "\n" E("4") "\n", 1, &err),
                TP_TOOBIG);
        assert_string_equal(tp_err_code(&err), "too_many_items");
        assert_empty(&b);
        /* Malformed lines count as items too. */
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "x\ny\nz\nw\n", 1, &err), TP_TOOBIG);
        assert_empty(&b);
}

static void test_empty_bodies(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "[]", 0, &err), TP_UNPROCESSABLE);
        assert_string_equal(tp_err_code(&err), "empty_batch");
        assert_string_equal(err.field, "body");
        assert_empty(&b);

        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "", 0, &err), TP_BADJSON);
        assert_empty(&b);
        memset(&err, 0, sizeof(err));
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "\n \r\n\n", 1, &err), TP_BADJSON);
        assert_string_equal(err.field, "body");
        assert_string_equal(tp_err_code(&err), "invalid_json");
        assert_empty(&b);
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "[1, 2", 0, &err), TP_BADJSON);
        assert_non_null(strstr(err.msg, "line 1 column"));
        assert_empty(&b);
}

static void test_depth_limit(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };

        f->cfg.lim.max_depth = 3;
        /* array > object > properties object: depth 3, then a value at 4. */
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "[{\"properties\": {\"a\": 1}}]", 0, &err), TP_INVALID);
        assert_string_equal(tp_err_code(&err), "too_deep");
        assert_string_equal(err.field, "body");
        assert_empty(&b);
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, "[{\"properties\": {}}]", 0, &err), TP_OK);
        assert_int_equal(b.n_ok, 0);
        tp_batch_done(&b);
}

static json_t *result(const tp_batch *b, size_t want_acc, size_t want_dups) {
        size_t acc = 999, dups = 999;
        json_t *o = tp_batch_result(b, &acc, &dups);

        assert_non_null(o);
        assert_int_equal(acc, want_acc);
        assert_int_equal(dups, want_dups);
        assert_int_equal(json_integer_value(json_object_get(o, "accepted")), (json_int_t) want_acc);
        assert_int_equal(json_integer_value(json_object_get(o, "duplicates")), (json_int_t) want_dups);
        assert_true(json_is_array(json_object_get(o, "rejected")));
        return o;
}

static void test_result_shape(void **state) {
        fx *f = *state;
        tp_batch b;
        tp_err err = { 0 };
        json_t *o, *e;

        /* Some accepted, one a duplicate, one rejected: no "error" member. */
        assert_int_equal(
                parse(f, &b, TP_KIND_EVENTS, "[" E("e1") "," E("e2") ", {\"id\": 1}]", 0, &err), TP_OK);
        b.dup[1] = 1; /* as the writer would */
        o = result(&b, 1, 1);
        assert_int_equal(json_array_size(json_object_get(o, "rejected")), 1);
        assert_null(json_object_get(o, "error"));
        assert_int_equal(json_object_size(o), 3);
        json_decref(o);

        /* Every item a duplicate: still a success, no "error". */
        b.dup[0] = 1;
        o = result(&b, 0, 2);
        assert_null(json_object_get(o, "error"));
        json_decref(o);
        tp_batch_done(&b);

        /* Nothing accepted: "error" repeats the first rejection. */
        assert_int_equal(
                parse(f, &b, TP_KIND_RESPONSES, "[" R("r1", "12") "," R("r2", "\"x\"") "]", 0, &err), TP_OK);
        o = result(&b, 0, 0);
        assert_int_equal(json_array_size(json_object_get(o, "rejected")), 2);
        e = json_object_get(o, "error");
        assert_non_null(e);
        assert_string_equal(json_string_value(json_object_get(e, "code")), "out_of_range");
        assert_string_equal(json_string_value(json_object_get(e, "field")), "score");
        assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "12"));
        assert_int_equal(json_object_size(e), 3);
        json_decref(o);
        /* The result holds its own reference to the rejections. */
        tp_batch_done(&b);

        /* NULL out-parameters are allowed. */
        assert_int_equal(parse(f, &b, TP_KIND_EVENTS, E("e9"), 0, &err), TP_OK);
        o = tp_batch_result(&b, NULL, NULL);
        assert_int_equal(json_integer_value(json_object_get(o, "accepted")), 1);
        json_decref(o);
        tp_batch_done(&b);
}

/* ---- allocation failure ------------------------------------------------------ */

static tp_rc oom_scenario(fx *f, int ndjson) {
        static const char array_body[] =
                "[{\"id\": \"e1\", \"customer\": \"c\", \"touchpoint\": \"website\", \"type\": \"view\","
                " \"properties\": {\"a\": [1, 2], \"b\": \"Nguy\xe1\xbb\x85n\"}}, " E("e2")
                ", {\"id\": \"bad\", \"touchpoint\": \"atm\"}, {\"customer\": \"c\", \"touchpoint\": \"store\","
                " \"type\": \"visit\"}]";
        static const char nd_body[] =
                E("e1") "\r\n\n{broken\n"
                        "{\"id\": \"e2\", \"customer\": \"c\", \"touchpoint\": \"store\", \"type\": \"visit\","
                        " \"properties\": {\"x\": {\"y\": true}}}\n"
                        "{\"id\": \"e3\", \"customer\": \"c\", \"touchpoint\": \"nope\","
                        " \"type\": \"view\"}\n";
        tp_batch b;
        tp_err err = { 0 };
        tp_rc rc;

        rc = ndjson ? tp_batch_parse(&b, TP_KIND_EVENTS, nd_body, sizeof(nd_body) - 1, 1, &f->v, &err) :
                      tp_batch_parse(&b, TP_KIND_EVENTS, array_body, sizeof(array_body) - 1, 0, &f->v, &err);
        if (rc != TP_OK) {
                assert_int_equal(err.rc, rc);
                assert_empty(&b);
                return rc;
        }
        /* The outcome must be the same as without failures. */
        assert_int_equal(b.n_items, 4);
        assert_int_equal(b.n_ok, ndjson ? 2 : 3);
        assert_int_equal(json_array_size(b.rejected), ndjson ? 2 : 1);
        tp_batch_done(&b);
        return TP_OK;
}

static void oom_loop(fx *f, int ndjson) {
        long n;
        tp_rc rc;

        for (n = 1; n < 100000; n++) {
                tp_alloc_fail_after(n);
                rc = oom_scenario(f, ndjson);
                tp_alloc_fail_after(0);
                if (rc == TP_OK)
                        break;
                if (rc != TP_NOMEM)
                        fail_msg("allocation %ld failing gave %s, not out_of_memory", n, tp_rc_code(rc));
        }
        assert_true(n > 10);
        assert_int_equal(oom_scenario(f, ndjson), TP_OK);
}

static void test_oom_array(void **state) {
        oom_loop(*state, 0);
}

static void test_oom_ndjson(void **state) {
        oom_loop(*state, 1);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_single_object),
                T(test_array_with_rejections),
                T(test_events_keep_properties),
                T(test_ndjson_blank_lines_crlf),
                T(test_ndjson_malformed_line),
                T(test_ndjson_line_too_deep),
                T(test_too_many_items),
                T(test_empty_bodies),
                T(test_depth_limit),
                T(test_result_shape),
                T(test_oom_array),
                T(test_oom_ndjson),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
