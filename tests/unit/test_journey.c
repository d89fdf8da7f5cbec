/* SPDX-License-Identifier: MIT */
/*
 * test_journey.c -- journeys: the built-in template applied to a real store,
 * errors that name the JSON path, duplicate keys, ownership across journeys and
 * the URL key.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/jsonx.h"
#include "service/catalog.h"
#include "service/journey.h"
#include "store/store.h"

#define NTPS_SENTINEL 4242

static int setup(void **state) {
        tp_store *s = NULL;
        tp_err err = { 0 };

        assert_int_equal(tp_store_open("sqlite::memory:", 0, &s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(s, NULL, &err), TP_OK);
        *state = s;
        return 0;
}

static int teardown(void **state) {
        tp_store_close(*state);
        return 0;
}

static json_t *parse(const char *text) {
        json_t *o = NULL;
        tp_err err = { 0 };

        if (tp_json_parse(text, strlen(text), 64, &o, &err) != TP_OK)
                fail_msg("test JSON does not parse: %s", err.msg);
        return o;
}

typedef struct tps_seen {
        int n;
        char key[64][64];
        char journey[64][64];
        char stage[64][64];
        char channel[64][32];
        char name_vi[64][64];
        int active[64];
        double csat[64], nps[64];
} tps_seen;

static int collect(void *arg, const tp_touchpoint *t) {
        tps_seen *c = arg;

        if (c->n < 64) {
                (void) snprintf(c->key[c->n], 64, "%s", t->key);
                (void) snprintf(c->journey[c->n], 64, "%s", t->journey ? t->journey : "");
                (void) snprintf(c->stage[c->n], 64, "%s", t->stage ? t->stage : "");
                (void) snprintf(c->channel[c->n], 32, "%s", t->channel ? t->channel : "");
                (void) snprintf(c->name_vi[c->n], 64, "%s", t->name_vi ? t->name_vi : "");
                c->active[c->n] = t->active;
                c->csat[c->n] = t->expected_csat;
                c->nps[c->n] = t->expected_nps;
        }
        c->n++;
        return 0;
}

static tps_seen list(tp_store *s) {
        tps_seen seen;
        tp_err err = { 0 };

        memset(&seen, 0, sizeof(seen));
        assert_int_equal(tp_store_touchpoint_list(s, collect, &seen, &err), TP_OK);
        return seen;
}

/* Apply text that must fail with rc, err->field and code; nothing is stored. */
static void apply_fails(
        tp_store *s, const char *text, const char *path_key, tp_rc want, const char *field, const char *code) {
        json_t *doc = parse(text);
        int ntps = NTPS_SENTINEL, before = list(s).n;
        tp_err err = { 0 };
        tp_rc rc = tp_journey_apply(s, doc, path_key, &ntps, &err);

        if (rc != want)
                fail_msg("%s: got %s (%s), want %s", text, tp_rc_code(rc), err.msg, tp_rc_code(want));
        if (strcmp(err.field, field) != 0 || strcmp(tp_err_code(&err), code) != 0)
                fail_msg(
                        "%s: got field '%s' code '%s' (%s), want '%s' '%s'",
                        text,
                        err.field,
                        tp_err_code(&err),
                        err.msg,
                        field,
                        code);
        assert_int_equal(ntps, NTPS_SENTINEL);
        assert_int_equal(list(s).n, before);
        json_decref(doc);
}

static int apply_ok(tp_store *s, const char *text, const char *path_key) {
        json_t *doc = parse(text);
        tp_err err = { 0 };
        int ntps = -1;

        if (tp_journey_apply(s, doc, path_key, &ntps, &err) != TP_OK)
                fail_msg("apply: %s (field %s)", err.msg, err.field);
        json_decref(doc);
        return ntps;
}

/* ---- the template ------------------------------------------------------------- */

static void test_template_applies(void **state) {
        tp_store *s = *state;
        const char *text = tp_journey_template("retail-vn");
        json_t *doc, *stages;
        tps_seen seen;
        tp_err err = { 0 };
        int want = 0, ntps = -1, i = 0;

        assert_non_null(text);
        assert_null(tp_journey_template("retail-us"));
        assert_non_null(strstr(tp_journey_template_names(), "retail-vn"));
        doc = parse(text);
        stages = json_object_get(doc, "stages");
        assert_true(json_array_size(stages) > 0);
        for (size_t si = 0; si < json_array_size(stages); si++)
                want += (int) json_array_size(json_object_get(json_array_get(stages, si), "touchpoints"));
        assert_true(want > 0);

        assert_int_equal(tp_journey_apply(s, doc, "retail-vn", &ntps, &err), TP_OK);
        assert_int_equal(ntps, want);
        seen = list(s);
        assert_int_equal(seen.n, want);
        /* Stored in the document's order, each with its journey and stage. */
        for (size_t si = 0; si < json_array_size(stages); si++) {
                json_t *st = json_array_get(stages, si), *tps = json_object_get(st, "touchpoints");
                for (size_t ti = 0; ti < json_array_size(tps); ti++, i++) {
                        json_t *tp = json_array_get(tps, ti);
                        assert_string_equal(seen.key[i], json_string_value(json_object_get(tp, "key")));
                        assert_string_equal(seen.journey[i], "retail-vn");
                        assert_string_equal(seen.stage[i], json_string_value(json_object_get(st, "key")));
                        assert_int_equal(seen.active[i], 1);
                        if (json_object_get(tp, "channel"))
                                assert_string_equal(
                                        seen.channel[i], json_string_value(json_object_get(tp, "channel")));
                }
        }
        json_decref(doc);

        /* Applying it again changes nothing. */
        assert_int_equal(apply_ok(s, text, NULL), want);
        assert_int_equal(list(s).n, want);
}

static void test_template_names_vietnamese(void **state) {
        tp_store *s = *state;
        tps_seen seen;
        int found = 0;

        apply_ok(s, tp_journey_template("retail-vn"), NULL);
        seen = list(s);
        /* At least one Vietnamese name survives with its diacritics (multi-byte UTF-8). */
        for (int i = 0; i < seen.n && i < 64; i++)
                for (const char *p = seen.name_vi[i]; *p; p++)
                        if ((unsigned char) *p >= 0x80)
                                found = 1;
        assert_true(found);
}

/* ---- error paths ---------------------------------------------------------------- */

#define TP(k, extra) "{\"key\": \"" k "\"" extra "}"
#define ONE_STAGE(tps) "{\"key\": \"j\", \"stages\": [{\"key\": \"s0\", \"touchpoints\": [" tps "]}]}"

static void test_error_paths(void **state) {
        tp_store *s = *state;

        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"channel\": \"web\"") "," TP("b", ", \"channel\": \"fax\"")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[1].channel",
                "invalid_journey");
        apply_fails(s,
                    "{\"key\": \"j\", \"stages\": [{\"key\": \"s0\", \"touchpoints\": [" TP("a", "") "]},"
                    " {\"key\": \"s1\", \"touchpoints\": [" TP("b", "") "," TP("c", ", \"channel\": 5") "]}]}",
                    NULL, TP_UNPROCESSABLE, "stages[1].touchpoints[1].channel", "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", "") ","
                                      "{\"name\": \"x\"}"),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[1].key",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("Bad Key", "")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].key",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"department\": \"Sales Team\"")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].department",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"name\": 5")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].name",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"name\": {\"vi\": 1}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].name",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"colour\": \"red\"")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].colour",
                "unknown_field");
        apply_fails(s, ONE_STAGE("7"), NULL, TP_UNPROCESSABLE, "stages[0].touchpoints[0]", "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"stages\": [{\"key\": \"s0\"}]}",
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints",
                "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"stages\": [{\"touchpoints\": []}]}",
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].key",
                "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"stages\": [{\"key\": \"s\", \"touchpoints\": [], \"x\": 1}]}",
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].x",
                "unknown_field");
        apply_fails(
                s, "{\"key\": \"j\", \"stages\": [5]}", NULL, TP_UNPROCESSABLE, "stages[0]", "invalid_journey");
        apply_fails(s, "{\"key\": \"j\", \"stages\": []}", NULL, TP_UNPROCESSABLE, "stages", "invalid_journey");
        apply_fails(s, "{\"key\": \"j\"}", NULL, TP_UNPROCESSABLE, "stages", "invalid_journey");
        apply_fails(s, "{\"key\": \"J!\", \"stages\": []}", NULL, TP_UNPROCESSABLE, "key", "invalid_journey");
        apply_fails(s, "{\"key\": 5, \"stages\": []}", NULL, TP_UNPROCESSABLE, "key", "invalid_journey");
        apply_fails(s, "{\"stages\": []}", NULL, TP_UNPROCESSABLE, "key", "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"colour\": 1, \"stages\": []}",
                NULL,
                TP_UNPROCESSABLE,
                "colour",
                "unknown_field");
        apply_fails(s, "[1]", NULL, TP_UNPROCESSABLE, "body", "invalid_journey");
        /* The journey's own name is the top-level member "name". */
        apply_fails(
                s,
                "{\"key\": \"j\", \"name\": 5, \"stages\": []}",
                NULL,
                TP_UNPROCESSABLE,
                "name",
                "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"stages\": [{\"key\": \"s\", \"name\": [], \"touchpoints\": []}]}",
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].name",
                "invalid_journey");
}

static void test_error_message_names_path(void **state) {
        tp_store *s = *state;
        json_t *doc = parse(ONE_STAGE(TP("a", "") "," TP("b", ", \"channel\": \"fax\"")));
        tp_err err = { 0 };

        assert_int_equal(tp_journey_apply(s, doc, NULL, NULL, &err), TP_UNPROCESSABLE);
        assert_true(strncmp(err.msg, "stages[0].touchpoints[1].channel: ", 34) == 0);
        assert_non_null(strstr(err.msg, "web"));
        json_decref(doc);
}

static void test_expected_ranges(void **state) {
        tp_store *s = *state;
        tps_seen seen;

        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"csat\": 6}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"csat\": 0.5}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"nps\": 101}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"nps\": -101}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"ces\": 0}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"ces\": \"5\"}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": [4]")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected",
                "invalid_journey");
        apply_fails(
                s,
                ONE_STAGE(TP("a", ", \"expected\": {\"foo\": 1}")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[0].expected.foo",
                "unknown_field");

        /* The bounds themselves are allowed; integers count as numbers. */
        assert_int_equal(
                apply_ok(
                        s,
                        ONE_STAGE(TP("a", ", \"expected\": {\"csat\": 5, \"nps\": -100, \"ces\": 1}") "," TP(
                                "b", ", \"expected\": null")),
                        NULL),
                2);
        seen = list(s);
        assert_true(seen.csat[0] == 5.0);
        assert_true(seen.nps[0] == -100.0);
        assert_true(isnan(seen.csat[1]));
}

static void test_duplicate_keys(void **state) {
        tp_store *s = *state;

        apply_fails(
                s,
                ONE_STAGE(TP("a", "") "," TP("b", "") "," TP("a", "")),
                NULL,
                TP_UNPROCESSABLE,
                "stages[0].touchpoints[2]",
                "invalid_journey");
        /* Across stages too. */
        apply_fails(s,
                    "{\"key\": \"j\", \"stages\": [{\"key\": \"s0\", \"touchpoints\": [" TP("a", "") "]},"
                    " {\"key\": \"s1\", \"touchpoints\": [" TP("a", "") "]}]}",
                    NULL, TP_UNPROCESSABLE, "stages[1].touchpoints[0]", "invalid_journey");
        apply_fails(
                s,
                "{\"key\": \"j\", \"stages\": [{\"key\": \"s0\", \"touchpoints\": []},"
                " {\"key\": \"s1\", \"touchpoints\": []}, {\"key\": \"s0\", \"touchpoints\": []}]}",
                NULL,
                TP_UNPROCESSABLE,
                "stages[2].key",
                "invalid_journey");
}

static void test_touchpoint_owned_elsewhere(void **state) {
        tp_store *s = *state;
        json_t *doc;
        tp_err err = { 0 };
        int ntps = NTPS_SENTINEL;
        tps_seen seen;

        assert_int_equal(
                apply_ok(
                        s,
                        "{\"key\": \"first\", \"stages\": [{\"key\": \"s\", \"touchpoints\": [" TP(
                                "hotline", "") "," TP("web", "") "]}]}",
                        NULL),
                2);
        doc = parse("{\"key\": \"second\", \"stages\": [{\"key\": \"s\", \"touchpoints\": [" TP(
                "new", "") "," TP("hotline", "") "]}]}");
        assert_int_equal(tp_journey_apply(s, doc, NULL, &ntps, &err), TP_CONFLICT);
        assert_int_equal(ntps, NTPS_SENTINEL);
        assert_string_equal(tp_err_code(&err), "touchpoint_taken");
        assert_non_null(strstr(err.msg, "hotline"));
        assert_non_null(strstr(err.msg, "first"));
        json_decref(doc);
        seen = list(s);
        assert_int_equal(seen.n, 2); /* "new" was not stored either */
        assert_string_equal(seen.journey[0], "first");

        /* A touchpoint made outside any journey (import) can be adopted. */
        {
                int64_t id = 0;
                assert_int_equal(tp_store_touchpoint_ensure(s, "loose", &id, &err), TP_OK);
                assert_int_equal(
                        apply_ok(
                                s,
                                "{\"key\": \"second\", \"stages\": [{\"key\": \"s\", \"touchpoints\": [" TP(
                                        "loose", ", \"channel\": \"kiosk\"") "]}]}",
                                NULL),
                        1);
                seen = list(s);
                assert_int_equal(seen.n, 3);
                for (int i = 0; i < 3; i++)
                        if (strcmp(seen.key[i], "loose") == 0) {
                                assert_string_equal(seen.journey[i], "second");
                                assert_string_equal(seen.channel[i], "kiosk");
                        }
        }
}

typedef struct doc_seen {
        char doc[512];
        int n;
} doc_seen;

static int collect_doc(void *arg, const char *key, const char *doc, int64_t updated) {
        doc_seen *d = arg;

        (void) key;
        (void) updated;
        (void) snprintf(d->doc, sizeof(d->doc), "%s", doc);
        d->n++;
        return 0;
}

static void test_path_key(void **state) {
        tp_store *s = *state;
        tp_err err = { 0 };
        doc_seen d = { 0 };
        json_t *stored = NULL;

        apply_fails(
                s,
                "{\"key\": \"alpha\", \"stages\": [{\"key\": \"s\", \"touchpoints\": []}]}",
                "beta",
                TP_UNPROCESSABLE,
                "key",
                "key_mismatch");
        /* Without a key in the body the URL's is taken, and stored in the document. */
        assert_int_equal(
                apply_ok(s, "{\"stages\": [{\"key\": \"s\", \"touchpoints\": [" TP("a", "") "]}]}", "beta"),
                1);
        assert_int_equal(tp_store_journey_list(s, collect_doc, &d, &err), TP_OK);
        assert_int_equal(d.n, 1);
        assert_int_equal(tp_json_parse(d.doc, strlen(d.doc), 32, &stored, &err), TP_OK);
        assert_string_equal(json_string_value(json_object_get(stored, "key")), "beta");
        json_decref(stored);
        /* An invalid URL key is refused like a body key. */
        apply_fails(
                s,
                "{\"stages\": [{\"key\": \"s\", \"touchpoints\": []}]}",
                "Beta!",
                TP_UNPROCESSABLE,
                "key",
                "invalid_journey");
}

static void test_reapply_retires_dropped(void **state) {
        tp_store *s = *state;
        tps_seen seen;

        apply_ok(s, ONE_STAGE(TP("a", "") "," TP("b", "") "," TP("c", "")), NULL);
        assert_int_equal(apply_ok(s, ONE_STAGE(TP("c", "") "," TP("a", "")), NULL), 2);
        seen = list(s);
        assert_int_equal(seen.n, 3);
        for (int i = 0; i < 3; i++)
                assert_int_equal(seen.active[i], strcmp(seen.key[i], "b") != 0);
        /* Bringing it back re-activates it. */
        apply_ok(s, ONE_STAGE(TP("b", "")), NULL);
        seen = list(s);
        for (int i = 0; i < 3; i++)
                assert_int_equal(seen.active[i], strcmp(seen.key[i], "b") == 0);
}

static void test_too_many_touchpoints(void **state) {
        tp_store *s = *state;
        tp_buf b;

        tp_buf_init(&b, 1 << 20);
        assert_int_equal(
                tp_buf_puts(&b, "{\"key\": \"big\", \"stages\": [{\"key\": \"s\", \"touchpoints\": ["), TP_OK);
        for (int i = 0; i < 1025; i++)
                assert_int_equal(tp_buf_printf(&b, "%s{\"key\": \"t%d\"}", i ? "," : "", i), TP_OK);
        assert_int_equal(tp_buf_puts(&b, "]}]}"), TP_OK);
        apply_fails(s, b.data, NULL, TP_UNPROCESSABLE, "stages[0].touchpoints[1024]", "invalid_journey");
        tp_buf_done(&b);
}

static void test_long_paths_fit(void **state) {
        static const char path[] = "stages[63].touchpoints[0].expected.abcdefghijabcdefghijabcdefghijab";
        tp_store *s = *state;
        char text[4096];
        json_t *doc;
        tp_err err = { 0 };
        int ntps = NTPS_SENTINEL;

        /* The deepest path: stage 63, a 32-character unknown field under "expected". */
        int n = snprintf(text, sizeof(text), "{\"key\": \"j\", \"stages\": [");
        for (int i = 0; i < 64; i++)
                n += snprintf(
                        text + n,
                        sizeof(text) - (size_t) n,
                        "%s{\"key\": \"s%d\", \"touchpoints\": %s}",
                        i ? "," : "",
                        i,
                        i == 63 ? "[{\"key\": \"t\", \"expected\": {\"abcdefghijabcdefghijabcdefghijab\": 1}}]" :
                                  "[]");
        (void) snprintf(text + n, sizeof(text) - (size_t) n, "]}");
        doc = parse(text);
        assert_int_equal(tp_journey_apply(s, doc, NULL, &ntps, &err), TP_UNPROCESSABLE);
        assert_int_equal(ntps, NTPS_SENTINEL);
        assert_string_equal(tp_err_code(&err), "unknown_field");
        /* The message names the whole path; err.field (64 bytes) holds as much as fits. */
        assert_non_null(strstr(err.msg, path));
        assert_int_equal(strlen(err.field), sizeof(err.field) - 1);
        assert_memory_equal(err.field, path, sizeof(err.field) - 1);
        json_decref(doc);
}

/* ---- the catalogue loaded from applied journeys --------------------------------- */

static void test_catalog_from_journeys(void **state) {
        tp_store *s = *state;
        tp_catalog *cat = NULL;
        tp_err err = { 0 };
        tps_seen seen;
        int64_t id = -9;
        const char *chan = (const char *) 0x1;
        char key[64];
        json_t *arr;
        int n = apply_ok(s, tp_journey_template("retail-vn"), NULL);

        assert_int_equal(tp_catalog_new(&cat, &err), TP_OK);
        assert_int_equal(tp_catalog_count(cat), 0);
        assert_int_equal(tp_catalog_find(cat, "website", &id, &chan), TP_NOTFOUND);
        assert_int_equal(tp_catalog_load(cat, s, &err), TP_OK);
        assert_int_equal(tp_catalog_count(cat), n);
        seen = list(s);
        for (int i = 0; i < seen.n; i++) {
                int64_t got = -9;
                chan = NULL;
                assert_int_equal(tp_catalog_find(cat, seen.key[i], &got, &chan), TP_OK);
                assert_true(got > 0);
                assert_string_equal(chan ? chan : "", seen.channel[i]);
                tp_catalog_key_of(cat, got, key, sizeof(key));
                assert_string_equal(key, seen.key[i]);
        }
        id = -9;
        chan = (const char *) 0x1;
        assert_int_equal(tp_catalog_find(cat, "no-such-touchpoint", &id, &chan), TP_NOTFOUND);
        assert_int_equal(id, -9);
        assert_ptr_equal(chan, (const char *) 0x1);
        tp_catalog_key_of(cat, 987654, key, sizeof(key));
        assert_string_equal(key, "");

        arr = tp_catalog_to_json(cat);
        assert_non_null(arr);
        assert_int_equal(json_array_size(arr), (size_t) n);
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "key")), seen.key[0]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "journey")), "retail-vn");
        assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "active")));
        json_decref(arr);

        /* A new version of a journey drops a touchpoint: after a reload it is still
         * found (old rows refer to it) but listed as inactive. */
        apply_ok(s, ONE_STAGE(TP("a", "") "," TP("b", "")), NULL);
        apply_ok(s, ONE_STAGE(TP("a", "")), NULL);
        assert_int_equal(tp_catalog_load(cat, s, &err), TP_OK);
        assert_int_equal(tp_catalog_count(cat), n + 2);
        assert_int_equal(tp_catalog_find(cat, "b", &id, NULL), TP_OK);
        arr = tp_catalog_to_json(cat);
        for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *o = json_array_get(arr, i);
                if (strcmp(json_string_value(json_object_get(o, "key")), "b") == 0)
                        assert_true(json_is_false(json_object_get(o, "active")));
        }
        json_decref(arr);
        tp_catalog_free(cat);
        tp_catalog_free(NULL);
}

static void test_catalog_many_touchpoints(void **state) {
        tp_store *s = *state;
        tp_catalog *cat = NULL;
        tp_err err = { 0 };
        char key[16];
        tp_buf b;

        /* Enough keys for collisions in the lookup table. */
        tp_buf_init(&b, 1 << 20);
        assert_int_equal(
                tp_buf_puts(&b, "{\"key\": \"big\", \"stages\": [{\"key\": \"s\", \"touchpoints\": ["), TP_OK);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(tp_buf_printf(&b, "%s{\"key\": \"t%d\"}", i ? "," : "", i), TP_OK);
        assert_int_equal(tp_buf_puts(&b, "]}]}"), TP_OK);
        assert_int_equal(apply_ok(s, b.data, NULL), 1000);
        tp_buf_done(&b);
        assert_int_equal(tp_catalog_new(&cat, &err), TP_OK);
        assert_int_equal(tp_catalog_load(cat, s, &err), TP_OK);
        assert_int_equal(tp_catalog_count(cat), 1000);
        for (int i = 0; i < 1000; i++) {
                int64_t id = 0;
                char back[64];
                (void) snprintf(key, sizeof(key), "t%d", i);
                assert_int_equal(tp_catalog_find(cat, key, &id, NULL), TP_OK);
                tp_catalog_key_of(cat, id, back, sizeof(back));
                assert_string_equal(back, key);
        }
        assert_int_equal(tp_catalog_find(cat, "t1000", &(int64_t){ 0 }, NULL), TP_NOTFOUND);
        tp_catalog_free(cat);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_template_applies),
                T(test_template_names_vietnamese),
                T(test_error_paths),
                T(test_error_message_names_path),
                T(test_expected_ranges),
                T(test_duplicate_keys),
                T(test_touchpoint_owned_elsewhere),
                T(test_path_key),
                T(test_reapply_retires_dropped),
                T(test_too_many_touchpoints),
                T(test_long_paths_fit),
                T(test_catalog_from_journeys),
                T(test_catalog_many_touchpoints),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("journey", tests, NULL, NULL);
}
