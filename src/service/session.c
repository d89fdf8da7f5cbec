/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/session.h"

struct tp_sessions {
        pthread_mutex_t lock;
        int64_t ttl;
        int n;
        tp_session v[TP_SESSION_MAX];
};

tp_rc tp_sessions_new(int64_t ttl_seconds, tp_sessions **ret, tp_err *err) {
        tp_sessions *s = tp_calloc(1, sizeof(*s));

        if (!s)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        pthread_mutex_init(&s->lock, NULL);
        s->ttl = ttl_seconds > 0 ? ttl_seconds : 12 * 3600;
        *ret = s;
        return TP_OK;
}

void tp_sessions_free(tp_sessions *s) {
        if (!s)
                return;
        sodium_memzero(s->v, sizeof(s->v));
        pthread_mutex_destroy(&s->lock);
        tp_free(s);
}

static void random_token(char out[TP_SESSION_TOKEN_LEN + 1]) {
        unsigned char b[32];

        randombytes_buf(b, sizeof(b));
        sodium_bin2base64(out, TP_SESSION_TOKEN_LEN + 1, b, sizeof(b), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(b, sizeof(b));
}

/* Drop expired sessions; with the lock held. */
static void sweep(tp_sessions *s, int64_t now) {
        for (int i = 0; i < s->n;) {
                if (s->v[i].expires <= now) {
                        s->v[i] = s->v[--s->n];
                        sodium_memzero(&s->v[s->n], sizeof(s->v[s->n]));
                } else {
                        i++;
                }
        }
}

tp_rc tp_session_open(tp_sessions *s, const tp_key_info *key, tp_session *ret, tp_err *err) {
        int64_t now = tp_time_now();
        tp_session sess = { 0 };
        int slot;

        (void) err;
        random_token(sess.token);
        random_token(sess.csrf);
        memcpy(sess.key_prefix, key->prefix, sizeof(sess.key_prefix));
        sess.scope = key->scope;
        sess.expires = now + s->ttl;
        pthread_mutex_lock(&s->lock);
        sweep(s, now);
        if (s->n < TP_SESSION_MAX) {
                slot = s->n++;
        } else {
                slot = 0;
                for (int i = 1; i < s->n; i++)
                        if (s->v[i].expires < s->v[slot].expires)
                                slot = i;
        }
        s->v[slot] = sess;
        pthread_mutex_unlock(&s->lock);
        *ret = sess;
        sodium_memzero(&sess, sizeof(sess));
        return TP_OK;
}

/* Index of the live session with this token, or -1; with the lock held.  Every
 * slot is compared in full so the time taken says nothing about the token. */
static int find(tp_sessions *s, const char *token, int64_t now) {
        int hit = -1;

        if (!token || strlen(token) != TP_SESSION_TOKEN_LEN)
                return -1;
        for (int i = 0; i < s->n; i++)
                if (sodium_memcmp(s->v[i].token, token, TP_SESSION_TOKEN_LEN) == 0 && s->v[i].expires > now)
                        hit = i;
        return hit;
}

tp_rc tp_session_find(tp_sessions *s, const char *token, tp_session *ret, tp_err *err) {
        int i;

        pthread_mutex_lock(&s->lock);
        i = find(s, token, tp_time_now());
        if (i >= 0)
                *ret = s->v[i];
        pthread_mutex_unlock(&s->lock);
        return i >= 0 ? TP_OK : tp_err_set(err, TP_UNAUTH, "not signed in, or the session has expired");
}

int tp_session_csrf_ok(const tp_session *sess, const char *csrf) {
        return csrf && strlen(csrf) == TP_SESSION_TOKEN_LEN &&
               sodium_memcmp(sess->csrf, csrf, TP_SESSION_TOKEN_LEN) == 0;
}

void tp_session_close(tp_sessions *s, const char *token) {
        int i;

        pthread_mutex_lock(&s->lock);
        i = find(s, token, tp_time_now());
        if (i >= 0) {
                s->v[i] = s->v[--s->n];
                sodium_memzero(&s->v[s->n], sizeof(s->v[s->n]));
        }
        pthread_mutex_unlock(&s->lock);
}

int tp_sessions_count(tp_sessions *s) {
        int n;

        pthread_mutex_lock(&s->lock);
        sweep(s, tp_time_now());
        n = s->n;
        pthread_mutex_unlock(&s->lock);
        return n;
}
