/* SPDX-License-Identifier: MIT */
/*
 * jsonx.h -- JSON parsing with Touchpoint's safety rules on top of jansson:
 * duplicate keys rejected, exact-length input (never json_loads on a buffer that
 * may lack its NUL), a nesting limit checked iteratively after parsing, and errors
 * that carry jansson's line and column.
 */
#ifndef TP_JSONX_H
#define TP_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

/* Parse exactly len bytes.  On success *ret_json is a new reference owned by the
 * caller (json_decref).  Errors: TP_BADJSON with "line L column C: ..." (also for
 * invalid UTF-8, NUL bytes and duplicate keys), TP_INVALID with field "body" and a
 * message naming the limit when nesting is deeper than max_depth. */
tp_rc tp_json_parse(const char *buf, size_t len, int max_depth, json_t **ret_json, tp_err *err);

/* Depth of a parsed value: 1 for a scalar, 1 + the deepest child otherwise.
 * Iterative, so it cannot overflow the stack whatever jansson accepted. */
int tp_json_depth(const json_t *v);

/* "an object", "a string", ... for error messages about a value's type. */
const char *tp_json_type_name(const json_t *v);

/* Serialise compactly; the caller frees the text with tp_free(); NULL on OOM. */
char *tp_json_dump(const json_t *v, size_t *ret_len);

/* Seed jansson's hash function once, before any thread starts (CVE-2013-6401) and
 * route its allocations through tp_malloc. */
void tp_json_global_init(void);

#endif
