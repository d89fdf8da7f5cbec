/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/timeutil.h"
#include "service/keys.h"
#include "store/store.h"

static int print_key(void *arg, const tp_key_rec *k) {
        char created[32], revoked[32];

        (void) arg;
        tp_time_format_rfc3339(k->created, created, sizeof(created));
        if (k->revoked)
                tp_time_format_rfc3339(k->revoked, revoked, sizeof(revoked));
        printf("%s\t%s\t%s\t%s\t%s\t%s\n", k->prefix, k->scope == TP_SCOPE_ADMIN ? "admin" : "ingest",
               k->name ? k->name : "", created, k->revoked ? revoked : "active", k->origins ? k->origins : "");
        return 0;
}

int tp_cli_key(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *scope = NULL, *name = NULL, *prefix = NULL, *verb, *val;
        char key[TP_KEY_TEXT_MAX], origins[TP_KEY_ORIGINS_MAX] = "";
        size_t olen = 0;
        tp_store *s = NULL;
        tp_err err = { 0 };
        int code = 0;

        if (argc < 1 || strcmp(argv[0], "--help") == 0) {
                fputs("usage: touchpoint key create --db URL --scope admin|ingest [--name NAME] [--origin URL]...\n"
                      "       touchpoint key list --db URL\n"
                      "       touchpoint key revoke --db URL PREFIX\n"
                      "create prints the new key alone on stdout, once: it cannot be shown again.\n"
                      "--origin (repeatable) lets web pages on that origin use the key from a browser\n"
                      "(the survey widget), e.g. --origin https://shop.example; other origins get no CORS.\n"
                      "list prints: prefix, scope, name, created, state, origins (tab-separated).\n",
                      argc < 1 ? stderr : stdout);
                return argc < 1 ? 2 : 0;
        }
        verb = argv[0];
        for (int i = 1; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db")))
                        url = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--scope")))
                        scope = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--name")))
                        name = val;
                else if ((val = tp_cli_opt(argc, argv, &i, "--origin"))) {
                        if (olen + strlen(val) + 2 > sizeof(origins)) {
                                fputs("touchpoint key: too many --origin values\n", stderr);
                                return 2;
                        }
                        olen += (size_t) snprintf(origins + olen, sizeof(origins) - olen, "%s%s", olen ? " " : "", val);
                }
                else if (argv[i][0] != '-' && !prefix)
                        prefix = argv[i];
                else {
                        fprintf(stderr, "touchpoint key: bad or unknown option '%s'\n", argv[i]);
                        return 2;
                }
        }
        if (strcmp(verb, "create") == 0) {
                if (!scope || (strcmp(scope, "admin") != 0 && strcmp(scope, "ingest") != 0)) {
                        fputs("touchpoint key create: --scope admin|ingest is required\n", stderr);
                        return 2;
                }
        } else if (strcmp(verb, "revoke") == 0) {
                if (!prefix) {
                        fputs("touchpoint key revoke: give the key's prefix (tpk_...) as shown by 'key list'\n", stderr);
                        return 2;
                }
        } else if (strcmp(verb, "list") != 0) {
                fprintf(stderr, "touchpoint key: unknown action '%s' (create, list, revoke)\n", verb);
                return 2;
        }
        if (tp_cli_open_store(url, 0, &s) != 0)
                return 1;
        if (strcmp(verb, "create") == 0) {
                if (tp_keys_create(s, strcmp(scope, "admin") == 0 ? TP_SCOPE_ADMIN : TP_SCOPE_INGEST, name,
                                   origins, key, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint key create: %s\n", err.msg);
                        code = 1;
                } else {
                        puts(key);
                }
        } else if (strcmp(verb, "list") == 0) {
                if (tp_store_key_list(s, print_key, NULL, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint key list: %s\n", err.msg);
                        code = 1;
                }
        } else {
                /* Accept a whole key too: only its prefix is stored. */
                char p[17];
                (void) snprintf(p, sizeof(p), "%s", prefix);
                if (tp_store_key_revoke(s, p, tp_time_now(), &err) != TP_OK) {
                        fprintf(stderr, "touchpoint key revoke: %s\n", err.msg);
                        code = 1;
                } else {
                        fprintf(stderr, "revoked %s\n", p);
                }
        }
        tp_store_close(s);
        return code;
}
