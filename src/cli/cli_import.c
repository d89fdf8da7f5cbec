/* SPDX-License-Identifier: MIT */
/*
 * cli_import.c -- `touchpoint import`: parse the arguments, open the file and the
 * store, run tp_import_run() and print what happened.  The rules and the writing
 * live in service/import.c.
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/alloc.h"
#include "service/catalog.h"
#include "service/annotate.h"
#include "service/import.h"
#include "store/store.h"

#define SHOW_REJECTS 20

static const char usage_text[] =
        "usage: touchpoint import --db URL --kind events|responses [OPTIONS] FILE\n"
        "\n"
        "Import events or responses from FILE: CSV with a header row (.csv) or one JSON\n"
        "object per line (.ndjson, .jsonl).  Every row is checked as the HTTP API checks\n"
        "it; bad rows are reported by line and skipped, the good ones are stored.\n"
        "\n"
        "  --db URL              the store, sqlite:PATH (default sqlite:./touchpoint.db)\n"
        "  --kind KIND           events or responses (required)\n"
        "  --format FORMAT       csv or ndjson, instead of the file name's extension;\n"
        "                        required when FILE is - (standard input)\n"
        "  --map COLUMN=FIELD    CSV: the column COLUMN holds FIELD (repeatable);\n"
        "                        COLUMN=- ignores the column\n"
        "  --create-touchpoints  create touchpoints not yet in the catalogue instead of\n"
        "                        rejecting their rows\n"
        "  --rejects FILE        write every rejected row to FILE as CSV\n"
        "                        (line,field,code,message)\n"
        "  --no-text             do not read comments (sentiment, themes: see 'touchpoint text')\n"
        "  --text-model-vi FILE, --text-model-en FILE, --text-themes FILE\n"
        "                        other models or theme taxonomy than the built-in ones\n"
        "\n"
        "CSV columns for events: id, customer, touchpoint, channel, type, time, value,\n"
        "currency, properties (a JSON object); for responses: id, customer, touchpoint,\n"
        "channel, metric, score, comment, language, time, event.  Empty cells are absent\n"
        "fields.  Exit status: 0 when the file was read to its end (even with rejected\n"
        "rows), 1 when nothing could be imported or on a read or store failure, 2 on a\n"
        "usage error.\n";

typedef struct shown {
        uint64_t line;
        char field[64];
        char msg[256];
} shown;

/* What the reject callback needs: the first rejects to print, the --rejects file. */
typedef struct rejects {
        shown first[SHOW_REJECTS];
        size_t n;
        FILE *out;         /* --rejects FILE, or NULL */
        const char *path;
} rejects;

typedef struct progress {
        uint64_t size;     /* of the input, 0 when unknown */
        int shown;         /* a progress line is on the terminal */
} progress;

static tp_rc on_reject(void *arg, uint64_t line, const tp_err *why, tp_err *err) {
        rejects *rj = arg;
        const char *code = tp_err_code(why);

        if (rj->n < SHOW_REJECTS) {
                shown *s = &rj->first[rj->n++];
                s->line = line;
                (void) snprintf(s->field, sizeof(s->field), "%s", why->field);
                (void) snprintf(s->msg, sizeof(s->msg), "%s", why->msg);
        }
        if (!rj->out)
                return TP_OK;
        if (fprintf(rj->out, "%llu,", (unsigned long long) line) < 0 ||
            csv_fwrite(rj->out, why->field, strlen(why->field)) != 0 || fputc(',', rj->out) == EOF ||
            csv_fwrite(rj->out, code, strlen(code)) != 0 || fputc(',', rj->out) == EOF ||
            csv_fwrite(rj->out, why->msg, strlen(why->msg)) != 0 || fputc('\n', rj->out) == EOF)
                return tp_err_set(err, TP_IO, "cannot write %s: %s", rj->path, strerror(errno));
        return TP_OK;
}

static double rate(uint64_t rows, int64_t us) {
        return us > 0 ? (double) rows * 1e6 / (double) us : 0.0;
}

static void on_progress(void *arg, const tp_import_stats *st) {
        progress *p = arg;

        if (p->size > 0)
                fprintf(stderr, "\r%llu rows read, %.0f rows/s, %.0f%% ", (unsigned long long) st->rows_read,
                        rate(st->rows_read, st->elapsed_us), 100.0 * (double) st->bytes_read / (double) p->size);
        else
                fprintf(stderr, "\r%llu rows read, %.0f rows/s ", (unsigned long long) st->rows_read,
                        rate(st->rows_read, st->elapsed_us));
        p->shown = 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("touchpoint import: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\n(touchpoint import --help lists the options)\n", stderr);
        return 2;
}

/* Parse one --map COLUMN=FIELD (the last '=' splits, so a column may contain one).
 * ret->column is a copy the caller frees with tp_free(); ret->field points into arg. */
static int parse_map(const char *arg, tp_import_map *ret) {
        const char *eq = strrchr(arg, '=');
        char *column;

        if (!eq || eq == arg || !eq[1])
                return -1;
        column = tp_strndup(arg, (size_t) (eq - arg));
        if (!column)
                return -1;
        ret->column = column;
        ret->field = eq + 1;
        return 0;
}

int tp_cli_import(int argc, char **argv) {
        const char *url = "sqlite:./touchpoint.db", *kind = NULL, *format = NULL, *file = NULL;
        const char *rejects_path = NULL, *val;
        tp_import_opts o = { 0 };
        tp_import_stats st = { 0 };
        tp_import_map *maps = NULL;
        rejects *rj = NULL;
        progress prog = { 0 };
        tp_catalog *cat = NULL;
        tp_store *s = NULL;
        tp_err err = { 0 };
        struct stat sb;
        size_t nmap = 0;
        int fd = -1, code = 1, create = 0, no_text = 0;
        const char *model_vi = NULL, *model_en = NULL, *themes = NULL;
        tp_text *text = NULL;
        tp_annotator *ann = NULL;
        tp_rc rc;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        fputs(usage_text, stdout);
                        code = 0;
                        goto out;
                }
        }
        maps = tp_calloc((size_t) argc + 1, sizeof(*maps));
        rj = tp_calloc(1, sizeof(*rj));
        if (!maps || !rj) {
                fputs("touchpoint import: out of memory\n", stderr);
                goto out;
        }
        for (int i = 0; i < argc; i++) {
                if ((val = tp_cli_opt(argc, argv, &i, "--db"))) {
                        url = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--kind"))) {
                        kind = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--format"))) {
                        format = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--rejects"))) {
                        rejects_path = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--map"))) {
                        if (parse_map(val, &maps[nmap]) != 0) {
                                code = usage_error("--map needs COLUMN=FIELD (or COLUMN=- to ignore it), not '%s'",
                                                   val);
                                goto out;
                        }
                        nmap++;
                } else if (strcmp(argv[i], "--create-touchpoints") == 0) {
                        create = 1;
                } else if (strcmp(argv[i], "--no-text") == 0) {
                        no_text = 1;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-model-vi"))) {
                        model_vi = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-model-en"))) {
                        model_en = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-themes"))) {
                        themes = val;
                } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !file) {
                        file = argv[i];
                } else {
                        code = usage_error("bad or unknown option '%s'", argv[i]);
                        goto out;
                }
        }
        if (!kind) {
                code = usage_error("--kind events|responses is required");
                goto out;
        }
        if (strcmp(kind, "events") == 0) {
                o.kind = TP_KIND_EVENTS;
        } else if (strcmp(kind, "responses") == 0) {
                o.kind = TP_KIND_RESPONSES;
        } else {
                code = usage_error("--kind must be events or responses, not '%s'", kind);
                goto out;
        }
        if (!file) {
                code = usage_error("give the FILE to import (- for standard input)");
                goto out;
        }
        if (format) {
                if (strcmp(format, "csv") == 0) {
                        o.format = TP_IMPORT_CSV;
                } else if (strcmp(format, "ndjson") == 0 || strcmp(format, "jsonl") == 0) {
                        o.format = TP_IMPORT_NDJSON;
                } else {
                        code = usage_error("--format must be csv or ndjson, not '%s'", format);
                        goto out;
                }
        } else if (strcmp(file, "-") == 0) {
                code = usage_error("reading standard input needs --format csv|ndjson");
                goto out;
        } else if (tp_import_format_of(file, &o.format) != TP_OK) {
                code = usage_error("cannot tell the format of '%s' from its name (.csv, .ndjson, .jsonl): "
                                   "give --format csv|ndjson",
                                   file);
                goto out;
        }
        for (size_t i = 0; i < nmap; i++) {
                if (!tp_import_field_valid(o.kind, maps[i].field)) {
                        fprintf(stderr, "touchpoint import: --map %s=%s: no such field; %s have %s\n", maps[i].column,
                                maps[i].field, kind, tp_import_field_list(o.kind));
                        code = 2;
                        goto out;
                }
        }
        if (nmap && o.format != TP_IMPORT_CSV) {
                code = usage_error("--map applies to CSV files only");
                goto out;
        }

        /* The input first: a missing file must not leave an empty store behind. */
        if (strcmp(file, "-") == 0) {
                fd = STDIN_FILENO;
        } else {
                fd = open(file, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        fprintf(stderr, "touchpoint import: cannot open %s: %s\n", file, strerror(errno));
                        goto out;
                }
        }
        if (fstat(fd, &sb) != 0) {
                fprintf(stderr, "touchpoint import: cannot read %s: %s\n", file, strerror(errno));
                goto out;
        }
        if (S_ISDIR(sb.st_mode)) {
                fprintf(stderr, "touchpoint import: cannot read %s: it is a directory\n", file);
                goto out;
        }
        if (S_ISREG(sb.st_mode))
                prog.size = (uint64_t) sb.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        if (rejects_path) {
                rj->path = rejects_path;
                rj->out = fopen(rejects_path, "w");
                if (!rj->out) {
                        fprintf(stderr, "touchpoint import: cannot create %s: %s\n", rejects_path, strerror(errno));
                        goto out;
                }
                fputs("line,field,code,message\n", rj->out);
        }
        if (tp_cli_open_store(url, TP_STORE_BULK, &s) != 0)
                goto out;
        if (tp_catalog_new(&cat, &err) != TP_OK || tp_catalog_load(cat, s, &err) != TP_OK) {
                fprintf(stderr, "touchpoint import: cannot load the touchpoint catalogue: %s\n", err.msg);
                goto out;
        }

        if (o.kind == TP_KIND_RESPONSES && !no_text &&
            (tp_text_open(model_vi, model_en, themes, &text, &err) != TP_OK ||
             tp_annotator_new(text, &ann, &err) != TP_OK)) {
                fprintf(stderr, "touchpoint import: cannot load the text models: %s\n", err.msg);
                goto out;
        }
        o.ann = ann;
        o.fd = fd;
        o.name = strcmp(file, "-") == 0 ? "standard input" : file;
        o.map = maps;
        o.nmap = nmap;
        o.create_touchpoints = create;
        o.on_reject = on_reject;
        o.reject_arg = rj;
        if (isatty(STDERR_FILENO)) {
                o.progress = on_progress;
                o.progress_arg = &prog;
        }
        rc = tp_import_run(s, cat, &o, &st, &err);
        if (prog.shown)
                fputs("\r\033[K", stderr);
        if (rc != TP_OK) {
                if (st.rows_read > 0 || st.committed > 0)
                        fprintf(stderr,
                                "touchpoint import: %s: %s\n"
                                "touchpoint import: stopped after %llu rows; %llu rows were committed before the "
                                "failure (%llu new, %llu duplicates), nothing after them\n",
                                file, err.msg, (unsigned long long) st.rows_read, (unsigned long long) st.committed,
                                (unsigned long long) st.taken, (unsigned long long) st.duplicates);
                else
                        fprintf(stderr, "touchpoint import: %s: %s\n", file, err.msg);
                goto out;
        }
        printf("rows read %llu, taken %llu, duplicates %llu, rejected %llu, in %.2f s (%.0f rows/s)\n",
               (unsigned long long) st.rows_read, (unsigned long long) st.taken, (unsigned long long) st.duplicates,
               (unsigned long long) st.rejected, (double) st.elapsed_us / 1e6, rate(st.rows_read, st.elapsed_us));
        for (size_t i = 0; i < rj->n; i++) {
                if (rj->first[i].field[0])
                        printf("line %llu: field %s: %s\n", (unsigned long long) rj->first[i].line,
                               rj->first[i].field, rj->first[i].msg);
                else
                        printf("line %llu: %s\n", (unsigned long long) rj->first[i].line, rj->first[i].msg);
        }
        if (st.rejected > rj->n)
                printf("... and %llu more\n", (unsigned long long) (st.rejected - rj->n));
        if (st.rows_read > 0 && st.taken + st.duplicates == 0) {
                fprintf(stderr, "touchpoint import: no row of %s could be imported\n", file);
                goto out;
        }
        code = 0;
out:
        if (rj && rj->out && fclose(rj->out) != 0 && code == 0) {
                fprintf(stderr, "touchpoint import: cannot write %s: %s\n", rejects_path, strerror(errno));
                code = 1;
        }
        if (fflush(stdout) != 0 && code == 0)
                code = 1;
        tp_catalog_free(cat);
        tp_store_close(s);
        tp_annotator_free(ann);
        tp_text_free(text);
        if (fd > STDIN_FILENO)
                close(fd);
        for (size_t i = 0; i < nmap; i++)
                tp_free((void *) maps[i].column);
        tp_free(maps);
        tp_free(rj);
        return code;
}
