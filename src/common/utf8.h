/* SPDX-License-Identifier: MIT */
#ifndef TP_UTF8_H
#define TP_UTF8_H

#include <stddef.h>

/* 1 when the n bytes are well-formed UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF) and hold no NUL byte. */
int tp_utf8_valid(const char *s, size_t n);

#endif
