/* SPDX-License-Identifier: MIT */
/*
 * cli_link.c -- `touchpoint link create`: a sealed, expiring, single-use survey
 * link for one customer and touchpoint (service/links.h), printed for an email
 * or SMS, with its QR code as a PNG file on request.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/timeutil.h"
#include "service/catalog.h"
#include "service/config.h"
#include "service/links.h"
#include "store/store.h"

static int usage(FILE *f, int code) {
        fputs("usage: touchpoint link create --db URL --touchpoint KEY --customer ID [--metric nps|csat|ces]\n"
              "         [--lang vi|en] [--channel email|sms|...] [--hours N] [--base-url URL] [--qr FILE.png]\n"
              "Prints the link (BASE/s/TOKEN) on stdout.  It works once, until it expires (default 72 hours),\n"
              "on the server of that store; --base-url is where customers reach it (default\n"
              "http://127.0.0.1:8080).  --qr writes a QR code of the link as a PNG image.\n",
              f);
        return code;
}

int tp_cli_link(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *tp = NULL, *cust = NULL, *metric = NULL, *lang = NULL,
                   *channel = NULL, *base = "http://127.0.0.1:8080", *qr = NULL, *val;
        char token[TP_LINK_TOKEN_MAX], exp[40], *link = NULL;
        unsigned char key[32], *png = NULL;
        size_t png_len = 0, n;
        long hours = 72;
        tp_catalog *cat = NULL;
        tp_store *s = NULL;
        tp_config cfg;
        tp_err err = { 0 };
        tp_link l;
        int code = 1;

        if (argc < 1 || strcmp(argv[0], "--help") == 0)
                return usage(argc < 1 ? stderr : stdout, argc < 1 ? 2 : 0);
        if (strcmp(argv[0], "create") != 0) {
                fprintf(stderr, "touchpoint link: unknown action '%s' (create)\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db")))
                        url = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--touchpoint")))
                        tp = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--customer")))
                        cust = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--metric")))
                        metric = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--lang")))
                        lang = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--channel")))
                        channel = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--base-url")))
                        base = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--qr")))
                        qr = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--hours"))) {
                        char *e = NULL;
                        hours = strtol(val, &e, 10);
                        if (!*val || !e || *e) {
                                fprintf(stderr, "touchpoint link: --hours takes a whole number, not '%s'\n", val);
                                return 2;
                        }
                } else {
                        fprintf(stderr, "touchpoint link: bad or unknown option '%s' (see --help)\n", argv[i]);
                        return 2;
                }
        }
        if (!tp || !cust) {
                fputs("touchpoint link create: --touchpoint and --customer are required\n", stderr);
                return 2;
        }
        if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
                fprintf(stderr, "touchpoint link create: --base-url must start with http:// or https://\n");
                return 2;
        }
        if (tp_cli_open_store(url, 0, &s) != 0)
                return 1;
        tp_config_init(&cfg);
        if (tp_catalog_new(&cat, &err) != TP_OK || tp_catalog_load(cat, s, &err) != TP_OK ||
            tp_link_fill(cat, tp, cust, metric, lang, channel, hours, tp_time_now(), cfg.lim.max_id, &l, &err) != TP_OK ||
            tp_link_secret(s, 1, key, &err) != TP_OK || tp_link_make(key, &l, token, sizeof(token), &err) != TP_OK) {
                if (err.field[0])
                        fprintf(stderr, "touchpoint link create: %s (%s)\n", err.msg, err.field);
                else
                        fprintf(stderr, "touchpoint link create: %s\n", err.msg);
                goto out;
        }
        n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
                n--;
        link = tp_malloc(n + strlen(token) + 8);
        if (!link)
                goto out;
        (void) sprintf(link, "%.*s/s/%s", (int) n, base, token);
        if (qr) {
                FILE *f;
                if (tp_link_qr_png(link, &png, &png_len, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint link create: %s\n", err.msg);
                        goto out;
                }
                f = fopen(qr, "wb");
                if (!f || fwrite(png, 1, png_len, f) != png_len || fclose(f) != 0) {
                        fprintf(stderr, "touchpoint link create: cannot write %s\n", qr);
                        goto out;
                }
        }
        puts(link);
        tp_time_format_rfc3339(l.expires, exp, sizeof(exp));
        fprintf(stderr, "link %s for customer %s at %s (%s), single use, expires %s\n", l.id, l.customer,
                l.touchpoint, tp_metric_name(l.metric), exp);
        code = 0;
out:
        sodium_memzero(key, sizeof(key));
        tp_free(link);
        tp_free(png);
        tp_catalog_free(cat);
        tp_store_close(s);
        return code;
}
