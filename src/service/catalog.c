/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "service/catalog.h"

typedef struct entry {
        tp_touchpoint tp;  /* strings point into the strings below */
        char *strs[8];
} entry;

struct tp_catalog {
        pthread_rwlock_t lock;
        entry *v;
        int n, cap;
        int *slots;      /* open addressing over v: index + 1, 0 = empty */
        unsigned nslots; /* power of two, at least 2n */
};

static unsigned key_hash(const char *s) {
        unsigned h = 2166136261u;

        while (*s)
                h = (h ^ (unsigned char) *s++) * 16777619u;
        return h;
}

/* Build the lookup table for v[0..n); NULL on OOM. */
static int *build_slots(const entry *v, int n, unsigned *ret_nslots) {
        unsigned ns = 16;
        int *slots;

        while (ns < (unsigned) n * 2)
                ns *= 2;
        slots = tp_calloc(ns, sizeof(*slots));
        if (!slots)
                return NULL;
        for (int i = 0; i < n; i++) {
                unsigned h = key_hash(v[i].tp.key) & (ns - 1);
                while (slots[h])
                        h = (h + 1) & (ns - 1);
                slots[h] = i + 1;
        }
        *ret_nslots = ns;
        return slots;
}

static const char *const channels[] = { "web", "mobile_app", "email", "phone", "store", "social",
                                        "chat", "sms", "kiosk", "pos", "marketplace", "ads", "other" };

int tp_channel_valid(const char *s) {
        for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
                if (strcmp(s, channels[i]) == 0)
                        return 1;
        return 0;
}

const char *tp_channel_list(void) {
        return "web, mobile_app, email, phone, store, social, chat, sms, kiosk, pos, marketplace, ads, other";
}

int tp_key_valid(const char *s) {
        size_t n = 0;

        if (!s || !*s)
                return 0;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
                return 0;
        for (; s[n]; n++) {
                char c = s[n];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        return 0;
        }
        return n <= 63;
}

tp_rc tp_catalog_new(tp_catalog **ret_cat, tp_err *err) {
        tp_catalog *cat = tp_calloc(1, sizeof(*cat));

        if (!cat)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_rwlock_init(&cat->lock, NULL);
        *ret_cat = cat;
        return TP_OK;
}

static void entries_free(entry *v, int n) {
        for (int i = 0; i < n; i++)
                for (int j = 0; j < 8; j++)
                        tp_free(v[i].strs[j]);
        tp_free(v);
}

void tp_catalog_free(tp_catalog *cat) {
        if (!cat)
                return;
        entries_free(cat->v, cat->n);
        tp_free(cat->slots);
        pthread_rwlock_destroy(&cat->lock);
        tp_free(cat);
}

typedef struct load_ctx {
        entry *v;
        int n, cap;
        int oom;
} load_ctx;

static char *dup_or_null(const char *s, int *oom) {
        char *d;

        if (!s)
                return NULL;
        d = tp_strdup(s);
        if (!d)
                *oom = 1;
        return d;
}

static int load_one(void *arg, const tp_touchpoint *t) {
        load_ctx *c = arg;
        entry *e;

        if (c->n == c->cap) {
                int cap = c->cap ? c->cap * 2 : 64;
                entry *v = tp_realloc(c->v, (size_t) cap * sizeof(*v));
                if (!v) {
                        c->oom = 1;
                        return 1;
                }
                c->v = v;
                c->cap = cap;
        }
        e = &c->v[c->n++];
        memset(e, 0, sizeof(*e));
        e->tp = *t;
        e->tp.key = e->strs[0] = dup_or_null(t->key, &c->oom);
        e->tp.journey = e->strs[1] = dup_or_null(t->journey, &c->oom);
        e->tp.stage = e->strs[2] = dup_or_null(t->stage, &c->oom);
        e->tp.name_vi = e->strs[3] = dup_or_null(t->name_vi, &c->oom);
        e->tp.name_en = e->strs[4] = dup_or_null(t->name_en, &c->oom);
        e->tp.channel = e->strs[5] = dup_or_null(t->channel, &c->oom);
        e->tp.department = e->strs[6] = dup_or_null(t->department, &c->oom);
        return c->oom;
}

tp_rc tp_catalog_load(tp_catalog *cat, tp_store *store, tp_err *err) {
        load_ctx c = { 0 };
        tp_rc rc = tp_store_touchpoint_list(store, load_one, &c, err);
        unsigned nslots = 0;
        int *slots = NULL;

        if (rc == TP_OK && !c.oom)
                slots = build_slots(c.v, c.n, &nslots);
        if (rc == TP_OK && (c.oom || !slots))
                rc = tp_err_set(err, TP_NOMEM, "out of memory loading the touchpoint catalogue");
        if (rc != TP_OK) {
                entries_free(c.v, c.n);
                return rc;
        }
        pthread_rwlock_wrlock(&cat->lock);
        entries_free(cat->v, cat->n);
        tp_free(cat->slots);
        cat->v = c.v;
        cat->n = c.n;
        cat->cap = c.cap;
        cat->slots = slots;
        cat->nslots = nslots;
        pthread_rwlock_unlock(&cat->lock);
        return TP_OK;
}

tp_rc tp_catalog_find(tp_catalog *cat, const char *key, int64_t *ret_id, const char **ret_channel) {
        tp_rc rc = TP_NOTFOUND;

        pthread_rwlock_rdlock(&cat->lock);
        if (cat->nslots) {
                unsigned h = key_hash(key) & (cat->nslots - 1);
                while (cat->slots[h]) {
                        const tp_touchpoint *t = &cat->v[cat->slots[h] - 1].tp;
                        if (strcmp(t->key, key) == 0) {
                                *ret_id = t->id;
                                if (ret_channel)
                                        *ret_channel = t->channel;
                                rc = TP_OK;
                                break;
                        }
                        h = (h + 1) & (cat->nslots - 1);
                }
        }
        pthread_rwlock_unlock(&cat->lock);
        return rc;
}

void tp_catalog_key_of(tp_catalog *cat, int64_t id, char *out, size_t outsz) {
        out[0] = '\0';
        pthread_rwlock_rdlock(&cat->lock);
        for (int i = 0; i < cat->n; i++) {
                if (cat->v[i].tp.id == id) {
                        (void) snprintf(out, outsz, "%s", cat->v[i].tp.key);
                        break;
                }
        }
        pthread_rwlock_unlock(&cat->lock);
}

tp_rc tp_catalog_expected(tp_catalog *cat, int64_t id, double *ret_csat, double *ret_nps, double *ret_ces,
                          char *stage, size_t stagesz) {
        tp_rc rc = TP_NOTFOUND;

        pthread_rwlock_rdlock(&cat->lock);
        for (int i = 0; i < cat->n; i++) {
                const tp_touchpoint *t = &cat->v[i].tp;
                if (t->id != id)
                        continue;
                *ret_csat = t->expected_csat;
                *ret_nps = t->expected_nps;
                *ret_ces = t->expected_ces;
                (void) snprintf(stage, stagesz, "%s", t->stage ? t->stage : "");
                rc = TP_OK;
                break;
        }
        pthread_rwlock_unlock(&cat->lock);
        return rc;
}

tp_rc tp_catalog_stages(tp_catalog *cat, const char *journey, char (*keys)[64], int max, int *ret_n,
                        char *ret_journey, tp_err *err) {
        const char *j = journey && *journey ? journey : NULL;
        int n = 0, found = 0;
        tp_rc rc = TP_OK;

        pthread_rwlock_rdlock(&cat->lock);
        for (int i = 0; i < cat->n && rc == TP_OK; i++) {
                const tp_touchpoint *t = &cat->v[i].tp;
                if (!t->journey || !t->stage || !t->active)
                        continue;
                if (!j)
                        j = t->journey;
                else if (!journey || !*journey) {
                        if (strcmp(j, t->journey) != 0)
                                rc = tp_err_setc(err, TP_INVALID, "invalid_value", "journey",
                                                 "there are several journeys: name one with 'journey'");
                }
                if (rc != TP_OK || strcmp(j, t->journey) != 0)
                        continue;
                found = 1;
                if (t->stage_pos >= 0 && t->stage_pos < max) {
                        if (t->stage_pos >= n)
                                n = t->stage_pos + 1;
                        (void) snprintf(keys[t->stage_pos], 64, "%s", t->stage);
                }
        }
        if (rc == TP_OK && !found)
                rc = j ? tp_err_setc(err, TP_NOTFOUND, NULL, "journey", "no journey '%.64s' with touchpoints", j)
                       : tp_err_setc(err, TP_NOTFOUND, NULL, "journey", "no journey defined yet");
        if (rc == TP_OK) {
                (void) snprintf(ret_journey, 64, "%s", j);
                *ret_n = n;
        }
        pthread_rwlock_unlock(&cat->lock);
        return rc;
}

int tp_catalog_stage_pos(tp_catalog *cat, const char *journey, int64_t id) {
        int pos = -1;

        pthread_rwlock_rdlock(&cat->lock);
        for (int i = 0; i < cat->n; i++) {
                const tp_touchpoint *t = &cat->v[i].tp;
                if (t->id == id) {
                        if (t->active && t->journey && strcmp(t->journey, journey) == 0)
                                pos = t->stage_pos;
                        break;
                }
        }
        pthread_rwlock_unlock(&cat->lock);
        return pos;
}

void tp_catalog_key_fn(void *cat, int64_t id, char *out, size_t outsz) {
        tp_catalog_key_of(cat, id, out, outsz);
}

int tp_catalog_count(tp_catalog *cat) {
        int n;

        pthread_rwlock_rdlock(&cat->lock);
        n = cat->n;
        pthread_rwlock_unlock(&cat->lock);
        return n;
}

static void set_num(json_t *o, const char *k, double v) {
        if (!isnan(v))
                json_object_set_new(o, k, json_real(v));
}

json_t *tp_catalog_to_json(tp_catalog *cat) {
        json_t *arr = json_array();

        if (!arr)
                return NULL;
        pthread_rwlock_rdlock(&cat->lock);
        for (int i = 0; i < cat->n; i++) {
                const tp_touchpoint *t = &cat->v[i].tp;
                json_t *exp = json_object();
                json_t *o = json_pack("{s:s, s:s?, s:s?, s:{s:s?, s:s?}, s:s?, s:s?, s:b}",
                                      "key", t->key, "journey", t->journey, "stage", t->stage, "name", "vi",
                                      t->name_vi, "en", t->name_en, "channel", t->channel, "department",
                                      t->department, "active", t->active);
                if (!o || !exp) {
                        json_decref(o);
                        json_decref(exp);
                        json_decref(arr);
                        arr = NULL;
                        break;
                }
                set_num(exp, "csat", t->expected_csat);
                set_num(exp, "nps", t->expected_nps);
                set_num(exp, "ces", t->expected_ces);
                json_object_set_new(o, "expected", exp);
                json_array_append_new(arr, o);
        }
        pthread_rwlock_unlock(&cat->lock);
        return arr;
}
