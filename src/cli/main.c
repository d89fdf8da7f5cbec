/* SPDX-License-Identifier: MIT */
/*
 * main.c -- `touchpoint COMMAND ...`: dispatch to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/jsonx.h"
#include "http/http.h"

#include <sodium.h>

static void usage(FILE *f) {
        fputs("usage: touchpoint COMMAND [OPTIONS]\n"
              "\n"
              "commands:\n"
              "  serve    --db URL --listen HOST:PORT      run the HTTP API (port 0 picks a free port)\n"
              "  import   --db URL --kind events|responses FILE [--map COL=FIELD]... [--create-touchpoints]\n"
              "  key      create --db URL --scope admin|ingest [--name NAME] | list --db URL | revoke --db URL PREFIX\n"
              "  journey  apply --db URL FILE.json | template NAME | list --db URL\n"
              "  report   scores|transitions|attribution --db URL [--format table|csv|json] ...\n"
              "  check    --db URL                         verify the store's integrity\n"
              "  snapshot --db URL [--out FILE]            write the analytics engine's snapshot (faster start)\n"
              "  link     create --touchpoint K --customer C  a signed single-use survey link (+ QR)\n"
              "  text     classify|train|eval|themes       sentiment and themes of comments (vi, en)\n"
              "  zone     --db URL [UTC|+07:00]            the organisation's time zone for reports\n"
              "  version\n"
              "\n"
              "URL is sqlite:PATH (default sqlite:./touchpoint.db).  `touchpoint COMMAND --help` for more.\n",
              f);
}

int main(int argc, char **argv) {
        const char *cmd;

        if (sodium_init() < 0) {
                fputs("touchpoint: libsodium failed to initialise\n", stderr);
                return 1;
        }
        tp_json_global_init();
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        cmd = argv[1];
        if (strcmp(cmd, "serve") == 0)
                return tp_cli_serve(argc - 2, argv + 2);
        if (strcmp(cmd, "import") == 0)
                return tp_cli_import(argc - 2, argv + 2);
        if (strcmp(cmd, "key") == 0)
                return tp_cli_key(argc - 2, argv + 2);
        if (strcmp(cmd, "journey") == 0)
                return tp_cli_journey(argc - 2, argv + 2);
        if (strcmp(cmd, "report") == 0)
                return tp_cli_report(argc - 2, argv + 2);
        if (strcmp(cmd, "check") == 0)
                return tp_cli_check(argc - 2, argv + 2);
        if (strcmp(cmd, "snapshot") == 0)
                return tp_cli_snapshot(argc - 2, argv + 2);
        if (strcmp(cmd, "link") == 0)
                return tp_cli_link(argc - 2, argv + 2);
        if (strcmp(cmd, "zone") == 0)
                return tp_cli_zone(argc - 2, argv + 2);
        if (strcmp(cmd, "text") == 0)
                return tp_cli_text(argc - 2, argv + 2);
        if (strcmp(cmd, "routes") == 0) {
                /* The served routes, one "METHOD PATTERN" a line: the OpenAPI test
                 * compares them with docs/openapi.yaml. */
                for (const tp_route *r = tp_api_routes; r->method; r++)
                        printf("%s %s\n", r->method, r->pattern);
                return 0;
        }
        if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
                puts("touchpoint 0.1.0");
                return 0;
        }
        if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
                usage(stdout);
                return 0;
        }
        fprintf(stderr, "touchpoint: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return 2;
}
