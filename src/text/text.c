/* SPDX-License-Identifier: MIT */
/*
 * text.c -- tp_text: open the models and the taxonomy, classify a comment.
 */
#include "text/text.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "text/text_int.h"

enum { LANG_VI = 0, LANG_EN = 1 };

struct tp_text {
        text_model model[2];
        text_themes *themes;
        text_lex lex;
};

static tp_rc open_model(const char *path, int which, text_model *m, tp_err *err) {
        const char *want = which == LANG_VI ? "vi" : "en";
        tp_rc rc;

        if (path)
                rc = text_model_load(path, m, err);
        else if (which == LANG_VI)
                rc = text_model_parse(tp_text_blob_vi, tp_text_blob_vi_len, "built-in vi model", m, err);
        else
                rc = text_model_parse(tp_text_blob_en, tp_text_blob_en_len, "built-in en model", m, err);
        if (rc != TP_OK)
                return rc;
        if (strcmp(m->lang, want) != 0) {
                rc = tp_err_set(
                        err,
                        TP_INVALID,
                        "%s: is a model for '%s', expected '%s'",
                        path ? path : "built-in model",
                        m->lang,
                        want);
                text_model_done(m);
        }
        return rc;
}

static tp_rc open_themes(const char *path, text_themes **ret, tp_err *err) {
        char *buf = NULL;
        FILE *f;
        long sz;
        tp_rc rc;

        if (!path)
                return text_themes_parse(
                        (const char *) tp_text_blob_themes, tp_text_blob_themes_len, "built-in themes", ret, err);
        f = fopen(path, "rb");
        if (!f)
                return tp_err_set(err, TP_IO, "%s: cannot open", path);
        if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
            sz > (4L << 20)) {
                rc = tp_err_set(err, TP_IO, "%s: cannot read (or over 4 MiB)", path);
                goto out;
        }
        buf = tp_malloc((size_t) sz + 1);
        if (!buf) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        if (fread(buf, 1, (size_t) sz, f) != (size_t) sz) {
                rc = tp_err_set(err, TP_IO, "%s: short read", path);
                goto out;
        }
        rc = text_themes_parse(buf, (size_t) sz, path, ret, err);
out:
        tp_free(buf);
        fclose(f);
        return rc;
}

tp_rc tp_text_open(const char *model_vi, const char *model_en, const char *themes, tp_text **ret, tp_err *err) {
        tp_text *t;
        tp_rc rc;

        t = tp_calloc(1, sizeof(*t));
        if (!t)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        text_lex_init(&t->lex);
        rc = open_model(model_vi, LANG_VI, &t->model[LANG_VI], err);
        if (rc == TP_OK)
                rc = open_model(model_en, LANG_EN, &t->model[LANG_EN], err);
        if (rc == TP_OK)
                rc = open_themes(themes, &t->themes, err);
        if (rc != TP_OK) {
                tp_text_free(t);
                return rc;
        }
        *ret = t;
        return TP_OK;
}

void tp_text_free(tp_text *t) {
        if (!t)
                return;
        text_model_done(&t->model[LANG_VI]);
        text_model_done(&t->model[LANG_EN]);
        text_themes_free(t->themes);
        tp_free(t);
}

tp_rc tp_text_classify(
        const tp_text *t, const char *s, size_t len, const char *lang, tp_text_result *out, tp_err *err) {
        text_doc d;
        text_feat f[TEXT_MAX_FEATS];
        tp_text_result r;
        float prob[TEXT_NCLASS];
        int which, nf;
        tp_rc rc;

        if (!lang || strcmp(lang, "auto") == 0 || lang[0] == '\0')
                which = -1;
        else if (strcmp(lang, "vi") == 0)
                which = LANG_VI;
        else if (strcmp(lang, "en") == 0)
                which = LANG_EN;
        else
                return tp_err_setf(err, TP_INVALID, "lang", "unknown language '%s' (vi, en or auto)", lang);
        rc = text_doc_build(&d, s ? s : "", s ? len : 0, &t->lex, 0, err);
        if (rc != TP_OK)
                return rc;
        if (which < 0)
                which = d.en_cues > d.vi_cues ? LANG_EN : LANG_VI;
        memset(&r, 0, sizeof(r));
        memcpy(r.lang, which == LANG_VI ? "vi" : "en", 3);
        if (d.ntok == 0) {
                r.label = TP_SENT_NEUTRAL;
                r.confidence = 1.0f;
                *out = r;
                return TP_OK;
        }
        nf = text_features(&d, &t->model[which].cfg, f, TEXT_MAX_FEATS);
        text_model_predict(&t->model[which], f, nf, prob);
        r.label = TP_SENT_NEGATIVE;
        for (int c = 1; c < TEXT_NCLASS; c++)
                if (prob[c] > prob[r.label])
                        r.label = (tp_sentiment) c;
        r.confidence = prob[r.label];
        r.themes = text_themes_match(t->themes, &d, which == LANG_VI);
        *out = r;
        return TP_OK;
}

int tp_text_theme_count(const tp_text *t) {
        return t ? text_themes_count(t->themes) : 0;
}

const char *tp_text_theme_key(const tp_text *t, int i) {
        return t ? text_themes_key(t->themes, i) : NULL;
}

const char *tp_text_theme_name(const tp_text *t, int i, const char *lang) {
        return t ? text_themes_name(t->themes, i, lang) : NULL;
}

int tp_text_theme_find(const tp_text *t, const char *key) {
        int n = tp_text_theme_count(t);

        for (int i = 0; key && i < n; i++)
                if (strcmp(text_themes_key(t->themes, i), key) == 0)
                        return i;
        return -1;
}

const char *tp_text_sentiment_key(tp_sentiment s) {
        switch (s) {
        case TP_SENT_NEGATIVE:
                return "negative";
        case TP_SENT_NEUTRAL:
                return "neutral";
        case TP_SENT_POSITIVE:
                return "positive";
        }
        return "neutral";
}

int tp_text_sentiment_parse(const char *s) {
        if (!s)
                return -1;
        if (strcmp(s, "negative") == 0 || strcmp(s, "0") == 0)
                return TP_SENT_NEGATIVE;
        if (strcmp(s, "neutral") == 0 || strcmp(s, "1") == 0)
                return TP_SENT_NEUTRAL;
        if (strcmp(s, "positive") == 0 || strcmp(s, "2") == 0)
                return TP_SENT_POSITIVE;
        return -1;
}

const char *tp_text_builtin_themes(size_t *ret_len) {
        *ret_len = tp_text_blob_themes_len;
        return (const char *) tp_text_blob_themes;
}
