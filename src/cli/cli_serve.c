/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "server/server.h"

static int parse_size(const char *s, size_t *ret) {
        char *end = NULL;
        unsigned long long v = strtoull(s, &end, 10);

        if (!*s || *s == '-' || !end || *end)
                return -1;
        *ret = (size_t) v;
        return 0;
}

/* The dashboard built beside the binary (build/MODE/web), if there is one. */
static const char *default_web_dir(char *buf, size_t bufsz) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        struct stat st;
        char *slash;

        if (n <= 0)
                return NULL;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (!slash)
                return NULL;
        *slash = '\0';
        (void) snprintf(buf, bufsz, "%s/web", exe);
        return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

int tp_cli_serve(int argc, char **argv) {
        tp_config cfg;
        size_t v = 0;
        char webbuf[PATH_MAX + 8];

        tp_config_init(&cfg);
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *val;
                if (strcmp(a, "--help") == 0) {
                        puts("usage: touchpoint serve [--db URL] [--listen HOST:PORT] [--threads N]\n"
                             "         [--max-body BYTES] [--max-items N] [--queue-jobs N] [--conn-limit N]\n"
                             "         [--per-ip-limit N] [--timeout SECONDS] [--max-reports N]\n"
                             "         [--web DIR] [--session-hours N] [--public-url URL]\n"
                             "         [--text-model-vi FILE] [--text-model-en FILE] [--text-themes FILE]\n"
                             "         [--snapshot FILE | --no-snapshot]\n"
                             "Prints 'listening on http://HOST:PORT' once it accepts requests; SIGTERM stops it\n"
                             "after the requests in flight are answered.\n"
                             "--web: the built dashboard (default: the 'web' directory next to the binary);\n"
                             "--public-url: the address customers reach, used in survey links;\n"
                             "--snapshot: the analytics engine's snapshot file, read at start (then only the rows\n"
                             "  after it come from the store) and written after a full load and at shutdown\n"
                             "  (default: FILE.snapshot for sqlite:FILE; none for PostgreSQL);\n"
                             "--no-snapshot: always load from the store, write no snapshot.");
                        return 0;
                }
                if ((val = tp_cli_opt(argc, argv, &i, "--db"))) {
                        cfg.db_url = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--listen"))) {
                        cfg.listen = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--threads")) && !parse_size(val, &v) && v > 0 && v <= 64) {
                        cfg.threads = (unsigned) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--max-body")) && !parse_size(val, &v) && v > 0) {
                        cfg.lim.max_body = v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--max-items")) && !parse_size(val, &v) && v > 0) {
                        cfg.lim.max_items = v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--queue-jobs")) && !parse_size(val, &v) && v > 0) {
                        cfg.queue_jobs = v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--conn-limit")) && !parse_size(val, &v) && v > 0) {
                        cfg.conn_limit = (unsigned) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--per-ip-limit")) && !parse_size(val, &v) && v > 0) {
                        cfg.per_ip_limit = (unsigned) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--timeout")) && !parse_size(val, &v) && v > 0) {
                        cfg.conn_timeout = (unsigned) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--max-reports")) && !parse_size(val, &v) && v > 0) {
                        cfg.max_reports = (unsigned) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--web"))) {
                        cfg.web_dir = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--session-hours")) && !parse_size(val, &v) && v > 0 &&
                           v <= 24 * 30) {
                        cfg.session_ttl = (long) v * 3600;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--public-url"))) {
                        cfg.public_url = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-model-vi"))) {
                        cfg.text_model_vi = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-model-en"))) {
                        cfg.text_model_en = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--text-themes"))) {
                        cfg.text_themes = val;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--snapshot")) && *val) {
                        cfg.snapshot = val;
                } else if (strcmp(a, "--no-snapshot") == 0) {
                        cfg.no_snapshot = 1;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--test-link-clock")) && !parse_size(val, &v)) {
                        cfg.link_clock_offset = (long) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--test-report-delay-us")) && !parse_size(val, &v)) {
                        cfg.report_delay_us = (long) v;
                } else if ((val = tp_cli_opt(argc, argv, &i, "--test-commit-delay-us")) && !parse_size(val, &v)) {
                        cfg.commit_delay_us = (long) v;
                } else {
                        fprintf(stderr, "touchpoint serve: bad or unknown option '%s' (see --help)\n", a);
                        return 2;
                }
        }
        if (cfg.snapshot && cfg.no_snapshot) {
                fputs("touchpoint serve: --snapshot and --no-snapshot exclude each other\n", stderr);
                return 2;
        }
        if (!cfg.web_dir)
                cfg.web_dir = default_web_dir(webbuf, sizeof(webbuf));
        return tp_server_run(&cfg);
}
