/* SPDX-License-Identifier: MIT */
/*
 * import.h -- bulk import of events or responses from CSV or NDJSON (the core of
 * `touchpoint import`).
 *
 * Every row obeys exactly the rules of the HTTP API: CSV rows are checked with
 * the shared field checkers of validate.h, NDJSON lines go through tp_batch_parse()
 * itself.  Good rows are written in large transactions; a bad row is reported by
 * its line number, field and reason and never stops the import.  Only a problem
 * with the file as a whole (unreadable, a bad CSV header) or with the store ends it.
 *
 * This module does no printing: the caller gets progress and rejected rows
 * through callbacks and prints them as it likes.
 */
#ifndef TP_IMPORT_H
#define TP_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "service/batch.h"
#include "service/catalog.h"
#include "service/config.h"
#include "store/store.h"

/* Rows per transaction unless the options say otherwise. */
#define TP_IMPORT_TXN_ROWS 50000
/* The longest CSV cell accepted, in bytes; a longer one rejects its row.  Per-field
 * limits (ids, comments, properties) are those of tp_limits and are tighter. */
#define TP_IMPORT_CELL_MAX 65536

typedef enum tp_import_format { TP_IMPORT_CSV, TP_IMPORT_NDJSON } tp_import_format;

/* --map COLUMN=FIELD: the CSV header column `column` holds `field`; field "-"
 * ignores the column. */
typedef struct tp_import_map {
        const char *column;
        const char *field;
} tp_import_map;

/* How far an import got, also after a failure (it says what was committed
 * before it).  rows_read, rejected, bytes_read and elapsed_us are kept current
 * while the import runs; taken, duplicates and committed are filled in at the end
 * (rows are written by another thread meanwhile). */
typedef struct tp_import_stats {
        uint64_t rows_read;  /* data rows seen (CSV rows after the header, NDJSON non-blank lines) */
        uint64_t taken;      /* new rows committed */
        uint64_t duplicates; /* rows whose id was already stored (committed) */
        uint64_t rejected;   /* rows that failed validation */
        uint64_t committed;  /* rows (taken + duplicates) in committed transactions */
        uint64_t bytes_read;
        int64_t elapsed_us;
} tp_import_stats;

/* Progress, called about every `progress_us` while the import runs (and not at
 * the end), on the calling thread.  `st` is only valid during the call. */
typedef void (*tp_import_progress_fn)(void *arg, const tp_import_stats *st);

/* One rejected row, on the calling thread, in file order: `line` is its first
 * line in the file (1-based), `why` holds the field (why->field, "" for the row
 * as a whole), the code (tp_err_code(why)) and the message, valid during the
 * call.  Return TP_OK to go on; anything else stops the import with the error
 * the callback put in `err`. */
typedef tp_rc (*tp_import_reject_fn)(void *arg, uint64_t line, const tp_err *why, tp_err *err);

typedef struct tp_import_opts {
        tp_kind kind;
        tp_import_format format;
        int fd;                      /* read to its end; not closed */
        const char *name;            /* the file's name, for messages ("-" for stdin) */
        const tp_import_map *map;    /* nmap column mappings (CSV only) */
        size_t nmap;
        int create_touchpoints;      /* create unknown, well-formed touchpoint keys */
        struct tp_annotator *ann;    /* reads comments' sentiment and themes; NULL: not read */
        const tp_limits *lim;        /* NULL: the defaults of tp_config_init() */
        size_t txn_rows;             /* rows per transaction; 0: TP_IMPORT_TXN_ROWS */
        int64_t now;                 /* "now" for rows without a time; 0: the clock */
        tp_import_progress_fn progress; /* may be NULL */
        void *progress_arg;
        int64_t progress_us;         /* 0: 500000 */
        tp_import_reject_fn on_reject; /* may be NULL: rejected rows are only counted */
        void *reject_arg;
} tp_import_opts;

/* The format a file name implies: .csv, .ndjson or .jsonl (any case).
 * TP_NOTFOUND for anything else. */
tp_rc tp_import_format_of(const char *name, tp_import_format *ret_format);

/* Is `field` a field of `kind` (or "-")?  For checking --map before any work. */
int tp_import_field_valid(tp_kind kind, const char *field);

/* The field names of `kind`, comma-separated, for messages. */
const char *tp_import_field_list(tp_kind kind);

/* Read the whole of o->fd and store its good rows through `store` (borrowed; it
 * should be opened with TP_STORE_BULK and must not be in a transaction; a CSV
 * import uses it from a writer thread of its own until it returns, so nothing
 * else may use it meanwhile), looking touchpoints up in `cat` (borrowed; reloaded
 * from the store when NDJSON rows create touchpoints).  `stats` (caller-owned) is
 * zeroed first, see tp_import_stats.
 *
 * TP_OK when the input was read to its end, however many rows were rejected.
 * Otherwise nothing after the last commit is stored and err says why:
 * TP_INVALID for a bad CSV header or bad options, TP_IO for a read error, the
 * store's code for a failed write or commit (stats->committed tells how much is
 * stored), TP_NOMEM. */
tp_rc tp_import_run(tp_store *store, tp_catalog *cat, const tp_import_opts *o, tp_import_stats *stats,
                    tp_err *err);

#endif
