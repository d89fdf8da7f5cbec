/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

const char *tp_cli_opt(int argc, char **argv, int *i, const char *name) {
        size_t n = strlen(name);
        const char *a = argv[*i];

        if (strncmp(a, name, n) != 0)
                return NULL;
        if (a[n] == '=')
                return a + n + 1;
        if (a[n] != '\0')
                return NULL;
        if (*i + 1 >= argc) {
                fprintf(stderr, "touchpoint: %s needs a value\n", name);
                return NULL;
        }
        (*i)++;
        return argv[*i];
}

int tp_cli_open_store(const char *url, int flags, tp_store **ret) {
        tp_err err = { 0 };
        tp_store *s = NULL;

        if (tp_store_open(url, flags, &s, &err) != TP_OK) {
                fprintf(stderr, "touchpoint: cannot open %s: %s\n", url, err.msg);
                return 1;
        }
        if (!(flags & TP_STORE_READONLY) && tp_store_migrate(s, NULL, &err) != TP_OK) {
                fprintf(stderr, "touchpoint: cannot prepare %s: %s\n", url, err.msg);
                tp_store_close(s);
                return 1;
        }
        *ret = s;
        return 0;
}
