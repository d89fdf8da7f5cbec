/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "service/batch.h"

static tp_rc reject(tp_batch *b, size_t index, const tp_err *e) {
        json_t *r = json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t) index, "field", e->field, "code",
                              tp_err_code(e), "message", e->msg);

        if (!r || json_array_append_new(b->rejected, r) != 0)
                return TP_NOMEM;
        return TP_OK;
}

static tp_rc add_doc(tp_batch *b, json_t *doc, size_t *cap) {
        if (b->ndocs == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                json_t **d = tp_realloc(b->docs, ncap * sizeof(*d));
                if (!d)
                        return TP_NOMEM;
                b->docs = d;
                *cap = ncap;
        }
        b->docs[b->ndocs++] = doc;
        return TP_OK;
}

static tp_rc alloc_items(tp_batch *b, size_t n) {
        size_t m = n ? n : 1;

        if (b->kind == TP_KIND_EVENTS) {
                b->ev = tp_calloc(m, sizeof(*b->ev));
                b->props = tp_calloc(m, sizeof(*b->props));
        } else {
                b->rs = tp_calloc(m, sizeof(*b->rs));
        }
        b->dup = tp_calloc(m, 1);
        b->ids = tp_calloc(m, sizeof(*b->ids));
        if ((b->kind == TP_KIND_EVENTS ? !b->ev || !b->props : !b->rs) || !b->dup || !b->ids)
                return TP_NOMEM;
        return TP_OK;
}

/* Validate one item; a bad one is recorded, only OOM stops the batch. */
static tp_rc take_item(tp_batch *b, json_t *item, size_t index, const tp_vctx *v) {
        tp_err e = { 0 };
        size_t k = b->n_ok;
        tp_rc rc;

        if (b->kind == TP_KIND_EVENTS)
                rc = tp_validate_event(item, v, &b->ev[k], &b->props[k], b->ids[k], &e);
        else
                rc = tp_validate_response(item, v, &b->rs[k], b->ids[k], &e);
        if (rc == TP_NOMEM)
                return rc;
        if (rc != TP_OK)
                return reject(b, index, &e);
        b->n_ok++;
        return TP_OK;
}

static size_t count_lines(const char *p, size_t len) {
        size_t n = 0, i = 0;

        while (i < len) {
                const char *nl = memchr(p + i, '\n', len - i);
                size_t end = nl ? (size_t) (nl - p) : len;
                for (size_t j = i; j < end; j++) {
                        if (p[j] != ' ' && p[j] != '\t' && p[j] != '\r') {
                                n++;
                                break;
                        }
                }
                i = end + 1;
        }
        return n;
}

static tp_rc parse_ndjson(tp_batch *b, const char *body, size_t len, const tp_vctx *v, tp_err *err) {
        size_t i = 0, line = 0, index = 0, cap = 0, n = count_lines(body, len);
        tp_rc rc;

        if (n > v->lim->max_items)
                return tp_err_setc(err, TP_TOOBIG, "too_many_items", "body",
                                   "batch of %zu items exceeds the limit of %zu", n, v->lim->max_items);
        if (n == 0)
                return tp_err_setc(err, TP_BADJSON, NULL, "body", "empty body: expected NDJSON lines");
        if (alloc_items(b, n) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        while (i < len) {
                const char *nl = memchr(body + i, '\n', len - i);
                size_t end = nl ? (size_t) (nl - body) : len, s = i, e = end;
                json_t *doc = NULL;
                tp_err je = { 0 };

                line++;
                i = end + 1;
                while (s < e && (body[s] == ' ' || body[s] == '\t' || body[s] == '\r'))
                        s++;
                while (e > s && (body[e - 1] == ' ' || body[e - 1] == '\t' || body[e - 1] == '\r'))
                        e--;
                if (s == e)
                        continue;
                rc = tp_json_parse(body + s, e - s, v->lim->max_depth, &doc, &je);
                if (rc == TP_NOMEM)
                        return tp_err_set(err, rc, "out of memory");
                if (rc != TP_OK) {
                        /* Name the NDJSON line, not the line inside it (always 1):
                         * "line 1 column 3: ..." becomes "line 7 column 3: ...". */
                        tp_err le = je;
                        int at_pos = strncmp(je.msg, "line 1 ", 7) == 0;
                        char tmp[sizeof(le.msg)];
                        /* Messages without a position (the nesting limit) get a colon. */
                        (void) snprintf(tmp, sizeof(tmp), "line %zu%s%.200s", line, at_pos ? " " : ": ",
                                        at_pos ? je.msg + 7 : je.msg);
                        memcpy(le.msg, tmp, sizeof(le.msg));
                        le.code = rc == TP_BADJSON ? "invalid_json" : "too_deep";
                        if (reject(b, index, &le) != TP_OK)
                                return tp_err_set(err, TP_NOMEM, "out of memory");
                        index++;
                        continue;
                }
                if (add_doc(b, doc, &cap) != TP_OK) {
                        json_decref(doc);
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                }
                if (take_item(b, doc, index, v) != TP_OK)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                index++;
        }
        b->n_items = index;
        return TP_OK;
}

tp_rc tp_batch_parse(tp_batch *b, tp_kind kind, const char *body, size_t len, int ndjson, const tp_vctx *v,
                     tp_err *err) {
        json_t *doc = NULL;
        size_t cap = 0, n;
        tp_rc rc;

        memset(b, 0, sizeof(*b));
        b->kind = kind;
        b->rejected = json_array();
        if (!b->rejected)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        if (ndjson) {
                rc = parse_ndjson(b, body, len, v, err);
                goto out;
        }
        rc = tp_json_parse(body, len, v->lim->max_depth, &doc, err);
        if (rc != TP_OK) {
                if (rc == TP_INVALID && err)
                        err->code = "too_deep";
                goto out;
        }
        if (add_doc(b, doc, &cap) != TP_OK) {
                json_decref(doc);
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        n = json_is_array(doc) ? json_array_size(doc) : 1;
        if (n > v->lim->max_items) {
                rc = tp_err_setc(err, TP_TOOBIG, "too_many_items", "body", "batch of %zu items exceeds the limit of %zu",
                                 n, v->lim->max_items);
                goto out;
        }
        if (json_is_array(doc) && n == 0) {
                rc = tp_err_setc(err, TP_UNPROCESSABLE, "empty_batch", "body", "the array holds no items");
                goto out;
        }
        if (alloc_items(b, n) != TP_OK) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        b->n_items = n;
        rc = TP_OK;
        for (size_t i = 0; rc == TP_OK && i < n; i++)
                rc = take_item(b, json_is_array(doc) ? json_array_get(doc, i) : doc, i, v);
        if (rc != TP_OK)
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        if (rc != TP_OK)
                tp_batch_done(b);
        return rc;
}

void tp_batch_done(tp_batch *b) {
        if (b->props)
                for (size_t i = 0; i < b->n_ok; i++)
                        tp_free(b->props[i]);
        for (size_t i = 0; i < b->ndocs; i++)
                json_decref(b->docs[i]);
        json_decref(b->rejected);
        tp_free(b->docs);
        tp_free(b->props);
        tp_free(b->ev);
        tp_free(b->rs);
        tp_free(b->dup);
        tp_free(b->ids);
        memset(b, 0, sizeof(*b));
}

json_t *tp_batch_result(const tp_batch *b, size_t *ret_accepted, size_t *ret_dups) {
        size_t dups = 0, acc;
        json_t *o;

        for (size_t i = 0; i < b->n_ok; i++)
                dups += b->dup[i];
        acc = b->n_ok - dups;
        o = json_pack("{s:I, s:I, s:O}", "accepted", (json_int_t) acc, "duplicates", (json_int_t) dups, "rejected",
                      b->rejected);
        if (o && b->n_ok == 0 && json_array_size(b->rejected) > 0) {
                json_t *first = json_array_get(b->rejected, 0);
                json_t *e = json_pack("{s:O, s:O, s:O}", "code", json_object_get(first, "code"), "message",
                                      json_object_get(first, "message"), "field", json_object_get(first, "field"));
                if (!e || json_object_set_new(o, "error", e) != 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        if (ret_accepted)
                *ret_accepted = acc;
        if (ret_dups)
                *ret_dups = dups;
        return o;
}
