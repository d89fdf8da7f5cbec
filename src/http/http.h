/* SPDX-License-Identifier: MIT */
/*
 * http.h -- the HTTP layer's interface to the API handlers: a request, a reply,
 * a handler signature and the route table.  Handlers parse, call a service and
 * fill the reply; they never call libmicrohttpd themselves.
 */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "service/ctx.h"
#include "service/ingest.h"
#include "service/keys.h"
#include "service/session.h"

typedef struct tp_req tp_req;
typedef struct tp_resp tp_resp;

/* Fill *resp and return TP_OK, or return an error (req->err filled) and let the
 * dispatcher write {"error": {...}} with the mapped status.  An ingest handler
 * may instead queue req->job and return TP_OK with req->async set: the reply is
 * built by the route's `finish` once the job committed. */
typedef tp_rc (*tp_handler_fn)(tp_req *req, tp_resp *resp);

typedef enum tp_body_kind {
        TP_BODY_NONE,  /* no body expected */
        TP_BODY_JSON,  /* application/json */
        TP_BODY_BATCH, /* application/json or application/x-ndjson */
} tp_body_kind;

typedef struct tp_route {
        const char *method;
        const char *pattern;  /* "/v1/customers/:id/timeline"; each :name captures one segment */
        int scope;            /* 0: public, else the tp_scope a key must have (admin has all) */
        tp_body_kind body;
        tp_handler_fn handler;
        tp_handler_fn finish; /* for async handlers */
} tp_route;

#define TP_MAX_PARAMS 4
#define TP_RESP_HEADERS 4

/* How the request was authenticated (tp_req.auth_kind). */
enum { TP_AUTH_NONE, TP_AUTH_KEY, TP_AUTH_SESSION };

struct tp_req {
        const char *method;
        const char *path;                   /* borrowed from libmicrohttpd */
        const char *params[TP_MAX_PARAMS];  /* captures, owned (freed with the request) */
        int nparams;
        int ndjson;                         /* body is NDJSON */
        tp_buf body;                        /* owned, bounded by config */
        tp_ctx *ctx;                        /* borrowed */
        tp_err err;                         /* detail for the error body */
        void *conn;                         /* the libmicrohttpd connection (opaque here) */
        /* Query arguments and headers, looked up through tp_req_query() and
         * tp_req_header(). */
        const char *(*query_fn)(tp_req *req, const char *name);
        const char *(*header_fn)(tp_req *req, const char *name);
        /* Who is asking: the key (by Bearer or through a session cookie). */
        int auth_kind;
        tp_key_info auth;
        char session[TP_SESSION_TOKEN_LEN + 1]; /* the cookie's token, TP_AUTH_SESSION only */
        /* Async ingest. */
        int async;
        tp_batch batch;
        tp_ingest_job job;
        int retry_after;                    /* seconds, for 503/429 replies */
};

struct tp_resp {
        unsigned status;
        char *body;     /* owned JSON text, handed to libmicrohttpd */
        size_t body_len;
        const char *content_type; /* static; default application/json */
        /* Extra headers (Set-Cookie, ...): names static, values owned. */
        int nheaders;
        const char *hname[TP_RESP_HEADERS];
        char *hvalue[TP_RESP_HEADERS];
};

/* Serialise `json` (taken: the reference is consumed) as the reply body. */
tp_rc tp_http_reply_json(tp_resp *resp, unsigned status, json_t *json);
/* A static or owned text reply; text is copied. */
tp_rc tp_http_reply_text(tp_resp *resp, unsigned status, const char *content_type, const char *text, size_t len);

/* Add a header to the reply; name must be static, value is copied. */
tp_rc tp_resp_header(tp_resp *resp, const char *name, const char *value);
/* Free what a reply owns (body and header values), for replies not sent. */
void tp_resp_done(tp_resp *resp);

static inline const char *tp_req_query(tp_req *req, const char *name) {
        return req->query_fn(req, name);
}
static inline const char *tp_req_header(tp_req *req, const char *name) {
        return req->header_fn(req, name);
}
/* 1 unless the request carries an Origin header naming another site. */
int tp_req_same_origin(tp_req *req);
/* The value of cookie `name`, or NULL. */
const char *tp_req_cookie(tp_req *req, const char *name);

/* ---- the dashboard's static files (http_static.c) ------------------------- */

/* The file (relative to the web root) that answers path: "/" is index.html,
 * "/kiosk/X" kiosk.html, "/s/X" survey.html, "/widget.js", "/assets/..." with
 * safe segments only.  TP_NOTFOUND for anything else. */
tp_rc tp_http_static_path(const char *path, char *rel, size_t relsz);
/* Content-Type by file extension. */
const char *tp_http_static_type(const char *rel);

/* The API's route table (src/api/api.c), ended by a zeroed entry. */
extern const tp_route tp_api_routes[];

/* ---- the server ------------------------------------------------------------ */

typedef struct tp_http tp_http;

/* Start listening on host:port (port 0 picks a free one); *ret_port is the port
 * bound.  ctx is borrowed for the server's life. */
tp_rc tp_http_start(tp_ctx *ctx, const char *host, unsigned port, tp_http **ret, unsigned *ret_port, tp_err *err);
/* Stop accepting new connections and wait up to max_ms for requests in flight
 * (the ingest writer must still run, so suspended requests get their answer). */
void tp_http_quiesce(tp_http *h, int max_ms);
/* Wait up to max_ms more for requests in flight (after tp_http_quiesce). */
void tp_http_drain(tp_http *h, int max_ms);
/* Stop and free.  Accepts NULL. */
void tp_http_stop(tp_http *h);

/* Prometheus text for the HTTP counters; appended to buf. */
tp_rc tp_http_metrics(tp_http *h, tp_buf *buf);

/* The server a handler runs in (for /metrics). */
tp_http *tp_http_of(tp_req *req);

#endif
