/* SPDX-License-Identifier: MIT */
/*
 * http_server.c -- libmicrohttpd glue: daemon options, the request guard, the
 * router, body collection, async ingest by suspend/resume, replies and counters.
 *
 * Debian 12's libmicrohttpd 0.9.75 is lenient (see shared/RELIABILITY.md 3.1):
 * it accepts Content-Length with Transfer-Encoding, duplicate Content-Lengths,
 * control bytes in header names and truncates header values at NUL.  The guard
 * below rejects all of these on the first call, before any body is read.
 *
 * Replies are queued only after the first call: queueing in the first call forces
 * "Connection: close" (a 4.5x loss for keep-alive clients), so the first call of
 * a good request only allocates its state.  Early rejections do close.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "http/http.h"

/* Status codes we count; anything else lands in the last slot. */
static const unsigned counted_status[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 410,
                                           413, 415, 422, 429, 500, 503, 507, 0 };
#define NSTATUS (sizeof(counted_status) / sizeof(counted_status[0]))
#define MAX_ROUTES 64
/* Counter slots after the routes: requests no route matched, static files. */
#define SLOT_UNMATCHED MAX_ROUTES
#define SLOT_STATIC (MAX_ROUTES + 1)
/* Bytes of a refused body read (and dropped) before the connection is cut. */
#define DISCARD_MAX ((size_t) 1 << 20)

struct tp_http {
        struct MHD_Daemon *d;
        tp_ctx *ctx;
        int nroutes;
        atomic_int inflight;
        atomic_ulong counts[MAX_ROUTES + 2][NSTATUS];
        atomic_ulong guard_rejects;
};

typedef struct reqstate {
        tp_req req;
        tp_http *h;
        const tp_route *route;
        int route_idx;
        pthread_mutex_t mu;
        int suspended, done;
        tp_rc fail;        /* set when the body went over the limit */
        size_t discarded;  /* body bytes dropped after fail was set */
        char cors[256];    /* the Origin to allow in the reply (CORS), or "" */
        char static_rel[256]; /* a dashboard file to send instead of a route, or "" */
} reqstate;

/* Sent with every reply.  Inline styles are allowed for the charts' tooltips;
 * inline scripts are not. */
static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/* ---- replies ---------------------------------------------------------------- */

tp_rc tp_http_reply_json(tp_resp *resp, unsigned status, json_t *json) {
        char *text;
        size_t len = 0;

        if (!json)
                return TP_NOMEM;
        text = tp_json_dump(json, &len);
        json_decref(json);
        if (!text)
                return TP_NOMEM;
        resp->status = status;
        resp->body = text;
        resp->body_len = len;
        resp->content_type = "application/json; charset=utf-8";
        return TP_OK;
}

tp_rc tp_http_reply_text(tp_resp *resp, unsigned status, const char *content_type, const char *text, size_t len) {
        char *copy = tp_strndup(text, len);

        if (!copy)
                return TP_NOMEM;
        resp->status = status;
        resp->body = copy;
        resp->body_len = len;
        resp->content_type = content_type;
        return TP_OK;
}

tp_rc tp_resp_header(tp_resp *resp, const char *name, const char *value) {
        char *v;

        if (resp->nheaders == TP_RESP_HEADERS)
                return TP_INTERNAL;
        v = tp_strdup(value);
        if (!v)
                return TP_NOMEM;
        resp->hname[resp->nheaders] = name;
        resp->hvalue[resp->nheaders++] = v;
        return TP_OK;
}

void tp_resp_done(tp_resp *resp) {
        tp_free(resp->body);
        resp->body = NULL;
        for (int i = 0; i < resp->nheaders; i++)
                tp_free(resp->hvalue[i]);
        resp->nheaders = 0;
}

/* The headers every reply carries, API and pages alike. */
static void security_headers(struct MHD_Response *r) {
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "X-Frame-Options", "DENY");
        MHD_add_response_header(r, "Content-Security-Policy", csp);
}

static void cors_headers(struct MHD_Response *r, const char *origin) {
        if (origin && *origin) {
                MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
                MHD_add_response_header(r, "Vary", "Origin");
        }
}

static void count(tp_http *h, int route_idx, unsigned status) {
        size_t i = 0;

        while (counted_status[i] && counted_status[i] != status)
                i++;
        atomic_fetch_add(&h->counts[route_idx][i], 1);
}

/* allow: the Allow header of a 405 (the methods the path has), else NULL.
 * cors: the origin to allow (CORS), or NULL. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, tp_resp *resp, int retry_after, int close_conn,
                                 const char *allow, const char *cors) {
        struct MHD_Response *r;
        enum MHD_Result ret;
        char ra[16];

        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                tp_resp_done(resp);
                return MHD_NO;
        }
        resp->body = NULL; /* libmicrohttpd owns it now */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type ? resp->content_type : "application/json; charset=utf-8");
        MHD_add_response_header(r, "Cache-Control", "no-store");
        security_headers(r);
        cors_headers(r, cors);
        for (int i = 0; i < resp->nheaders; i++)
                MHD_add_response_header(r, resp->hname[i], resp->hvalue[i]);
        tp_resp_done(resp);
        if (retry_after > 0) {
                (void) snprintf(ra, sizeof(ra), "%d", retry_after);
                MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
        }
        if (resp->status == 405 && allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        if (close_conn)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        if (resp->status == 401)
                MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
        ret = MHD_queue_response(conn, resp->status, r);
        MHD_destroy_response(r);
        return ret;
}

/* The common error body; user text reaches it only through jansson's escaping. */
static enum MHD_Result send_error(tp_http *h, struct MHD_Connection *conn, int route_idx, const tp_err *err,
                                  int retry_after, int close_conn, const char *allow, const char *cors) {
        tp_resp resp = { 0 };
        unsigned status = tp_rc_http_status(err->rc);
        json_t *j = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", tp_err_code(err), "message",
                              err->msg[0] ? err->msg : tp_rc_message(err->rc), "field", err->field);

        if (tp_http_reply_json(&resp, status, j) != TP_OK)
                return MHD_NO;
        if (err->rc == TP_BUSY || err->rc == TP_BACKEND || err->rc == TP_FULL || err->rc == TP_RATELIMIT)
                retry_after = retry_after > 0 ? retry_after : 1;
        count(h, route_idx, status);
        return send_resp(conn, &resp, retry_after, close_conn, allow, cors);
}

/* ---- the request guard -------------------------------------------------------- */

typedef struct guard_state {
        int n_cl, n_te, bad;
        /* The raw header block as libmicrohttpd parsed it in place (request line
         * to blank line, its CR/LF/colons overwritten by NULs), or NULL. */
        const char *blk, *blk_end;
        const char *prev_end; /* end of the previous header's value in blk */
        char prev_key[41];
        char why[96];
} guard_state;

/* 0.9.75 cuts a header value at a NUL byte and reports the shortened length, so
 * strlen() cannot see it.  It parses in place, though, so between the end of one
 * value and the next name (or the end of the block) only the NULs that replaced
 * CR/LF (and trailing blanks) may lie; anything else is the hidden rest of a
 * value cut by a NUL.  Returns 0 when [a, b) is clean. */
static int hidden_bytes(const char *a, const char *b) {
        for (const char *p = a; p < b; p++)
                if (*p != '\0' && *p != '\r' && *p != '\n' && *p != ' ' && *p != '\t')
                        return 1;
        return 0;
}

static int is_tchar(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("!#$%&'*+-.^_`|~", c));
}

static enum MHD_Result guard_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                    const char *value, size_t value_size) {
        guard_state *g = cls;

        (void) kind;
        if (key_size == 0) {
                g->bad = 1;
                (void) snprintf(g->why, sizeof(g->why), "empty header name");
                return MHD_NO;
        }
        for (size_t i = 0; i < key_size; i++) {
                if (!is_tchar((unsigned char) key[i])) {
                        g->bad = 1;
                        (void) snprintf(g->why, sizeof(g->why), "invalid character in a header name");
                        return MHD_NO;
                }
        }
        /* A NUL hides the rest of the value from strlen(): compare the lengths. */
        if (!value || strlen(value) != value_size) {
                g->bad = 1;
                (void) snprintf(g->why, sizeof(g->why), "NUL byte in header '%.40s'", key);
                return MHD_NO;
        }
        for (size_t i = 0; i < value_size; i++) {
                unsigned char c = (unsigned char) value[i];
                if (c == '\r' || c == '\n' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
                        g->bad = 1;
                        (void) snprintf(g->why, sizeof(g->why), "control character in header '%.40s'", key);
                        return MHD_NO;
                }
        }
        if (g->blk) {
                if (key < g->blk || value < key || value + value_size > g->blk_end) {
                        g->prev_end = NULL; /* not in the block: cannot tell */
                } else if (g->prev_end && g->prev_end <= key && hidden_bytes(g->prev_end, key)) {
                        g->bad = 1;
                        (void) snprintf(g->why, sizeof(g->why), "NUL byte in header '%s'", g->prev_key);
                        return MHD_NO;
                } else {
                        g->prev_end = value + value_size;
                        (void) snprintf(g->prev_key, sizeof(g->prev_key), "%.*s",
                                        (int) (key_size < 40 ? key_size : 40), key);
                }
        }
        if (strcasecmp(key, "Content-Length") == 0) {
                g->n_cl++;
        } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
                g->n_te++;
                if (strcasecmp(value, "chunked") != 0) {
                        g->bad = 1;
                        (void) snprintf(g->why, sizeof(g->why), "unsupported Transfer-Encoding '%.40s'", value);
                        return MHD_NO;
                }
        }
        return MHD_YES;
}

/* 0 when the request may go on; otherwise err is filled. */
static int guard(struct MHD_Connection *conn, const char *method, const char *url, const char *version,
                 tp_err *err) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        guard_state g = { 0 };

        if (ci && ci->header_size > 0) {
                g.blk = method;
                g.blk_end = method + ci->header_size;
                /* "HTTP/1.1\0junk" hides bytes after the version the same way. */
                if (version && version > method && version + strlen(version) <= g.blk_end) {
                        g.prev_end = version + strlen(version);
                        (void) snprintf(g.prev_key, sizeof(g.prev_key), "(request line)");
                }
        }
        MHD_get_connection_values_n(conn, MHD_HEADER_KIND, guard_header, &g);
        if (!g.bad && g.prev_end && g.prev_end <= g.blk_end && hidden_bytes(g.prev_end, g.blk_end))
                (void) snprintf(g.why, sizeof(g.why), "NUL byte in header '%s'", g.prev_key), g.bad = 1;
        if (!g.bad && g.n_cl > 1)
                (void) snprintf(g.why, sizeof(g.why), "more than one Content-Length header"), g.bad = 1;
        if (!g.bad && g.n_te > 1)
                (void) snprintf(g.why, sizeof(g.why), "more than one Transfer-Encoding header"), g.bad = 1;
        if (!g.bad && g.n_cl && g.n_te)
                (void) snprintf(g.why, sizeof(g.why), "both Content-Length and Transfer-Encoding"), g.bad = 1;
        if (!g.bad && (!tp_utf8_valid(url, strlen(url)) || strchr(url, 0x7f)))
                (void) snprintf(g.why, sizeof(g.why), "invalid percent-encoding or UTF-8 in the URL"), g.bad = 1;
        if (g.bad) {
                tp_err_setc(err, TP_INVALID, "bad_request", "", "rejected request: %s", g.why);
                return -1;
        }
        return 0;
}

/* libmicrohttpd's unescaping would turn "%00" into a NUL that silently shortens
 * the path or an argument.  Decode here; anything that does not decode to clean
 * UTF-8 becomes a single DEL byte, which the guard and the validators reject. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
        size_t in = 0, out = 0, n = strlen(s);

        (void) cls;
        (void) c;
        while (in < n) {
                if (s[in] == '%' && in + 2 < n && isxdigit((unsigned char) s[in + 1]) &&
                    isxdigit((unsigned char) s[in + 2])) {
                        char hex[3] = { s[in + 1], s[in + 2], 0 };
                        s[out++] = (char) strtol(hex, NULL, 16);
                        in += 3;
                } else if (s[in] == '%') {
                        goto bad;
                } else {
                        s[out++] = s[in++];
                }
        }
        if (!tp_utf8_valid(s, out))
                goto bad;
        s[out] = '\0';
        return out;
bad:
        s[0] = 0x7f;
        s[1] = '\0';
        return 1;
}

/* ---- routing ------------------------------------------------------------------- */

/* Match path against pattern; captures are copied into req->params. */
static int match(const char *pattern, const char *path, tp_req *req) {
        const char *p = pattern, *u = path;
        int n = 0;

        while (*p && *u) {
                if (*p == ':') {
                        const char *end = strchr(u, '/');
                        size_t len = end ? (size_t) (end - u) : strlen(u);
                        if (len == 0 || n == TP_MAX_PARAMS)
                                goto no;
                        req->params[n] = tp_strndup(u, len);
                        if (!req->params[n])
                                goto no;
                        n++;
                        u += len;
                        while (*p && *p != '/')
                                p++;
                        continue;
                }
                if (*p != *u)
                        goto no;
                p++;
                u++;
        }
        if (*p || *u)
                goto no;
        req->nparams = n;
        return 1;
no:
        for (int i = 0; i < n; i++) {
                tp_free((void *) req->params[i]);
                req->params[i] = NULL;
        }
        return 0;
}

/* Find the route: *ret_idx is its index, or -1 (404), or -2 (path known, method
 * not: 405, and allow lists the path's methods for the Allow header). */
static const tp_route *route_find(tp_http *h, const char *method, const char *path, tp_req *req, int *ret_idx,
                                  char *allow, size_t allow_sz) {
        int path_known = 0;
        size_t used = 0;

        allow[0] = '\0';

        for (int i = 0; i < h->nroutes; i++) {
                const tp_route *r = &tp_api_routes[i];
                int same = strcmp(r->method, method) == 0 ||
                           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
                if (!match(r->pattern, path, req))
                        continue;
                if (same) {
                        *ret_idx = i;
                        return r;
                }
                path_known = 1;
                if (used < allow_sz)
                        used += (size_t) snprintf(allow + used, allow_sz - used, "%s%s%s", used ? ", " : "",
                                                  r->method, strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
                for (int k = 0; k < req->nparams; k++) {
                        tp_free((void *) req->params[k]);
                        req->params[k] = NULL;
                }
                req->nparams = 0;
        }
        *ret_idx = path_known ? -2 : -1;
        return NULL;
}

static const char *query_lookup(tp_req *req, const char *name) {
        return MHD_lookup_connection_value((struct MHD_Connection *) req->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const char *header_lookup(tp_req *req, const char *name) {
        return MHD_lookup_connection_value((struct MHD_Connection *) req->conn, MHD_HEADER_KIND, name);
}

const char *tp_req_cookie(tp_req *req, const char *name) {
        return MHD_lookup_connection_value((struct MHD_Connection *) req->conn, MHD_COOKIE_KIND, name);
}

/* 1 when the Origin header names this server itself: its host[:port] is the
 * Host the browser sent (a page cannot forge either), whatever the scheme, so
 * a TLS proxy in front changes nothing. */
static int same_origin(struct MHD_Connection *conn, const char *origin) {
        const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        const char *sep = strstr(origin, "://");

        return host && sep && strcasecmp(sep + 3, host) == 0;
}

int tp_req_same_origin(tp_req *req) {
        const char *origin = tp_req_header(req, "Origin");

        return !origin || same_origin((struct MHD_Connection *) req->conn, origin);
}

static tp_rc check_scope(const tp_route *r, tp_scope scope, tp_err *err) {
        if (scope != TP_SCOPE_ADMIN && (int) scope != r->scope)
                return tp_err_set(err, TP_FORBIDDEN, "this key's scope (%s) does not allow %s %s",
                                  scope == TP_SCOPE_INGEST ? "ingest" : "admin", r->method, r->pattern);
        return TP_OK;
}

/* A Bearer key, or the dashboard's session cookie.  A browser request from
 * another origin (it carries Origin) must be on the key's origin list, and then
 * gets CORS headers (cors, corssz); with a cookie it is refused outright, and a
 * cookie request that changes state must echo the session's CSRF token. */
static tp_rc authorise(tp_http *h, struct MHD_Connection *conn, const char *method, const tp_route *r, tp_req *req,
                       char *cors, size_t corssz, tp_err *err) {
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        const char *cookie;
        tp_session sess;
        tp_rc rc;

        if (!r->scope)
                return TP_OK;
        if (auth) {
                if (strncasecmp(auth, "Bearer ", 7) != 0)
                        return tp_err_set(err, TP_UNAUTH, "missing API key: send 'Authorization: Bearer KEY'");
                rc = tp_keys_verify_info(h->ctx->keys, auth + 7, &req->auth, err);
                if (rc != TP_OK)
                        return rc;
                if ((rc = check_scope(r, req->auth.scope, err)) != TP_OK)
                        return rc;
                req->auth_kind = TP_AUTH_KEY;
                if (origin && !same_origin(conn, origin)) {
                        if (!tp_keys_origin_in(req->auth.origins, origin))
                                return tp_err_setc(err, TP_FORBIDDEN, "origin_not_allowed", "Origin",
                                                   "origin '%.100s' is not allowed for this key "
                                                   "(touchpoint key create --origin)", origin);
                        (void) snprintf(cors, corssz, "%s", origin);
                }
                return TP_OK;
        }
        cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "tp_session");
        if (!cookie)
                return tp_err_set(err, TP_UNAUTH, "missing API key: send 'Authorization: Bearer KEY' or sign in");
        if ((rc = tp_session_find(h->ctx->sessions, cookie, &sess, err)) != TP_OK)
                return rc;
        if (tp_keys_prefix_valid(h->ctx->keys, sess.key_prefix, err) != TP_OK) {
                tp_session_close(h->ctx->sessions, cookie);
                return tp_err_set(err, TP_UNAUTH, "the key this session was opened with was revoked: sign in again");
        }
        if ((rc = check_scope(r, sess.scope, err)) != TP_OK)
                return rc;
        if (origin && !same_origin(conn, origin))
                return tp_err_setc(err, TP_FORBIDDEN, "cross_origin", "Origin",
                                   "a signed-in request must come from this server's own pages");
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
            !tp_session_csrf_ok(&sess, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token")))
                return tp_err_setc(err, TP_FORBIDDEN, "csrf", "X-CSRF-Token",
                                   "missing or wrong X-CSRF-Token header for a signed-in change");
        req->auth_kind = TP_AUTH_SESSION;
        req->auth.scope = sess.scope;
        memcpy(req->auth.prefix, sess.key_prefix, sizeof(req->auth.prefix));
        memcpy(req->session, sess.token, sizeof(req->session));
        return TP_OK;
}

/* ---- CORS preflight and the dashboard's files ----------------------------------- */

/* Routes a page on another origin may call with a key (the survey widget). */
static int cors_route(const char *path) {
        return strcmp(path, "/v1/responses") == 0 || strcmp(path, "/v1/events") == 0 ||
               (strncmp(path, "/v1/touchpoints/", 16) == 0 && path[16] && !strchr(path + 16, '/'));
}

/* OPTIONS: the preflight carries no key, so an origin is allowed when some valid
 * key lists it; the real request is then checked against its own key. */
static enum MHD_Result preflight(tp_http *h, struct MHD_Connection *conn, const char *url) {
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        tp_resp resp = { .status = 204, .content_type = "text/plain; charset=utf-8" };
        tp_err err = { 0 };

        if (!cors_route(url)) {
                tp_err_setc(&err, TP_METHOD, NULL, "", "method OPTIONS is not allowed on %s", url);
                return send_error(h, conn, SLOT_UNMATCHED, &err, 0, 1, NULL, NULL);
        }
        if (!tp_keys_origin_known(h->ctx->keys, origin)) {
                tp_err_setc(&err, TP_FORBIDDEN, "origin_not_allowed", "Origin",
                            "origin '%.100s' is not allowed (touchpoint key create --origin)", origin);
                return send_error(h, conn, SLOT_UNMATCHED, &err, 0, 1, NULL, NULL);
        }
        if (tp_resp_header(&resp, "Access-Control-Allow-Methods", "POST, GET") != TP_OK ||
            tp_resp_header(&resp, "Access-Control-Allow-Headers", "Authorization, Content-Type") != TP_OK ||
            tp_resp_header(&resp, "Access-Control-Max-Age", "600") != TP_OK) {
                tp_resp_done(&resp);
                return MHD_NO;
        }
        count(h, SLOT_UNMATCHED, 204);
        return send_resp(conn, &resp, 0, 0, NULL, origin);
}

/* 1 when path, resolved, lies inside dir, resolved: a symlinked directory in
 * the web root must not lead out of it (O_NOFOLLOW checks the last part only). */
static int beneath(const char *dir, const char *path) {
        char rd[PATH_MAX], rp[PATH_MAX];
        size_t n;

        if (!realpath(dir, rd) || !realpath(path, rp))
                return 0;
        n = strlen(rd);
        return strncmp(rp, rd, n) == 0 && rp[n] == '/';
}

static enum MHD_Result send_static(tp_http *h, struct MHD_Connection *conn, const char *rel) {
        const char *dir = h->ctx->cfg->web_dir;
        struct MHD_Response *r;
        struct stat st;
        enum MHD_Result ret;
        char full[PATH_MAX];
        tp_err err = { 0 };
        int fd = -1;

        if (!dir) {
                tp_err_setc(&err, TP_NOTFOUND, NULL, "", "the dashboard is not built here (run make, or give --web DIR)");
                return send_error(h, conn, SLOT_STATIC, &err, 0, 0, NULL, NULL);
        }
        if ((size_t) snprintf(full, sizeof(full), "%s/%s", dir, rel) < sizeof(full) && beneath(dir, full))
                fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
                if (fd >= 0)
                        close(fd);
                tp_err_setc(&err, TP_NOTFOUND, NULL, "", "no such page: /%s", rel);
                return send_error(h, conn, SLOT_STATIC, &err, 0, 0, NULL, NULL);
        }
        r = MHD_create_response_from_fd64((uint64_t) st.st_size, fd); /* takes fd */
        if (!r) {
                close(fd);
                return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, tp_http_static_type(rel));
        /* Pages and the widget are revalidated at once; assets are small and
         * rebuilt with the binary, so a short cache is enough. */
        MHD_add_response_header(r, "Cache-Control", strncmp(rel, "assets/", 7) == 0 ? "max-age=300" : "no-cache");
        security_headers(r);
        count(h, SLOT_STATIC, 200);
        ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
}

/* Content-Type must name JSON (or NDJSON for batches), in UTF-8 if a charset is given. */
static tp_rc check_type(struct MHD_Connection *conn, const tp_route *r, int *ret_ndjson, tp_err *err) {
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *want = r->body == TP_BODY_BATCH ? "application/json or application/x-ndjson" : "application/json";
        size_t n;
        const char *semi;

        *ret_ndjson = 0;
        if (!ct)
                goto bad;
        semi = strchr(ct, ';');
        n = semi ? (size_t) (semi - ct) : strlen(ct);
        while (n > 0 && ct[n - 1] == ' ')
                n--;
        if (n == 16 && strncasecmp(ct, "application/json", 16) == 0) {
                /* ok */
        } else if (r->body == TP_BODY_BATCH && n == 20 && strncasecmp(ct, "application/x-ndjson", 20) == 0) {
                *ret_ndjson = 1;
        } else {
                goto bad;
        }
        if (semi) {
                const char *cs = strcasestr(semi, "charset=");
                if (cs) {
                        /* The whole value must be utf-8: "utf-8x" or "utf-88" are other charsets. */
                        const char *v = cs + 8;
                        size_t vn = strcspn(v, "; \t");
                        if (!((vn == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
                              (vn == 7 && strncasecmp(v, "\"utf-8\"", 7) == 0)))
                                return tp_err_setc(err, TP_MEDIA, NULL, "Content-Type",
                                                   "only the UTF-8 charset is accepted");
                }
        }
        return TP_OK;
bad:
        return tp_err_setc(err, TP_MEDIA, NULL, "Content-Type", "Content-Type must be %s", want);
}

/* ---- the three calls ------------------------------------------------------------- */

static void req_free(reqstate *rs) {
        if (!rs)
                return;
        if (rs->req.async)
                tp_batch_done(&rs->req.batch);
        for (int i = 0; i < TP_MAX_PARAMS; i++)
                tp_free((void *) rs->req.params[i]);
        tp_buf_done(&rs->req.body);
        pthread_mutex_destroy(&rs->mu);
        tp_free(rs);
}

/* Runs on the writer thread after the job's commit. */
static void job_done(tp_ingest_job *job, void *arg) {
        reqstate *rs = arg;
        struct MHD_Connection *conn = rs->req.conn;

        (void) job;
        /* Taking mu waits for the dispatcher to finish suspending.  Resume must be
         * the last touch: once resumed, a worker may answer and free rs at once.
         * Until then rs and conn stay valid, since a suspended connection is
         * neither timed out nor completed. */
        pthread_mutex_lock(&rs->mu);
        rs->done = 1;
        pthread_mutex_unlock(&rs->mu);
        MHD_resume_connection(conn);
}

static reqstate *reqstate_new(tp_http *h, struct MHD_Connection *conn, const char *method, const char *url) {
        reqstate *rs = tp_calloc(1, sizeof(*rs));

        if (!rs)
                return NULL;
        pthread_mutex_init(&rs->mu, NULL);
        rs->h = h;
        rs->req.method = method;
        rs->req.path = url;
        rs->req.ctx = h->ctx;
        rs->req.conn = conn;
        rs->req.query_fn = query_lookup;
        rs->req.header_fn = header_lookup;
        tp_buf_init(&rs->req.body, h->ctx->cfg->lim.max_body);
        return rs;
}

static enum MHD_Result first_call(tp_http *h, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, void **con_cls) {
        tp_err err = { 0 };
        tp_req probe = { 0 };
        const tp_route *r;
        const char *cl;
        reqstate *rs;
        int idx = -1, ndjson = 0;
        char allow[64], cors[256] = "", rel[256];
        tp_rc rc;

        if (guard(conn, method, url, version, &err) != 0) {
                atomic_fetch_add(&h->guard_rejects, 1);
                return send_error(h, conn, SLOT_UNMATCHED, &err, 0, 1, NULL, NULL);
        }
        /* A CORS preflight carries Origin; any other OPTIONS is a plain 405. */
        if (strcmp(method, "OPTIONS") == 0 && MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"))
                return preflight(h, conn, url);
        /* Everything outside the API is a dashboard file, answered on the next
         * call like a route (a reply queued now would close the connection). */
        if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && strncmp(url, "/v1/", 4) != 0 &&
            strcmp(url, "/metrics") != 0 && tp_http_static_path(url, rel, sizeof(rel)) == TP_OK) {
                rs = reqstate_new(h, conn, method, url);
                if (!rs)
                        return MHD_NO;
                (void) snprintf(rs->static_rel, sizeof(rs->static_rel), "%s", rel);
                rs->route_idx = SLOT_STATIC;
                atomic_fetch_add(&h->inflight, 1);
                *con_cls = rs;
                return MHD_YES;
        }
        r = route_find(h, method, url, &probe, &idx, allow, sizeof(allow));
        if (!r) {
                if (idx == -2)
                        tp_err_setc(&err, TP_METHOD, NULL, "", "method %s is not allowed on %s", method, url);
                else
                        tp_err_setc(&err, TP_NOTFOUND, NULL, "", "no such route: %s %s", method, url);
                return send_error(h, conn, SLOT_UNMATCHED, &err, 0, 1, idx == -2 ? allow : NULL, NULL);
        }
        probe.conn = conn;
        probe.header_fn = header_lookup;
        if ((rc = authorise(h, conn, method, r, &probe, cors, sizeof(cors), &err)) != TP_OK)
                goto fail;
        if (r->body != TP_BODY_NONE && (rc = check_type(conn, r, &ndjson, &err)) != TP_OK)
                goto fail;
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->ctx->cfg->lim.max_body) {
                rc = tp_err_setc(&err, TP_TOOBIG, "too_large", "body", "body of %s bytes exceeds the limit of %zu",
                                 cl, h->ctx->cfg->lim.max_body);
                goto fail;
        }
        rs = reqstate_new(h, conn, method, url);
        if (!rs) {
                rc = tp_err_set(&err, TP_NOMEM, "out of memory");
                goto fail;
        }
        rs->route = r;
        rs->route_idx = idx;
        memcpy(rs->req.params, probe.params, sizeof(probe.params));
        rs->req.nparams = probe.nparams;
        rs->req.auth_kind = probe.auth_kind;
        rs->req.auth = probe.auth;
        memcpy(rs->req.session, probe.session, sizeof(rs->req.session));
        rs->req.ndjson = ndjson;
        memcpy(rs->cors, cors, sizeof(rs->cors));
        atomic_fetch_add(&h->inflight, 1);
        *con_cls = rs;
        return MHD_YES;
fail:
        for (int i = 0; i < TP_MAX_PARAMS; i++)
                tp_free((void *) probe.params[i]);
        return send_error(h, conn, idx, &err, 0, 1, NULL, cors);
}

static enum MHD_Result finish_reply(reqstate *rs, struct MHD_Connection *conn, tp_rc rc, tp_resp *resp) {
        tp_http *h = rs->h;

        if (rc != TP_OK) {
                if (!rs->req.err.rc)
                        rs->req.err.rc = rc;
                tp_resp_done(resp);
                return send_error(h, conn, rs->route_idx, &rs->req.err, rs->req.retry_after, 0, NULL, rs->cors);
        }
        count(h, rs->route_idx, resp->status);
        return send_resp(conn, resp, rs->req.retry_after, 0, NULL, rs->cors);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
        tp_http *h = cls;
        reqstate *rs = *con_cls;
        tp_resp resp = { 0 };
        tp_rc rc;

        if (!rs)
                return first_call(h, conn, url, method, version, con_cls);
        if (*upload_data_size) {
                if (rs->fail == TP_OK && (!rs->route || rs->route->body == TP_BODY_NONE))
                        rs->fail = tp_err_setc(&rs->req.err, TP_INVALID, "unexpected_body", "body",
                                               "this route takes no request body");
                if (rs->fail == TP_OK &&
                    tp_buf_append(&rs->req.body, upload_data, *upload_data_size) != TP_OK)
                        rs->fail = tp_err_setc(&rs->req.err, TP_TOOBIG, "too_large", "body",
                                               "body exceeds the limit of %zu bytes", rs->req.body.max);
                /* libmicrohttpd 0.9.75 cannot queue a reply while the body is
                 * still arriving (MHD_queue_response fails and the connection is
                 * dropped without an answer), so a refused body is read and
                 * discarded, and answered with 413/400 + close at its end.  A
                 * client that streams on past DISCARD_MAX is cut off unanswered. */
                if (rs->fail != TP_OK) {
                        rs->discarded += *upload_data_size;
                        if (rs->discarded > DISCARD_MAX)
                                return MHD_NO;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (rs->fail != TP_OK)
                return send_error(h, conn, rs->route_idx, &rs->req.err, 0, 1, NULL, rs->cors);
        if (rs->static_rel[0])
                return send_static(h, conn, rs->static_rel);
        if (rs->done) {
                rc = rs->route->finish(&rs->req, &resp);
                return finish_reply(rs, conn, rc, &resp);
        }
        rc = rs->route->handler(&rs->req, &resp);
        if (rc == TP_OK && rs->req.async) {
                rs->req.job.done = job_done;
                rs->req.job.arg = rs;
                rs->req.job.bytes = rs->req.body.len;
                /* Hold mu from submit to suspend, so the writer cannot resume a
                 * connection that is not suspended yet. */
                pthread_mutex_lock(&rs->mu);
                rc = tp_ingest_submit(h->ctx->ingest, &rs->req.job, &rs->req.err);
                if (rc == TP_OK) {
                        MHD_suspend_connection(conn);
                        rs->suspended = 1;
                        pthread_mutex_unlock(&rs->mu);
                        return MHD_YES;
                }
                pthread_mutex_unlock(&rs->mu);
                rs->req.retry_after = 1;
        }
        return finish_reply(rs, conn, rc, &resp);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        tp_http *h = cls;
        reqstate *rs = *con_cls;

        (void) conn;
        (void) toe;
        if (!rs)
                return;
        /* A suspended request whose job is still queued must not be freed under
         * the writer; shutdown drains the writer before stopping the daemon, so
         * this only guards against a logic error. */
        req_free(rs);
        *con_cls = NULL;
        atomic_fetch_sub(&h->inflight, 1);
}

tp_rc tp_http_start(tp_ctx *ctx, const char *host, unsigned port, tp_http **ret, unsigned *ret_port, tp_err *err) {
        struct sockaddr_in addr;
        const union MHD_DaemonInfo *info;
        tp_http *h;
        int n = 0;

        memset(&addr, 0, sizeof(addr));
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t) port);
        if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
                return tp_err_setf(err, TP_INVALID, "listen", "listen address '%s' is not an IPv4 address", host);
        while (tp_api_routes[n].method)
                n++;
        if (n > MAX_ROUTES)
                return tp_err_set(err, TP_INTERNAL, "too many routes (%d)", n);
        h = tp_calloc(1, sizeof(*h));
        if (!h)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        h->ctx = ctx;
        h->nroutes = n;
        h->d = MHD_start_daemon(
                MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                access_handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr, MHD_OPTION_THREAD_POOL_SIZE,
                (unsigned int) ctx->cfg->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned int) ctx->cfg->conn_limit,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int) ctx->cfg->per_ip_limit,
                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) ctx->cfg->conn_timeout,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 32 * 1024, MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
                MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
                MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int) 1024, MHD_OPTION_END);
        if (!h->d) {
                tp_free(h);
                return tp_err_set(err, TP_IO, "cannot listen on %s:%u (in use, or not allowed)", host, port);
        }
        info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
        *ret_port = info ? info->port : port;
        *ret = h;
        return TP_OK;
}

void tp_http_stop(tp_http *h) {
        if (!h)
                return;
        MHD_stop_daemon(h->d);
        tp_free(h);
}

void tp_http_drain(tp_http *h, int max_ms) {
        for (int waited = 0; atomic_load(&h->inflight) > 0 && waited < max_ms; waited += 10)
                usleep(10000);
}

void tp_http_quiesce(tp_http *h, int max_ms) {
        MHD_socket fd = MHD_quiesce_daemon(h->d);

        if (fd != MHD_INVALID_SOCKET)
                close(fd);
        tp_http_drain(h, max_ms);
}

tp_rc tp_http_metrics(tp_http *h, tp_buf *buf) {
        tp_rc rc = tp_buf_puts(buf, "# HELP touchpoint_http_requests_total HTTP requests by route and status.\n"
                                    "# TYPE touchpoint_http_requests_total counter\n");

        for (int i = 0; rc == TP_OK && i <= h->nroutes + 1; i++) {
                int ri = i == h->nroutes ? SLOT_UNMATCHED : i == h->nroutes + 1 ? SLOT_STATIC : i;
                for (size_t s = 0; rc == TP_OK && s < NSTATUS; s++) {
                        unsigned long v = atomic_load(&h->counts[ri][s]);
                        char status[16];
                        if (!v)
                                continue;
                        if (counted_status[s])
                                (void) snprintf(status, sizeof(status), "%u", counted_status[s]);
                        else
                                (void) snprintf(status, sizeof(status), "other");
                        rc = tp_buf_printf(buf, "touchpoint_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %lu\n",
                                           ri >= MAX_ROUTES ? "" : tp_api_routes[ri].method,
                                           ri == SLOT_UNMATCHED ? "unmatched"
                                           : ri == SLOT_STATIC  ? "static"
                                                                : tp_api_routes[ri].pattern,
                                           status, v);
                }
        }
        if (rc == TP_OK)
                rc = tp_buf_printf(buf,
                                   "# HELP touchpoint_http_guard_rejections_total Requests refused by the request guard.\n"
                                   "# TYPE touchpoint_http_guard_rejections_total counter\n"
                                   "touchpoint_http_guard_rejections_total %lu\n"
                                   "# HELP touchpoint_http_requests_in_flight Requests being processed.\n"
                                   "# TYPE touchpoint_http_requests_in_flight gauge\n"
                                   "touchpoint_http_requests_in_flight %d\n",
                                   atomic_load(&h->guard_rejects), atomic_load(&h->inflight));
        return rc;
}

tp_http *tp_http_of(tp_req *req) {
        return ((reqstate *) req)->h;
}
