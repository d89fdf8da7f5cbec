/* SPDX-License-Identifier: MIT */
/*
 * config.h -- limits and settings, the one global-free place they live.  Filled
 * with defaults by tp_config_init() and overridden by command-line options.
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stddef.h>

typedef struct tp_limits {
        size_t max_body;        /* bytes in one request body */
        size_t max_items;       /* items in one batch */
        int max_depth;          /* JSON nesting */
        size_t max_id;          /* bytes in an id or customer id */
        size_t max_comment;     /* bytes in a comment */
        size_t max_properties;  /* bytes of an event's properties, as compact JSON */
        long future_skew;       /* seconds a time may lie in the future */
} tp_limits;

typedef struct tp_config {
        const char *db_url;
        const char *listen;          /* HOST:PORT */
        tp_limits lim;
        unsigned threads;            /* HTTP worker threads */
        unsigned conn_limit;         /* open connections in all */
        unsigned per_ip_limit;       /* open connections from one address */
        unsigned conn_timeout;       /* seconds of inactivity before a connection is closed */
        size_t queue_jobs;           /* requests waiting for the writer */
        size_t queue_bytes;          /* bytes of request bodies waiting for the writer */
        size_t txn_max_items;        /* items in one group commit */
        long commit_delay_us;        /* test hook: injected delay before each commit */
        unsigned max_reports;        /* analytics questions answered at once; more get 503 */
        long report_delay_us;        /* test hook: injected delay inside each report */
        const char *web_dir;         /* built dashboard files; NULL: no dashboard */
        long session_ttl;            /* seconds a dashboard sign-in lasts */
        const char *public_url;      /* base of survey links, e.g. https://cx.example; NULL: http://LISTEN */
        const char *text_model_vi;   /* sentiment models and theme taxonomy; NULL: built in */
        const char *text_model_en;
        const char *text_themes;
        long link_clock_offset;      /* test hook: seconds added to "now" when checking link expiry */
        const char *snapshot;        /* the engine's snapshot file; NULL: the store's default
                                      * (FILE.snapshot for sqlite:FILE, none for PostgreSQL) */
        int no_snapshot;             /* neither read nor write a snapshot */
} tp_config;

void tp_config_init(tp_config *cfg);

#endif
