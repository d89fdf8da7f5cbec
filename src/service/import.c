/* SPDX-License-Identifier: MIT */
/*
 * import.c -- the bulk importer behind `touchpoint import`.
 *
 * Sections: fields; the touchpoint cache; writing (transactions); the CSV
 * pipeline (batches, writer thread); the importer (rejects, progress); CSV (row
 * checks, header, libcsv callbacks, recovery after a broken row); NDJSON (lines
 * cut into chunks for tp_batch_parse); the entry point.
 *
 * The CSV path is the fast one (the benchmark loads 20M events).  Per row it
 * builds no JSON and allocates nothing: cells are copied into a row arena
 * allocated once, a good row moves into the arena of a batch, and touchpoints
 * are looked up in a small hash of its own rather than under the catalogue's
 * lock.  Parsing and checking run on the calling thread while a writer thread
 * stores full batches, because SQLite's inserts are most of the work (measured:
 * the writer is busy about 80% of the time, the parser about 20%).  The rules are
 * the shared checkers of validate.h, called in the same order as
 * tp_validate_event()/tp_validate_response(), so a row and the same item sent to
 * the API fail with the same field, code and message.
 *
 * NDJSON lines are handed to tp_batch_parse() in chunks, which is literally the
 * API's code path; it is slower (jansson per line) and does not need to be fast.
 *
 * Not here: printing (the CLI does it through the callbacks), opening files.
 */
#include <csv.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "common/utf8.h"
#include "service/annotate.h"
#include "service/import.h"
#include "service/validate.h"

#define READ_SIZE (1u << 20)       /* bytes per read() */
#define MAX_COLUMNS 256            /* columns in a CSV header */
#define NDJSON_CHUNK_LINES 4096    /* lines per tp_batch_parse() call */
#define NDJSON_CHUNK_BYTES (8u << 20)
#define PROGRESS_EVERY 4096        /* rows between looks at the clock */

/* libcsv: strict RFC 4180 quoting, NUL-terminated cells, empty unquoted cells as
 * NULL, every line end reported (so line numbers can be counted), and an
 * unterminated quote at the end of the input reported by csv_fini(). */
#define CSV_OPTS (CSV_STRICT | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL | CSV_REPALL_NL | CSV_STRICT_FINI)

/* ---- fields -------------------------------------------------------------- */

enum {
        F_ID,
        F_CUSTOMER,
        F_TOUCHPOINT,
        F_CHANNEL,
        F_TYPE,
        F_TIME,
        F_VALUE,
        F_CURRENCY,
        F_PROPERTIES,
        F_METRIC,
        F_SCORE,
        F_COMMENT,
        F_LANGUAGE,
        F_EVENT,
        _F_MAX
};

static const char *const field_names[_F_MAX] = {
        [F_ID] = "id",           [F_CUSTOMER] = "customer", [F_TOUCHPOINT] = "touchpoint",
        [F_CHANNEL] = "channel", [F_TYPE] = "type",         [F_TIME] = "time",
        [F_VALUE] = "value",     [F_CURRENCY] = "currency", [F_PROPERTIES] = "properties",
        [F_METRIC] = "metric",   [F_SCORE] = "score",       [F_COMMENT] = "comment",
        [F_LANGUAGE] = "language", [F_EVENT] = "event",
};

#define BIT(f) (1u << (f))
static const unsigned kind_fields[2] = {
        [TP_KIND_EVENTS] = BIT(F_ID) | BIT(F_CUSTOMER) | BIT(F_TOUCHPOINT) | BIT(F_CHANNEL) | BIT(F_TYPE) |
                           BIT(F_TIME) | BIT(F_VALUE) | BIT(F_CURRENCY) | BIT(F_PROPERTIES),
        [TP_KIND_RESPONSES] = BIT(F_ID) | BIT(F_CUSTOMER) | BIT(F_TOUCHPOINT) | BIT(F_CHANNEL) | BIT(F_METRIC) |
                              BIT(F_SCORE) | BIT(F_COMMENT) | BIT(F_LANGUAGE) | BIT(F_TIME) | BIT(F_EVENT),
};
/* Columns a header must have: without them every row would be rejected. */
static const unsigned kind_required[2] = {
        [TP_KIND_EVENTS] = BIT(F_CUSTOMER) | BIT(F_TOUCHPOINT) | BIT(F_TYPE),
        [TP_KIND_RESPONSES] = BIT(F_TOUCHPOINT) | BIT(F_METRIC) | BIT(F_SCORE),
};

static int field_of(tp_kind kind, const char *name) {
        for (int f = 0; f < _F_MAX; f++)
                if ((kind_fields[kind] & BIT(f)) && strcasecmp(name, field_names[f]) == 0)
                        return f;
        return -1;
}

int tp_import_field_valid(tp_kind kind, const char *field) {
        return strcmp(field, "-") == 0 || field_of(kind, field) >= 0;
}

const char *tp_import_field_list(tp_kind kind) {
        return kind == TP_KIND_EVENTS ? "id, customer, touchpoint, channel, type, time, value, currency, properties"
                                      : "id, customer, touchpoint, channel, metric, score, comment, language, time, "
                                        "event";
}

static int ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n > k && strcasecmp(s + n - k, suffix) == 0;
}

tp_rc tp_import_format_of(const char *name, tp_import_format *ret_format) {
        if (ends_with(name, ".csv")) {
                *ret_format = TP_IMPORT_CSV;
                return TP_OK;
        }
        if (ends_with(name, ".ndjson") || ends_with(name, ".jsonl")) {
                *ret_format = TP_IMPORT_NDJSON;
                return TP_OK;
        }
        return TP_NOTFOUND;
}

/* ---- the touchpoint cache ------------------------------------------------ */

/* Open addressing, FNV-1a, at most half full: a catalogue has tens to hundreds
 * of touchpoints, and a hit costs one hash and one strcmp. */
typedef struct tp_slot {
        char *key; /* owned; NULL marks an empty slot */
        uint32_t hash;
        int64_t id;
        char *channel; /* owned; NULL when the touchpoint has none */
} tp_slot;

typedef struct tp_cache {
        tp_slot *v;
        size_t cap, n; /* cap is a power of two */
} tp_cache;

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;

        while (*s)
                h = (h ^ (unsigned char) *s++) * 16777619u;
        return h;
}

static tp_slot *cache_find(tp_cache *c, const char *key, uint32_t h) {
        if (!c->cap)
                return NULL;
        for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
                tp_slot *s = &c->v[i];
                if (!s->key)
                        return NULL;
                if (s->hash == h && strcmp(s->key, key) == 0)
                        return s;
        }
}

static void cache_place(tp_cache *c, tp_slot s) {
        size_t i = s.hash & (c->cap - 1);

        while (c->v[i].key)
                i = (i + 1) & (c->cap - 1);
        c->v[i] = s;
}

static tp_rc cache_put(tp_cache *c, const char *key, uint32_t h, int64_t id, const char *channel) {
        tp_slot s = { .hash = h, .id = id };

        if ((c->n + 1) * 2 > c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 64;
                tp_slot *old = c->v, *nv = tp_calloc(ncap, sizeof(*nv));
                size_t ocap = c->cap;
                if (!nv)
                        return TP_NOMEM;
                c->v = nv;
                c->cap = ncap;
                for (size_t i = 0; i < ocap; i++)
                        if (old[i].key)
                                cache_place(c, old[i]);
                tp_free(old);
        }
        s.key = tp_strdup(key);
        s.channel = channel ? tp_strdup(channel) : NULL;
        if (!s.key || (channel && !s.channel)) {
                tp_free(s.key);
                tp_free(s.channel);
                return TP_NOMEM;
        }
        cache_place(c, s);
        c->n++;
        return TP_OK;
}

static void cache_done(tp_cache *c) {
        for (size_t i = 0; i < c->cap; i++) {
                tp_free(c->v[i].key);
                tp_free(c->v[i].channel);
        }
        tp_free(c->v);
        memset(c, 0, sizeof(*c));
}

/* ---- writing ------------------------------------------------------------- */

/* The store side of an import: transactions of txn_rows rows, the counts, and
 * the touchpoints created on the way.  Used by one thread only: the writer
 * thread for CSV, the one thread for NDJSON. */
typedef struct writer {
        tp_store *store;
        size_t txn_rows;
        int in_txn;
        uint64_t pend_taken; /* rows in the open transaction */
        uint64_t pend_dup;
        uint64_t taken;      /* rows in committed transactions */
        uint64_t dup;
        tp_cache created;    /* touchpoints this import created: key -> id */
        tp_err err;          /* why the last call failed */
} writer;

static tp_rc w_begin(writer *w) {
        tp_rc rc;

        if (w->in_txn)
                return TP_OK;
        rc = tp_store_begin(w->store, &w->err);
        if (rc != TP_OK) {
                tp_store_rollback(w->store);
                return rc;
        }
        w->in_txn = 1;
        return TP_OK;
}

static tp_rc w_commit(writer *w) {
        tp_rc rc;

        if (!w->in_txn)
                return TP_OK;
        w->in_txn = 0;
        rc = tp_store_commit(w->store, &w->err);
        if (rc != TP_OK) {
                tp_store_rollback(w->store);
                return rc;
        }
        w->taken += w->pend_taken;
        w->dup += w->pend_dup;
        w->pend_taken = w->pend_dup = 0;
        return TP_OK;
}

static void w_rollback(writer *w) {
        if (w->in_txn)
                tp_store_rollback(w->store);
        w->in_txn = 0;
        w->pend_taken = w->pend_dup = 0;
}

/* Store one good row (exactly one of ev, rs is set). */
static tp_rc w_put(writer *w, const tp_event *ev, const tp_response *rs) {
        int dup = 0;
        tp_rc rc = w_begin(w);

        if (rc != TP_OK)
                return rc;
        rc = ev ? tp_store_event_put(w->store, ev, &dup, &w->err) : tp_store_response_put(w->store, rs, &dup, &w->err);
        if (rc != TP_OK)
                return rc;
        if (dup)
                w->pend_dup++;
        else
                w->pend_taken++;
        if (w->pend_taken + w->pend_dup >= w->txn_rows)
                return w_commit(w);
        return TP_OK;
}

/* The id of a touchpoint to create (--create-touchpoints), created in the open
 * transaction the first time. */
static tp_rc w_touchpoint(writer *w, const char *key, int64_t *ret_id) {
        uint32_t h = fnv1a(key);
        tp_slot *s = cache_find(&w->created, key, h);
        int64_t id = 0;
        tp_rc rc;

        if (s) {
                *ret_id = s->id;
                return TP_OK;
        }
        if ((rc = w_begin(w)) != TP_OK)
                return rc;
        if ((rc = tp_store_touchpoint_ensure(w->store, key, &id, &w->err)) != TP_OK)
                return rc;
        if (cache_put(&w->created, key, h, id, NULL) != TP_OK)
                return tp_err_set(&w->err, TP_NOMEM, "out of memory");
        *ret_id = id;
        return TP_OK;
}

/* ---- the CSV pipeline ---------------------------------------------------- */

/* CSV rows are parsed and checked on the calling thread and written by a writer
 * thread, so parsing overlaps SQLite's work (which is most of the time).  Full
 * batches go to the writer through a queue and come back empty: NBATCH batches
 * bound the memory and the distance between the two threads.  The strings of a
 * batch's rows live in its arena. */
#define BATCH_ROWS 4096
#define NBATCH 3

typedef struct wbatch {
        struct wbatch *next;
        size_t n;
        tp_event *ev;        /* BATCH_ROWS rows (kind EVENTS) */
        tp_response *rs;     /* or BATCH_ROWS rows (kind RESPONSES) */
        const char **newkey; /* per row: the touchpoint to create first, or NULL */
        char *arena;
        size_t used, cap;
} wbatch;

static void batch_free(wbatch *b) {
        if (!b)
                return;
        tp_free(b->ev);
        tp_free(b->rs);
        tp_free(b->newkey);
        tp_free(b->arena);
        tp_free(b);
}

static wbatch *batch_new(tp_kind kind, size_t arena) {
        wbatch *b = tp_calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        if (kind == TP_KIND_EVENTS)
                b->ev = tp_malloc(BATCH_ROWS * sizeof(*b->ev));
        else
                b->rs = tp_malloc(BATCH_ROWS * sizeof(*b->rs));
        b->newkey = tp_malloc(BATCH_ROWS * sizeof(*b->newkey));
        b->arena = tp_malloc(arena);
        b->cap = arena;
        if ((kind == TP_KIND_EVENTS ? !b->ev : !b->rs) || !b->newkey || !b->arena) {
                batch_free(b);
                return NULL;
        }
        return b;
}

static tp_rc write_batch(writer *w, tp_kind kind, wbatch *b) {
        tp_rc rc = TP_OK;

        for (size_t i = 0; rc == TP_OK && i < b->n; i++) {
                int64_t *tp = kind == TP_KIND_EVENTS ? &b->ev[i].touchpoint : &b->rs[i].touchpoint;
                if (b->newkey[i] && (rc = w_touchpoint(w, b->newkey[i], tp)) != TP_OK)
                        break;
                rc = w_put(w, kind == TP_KIND_EVENTS ? &b->ev[i] : NULL, kind == TP_KIND_RESPONSES ? &b->rs[i] : NULL);
        }
        b->n = 0;
        b->used = 0;
        return rc;
}

typedef struct wpipe {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        pthread_t thread;
        int threaded;        /* a writer thread runs; otherwise batches are written inline */
        wbatch *queue;       /* full batches, oldest first */
        wbatch *queue_tail;
        wbatch *spare;       /* empty batches */
        wbatch *cur;         /* the batch being filled (parser side) */
        int done;            /* the parser has handed over everything */
        int abort;           /* stop: the writer failed, or the parser did */
        tp_rc wrc;           /* the writer's result; its detail in writer.err */
        writer *w;
        tp_kind kind;
} wpipe;

/* The writer thread's end: commit what is left, unless the import was aborted. */
static void pipe_writer_finish(wpipe *p) {
        int abort;
        tp_rc rc = TP_OK;

        pthread_mutex_lock(&p->mu);
        abort = p->abort;
        pthread_mutex_unlock(&p->mu);
        if (abort)
                w_rollback(p->w);
        else
                rc = w_commit(p->w);
        if (rc != TP_OK) {
                pthread_mutex_lock(&p->mu);
                p->wrc = rc;
                pthread_mutex_unlock(&p->mu);
        }
}


/* Write one batch, hand it back to the spare list and record a failure (which
 * aborts the import); used by the writer thread and by the unthreaded path. */
static tp_rc write_and_recycle(wpipe *p, wbatch *b) {
        tp_rc rc = write_batch(p->w, p->kind, b);

        pthread_mutex_lock(&p->mu);
        b->next = p->spare;
        p->spare = b;
        if (rc != TP_OK) {
                p->wrc = rc;
                p->abort = 1;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return rc;
}

static void *pipe_writer_main(void *arg) {
        wpipe *p = arg;

        for (;;) {
                wbatch *b;
                tp_rc rc;

                pthread_mutex_lock(&p->mu);
                while (!p->queue && !p->done && !p->abort)
                        pthread_cond_wait(&p->cv, &p->mu);
                b = p->abort ? NULL : p->queue;
                if (b) {
                        p->queue = b->next;
                        if (!p->queue)
                                p->queue_tail = NULL;
                }
                pthread_mutex_unlock(&p->mu);
                if (!b)
                        break;
                rc = write_and_recycle(p, b);
                if (rc != TP_OK)
                        break;
        }
        pipe_writer_finish(p);
        return NULL;
}

/* An empty batch for the parser, or NULL when the import is being aborted. */
static wbatch *pipe_get(wpipe *p) {
        wbatch *b;

        pthread_mutex_lock(&p->mu);
        while (!p->spare && !p->abort)
                pthread_cond_wait(&p->cv, &p->mu);
        b = p->abort ? NULL : p->spare;
        if (b)
                p->spare = b->next;
        pthread_mutex_unlock(&p->mu);
        if (b)
                b->next = NULL;
        return b;
}

/* Hand the current batch to the writer and take an empty one.  TP_OK, or the
 * import is being aborted (the reason is the writer's). */
static tp_rc pipe_submit(wpipe *p) {
        wbatch *b = p->cur;

        p->cur = NULL;
        if (!p->threaded) {
                /* A failure sets p->abort, which pipe_get() below reports. */
                (void) write_and_recycle(p, b);
        } else {
                pthread_mutex_lock(&p->mu);
                if (p->queue_tail)
                        p->queue_tail->next = b;
                else
                        p->queue = b;
                p->queue_tail = b;
                pthread_cond_broadcast(&p->cv);
                pthread_mutex_unlock(&p->mu);
        }
        p->cur = pipe_get(p);
        return p->cur ? TP_OK : TP_INTERNAL;
}

static tp_rc pipe_start(wpipe *p, writer *w, tp_kind kind, size_t arena, tp_err *err) {
        memset(p, 0, sizeof(*p));
        p->w = w;
        p->kind = kind;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        for (int i = 0; i < NBATCH; i++) {
                wbatch *b = batch_new(kind, arena);
                if (!b) {
                        while ((b = p->spare)) {
                                p->spare = b->next;
                                batch_free(b);
                        }
                        pthread_cond_destroy(&p->cv);
                        pthread_mutex_destroy(&p->mu);
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                }
                b->next = p->spare;
                p->spare = b;
        }
        p->cur = pipe_get(p);
        /* Without a thread the import still works, only slower. */
        p->threaded = pthread_create(&p->thread, NULL, pipe_writer_main, p) == 0;
        return TP_OK;
}

/* Finish (ok: hand over the last batch and let the writer commit) or abort, wait
 * for the writer, and free the batches.  Returns the writer's result. */
static tp_rc pipe_stop(wpipe *p, int ok) {
        wbatch *b;
        tp_rc rc;

        if (ok && p->cur && p->cur->n > 0)
                (void) pipe_submit(p);
        pthread_mutex_lock(&p->mu);
        if (ok)
                p->done = 1;
        else
                p->abort = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (p->threaded)
                pthread_join(p->thread, NULL);
        else
                pipe_writer_finish(p);
        p->threaded = 0;
        rc = p->wrc;
        batch_free(p->cur);
        while ((b = p->spare)) {
                p->spare = b->next;
                batch_free(b);
        }
        while ((b = p->queue)) {
                p->queue = b->next;
                batch_free(b);
        }
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return rc;
}

/* ---- the importer -------------------------------------------------------- */

/* One CSV row being read: its mapped cells, copied out of libcsv's buffer. */
typedef struct row {
        const char *f[_F_MAX]; /* cell text, NULL when the cell is absent or empty */
        char *arena;           /* room for one cell per field, allocated once */
        size_t used;
        size_t ncells;         /* cells seen so far, mapped or not */
        uint64_t line;         /* the line the row starts on */
        uint64_t nl;           /* line feeds inside its (quoted) cells */
        int cr;                /* the previous row ended with CR: a lone LF now ends no line */
        int bad;               /* a problem was found while reading the cells: see why */
        tp_err why;
} row;

typedef struct importer {
        tp_store *store;
        tp_catalog *cat;
        const tp_import_opts *o;
        tp_import_stats *st;
        tp_err *err;         /* the caller's: the one fatal error */
        tp_rc rc;            /* TP_OK until something fatal happened */
        int writer_failed;   /* rc is the writer's: its detail is in w.err */
        tp_limits lim;
        tp_vctx v;
        writer w;
        int64_t start_us, last_progress_us, progress_us;
        tp_cache tps;        /* touchpoints seen: key -> id (0: to be created) */
        char id_buf[28];

        /* CSV */
        wpipe pipe;
        struct csv_parser csv;
        int csv_live;        /* csv needs csv_free() */
        int have_header;
        int skipping;        /* discarding input up to the next LF after a broken row */
        char **header;       /* column names until the header is done */
        size_t nheader;
        signed char colf[MAX_COLUMNS]; /* field of each column, -1: ignored */
        size_t ncols;
        row r;
} importer;

static void fail(importer *m, tp_rc rc) {
        if (m->rc == TP_OK)
                m->rc = rc;
}

/* A store call of the writer failed (on this thread): its detail becomes the error. */
static tp_rc fail_writer(importer *m, tp_rc rc) {
        if (m->rc == TP_OK) {
                m->rc = rc;
                m->writer_failed = 1;
        }
        return rc;
}

static void tick(importer *m) {
        int64_t now = tp_time_mono_us();

        if (now - m->last_progress_us < m->progress_us)
                return;
        m->last_progress_us = now;
        if (!m->o->now)
                m->v.now = tp_time_now();
        if (m->o->progress) {
                m->st->elapsed_us = now - m->start_us;
                m->o->progress(m->o->progress_arg, m->st);
        }
}

static void reject(importer *m, uint64_t line, const tp_err *why) {
        m->st->rejected++;
        if (m->o->on_reject && m->rc == TP_OK) {
                tp_rc rc = m->o->on_reject(m->o->reject_arg, line, why, m->err);
                if (rc != TP_OK)
                        fail(m, rc);
        }
}

/* ---- CSV: row checks ----------------------------------------------------- */

/* Resolve a touchpoint key through the cache.  *ret_new is set when the key is
 * unknown but may be created (--create-touchpoints): the writer creates it when
 * it stores the row, so a rejected row creates nothing. */
static tp_rc csv_touchpoint(importer *m, const char *key, int64_t *ret_id, const char **ret_channel, int *ret_new,
                            tp_err *e) {
        uint32_t h = fnv1a(key);
        tp_slot *s = cache_find(&m->tps, key, h);
        const char *chan = NULL;
        int64_t id = 0;
        tp_rc rc;

        if (!s) {
                rc = tp_check_touchpoint(&m->v, key, &id, &chan, e);
                if (rc != TP_OK)
                        return rc;
                if (cache_put(&m->tps, key, h, id, chan) != TP_OK)
                        return tp_err_set(m->err, TP_NOMEM, "out of memory");
                s = cache_find(&m->tps, key, h);
        }
        *ret_id = s->id;
        *ret_channel = s->channel;
        *ret_new = s->id == 0;
        return TP_OK;
}

/* The fields every row has, in tp_validate_*()'s order (see common_fields() in
 * validate.c).  Bad input is TP_UNPROCESSABLE in e; anything else is fatal. */
static tp_rc csv_common(importer *m, const row *r, int customer_required, const char **ret_id,
                        const char **ret_customer, int64_t *ret_tp, const char **ret_channel, int64_t *ret_ts,
                        int *ret_new, tp_err *e) {
        const char *id = r->f[F_ID], *customer = r->f[F_CUSTOMER], *tp = r->f[F_TOUCHPOINT];
        const char *channel = r->f[F_CHANNEL], *time = r->f[F_TIME], *tpchan = NULL;
        tp_rc rc;

        if (id && (rc = tp_check_id(id, "id", m->lim.max_id, e)) != TP_OK)
                return rc;
        if (!customer && customer_required)
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "customer", "'customer' is required");
        if (customer && (rc = tp_check_id(customer, "customer", m->lim.max_id, e)) != TP_OK)
                return rc;
        if (!tp)
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "touchpoint", "'touchpoint' is required");
        if ((rc = csv_touchpoint(m, tp, ret_tp, &tpchan, ret_new, e)) != TP_OK)
                return rc;
        if (channel && (rc = tp_check_channel(channel, e)) != TP_OK)
                return rc;
        *ret_ts = m->v.now;
        if (time) {
                if ((rc = tp_time_parse_rfc3339(time, "time", ret_ts, e)) != TP_OK) {
                        e->code = "invalid_value";
                        return rc;
                }
                if ((rc = tp_check_time(*ret_ts, &m->v, e)) != TP_OK)
                        return rc;
        }
        if (!id) {
                tp_gen_id(m->id_buf);
                id = m->id_buf;
        }
        *ret_id = id;
        *ret_customer = customer;
        *ret_channel = channel ? channel : tpchan;
        return TP_OK;
}

/* The properties cell: JSON object text, stored compact as the API stores it.
 * *ret_text is owned by the caller (tp_free). */
static tp_rc csv_properties(importer *m, const char *s, char **ret_text, tp_err *e) {
        json_t *j = NULL;
        tp_err je = { 0 };
        char *text;
        size_t len = 0;
        tp_rc rc;

        rc = tp_json_parse(s, strlen(s), m->lim.max_depth, &j, &je);
        if (rc == TP_NOMEM)
                return tp_err_set(m->err, TP_NOMEM, "out of memory");
        if (rc != TP_OK)
                return tp_err_setc(e, TP_UNPROCESSABLE, "invalid_value", "properties",
                                   "'properties' must be a JSON object: %.200s", je.msg);
        if (!json_is_object(j)) {
                rc = tp_err_setc(e, TP_UNPROCESSABLE, "invalid_type", "properties",
                                 "'properties' must be an object, not %s", tp_json_type_name(j));
                json_decref(j);
                return rc;
        }
        text = tp_json_dump(j, &len);
        json_decref(j);
        if (!text)
                return tp_err_set(m->err, TP_NOMEM, "out of memory");
        if (len > m->lim.max_properties) {
                tp_free(text);
                return tp_err_setc(e, TP_UNPROCESSABLE, "too_long", "properties",
                                   "'properties' is %zu bytes as JSON; the limit is %zu", len,
                                   m->lim.max_properties);
        }
        *ret_text = text;
        return TP_OK;
}

/* Check an events row; on success *ret_ev points into the row (and into
 * *ret_props, owned by the caller, when there are properties). */
static tp_rc csv_event(importer *m, const row *r, tp_event *ret_ev, char **ret_props, int *ret_new, tp_err *e) {
        const char *const *f = r->f;
        tp_event ev = { 0 };
        long long value = 0;
        char *props = NULL;
        tp_rc rc;

        rc = csv_common(m, r, 1, &ev.id, &ev.customer, &ev.touchpoint, &ev.channel, &ev.ts, ret_new, e);
        if (rc != TP_OK)
                return rc;
        if (!f[F_TYPE])
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "type", "'type' is required");
        if ((rc = tp_check_event_type(f[F_TYPE], e)) != TP_OK)
                return rc;
        ev.type = f[F_TYPE];
        if (f[F_VALUE] && (rc = tp_parse_int(f[F_VALUE], "value", &value, e)) != TP_OK)
                return rc;
        if (f[F_CURRENCY] && !f[F_VALUE])
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "value", "'currency' given without 'value'");
        if (f[F_CURRENCY] && (rc = tp_check_currency(f[F_CURRENCY], e)) != TP_OK)
                return rc;
        if (f[F_VALUE] && (value < -1000000000000000LL || value > 1000000000000000LL))
                return tp_err_setc(e, TP_UNPROCESSABLE, "out_of_range", "value",
                                   "'value' must lie within +-10^15 minor units");
        ev.has_value = f[F_VALUE] != NULL;
        ev.value = value;
        ev.currency = ev.has_value ? (f[F_CURRENCY] ? f[F_CURRENCY] : "VND") : NULL;
        if (f[F_PROPERTIES] && (rc = csv_properties(m, f[F_PROPERTIES], &props, e)) != TP_OK)
                return rc;
        ev.properties = props;
        *ret_ev = ev;
        *ret_props = props;
        return TP_OK;
}

static int looks_int(const char *s) {
        return (s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9');
}

/* Check a responses row; on success *ret_rs points into the row. */
static tp_rc csv_response(importer *m, const row *r, tp_response *ret_rs, int *ret_new, tp_err *e) {
        const char *const *f = r->f;
        tp_response rs = { 0 };
        long long score = 0;
        tp_rc rc;

        rc = csv_common(m, r, 0, &rs.id, &rs.customer, &rs.touchpoint, &rs.channel, &rs.ts, ret_new, e);
        if (rc != TP_OK)
                return rc;
        if (!f[F_METRIC])
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "metric", "'metric' is required");
        if (tp_metric_parse(f[F_METRIC], &rs.metric) != TP_OK)
                return tp_err_setc(e, TP_UNPROCESSABLE, "invalid_value", "metric",
                                   "unknown metric '%.32s': use nps, csat, ces, goal, ease or emotion", f[F_METRIC]);
        if (!f[F_SCORE])
                return tp_err_setc(e, TP_UNPROCESSABLE, "missing", "score", "'score' is required");
        /* As in the API: the goal factor takes "yes"/"partly"/"no" or a number. */
        if (rs.metric == TP_METRIC_GOAL && !looks_int(f[F_SCORE])) {
                if ((rc = tp_parse_goal(f[F_SCORE], &rs.score, e)) != TP_OK)
                        return rc;
        } else {
                if ((rc = tp_parse_int(f[F_SCORE], "score", &score, e)) != TP_OK)
                        return rc;
                if ((rc = tp_check_score(rs.metric, score, e)) != TP_OK)
                        return rc;
                rs.score = (int) score;
        }
        rs.comment = f[F_COMMENT];
        if (rs.comment && strlen(rs.comment) > m->lim.max_comment)
                return tp_err_setc(e, TP_UNPROCESSABLE, "too_long", "comment",
                                   "'comment' is %zu bytes; the limit is %zu", strlen(rs.comment),
                                   m->lim.max_comment);
        rs.language = f[F_LANGUAGE];
        if (rs.language && (rc = tp_check_language(rs.language, e)) != TP_OK)
                return rc;
        rs.event = f[F_EVENT];
        if (rs.event && (rc = tp_check_id(rs.event, "event", m->lim.max_id, e)) != TP_OK)
                return rc;
        tp_annotate_response(m->v.ann, &rs);
        *ret_rs = rs;
        return TP_OK;
}

/* Where p (a string of a checked row) lives in the batch arena at dest: the
 * row's cells move there; static strings and cached channels stay put. */
static const char *reloc(const row *r, char *dest, const char *p) {
        uintptr_t a = (uintptr_t) r->arena, x = (uintptr_t) p;

        return p && x >= a && x < a + r->used ? dest + (x - a) : p;
}

/* Move a checked row into the current batch: its cells, a generated id and its
 * properties text go into the batch's arena.  Takes props (freed here). */
static tp_rc add_row(importer *m, const tp_event *ev, const tp_response *rs, int is_new, char *props) {
        const row *r = &m->r;
        wpipe *p = &m->pipe;
        const char *id = ev ? ev->id : rs->id;
        size_t idn = id == m->id_buf ? sizeof(m->id_buf) : 0, pn = props ? strlen(props) + 1 : 0;
        size_t need = r->used + idn + pn;
        wbatch *b = p->cur;
        char *dest;

        if (b->n == BATCH_ROWS || b->cap - b->used < need) {
                if (pipe_submit(p) != TP_OK) {
                        /* The writer failed: pipe_stop() will say why. */
                        tp_free(props);
                        return fail_writer(m, TP_INTERNAL);
                }
                b = p->cur;
        }
        dest = b->arena + b->used;
        memcpy(dest, r->arena, r->used);
        if (idn)
                memcpy(dest + r->used, m->id_buf, idn);
        if (pn)
                memcpy(dest + r->used + idn, props, pn);
        tp_free(props);
        if (ev) {
                tp_event *o = &b->ev[b->n];
                *o = *ev;
                o->id = idn ? dest + r->used : reloc(r, dest, ev->id);
                o->customer = reloc(r, dest, ev->customer);
                o->channel = reloc(r, dest, ev->channel);
                o->type = reloc(r, dest, ev->type);
                o->currency = reloc(r, dest, ev->currency);
                o->properties = pn ? dest + r->used + idn : NULL;
        } else {
                tp_response *o = &b->rs[b->n];
                *o = *rs;
                o->id = idn ? dest + r->used : reloc(r, dest, rs->id);
                o->customer = reloc(r, dest, rs->customer);
                o->channel = reloc(r, dest, rs->channel);
                o->comment = reloc(r, dest, rs->comment);
                o->language = reloc(r, dest, rs->language);
                o->event = reloc(r, dest, rs->event);
        }
        b->newkey[b->n] = is_new ? reloc(r, dest, r->f[F_TOUCHPOINT]) : NULL;
        b->n++;
        b->used += need;
        return TP_OK;
}

static void csv_take_row(importer *m) {
        row *r = &m->r;
        tp_event ev;
        tp_response rs;
        char *props = NULL;
        int is_new = 0;
        tp_err e = { 0 };
        tp_rc rc;

        m->st->rows_read++;
        if (r->bad) {
                reject(m, r->line, &r->why);
        } else {
                if (m->o->kind == TP_KIND_EVENTS)
                        rc = csv_event(m, r, &ev, &props, &is_new, &e);
                else
                        rc = csv_response(m, r, &rs, &is_new, &e);
                if (rc == TP_OK)
                        rc = add_row(m, m->o->kind == TP_KIND_EVENTS ? &ev : NULL,
                                     m->o->kind == TP_KIND_RESPONSES ? &rs : NULL, is_new, props);
                if (rc == TP_UNPROCESSABLE)
                        reject(m, r->line, &e);
                else if (rc != TP_OK)
                        fail(m, rc);
        }
        if (m->st->rows_read % PROGRESS_EVERY == 0)
                tick(m);
}

/* ---- CSV: header --------------------------------------------------------- */

static void header_free(importer *m) {
        for (size_t i = 0; i < m->nheader; i++)
                tp_free(m->header[i]);
        tp_free(m->header);
        m->header = NULL;
        m->nheader = 0;
}

static void header_cell(importer *m, const char *cell, size_t len) {
        char **h;

        if (m->nheader >= MAX_COLUMNS) {
                if (m->nheader == MAX_COLUMNS)
                        fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: the header has more than %d columns",
                                           (unsigned long long) m->r.line, MAX_COLUMNS));
                return;
        }
        if (cell && !tp_utf8_valid(cell, len)) {
                fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: column %zu of the header is not valid UTF-8",
                                   (unsigned long long) m->r.line, m->nheader + 1));
                return;
        }
        h = tp_realloc(m->header, (m->nheader + 1) * sizeof(*h));
        if (!h) {
                fail(m, tp_err_set(m->err, TP_NOMEM, "out of memory"));
                return;
        }
        m->header = h;
        h[m->nheader] = tp_strndup(cell ? cell : "", cell ? len : 0);
        if (!h[m->nheader]) {
                fail(m, tp_err_set(m->err, TP_NOMEM, "out of memory"));
                return;
        }
        m->nheader++;
}

/* Appends to out (size outsz) without overflowing. */
static void catf(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void catf(char *out, size_t outsz, const char *fmt, ...) {
        size_t n = strlen(out);
        va_list ap;

        if (n + 1 >= outsz)
                return;
        va_start(ap, fmt);
        (void) vsnprintf(out + n, outsz - n, fmt, ap);
        va_end(ap);
}

/* Map the header's columns to fields: --map first, then the names themselves. */
static void header_done(importer *m) {
        const tp_import_opts *o = m->o;
        tp_kind kind = o->kind;
        unsigned seen = 0;
        int col_of[_F_MAX];
        char unknown[160] = "", missing[96] = "";
        size_t nunknown = 0;
        unsigned long long line = (unsigned long long) m->r.line;

        for (int f = 0; f < _F_MAX; f++)
                col_of[f] = -1;
        for (size_t i = 0; i < o->nmap; i++) {
                size_t c = 0;
                while (c < m->nheader && strcasecmp(m->header[c], o->map[i].column) != 0)
                        c++;
                if (c == m->nheader) {
                        fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: --map %.60s=%.30s: the header has no column '%.60s'",
                                           line, o->map[i].column, o->map[i].field, o->map[i].column));
                        return;
                }
        }
        for (size_t c = 0; c < m->nheader; c++) {
                const char *name = m->header[c];
                int f;

                for (size_t i = 0; i < o->nmap; i++)
                        if (strcasecmp(name, o->map[i].column) == 0)
                                name = o->map[i].field;
                if (strcmp(name, "-") == 0) {
                        m->colf[c] = -1;
                        continue;
                }
                if (!*name) {
                        fail(m, tp_err_set(m->err, TP_INVALID,
                                           "line %llu: column %zu of the header has no name; every column needs one",
                                           line, c + 1));
                        return;
                }
                f = field_of(kind, name);
                if (f < 0) {
                        catf(unknown, sizeof(unknown), "%s'%.40s'", nunknown ? ", " : "", m->header[c]);
                        nunknown++;
                        continue;
                }
                if (seen & BIT(f)) {
                        fail(m, tp_err_set(m->err, TP_INVALID,
                                           "line %llu: columns %d ('%.40s') and %zu ('%.40s') both hold '%s'", line,
                                           col_of[f] + 1, m->header[col_of[f]], c + 1, m->header[c],
                                           field_names[f]));
                        return;
                }
                seen |= BIT(f);
                col_of[f] = (int) c;
                m->colf[c] = (signed char) f;
        }
        if (nunknown) {
                fail(m, tp_err_set(m->err, TP_INVALID,
                                   "line %llu: unknown column%s %s; %s have %s (rename with --map COLUMN=FIELD, skip "
                                   "with --map COLUMN=-)",
                                   line, nunknown > 1 ? "s" : "", unknown,
                                   kind == TP_KIND_EVENTS ? "events" : "responses", tp_import_field_list(kind)));
                return;
        }
        for (int f = 0; f < _F_MAX; f++)
                if ((kind_required[kind] & BIT(f)) && !(seen & BIT(f)))
                        catf(missing, sizeof(missing), "%s'%s'", missing[0] ? ", " : "", field_names[f]);
        if (missing[0]) {
                fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: the header has no column for %s, which %s require",
                                   line, missing, kind == TP_KIND_EVENTS ? "events" : "responses"));
                return;
        }
        m->ncols = m->nheader;
        m->have_header = 1;
        header_free(m);
}

/* ---- CSV: libcsv callbacks ----------------------------------------------- */

static void row_bad(row *r, const char *field, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void row_bad(row *r, const char *field, const char *code, const char *fmt, ...) {
        va_list ap;

        if (r->bad)
                return; /* the first problem is the one reported */
        r->bad = 1;
        r->why.rc = TP_UNPROCESSABLE;
        r->why.code = code;
        (void) snprintf(r->why.field, sizeof(r->why.field), "%s", field);
        va_start(ap, fmt);
        (void) vsnprintf(r->why.msg, sizeof(r->why.msg), fmt, ap);
        va_end(ap);
}

static void row_reset(row *r, uint64_t next_line) {
        memset(r->f, 0, sizeof(r->f));
        r->used = 0;
        r->ncells = 0;
        r->nl = 0;
        r->bad = 0;
        r->line = next_line;
}

/* 1 when every byte is printable ASCII: the common case, which needs neither a
 * UTF-8 check nor a count of line feeds. */
static int plain_ascii(const unsigned char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return 0;
        return 1;
}

static uint64_t count_lf(const char *s, size_t n) {
        uint64_t k = 0;
        const char *p = s, *end = s + n;

        while (p < end && (p = memchr(p, '\n', (size_t) (end - p))) != NULL) {
                k++;
                p++;
        }
        return k;
}

static const char *column_field(const importer *m, size_t col) {
        if (!m->have_header || col >= m->ncols || m->colf[col] < 0)
                return "";
        return field_names[(int) m->colf[col]];
}

static void on_cell(void *data, size_t len, void *arg) {
        importer *m = arg;
        row *r = &m->r;
        const char *cell = data;
        size_t col = r->ncells++;
        int plain = !cell || plain_ascii(data, len), f;

        if (!plain)
                r->nl += count_lf(cell, len);
        if (m->rc != TP_OK)
                return;
        if (!m->have_header) {
                header_cell(m, cell, len);
                return;
        }
        if (r->bad)
                return;
        if (col >= m->ncols) {
                row_bad(r, "", "too_many_columns", "the row has more than the header's %zu columns", m->ncols);
                return;
        }
        f = m->colf[col];
        if (f < 0 || !cell || len == 0)
                return;
        if (len > TP_IMPORT_CELL_MAX) {
                row_bad(r, field_names[f], "too_long", "the cell is longer than the limit of %d bytes",
                        TP_IMPORT_CELL_MAX);
                return;
        }
        if (!plain && !tp_utf8_valid(cell, len)) {
                row_bad(r, field_names[f], "invalid_value", "'%s' is not valid UTF-8 text or holds a NUL byte",
                        field_names[f]);
                return;
        }
        memcpy(r->arena + r->used, cell, len + 1); /* CSV_APPEND_NULL: cell[len] is NUL */
        r->f[f] = r->arena + r->used;
        r->used += len + 1;
}

static void on_row(int c, void *arg) {
        importer *m = arg;
        row *r = &m->r;
        uint64_t next;

        if (m->rc == TP_OK && r->ncells > 0) {
                if (m->have_header)
                        csv_take_row(m);
                else
                        header_done(m);
        }
        /* With CRLF, libcsv ends the row at CR and then reports the LF as an
         * empty row of its own; that LF ends no further line. */
        if (c == '\n' && r->cr && r->ncells == 0)
                next = r->line;
        else
                next = r->line + r->nl + (uint64_t) (c == '\n' || c == '\r');
        r->cr = c == '\r';
        row_reset(r, next);
}

/* libcsv's buffer for the cell being read must not grow without bound: refusing
 * to grow past the cell limit makes csv_parse() stop with CSV_ENOMEM, which
 * csv_broken_row() tells apart from a real shortage by the buffer's size. */
#define CSV_BUF_CAP (TP_IMPORT_CELL_MAX + 64)
static void *csv_realloc(void *p, size_t n) {
        return n > CSV_BUF_CAP ? NULL : tp_realloc(p, n);
}

static tp_rc csv_start(importer *m) {
        if (csv_init(&m->csv, CSV_OPTS) != 0)
                return tp_err_set(m->err, TP_NOMEM, "out of memory");
        csv_set_realloc_func(&m->csv, csv_realloc);
        csv_set_free_func(&m->csv, tp_free);
        csv_set_blk_size(&m->csv, 4096);
        m->csv_live = 1;
        return TP_OK;
}

/* csv_parse() stopped early: bad quoting, or a cell past the limit.  Reject the
 * row, drop the rest of its line and start a fresh parser there. */
static void csv_broken_row(importer *m) {
        row *r = &m->r;
        int e = csv_error(&m->csv);
        const char *field = column_field(m, r->ncells);
        uint64_t partial_nl = m->csv.entry_buf ? count_lf((const char *) m->csv.entry_buf, m->csv.entry_pos) : 0;
        tp_err why = { 0 };

        if (e == CSV_EPARSE) {
                tp_err_setc(&why, TP_UNPROCESSABLE, "invalid_csv", field,
                            "bad quoting: a quote inside an unquoted cell, or text after a closing quote (quote "
                            "the whole cell and double the quotes in it)");
        } else if (e == CSV_ENOMEM && m->csv.entry_size > TP_IMPORT_CELL_MAX) {
                tp_err_setc(&why, TP_UNPROCESSABLE, "too_long", field, "the cell is longer than the limit of %d bytes",
                            TP_IMPORT_CELL_MAX);
        } else {
                fail(m, tp_err_set(m->err, TP_NOMEM, "out of memory reading CSV"));
                return;
        }
        if (!m->have_header) {
                fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: the header row is not valid CSV: %s",
                                   (unsigned long long) r->line, why.msg));
                return;
        }
        m->st->rows_read++;
        reject(m, r->line, r->bad ? &r->why : &why);
        csv_free(&m->csv);
        m->csv_live = 0;
        if (csv_start(m) != TP_OK) {
                fail(m, TP_NOMEM);
                return;
        }
        row_reset(r, r->line + r->nl + partial_nl + 1);
        r->cr = 0;
        m->skipping = 1;
}

static void csv_feed(importer *m, const char *p, size_t len) {
        while (len > 0 && m->rc == TP_OK) {
                size_t done;

                if (m->skipping) {
                        const char *nl = memchr(p, '\n', len);
                        if (!nl)
                                return;
                        m->skipping = 0;
                        len -= (size_t) (nl + 1 - p);
                        p = nl + 1;
                        continue;
                }
                done = csv_parse(&m->csv, p, len, on_cell, on_row, m);
                if (done == len || m->rc != TP_OK)
                        return;
                csv_broken_row(m);
                p += done;
                len -= done;
        }
}

static tp_rc read_some(importer *m, char *buf, size_t cap, size_t *ret_n) {
        ssize_t n;

        do
                n = read(m->o->fd, buf, cap);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return tp_err_set(m->err, TP_IO, "cannot read %s: %s", m->o->name, strerror(errno));
        m->st->bytes_read += (uint64_t) n;
        *ret_n = (size_t) n;
        return TP_OK;
}

static tp_rc run_csv(importer *m) {
        char *buf = tp_malloc(READ_SIZE);
        size_t n = 0, have = 0, row_max, arena;
        const char *p;
        int piped = 0;
        tp_rc rc, wrc;

        /* The most one row can need in a batch: every field's cell, a generated
         * id and its properties as compact JSON. */
        row_max = _F_MAX * (TP_IMPORT_CELL_MAX + 1) + sizeof(m->id_buf) + m->lim.max_properties + 1;
        arena = row_max > (4u << 20) ? row_max : (4u << 20);
        m->r.arena = tp_malloc(_F_MAX * (TP_IMPORT_CELL_MAX + 1));
        if (!buf || !m->r.arena) {
                rc = tp_err_set(m->err, TP_NOMEM, "out of memory");
                goto out;
        }
        if ((rc = pipe_start(&m->pipe, &m->w, m->o->kind, arena, m->err)) != TP_OK)
                goto out;
        piped = 1;
        if ((rc = csv_start(m)) != TP_OK)
                goto out;
        row_reset(&m->r, 1);
        /* A UTF-8 byte order mark (as Excel writes) is not part of the first name;
         * read until three bytes are in or the input ends. */
        do {
                if ((rc = read_some(m, buf + have, READ_SIZE - have, &n)) != TP_OK)
                        goto out;
                have += n;
        } while (n > 0 && have < 3);
        p = buf;
        if (have >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                p += 3;
                have -= 3;
        }
        while (have > 0) {
                csv_feed(m, p, have);
                if (m->rc != TP_OK)
                        break;
                if ((rc = read_some(m, buf, READ_SIZE, &have)) != TP_OK)
                        goto out;
                p = buf;
        }
        if (m->rc == TP_OK && !m->skipping) {
                if (csv_fini(&m->csv, on_cell, on_row, m) != 0 && m->rc == TP_OK) {
                        tp_err why = { 0 };
                        tp_err_setc(&why, TP_UNPROCESSABLE, "invalid_csv", column_field(m, m->r.ncells),
                                    "a quoted cell is never closed: the file ends inside it");
                        if (!m->have_header) {
                                fail(m, tp_err_set(m->err, TP_INVALID, "line %llu: the header row is not valid CSV: %s",
                                                   (unsigned long long) m->r.line, why.msg));
                        } else {
                                m->st->rows_read++;
                                reject(m, m->r.line, m->r.bad ? &m->r.why : &why);
                        }
                }
        }
        rc = m->rc;
        if (rc == TP_OK && !m->have_header)
                rc = tp_err_set(m->err, TP_INVALID, "%s holds no header row: a CSV import needs one naming the columns",
                                m->o->name);
out:
        if (rc != TP_OK)
                fail(m, rc);
        if (piped) {
                wrc = pipe_stop(&m->pipe, m->rc == TP_OK);
                if (wrc != TP_OK) {
                        m->rc = wrc;
                        m->writer_failed = 1;
                }
        }
        if (m->csv_live)
                csv_free(&m->csv);
        m->csv_live = 0;
        header_free(m);
        tp_free(m->r.arena);
        m->r.arena = NULL;
        tp_free(buf);
        return m->rc;
}

/* ---- NDJSON -------------------------------------------------------------- */

typedef struct chunk {
        tp_buf text;                          /* the chunk's lines, each ending in LF */
        uint64_t line_of[NDJSON_CHUNK_LINES]; /* file line of each item */
        size_t n;
} chunk;

/* A chunk item that tp_validate_*() accepts (with create_touchpoints set) but
 * whose touchpoint is unknown names a touchpoint to create: create those, then
 * reload the catalogue so a second parse finds them. */
static tp_rc ndjson_create_touchpoints(importer *m, const tp_batch *b) {
        tp_rc rc;

        for (size_t i = 0; i < b->ndocs; i++) {
                json_t *t = json_object_get(b->docs[i], "touchpoint");
                const char *key = json_is_string(t) ? json_string_value(t) : NULL;
                tp_err e = { 0 };
                int64_t id = 0;
                char idb[28];

                if (!key || tp_catalog_find(m->cat, key, &id, NULL) == TP_OK)
                        continue;
                if (m->o->kind == TP_KIND_EVENTS) {
                        tp_event ev;
                        char *props = NULL;
                        rc = tp_validate_event(b->docs[i], &m->v, &ev, &props, idb, &e);
                        tp_free(props);
                } else {
                        tp_response rs;
                        rc = tp_validate_response(b->docs[i], &m->v, &rs, idb, &e);
                }
                if (rc == TP_NOMEM)
                        return tp_err_set(m->err, TP_NOMEM, "out of memory");
                if (rc != TP_OK)
                        continue;
                if ((rc = w_touchpoint(&m->w, key, &id)) != TP_OK)
                        return fail_writer(m, rc);
                /* Reload now so a later document with the same key is seen as known. */
                if ((rc = tp_catalog_load(m->cat, m->store, m->err)) != TP_OK)
                        return rc;
        }
        return TP_OK;
}

static int batch_has_new_touchpoint(const tp_batch *b) {
        for (size_t i = 0; i < b->n_ok; i++)
                if ((b->kind == TP_KIND_EVENTS ? b->ev[i].touchpoint : b->rs[i].touchpoint) == 0)
                        return 1;
        return 0;
}

static tp_rc ndjson_reject(importer *m, const chunk *c, json_t *rj) {
        json_int_t index = json_integer_value(json_object_get(rj, "index"));
        const char *field = json_string_value(json_object_get(rj, "field"));
        const char *code = json_string_value(json_object_get(rj, "code"));
        const char *msg = json_string_value(json_object_get(rj, "message"));
        uint64_t line = index >= 0 && (size_t) index < c->n ? c->line_of[index] : 0;
        tp_err why = { .rc = TP_UNPROCESSABLE, .code = code };

        /* The chunk's own line numbers mean nothing to the user: drop a leading
         * "line N " or "line N: " from JSON errors (the reject names the file line). */
        if (msg && strncmp(msg, "line ", 5) == 0) {
                const char *p = msg + 5;
                while (*p >= '0' && *p <= '9')
                        p++;
                if (p > msg + 5 && *p == ' ')
                        msg = p + 1;
                else if (p > msg + 5 && p[0] == ':' && p[1] == ' ')
                        msg = p + 2;
        }
        if (field && strcmp(field, "body") == 0)
                field = "";
        (void) snprintf(why.field, sizeof(why.field), "%s", field ? field : "");
        (void) snprintf(why.msg, sizeof(why.msg), "%s", msg ? msg : "");
        reject(m, line, &why);
        return m->rc;
}

static tp_rc ndjson_flush(importer *m, chunk *c) {
        tp_batch b;
        tp_rc rc;
        int again;

        if (c->n == 0)
                return TP_OK;
        for (int pass = 0;; pass++) {
                rc = tp_batch_parse(&b, m->o->kind, c->text.data, c->text.len, 1, &m->v, m->err);
                if (rc != TP_OK)
                        return rc;
                again = pass == 0 && m->o->create_touchpoints && batch_has_new_touchpoint(&b);
                if (!again)
                        break;
                rc = ndjson_create_touchpoints(m, &b);
                tp_batch_done(&b);
                if (rc != TP_OK)
                        return rc;
        }
        m->st->rows_read += b.n_items;
        for (size_t i = 0; rc == TP_OK && i < json_array_size(b.rejected); i++)
                rc = ndjson_reject(m, c, json_array_get(b.rejected, i));
        for (size_t i = 0; rc == TP_OK && i < b.n_ok; i++) {
                if ((m->o->kind == TP_KIND_EVENTS ? b.ev[i].touchpoint : b.rs[i].touchpoint) == 0) {
                        /* Cannot happen after the second pass; never store id 0. */
                        rc = tp_err_set(m->err, TP_INTERNAL, "a touchpoint to create was not created");
                        break;
                }
                rc = w_put(&m->w, m->o->kind == TP_KIND_EVENTS ? &b.ev[i] : NULL,
                           m->o->kind == TP_KIND_RESPONSES ? &b.rs[i] : NULL);
                if (rc != TP_OK)
                        rc = fail_writer(m, rc);
        }
        tp_batch_done(&b);
        tp_buf_reset(&c->text);
        c->n = 0;
        if (rc == TP_OK)
                tick(m);
        return rc;
}

static int blank(const char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
                        return 0;
        return 1;
}

/* One complete line (without its LF) of the file: into the chunk, or rejected. */
static tp_rc ndjson_line(importer *m, chunk *c, const char *p, size_t n, uint64_t line) {
        tp_rc rc;

        if (blank(p, n))
                return TP_OK;
        if (c->n == NDJSON_CHUNK_LINES || c->text.len + n + 1 > NDJSON_CHUNK_BYTES)
                if ((rc = ndjson_flush(m, c)) != TP_OK)
                        return rc;
        if (tp_buf_append(&c->text, p, n) != TP_OK || tp_buf_append(&c->text, "\n", 1) != TP_OK)
                return tp_err_set(m->err, TP_NOMEM, "out of memory");
        c->line_of[c->n++] = line;
        return TP_OK;
}

static tp_rc run_ndjson(importer *m) {
        size_t max_line = m->lim.max_body, cap = max_line + READ_SIZE, have = 0, n = 0;
        char *buf = tp_malloc(cap);
        chunk *c = tp_calloc(1, sizeof(*c));
        uint64_t line = 1;
        int eof = 0, skipping = 0;
        tp_rc rc = TP_OK;

        if (!buf || !c) {
                rc = tp_err_set(m->err, TP_NOMEM, "out of memory");
                goto out;
        }
        tp_buf_init(&c->text, NDJSON_CHUNK_BYTES + max_line + 1);
        while (!eof) {
                size_t start = 0;

                if ((rc = read_some(m, buf + have, cap - have, &n)) != TP_OK)
                        goto out;
                eof = n == 0;
                have += n;
                for (;;) {
                        const char *nl = memchr(buf + start, '\n', have - start);
                        size_t end = nl ? (size_t) (nl - buf) : have;

                        if (!nl && !(eof && start < have))
                                break;
                        if (skipping) {
                                skipping = 0; /* the tail of an over-long line */
                        } else if (end - start > max_line) {
                                tp_err why = { 0 };
                                tp_err_setc(&why, TP_UNPROCESSABLE, "too_long", "",
                                            "the line is longer than the limit of %zu bytes", max_line);
                                m->st->rows_read++;
                                reject(m, line, &why);
                        } else if ((rc = ndjson_line(m, c, buf + start, end - start, line)) != TP_OK) {
                                goto out;
                        }
                        if (m->rc != TP_OK) {
                                rc = m->rc;
                                goto out;
                        }
                        line++;
                        start = nl ? end + 1 : have;
                }
                /* Keep the incomplete last line; one that fills the whole buffer is
                 * over the limit: report it now and skip the rest of it. */
                if (start == 0 && have == cap) {
                        tp_err why = { 0 };
                        tp_err_setc(&why, TP_UNPROCESSABLE, "too_long", "",
                                    "the line is longer than the limit of %zu bytes", max_line);
                        if (!skipping) {
                                m->st->rows_read++;
                                reject(m, line, &why);
                                if ((rc = m->rc) != TP_OK)
                                        goto out;
                        }
                        skipping = 1;
                        have = 0;
                        continue;
                }
                memmove(buf, buf + start, have - start);
                have -= start;
        }
        rc = ndjson_flush(m, c);
out:
        if (rc != TP_OK)
                fail(m, rc);
        if (c)
                tp_buf_done(&c->text);
        tp_free(c);
        tp_free(buf);
        return m->rc;
}

/* ---- entry point --------------------------------------------------------- */

tp_rc tp_import_run(tp_store *store, tp_catalog *cat, const tp_import_opts *o, tp_import_stats *stats,
                    tp_err *err) {
        importer *m;
        tp_config cfg;
        tp_rc rc;

        memset(stats, 0, sizeof(*stats));
        if (o->kind != TP_KIND_EVENTS && o->kind != TP_KIND_RESPONSES)
                return tp_err_set(err, TP_INVALID, "unknown kind of row");
        for (size_t i = 0; i < o->nmap; i++)
                if (!tp_import_field_valid(o->kind, o->map[i].field))
                        return tp_err_set(err, TP_INVALID, "--map %s=%s: no such field; %s have %s", o->map[i].column,
                                          o->map[i].field, o->kind == TP_KIND_EVENTS ? "events" : "responses",
                                          tp_import_field_list(o->kind));
        m = tp_calloc(1, sizeof(*m));
        if (!m)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        tp_config_init(&cfg);
        m->store = store;
        m->cat = cat;
        m->o = o;
        m->st = stats;
        m->err = err;
        m->lim = o->lim ? *o->lim : cfg.lim;
        m->lim.max_items = NDJSON_CHUNK_LINES; /* a chunk is not a request: no item limit */
        m->v.cat = cat;
        m->v.lim = &m->lim;
        m->v.now = o->now ? o->now : tp_time_now();
        m->v.create_touchpoints = o->create_touchpoints;
        m->v.ann = o->ann;
        m->w.store = store;
        m->w.txn_rows = o->txn_rows ? o->txn_rows : TP_IMPORT_TXN_ROWS;
        m->progress_us = o->progress_us > 0 ? o->progress_us : 500000;
        m->start_us = m->last_progress_us = tp_time_mono_us();

        /* CSV: the writer thread committed or rolled back; NDJSON: this thread. */
        rc = o->format == TP_IMPORT_CSV ? run_csv(m) : run_ndjson(m);
        if (o->format == TP_IMPORT_NDJSON) {
                if (rc == TP_OK && (rc = w_commit(&m->w)) != TP_OK)
                        fail_writer(m, rc);
                if (rc != TP_OK)
                        w_rollback(&m->w);
        }
        if (rc != TP_OK && m->writer_failed && err)
                *err = m->w.err;
        stats->taken = m->w.taken;
        stats->duplicates = m->w.dup;
        stats->committed = m->w.taken + m->w.dup;
        stats->elapsed_us = tp_time_mono_us() - m->start_us;
        cache_done(&m->tps);
        cache_done(&m->w.created);
        tp_free(m);
        return rc;
}
