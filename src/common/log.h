/* SPDX-License-Identifier: MIT */
/*
 * log.h -- one-line log records to stderr.  Only the daemon, the HTTP layer and
 * the CLI log; lower layers return errors instead.
 */
#ifndef TP_LOG_H
#define TP_LOG_H

void tp_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tp_log_info(...) tp_log("info", __VA_ARGS__)
#define tp_log_warn(...) tp_log("warn", __VA_ARGS__)
#define tp_log_error(...) tp_log("error", __VA_ARGS__)

#endif
