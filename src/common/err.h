/* SPDX-License-Identifier: MIT */
/*
 * err.h -- the one result code of Touchpoint and the caller-owned error detail.
 *
 * Every fallible function returns a tp_rc and, on failure, fills the tp_err the
 * caller passed (which may be NULL).  The JSON code and HTTP status of each result
 * live in the same table row so they cannot drift (libuv's UV_ERRNO_MAP).
 */
#ifndef TP_ERR_H
#define TP_ERR_H

#define TP_RC_MAP(XX)                                                                \
        XX(OK, "ok", 200, "success")                                                 \
        XX(NOMEM, "out_of_memory", 503, "out of memory")                             \
        XX(INVALID, "invalid", 400, "invalid request")                               \
        XX(BADJSON, "invalid_json", 400, "malformed JSON")                           \
        XX(UNAUTH, "unauthorized", 401, "missing or unknown API key")                \
        XX(FORBIDDEN, "forbidden", 403, "not allowed")                               \
        XX(NOTFOUND, "not_found", 404, "no such object")                             \
        XX(METHOD, "method_not_allowed", 405, "method not allowed")                  \
        XX(CONFLICT, "conflict", 409, "already exists")                              \
        XX(GONE, "gone", 410, "no longer available")                                 \
        XX(TOOBIG, "too_large", 413, "payload too large")                            \
        XX(MEDIA, "unsupported_media_type", 415, "unsupported media type")           \
        XX(UNPROCESSABLE, "unprocessable", 422, "validation failed")                 \
        XX(RATELIMIT, "rate_limited", 429, "too many requests")                      \
        XX(IO, "io", 500, "I/O error")                                               \
        XX(INTERNAL, "internal", 500, "internal error")                              \
        XX(BUSY, "overloaded", 503, "server busy, retry later")                      \
        XX(BACKEND, "storage_unavailable", 503, "storage unavailable")               \
        XX(FULL, "storage_full", 507, "storage full")                                \
        XX(CORRUPT, "store_corrupt", 500, "store corrupt")

typedef enum tp_rc {
#define XX(name, code, http, msg) TP_##name,
        TP_RC_MAP(XX)
#undef XX
                _TP_RC_MAX
} tp_rc;

typedef struct tp_err {
        tp_rc rc;
        const char *code; /* finer machine-readable code (static string), NULL: tp_rc_code(rc) */
        char field[64];   /* offending input field, "" if none */
        char msg[256];
} tp_err;

const char *tp_rc_code(tp_rc rc);     /* "not_found" */
unsigned tp_rc_http_status(tp_rc rc); /* 404 */
const char *tp_rc_message(tp_rc rc);  /* default text when err->msg is empty */

/* Record rc and a printf-style message in err (may be NULL) and return rc, so
 * `return tp_err_set(err, TP_INVALID, "...")` is one line.  The field is kept. */
tp_rc tp_err_set(tp_err *err, tp_rc rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same, naming the offending input field (truncated to fit). */
tp_rc tp_err_setf(tp_err *err, tp_rc rc, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Same as tp_err_setf, with a finer code such as "unknown_touchpoint". */
tp_rc tp_err_setc(tp_err *err, tp_rc rc, const char *code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* The JSON code of an error: err->code when set, else the rc's. */
const char *tp_err_code(const tp_err *err);

void tp_err_clear(tp_err *err);

#endif
