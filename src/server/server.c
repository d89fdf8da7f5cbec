/* SPDX-License-Identifier: MIT */
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/jsonx.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "http/http.h"
#include "server/server.h"
#include "service/snapshot.h"
#include "service/zone.h"

/* The tailer keeps the customer index current with rows committed by any
 * process, so timelines stay quick to answer. */
typedef struct tailer {
        tp_custidx *ci;
        atomic_int *ready; /* set after a successful catch-up */
        tp_engine *engine;
        tp_store *engine_store;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int stop;
} tailer;

static void *tail_main(void *arg) {
        tailer *t = arg;
        struct timespec ts;
        tp_err err = { 0 };

        pthread_mutex_lock(&t->lock);
        while (!t->stop) {
                tp_time_deadline(1000, &ts);
                pthread_cond_timedwait(&t->cond, &t->lock, &ts);
                if (t->stop)
                        break;
                pthread_mutex_unlock(&t->lock);
                if (tp_custidx_catch_up(t->ci, &err) != TP_OK)
                        tp_log_warn("customer index: %s", err.msg);
                else
                        atomic_store(t->ready, 1);
                if (tp_engine_load(t->engine, t->engine_store, &err) != TP_OK)
                        tp_log_warn("engine: %s", err.msg);
                pthread_mutex_lock(&t->lock);
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

static void tailer_stop(tailer *t) {
        pthread_mutex_lock(&t->lock);
        t->stop = 1;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
        pthread_join(t->thread, NULL);
}

/* The customer index (timelines only) is built on its own thread after the
 * engine has loaded, while the server already answers: the engine gets both
 * cores for its load, and until the index is ready a timeline request gets 503
 * with Retry-After rather than a long wait that would hold an HTTP thread. */
typedef struct cust_build {
        tp_custidx *ci;
        atomic_int *ready;
} cust_build;

static void *cust_build_main(void *arg) {
        cust_build *b = arg;
        int64_t t0 = tp_time_mono_us();
        uint64_t ncust = 0, nrows = 0;
        tp_err err = { 0 };

        if (tp_custidx_catch_up(b->ci, &err) != TP_OK) {
                /* The tailer retries every second and marks the index ready
                 * once a catch-up succeeds; timelines answer 503 until then. */
                tp_log_error("customer index: %s (the tailer retries)", err.msg);
                return NULL;
        }
        tp_custidx_size(b->ci, &ncust, &nrows);
        atomic_store(b->ready, 1);
        tp_log_info("customer index built in %.2f s: %llu customers, %llu rows", (double) (tp_time_mono_us() - t0) / 1e6,
                    (unsigned long long) ncust, (unsigned long long) nrows);
        return NULL;
}

/* ---- the engine's snapshot file -------------------------------------------- */

/* The store is the record; the snapshot only spares start-up a full scan of
 * it.  Read at start when there is one (then only the rows after it come
 * from the store), written in the background after a start that had to read
 * many rows from the store, and at a clean shutdown when the engine has moved
 * on since. */
typedef struct snapper {
        tp_engine *engine;
        const char *db_url;
        const char *path; /* NULL: no snapshot */
        pthread_t thread;
        int started;
} snapper;

/* Write the snapshot through a store handle of its own (for the tail
 * fingerprint), logging the outcome; why says when. */
static void snapshot_write(const snapper *sn, const char *why) {
        int64_t t0 = tp_time_mono_us();
        tp_engine_snap_info info;
        tp_engine_snap_id id;
        tp_store *s = NULL;
        tp_err err = { 0 };

        if (tp_store_open(sn->db_url, TP_STORE_READONLY, &s, &err) != TP_OK ||
            tp_snapshot_id(s, 0, &id, &err) != TP_OK || tp_engine_snapshot_save(sn->engine, sn->path, &id, &err) != TP_OK) {
                tp_log_warn("engine: snapshot %s not written (%s): %s", sn->path, why, err.msg);
        } else if (tp_engine_snapshot_info(sn->path, &info, &err) == TP_OK) {
                tp_log_info("engine: snapshot written to %s in %.2f s (%s): %llu events, %llu responses, %.1f MiB",
                            sn->path, (double) (tp_time_mono_us() - t0) / 1e6, why,
                            (unsigned long long) (info.events + info.anonymous), (unsigned long long) info.responses,
                            (double) info.bytes / 1048576.0);
        }
        tp_store_close(s);
}

/* The background write after start-up.  It holds the engine's writer mutex
 * for the whole write (about a second per 10M events): meanwhile the server
 * answers queries and commits ingest to the store as usual, but the engine
 * takes in no new rows (the tailer waits, and a report's catch-up gives up
 * after its bound and answers from the rows already loaded). */
static void *snapshot_main(void *arg) {
        snapshot_write(arg, "after loading from the store");
        return NULL;
}

/* Try the snapshot on an empty engine; 1 when it was loaded.  rw makes the
 * store's id the first time; ro (the engine's handle) serves the tail check. */
static int snapshot_load(tp_engine *e, const char *path, tp_store *rw, pthread_mutex_t *rw_lock, tp_store *ro) {
        int64_t t0 = tp_time_mono_us(), es = 0, rs = 0;
        tp_engine_snap_id id;
        tp_engine_mem mem;
        tp_err err = { 0 };
        tp_rc rc;

        pthread_mutex_lock(rw_lock);
        rc = tp_snapshot_id(rw, 1, &id, &err);
        pthread_mutex_unlock(rw_lock);
        if (rc == TP_OK) {
                id.tail_arg = ro;
                rc = tp_engine_snapshot_load(e, path, &id, &err);
        }
        if (rc == TP_NOTFOUND) {
                tp_log_info("engine: no snapshot %s yet: loading everything from the store", path);
                return 0;
        }
        if (rc != TP_OK) {
                tp_log_warn("engine: snapshot not used, loading everything from the store: %s", err.msg);
                return 0;
        }
        tp_engine_memory(e, &mem);
        tp_engine_last_seq(e, &es, &rs);
        tp_log_info("engine: loaded from snapshot %s in %.2f s: %llu events, %llu responses (store rows up to "
                    "event seq %lld, response seq %lld)",
                    path, (double) (tp_time_mono_us() - t0) / 1e6, (unsigned long long) (mem.events + mem.anonymous),
                    (unsigned long long) mem.responses, (long long) es, (long long) rs);
        return 1;
}

/* At a clean shutdown: wait for a background write, take in the last commits,
 * and write unless the file already holds exactly these rows. */
static void snapshot_shutdown(snapper *sn, tp_store *engine_store) {
        tp_engine_snap_info info;
        int64_t es = 0, rs = 0;
        tp_err err = { 0 };

        if (sn->started) {
                pthread_join(sn->thread, NULL);
                sn->started = 0;
        }
        if (tp_engine_load(sn->engine, engine_store, &err) != TP_OK)
                tp_log_warn("engine: %s", err.msg);
        tp_engine_last_seq(sn->engine, &es, &rs);
        if (tp_engine_snapshot_info(sn->path, &info, &err) == TP_OK && info.event_seq == es && info.response_seq == rs) {
                tp_log_info("engine: snapshot %s is up to date", sn->path);
                return;
        }
        snapshot_write(sn, "at shutdown");
}

/* Split "HOST:PORT"; 0 on success. */
static int split_listen(const char *listen, char *host, size_t hostsz, unsigned *port) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        unsigned long p;

        if (!colon || (size_t) (colon - listen) >= hostsz || colon == listen)
                return -1;
        p = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || p > 65535)
                return -1;
        memcpy(host, listen, (size_t) (colon - listen));
        host[colon - listen] = '\0';
        if (strcmp(host, "localhost") == 0)
                strcpy(host, "127.0.0.1"); /* NOLINT: fits, host has >= 10 bytes */
        *port = (unsigned) p;
        return 0;
}

int tp_server_run(const tp_config *cfg) {
        tp_ctx ctx = { .cfg = cfg };
        tp_store *wstore = NULL, *cstore = NULL;
        tailer tail = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        snapper snap = { .db_url = cfg->db_url };
        char snap_path[4096];
        int tail_started = 0, cb_started = 0;
        cust_build cb = { 0 };
        pthread_t cb_thread;
        tp_http *http = NULL;
        tp_err err = { 0 };
        sigset_t set;
        char host[64];
        unsigned port = 0, bound = 0;
        int from = 0, sig = 0, code = 1;

        if (split_listen(cfg->listen, host, sizeof(host), &port) != 0) {
                tp_log_error("--listen must be HOST:PORT, e.g. 127.0.0.1:8080 (got '%s')", cfg->listen);
                return 2;
        }
        /* Block the signals before any thread starts, so they all inherit the mask
         * and sigwait() below is the only taker. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);

        tp_log_info("touchpoint starting: libmicrohttpd %s, sqlite %s, jansson %s, libsodium %s", MHD_get_version(),
                    sqlite3_libversion(), JANSSON_VERSION, sodium_version_string());
        pthread_mutex_init(&ctx.store_lock, NULL);
        ctx.started = tp_time_now();
        if (tp_store_open(cfg->db_url, 0, &ctx.store, &err) != TP_OK ||
            tp_store_migrate(ctx.store, &from, &err) != TP_OK) {
                tp_log_error("cannot open the store %s: %s", cfg->db_url, err.msg);
                goto out;
        }
        if (from != tp_store_schema_version(ctx.store))
                tp_log_info("store schema migrated from version %d to %d", from, tp_store_schema_version(ctx.store));
        if (tp_store_open(cfg->db_url, 0, &wstore, &err) != TP_OK) {
                tp_log_error("cannot open the store %s for writing: %s", cfg->db_url, err.msg);
                goto out;
        }
        if (cfg->commit_delay_us > 0)
                tp_store_set_commit_delay_us(wstore, cfg->commit_delay_us);
        if (tp_catalog_new(&ctx.cat, &err) != TP_OK || tp_catalog_load(ctx.cat, ctx.store, &err) != TP_OK ||
            tp_keys_new(ctx.store, &ctx.store_lock, &ctx.keys, &err) != TP_OK ||
            tp_sessions_new(cfg->session_ttl, &ctx.sessions, &err) != TP_OK ||
            tp_text_open(cfg->text_model_vi, cfg->text_model_en, cfg->text_themes, &ctx.text, &err) != TP_OK ||
            tp_annotator_new(ctx.text, &ctx.ann, &err) != TP_OK ||
            tp_ingest_new(wstore, cfg->queue_jobs, cfg->queue_bytes, cfg->txn_max_items, &ctx.ingest, &err) != TP_OK) {
                tp_log_error("cannot start: %s", err.msg);
                goto out;
        }
        if (tp_store_open(cfg->db_url, TP_STORE_READONLY, &cstore, &err) != TP_OK ||
            tp_custidx_new(cstore, &ctx.cust, &err) != TP_OK) {
                tp_log_error("cannot build the customer index: %s", err.msg);
                goto out;
        }
        if (cfg->no_snapshot)
                snap.path = NULL;
        else if (cfg->snapshot)
                snap.path = cfg->snapshot;
        else if (tp_snapshot_default_path(cfg->db_url, snap_path, sizeof(snap_path)) == 0)
                snap.path = snap_path;
        {
                int64_t t0 = tp_time_mono_us();
                uint64_t before = 0, after;
                int warm = 0;
                tp_engine_mem mem;
                tp_engine_opts eo;
                char zone[TP_ZONE_TEXT_MAX];

                /* The organisation's zone (touchpoint zone) is read once: days,
                 * weeks and months begin there until the next start. */
                tp_engine_opts_init(&eo);
                if (tp_store_open(cfg->db_url, TP_STORE_READONLY, &ctx.engine_store, &err) != TP_OK ||
                    tp_zone_get(ctx.engine_store, &eo.tz_offset, &err) != TP_OK ||
                    tp_engine_new(&eo, &ctx.engine, &err) != TP_OK) {
                        tp_log_error("cannot load the analytics engine: %s", err.msg);
                        goto out;
                }
                tp_zone_format(eo.tz_offset, zone);
                tp_log_info("reports use the zone UTC%s", zone);
                snap.engine = ctx.engine;
                if (snap.path && (warm = snapshot_load(ctx.engine, snap.path, ctx.store, &ctx.store_lock,
                                                       ctx.engine_store))) {
                        tp_engine_memory(ctx.engine, &mem);
                        before = mem.events + mem.anonymous + mem.responses + mem.refused;
                }
                if (tp_engine_load(ctx.engine, ctx.engine_store, &err) != TP_OK) {
                        tp_log_error("cannot load the analytics engine: %s", err.msg);
                        goto out;
                }
                tp_engine_memory(ctx.engine, &mem);
                after = mem.events + mem.anonymous + mem.responses + mem.refused;
                tp_log_info("engine loaded in %.2f s: %llu events, %llu responses, %.1f MiB "
                            "(%.1f bytes per event, %.1f per response); %llu rows read from the store%s",
                            (double) (tp_time_mono_us() - t0) / 1e6, (unsigned long long) mem.events,
                            (unsigned long long) mem.responses, (double) mem.total / 1048576.0, mem.per_event,
                            mem.per_response, (unsigned long long) (after - before),
                            warm ? " after the snapshot" : "");
                /* A start that read many rows from the store leaves a snapshot
                 * for the next one: a full load, or a tail of a quarter of
                 * the rows (an import while stopped). */
                if (snap.path && after > before && (!warm || (after - before) * 4 >= after)) {
                        if (pthread_create(&snap.thread, NULL, snapshot_main, &snap) == 0)
                                snap.started = 1;
                        else
                                tp_log_warn("engine: cannot start the snapshot writer");
                }
        }
        cb.ci = ctx.cust;
        cb.ready = &ctx.cust_ready;
        {
                /* A small store is indexed before the ready line (it takes
                 * milliseconds, and timelines then never answer 503); a large
                 * one in the background.  The engine has just counted the rows. */
                tp_engine_mem mem;

                tp_engine_memory(ctx.engine, &mem);
                if (mem.events + mem.anonymous + mem.responses < 2000000) {
                        cust_build_main(&cb);
                } else if (pthread_create(&cb_thread, NULL, cust_build_main, &cb) != 0) {
                        tp_log_error("cannot start the customer index build");
                        goto out;
                } else {
                        cb_started = 1;
                }
        }
        tail.ci = ctx.cust;
        tail.ready = &ctx.cust_ready;
        tail.engine = ctx.engine;
        tail.engine_store = ctx.engine_store;
        if (pthread_create(&tail.thread, NULL, tail_main, &tail) != 0) {
                tp_log_error("cannot start the customer index tailer");
                goto out;
        }
        tail_started = 1;
        if (tp_http_start(&ctx, host, port, &http, &bound, &err) != TP_OK) {
                tp_log_error("%s", err.msg);
                goto out;
        }
        /* The ready line: tests and operators wait for it. */
        printf("listening on http://%s:%u\n", host, bound);
        fflush(stdout);
        tp_log_info("serving %s with %d touchpoints", cfg->db_url, tp_catalog_count(ctx.cat));

        if (sigwait(&set, &sig) == 0)
                tp_log_info("signal %d: finishing requests in flight", sig);
        /* Order matters: stop accepting, let suspended ingest requests get their
         * commit and answer, then stop the writer, then the daemon. */
        /* Order matters: stop accepting and let requests in flight finish; stop
         * the writer, which commits what is queued and resumes those requests
         * (later submits, e.g. on idle keep-alive connections, get 503); wait
         * for the resumed ones to be answered; only then stop the daemon.  The
         * writer's memory stays valid until after the daemon has stopped. */
        tp_http_quiesce(http, 10000);
        tp_ingest_stop(ctx.ingest);
        tp_http_drain(http, 5000);
        code = 0;
out:
        tp_http_stop(http);
        if (tail_started)
                tailer_stop(&tail);
        if (cb_started)
                pthread_join(cb_thread, NULL); /* bounded: one scan of the store */
        if (snap.path && snap.engine && code == 0)
                snapshot_shutdown(&snap, ctx.engine_store);
        if (snap.started)
                pthread_join(snap.thread, NULL);
        tp_custidx_free(ctx.cust);
        tp_store_close(cstore);
        tp_engine_free(ctx.engine);
        tp_store_close(ctx.engine_store);
        tp_ingest_free(ctx.ingest);
        tp_keys_free(ctx.keys);
        tp_sessions_free(ctx.sessions);
        tp_annotator_free(ctx.ann);
        tp_text_free(ctx.text);
        tp_catalog_free(ctx.cat);
        tp_store_close(wstore);
        tp_store_close(ctx.store);
        pthread_mutex_destroy(&ctx.store_lock);
        if (code == 0)
                tp_log_info("stopped");
        return code;
}
