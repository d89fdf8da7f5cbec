/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "common/alloc.h"
#include "common/jsonx.h"

/* jansson reports many allocation failures inside its parser as syntax errors
 * ("line -1 column -1", or "string or '}' expected"), so its error code cannot
 * tell OOM apart; the allocator it is given records failures per thread instead. */
static _Thread_local int json_alloc_failed;

static void *json_alloc(size_t n) {
        void *p = tp_malloc(n);

        if (!p)
                json_alloc_failed = 1;
        return p;
}

void tp_json_global_init(void) {
        json_set_alloc_funcs(json_alloc, tp_free);
        json_object_seed(0);
}

typedef struct frame {
        const json_t *v;
        int depth;
} frame;

/* -1 when out of memory. */
static int depth_of(const json_t *root) {
        /* An explicit stack instead of recursion: a value can be as deep as
         * jansson's own parser limit (2048), and thread stacks are small. */
        frame *stack;
        size_t n = 0, cap = 64;
        int deepest = 0;

        if (!root)
                return 0;
        stack = tp_malloc(cap * sizeof(*stack));
        if (!stack)
                return -1;
        stack[n++] = (frame) { root, 1 };
        while (n > 0) {
                frame f = stack[--n];
                size_t need = 0, i;
                const char *key;
                json_t *child;

                if (f.depth > deepest)
                        deepest = f.depth;
                if (json_is_array(f.v))
                        need = json_array_size(f.v);
                else if (json_is_object(f.v))
                        need = json_object_size(f.v);
                if (need == 0)
                        continue;
                if (n + need > cap) {
                        frame *p;
                        while (n + need > cap)
                                cap *= 2;
                        p = tp_realloc(stack, cap * sizeof(*stack));
                        if (!p) {
                                tp_free(stack);
                                return -1;
                        }
                        stack = p;
                }
                if (json_is_array(f.v)) {
                        json_array_foreach((json_t *) f.v, i, child)
                                stack[n++] = (frame) { child, f.depth + 1 };
                } else {
                        json_object_foreach((json_t *) f.v, key, child)
                                stack[n++] = (frame) { child, f.depth + 1 };
                }
        }
        tp_free(stack);
        return deepest;
}

int tp_json_depth(const json_t *root) {
        int d = depth_of(root);

        return d < 0 ? 1 << 20 : d; /* cannot tell: report "too deep" rather than pass */
}

tp_rc tp_json_parse(const char *buf, size_t len, int max_depth, json_t **ret_json, tp_err *err) {
        json_error_t je;
        json_t *v;
        int depth;

        if (len == 0)
                return tp_err_setf(err, TP_BADJSON, "body", "empty body: expected JSON");
        /* JSON_ALLOW_NUL stays off: "\u0000" is rejected, as is a raw NUL byte. */
        json_alloc_failed = 0;
        v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!v) {
                if (json_alloc_failed || json_error_code(&je) == json_error_out_of_memory)
                        return tp_err_set(err, TP_NOMEM, "out of memory while parsing JSON");
                return tp_err_setf(
                        err, TP_BADJSON, "body", "line %d column %d: %s", je.line, je.column, je.text);
        }
        depth = max_depth > 0 ? depth_of(v) : 0;
        if (depth < 0) {
                json_decref(v);
                return tp_err_set(err, TP_NOMEM, "out of memory while parsing JSON");
        }
        if (max_depth > 0 && depth > max_depth) {
                json_decref(v);
                return tp_err_setf(
                        err, TP_INVALID, "body", "JSON nesting deeper than the limit of %d levels", max_depth);
        }
        *ret_json = v;
        return TP_OK;
}

char *tp_json_dump(const json_t *v, size_t *ret_len) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        char *out;
        size_t n;

        if (!s)
                return NULL;
        /* json_dumps allocates through tp_malloc (json_set_alloc_funcs), so the
         * text can be handed on as is. */
        n = strlen(s);
        out = s;
        if (ret_len)
                *ret_len = n;
        return out;
}

const char *tp_json_type_name(const json_t *j) {
        switch (json_typeof(j)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a decimal number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}
