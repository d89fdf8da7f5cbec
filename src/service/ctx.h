/* SPDX-License-Identifier: MIT */
/*
 * ctx.h -- what a running server's services share: configuration, the store
 * handle for everything but ingest (with its lock), the catalogue, the keys and
 * the ingest writer.  Owned by src/server/server.c; everything else borrows it.
 */
#ifndef TP_CTX_H
#define TP_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine/engine.h"
#include "service/catalog.h"
#include "service/config.h"
#include "service/custidx.h"
#include "service/ingest.h"
#include "service/keys.h"
#include "service/annotate.h"
#include "service/session.h"
#include "store/store.h"

typedef struct tp_ctx {
        const tp_config *cfg;
        tp_store *store;           /* reads and admin writes; hold store_lock */
        pthread_mutex_t store_lock;
        tp_catalog *cat;
        tp_keys *keys;
        tp_sessions *sessions;     /* dashboard sign-ins */
        tp_text *text;             /* sentiment and theme models */
        tp_annotator *ann;         /* reads comments at ingest, over text */
        tp_ingest *ingest;
        tp_custidx *cust;          /* customer timelines */
        tp_engine *engine;         /* analytics */
        tp_store *engine_store;    /* used only inside tp_engine_load(), which serialises itself */
        int64_t started;           /* Unix seconds */
        atomic_uint reports_running; /* bounded by cfg->max_reports */
        atomic_int cust_ready;       /* the customer index finished its first build */
} tp_ctx;

#endif
