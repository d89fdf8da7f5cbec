/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "service/annotate.h"

/* Theme combinations kept; a comment seldom names more than three themes, so
 * real data makes a few hundred.  Past the cap a response keeps its first
 * theme only, which is always cached. */
#define MAX_COMBOS 16384

typedef struct combo {
        uint64_t mask;
        char *text;
} combo;

struct tp_annotator {
        const tp_text *text;
        pthread_mutex_t lock;
        combo *v;
        size_t n, cap; /* open addressing on mask; cap a power of two */
};

tp_rc tp_annotator_new(const tp_text *text, tp_annotator **ret, tp_err *err) {
        tp_annotator *a = tp_calloc(1, sizeof(*a));

        if (!a)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        a->text = text;
        pthread_mutex_init(&a->lock, NULL);
        *ret = a;
        return TP_OK;
}

void tp_annotator_free(tp_annotator *a) {
        if (!a)
                return;
        for (size_t i = 0; i < a->cap; i++)
                tp_free(a->v[i].text);
        tp_free(a->v);
        pthread_mutex_destroy(&a->lock);
        tp_free(a);
}

const tp_text *tp_annotator_text(const tp_annotator *a) {
        return a->text;
}

static size_t slot_of(uint64_t mask, size_t cap) {
        return (size_t) ((mask * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

/* "delivery,price" for a mask; NULL when out of memory. */
static char *join(const tp_text *t, uint64_t mask) {
        size_t len = 0;
        char *s;

        for (int i = 0; i < 64; i++)
                if (mask >> i & 1)
                        len += strlen(tp_text_theme_key(t, i)) + 1;
        if (!(s = tp_malloc(len + 1)))
                return NULL;
        len = 0;
        for (int i = 0; i < 64; i++) {
                if (!(mask >> i & 1))
                        continue;
                size_t k = strlen(tp_text_theme_key(t, i));
                if (len)
                        s[len++] = ',';
                memcpy(s + len, tp_text_theme_key(t, i), k);
                len += k;
        }
        s[len] = '\0';
        return s;
}

/* The kept text of mask, made if new; NULL when the cache is full or out of memory. */
static const char *combo_text(tp_annotator *a, uint64_t mask) {
        const char *out = NULL;
        size_t i;

        pthread_mutex_lock(&a->lock);
        if ((a->n + 1) * 2 > a->cap && a->cap < MAX_COMBOS * 2) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                combo *v = tp_calloc(cap, sizeof(*v));
                if (v) {
                        for (size_t j = 0; j < a->cap; j++) {
                                if (!a->v[j].text)
                                        continue;
                                for (i = slot_of(a->v[j].mask, cap); v[i].text; i = (i + 1) & (cap - 1))
                                        ;
                                v[i] = a->v[j];
                        }
                        tp_free(a->v);
                        a->v = v;
                        a->cap = cap;
                }
        }
        if (a->cap) {
                for (i = slot_of(mask, a->cap); a->v[i].text; i = (i + 1) & (a->cap - 1)) {
                        if (a->v[i].mask == mask) {
                                out = a->v[i].text;
                                break;
                        }
                }
                if (!out && (a->n + 1) * 2 <= a->cap && (a->v[i].text = join(a->text, mask))) {
                        a->v[i].mask = mask;
                        a->n++;
                        out = a->v[i].text;
                }
        }
        pthread_mutex_unlock(&a->lock);
        return out;
}

void tp_annotate_response(tp_annotator *a, tp_response *r) {
        tp_text_result res;
        tp_err err = { 0 };
        const char *lang = r->language;

        if (!a || !r->comment || !r->comment[0])
                return;
        /* The models know vi and en; another language is classified as detected. */
        if (lang && strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0)
                lang = NULL;
        if (tp_text_classify(a->text, r->comment, strlen(r->comment), lang, &res, &err) != TP_OK)
                return;
        r->sentiment = 1 + (int) res.label;
        r->sentiment_conf = res.confidence;
        r->themes = NULL;
        if (res.themes) {
                r->themes = combo_text(a, res.themes);
                if (!r->themes) {
                        uint64_t first = res.themes & (~res.themes + 1);
                        r->themes = combo_text(a, first);
                }
        }
        if (!r->language)
                r->language = strcmp(res.lang, "en") == 0 ? "en" : "vi";
}
