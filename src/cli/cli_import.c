/* SPDX-License-Identifier: MIT */
/* Placeholder until the import command lands (being written now). */
#include <stdio.h>

#include "cli/cli.h"

int tp_cli_import(int argc, char **argv) {
        (void) argc;
        (void) argv;
        fputs("touchpoint import: not built yet\n", stderr);
        return 1;
}
