/* SPDX-License-Identifier: MIT */
/*
 * text_themes.c -- the theme taxonomy (a JSON file, see docs/TEXT.md) and the
 * matcher: each term is folded and tokenised like a comment, then matched on
 * whole tokens, consecutive, with no punctuation between them.  A token with
 * diacritics must equal the term's token exactly; a token typed without them
 * matches on the form without diacritics ("giao hang cham" is "giao hàng
 * chậm") when the comment is Vietnamese typed without them.  A term ending in '*' matches any word starting
 * with its last token.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "text/text.h"
#include "text/text_int.h"

#define MAX_THEMES 64
#define MAX_TERM_TOKS 8
#define KEY_MAX 48
#define NAME_MAX_BYTES 128

typedef struct th_tok {
        uint64_t h_acc, h_str;
        uint32_t str_off;
        uint16_t str_len;
        uint8_t marks, prefix;
} th_tok;

typedef struct th_term {
        int theme, ntok, first; /* first: index into toks */
        int next;               /* next term in the same index slot, -1 at the end */
} th_term;

typedef struct th_theme {
        char key[KEY_MAX];
        char name_vi[NAME_MAX_BYTES], name_en[NAME_MAX_BYTES];
} th_theme;

struct text_themes {
        int n;
        th_theme theme[MAX_THEMES];
        th_term *terms;
        int nterms, capterms;
        th_tok *toks;
        int ntoks, captoks;
        char *pool;
        size_t pool_len, pool_cap;
        int *slot; /* head term per slot, -1 empty */
        uint32_t nslot;
        int *pslot; /* one-word prefix terms by their first 3 bytes */
};

void text_themes_free(text_themes *th) {
        if (!th)
                return;
        tp_free(th->terms);
        tp_free(th->toks);
        tp_free(th->pool);
        tp_free(th->slot);
        tp_free(th->pslot);
        tp_free(th);
}

static int grow(void **p, int *cap, int need, size_t elem) {
        void *q;
        int nc;

        if (need <= *cap)
                return 0;
        nc = *cap ? *cap * 2 : 64;
        while (nc < need)
                nc *= 2;
        q = tp_realloc(*p, (size_t) nc * elem);
        if (!q)
                return -1;
        *p = q;
        *cap = nc;
        return 0;
}

static tp_rc add_term(text_themes *th, int theme, const char *term, text_doc *d, const char *field, tp_err *err) {
        size_t len = strlen(term);
        int prefix = 0;
        th_term *tm;
        tp_rc rc;

        while (len > 0 && term[len - 1] == ' ')
                len--;
        if (len > 0 && term[len - 1] == '*') {
                prefix = 1;
                len--;
        }
        rc = text_doc_build(d, term, len, NULL, 0, err);
        if (rc != TP_OK)
                return tp_err_setf(err, rc, field, "theme term \"%s\": not valid UTF-8", term);
        if (d->ntok == 0 || d->ntok > MAX_TERM_TOKS)
                return tp_err_setf(
                        err, TP_INVALID, field, "theme term \"%s\" must have 1 to %d words", term, MAX_TERM_TOKS);
        if (prefix && d->tok[d->ntok - 1].str_len < 3)
                return tp_err_setf(
                        err, TP_INVALID, field, "theme term \"%s\": a prefix needs 3 letters or more", term);
        for (int i = 0; i < d->ntok; i++)
                if (d->tok[i].kind != TOK_WORD || (i > 0 && (d->tok[i].flags & TOKF_BREAK)))
                        return tp_err_setf(
                                err,
                                TP_INVALID,
                                field,
                                "theme term \"%s\": only words and spaces (and a final *)",
                                term);
        if (grow((void **) &th->terms, &th->capterms, th->nterms + 1, sizeof(th_term)) ||
            grow((void **) &th->toks, &th->captoks, th->ntoks + d->ntok, sizeof(th_tok)))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        tm = &th->terms[th->nterms++];
        tm->theme = theme;
        tm->ntok = d->ntok;
        tm->first = th->ntoks;
        tm->next = -1;
        for (int i = 0; i < d->ntok; i++) {
                const text_tok *t = &d->tok[i];
                th_tok *k = &th->toks[th->ntoks++];

                k->h_acc = t->h_acc;
                k->h_str = t->h_str;
                k->marks = (t->flags & TOKF_MARKS) != 0;
                k->prefix = (uint8_t) (prefix && i == d->ntok - 1);
                k->str_len = t->str_len;
                if (th->pool_len + t->str_len + 1 > th->pool_cap) {
                        size_t nc = th->pool_cap ? th->pool_cap * 2 : 4096;
                        char *q;

                        while (nc < th->pool_len + t->str_len + 1)
                                nc *= 2;
                        q = tp_realloc(th->pool, nc);
                        if (!q)
                                return tp_err_set(err, TP_NOMEM, "out of memory");
                        th->pool = q;
                        th->pool_cap = nc;
                }
                k->str_off = (uint32_t) th->pool_len;
                memcpy(th->pool + th->pool_len, d->str + t->str, t->str_len);
                th->pool[th->pool_len + t->str_len] = '\0';
                th->pool_len += (size_t) t->str_len + 1;
        }
        return TP_OK;
}

static tp_rc copy_name(char *dst, const json_t *names, const char *lang, const char *field, tp_err *err) {
        const json_t *v = json_object_get(names, lang);

        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= NAME_MAX_BYTES)
                return tp_err_setf(
                        err,
                        TP_INVALID,
                        field,
                        "theme name.%s must be a string of 1 to %d bytes",
                        lang,
                        NAME_MAX_BYTES - 1);
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
        return TP_OK;
}

static int key_ok(const char *k) {
        size_t n = strlen(k);

        if (n == 0 || n >= KEY_MAX)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return 0;
        return 1;
}

static tp_rc build_index(text_themes *th, tp_err *err) {
        uint32_t n = 64;

        while (n < (uint32_t) th->nterms * 2)
                n *= 2;
        th->slot = tp_malloc(n * sizeof(int));
        th->pslot = tp_malloc(n * sizeof(int));
        if (!th->slot || !th->pslot)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        th->nslot = n;
        for (uint32_t i = 0; i < n; i++)
                th->slot[i] = th->pslot[i] = -1;
        /* Insert backwards so each chain lists terms in file order. */
        for (int i = th->nterms - 1; i >= 0; i--) {
                th_term *tm = &th->terms[i];
                const th_tok *k = &th->toks[tm->first];

                if (k->prefix) {
                        uint32_t s = (uint32_t) (text_hash(th->pool + k->str_off, 3) & (n - 1));

                        tm->next = th->pslot[s];
                        th->pslot[s] = i;
                } else {
                        uint32_t s = (uint32_t) (k->h_str & (n - 1));

                        tm->next = th->slot[s];
                        th->slot[s] = i;
                }
        }
        return TP_OK;
}

tp_rc text_themes_parse(const char *json, size_t len, const char *what, text_themes **ret, tp_err *err) {
        text_themes *th = NULL;
        text_doc *d = NULL;
        json_t *root = NULL, *arr;
        tp_rc rc;
        size_t i;
        json_t *v;

        rc = tp_json_parse(json, len, 16, &root, err);
        if (rc != TP_OK) {
                char m[sizeof(err->msg)];

                if (err) {
                        memcpy(m, err->msg, sizeof(m));
                        tp_err_set(err, rc, "%s: %s", what, m);
                }
                goto out;
        }
        arr = json_object_get(root, "themes");
        if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_THEMES) {
                rc = tp_err_setf(
                        err,
                        TP_INVALID,
                        "themes",
                        "%s: \"themes\" must be an array of 1 to %d themes",
                        what,
                        MAX_THEMES);
                goto out;
        }
        th = tp_calloc(1, sizeof(*th));
        d = tp_malloc(sizeof(*d));
        if (!th || !d) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        json_array_foreach(arr, i, v) {
                char field[64];
                const json_t *key = json_object_get(v, "key"), *names = json_object_get(v, "name");
                const json_t *terms = json_object_get(v, "terms");
                th_theme *t = &th->theme[i];
                int nterm = 0;

                (void) snprintf(field, sizeof(field), "themes[%zu]", i);
                if (!json_is_string(key) || !key_ok(json_string_value(key))) {
                        rc = tp_err_setf(
                                err,
                                TP_INVALID,
                                field,
                                "%s: theme key must be 1 to %d of [a-z0-9_]",
                                what,
                                KEY_MAX - 1);
                        goto out;
                }
                memcpy(t->key, json_string_value(key), json_string_length(key) + 1);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(th->theme[j].key, t->key) == 0) {
                                rc = tp_err_setf(
                                        err, TP_INVALID, field, "%s: theme key \"%s\" appears twice", what, t->key);
                                goto out;
                        }
                if (!json_is_object(names) || (rc = copy_name(t->name_vi, names, "vi", field, err)) != TP_OK ||
                    (rc = copy_name(t->name_en, names, "en", field, err)) != TP_OK) {
                        if (rc == TP_OK)
                                rc = tp_err_setf(
                                        err,
                                        TP_INVALID,
                                        field,
                                        "%s: theme \"%s\" needs name.vi and name.en",
                                        what,
                                        t->key);
                        goto out;
                }
                if (!json_is_object(terms)) {
                        rc = tp_err_setf(
                                err,
                                TP_INVALID,
                                field,
                                "%s: theme \"%s\" needs terms.vi / terms.en arrays",
                                what,
                                t->key);
                        goto out;
                }
                for (int l = 0; l < 2; l++) {
                        const json_t *list = json_object_get(terms, l == 0 ? "vi" : "en");
                        size_t k;
                        json_t *s;

                        if (!list)
                                continue;
                        if (!json_is_array(list)) {
                                rc = tp_err_setf(
                                        err,
                                        TP_INVALID,
                                        field,
                                        "%s: terms.%s of \"%s\" must be an array",
                                        what,
                                        l == 0 ? "vi" : "en",
                                        t->key);
                                goto out;
                        }
                        json_array_foreach(list, k, s) {
                                if (!json_is_string(s)) {
                                        rc = tp_err_setf(
                                                err,
                                                TP_INVALID,
                                                field,
                                                "%s: terms of \"%s\" must be strings",
                                                what,
                                                t->key);
                                        goto out;
                                }
                                rc = add_term(th, (int) i, json_string_value(s), d, field, err);
                                if (rc != TP_OK)
                                        goto out;
                                nterm++;
                        }
                }
                if (nterm == 0) {
                        rc = tp_err_setf(err, TP_INVALID, field, "%s: theme \"%s\" has no terms", what, t->key);
                        goto out;
                }
                th->n = (int) i + 1;
        }
        rc = build_index(th, err);
out:
        json_decref(root);
        tp_free(d);
        if (rc != TP_OK) {
                text_themes_free(th);
                return rc;
        }
        *ret = th;
        return TP_OK;
}

static int tok_match(const text_themes *th, const text_doc *d, const text_tok *t, const th_tok *k, int plain) {
        if (t->kind != TOK_WORD)
                return 0;
        if (k->prefix) /* a prefix is compared without diacritics */
                return t->str_len >= k->str_len &&
                        memcmp(d->str + t->str, th->pool + k->str_off, k->str_len) == 0;
        if (t->h_acc == k->h_acc)
                return 1;
        return plain && !(t->flags & TOKF_MARKS) && t->h_str == k->h_str;
}

static int term_match(const text_themes *th, const text_doc *d, int at, const th_term *tm, int plain) {
        if (at + tm->ntok > d->ntok)
                return 0;
        for (int j = 0; j < tm->ntok; j++) {
                const text_tok *t = &d->tok[at + j];

                if (j > 0 && (t->flags & TOKF_BREAK))
                        return 0;
                if (!tok_match(th, d, t, &th->toks[tm->first + j], plain))
                        return 0;
        }
        return 1;
}

uint64_t text_themes_match(const text_themes *th, const text_doc *d, int vi) {
        uint64_t found = 0;
        /* Typed without diacritics (few words carry any): a word without marks
         * may stand for any word with the same letters.  In text written with
         * diacritics, "gia" is "gia" (as in "gia đình"), not "giá"; and in
         * English "be" is never "bể". */
        int plain = vi && d->nmarks * 4 < d->nword;

        if (!th)
                return 0;
        for (int i = 0; i < d->ntok; i++) {
                const text_tok *t = &d->tok[i];

                if (t->kind != TOK_WORD)
                        continue;
                for (int j = th->slot[t->h_str & (th->nslot - 1)]; j >= 0; j = th->terms[j].next) {
                        const th_term *tm = &th->terms[j];

                        if (!(found >> tm->theme & 1) && th->toks[tm->first].h_str == t->h_str &&
                            term_match(th, d, i, tm, plain))
                                found |= (uint64_t) 1 << tm->theme;
                }
                if (t->str_len < 3)
                        continue;
                for (int j = th->pslot[text_hash(d->str + t->str, 3) & (th->nslot - 1)]; j >= 0;
                     j = th->terms[j].next) {
                        const th_term *tm = &th->terms[j];

                        if (!(found >> tm->theme & 1) && term_match(th, d, i, tm, plain))
                                found |= (uint64_t) 1 << tm->theme;
                }
        }
        return found;
}

int text_themes_count(const text_themes *th) {
        return th ? th->n : 0;
}

const char *text_themes_key(const text_themes *th, int i) {
        return th && i >= 0 && i < th->n ? th->theme[i].key : NULL;
}

const char *text_themes_name(const text_themes *th, int i, const char *lang) {
        if (!th || i < 0 || i >= th->n)
                return NULL;
        return lang && strcmp(lang, "vi") == 0 ? th->theme[i].name_vi : th->theme[i].name_en;
}
