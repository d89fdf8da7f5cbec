/* SPDX-License-Identifier: MIT */
/*
 * test_text.c -- src/text: normalisation (NFC/NFD, case folding, diacritics,
 * đ), negation and intensifiers, the theme matcher, language detection, the
 * model file format (corrupt, truncated, wrong magic/version), training, and
 * obvious comments through the shipped models.  Hand-checkable cases only.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/err.h"
#include "text/text.h"
#include "text/text_int.h"
#include "text/text_train.h"

static tp_text *T; /* the built-in models and taxonomy, opened once */
static char tmpdir[256];

static int setup(void **state) {
        tp_err err = { 0 };

        (void) state;
        if (tp_text_open(NULL, NULL, NULL, &T, &err) != TP_OK) {
                fprintf(stderr, "tp_text_open: %s\n", err.msg);
                return -1;
        }
        (void) snprintf(
                tmpdir, sizeof(tmpdir), "%s/tp-text-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[400];

        (void) state;
        tp_text_free(T);
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        return system(cmd) == 0 ? 0 : -1;
}

static const char *norm(const char *s, int strip) {
        static char out[512];
        tp_err err = { 0 };

        assert_int_equal(tp_text_normalize(s, strlen(s), strip, out, sizeof(out), &err), TP_OK);
        return out;
}

static tp_text_result classify(const char *s, const char *lang) {
        tp_text_result r;
        tp_err err = { 0 };

        assert_int_equal(tp_text_classify(T, s, strlen(s), lang, &r, &err), TP_OK);
        return r;
}

static int has_theme(uint64_t m, const char *key) {
        int i = tp_text_theme_find(T, key);

        assert_true(i >= 0);
        return (int) (m >> i & 1);
}

/* ---- normalisation ----------------------------------------------------------- */

static void test_norm_fold_and_strip(void **state) {
        (void) state;
        assert_string_equal(norm("Giao Hàng Chậm", 0), "giao hàng chậm");
        assert_string_equal(norm("Giao Hàng Chậm", 1), "giao hang cham");
        /* Vietnamese capitals, and đ/Đ which do not decompose */
        assert_string_equal(norm("ĐƯỜNG ĐI KHÔNG ỔN", 0), "đường đi không ổn");
        assert_string_equal(norm("ĐƯỜNG ĐI KHÔNG ỔN", 1), "duong di khong on");
        assert_string_equal(norm("đẹp", 1), "dep");
        assert_string_equal(norm("NOT BAD", 0), "not bad");
        /* typographic apostrophe lumped to ASCII */
        assert_string_equal(norm("Don\xe2\x80\x99t", 0), "don't");
}

static void test_norm_nfc_nfd_same(void **state) {
        char a[64], b[64];

        (void) state;
        /* "hàng": precomposed U+00E0 vs a + U+0300 */
        strcpy(a, norm("h\xc3\xa0ng", 0));
        strcpy(b, norm("ha\xcc\x80ng", 0));
        assert_string_equal(a, b);
        /* "ệ": precomposed U+1EC7, e + dot below + circumflex, e + circumflex + dot below */
        strcpy(a, norm("\xe1\xbb\x87", 0));
        assert_string_equal(norm("e\xcc\xa3\xcc\x82", 0), a);
        assert_string_equal(norm("e\xcc\x82\xcc\xa3", 0), a);
        /* NFD input classifies exactly like NFC input */
        {
                tp_text_result r1 = classify("giao h\xc3\xa0ng ch\xe1\xba\xadm", NULL);
                tp_text_result r2 = classify("giao ha\xcc\x80ng cha\xcc\xa3\xcc\x82m", NULL);

                assert_int_equal(r1.label, r2.label);
                assert_true(r1.confidence == r2.confidence);
                assert_true(r1.themes == r2.themes);
        }
}

static void test_norm_emoji_and_mixed(void **state) {
        tp_text_result r;
        text_doc *d = tp_malloc(sizeof(*d));
        tp_err err = { 0 };

        (void) state;
        assert_non_null(d);
        assert_string_equal(norm("Tốt 👍", 0), "tốt 👍");
        assert_string_equal(norm("Tốt 👍", 1), "tot 👍");
        /* an emoji is a token of its own and breaks nothing */
        assert_int_equal(text_doc_build(d, "tốt👍quá", strlen("tốt👍quá"), NULL, 0, &err), TP_OK);
        assert_int_equal(d->ntok, 3);
        assert_int_equal(d->tok[1].kind, TOK_SYM);
        r = classify("👍👍👍", NULL);
        assert_true(r.confidence > 0 && r.confidence <= 1);
        r = classify("😡 giao hàng quá chậm 😡", NULL);
        assert_int_equal(r.label, TP_SENT_NEGATIVE);
        /* mixed Vietnamese and English: diacritics decide */
        r = classify("Shop giao hàng nhanh, good job", NULL);
        assert_string_equal(r.lang, "vi");
        tp_free(d);
}

static void test_norm_invalid_utf8(void **state) {
        tp_text_result r;
        tp_err err = { 0 };
        char out[64];

        (void) state;
        r.label = (tp_sentiment) 77;
        assert_int_equal(tp_text_classify(T, "t\xc3\x28t", 4, NULL, &r, &err), TP_INVALID);
        assert_non_null(strstr(err.msg, "UTF-8"));
        assert_int_equal(r.label, 77); /* untouched on failure */
        assert_int_equal(tp_text_classify(T, "ab\0cd", 5, NULL, &r, &err), TP_INVALID);
        assert_int_equal(tp_text_classify(T, "\xed\xa0\x80", 3, NULL, &r, &err), TP_INVALID); /* surrogate */
        assert_int_equal(tp_text_normalize("\xff", 1, 0, out, sizeof(out), &err), TP_INVALID);
        assert_int_equal(tp_text_normalize("abcdef", 6, 0, out, 4, &err), TP_TOOBIG);
        assert_int_equal(tp_text_classify(T, "tốt", strlen("tốt"), "fr", &r, &err), TP_INVALID);
}

static void test_empty_and_long(void **state) {
        tp_text_result r;
        char *big;
        tp_err err = { 0 };

        (void) state;
        r = classify("", NULL);
        assert_int_equal(r.label, TP_SENT_NEUTRAL);
        assert_true(r.confidence == 1.0f);
        assert_true(r.themes == 0);
        r = classify("  \t  ", "en");
        assert_int_equal(r.label, TP_SENT_NEUTRAL);
        assert_true(r.confidence == 1.0f);
        assert_string_equal(r.lang, "en");
        assert_int_equal(tp_text_classify(T, NULL, 0, NULL, &r, &err), TP_OK);
        /* 100 KB: features from the first 4 KiB, no failure */
        big = tp_malloc(100001);
        assert_non_null(big);
        for (size_t i = 0; i + 11 <= 100000; i += 11)
                memcpy(big + i, "rất tệ ", 11);
        memset(big + 99990, ' ', 10);
        big[100000] = '\0';
        assert_int_equal(tp_text_classify(T, big, strlen(big), NULL, &r, &err), TP_OK);
        assert_int_equal(r.label, TP_SENT_NEGATIVE);
        tp_free(big);
}

/* ---- negation and intensifiers ---------------------------------------------- */

static text_doc *doc_of(const char *s) {
        static text_lex lx;
        static text_doc d;
        tp_err err = { 0 };

        text_lex_init(&lx);
        assert_int_equal(text_doc_build(&d, s, strlen(s), &lx, 0, &err), TP_OK);
        return &d;
}

static void test_negation_flags(void **state) {
        text_doc *d;

        (void) state;
        d = doc_of("không tốt");
        assert_int_equal(d->ntok, 2);
        assert_true(d->tok[0].flags & TOKF_NEGATOR);
        assert_true(d->tok[1].flags & TOKF_NEG);
        d = doc_of("khong tot"); /* without diacritics too */
        assert_true(d->tok[1].flags & TOKF_NEG);
        d = doc_of("chẳng nhiệt tình");
        assert_true(d->tok[1].flags & TOKF_NEG);
        assert_true(d->tok[2].flags & TOKF_NEG);
        d = doc_of("chưa hài lòng");
        assert_true(d->tok[1].flags & TOKF_NEG);
        /* "không những ... mà còn": no negation */
        d = doc_of("không những tốt mà còn rẻ");
        assert_false(d->tok[2].flags & TOKF_NEG);
        /* punctuation ends the scope */
        d = doc_of("không, tốt");
        assert_false(d->tok[1].flags & TOKF_NEG);
        d = doc_of("not bad");
        assert_true(d->tok[1].flags & TOKF_NEG);
        d = doc_of("I don't like it");
        assert_true(d->tok[2].flags & TOKF_NEG);
        d = doc_of("never again");
        assert_true(d->tok[1].flags & TOKF_NEG);
        d = doc_of("not only fast but cheap");
        assert_false(d->tok[2].flags & TOKF_NEG);
        assert_false(d->tok[4].flags & TOKF_NEG);
}

static void test_intensifier_flags(void **state) {
        text_doc *d;

        (void) state;
        d = doc_of("rất chậm");
        assert_true(d->tok[1].flags & TOKF_INT);
        d = doc_of("chậm quá");
        assert_true(d->tok[0].flags & TOKF_INT);
        d = doc_of("tốt lắm");
        assert_true(d->tok[0].flags & TOKF_INT);
        d = doc_of("very slow");
        assert_true(d->tok[1].flags & TOKF_INT);
        d = doc_of("chậm");
        assert_false(d->tok[0].flags & TOKF_INT);
}

static void test_classify_negation(void **state) {
        tp_text_result pos, neg;

        (void) state;
        pos = classify("tốt", "vi");
        neg = classify("không tốt", "vi");
        assert_int_equal(pos.label, TP_SENT_POSITIVE);
        assert_int_equal(neg.label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("khong tot", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("chẳng hay", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("chưa tốt", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("không hài lòng", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("good", "en").label, TP_SENT_POSITIVE);
        assert_int_equal(classify("not good", "en").label, TP_SENT_NEGATIVE);
        assert_int_not_equal(classify("not bad", "en").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("never again", "en").label, TP_SENT_NEGATIVE);
}

static void test_classify_intensifier(void **state) {
        (void) state;
        assert_int_equal(classify("rất chậm", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("rất tốt", "vi").label, TP_SENT_POSITIVE);
        assert_int_equal(classify("giao hàng quá chậm", "vi").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("very slow delivery", "en").label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("very helpful staff", "en").label, TP_SENT_POSITIVE);
        /* an intensified positive is at least as sure as the plain one */
        assert_true(classify("rất tốt", "vi").confidence >= classify("tốt", "vi").confidence - 0.02f);
}

static void test_classify_obvious(void **state) {
        tp_text_result r;

        (void) state;
        r = classify("Nhân viên rất nhiệt tình, giao hàng nhanh", NULL);
        assert_int_equal(r.label, TP_SENT_POSITIVE);
        assert_string_equal(r.lang, "vi");
        assert_true(r.confidence > 0.5f && r.confidence <= 1.0f);
        assert_int_equal(classify("giao hàng chậm, thái độ phục vụ kém", NULL).label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("giao hang cham, thai do phuc vu kem", NULL).label, TP_SENT_NEGATIVE);
        assert_int_equal(classify("thầy dạy rất hay và nhiệt tình", NULL).label, TP_SENT_POSITIVE);
        r = classify("Great crew and a smooth flight, thank you!", NULL);
        assert_int_equal(r.label, TP_SENT_POSITIVE);
        assert_string_equal(r.lang, "en");
        r = classify("Flight delayed 3 hours and terrible customer service", NULL);
        assert_int_equal(r.label, TP_SENT_NEGATIVE);
        assert_string_equal(r.lang, "en");
        assert_string_equal(tp_text_sentiment_key(TP_SENT_NEGATIVE), "negative");
        assert_string_equal(tp_text_sentiment_key(TP_SENT_NEUTRAL), "neutral");
        assert_string_equal(tp_text_sentiment_key(TP_SENT_POSITIVE), "positive");
        assert_int_equal(tp_text_sentiment_parse("positive"), TP_SENT_POSITIVE);
        assert_int_equal(tp_text_sentiment_parse("0"), TP_SENT_NEGATIVE);
        assert_int_equal(tp_text_sentiment_parse("bad"), -1);
}

/* ---- language ---------------------------------------------------------------- */

static void test_language(void **state) {
        (void) state;
        assert_string_equal(classify("giao hàng chậm", NULL).lang, "vi");
        assert_string_equal(classify("giao hang cham qua", "auto").lang, "vi");
        assert_string_equal(classify("nhan vien khong nhiet tinh", NULL).lang, "vi");
        assert_string_equal(classify("the delivery was slow", NULL).lang, "en");
        assert_string_equal(classify("Thanks for the quick reply!", NULL).lang, "en");
        assert_string_equal(classify("giao hàng chậm", "en").lang, "en"); /* given wins */
}

/* ---- themes ------------------------------------------------------------------ */

static void test_themes_builtin(void **state) {
        uint64_t m;

        (void) state;
        assert_true(tp_text_theme_count(T) >= 10 && tp_text_theme_count(T) <= 64);
        assert_string_equal(tp_text_theme_key(T, 0), "delivery");
        assert_int_equal(tp_text_theme_find(T, "delivery"), 0);
        assert_int_equal(tp_text_theme_find(T, "no_such_theme"), -1);
        assert_null(tp_text_theme_key(T, 64));
        assert_string_equal(tp_text_theme_name(T, 0, "vi"), "Giao hàng và chờ đợi");
        assert_string_equal(tp_text_theme_name(T, 0, "en"), "Delivery and waiting");
        assert_true(has_theme(classify("giao hàng", NULL).themes, "delivery"));
        assert_true(has_theme(classify("giao hàng chậm", NULL).themes, "delivery"));
        assert_true(has_theme(classify("GIAO HÀNG CHẬM", NULL).themes, "delivery"));
        assert_true(has_theme(classify("giao hang cham", NULL).themes, "delivery"));    /* no diacritics */
        assert_true(has_theme(classify("giao ha\xcc\x80ng", NULL).themes, "delivery")); /* NFD */
        /* not across punctuation, not inside another word */
        assert_false(has_theme(classify("giao, hàng", NULL).themes, "delivery"));
        assert_false(has_theme(classify("I am so happy", NULL).themes, "website"));
        assert_true(has_theme(classify("the app crashed", NULL).themes, "website"));
        /* with diacritics "gia" is not "giá"; in English "be" is not "bể" */
        assert_false(has_theme(classify("gia đình tôi rất vui", NULL).themes, "price"));
        assert_true(has_theme(classify("giá hơi đắt", NULL).themes, "price"));
        assert_false(has_theme(classify("it will be fine", "en").themes, "damage"));
        /* prefixes (delay*) and several themes at once */
        assert_true(has_theme(classify("flight delayed again", NULL).themes, "delivery"));
        assert_true(has_theme(classify("they cancelled my flight", NULL).themes, "cancellation"));
        m = classify("nhân viên thái độ kém, giá quá đắt", NULL).themes;
        assert_true(has_theme(m, "staff"));
        assert_true(has_theme(m, "price"));
        assert_false(has_theme(m, "delivery"));
}

static const char *write_file(const char *name, const void *data, size_t len) {
        static char path[512];
        FILE *f;

        (void) snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
        return path;
}

static void test_themes_custom_file(void **state) {
        const char *json =
                "{\"themes\": ["
                "{\"key\": \"wait\", \"name\": {\"vi\": \"Chờ\", \"en\": \"Waiting\"},"
                " \"terms\": {\"vi\": [\"chờ lâu\"], \"en\": [\"long wait\", \"queue*\"]}},"
                "{\"key\": \"food\", \"name\": {\"vi\": \"Đồ ăn\", \"en\": \"Food\"},"
                " \"terms\": {\"vi\": [\"đồ ăn\"], \"en\": [\"food\"]}}]}";
        const char *path;
        tp_text *t = NULL;
        tp_text_result r;
        tp_err err = { 0 };

        (void) state;
        path = write_file("themes.json", json, strlen(json));
        assert_int_equal(tp_text_open(NULL, NULL, path, &t, &err), TP_OK);
        assert_int_equal(tp_text_theme_count(t), 2);
        assert_int_equal(tp_text_theme_find(t, "food"), 1);
        assert_int_equal(
                tp_text_classify(
                        t, "cho lau qua, do an nguoi", strlen("cho lau qua, do an nguoi"), NULL, &r, &err),
                TP_OK);
        assert_true(r.themes == 3);
        assert_int_equal(tp_text_classify(t, "queued forever", 14, "en", &r, &err), TP_OK);
        assert_true(r.themes == 1);
        tp_text_free(t);

        /* broken taxonomies: clear errors, nothing returned */
        t = (tp_text *) 0x1;
        path = write_file("bad1.json", "{\"themes\": [", 12);
        assert_int_equal(tp_text_open(NULL, NULL, path, &t, &err), TP_BADJSON);
        assert_true(t == (tp_text *) 0x1);
        json = "{\"themes\": [{\"key\": \"a\", \"name\": {\"vi\": \"A\", \"en\": \"A\"}, \"terms\": {\"en\": [\"x\"]}},"
               "{\"key\": \"a\", \"name\": {\"vi\": \"A\", \"en\": \"A\"}, \"terms\": {\"en\": [\"y\"]}}]}";
        path = write_file("bad2.json", json, strlen(json));
        assert_int_equal(tp_text_open(NULL, NULL, path, &t, &err), TP_INVALID);
        assert_non_null(strstr(err.msg, "twice"));
        json = "{\"themes\": [{\"key\": \"Bad Key\", \"name\": {\"vi\": \"A\", \"en\": \"A\"}, \"terms\": {\"en\": [\"x\"]}}]}";
        path = write_file("bad3.json", json, strlen(json));
        assert_int_equal(tp_text_open(NULL, NULL, path, &t, &err), TP_INVALID);
        json = "{\"themes\": [{\"key\": \"a\", \"name\": {\"vi\": \"A\", \"en\": \"A\"}, \"terms\": {\"en\": []}}]}";
        path = write_file("bad4.json", json, strlen(json));
        assert_int_equal(tp_text_open(NULL, NULL, path, &t, &err), TP_INVALID);
        assert_non_null(strstr(err.msg, "no terms"));
}

/* ---- the model file ----------------------------------------------------------- */

static void expect_corrupt(const char *name, const unsigned char *buf, size_t len, const char *what) {
        tp_text *t = (tp_text *) 0x1;
        tp_err err = { 0 };
        const char *path = write_file(name, buf, len);

        assert_int_equal(tp_text_open(path, NULL, NULL, &t, &err), TP_CORRUPT);
        assert_true(t == (tp_text *) 0x1);
        if (!strstr(err.msg, what))
                fail_msg("%s: message '%s' lacks '%s'", name, err.msg, what);
}

static void test_model_format(void **state) {
        size_t len = tp_text_blob_vi_len;
        unsigned char *buf = tp_malloc(len);
        tp_text *t = NULL;
        tp_err err = { 0 };
        text_model m;
        const char *path;

        (void) state;
        assert_non_null(buf);
        memcpy(buf, tp_text_blob_vi, len);
        assert_true(len <= 1500000);
        assert_memory_equal(buf, "TPTXTMDL", 8);
        path = write_file("ok.tpm", buf, len);
        assert_int_equal(tp_text_open(path, NULL, NULL, &t, &err), TP_OK);
        tp_text_free(t);
        /* the vi model where the en one is expected */
        t = (tp_text *) 0x1;
        assert_int_equal(tp_text_open(NULL, path, NULL, &t, &err), TP_INVALID);
        assert_true(t == (tp_text *) 0x1);
        /* one flipped byte in the weights, in the header's bias, in the checksum */
        buf[len / 2] ^= 0x40;
        expect_corrupt("flip.tpm", buf, len, "checksum");
        buf[len / 2] ^= 0x40;
        buf[45] ^= 0x01;
        expect_corrupt("flip2.tpm", buf, len, "checksum");
        buf[45] ^= 0x01;
        buf[len - 1] ^= 0xff;
        expect_corrupt("flip3.tpm", buf, len, "checksum");
        buf[len - 1] ^= 0xff;
        /* truncated, empty, wrong magic, wrong version */
        expect_corrupt("trunc.tpm", buf, len - 100, "truncated");
        expect_corrupt("short.tpm", buf, 40, "too short");
        expect_corrupt("empty.tpm", buf, 0, "too short");
        buf[0] = 'X';
        expect_corrupt("magic.tpm", buf, len, "magic");
        buf[0] = 'T';
        buf[8] = 2;
        expect_corrupt("version.tpm", buf, len, "version 2");
        buf[8] = 1;
        /* in memory too, including lengths shorter than the header */
        for (size_t n = 0; n < 200; n += 7)
                assert_int_equal(text_model_parse(buf, n, "mem", &m, &err), TP_CORRUPT);
        assert_int_equal(text_model_parse(buf, len, "mem", &m, &err), TP_OK);
        assert_string_equal(m.lang, "vi");
        /* missing file: I/O error */
        (void) snprintf((char *) buf, 512, "%s/none.tpm", tmpdir);
        assert_int_equal(tp_text_open((char *) buf, NULL, NULL, &t, &err), TP_IO);
        tp_free(buf);
}

static void test_train_roundtrip(void **state) {
        static const char *pos[] = {
                "rất tốt", "tốt lắm", "nhân viên nhiệt tình", "giao hàng nhanh", "hài lòng"
        };
        static const char *neg[] = { "rất tệ", "tệ quá", "nhân viên thô lỗ", "giao hàng chậm", "không hài lòng" };
        tp_text_data d = { 0 };
        tp_text_train_opts o;
        tp_err err = { 0 };
        char p1[512], p2[512], cmd[1200];
        tp_text *t = NULL;
        tp_text_result r;
        FILE *f;

        (void) state;
        (void) snprintf(p1, sizeof(p1), "%s/data.csv", tmpdir);
        f = fopen(p1, "w");
        assert_non_null(f);
        fputs("id,label,text\n", f);
        for (int k = 0; k < 5; k++)
                fprintf(f, "%d,positive,\"%s\"\n%d,negative,\"%s\"\n", 2 * k, pos[k], 2 * k + 1, neg[k]);
        fputs("99,neutral,\"hai dòng,\nmột \"\"trích dẫn\"\"\"\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(tp_text_data_load_csv(p1, NULL, &d, &err), TP_OK);
        assert_int_equal(d.n, 11);
        assert_string_equal(d.text[10], "hai dòng,\nmột \"trích dẫn\"");
        assert_int_equal(d.label[10], TP_SENT_NEUTRAL);
        tp_text_train_defaults(&o, "vi");
        o.bits = 12;
        (void) snprintf(p1, sizeof(p1), "%s/m1.tpm", tmpdir);
        (void) snprintf(p2, sizeof(p2), "%s/m2.tpm", tmpdir);
        assert_int_equal(tp_text_train(&d, &o, p1, &err), TP_OK);
        assert_int_equal(tp_text_train(&d, &o, p2, &err), TP_OK);
        (void) snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", p1, p2);
        assert_int_equal(system(cmd), 0); /* deterministic */
        assert_int_equal(tp_text_open(p1, NULL, NULL, &t, &err), TP_OK);
        assert_int_equal(tp_text_classify(t, "rất tốt", strlen("rất tốt"), "vi", &r, &err), TP_OK);
        assert_int_equal(r.label, TP_SENT_POSITIVE);
        assert_int_equal(tp_text_classify(t, "rất tệ", strlen("rất tệ"), "vi", &r, &err), TP_OK);
        assert_int_equal(r.label, TP_SENT_NEGATIVE);
        tp_text_free(t);
        /* a bad label is a clear error */
        (void) snprintf(p1, sizeof(p1), "%s/bad.csv", tmpdir);
        f = fopen(p1, "w");
        assert_non_null(f);
        fputs("label,text\ngood,xyz\n", f);
        assert_int_equal(fclose(f), 0);
        tp_text_data_done(&d);
        assert_int_equal(tp_text_data_load_csv(p1, NULL, &d, &err), TP_INVALID);
        assert_non_null(strstr(err.msg, "record 2"));
        tp_text_data_done(&d);
}

/* ---- threads ------------------------------------------------------------------ */

static const char *const thread_text[] = { "giao hàng chậm quá",
                                           "nhân viên rất nhiệt tình",
                                           "not bad at all",
                                           "flight cancelled, lost my bag",
                                           "gia ca hop ly" };

static void *worker(void *arg) {
        tp_text_result *want = arg;

        for (int k = 0; k < 200; k++)
                for (int i = 0; i < 5; i++) {
                        tp_text_result r;
                        tp_err err = { 0 };

                        if (tp_text_classify(T, thread_text[i], strlen(thread_text[i]), NULL, &r, &err) !=
                                    TP_OK ||
                            r.label != want[i].label || r.confidence != want[i].confidence ||
                            r.themes != want[i].themes)
                                return (void *) 1;
                }
        return NULL;
}

static void test_threads_share(void **state) {
        tp_text_result want[5];
        pthread_t th[2];

        (void) state;
        for (int i = 0; i < 5; i++)
                want[i] = classify(thread_text[i], NULL);
        for (int i = 0; i < 2; i++)
                assert_int_equal(pthread_create(&th[i], NULL, worker, want), 0);
        for (int i = 0; i < 2; i++) {
                void *ret;

                assert_int_equal(pthread_join(th[i], &ret), 0);
                assert_null(ret);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_norm_fold_and_strip),
                cmocka_unit_test(test_norm_nfc_nfd_same),
                cmocka_unit_test(test_norm_emoji_and_mixed),
                cmocka_unit_test(test_norm_invalid_utf8),
                cmocka_unit_test(test_empty_and_long),
                cmocka_unit_test(test_negation_flags),
                cmocka_unit_test(test_intensifier_flags),
                cmocka_unit_test(test_classify_negation),
                cmocka_unit_test(test_classify_intensifier),
                cmocka_unit_test(test_classify_obvious),
                cmocka_unit_test(test_language),
                cmocka_unit_test(test_themes_builtin),
                cmocka_unit_test(test_themes_custom_file),
                cmocka_unit_test(test_model_format),
                cmocka_unit_test(test_train_roundtrip),
                cmocka_unit_test(test_threads_share),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
