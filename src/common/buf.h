/* SPDX-License-Identifier: MIT */
/*
 * buf.h -- a bounded, growable byte buffer (curl's dynbuf).  The maximum size is
 * fixed at init; growing past it fails with TP_TOOBIG, which is how request body,
 * string and batch limits are enforced.  The contents are always NUL-terminated.
 */
#ifndef TP_BUF_H
#define TP_BUF_H

#include <stddef.h>

#include "common/err.h"

typedef struct tp_buf {
        char *data;   /* owned; NULL until the first append */
        size_t len;   /* bytes used, excluding the terminating NUL */
        size_t cap;   /* bytes allocated */
        size_t max;   /* the most len may ever be */
} tp_buf;

void tp_buf_init(tp_buf *b, size_t max);
/* Release the contents; b may be reused after tp_buf_init(). */
void tp_buf_done(tp_buf *b);
void tp_buf_reset(tp_buf *b);

__attribute__((warn_unused_result)) tp_rc tp_buf_append(tp_buf *b, const void *p, size_t n);
__attribute__((warn_unused_result)) tp_rc tp_buf_puts(tp_buf *b, const char *s);
__attribute__((warn_unused_result)) tp_rc tp_buf_printf(tp_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Hand the bytes to the caller (free with tp_free()) and reset the buffer; an
 * empty buffer yields an allocated empty string, or NULL when out of memory. */
char *tp_buf_take(tp_buf *b, size_t *ret_len);

#endif
