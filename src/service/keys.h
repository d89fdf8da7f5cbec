/* SPDX-License-Identifier: MIT */
/*
 * keys.h -- API keys: created once and shown once, stored only as a keyed hash.
 *
 * A key reads "tpk_<12 hex>_<43 base64url>": the first part is a public lookup
 * prefix, the second 256 random bits.  The store keeps the prefix and
 * BLAKE2b(secret, key = a 256-bit pepper kept in the store's meta table), so a
 * leaked database does not yield usable keys and lookups need no scan.
 *
 * tp_keys caches verified keys for one second: a key revoked from another process
 * (the CLI) stops working within that second; revocations through this process
 * take effect at once.
 */
#ifndef TP_KEYS_H
#define TP_KEYS_H

#include <pthread.h>

#include "common/err.h"
#include "store/store.h"

#define TP_KEY_TEXT_MAX 64     /* bytes for a key's text, NUL included */
#define TP_KEY_PREFIX_MAX 17   /* "tpk_" + 12 hex + NUL */
#define TP_KEY_ORIGINS_MAX 512 /* bytes of a key's origin list, NUL included */

typedef struct tp_keys tp_keys;

/* What a verified key may do. */
typedef struct tp_key_info {
        tp_scope scope;
        char prefix[TP_KEY_PREFIX_MAX];
        char origins[TP_KEY_ORIGINS_MAX]; /* space-separated web origins, "" for none */
} tp_key_info;

/* Create a key of `scope` and write its text into out (TP_KEY_TEXT_MAX bytes).
 * The caller shows it once; it cannot be recovered later.  origins (NULL for
 * none) are the web origins ("https://shop.example", "http://127.0.0.1:8081")
 * allowed to use it from a browser, space- or comma-separated; each is checked
 * and stored in canonical form (lower-case scheme and host, no default port). */
tp_rc tp_keys_create(tp_store *s, tp_scope scope, const char *name, const char *origins, char *out, tp_err *err);

/* A 256-bit secret kept in the store's meta table under name (the key pepper,
 * the survey-link key): read, or made at random when absent and create is set
 * (TP_NOTFOUND otherwise); TP_CORRUPT when the stored value is not 32 bytes. */
tp_rc tp_keys_secret(tp_store *s, const char *name, int create, unsigned char out[32], tp_err *err);

/* Canonical form of one origin into out (at most outsz bytes); TP_INVALID with
 * a message naming it when it is not scheme://host[:port] with http or https. */
tp_rc tp_keys_origin_canon(const char *origin, size_t len, char *out, size_t outsz, tp_err *err);

/* 1 when origin is one of the space-separated list. */
int tp_keys_origin_in(const char *list, const char *origin);

/* Verification against `store`, which is shared: every use holds *store_lock. */
tp_rc tp_keys_new(tp_store *store, pthread_mutex_t *store_lock, tp_keys **ret, tp_err *err);
void tp_keys_free(tp_keys *k);

/* TP_OK and *ret_scope for a valid key; TP_UNAUTH for a malformed, unknown or
 * revoked one (one message for all, so nothing is learnt by probing). */
tp_rc tp_keys_verify(tp_keys *k, const char *text, tp_scope *ret_scope, tp_err *err);
/* The same, with the key's prefix and origins. */
tp_rc tp_keys_verify_info(tp_keys *k, const char *text, tp_key_info *ret, tp_err *err);

/* TP_OK while the key with this prefix exists and is not revoked (sessions
 * made from a key die with it); TP_UNAUTH otherwise.  Same 1 s cache. */
tp_rc tp_keys_prefix_valid(tp_keys *k, const char *prefix, tp_err *err);

/* 1 when some valid key lists origin (for CORS preflight requests, which carry
 * no key).  The list of all origins is cached for one second. */
int tp_keys_origin_known(tp_keys *k, const char *origin);

#endif
