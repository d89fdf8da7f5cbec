/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

void tp_buf_init(tp_buf *b, size_t max) {
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
        b->max = max;
}

void tp_buf_done(tp_buf *b) {
        tp_free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

void tp_buf_reset(tp_buf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

static tp_rc grow(tp_buf *b, size_t need) {
        size_t cap;
        char *p;

        if (need > b->max)
                return TP_TOOBIG;
        if (need + 1 <= b->cap)
                return TP_OK;
        cap = b->cap ? b->cap : 64;
        while (cap < need + 1)
                cap *= 2;
        if (cap > b->max + 1)
                cap = b->max + 1;
        p = tp_realloc(b->data, cap);
        if (!p)
                return TP_NOMEM;
        b->data = p;
        b->cap = cap;
        return TP_OK;
}

tp_rc tp_buf_append(tp_buf *b, const void *p, size_t n) {
        tp_rc rc;

        if (n > b->max || b->len > b->max - n)
                return TP_TOOBIG;
        rc = grow(b, b->len + n);
        if (rc != TP_OK)
                return rc;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return TP_OK;
}

tp_rc tp_buf_puts(tp_buf *b, const char *s) {
        return tp_buf_append(b, s, strlen(s));
}

tp_rc tp_buf_printf(tp_buf *b, const char *fmt, ...) {
        va_list ap;
        char small[256];
        int n;
        tp_rc rc;

        va_start(ap, fmt);
        n = vsnprintf(small, sizeof(small), fmt, ap);
        va_end(ap);
        if (n < 0)
                return TP_INTERNAL;
        if ((size_t) n < sizeof(small))
                return tp_buf_append(b, small, (size_t) n);
        if (b->len > b->max || (size_t) n > b->max - b->len)
                return TP_TOOBIG;
        rc = grow(b, b->len + (size_t) n);
        if (rc != TP_OK)
                return rc;
        va_start(ap, fmt);
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return TP_OK;
}

char *tp_buf_take(tp_buf *b, size_t *ret_len) {
        char *p = b->data;
        size_t len = b->len;

        if (!p) {
                p = tp_strdup("");
                if (!p)
                        return NULL;
                len = 0;
        }
        b->data = NULL;
        b->len = b->cap = 0;
        if (ret_len)
                *ret_len = len;
        return p;
}
