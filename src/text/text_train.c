/* SPDX-License-Identifier: MIT */
/*
 * text_train.c -- multinomial logistic regression trained with AdaGrad over
 * the hashed features (text_feat.c), a fixed seed and a fixed order, so the
 * same data and options give the same file byte for byte.
 */
#include "text/text_train.h"

#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "text/text_int.h"

void tp_text_train_defaults(tp_text_train_opts *o, const char *lang) {
        memset(o, 0, sizeof(*o));
        o->lang = lang;
        o->bits = 18;
        o->flags = FEAT_WORD | FEAT_BIGRAM | FEAT_CHAR | FEAT_NEG | FEAT_INT | FEAT_FLIP;
        o->cmin = 2;
        o->cmax = 4;
        o->wbytes = 1;
        o->epochs = strcmp(lang, "en") == 0 ? 5 : 10;
        o->eta = 0.3f;
        o->l2 = 1e-6f;
        o->seed = 20240601;
        o->augment = strcmp(lang, "vi") == 0;
}

static uint64_t rnd(uint64_t *s) {
        uint64_t x = *s;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *s = x;
        return x * 0x2545f4914f6cdd1dULL;
}

typedef struct samples {
        text_feat *f;
        size_t nf, capf;
        size_t *off; /* sample i: f[off[i] .. off[i+1]) */
        signed char *y;
        size_t n, cap;
} samples;

static tp_rc add_sample(samples *s, const text_feat *f, int nf, int y, tp_err *err) {
        if (s->n + 2 > s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 4096;
                size_t *o = tp_realloc(s->off, nc * sizeof(size_t));
                signed char *yy;

                if (!o)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                s->off = o;
                yy = tp_realloc(s->y, nc);
                if (!yy)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                s->y = yy;
                s->cap = nc;
        }
        if (s->nf + (size_t) nf > s->capf) {
                size_t nc = s->capf ? s->capf * 2 : 1u << 20;
                text_feat *ff;

                while (nc < s->nf + (size_t) nf)
                        nc *= 2;
                ff = tp_realloc(s->f, nc * sizeof(text_feat));
                if (!ff)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                s->f = ff;
                s->capf = nc;
        }
        if (s->n == 0)
                s->off[0] = 0;
        memcpy(s->f + s->nf, f, (size_t) nf * sizeof(text_feat));
        s->nf += (size_t) nf;
        s->y[s->n] = (signed char) y;
        s->n++;
        s->off[s->n] = s->nf;
        return TP_OK;
}

tp_rc tp_text_train(const tp_text_data *d, const tp_text_train_opts *o, const char *path, tp_err *err) {
        text_feat_cfg cfg = { o->flags, o->bits, o->cmin, o->cmax };
        samples s;
        text_doc *doc = NULL;
        text_lex *lex = NULL;
        text_feat *tmp = NULL;
        float *w = NULL, *g = NULL, bias[TEXT_NCLASS] = { 0, 0, 0 }, gb[TEXT_NCLASS] = { 0, 0, 0 };
        size_t *order = NULL, nb;
        uint64_t seed = o->seed ? o->seed : 1;
        tp_rc rc = TP_OK;

        memset(&s, 0, sizeof(s));
        if (!o->lang || (strcmp(o->lang, "vi") != 0 && strcmp(o->lang, "en") != 0))
                return tp_err_setf(err, TP_INVALID, "lang", "training needs --lang vi or en");
        if (o->bits < 10 || o->bits > 24 || (o->wbytes != 1 && o->wbytes != 2) || o->epochs == 0 ||
            o->epochs > 1000 || (o->flags & ~(unsigned) FEAT_ALL) ||
            ((o->flags & FEAT_CHAR) && (o->cmin < 1 || o->cmax > 8 || o->cmin > o->cmax)))
                return tp_err_set(err, TP_INVALID, "training options out of range");
        if (d->n == 0)
                return tp_err_set(err, TP_INVALID, "no labelled comments to train on");
        nb = (size_t) 1 << o->bits;
        doc = tp_malloc(sizeof(*doc));
        lex = tp_malloc(sizeof(*lex));
        tmp = tp_malloc(TEXT_MAX_FEATS * sizeof(text_feat));
        w = tp_calloc(nb * TEXT_NCLASS, sizeof(float));
        g = tp_calloc(nb * TEXT_NCLASS, sizeof(float));
        if (!doc || !lex || !tmp || !w || !g) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        text_lex_init(lex);
        for (size_t i = 0; i < d->n; i++) {
                int ascii = 1;

                for (const char *c = d->text[i]; *c && ascii; c++)
                        ascii = (unsigned char) *c < 0x80;
                /* the copy without diacritics only when it differs */
                for (int strip = 0; strip <= (o->augment && !ascii ? 1 : 0); strip++) {
                        int nf;

                        rc = text_doc_build(doc, d->text[i], strlen(d->text[i]), lex, strip, err);
                        if (rc != TP_OK) {
                                rc = tp_err_set(err, rc, "comment %zu is not valid UTF-8", i + 1);
                                goto out;
                        }
                        nf = text_features(doc, &cfg, tmp, TEXT_MAX_FEATS);
                        rc = add_sample(&s, tmp, nf, d->label[i], err);
                        if (rc != TP_OK)
                                goto out;
                }
        }
        order = tp_malloc(s.n * sizeof(size_t));
        if (!order) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        for (size_t i = 0; i < s.n; i++)
                order[i] = i;
        for (unsigned ep = 0; ep < o->epochs; ep++) {
                for (size_t i = s.n - 1; i > 0; i--) {
                        size_t j = (size_t) (rnd(&seed) % (i + 1)), t = order[i];

                        order[i] = order[j];
                        order[j] = t;
                }
                for (size_t k = 0; k < s.n; k++) {
                        size_t i = order[k];
                        const text_feat *f = s.f + s.off[i];
                        size_t nf = s.off[i + 1] - s.off[i];
                        float sc[TEXT_NCLASS], mx, z = 0, gr[TEXT_NCLASS];

                        for (int c = 0; c < TEXT_NCLASS; c++)
                                sc[c] = bias[c];
                        for (size_t j = 0; j < nf; j++) {
                                const float *r = w + (size_t) f[j].idx * TEXT_NCLASS;

                                for (int c = 0; c < TEXT_NCLASS; c++)
                                        sc[c] += f[j].v * r[c];
                        }
                        mx = fmaxf(sc[0], fmaxf(sc[1], sc[2]));
                        for (int c = 0; c < TEXT_NCLASS; c++) {
                                sc[c] = expf(sc[c] - mx);
                                z += sc[c];
                        }
                        for (int c = 0; c < TEXT_NCLASS; c++)
                                gr[c] = sc[c] / z - (c == s.y[i] ? 1.0f : 0.0f);
                        for (int c = 0; c < TEXT_NCLASS; c++) {
                                gb[c] += gr[c] * gr[c];
                                bias[c] -= o->eta * gr[c] / sqrtf(gb[c] + 1e-8f);
                        }
                        for (size_t j = 0; j < nf; j++) {
                                size_t base = (size_t) f[j].idx * TEXT_NCLASS;

                                for (int c = 0; c < TEXT_NCLASS; c++) {
                                        float q = gr[c] * f[j].v + o->l2 * w[base + (size_t) c];

                                        g[base + (size_t) c] += q * q;
                                        w[base + (size_t) c] -= o->eta * q /
                                                sqrtf(g[base + (size_t) c] + 1e-8f);
                                }
                        }
                }
        }
        rc = text_model_save(path, o->lang, &cfg, o->wbytes, w, bias, err);
out:
        tp_free(s.f);
        tp_free(s.off);
        tp_free(s.y);
        tp_free(order);
        tp_free(doc);
        tp_free(lex);
        tp_free(tmp);
        tp_free(w);
        tp_free(g);
        return rc;
}
