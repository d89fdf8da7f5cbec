/* SPDX-License-Identifier: MIT */
/*
 * session.h -- dashboard sign-in sessions: an admin key is exchanged once for
 * an opaque session token (sent back as an HttpOnly, SameSite=Strict cookie)
 * and a CSRF token (sent back in the body, echoed by the page in the
 * X-CSRF-Token header of every state-changing request).
 *
 * Sessions live in memory only: a restart signs everyone out, which is the
 * safe direction.  The table is bounded; when full, the session closest to
 * expiry is dropped.  A session dies with its key (checked by the caller
 * through tp_keys_prefix_valid) and after its lifetime.  All functions are
 * thread-safe; tokens are compared in constant time.
 */
#ifndef TP_SESSION_H
#define TP_SESSION_H

#include <stdint.h>

#include "common/err.h"
#include "service/keys.h"

#define TP_SESSION_TOKEN_LEN 43 /* base64url of 32 random bytes */
#define TP_SESSION_MAX 4096

typedef struct tp_sessions tp_sessions;

typedef struct tp_session {
        char token[TP_SESSION_TOKEN_LEN + 1];
        char csrf[TP_SESSION_TOKEN_LEN + 1];
        char key_prefix[TP_KEY_PREFIX_MAX];
        tp_scope scope;
        int64_t expires; /* Unix seconds */
} tp_session;

tp_rc tp_sessions_new(int64_t ttl_seconds, tp_sessions **ret, tp_err *err);
void tp_sessions_free(tp_sessions *s);

/* Open a session for a verified key; *ret is a copy (the caller sends token
 * and csrf to the client). */
tp_rc tp_session_open(tp_sessions *s, const tp_key_info *key, tp_session *ret, tp_err *err);

/* TP_OK and a copy of the session for a live token; TP_UNAUTH otherwise. */
tp_rc tp_session_find(tp_sessions *s, const char *token, tp_session *ret, tp_err *err);

/* 1 when csrf is the session's CSRF token (constant time). */
int tp_session_csrf_ok(const tp_session *sess, const char *csrf);

/* End the session (sign-out); unknown tokens are ignored. */
void tp_session_close(tp_sessions *s, const char *token);

/* Sessions open now (for /metrics). */
int tp_sessions_count(tp_sessions *s);

#endif
