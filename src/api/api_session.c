/* SPDX-License-Identifier: MIT */
/*
 * api_session.c -- dashboard sign-in: an admin key in, an HttpOnly session
 * cookie and a CSRF token out (service/session.h says why both).
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "common/jsonx.h"
#include "common/timeutil.h"

static tp_rc session_reply(tp_resp *resp, unsigned status, const tp_session *sess) {
        char expires[40];

        tp_time_format_rfc3339(sess->expires, expires, sizeof(expires));
        return tp_http_reply_json(resp, status,
                                  json_pack("{s:s, s:s, s:s}", "csrf_token", sess->csrf, "expires", expires, "scope",
                                            sess->scope == TP_SCOPE_ADMIN ? "admin" : "ingest"));
}

/* Secure when the server is reached over TLS (a --public-url of https). */
static tp_rc set_cookie(tp_req *req, tp_resp *resp, const char *token, long max_age) {
        const char *pub = req->ctx->cfg->public_url;
        char v[160];

        (void) snprintf(v, sizeof(v), "tp_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", token,
                        max_age, pub && strncmp(pub, "https:", 6) == 0 ? "; Secure" : "");
        return tp_resp_header(resp, "Set-Cookie", v);
}

tp_rc api_session_post(tp_req *req, tp_resp *resp) {
        json_t *doc = NULL, *key;
        tp_key_info info;
        tp_session sess;
        tp_rc rc;

        /* A page elsewhere must not sign a browser in under its own key (login CSRF). */
        if (!tp_req_same_origin(req))
                return tp_err_setc(&req->err, TP_FORBIDDEN, "cross_origin", "Origin",
                                   "sign in from this server's own pages");
        rc = tp_json_parse(req->body.data, req->body.len, req->ctx->cfg->lim.max_depth, &doc, &req->err);
        if (rc != TP_OK)
                return rc;
        key = json_object_get(doc, "key");
        if (!json_is_object(doc) || !json_is_string(key)) {
                json_decref(doc);
                return tp_err_setf(&req->err, TP_INVALID, "key", "give the admin key as {\"key\": \"tpk_...\"}");
        }
        rc = tp_keys_verify_info(req->ctx->keys, json_string_value(key), &info, &req->err);
        json_decref(doc);
        if (rc != TP_OK)
                return rc;
        if (info.scope != TP_SCOPE_ADMIN)
                return tp_err_setc(&req->err, TP_FORBIDDEN, NULL, "key", "the dashboard needs an admin key");
        rc = tp_session_open(req->ctx->sessions, &info, &sess, &req->err);
        if (rc == TP_OK)
                rc = set_cookie(req, resp, sess.token, req->ctx->cfg->session_ttl);
        if (rc == TP_OK)
                rc = session_reply(resp, 200, &sess);
        return rc;
}

tp_rc api_session_get(tp_req *req, tp_resp *resp) {
        tp_session sess;
        tp_rc rc;

        if (req->auth_kind != TP_AUTH_SESSION)
                return tp_err_set(&req->err, TP_UNAUTH, "not signed in (a key is not a session)");
        rc = tp_session_find(req->ctx->sessions, req->session, &sess, &req->err);
        return rc == TP_OK ? session_reply(resp, 200, &sess) : rc;
}

tp_rc api_session_delete(tp_req *req, tp_resp *resp) {
        tp_rc rc;

        if (req->auth_kind == TP_AUTH_SESSION)
                tp_session_close(req->ctx->sessions, req->session);
        rc = set_cookie(req, resp, "", 0);
        resp->status = 204;
        resp->content_type = "text/plain; charset=utf-8";
        return rc;
}
