/* SPDX-License-Identifier: MIT */
/*
 * cli_report.c -- `touchpoint report scores|transitions|attribution`: the API's
 * analytics questions from the command line (same parameters, same rules, see
 * service/report.h), printed as a table, CSV or JSON.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "engine/engine.h"
#include "service/catalog.h"
#include "service/report.h"
#include "service/zone.h"
#include "store/store.h"
#include "text/text.h"

#define MAX_OPTS 32

typedef struct opts {
        const char *name[MAX_OPTS], *value[MAX_OPTS];
        int n;
} opts;

static const char *opt_get(void *arg, const char *name) {
        const opts *o = arg;

        for (int i = 0; i < o->n; i++)
                if (strcmp(o->name[i], name) == 0)
                        return o->value[i];
        return NULL;
}

/* Flatten {"nps": {"score": 30}} into "nps.score" = 30, appending to cols/vals. */
static void flatten(json_t *v, const char *prefix, json_t *row) {
        const char *k;
        json_t *x;
        char name[128];

        json_object_foreach(v, k, x) {
                (void) snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "", k);
                if (json_is_object(x))
                        flatten(x, name, row);
                else if (!json_is_array(x))
                        json_object_set(row, name, x);
        }
}

static void cell_text(json_t *v, char *out, size_t outsz) {
        if (!v || json_is_null(v))
                out[0] = '\0';
        else if (json_is_string(v))
                (void) snprintf(out, outsz, "%s", json_string_value(v));
        else if (json_is_integer(v))
                (void) snprintf(out, outsz, "%lld", (long long) json_integer_value(v));
        else if (json_is_real(v))
                (void) snprintf(out, outsz, "%.4f", json_real_value(v));
        else
                (void) snprintf(out, outsz, "%s", json_is_true(v) ? "true" : "false");
}

/* RFC 4180 quoting; a text cell that a spreadsheet would take for a formula
 * (= + - @ tab CR) is prefixed with ' so opening the file runs nothing. */
static void put_csv(const char *s, int is_text) {
        int quote = strpbrk(s, ",\"\r\n") != NULL;

        if (is_text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
                quote = 1;
        if (!quote) {
                fputs(s, stdout);
                return;
        }
        putchar('"');
        if (is_text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
                putchar('\'');
        for (; *s; s++) {
                if (*s == '"')
                        putchar('"');
                putchar(*s);
        }
        putchar('"');
}

static int print_rows(json_t *result, const char *format) {
        static const char *const arrays[] = { "rows", "transitions", "touchpoints", "stages", "paths", "links",
                                              "next", "drivers", "themes" };
        /* (weakest and expectations answer in "touchpoints" too) */
        json_t *rows = NULL, *flat, *cols;
        size_t i, c;
        int widths[128];

        for (i = 0; i < sizeof(arrays) / sizeof(arrays[0]) && !rows; i++)
                rows = json_object_get(result, arrays[i]);
        if (!json_is_array(rows))
                return -1;
        flat = json_array();
        cols = json_array();
        for (i = 0; i < json_array_size(rows); i++) {
                json_t *row = json_object(), *v;
                const char *k;
                flatten(json_array_get(rows, i), "", row);
                json_object_foreach(row, k, v) {
                        int seen = 0;
                        for (c = 0; c < json_array_size(cols); c++)
                                seen |= strcmp(json_string_value(json_array_get(cols, c)), k) == 0;
                        if (!seen && json_array_size(cols) < 128)
                                json_array_append_new(cols, json_string(k));
                }
                json_array_append_new(flat, row);
        }
        for (c = 0; c < json_array_size(cols); c++)
                widths[c] = (int) strlen(json_string_value(json_array_get(cols, c)));
        for (i = 0; i < json_array_size(flat); i++) {
                for (c = 0; c < json_array_size(cols); c++) {
                        char cell[256];
                        cell_text(json_object_get(json_array_get(flat, i), json_string_value(json_array_get(cols, c))),
                                  cell, sizeof(cell));
                        if ((int) strlen(cell) > widths[c])
                                widths[c] = (int) strlen(cell);
                }
        }
        for (c = 0; c < json_array_size(cols); c++) {
                const char *name = json_string_value(json_array_get(cols, c));
                if (strcmp(format, "csv") == 0) {
                        if (c)
                                putchar(',');
                        put_csv(name, 1);
                } else {
                        printf("%s%-*s", c ? "  " : "", widths[c], name);
                }
        }
        putchar('\n');
        for (i = 0; i < json_array_size(flat); i++) {
                for (c = 0; c < json_array_size(cols); c++) {
                        json_t *v = json_object_get(json_array_get(flat, i), json_string_value(json_array_get(cols, c)));
                        char cell[256];
                        cell_text(v, cell, sizeof(cell));
                        if (strcmp(format, "csv") == 0) {
                                if (c)
                                        putchar(',');
                                put_csv(cell, json_is_string(v));
                        } else {
                                printf("%s%*s", c ? "  " : "", json_is_string(v) ? -widths[c] : widths[c], cell);
                        }
                }
                putchar('\n');
        }
        json_decref(flat);
        json_decref(cols);
        return 0;
}

static void usage(FILE *f) {
        fputs("usage: touchpoint report scores|transitions|attribution|weakest|expectations|funnel|standing|\n"
              "                         paths|explorer|next|next-accuracy|drivers|themes --db URL\n"
              "         [--format table|csv|json]\n"
              "         [--from DATE] [--to DATE]                         (2024-04-01 local UTC+7, or RFC 3339)\n"
              "  scores:       [--group none|touchpoint|channel|touchpoint,channel|stage|sentiment|theme|segment\n"
              "                         |attr:NAME]\n"
              "                [--journey KEY] [--bucket none|day|week|month]\n"
              "                [--touchpoint KEYS] [--channel LIST] [--metric nps,csat,ces,goal,ease,emotion]\n"
              "                [--sentiment negative,neutral,positive,none] [--theme KEY] [--detractors 1]\n"
              "                [--segment LIST] [--attr NAME:VALUES[;NAME:VALUES]]   (customer attributes)\n"
              "  themes:       the filters of scores; [--bucket day|week|month] adds each theme's trend\n"
              "  attribution:  [--model first|last|last_non_direct|linear|time_decay|position|markov|shapley]\n"
              "                [--conversion purchase] [--lookback-days N] [--half-life-days N] [--direct KEY]\n"
              "  weakest:      [--metric nps|csat] [--limit N]\n"
              "  funnel, standing: [--journey KEY]      paths: [--length K] [--top N]\n"
              "  explorer:     --start KEY [--depth D]   next: --touchpoint KEY[,KEY] | --customer ID [--order 2] [--top K]\n"
              "  next-accuracy: --split DATE\n"
              "  drivers:      [--metric csat] [--outcome nps|...|purchase] [--outcome-touchpoint KEY] [--min-n N]\n"
              "The same questions as GET /v1/reports/scores, /v1/reports/transitions and /v1/attribution.\n",
              f);
}

int tp_cli_report(int argc, char **argv) {
        static const char *const names[] = { "from", "to", "group", "bucket", "touchpoint", "channel",
                                              "metric", "model", "conversion", "lookback_days", "limit",
                                              "half_life_days", "direct", "journey", "length",
                                              "top", "start", "depth", "customer", "order", "split", "outcome",
                                              "outcome_touchpoint", "min_n", "sentiment", "theme",
                                              "detractors", "segment", "attr" };
        const char *url = "sqlite:./touchpoint.db", *format = "table", *val;
        tp_report_kind kind;
        tp_store *s = NULL;
        tp_catalog *cat = NULL;
        tp_engine *e = NULL;
        tp_engine_opts eo;
        tp_text *theme_names = NULL;
        tp_report_args a;
        tp_err err = { 0 };
        json_t *j = NULL;
        opts o = { .n = 0 };
        int code = 1;

        if (argc < 1 || strcmp(argv[0], "--help") == 0) {
                usage(argc < 1 ? stderr : stdout);
                return argc < 1 ? 2 : 0;
        }
        if (strcmp(argv[0], "scores") == 0)
                kind = TP_REPORT_SCORES;
        else if (strcmp(argv[0], "transitions") == 0)
                kind = TP_REPORT_TRANSITIONS;
        else if (strcmp(argv[0], "attribution") == 0)
                kind = TP_REPORT_ATTRIBUTION;
        else if (strcmp(argv[0], "weakest") == 0)
                kind = TP_REPORT_WEAKEST;
        else if (strcmp(argv[0], "expectations") == 0)
                kind = TP_REPORT_EXPECTATIONS;
        else if (strcmp(argv[0], "funnel") == 0)
                kind = TP_REPORT_FUNNEL;
        else if (strcmp(argv[0], "standing") == 0)
                kind = TP_REPORT_STANDING;
        else if (strcmp(argv[0], "paths") == 0)
                kind = TP_REPORT_PATHS;
        else if (strcmp(argv[0], "explorer") == 0)
                kind = TP_REPORT_EXPLORER;
        else if (strcmp(argv[0], "next") == 0)
                kind = TP_REPORT_NEXT;
        else if (strcmp(argv[0], "next-accuracy") == 0)
                kind = TP_REPORT_NEXT_ACCURACY;
        else if (strcmp(argv[0], "drivers") == 0)
                kind = TP_REPORT_DRIVERS;
        else if (strcmp(argv[0], "themes") == 0)
                kind = TP_REPORT_THEMES;
        else {
                fprintf(stderr, "touchpoint report: unknown report '%s'\n", argv[0]);
                usage(stderr);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                int known = 0;
                if ((val = tp_cli_opt(argc, argv, &i, "--db"))) {
                        url = val;
                        continue;
                }
                if ((val = tp_cli_opt(argc, argv, &i, "--format"))) {
                        format = val;
                        continue;
                }
                for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !known; k++) {
                        char opt[32];
                        (void) snprintf(opt, sizeof(opt), "--%s", names[k]);
                        for (char *p = opt; *p; p++)
                                if (*p == '_')
                                        *p = '-';
                        if ((val = tp_cli_opt(argc, argv, &i, opt)) && o.n < MAX_OPTS) {
                                o.name[o.n] = names[k];
                                o.value[o.n++] = val;
                                known = 1;
                        }
                }
                if (!known) {
                        fprintf(stderr, "touchpoint report: bad or unknown option '%s'\n", argv[i]);
                        return 2;
                }
        }
        if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
                fputs("touchpoint report: --format must be table, csv or json\n", stderr);
                return 2;
        }
        tp_engine_opts_init(&eo);
        if (tp_cli_open_store(url, TP_STORE_READONLY, &s) != 0)
                return 1;
        if (tp_catalog_new(&cat, &err) != TP_OK || tp_catalog_load(cat, s, &err) != TP_OK) {
                fprintf(stderr, "touchpoint report: %s\n", err.msg);
                goto out;
        }
        if (tp_zone_get(s, &eo.tz_offset, &err) != TP_OK) {
                fprintf(stderr, "touchpoint report: %s\n", err.msg);
                goto out;
        }
        if (tp_report_parse(kind, opt_get, &o, cat, eo.tz_offset, &a, &err) != TP_OK) {
                fprintf(stderr, "touchpoint report: --%s: %s\n", err.field, err.msg);
                tp_report_args_done(&a);
                code = 2;
                goto out;
        }
        /* The themes report names the themes of the built-in taxonomy. */
        if (kind == TP_REPORT_THEMES && tp_text_open(NULL, NULL, NULL, &theme_names, &err) == TP_OK)
                a.text = theme_names;
        if (tp_engine_new(&eo, &e, &err) != TP_OK || tp_engine_load(e, s, &err) != TP_OK ||
            tp_report_run(e, cat, &a, &j, &err) != TP_OK) {
                fprintf(stderr, "touchpoint report: %s\n", err.msg);
                tp_report_args_done(&a);
                goto out;
        }
        tp_report_args_done(&a);
        if (strcmp(format, "json") == 0 || print_rows(j, format) != 0) {
                char *text = json_dumps(j, JSON_INDENT(2));
                if (text)
                        puts(text);
                tp_free(text);
        }
        code = 0;
out:
        json_decref(j);
        tp_engine_free(e);
        tp_text_free(theme_names);
        tp_catalog_free(cat);
        tp_store_close(s);
        return code;
}
