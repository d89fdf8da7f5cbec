/* SPDX-License-Identifier: MIT */
/*
 * test_common.c -- src/common: the bounded buffer, errors, RFC 3339 time, UTF-8,
 * JSON parsing with our limits, and the allocation-failure loop over both.
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
#include "common/buf.h"
#include "common/err.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "common/utf8.h"

#define SENTINEL_TS ((int64_t) 0x5eed5eed)

/* ---- tp_buf ---------------------------------------------------------------- */

static void test_buf_limit_toobig(void **state) {
        tp_buf b;

        (void) state;
        tp_buf_init(&b, 10);
        assert_int_equal(tp_buf_append(&b, "0123456789", 10), TP_OK);
        assert_int_equal(b.len, 10);
        assert_string_equal(b.data, "0123456789");
        /* One byte past the limit fails and leaves the contents as they were. */
        assert_int_equal(tp_buf_append(&b, "x", 1), TP_TOOBIG);
        assert_int_equal(tp_buf_puts(&b, "y"), TP_TOOBIG);
        assert_int_equal(tp_buf_printf(&b, "%d", 7), TP_TOOBIG);
        assert_int_equal(b.len, 10);
        assert_string_equal(b.data, "0123456789");
        /* A zero-length append at the limit is fine. */
        assert_int_equal(tp_buf_append(&b, "", 0), TP_OK);
        assert_int_equal(b.len, 10);
        /* Never more than max + 1 bytes allocated. */
        assert_true(b.cap <= 11);
        tp_buf_done(&b);
        assert_null(b.data);
        assert_int_equal(b.len, 0);
}

static void test_buf_huge_append_no_overflow(void **state) {
        tp_buf b;

        (void) state;
        tp_buf_init(&b, 100);
        assert_int_equal(tp_buf_puts(&b, "abc"), TP_OK);
        /* n near SIZE_MAX must not wrap the length check. */
        assert_int_equal(tp_buf_append(&b, "x", SIZE_MAX - 1), TP_TOOBIG);
        assert_int_equal(b.len, 3);
        tp_buf_done(&b);
}

static void test_buf_zero_max(void **state) {
        tp_buf b;

        (void) state;
        tp_buf_init(&b, 0);
        assert_int_equal(tp_buf_append(&b, "", 0), TP_OK);
        assert_non_null(b.data);
        assert_string_equal(b.data, "");
        assert_int_equal(tp_buf_puts(&b, "a"), TP_TOOBIG);
        tp_buf_done(&b);
}

static void test_buf_take(void **state) {
        tp_buf b;
        size_t len = 12345;
        char *p;

        (void) state;
        tp_buf_init(&b, 1024);
        assert_int_equal(tp_buf_puts(&b, "hello "), TP_OK);
        assert_int_equal(tp_buf_puts(&b, "world"), TP_OK);
        p = tp_buf_take(&b, &len);
        assert_non_null(p);
        assert_string_equal(p, "hello world");
        assert_int_equal(len, 11);
        /* The buffer is reset and usable again with the same limit. */
        assert_null(b.data);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.cap, 0);
        assert_int_equal(b.max, 1024);
        tp_free(p);

        /* Taking from an empty buffer yields an allocated "". */
        len = 999;
        p = tp_buf_take(&b, &len);
        assert_non_null(p);
        assert_string_equal(p, "");
        assert_int_equal(len, 0);
        tp_free(p);

        /* ret_len may be NULL. */
        assert_int_equal(tp_buf_puts(&b, "x"), TP_OK);
        p = tp_buf_take(&b, NULL);
        assert_string_equal(p, "x");
        tp_free(p);
        tp_buf_done(&b);
}

static void test_buf_reset(void **state) {
        tp_buf b;

        (void) state;
        tp_buf_init(&b, 64);
        assert_int_equal(tp_buf_puts(&b, "abc"), TP_OK);
        tp_buf_reset(&b);
        assert_int_equal(b.len, 0);
        assert_string_equal(b.data, "");
        assert_int_equal(tp_buf_puts(&b, "de"), TP_OK);
        assert_string_equal(b.data, "de");
        tp_buf_done(&b);
}

static void test_buf_printf_growth(void **state) {
        char big[301];
        tp_buf b;

        (void) state;
        memset(big, 'x', 300);
        big[300] = '\0';
        tp_buf_init(&b, 4096);
        assert_int_equal(tp_buf_printf(&b, "[%d]", 42), TP_OK);
        assert_string_equal(b.data, "[42]");
        /* Past the 256-byte stack buffer: the second vsnprintf path. */
        assert_int_equal(tp_buf_printf(&b, "%s-%d", big, 7), TP_OK);
        assert_int_equal(b.len, 4 + 300 + 2);
        assert_memory_equal(b.data + 4, big, 300);
        assert_string_equal(b.data + 304, "-7");
        assert_int_equal(b.data[b.len], '\0');
        assert_int_equal(strlen(b.data), b.len);
        tp_buf_done(&b);
}

static void test_buf_printf_boundaries(void **state) {
        char s[300];
        tp_buf b;

        (void) state;
        /* 255 characters fit the stack buffer, 256 do not: both must be exact. */
        for (size_t n = 254; n <= 258; n++) {
                memset(s, 'a' + (int) (n % 26), n);
                s[n] = '\0';
                tp_buf_init(&b, 1024);
                assert_int_equal(tp_buf_printf(&b, "%s", s), TP_OK);
                assert_int_equal(b.len, n);
                assert_string_equal(b.data, s);
                tp_buf_done(&b);
        }
        /* A long printf that would pass the limit fails and leaves the buffer. */
        memset(s, 'q', 299);
        s[299] = '\0';
        tp_buf_init(&b, 299);
        assert_int_equal(tp_buf_puts(&b, "z"), TP_OK);
        assert_int_equal(tp_buf_printf(&b, "%s", s), TP_TOOBIG);
        assert_int_equal(b.len, 1);
        assert_string_equal(b.data, "z");
        /* Exactly up to the limit through the long path. */
        s[298] = '\0';
        assert_int_equal(tp_buf_printf(&b, "%s", s), TP_OK);
        assert_int_equal(b.len, 299);
        tp_buf_done(&b);
}

/* ---- tp_err ---------------------------------------------------------------- */

static void test_err_setc(void **state) {
        tp_err err = { 0 };
        char longfield[100];

        (void) state;
        assert_int_equal(
                tp_err_setc(&err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint", "no '%s'", "x"),
                TP_UNPROCESSABLE);
        assert_int_equal(err.rc, TP_UNPROCESSABLE);
        assert_string_equal(err.code, "unknown_touchpoint");
        assert_string_equal(tp_err_code(&err), "unknown_touchpoint");
        assert_string_equal(err.field, "touchpoint");
        assert_string_equal(err.msg, "no 'x'");

        /* tp_err_set keeps the field and the code. */
        assert_int_equal(tp_err_set(&err, TP_NOTFOUND, "gone %d", 5), TP_NOTFOUND);
        assert_int_equal(err.rc, TP_NOTFOUND);
        assert_string_equal(err.field, "touchpoint");
        assert_string_equal(err.msg, "gone 5");

        /* Without a finer code the rc's code is used. */
        tp_err_clear(&err);
        assert_null(err.code);
        assert_int_equal(tp_err_setf(&err, TP_TOOBIG, "body", "big"), TP_TOOBIG);
        assert_string_equal(tp_err_code(&err), "too_large");
        assert_string_equal(err.field, "body");

        /* NULL field clears it; long fields are truncated, not overflowed. */
        assert_int_equal(tp_err_setc(&err, TP_INVALID, "x", NULL, "m"), TP_INVALID);
        assert_string_equal(err.field, "");
        memset(longfield, 'f', sizeof(longfield) - 1);
        longfield[sizeof(longfield) - 1] = '\0';
        assert_int_equal(tp_err_setc(&err, TP_INVALID, "x", longfield, "m"), TP_INVALID);
        assert_int_equal(strlen(err.field), sizeof(err.field) - 1);

        /* err may be NULL. */
        assert_int_equal(tp_err_setc(NULL, TP_CONFLICT, "c", "f", "m"), TP_CONFLICT);
        assert_int_equal(tp_err_set(NULL, TP_IO, "m"), TP_IO);
        tp_err_clear(NULL);
}

static void test_rc_table(void **state) {
        (void) state;
        assert_string_equal(tp_rc_code(TP_NOTFOUND), "not_found");
        assert_int_equal(tp_rc_http_status(TP_NOTFOUND), 404);
        assert_int_equal(tp_rc_http_status(TP_UNPROCESSABLE), 422);
        assert_int_equal(tp_rc_http_status(TP_BUSY), 503);
        assert_int_equal(tp_rc_http_status(TP_FULL), 507);
        assert_string_equal(tp_rc_code(TP_BADJSON), "invalid_json");
        assert_string_equal(tp_rc_code((tp_rc) 999), "internal");
        assert_int_equal(tp_rc_http_status((tp_rc) 999), 500);
        assert_string_equal(tp_rc_message(TP_OK), "success");
}

/* ---- time ------------------------------------------------------------------ */

static void parse_ok(const char *s, int64_t want) {
        int64_t ts = SENTINEL_TS;
        tp_err err = { 0 };

        if (tp_time_parse_rfc3339(s, "time", &ts, &err) != TP_OK)
                fail_msg("'%s' rejected: %s", s, err.msg);
        if (ts != want)
                fail_msg("'%s' parsed as %lld, want %lld", s, (long long) ts, (long long) want);
}

static void parse_bad(const char *s) {
        int64_t ts = SENTINEL_TS;
        tp_err err = { 0 };

        if (tp_time_parse_rfc3339(s, "time", &ts, &err) != TP_UNPROCESSABLE)
                fail_msg("'%s' accepted", s);
        assert_int_equal(ts, SENTINEL_TS); /* untouched */
        assert_int_equal(err.rc, TP_UNPROCESSABLE);
        assert_string_equal(err.field, "time");
        assert_non_null(strstr(err.msg, "RFC 3339"));
}

static void test_time_parse_valid(void **state) {
        (void) state;
        parse_ok("1970-01-01T00:00:00Z", 0);
        parse_ok("2000-01-01T00:00:00Z", 946684800);
        parse_ok("2024-05-01T10:00:00Z", 1714557600);
        parse_ok("2024-05-01t10:00:00z", 1714557600);
        parse_ok("2024-05-01 10:00:00Z", 1714557600);
        parse_ok("2024-05-01T10:00:00+07:00", 1714532400);
        parse_ok("2024-05-01T17:00:00+07:00", 1714557600);
        parse_ok("2024-05-01T10:00:00-03:30", 1714570200);
        parse_ok("2024-05-01T10:00:00+00:00", 1714557600);
        parse_ok("2024-05-01T10:00:00.5Z", 1714557600);
        parse_ok("2024-05-01T10:00:00.123456789Z", 1714557600);
        parse_ok("2024-05-01T10:00:00.999+07:00", 1714532400);
        parse_ok("2024-02-29T00:00:00Z", 1709164800);
        parse_ok("2000-02-29T00:00:00Z", 951782400);
        parse_ok("2024-12-31T23:59:59Z", 1735689599);
        /* A leap second folds onto :59. */
        parse_ok("2016-12-31T23:59:60Z", 1483228799);
}

static void test_time_parse_invalid(void **state) {
        (void) state;
        parse_bad("");
        parse_bad("garbage");
        parse_bad("yesterday at noon");
        parse_bad("2024-05-01");
        parse_bad("2024-05-01T10:00");
        parse_bad("2024-05-01T10:00:00");      /* no zone */
        parse_bad("2024-05-01T10:00:00Zjunk"); /* trailing junk */
        parse_bad("2024-05-01T10:00:00+07:00x");
        parse_bad("2024-05-01T10:00:00Z ");
        parse_bad("2024-05-01T10:00:00.Z"); /* fraction without digits */
        parse_bad("2024-05-01T10:00:00+07");
        parse_bad("2024-05-01T10:00:00+0700");
        parse_bad("2024-05-01T10:00:00+24:00");
        parse_bad("2024-05-01T10:00:00+07:60");
        parse_bad("2023-02-29T00:00:00Z"); /* not a leap year */
        parse_bad("2100-02-29T00:00:00Z"); /* divisible by 100 */
        parse_bad("2024-13-01T00:00:00Z"); /* month 13 */
        parse_bad("2024-00-01T00:00:00Z");
        parse_bad("2024-04-31T00:00:00Z");
        parse_bad("2024-05-00T00:00:00Z");
        parse_bad("2024-05-01T24:00:00Z");
        parse_bad("2024-05-01T10:60:00Z");
        parse_bad("2024-05-01T10:00:61Z");
        parse_bad("1969-12-31T23:59:59Z");
        parse_bad("2024/05/01T10:00:00Z");
        parse_bad("２024-05-01T10:00:00Z");
        parse_bad("2024-05-01X10:00:00Z");
}

static void test_time_format_round_trip(void **state) {
        static const int64_t ts[] = { 0, 946684800, 951782400, 1709164800, 1714557600, 1735689599, 4102444800 };
        char out[32];

        (void) state;
        tp_time_format_rfc3339(1714557600, out, sizeof(out));
        assert_string_equal(out, "2024-05-01T10:00:00Z");
        tp_time_format_rfc3339(1709164800, out, sizeof(out));
        assert_string_equal(out, "2024-02-29T00:00:00Z");
        for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
                int64_t back = SENTINEL_TS;
                tp_time_format_rfc3339(ts[i], out, sizeof(out));
                assert_int_equal(strlen(out), 20);
                assert_int_equal(tp_time_parse_rfc3339(out, "t", &back, NULL), TP_OK);
                assert_int_equal(back, ts[i]);
        }
        assert_int_equal(tp_time_days_from_civil(1970, 1, 1), 0);
        assert_int_equal(tp_time_days_from_civil(2000, 3, 1), 11017);
}

/* ---- UTF-8 ----------------------------------------------------------------- */

#define U8(s) tp_utf8_valid((s), sizeof(s) - 1)

static void test_utf8(void **state) {
        (void) state;
        assert_true(U8(""));
        assert_true(U8("plain ascii"));
        assert_true(U8("Nguy\xe1\xbb\x85n"));      /* NFC: U+1EC5 */
        assert_true(U8("Nguye\xcc\x82\xcc\x83n")); /* NFD: e + U+0302 + U+0303 */
        assert_true(U8("Vi\xe1\xbb\x87t Nam"));
        assert_true(U8("\xc2\x80"));         /* U+0080 */
        assert_true(U8("\xe0\xa0\x80"));     /* U+0800 */
        assert_true(U8("\xef\xbf\xbf"));     /* U+FFFF */
        assert_true(U8("\xf0\x90\x80\x80")); /* U+10000 */
        assert_true(U8("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
        assert_true(U8("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */

        assert_false(U8("\xc0\xaf")); /* overlong '/' */
        assert_false(U8("\xc1\xbf"));
        assert_false(U8("\xe0\x80\xaf"));     /* overlong 3-byte */
        assert_false(U8("\xf0\x80\x80\xaf")); /* overlong 4-byte */
        assert_false(U8("\xed\xa0\x80"));     /* U+D800 surrogate */
        assert_false(U8("\xed\xbf\xbf"));     /* U+DFFF surrogate */
        assert_false(U8("\xf4\x90\x80\x80")); /* U+110000 */
        assert_false(U8("\xf5\x80\x80\x80"));
        assert_false(U8("\xe1\xbb")); /* truncated */
        assert_false(U8("Nguy\xe1\xbb"));
        assert_false(U8("\xf0\x90\x80"));
        assert_false(U8("\xff"));
        assert_false(U8("\xfe"));
        assert_false(U8("\x80"));  /* lone continuation */
        assert_false(U8("\xc3(")); /* bad continuation */
        assert_false(U8("a\0b"));  /* NUL */
        assert_false(U8("\0"));
        /* Only n bytes are read: a valid prefix of an invalid string is valid. */
        assert_true(tp_utf8_valid("ab\xff", 2));
}

/* ---- JSON ------------------------------------------------------------------ */

static tp_rc parse_str(const char *s, int max_depth, json_t **out, tp_err *err) {
        return tp_json_parse(s, strlen(s), max_depth, out, err);
}

static void test_json_parse_ok(void **state) {
        json_t *v = NULL;
        tp_err err = { 0 };
        static const char text[] = "{\"a\": [1, 2, {\"b\": \"Nguy\xe1\xbb\x85n\"}]}trailing";

        (void) state;
        /* Exactly len bytes are parsed: the trailing text is outside. */
        assert_int_equal(tp_json_parse(text, strlen(text) - 8, 32, &v, &err), TP_OK);
        assert_true(json_is_object(v));
        assert_string_equal(
                json_string_value(json_object_get(json_array_get(json_object_get(v, "a"), 2), "b")),
                "Nguy\xe1\xbb\x85n");
        json_decref(v);

        /* Any value is accepted at the top (JSON_DECODE_ANY). */
        assert_int_equal(parse_str("5", 32, &v, &err), TP_OK);
        assert_int_equal(json_integer_value(v), 5);
        json_decref(v);
}

static void test_json_parse_duplicate_keys(void **state) {
        json_t *v = (json_t *) 0x1;
        tp_err err = { 0 };

        (void) state;
        assert_int_equal(parse_str("{\"a\": 1, \"a\": 2}", 32, &v, &err), TP_BADJSON);
        assert_ptr_equal(v, (json_t *) 0x1);
        assert_int_equal(err.rc, TP_BADJSON);
        assert_string_equal(err.field, "body");
        assert_non_null(strstr(err.msg, "line 1 column "));
        assert_non_null(strstr(err.msg, "duplicate"));
}

static void test_json_parse_depth_limit(void **state) {
        json_t *v = (json_t *) 0x1;
        tp_err err = { 0 };

        (void) state;
        assert_int_equal(parse_str("[[[1]]]", 4, &v, &err), TP_OK); /* depth 4 */
        json_decref(v);
        v = (json_t *) 0x1;
        assert_int_equal(parse_str("[[[[1]]]]", 4, &v, &err), TP_INVALID); /* depth 5 */
        assert_ptr_equal(v, (json_t *) 0x1);
        assert_int_equal(err.rc, TP_INVALID);
        assert_string_equal(err.field, "body");
        assert_non_null(strstr(err.msg, "4 levels"));
        /* Objects count too. */
        assert_int_equal(parse_str("{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", 4, &v, &err), TP_INVALID);
        assert_ptr_equal(v, (json_t *) 0x1);
        /* 0 disables the check. */
        assert_int_equal(parse_str("[[[[1]]]]", 0, &v, &err), TP_OK);
        json_decref(v);
}

static void test_json_parse_nul_and_utf8(void **state) {
        json_t *v = (json_t *) 0x1;
        tp_err err = { 0 };
        static const char raw_nul[] = "{\"a\":\"x\0y\"}";

        (void) state;
        assert_int_equal(parse_str("\"a\\u0000b\"", 32, &v, &err), TP_BADJSON);
        assert_string_equal(err.field, "body");
        assert_non_null(strstr(err.msg, "line 1 column "));
        assert_int_equal(parse_str("{\"a\": \"\\u0000\"}", 32, &v, &err), TP_BADJSON);
        assert_int_equal(tp_json_parse(raw_nul, sizeof(raw_nul) - 1, 32, &v, &err), TP_BADJSON);
        assert_int_equal(parse_str("\"\xff\"", 32, &v, &err), TP_BADJSON);
        assert_int_equal(parse_str("{\"k\": \"\xc0\xaf\"}", 32, &v, &err), TP_BADJSON);
        assert_int_equal(parse_str("{\"\xed\xa0\x80\": 1}", 32, &v, &err), TP_BADJSON);
        assert_ptr_equal(v, (json_t *) 0x1);
        /* Empty body. */
        assert_int_equal(tp_json_parse("", 0, 32, &v, &err), TP_BADJSON);
        assert_string_equal(err.field, "body");
        assert_ptr_equal(v, (json_t *) 0x1);
}

static void test_json_parse_error_position(void **state) {
        json_t *v = (json_t *) 0x1;
        tp_err err = { 0 };

        (void) state;
        assert_int_equal(parse_str("{\n  \"a\": 1,\n  \"b\": ?\n}", 32, &v, &err), TP_BADJSON);
        assert_ptr_equal(v, (json_t *) 0x1);
        assert_non_null(strstr(err.msg, "line 3 column "));
        assert_int_equal(parse_str("[1, 2", 32, &v, &err), TP_BADJSON);
        assert_non_null(strstr(err.msg, "line 1 column "));
}

static char *nested_array(int depth) {
        char *s = malloc((size_t) depth * 2 + 2);

        assert_non_null(s);
        memset(s, '[', (size_t) depth);
        s[depth] = '1';
        memset(s + depth + 1, ']', (size_t) depth);
        s[2 * depth + 1] = '\0';
        return s;
}

static void test_json_parse_deep_below_jansson_limit(void **state) {
        char *s = nested_array(2000);
        json_t *v = (json_t *) 0x1;
        tp_err err = { 0 };

        (void) state;
        /* jansson (limit 2048) accepts it; our limit refuses it without recursing. */
        assert_int_equal(parse_str(s, 32, &v, &err), TP_INVALID);
        assert_ptr_equal(v, (json_t *) 0x1);
        assert_string_equal(err.field, "body");
        assert_non_null(strstr(err.msg, "32"));
        /* Without our limit it parses, and the depth is exact. */
        assert_int_equal(parse_str(s, 0, &v, &err), TP_OK);
        assert_int_equal(tp_json_depth(v), 2001);
        json_decref(v);
        free(s);

        /* Deeper than jansson's own limit: a parse error, not a crash. */
        s = nested_array(3000);
        v = (json_t *) 0x1;
        assert_int_equal(parse_str(s, 32, &v, &err), TP_BADJSON);
        assert_ptr_equal(v, (json_t *) 0x1);
        free(s);
}

static void test_json_depth(void **state) {
        json_t *v = NULL;

        (void) state;
        assert_int_equal(tp_json_depth(NULL), 0);
        assert_int_equal(parse_str("1", 0, &v, NULL), TP_OK);
        assert_int_equal(tp_json_depth(v), 1);
        json_decref(v);
        assert_int_equal(parse_str("[]", 0, &v, NULL), TP_OK);
        assert_int_equal(tp_json_depth(v), 1);
        json_decref(v);
        assert_int_equal(parse_str("[1]", 0, &v, NULL), TP_OK);
        assert_int_equal(tp_json_depth(v), 2);
        json_decref(v);
        assert_int_equal(parse_str("{\"a\":{\"b\":[1]},\"c\":2}", 0, &v, NULL), TP_OK);
        assert_int_equal(tp_json_depth(v), 4);
        json_decref(v);
        /* Wide: more children than the initial explicit stack. */
        {
                tp_buf b;
                tp_buf_init(&b, 1 << 20);
                assert_int_equal(tp_buf_puts(&b, "[1"), TP_OK);
                for (int i = 0; i < 500; i++)
                        assert_int_equal(tp_buf_puts(&b, ",[2,{\"x\":[3]}]"), TP_OK);
                assert_int_equal(tp_buf_puts(&b, "]"), TP_OK);
                assert_int_equal(tp_json_parse(b.data, b.len, 0, &v, NULL), TP_OK);
                assert_int_equal(tp_json_depth(v), 5);
                json_decref(v);
                tp_buf_done(&b);
        }
}

static void test_json_dump(void **state) {
        json_t *v = NULL;
        size_t len = 0;
        char *s;

        (void) state;
        assert_int_equal(parse_str("{ \"a\" : [ 1 , 2 ] }", 0, &v, NULL), TP_OK);
        s = tp_json_dump(v, &len);
        assert_non_null(s);
        assert_string_equal(s, "{\"a\":[1,2]}");
        assert_int_equal(len, 11);
        tp_free(s);
        json_decref(v);
}

/* ---- allocation failure ---------------------------------------------------- */

/* Everything the scenario allocates is released before it returns, whatever
 * the outcome; LeakSanitizer checks that at exit. */
static tp_rc oom_scenario(void) {
        static const char doc[] =
                "{\"events\": [{\"id\": \"e1\", \"touchpoint\": \"website\", \"props\": {\"a\": [1, 2.5, true]}},"
                " {\"id\": \"e2\", \"comment\": \"Nguy\xe1\xbb\x85n\", \"n\": null}], \"k\": \"v\"}";
        char big[400];
        tp_buf b;
        json_t *v = NULL;
        char *text = NULL, *dumped = NULL;
        tp_err err = { 0 };
        tp_rc rc;

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        tp_buf_init(&b, 1 << 16);
        rc = tp_buf_puts(&b, "prefix:");
        if (rc == TP_OK)
                rc = tp_buf_printf(&b, "%s:%d", big, 12);
        if (rc == TP_OK)
                rc = tp_buf_append(&b, doc, sizeof(doc) - 1);
        if (rc != TP_OK)
                goto out;
        text = tp_buf_take(&b, NULL);
        if (!text) {
                rc = TP_NOMEM;
                goto out;
        }
        rc = tp_json_parse(doc, sizeof(doc) - 1, 32, &v, &err);
        if (rc != TP_OK) {
                assert_int_equal(err.rc, rc);
                goto out;
        }
        dumped = tp_json_dump(v, NULL);
        if (!dumped)
                rc = TP_NOMEM;
out:
        tp_free(dumped);
        json_decref(v);
        tp_free(text);
        tp_buf_done(&b);
        return rc;
}

static void test_oom_loop(void **state) {
        long n;
        tp_rc rc;

        (void) state;
        for (n = 1; n < 10000; n++) {
                tp_alloc_fail_after(n);
                rc = oom_scenario();
                tp_alloc_fail_after(0);
                if (rc == TP_OK)
                        break;
                if (rc != TP_NOMEM)
                        fail_msg("allocation %ld failing gave %s, not out_of_memory", n, tp_rc_code(rc));
        }
        /* The loop must have failed some allocations before it passed. */
        assert_true(n > 5);
        assert_true(n < 10000);
        assert_int_equal(oom_scenario(), TP_OK);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_buf_limit_toobig),
                cmocka_unit_test(test_buf_huge_append_no_overflow),
                cmocka_unit_test(test_buf_zero_max),
                cmocka_unit_test(test_buf_take),
                cmocka_unit_test(test_buf_reset),
                cmocka_unit_test(test_buf_printf_growth),
                cmocka_unit_test(test_buf_printf_boundaries),
                cmocka_unit_test(test_err_setc),
                cmocka_unit_test(test_rc_table),
                cmocka_unit_test(test_time_parse_valid),
                cmocka_unit_test(test_time_parse_invalid),
                cmocka_unit_test(test_time_format_round_trip),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_json_parse_ok),
                cmocka_unit_test(test_json_parse_duplicate_keys),
                cmocka_unit_test(test_json_parse_depth_limit),
                cmocka_unit_test(test_json_parse_nul_and_utf8),
                cmocka_unit_test(test_json_parse_error_position),
                cmocka_unit_test(test_json_parse_deep_below_jansson_limit),
                cmocka_unit_test(test_json_depth),
                cmocka_unit_test(test_json_dump),
                cmocka_unit_test(test_oom_loop),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
