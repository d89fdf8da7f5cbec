/* SPDX-License-Identifier: MIT */
/*
 * server.h -- `touchpoint serve`: open the store, start the writer and the HTTP
 * server, print the ready line, wait for SIGTERM/SIGINT, drain, exit.
 */
#ifndef TP_SERVER_H
#define TP_SERVER_H

#include "service/config.h"

/* Returns the process exit code: 0 after a clean shutdown. */
int tp_server_run(const tp_config *cfg);

#endif
