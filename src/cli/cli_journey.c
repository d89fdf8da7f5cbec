/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonx.h"
#include "service/journey.h"
#include "store/store.h"

static int print_journey(void *arg, const char *key, const char *doc, int64_t updated) {
        (void) arg;
        (void) doc;
        printf("%s\t%lld\n", key, (long long) updated);
        return 0;
}

int tp_cli_journey(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *file = NULL, *val, *verb;
        tp_store *s = NULL;
        tp_err err = { 0 };
        json_error_t je;
        json_t *doc;
        int n = 0, code = 0;

        if (argc < 1 || strcmp(argv[0], "--help") == 0) {
                fprintf(argc < 1 ? stderr : stdout,
                        "usage: touchpoint journey apply --db URL FILE.json\n"
                        "       touchpoint journey template NAME      (built in: %s)\n"
                        "       touchpoint journey list --db URL\n",
                        tp_journey_template_names());
                return argc < 1 ? 2 : 0;
        }
        verb = argv[0];
        for (int i = 1; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db")))
                        url = val;
                else if (argv[i][0] != '-' && !file)
                        file = argv[i];
                else {
                        fprintf(stderr, "touchpoint journey: bad or unknown option '%s'\n", argv[i]);
                        return 2;
                }
        }
        if (strcmp(verb, "template") == 0) {
                const char *t = file ? tp_journey_template(file) : NULL;
                if (!t) {
                        fprintf(stderr, "touchpoint journey template: unknown template '%s' (built in: %s)\n",
                                file ? file : "", tp_journey_template_names());
                        return 2;
                }
                fputs(t, stdout);
                return 0;
        }
        if (strcmp(verb, "list") == 0) {
                if (tp_cli_open_store(url, 0, &s) != 0)
                        return 1;
                if (tp_store_journey_list(s, print_journey, NULL, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint journey list: %s\n", err.msg);
                        code = 1;
                }
                tp_store_close(s);
                return code;
        }
        if (strcmp(verb, "apply") != 0 || !file) {
                fputs("touchpoint journey: use apply --db URL FILE.json, template NAME or list\n", stderr);
                return 2;
        }
        doc = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
                                     : json_load_file(file, JSON_REJECT_DUPLICATES, &je);
        if (!doc) {
                fprintf(stderr, "touchpoint journey apply: %s: line %d column %d: %s\n", file, je.line, je.column,
                        je.text);
                return 1;
        }
        if (tp_cli_open_store(url, 0, &s) != 0) {
                json_decref(doc);
                return 1;
        }
        if (tp_journey_apply(s, doc, NULL, &n, &err) != TP_OK) {
                fprintf(stderr, "touchpoint journey apply: %s: %s\n", file, err.msg);
                code = 1;
        } else {
                fprintf(stderr, "journey '%s' applied: %d touchpoints\n",
                        json_string_value(json_object_get(doc, "key")), n);
        }
        json_decref(doc);
        tp_store_close(s);
        return code;
}
