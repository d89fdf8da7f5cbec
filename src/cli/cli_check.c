/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/snapshot.h"
#include "store/store.h"

int tp_cli_check(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *val;
        char msg[1024], snap[4096];
        tp_store *s = NULL;
        tp_err err = { 0 };
        int ok = 0;
        int64_t ev = 0, rs = 0;

        for (int i = 0; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db"))) {
                        url = val;
                } else {
                        fprintf(stderr, "usage: touchpoint check --db URL\n");
                        return 2;
                }
        }
        /* Read-only: a check never changes, repairs or migrates the file. */
        if (tp_cli_open_store(url, TP_STORE_READONLY, &s) != 0)
                return 1;
        if (tp_store_check(s, &ok, msg, sizeof(msg), &err) != TP_OK) {
                fprintf(stderr, "touchpoint check: %s\n", err.msg);
                tp_store_close(s);
                return 1;
        }
        if (ok && tp_store_counts(s, &ev, &rs, &err) == TP_OK)
                printf("ok: schema version %d, %lld events, %lld responses\n", tp_store_schema_version(s),
                       (long long) ev, (long long) rs);
        else
                printf("damaged: %s\n", msg);
        /* The engine's snapshot file (a cache of the store, see `touchpoint
         * snapshot`): whether a server would start from it. */
        if (ok && tp_snapshot_default_path(url, snap, sizeof(snap)) == 0) {
                tp_snapshot_describe(s, snap, msg, sizeof(msg));
                printf("snapshot %s\n", msg);
        }
        tp_store_close(s);
        return ok ? 0 : 1;
}
