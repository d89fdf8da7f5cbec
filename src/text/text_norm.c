/* SPDX-License-Identifier: MIT */
/*
 * text_norm.c -- from the bytes of a comment to its tokens: UTF-8 check,
 * NFC + case fold with utf8proc, the form without diacritics, tokens, and the
 * negation / intensifier flags read from the lexicon.
 */
#include <string.h>
#include <utf8proc.h>

#include "common/utf8.h"
#include "text/text.h"
#include "text/text_int.h"
#include "text/text_strip_tab.h"

#define FOLD_OPTS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_LUMP)

uint64_t text_hash(const char *s, size_t n) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 0x100000001b3ULL;
        }
        h = text_mix(h);
        return h ? h : 1;
}

/* Largest n' <= n that ends on a character boundary of s. */
static size_t cut_utf8(const char *s, size_t n) {
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        return n;
}

long text_fold(const char *s, size_t len, int32_t *cps, size_t cap, tp_err *err) {
        size_t n = len;
        utf8proc_ssize_t r;

        if (n > TEXT_MAX_BYTES)
                n = cut_utf8(s, TEXT_MAX_BYTES);
        /* ASCII: NFC is the identity and case folding is tolower() */
        {
                size_t i = 0;

                while (i < n && (unsigned char) s[i] < 0x80)
                        i++;
                if (i == n && n <= cap) {
                        for (i = 0; i < n; i++) {
                                int32_t c = (unsigned char) s[i];

                                cps[i] = c >= 'A' && c <= 'Z' ? c + 32 : c;
                        }
                        return (long) n;
                }
        }
        for (;;) {
                r = utf8proc_decompose(
                        (const utf8proc_uint8_t *) s,
                        (utf8proc_ssize_t) n,
                        cps,
                        (utf8proc_ssize_t) cap,
                        FOLD_OPTS);
                if (r < 0) {
                        tp_err_set(err, TP_INVALID, "text: %s", utf8proc_errmsg(r));
                        return -1;
                }
                if ((size_t) r <= cap)
                        break;
                n = cut_utf8(s, n / 2); /* pathological expansion: keep less */
        }
        r = utf8proc_normalize_utf32(cps, r, FOLD_OPTS);
        if (r < 0) {
                tp_err_set(err, TP_INVALID, "text: %s", utf8proc_errmsg(r));
                return -1;
        }
        return (long) r;
}

int32_t text_strip_cp(int32_t cp) {
        utf8proc_int32_t buf[8];
        utf8proc_ssize_t r;
        int bc = 0;

        if (cp < 0x80)
                return cp;
        if (cp < 0x250)
                return strip_latin[cp - 0x80];
        if (cp >= 0x1e00 && cp < 0x1f00)
                return strip_viet[cp - 0x1e00];
        r = utf8proc_decompose_char(cp, buf, 8, UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK, &bc);
        if (r == 0)
                return 0;
        if (r == 1)
                return buf[0];
        return cp;
}

size_t text_utf8_put(int32_t cp, char *out) {
        return (size_t) utf8proc_encode_char(cp, (utf8proc_uint8_t *) out);
}

tp_rc tp_text_normalize(const char *s, size_t len, int strip_marks, char *out, size_t outsz, tp_err *err) {
        int32_t cps[TEXT_MAX_CPS];
        long n;
        size_t o = 0;

        if (!tp_utf8_valid(s, len))
                return tp_err_set(err, TP_INVALID, "text is not valid UTF-8");
        if (len > TEXT_MAX_BYTES)
                return tp_err_set(err, TP_TOOBIG, "text longer than %d bytes", TEXT_MAX_BYTES);
        n = text_fold(s, len, cps, TEXT_MAX_CPS, err);
        if (n < 0)
                return TP_INVALID;
        for (long i = 0; i < n; i++) {
                int32_t cp = strip_marks ? text_strip_cp(cps[i]) : cps[i];
                char tmp[4];
                size_t k;

                if (cp == 0)
                        continue;
                k = text_utf8_put(cp, tmp);
                if (o + k + 1 > outsz)
                        return tp_err_set(err, TP_TOOBIG, "normalised text does not fit in %zu bytes", outsz);
                memcpy(out + o, tmp, k);
                o += k;
        }
        if (o + 1 > outsz)
                return tp_err_set(err, TP_TOOBIG, "normalised text does not fit in %zu bytes", outsz);
        out[o] = '\0';
        return TP_OK;
}

/* ---- tokens ------------------------------------------------------------------ */

static int is_word_cp(int32_t cp) {
        utf8proc_category_t c;

        if (cp < 0x80)
                return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z');
        c = utf8proc_category(cp);
        return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
                c == UTF8PROC_CATEGORY_NO;
}

static int is_space_cp(int32_t cp) {
        if (cp < 0x80)
                return cp == ' ' || (cp >= 0x09 && cp <= 0x0d);
        return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS || cp == 0x2028 || cp == 0x2029 || cp == 0x85;
}

static int is_sym_cp(int32_t cp) {
        return cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_SO;
}

/* "http://..." or "https://..." or "www." starting at cps[i]: a link, skipped. */
static int is_link(const int32_t *cps, long n, long i) {
        static const char *const pre[] = { "http://", "https://", "www." };

        for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
                long j = 0;

                while (pre[k][j] && i + j < n && cps[i + j] == pre[k][j])
                        j++;
                if (!pre[k][j])
                        return 1;
        }
        return 0;
}

typedef struct tok_state {
        text_doc *d;
        size_t acc_len, str_len; /* bytes used in d->acc / d->str */
        unsigned pending;        /* flags for the next token */
        int strip_all;
} tok_state;

/* Append cps[b..e) as one token of kind k; returns 0 when the doc is full. */
static int add_token(tok_state *st, const int32_t *cps, long b, long e, uint8_t kind) {
        text_doc *d = st->d;
        text_tok *t;
        size_t a0 = st->acc_len, s0 = st->str_len, al = 0, sl = 0;
        int marks = 0;

        if (d->ntok >= TEXT_MAX_TOKENS || a0 + TEXT_TOKEN_MAX + 1 > sizeof(d->acc) ||
            s0 + TEXT_TOKEN_MAX + 1 > sizeof(d->str))
                return 0;
        for (long i = b; i < e; i++) {
                char tmp[4];
                int32_t sc = text_strip_cp(cps[i]);
                size_t k;

                if (sc != cps[i])
                        marks = 1;
                if (st->strip_all) {
                        if (sc == 0)
                                continue;
                        k = text_utf8_put(sc, tmp);
                        if (al + k > TEXT_TOKEN_MAX)
                                break;
                        memcpy(d->acc + a0 + al, tmp, k);
                        memcpy(d->str + s0 + sl, tmp, k);
                        al += k;
                        sl += k;
                        continue;
                }
                k = text_utf8_put(cps[i], tmp);
                if (al + k > TEXT_TOKEN_MAX)
                        break;
                memcpy(d->acc + a0 + al, tmp, k);
                al += k;
                if (sc != 0) {
                        k = text_utf8_put(sc, tmp);
                        memcpy(d->str + s0 + sl, tmp, k);
                        sl += k;
                }
        }
        if (st->strip_all)
                marks = 0;
        if (al == 0 || sl == 0)
                return 1; /* a lone mark: nothing to keep */
        d->acc[a0 + al] = '\0';
        d->str[s0 + sl] = '\0';
        t = &d->tok[d->ntok++];
        t->acc = (uint32_t) a0;
        t->str = (uint32_t) s0;
        t->acc_len = (uint16_t) al;
        t->str_len = (uint16_t) sl;
        t->h_acc = text_hash(d->acc + a0, al);
        t->h_str = text_hash(d->str + s0, sl);
        t->kind = kind;
        t->flags = (uint8_t) (st->pending | (marks ? TOKF_MARKS : 0));
        st->pending = 0;
        st->acc_len = a0 + al + 1;
        st->str_len = s0 + sl + 1;
        if (kind == TOK_WORD) {
                d->nword++;
                if (marks) {
                        d->nmarks++;
                        d->vi_cues++;
                }
        }
        return 1;
}

static void tokenise(tok_state *st, const int32_t *cps, long n) {
        long i = 0;

        while (i < n) {
                int32_t cp = cps[i];

                if (is_word_cp(cp)) {
                        long b = i;

                        if ((cp == 'h' || cp == 'w') && is_link(cps, n, i)) {
                                while (i < n && !is_space_cp(cps[i]))
                                        i++;
                                st->pending |= TOKF_BREAK;
                                continue;
                        }
                        i++;
                        for (;;) {
                                while (i < n &&
                                       (is_word_cp(cps[i]) ||
                                        (cps[i] >= 0x300 && utf8proc_category(cps[i]) >= UTF8PROC_CATEGORY_MN &&
                                         utf8proc_category(cps[i]) <= UTF8PROC_CATEGORY_ME)))
                                        i++;
                                /* don't, n't: an apostrophe between letters stays in the word */
                                if (i + 1 < n && cps[i] == '\'' && is_word_cp(cps[i + 1])) {
                                        i++;
                                        continue;
                                }
                                break;
                        }
                        if (!add_token(st, cps, b, i, TOK_WORD))
                                return;
                        continue;
                }
                if (is_space_cp(cp)) {
                        i++;
                        continue;
                }
                if (is_sym_cp(cp)) {
                        if (!add_token(st, cps, i, i + 1, TOK_SYM))
                                return;
                        st->pending |= TOKF_BREAK;
                        i++;
                        continue;
                }
                if (cp == '!' || cp == '?') {
                        st->pending |= TOKF_BREAK;
                        if (!add_token(st, cps, i, i + 1, TOK_PUNCT))
                                return;
                        st->pending |= TOKF_BREAK;
                        i++;
                        continue;
                }
                if (cp < 0x80 || utf8proc_category(cp) >= UTF8PROC_CATEGORY_PC)
                        st->pending |= TOKF_BREAK; /* punctuation, symbols, controls */
                i++;
        }
}

/* Negation scopes and intensifiers, read from the lexicon. */
static void mark_words(text_doc *d, const text_lex *lx) {
        int scope = 0, prev_word = -1;
        int intens_next = 0;

        for (int i = 0; i < d->ntok; i++) {
                text_tok *t = &d->tok[i];
                unsigned cls;

                if (t->flags & TOKF_BREAK) {
                        scope = 0;
                        intens_next = 0;
                        prev_word = -1;
                }
                if (t->kind != TOK_WORD) {
                        scope = 0;
                        prev_word = -1;
                        intens_next = 0;
                        continue;
                }
                cls = text_lex_class(lx, t);
                if (cls & LEX_VI)
                        d->vi_cues++;
                if (cls & LEX_EN)
                        d->en_cues++;
                if (!(cls & LEX_NEGATOR) && t->str_len >= 4 &&
                    memcmp(d->str + t->str + t->str_len - 3, "n't", 3) == 0)
                        cls |= LEX_NEGATOR;
                if (cls & LEX_NEGATOR) {
                        const text_tok *nx = i + 1 < d->ntok ? &d->tok[i + 1] : NULL;

                        t->flags |= TOKF_NEGATOR;
                        if (nx && !(nx->flags & TOKF_BREAK) && (text_lex_class(lx, nx) & LEX_NOT_NEG))
                                scope = 0;
                        else
                                scope = 3;
                } else if (cls & LEX_SCOPE_END) {
                        scope = 0;
                } else if (scope > 0) {
                        t->flags |= TOKF_NEG;
                        scope--;
                }
                if (intens_next && !(cls & (LEX_INT_PRE | LEX_NEGATOR)))
                        t->flags |= TOKF_INT;
                if ((cls & LEX_INT_POST) && prev_word >= 0 && !(d->tok[prev_word].flags & TOKF_NEGATOR))
                        d->tok[prev_word].flags |= TOKF_INT;
                intens_next = (cls & LEX_INT_PRE) != 0;
                prev_word = i;
        }
}

tp_rc text_doc_build(text_doc *d, const char *s, size_t len, const text_lex *lx, int strip_all, tp_err *err) {
        int32_t cps[TEXT_MAX_CPS];
        tok_state st;
        long n;

        if (!tp_utf8_valid(s, len))
                return tp_err_set(err, TP_INVALID, "text is not valid UTF-8");
        d->ntok = d->nword = d->nmarks = d->vi_cues = d->en_cues = 0;
        n = text_fold(s, len, cps, TEXT_MAX_CPS, err);
        if (n < 0)
                return TP_INVALID;
        memset(&st, 0, sizeof(st));
        st.d = d;
        st.strip_all = strip_all;
        tokenise(&st, cps, n);
        if (lx)
                mark_words(d, lx);
        return TP_OK;
}
