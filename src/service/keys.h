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

#define TP_KEY_TEXT_MAX 64 /* bytes for a key's text, NUL included */

typedef struct tp_keys tp_keys;

/* Create a key of `scope` and write its text into out (TP_KEY_TEXT_MAX bytes).
 * The caller shows it once; it cannot be recovered later. */
tp_rc tp_keys_create(tp_store *s, tp_scope scope, const char *name, char *out, tp_err *err);

/* Verification against `store`, which is shared: every use holds *store_lock. */
tp_rc tp_keys_new(tp_store *store, pthread_mutex_t *store_lock, tp_keys **ret, tp_err *err);
void tp_keys_free(tp_keys *k);

/* TP_OK and *ret_scope for a valid key; TP_UNAUTH for a malformed, unknown or
 * revoked one (one message for all, so nothing is learnt by probing). */
tp_rc tp_keys_verify(tp_keys *k, const char *text, tp_scope *ret_scope, tp_err *err);

#endif
