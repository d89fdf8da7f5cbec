/* SPDX-License-Identifier: MIT */
/*
 * cli.h -- the subcommands of `touchpoint`, one file each; main.c dispatches.
 * Each takes the arguments after its name and returns the exit code
 * (0 ok, 1 failure, 2 usage error).
 */
#ifndef TP_CLI_H
#define TP_CLI_H

int tp_cli_serve(int argc, char **argv);
int tp_cli_key(int argc, char **argv);
int tp_cli_journey(int argc, char **argv);
int tp_cli_import(int argc, char **argv);
int tp_cli_check(int argc, char **argv);
int tp_cli_link(int argc, char **argv);
int tp_cli_report(int argc, char **argv);
int tp_cli_text(int argc, char **argv);
int tp_cli_zone(int argc, char **argv);
int tp_cli_snapshot(int argc, char **argv);

/* Shared option helper: if argv[*i] is `name` (taking a value) return the value
 * and advance *i; "--name=value" works too.  NULL otherwise. */
const char *tp_cli_opt(int argc, char **argv, int *i, const char *name);

/* Open and migrate the store of `url` for a CLI command; prints the error. */
struct tp_store;
int tp_cli_open_store(const char *url, int flags, struct tp_store **ret);

#endif
