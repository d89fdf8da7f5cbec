/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* The configuration is the only global the style allows; these two are test hooks,
 * atomic so a server thread can allocate while a test reads the counter. */
static atomic_long fail_countdown;
static atomic_ulong alloc_count;

static int should_fail(void) {
        long n;

        atomic_fetch_add(&alloc_count, 1);
        n = atomic_load(&fail_countdown);
        if (n <= 0)
                return 0;
        n = atomic_fetch_sub(&fail_countdown, 1);
        return n == 1;
}

void *tp_malloc(size_t n) {
        return should_fail() ? NULL : malloc(n ? n : 1);
}

void *tp_calloc(size_t count, size_t size) {
        return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *tp_realloc(void *p, size_t n) {
        return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void tp_free(void *p) {
        free(p);
}

char *tp_strndup(const char *s, size_t n) {
        char *d = tp_malloc(n + 1);

        if (!d)
                return NULL;
        memcpy(d, s, n);
        d[n] = '\0';
        return d;
}

char *tp_strdup(const char *s) {
        return tp_strndup(s, strlen(s));
}

void tp_alloc_fail_after(long n) {
        atomic_store(&fail_countdown, n);
}

unsigned long tp_alloc_count(void) {
        return atomic_load(&alloc_count);
}
