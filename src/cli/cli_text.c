/* SPDX-License-Identifier: MIT */
/*
 * cli_text.c -- `touchpoint text classify|train|eval|themes`: sentiment and
 * themes of comments from the command line (src/text/, docs/TEXT.md).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "text/text.h"
#include "text/text_train.h"

#define MAX_MAPS 32

static void usage(FILE *f) {
        fputs("usage: touchpoint text classify [--lang vi|en|auto] [--model-vi F] [--model-en F] [--themes F]\n"
              "           reads one comment a line on stdin, prints label<TAB>confidence<TAB>themes\n"
              "       touchpoint text train --lang vi|en [DATA options] [--bits N] [--epochs N] [--seed N]\n"
              "           [--wbytes 1|2] [--no-augment] [--extra CSV]... -o MODEL DATA\n"
              "           (--extra: more comments, a CSV label,text, added to DATA)\n"
              "       touchpoint text eval --lang vi|en [--model F] [DATA options] [--themes F]\n"
              "           [--theme-col COL --map VALUE=THEME ...] DATA\n"
              "       touchpoint text themes [--themes F] [--format table|json]\n"
              "\n"
              "DATA is a UIT-VSFC directory (sents.txt + sentiments.txt) or a CSV file with a header:\n"
              "  --format uit|csv   (default: a directory is uit, a file csv)\n"
              "  --text-col C       column of the comment (default text)\n"
              "  --label-col C      column of the label negative|neutral|positive (default label)\n"
              "  --split all|train|test  --split-col C   deterministic 80/20 split on the hash of column C\n",
              f);
}

typedef struct data_opts {
        const char *format, *text_col, *label_col, *split_col, *split, *aux_col;
} data_opts;

/* Takes a data option at argv[*i]; 1 when it was one. */
static int data_opt(int argc, char **argv, int *i, data_opts *d) {
        const char *v;

        if ((v = tp_cli_opt(argc, argv, i, "--format")))
                d->format = v;
        else if ((v = tp_cli_opt(argc, argv, i, "--text-col")))
                d->text_col = v;
        else if ((v = tp_cli_opt(argc, argv, i, "--label-col")))
                d->label_col = v;
        else if ((v = tp_cli_opt(argc, argv, i, "--split-col")))
                d->split_col = v;
        else if ((v = tp_cli_opt(argc, argv, i, "--split")))
                d->split = v;
        else
                return 0;
        return 1;
}

static int load_data(const char *path, const data_opts *o, tp_text_data *d) {
        tp_err err = { 0 };
        struct stat st;
        int uit;
        tp_rc rc;

        if (o->format)
                uit = strcmp(o->format, "uit") == 0;
        else
                uit = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (o->format && !uit && strcmp(o->format, "csv") != 0) {
                fprintf(stderr, "touchpoint: --format is uit or csv\n");
                return 2;
        }
        if (uit) {
                rc = tp_text_data_load_uit(path, d, &err);
        } else {
                tp_text_csv_opts co = { o->text_col, o->label_col, o->aux_col, o->split_col, 0 };

                if (!o->split || strcmp(o->split, "all") == 0)
                        co.split = 0;
                else if (strcmp(o->split, "train") == 0)
                        co.split = 1;
                else if (strcmp(o->split, "test") == 0)
                        co.split = 2;
                else {
                        fprintf(stderr, "touchpoint: --split is all, train or test\n");
                        return 2;
                }
                rc = tp_text_data_load_csv(path, &co, d, &err);
        }
        if (rc != TP_OK) {
                fprintf(stderr, "touchpoint: %s\n", err.msg);
                return 1;
        }
        if (d->n == 0) {
                fprintf(stderr, "touchpoint: %s: no labelled comments\n", path);
                return 1;
        }
        return 0;
}

static void print_themes(const tp_text *t, uint64_t m) {
        int first = 1;

        for (int i = 0; i < tp_text_theme_count(t); i++)
                if (m >> i & 1) {
                        if (!first)
                                putchar(',');
                        fputs(tp_text_theme_key(t, i), stdout);
                        first = 0;
                }
}

static int cmd_classify(int argc, char **argv) {
        const char *lang = NULL, *mvi = NULL, *men = NULL, *themes = NULL, *v;
        tp_text *t = NULL;
        tp_err err = { 0 };
        char *line = NULL;
        size_t cap = 0, lineno = 0, bad = 0;
        ssize_t n;

        for (int i = 0; i < argc; i++) {
                if ((v = tp_cli_opt(argc, argv, &i, "--lang")))
                        lang = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--model-vi")))
                        mvi = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--model-en")))
                        men = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--themes")))
                        themes = v;
                else {
                        usage(stderr);
                        return 2;
                }
        }
        if (lang && strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0 && strcmp(lang, "auto") != 0) {
                fprintf(stderr, "touchpoint: --lang is vi, en or auto\n");
                return 2;
        }
        if (tp_text_open(mvi, men, themes, &t, &err) != TP_OK) {
                fprintf(stderr, "touchpoint: %s\n", err.msg);
                return 1;
        }
        while ((n = getline(&line, &cap, stdin)) >= 0) {
                tp_text_result r;
                size_t len = (size_t) n;

                lineno++;
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        len--;
                if (tp_text_classify(t, line, len, lang, &r, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint: line %zu: %s\n", lineno, err.msg);
                        puts("error\t0.000\t");
                        bad++;
                        continue;
                }
                printf("%s\t%.3f\t", tp_text_sentiment_key(r.label), (double) r.confidence);
                print_themes(t, r.themes);
                putchar('\n');
        }
        free(line);
        tp_text_free(t);
        return bad ? 1 : 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s)
                return -1;
        v = strtoul(s, &end, 10);
        if (*end || v > max)
                return -1;
        *ret = v;
        return 0;
}

static int cmd_train(int argc, char **argv) {
        const char *lang = NULL, *out = NULL, *path = NULL, *v;
        data_opts dopt = { 0 };
        tp_text_train_opts o;
        tp_text_data d = { 0 };
        tp_err err = { 0 };
        unsigned long bits = 0, epochs = 0, seed = 0, wbytes = 0;
        const char *extra[8];
        int no_aug = 0, nextra = 0, rc;

        for (int i = 0; i < argc; i++) {
                if ((v = tp_cli_opt(argc, argv, &i, "--lang")))
                        lang = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "-o")) || (v = tp_cli_opt(argc, argv, &i, "--out")))
                        out = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--bits"))) {
                        if (parse_uint(v, 24, &bits) || bits < 10)
                                goto bad;
                } else if ((v = tp_cli_opt(argc, argv, &i, "--epochs"))) {
                        if (parse_uint(v, 1000, &epochs) || epochs == 0)
                                goto bad;
                } else if ((v = tp_cli_opt(argc, argv, &i, "--seed"))) {
                        if (parse_uint(v, ~0UL, &seed))
                                goto bad;
                } else if ((v = tp_cli_opt(argc, argv, &i, "--wbytes"))) {
                        if (parse_uint(v, 2, &wbytes) || wbytes == 0)
                                goto bad;
                } else if ((v = tp_cli_opt(argc, argv, &i, "--extra"))) {
                        if (nextra == 8)
                                goto bad;
                        extra[nextra++] = v;
                } else if (strcmp(argv[i], "--no-augment") == 0)
                        no_aug = 1;
                else if (data_opt(argc, argv, &i, &dopt))
                        ;
                else if (argv[i][0] != '-' && !path)
                        path = argv[i];
                else
                        goto bad;
        }
        if (!lang || (strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0) || !out || !path)
                goto bad;
        rc = load_data(path, &dopt, &d);
        for (int k = 0; k < nextra && !rc; k++) {
                data_opts plain = { "csv", NULL, NULL, NULL, NULL, NULL };

                rc = load_data(extra[k], &plain, &d);
        }
        if (rc) {
                tp_text_data_done(&d);
                return rc;
        }
        tp_text_train_defaults(&o, lang);
        if (bits)
                o.bits = (unsigned) bits;
        if (epochs)
                o.epochs = (unsigned) epochs;
        if (seed)
                o.seed = seed;
        if (wbytes)
                o.wbytes = (unsigned) wbytes;
        if (no_aug)
                o.augment = 0;
        if (tp_text_train(&d, &o, out, &err) != TP_OK) {
                fprintf(stderr, "touchpoint: %s\n", err.msg);
                tp_text_data_done(&d);
                return 1;
        }
        fprintf(stderr, "touchpoint: trained a %s model on %zu comments -> %s\n", lang, d.n, out);
        tp_text_data_done(&d);
        return 0;
bad:
        usage(stderr);
        return 2;
}

static double ratio(double a, double b) {
        return b > 0 ? a / b : 0;
}

static void theme_eval(
        const tp_text *t,
        const tp_text_data *d,
        const uint64_t *pred,
        char **map_from,
        const int *map_to,
        int nmap) {
        size_t tp[64] = { 0 }, fp[64] = { 0 }, fn[64] = { 0 }, rows = 0;
        int nt = tp_text_theme_count(t);

        for (size_t i = 0; i < d->n; i++) {
                int gold = -1;

                for (int k = 0; k < nmap; k++)
                        if (strcmp(d->aux[i], map_from[k]) == 0)
                                gold = map_to[k];
                if (gold < 0)
                        continue;
                rows++;
                for (int k = 0; k < nt; k++) {
                        int p = (int) (pred[i] >> k & 1), g = k == gold;

                        tp[k] += (size_t) (p && g);
                        fp[k] += (size_t) (p && !g);
                        fn[k] += (size_t) (!p && g);
                }
        }
        printf("\nthemes against %zu labelled rows (one gold theme each)\n", rows);
        printf("%-14s %9s %9s %8s\n", "theme", "precision", "recall", "support");
        for (int k = 0; k < nt; k++) {
                size_t sup = tp[k] + fn[k];

                if (sup == 0)
                        continue;
                printf("%-14s %9.4f %9.4f %8zu\n",
                       tp_text_theme_key(t, k),
                       ratio((double) tp[k], (double) (tp[k] + fp[k])),
                       ratio((double) tp[k], (double) sup),
                       sup);
        }
        for (int k = 0; k < nt; k++)
                if (tp[k] + fn[k] > 0)
                        printf("theme_%s precision %.4f recall %.4f\n",
                               tp_text_theme_key(t, k),
                               ratio((double) tp[k], (double) (tp[k] + fp[k])),
                               ratio((double) tp[k], (double) (tp[k] + fn[k])));
}

static int cmd_eval(int argc, char **argv) {
        const char *lang = NULL, *model = NULL, *path = NULL, *themes = NULL, *v;
        char *map_from[MAX_MAPS];
        int map_to[MAX_MAPS], nmap = 0, rc = 1;
        data_opts dopt = { 0 };
        tp_text_data d = { 0 };
        tp_text *t = NULL;
        tp_err err = { 0 };
        size_t cm[3][3] = { { 0 } };
        uint64_t *pred = NULL;
        const char *maps[MAX_MAPS];
        double acc, wf1 = 0, mf1 = 0, f1[3];

        for (int i = 0; i < argc; i++) {
                if ((v = tp_cli_opt(argc, argv, &i, "--lang")))
                        lang = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--model")))
                        model = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--themes")))
                        themes = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--theme-col")))
                        dopt.aux_col = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--map"))) {
                        if (nmap >= MAX_MAPS || !strchr(v, '='))
                                goto bad;
                        maps[nmap++] = v;
                } else if (data_opt(argc, argv, &i, &dopt))
                        ;
                else if (argv[i][0] != '-' && !path)
                        path = argv[i];
                else
                        goto bad;
        }
        if (!lang || (strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0) || !path)
                goto bad;
        if (tp_text_open(
                    strcmp(lang, "vi") == 0 ? model : NULL,
                    strcmp(lang, "en") == 0 ? model : NULL,
                    themes,
                    &t,
                    &err) != TP_OK) {
                fprintf(stderr, "touchpoint: %s\n", err.msg);
                return 1;
        }
        for (int k = 0; k < nmap; k++) {
                const char *eq = strrchr(maps[k], '=');

                map_to[k] = tp_text_theme_find(t, eq + 1);
                if (map_to[k] < 0) {
                        fprintf(stderr, "touchpoint: --map %s: no theme '%s'\n", maps[k], eq + 1);
                        tp_text_free(t);
                        return 2;
                }
        }
        rc = load_data(path, &dopt, &d);
        if (rc)
                goto out;
        pred = tp_calloc(d.n, sizeof(uint64_t));
        if (!pred) {
                fprintf(stderr, "touchpoint: out of memory\n");
                rc = 1;
                goto out;
        }
        for (size_t i = 0; i < d.n; i++) {
                tp_text_result r;

                if (tp_text_classify(t, d.text[i], strlen(d.text[i]), lang, &r, &err) != TP_OK) {
                        fprintf(stderr, "touchpoint: comment %zu: %s\n", i + 1, err.msg);
                        rc = 1;
                        goto out;
                }
                cm[d.label[i]][r.label]++;
                pred[i] = r.themes;
        }
        acc = ratio((double) (cm[0][0] + cm[1][1] + cm[2][2]), (double) d.n);
        printf("comments %zu\naccuracy %.4f\n\n", d.n, acc);
        printf("%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
        for (int c = 0; c < 3; c++) {
                size_t tp = cm[c][c], sup = cm[c][0] + cm[c][1] + cm[c][2],
                       pc = cm[0][c] + cm[1][c] + cm[2][c];
                double p = ratio((double) tp, (double) pc), r = ratio((double) tp, (double) sup);

                f1[c] = p + r > 0 ? 2 * p * r / (p + r) : 0;
                wf1 += f1[c] * (double) sup / (double) d.n;
                mf1 += f1[c] / 3;
                printf("%-10s %9.4f %9.4f %9.4f %8zu\n", tp_text_sentiment_key((tp_sentiment) c), p, r, f1[c], sup);
        }
        printf("\nweighted_f1 %.4f\nmacro_f1 %.4f\nf1_negative %.4f\nf1_neutral %.4f\nf1_positive %.4f\n",
               wf1,
               mf1,
               f1[0],
               f1[1],
               f1[2]);
        printf("\nconfusion (rows: true, columns: predicted)\n%-10s %9s %9s %9s\n",
               "",
               "negative",
               "neutral",
               "positive");
        for (int c = 0; c < 3; c++)
                printf("%-10s %9zu %9zu %9zu\n",
                       tp_text_sentiment_key((tp_sentiment) c),
                       cm[c][0],
                       cm[c][1],
                       cm[c][2]);
        if (dopt.aux_col && nmap > 0) {
                for (int k = 0; k < nmap; k++) {
                        size_t l = (size_t) (strrchr(maps[k], '=') - maps[k]);

                        map_from[k] = tp_strndup(maps[k], l);
                        if (!map_from[k]) {
                                nmap = k;
                                rc = 1;
                                goto out_maps;
                        }
                }
                theme_eval(t, &d, pred, map_from, map_to, nmap);
        out_maps:
                for (int k = 0; k < nmap; k++)
                        tp_free(map_from[k]);
        }
out:
        tp_free(pred);
        tp_text_data_done(&d);
        tp_text_free(t);
        return rc;
bad:
        usage(stderr);
        return 2;
}

static int cmd_themes(int argc, char **argv) {
        const char *themes = NULL, *format = "table", *v;
        tp_text *t = NULL;
        tp_err err = { 0 };

        for (int i = 0; i < argc; i++) {
                if ((v = tp_cli_opt(argc, argv, &i, "--themes")))
                        themes = v;
                else if ((v = tp_cli_opt(argc, argv, &i, "--format")))
                        format = v;
                else {
                        usage(stderr);
                        return 2;
                }
        }
        if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
                fprintf(stderr, "touchpoint: --format is table or json\n");
                return 2;
        }
        if (tp_text_open(NULL, NULL, themes, &t, &err) != TP_OK) {
                fprintf(stderr, "touchpoint: %s\n", err.msg);
                return 1;
        }
        if (strcmp(format, "json") == 0) {
                json_t *arr = json_array();
                char *s;

                for (int i = 0; arr && i < tp_text_theme_count(t); i++)
                        json_array_append_new(
                                arr,
                                json_pack(
                                        "{s:i, s:s, s:{s:s, s:s}}",
                                        "index",
                                        i,
                                        "key",
                                        tp_text_theme_key(t, i),
                                        "name",
                                        "vi",
                                        tp_text_theme_name(t, i, "vi"),
                                        "en",
                                        tp_text_theme_name(t, i, "en")));
                s = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_ENSURE_ASCII * 0) : NULL;
                if (!s) {
                        fprintf(stderr, "touchpoint: out of memory\n");
                        json_decref(arr);
                        tp_text_free(t);
                        return 1;
                }
                puts(s);
                free(s);
                json_decref(arr);
        } else {
                printf("%-3s %-14s %-34s %s\n", "#", "key", "en", "vi");
                for (int i = 0; i < tp_text_theme_count(t); i++)
                        printf("%-3d %-14s %-34s %s\n",
                               i,
                               tp_text_theme_key(t, i),
                               tp_text_theme_name(t, i, "en"),
                               tp_text_theme_name(t, i, "vi"));
        }
        tp_text_free(t);
        return 0;
}

int tp_cli_text(int argc, char **argv) {
        if (argc < 1) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[0], "classify") == 0)
                return cmd_classify(argc - 1, argv + 1);
        if (strcmp(argv[0], "train") == 0)
                return cmd_train(argc - 1, argv + 1);
        if (strcmp(argv[0], "eval") == 0)
                return cmd_eval(argc - 1, argv + 1);
        if (strcmp(argv[0], "themes") == 0)
                return cmd_themes(argc - 1, argv + 1);
        if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
                usage(stdout);
                return 0;
        }
        fprintf(stderr, "touchpoint: unknown text command '%s'\n", argv[0]);
        usage(stderr);
        return 2;
}
