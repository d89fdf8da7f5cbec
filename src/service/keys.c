/* SPDX-License-Identifier: MIT */
#include <sodium.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/keys.h"

#define PREFIX_LEN 16 /* "tpk_" + 12 hex */
#define CACHE_TTL_US 1000000

typedef struct cached {
        char prefix[PREFIX_LEN + 1];
        unsigned char hash[32];
        tp_scope scope;
        int revoked;
        int64_t fetched_us;
        char origins[TP_KEY_ORIGINS_MAX];
} cached;

struct tp_keys {
        tp_store *store;
        pthread_mutex_t *store_lock;
        pthread_mutex_t lock;
        unsigned char pepper[32];
        cached *v;
        size_t n, cap;
        /* Origins of all valid keys, space-separated, for CORS preflights. */
        char *all_origins;
        int64_t all_origins_us;
};

tp_rc tp_keys_secret(tp_store *s, const char *name, int create, unsigned char out[32], tp_err *err) {
        size_t n = 0;
        tp_rc rc = tp_store_meta_get(s, name, out, 32, &n, err);

        if (rc == TP_OK && n == 32)
                return TP_OK;
        if (rc == TP_OK)
                return tp_err_set(err, TP_CORRUPT, "the stored secret '%s' has %zu bytes, not 32", name, n);
        if (rc != TP_NOTFOUND || !create)
                return rc;
        randombytes_buf(out, 32);
        return tp_store_meta_put(s, name, out, 32, err);
}

/* The pepper is made once per store, the first time a key is created. */
static tp_rc get_pepper(tp_store *s, int create, unsigned char out[32], tp_err *err) {
        return tp_keys_secret(s, "key_pepper", create, out, err);
}

static void hash_secret(const unsigned char pepper[32], const char *secret, unsigned char out[32]) {
        crypto_generichash(out, 32, (const unsigned char *) secret, strlen(secret), pepper, 32);
}

/* Split "tpk_<12hex>_<secret>" into prefix and secret; 0 when malformed. */
static int split_key(const char *text, char prefix[PREFIX_LEN + 1], const char **ret_secret) {
        size_t n = strlen(text);

        if (n != PREFIX_LEN + 1 + 43 || strncmp(text, "tpk_", 4) != 0 || text[PREFIX_LEN] != '_')
                return 0;
        for (size_t i = 4; i < PREFIX_LEN; i++) {
                char c = text[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return 0;
        }
        for (size_t i = PREFIX_LEN + 1; i < n; i++) {
                char c = text[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                      c == '_'))
                        return 0;
        }
        memcpy(prefix, text, PREFIX_LEN);
        prefix[PREFIX_LEN] = '\0';
        *ret_secret = text + PREFIX_LEN + 1;
        return 1;
}

tp_rc tp_keys_origin_canon(const char *origin, size_t len, char *out, size_t outsz, tp_err *err) {
        size_t sch, i, host_start, port_start = 0;
        int https;
        char o[256];

        if (len == 0 || len >= sizeof(o))
                goto bad;
        for (i = 0; i < len; i++)
                o[i] = (char) tolower((unsigned char) origin[i]);
        o[len] = '\0';
        if (strncmp(o, "http://", 7) == 0)
                sch = 7, https = 0;
        else if (strncmp(o, "https://", 8) == 0)
                sch = 8, https = 1;
        else
                goto bad;
        host_start = sch;
        for (i = sch; i < len; i++) {
                char c = o[i];
                if (c == ':' && !port_start) {
                        port_start = i + 1;
                        continue;
                }
                if (port_start ? !isdigit((unsigned char) c)
                               : !(isalnum((unsigned char) c) || c == '-' || c == '.' || c == '[' || c == ']'))
                        goto bad;
        }
        if ((port_start ? port_start - 1 : len) == host_start || (port_start && (port_start == len ||
                                                                                 len - port_start > 5)))
                goto bad;
        if (port_start && atoi(o + port_start) > 65535)
                goto bad;
        /* The default port is not part of the origin a browser sends. */
        if (port_start && ((https && strcmp(o + port_start, "443") == 0) || (!https && strcmp(o + port_start, "80") == 0)))
                o[port_start - 1] = '\0';
        if (strlen(o) >= outsz)
                goto bad;
        (void) snprintf(out, outsz, "%s", o);
        return TP_OK;
bad:
        return tp_err_setf(err, TP_INVALID, "origin", "'%.*s' is not a web origin (scheme://host[:port], http or https, no path)",
                           (int) (len > 200 ? 200 : len), origin);
}

int tp_keys_origin_in(const char *list, const char *origin) {
        size_t n = strlen(origin);

        if (!list || !n)
                return 0;
        for (const char *p = list; *p;) {
                size_t m = strcspn(p, " ");
                if (m == n && memcmp(p, origin, n) == 0)
                        return 1;
                p += m;
                while (*p == ' ')
                        p++;
        }
        return 0;
}

/* Canonical, space-separated origins from a space- or comma-separated list. */
static tp_rc canon_list(const char *in, char *out, size_t outsz, tp_err *err) {
        size_t used = 0;

        out[0] = '\0';
        if (!in)
                return TP_OK;
        for (const char *p = in; *p;) {
                char one[256];
                size_t m;
                tp_rc rc;

                p += strspn(p, " ,");
                m = strcspn(p, " ,");
                if (!m)
                        break;
                rc = tp_keys_origin_canon(p, m, one, sizeof(one), err);
                if (rc != TP_OK)
                        return rc;
                if (!tp_keys_origin_in(out, one)) {
                        if (used + strlen(one) + 2 > outsz)
                                return tp_err_setf(err, TP_INVALID, "origin", "too many origins (at most %d bytes)",
                                                   (int) outsz - 1);
                        used += (size_t) snprintf(out + used, outsz - used, "%s%s", used ? " " : "", one);
                }
                p += m;
        }
        return TP_OK;
}

tp_rc tp_keys_create(tp_store *s, tp_scope scope, const char *name, const char *origins, char *out, tp_err *err) {
        unsigned char pepper[32], rnd[6], secret[32];
        char prefix[PREFIX_LEN + 1], stext[64], olist[TP_KEY_ORIGINS_MAX];
        tp_key_rec rec = { 0 };
        tp_rc rc;

        rc = canon_list(origins, olist, sizeof(olist), err);
        if (rc != TP_OK)
                return rc;
        rc = get_pepper(s, 1, pepper, err);
        if (rc != TP_OK)
                return rc;
        randombytes_buf(rnd, sizeof(rnd));
        randombytes_buf(secret, sizeof(secret));
        memcpy(prefix, "tpk_", 4);
        sodium_bin2hex(prefix + 4, 13, rnd, sizeof(rnd));
        sodium_bin2base64(stext, sizeof(stext), secret, sizeof(secret), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        rec.prefix = prefix;
        hash_secret(pepper, stext, rec.hash);
        rec.scope = scope;
        rec.name = name;
        rec.created = tp_time_now();
        rec.origins = olist;
        rc = tp_store_key_put(s, &rec, err);
        if (rc == TP_OK)
                (void) snprintf(out, TP_KEY_TEXT_MAX, "%.16s_%.43s", prefix, stext);
        sodium_memzero(secret, sizeof(secret));
        sodium_memzero(stext, sizeof(stext));
        sodium_memzero(pepper, sizeof(pepper));
        return rc;
}

tp_rc tp_keys_new(tp_store *store, pthread_mutex_t *store_lock, tp_keys **ret, tp_err *err) {
        tp_keys *k = tp_calloc(1, sizeof(*k));

        if (!k)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        k->store = store;
        k->store_lock = store_lock;
        pthread_mutex_init(&k->lock, NULL);
        *ret = k;
        return TP_OK;
}

void tp_keys_free(tp_keys *k) {
        if (!k)
                return;
        sodium_memzero(k->pepper, sizeof(k->pepper));
        pthread_mutex_destroy(&k->lock);
        tp_free(k->v);
        tp_free(k->all_origins);
        tp_free(k);
}

static int fetch_one(void *arg, const tp_key_rec *rec) {
        cached *c = arg;

        memcpy(c->hash, rec->hash, sizeof(c->hash));
        c->scope = rec->scope;
        c->revoked = rec->revoked != 0;
        (void) snprintf(c->origins, sizeof(c->origins), "%s", rec->origins ? rec->origins : "");
        return 0;
}

/* Look the prefix up in the store; TP_NOTFOUND passes through. */
static tp_rc fetch(tp_keys *k, const char *prefix, cached *c, unsigned char pepper[32], tp_err *err) {
        tp_rc rc;

        pthread_mutex_lock(k->store_lock);
        rc = get_pepper(k->store, 0, pepper, err);
        if (rc == TP_OK)
                rc = tp_store_key_get(k->store, prefix, fetch_one, c, err);
        pthread_mutex_unlock(k->store_lock);
        return rc;
}

/* The key record of prefix through the cache, with the pepper to check it. */
static tp_rc lookup(tp_keys *k, const char *prefix, cached *ret, unsigned char pepper[32], tp_err *err) {
        cached c = { 0 }, *hit = NULL;
        int64_t now = tp_time_mono_us();
        tp_rc rc;

        pthread_mutex_lock(&k->lock);
        for (size_t i = 0; i < k->n; i++) {
                if (strcmp(k->v[i].prefix, prefix) == 0) {
                        hit = &k->v[i];
                        break;
                }
        }
        if (hit && now - hit->fetched_us < CACHE_TTL_US) {
                c = *hit;
                memcpy(pepper, k->pepper, 32);
                pthread_mutex_unlock(&k->lock);
        } else {
                pthread_mutex_unlock(&k->lock);
                rc = fetch(k, prefix, &c, pepper, err);
                if (rc == TP_NOTFOUND)
                        return tp_err_set(err, TP_UNAUTH, "missing or unknown API key");
                if (rc != TP_OK)
                        return rc;
                memcpy(c.prefix, prefix, sizeof(c.prefix));
                c.fetched_us = now;
                pthread_mutex_lock(&k->lock);
                memcpy(k->pepper, pepper, 32);
                hit = NULL;
                for (size_t i = 0; i < k->n; i++)
                        if (strcmp(k->v[i].prefix, prefix) == 0)
                                hit = &k->v[i];
                if (!hit && k->n == k->cap) {
                        size_t cap = k->cap ? k->cap * 2 : 16;
                        cached *v = tp_realloc(k->v, cap * sizeof(*v));
                        if (v) {
                                k->v = v;
                                k->cap = cap;
                        }
                }
                if (!hit && k->n < k->cap)
                        hit = &k->v[k->n++];
                if (hit)
                        *hit = c;
                pthread_mutex_unlock(&k->lock);
        }
        *ret = c;
        return TP_OK;
}

tp_rc tp_keys_verify_info(tp_keys *k, const char *text, tp_key_info *ret, tp_err *err) {
        char prefix[PREFIX_LEN + 1];
        const char *secret = NULL;
        unsigned char h[32], pepper[32];
        cached c;
        tp_rc rc;

        if (!text || !split_key(text, prefix, &secret))
                return tp_err_set(err, TP_UNAUTH, "missing or unknown API key");
        rc = lookup(k, prefix, &c, pepper, err);
        if (rc != TP_OK)
                return rc;
        hash_secret(pepper, secret, h);
        sodium_memzero(pepper, sizeof(pepper));
        if (c.revoked || sodium_memcmp(h, c.hash, sizeof(h)) != 0)
                return tp_err_set(err, TP_UNAUTH, "missing or unknown API key");
        ret->scope = c.scope;
        memcpy(ret->prefix, prefix, sizeof(ret->prefix));
        memcpy(ret->origins, c.origins, sizeof(ret->origins));
        return TP_OK;
}

tp_rc tp_keys_verify(tp_keys *k, const char *text, tp_scope *ret_scope, tp_err *err) {
        tp_key_info info;
        tp_rc rc = tp_keys_verify_info(k, text, &info, err);

        if (rc == TP_OK)
                *ret_scope = info.scope;
        return rc;
}

tp_rc tp_keys_prefix_valid(tp_keys *k, const char *prefix, tp_err *err) {
        unsigned char pepper[32];
        cached c;
        tp_rc rc = lookup(k, prefix, &c, pepper, err);

        sodium_memzero(pepper, sizeof(pepper));
        if (rc != TP_OK)
                return rc;
        return c.revoked ? tp_err_set(err, TP_UNAUTH, "the key of this session was revoked") : TP_OK;
}

typedef struct origins_acc {
        char *buf;
        size_t len, cap;
        int nomem;
} origins_acc;

static int add_origins(void *arg, const tp_key_rec *rec) {
        origins_acc *a = arg;
        size_t n;

        if (rec->revoked || !rec->origins || !*rec->origins)
                return 0;
        n = strlen(rec->origins);
        if (a->len + n + 2 > a->cap) {
                size_t cap = (a->len + n + 2) * 2;
                char *b = tp_realloc(a->buf, cap);
                if (!b) {
                        a->nomem = 1;
                        return 1;
                }
                a->buf = b;
                a->cap = cap;
        }
        if (a->len)
                a->buf[a->len++] = ' ';
        memcpy(a->buf + a->len, rec->origins, n + 1);
        a->len += n;
        return 0;
}

int tp_keys_origin_known(tp_keys *k, const char *origin) {
        int64_t now = tp_time_mono_us();
        int known;

        pthread_mutex_lock(&k->lock);
        if (!k->all_origins || now - k->all_origins_us >= CACHE_TTL_US) {
                origins_acc a = { 0 };
                tp_err err = { 0 };
                tp_rc rc;

                pthread_mutex_unlock(&k->lock);
                pthread_mutex_lock(k->store_lock);
                rc = tp_store_key_list(k->store, add_origins, &a, &err);
                pthread_mutex_unlock(k->store_lock);
                if (rc != TP_OK || a.nomem) {
                        tp_free(a.buf);
                        return 0;
                }
                if (!a.buf && !(a.buf = tp_calloc(1, 1)))
                        return 0;
                pthread_mutex_lock(&k->lock);
                tp_free(k->all_origins);
                k->all_origins = a.buf;
                k->all_origins_us = now;
        }
        known = tp_keys_origin_in(k->all_origins, origin);
        pthread_mutex_unlock(&k->lock);
        return known;
}
