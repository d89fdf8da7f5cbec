/* SPDX-License-Identifier: MIT */
/*
 * text_feat.c -- hashed features of a token stream (the "hashing trick" with a
 * sign bit, Weinberger et al. 2009): word unigrams and bigrams in the folded
 * form and without diacritics, trigrams and character n-grams without
 * diacritics, negated words as their own features, intensified words weighing
 * more.  The vector is scaled to unit L2 norm.
 */
#include <math.h>

#include "text/text_int.h"

enum {
        TAG_W_ACC = 1,
        TAG_W_STR,
        TAG_NEG_ACC,
        TAG_NEG_STR,
        TAG_BI_ACC,
        TAG_BI_STR,
        TAG_TRI,
        TAG_CHAR,
};

#define GOLDEN 0x9e3779b97f4a7c15ULL

typedef struct feat_out {
        text_feat *f;
        int n, max;
        unsigned shift;
} feat_out;

static void put(feat_out *o, uint64_t h, unsigned tag, float v) {
        uint64_t x;

        if (o->n >= o->max)
                return;
        x = text_mix(h ^ (tag * GOLDEN));
        o->f[o->n].idx = (uint32_t) (x >> o->shift);
        o->f[o->n].v = (x & 1) ? -v : v;
        o->n++;
}

static uint64_t pair(uint64_t a, uint64_t b) {
        return text_mix(a * GOLDEN + 0x632be59bd9b4e019ULL) ^ b;
}

static void char_grams(feat_out *o, const char *s, size_t n, const text_feat_cfg *cfg) {
        char buf[TEXT_TOKEN_MAX + 2];
        size_t len = n + 2;

        if (n > 24)
                return;
        buf[0] = '<';
        for (size_t i = 0; i < n; i++)
                buf[i + 1] = s[i];
        buf[n + 1] = '>';
        for (unsigned g = cfg->cmin; g <= cfg->cmax; g++) {
                if (g > len)
                        break;
                for (size_t i = 0; i + g <= len; i++) {
                        if (g == len && g <= 3)
                                continue; /* the whole short word: the unigram has it */
                        put(o, text_hash(buf + i, g) + g, TAG_CHAR, 1.0f);
                }
        }
}

int text_features(const text_doc *d, const text_feat_cfg *cfg, text_feat *out, int max) {
        feat_out o = { out, 0, max, 64u - cfg->bits };
        unsigned fl = cfg->flags;
        double ss = 0;
        float inv;

        for (int i = 0; i < d->ntok; i++) {
                const text_tok *t = &d->tok[i];
                const text_tok *p = i > 0 ? &d->tok[i - 1] : NULL;
                float v = (fl & FEAT_INT) && (t->flags & TOKF_INT) ? 1.5f : 1.0f;
                int neg = (fl & FEAT_NEG) && (t->flags & TOKF_NEG);

                if (fl & FEAT_WORD) {
                        put(&o, t->h_acc, neg ? TAG_NEG_ACC : TAG_W_ACC, v);
                        put(&o, t->h_str, neg ? TAG_NEG_STR : TAG_W_STR, v);
                        if (neg && (fl & FEAT_FLIP)) {
                                put(&o, t->h_acc, TAG_W_ACC, -0.5f * v);
                                put(&o, t->h_str, TAG_W_STR, -0.5f * v);
                        }
                }
                if (p && !(t->flags & TOKF_BREAK) && t->kind == TOK_WORD && p->kind == TOK_WORD) {
                        if (fl & FEAT_BIGRAM) {
                                put(&o, pair(p->h_acc, t->h_acc), TAG_BI_ACC, 1.0f);
                                put(&o, pair(p->h_str, t->h_str), TAG_BI_STR, 1.0f);
                        }
                        if ((fl & FEAT_TRIGRAM) && i > 1 && !(p->flags & TOKF_BREAK) &&
                            d->tok[i - 2].kind == TOK_WORD)
                                put(&o, pair(pair(d->tok[i - 2].h_str, p->h_str), t->h_str), TAG_TRI, 1.0f);
                }
                if ((fl & FEAT_CHAR) && t->kind == TOK_WORD && !neg)
                        char_grams(&o, d->str + t->str, t->str_len, cfg);
        }
        for (int i = 0; i < o.n; i++)
                ss += (double) out[i].v * out[i].v;
        if (ss <= 0)
                return o.n;
        inv = (float) (1.0 / sqrt(ss));
        for (int i = 0; i < o.n; i++)
                out[i].v *= inv;
        return o.n;
}
