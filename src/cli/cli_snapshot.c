/* SPDX-License-Identifier: MIT */
/*
 * cli_snapshot.c -- `touchpoint snapshot`: write the analytics engine's
 * snapshot file offline (after a bulk import, say), so the next `serve`
 * starts from it.  Starts from the existing snapshot when it is valid, so
 * only the rows after it are read from the store.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/timeutil.h"
#include "engine/engine.h"
#include "service/snapshot.h"
#include "store/store.h"

int tp_cli_snapshot(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *out = NULL, *val;
        char path[4096], line[1024];
        int64_t t0 = tp_time_mono_us();
        tp_engine_snap_id id;
        tp_engine *e = NULL;
        tp_store *s = NULL;
        tp_engine_mem mem;
        tp_err err = { 0 };
        int code = 1, warm = 0;
        tp_rc rc;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0) {
                        puts("usage: touchpoint snapshot --db URL [--out FILE]\n"
                             "Load the analytics engine from the store and write its snapshot file, which\n"
                             "`touchpoint serve` reads at start (default FILE.snapshot for sqlite:FILE; the\n"
                             "same file serve uses).  A valid existing snapshot is the starting point, so only\n"
                             "the rows after it are read.  A server writes its own at shutdown: run this when\n"
                             "none is running on the store, or give another --out.");
                        return 0;
                }
                if ((val = tp_cli_opt(argc, argv, &i, "--db"))) {
                        url = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--out")) && *val) {
                        out = val;
                } else {
                        fprintf(stderr,
                                "touchpoint snapshot: bad or unknown option '%s' (see --help)\n",
                                argv[i]);
                        return 2;
                }
        }
        if (!out) {
                if (tp_snapshot_default_path(url, path, sizeof(path)) != 0) {
                        fprintf(stderr,
                                "touchpoint snapshot: %s has no default snapshot file: give --out FILE\n",
                                url);
                        return 2;
                }
                out = path;
        }
        /* Writable: the store id is made the first time. */
        if (tp_cli_open_store(url, 0, &s) != 0)
                return 1;
        if (tp_snapshot_id(s, 1, &id, &err) != TP_OK || tp_engine_new(NULL, &e, &err) != TP_OK) {
                fprintf(stderr, "touchpoint snapshot: %s\n", err.msg);
                goto done;
        }
        rc = tp_engine_snapshot_load(e, out, &id, &err);
        if (rc == TP_OK)
                warm = 1;
        else if (rc != TP_NOTFOUND)
                fprintf(stderr, "touchpoint snapshot: not starting from the old snapshot: %s\n", err.msg);
        if (tp_engine_load(e, s, &err) != TP_OK || tp_engine_snapshot_save(e, out, &id, &err) != TP_OK) {
                fprintf(stderr, "touchpoint snapshot: %s\n", err.msg);
                goto done;
        }
        tp_engine_memory(e, &mem);
        tp_snapshot_describe(s, out, line, sizeof(line));
        printf("%s\n(%s in %.2f s)\n",
               line,
               warm ? "from the previous snapshot and the rows after it" : "from the store",
               (double) (tp_time_mono_us() - t0) / 1e6);
        code = 0;
done:
        tp_engine_free(e);
        tp_store_close(s);
        return code;
}
