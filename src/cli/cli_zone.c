/* SPDX-License-Identifier: MIT */
/*
 * cli_zone.c -- `touchpoint zone --db URL [OFFSET]`: show or set the
 * organisation's time zone (service/zone.h), where report days begin.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/zone.h"
#include "store/store.h"

static int usage(void) {
        fputs("usage: touchpoint zone --db URL [UTC|+07:00|-04:30]\n"
              "  Without an offset: print the zone reports use (default +07:00, Vietnam).\n"
              "  With one: set it; a running server uses it after a restart.\n",
              stderr);
        return 2;
}

int tp_cli_zone(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *val, *set = NULL;
        char text[TP_ZONE_TEXT_MAX];
        tp_store *s = NULL;
        tp_err err = { 0 };
        int32_t off = 0;
        int code = 1;

        for (int i = 0; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db")))
                        url = val;
                else if (strcmp(argv[i], "--help") == 0 || set || strncmp(argv[i], "--", 2) == 0)
                        return usage();
                else
                        set = argv[i];
        }
        if (set && tp_zone_parse(set, &off, &err) != TP_OK) {
                fprintf(stderr, "touchpoint zone: %s\n", err.msg);
                return 2;
        }
        if (tp_cli_open_store(url, set ? 0 : TP_STORE_READONLY, &s) != 0)
                return 1;
        if (set ? tp_zone_set(s, off, &err) : tp_zone_get(s, &off, &err)) {
                fprintf(stderr, "touchpoint zone: %s\n", err.msg);
                goto out;
        }
        tp_zone_format(off, text);
        printf("%s\n", text);
        code = 0;
out:
        tp_store_close(s);
        return code;
}
