/* SPDX-License-Identifier: MIT */
/*
 * alloc.h -- every allocation of Touchpoint goes through these wrappers, so tests
 * can fail the Nth allocation (SQLite's OOM loop) and count allocations.
 */
#ifndef TP_ALLOC_H
#define TP_ALLOC_H

#include <stddef.h>

void *tp_malloc(size_t n);
void *tp_calloc(size_t count, size_t size);
void *tp_realloc(void *p, size_t n);
void tp_free(void *p);
/* Copy of s (NUL-terminated) or of its first n bytes; free with tp_free(). */
char *tp_strdup(const char *s);
char *tp_strndup(const char *s, size_t n);

/* Test hook: make the nth allocation from now fail (1 = the next one), 0 turns
 * failure injection off.  Not thread-safe on purpose: tests set it from one thread. */
void tp_alloc_fail_after(long n);
/* Number of allocations made since the process started (for tests). */
unsigned long tp_alloc_count(void);

#endif
