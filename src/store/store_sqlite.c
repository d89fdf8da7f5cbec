/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite.c -- the embedded SQLite backend: one file, WAL, synchronous=FULL.
 *
 * Sections: connection setup and error mapping; migrations; transactions;
 * writes; catalogue and keys; reads.
 *
 * Statements are fixed text with bound parameters (never formatted SQL) and are
 * prepared once per connection on first use.
 */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "store/store.h"

enum {
        ST_BEGIN,
        ST_COMMIT,
        ST_ROLLBACK,
        ST_EVENT_PUT,
        ST_RESPONSE_PUT,
        ST_JOURNEY_PUT,
        ST_TP_DEACTIVATE,
        ST_TP_UPSERT,
        ST_TP_ENSURE,
        ST_TP_ID,
        ST_TP_LIST,
        ST_JOURNEY_LIST,
        ST_KEY_PUT,
        ST_KEY_GET,
        ST_KEY_LIST,
        ST_KEY_REVOKE,
        ST_META_GET,
        ST_META_PUT,
        ST_EVENT_GET,
        ST_RESPONSE_GET,
        ST_EVENT_SCAN,
        ST_RESPONSE_SCAN,
        ST_EVENT_SCAN_CORE,
        ST_RESPONSE_SCAN_CORE,
        ST_RESPONSE_BY_ID,
        ST_RESPONSE_LIST,
        ST_CUSTOMER_PUT,
        ST_CUSTOMER_SCAN,
        ST_CKEY_EVENTS,
        ST_CKEY_RESPONSES,
        ST_COUNT_EVENTS,
        ST_COUNT_RESPONSES,
        _ST_MAX
};

static const char *const stmt_sql[_ST_MAX] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_EVENT_PUT] = "INSERT OR IGNORE INTO events(id, customer, touchpoint, channel, type, ts, value, "
                         "currency, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [ST_RESPONSE_PUT] = "INSERT OR IGNORE INTO responses(id, customer, touchpoint, channel, metric, score, "
                            "comment, language, ts, event, sentiment, sentiment_conf, themes) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        [ST_JOURNEY_PUT] = "INSERT INTO journeys(key, doc, updated) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT(key) DO UPDATE SET doc = excluded.doc, updated = excluded.updated",
        [ST_TP_DEACTIVATE] = "UPDATE touchpoints SET active = 0 WHERE journey = ?1",
        [ST_TP_UPSERT] = "INSERT INTO touchpoints(key, journey, stage, stage_pos, pos, name_vi, name_en, channel, "
                         "department, expected_csat, expected_nps, expected_ces, active) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1) "
                         "ON CONFLICT(key) DO UPDATE SET journey = excluded.journey, stage = excluded.stage, "
                         "stage_pos = excluded.stage_pos, pos = excluded.pos, name_vi = excluded.name_vi, "
                         "name_en = excluded.name_en, channel = excluded.channel, department = "
                         "excluded.department, expected_csat = excluded.expected_csat, expected_nps = "
                         "excluded.expected_nps, expected_ces = excluded.expected_ces, active = 1",
        [ST_TP_ENSURE] = "INSERT OR IGNORE INTO touchpoints(key, name_en, active) VALUES (?1, ?1, 1)",
        [ST_TP_ID] = "SELECT id FROM touchpoints WHERE key = ?1",
        [ST_TP_LIST] = "SELECT id, key, journey, stage, stage_pos, pos, name_vi, name_en, channel, department, "
                       "expected_csat, expected_nps, expected_ces, active FROM touchpoints "
                       "ORDER BY journey IS NULL, journey, stage_pos, pos, id",
        [ST_JOURNEY_LIST] = "SELECT key, doc, updated FROM journeys ORDER BY key",
        [ST_KEY_PUT] = "INSERT INTO api_keys(prefix, hash, scope, name, created, revoked, origins) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
        [ST_KEY_GET] = "SELECT prefix, hash, scope, name, created, revoked, origins FROM api_keys WHERE prefix = ?1",
        [ST_KEY_LIST] = "SELECT prefix, hash, scope, name, created, revoked, origins FROM api_keys "
                        "ORDER BY created, prefix",
        [ST_KEY_REVOKE] = "UPDATE api_keys SET revoked = ?2 WHERE prefix = ?1 AND revoked = 0",
        [ST_META_GET] = "SELECT value FROM meta WHERE name = ?1",
        [ST_META_PUT] = "INSERT INTO meta(name, value) VALUES (?1, ?2) "
                        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        [ST_EVENT_GET] = "SELECT seq, id, customer, touchpoint, channel, type, ts, value, currency, properties "
                         "FROM events WHERE seq = ?1",
        [ST_RESPONSE_GET] = "SELECT seq, id, customer, touchpoint, channel, metric, score, comment, language, "
                            "ts, event, sentiment, sentiment_conf, themes FROM responses WHERE seq = ?1",
        [ST_EVENT_SCAN] = "SELECT seq, id, customer, touchpoint, channel, type, ts, value, currency, properties "
                          "FROM events WHERE seq > ?1 ORDER BY seq",
        [ST_RESPONSE_SCAN] = "SELECT seq, id, customer, touchpoint, channel, metric, score, comment, language, "
                             "ts, event, sentiment, sentiment_conf, themes FROM responses WHERE seq > ?1 ORDER BY seq",
        /* Same column positions as the full scans, so one row decoder serves both. */
        [ST_EVENT_SCAN_CORE] = "SELECT seq, NULL, customer, touchpoint, channel, type, ts, value, NULL, NULL "
                               "FROM events WHERE seq > ?1 ORDER BY seq",
        [ST_RESPONSE_SCAN_CORE] = "SELECT seq, NULL, customer, touchpoint, channel, metric, score, NULL, NULL, ts, "
                                  "NULL, sentiment, NULL, themes FROM responses WHERE seq > ?1 ORDER BY seq",
        [ST_RESPONSE_BY_ID] = "SELECT seq FROM responses WHERE id = ?1",
        [ST_CUSTOMER_PUT] = "INSERT INTO customers(id, segment, attributes, updated) VALUES (?1, ?2, ?3, ?4) "
                            "ON CONFLICT(id) DO UPDATE SET segment = excluded.segment, "
                            "attributes = excluded.attributes, updated = excluded.updated",
        [ST_CUSTOMER_SCAN] = "SELECT id, segment, attributes, updated FROM customers ORDER BY id",
        /* One statement for every filter: an unset parameter (NULL) disables its
         * clause.  Newest first by seq, the rowid, so paging is a range scan. */
        [ST_RESPONSE_LIST] = "SELECT seq, id, customer, touchpoint, channel, metric, score, comment, language, "
                             "ts, event, sentiment, sentiment_conf, themes FROM responses "
                             "WHERE seq < ?1 AND (?2 IS NULL OR touchpoint = ?2) AND (?3 IS NULL OR metric = ?3) "
                             "AND (?4 IS NULL OR ts >= ?4) AND (?5 IS NULL OR ts < ?5) "
                             "AND (?6 IS NULL OR score >= ?6) AND (?7 IS NULL OR score <= ?7) "
                             "AND (?8 IS NULL OR sentiment = ?8) "
                             "AND (?9 IS NULL OR instr(',' || themes || ',', ',' || ?9 || ',') > 0) "
                             "AND (?10 IS NULL OR (comment IS NOT NULL AND comment <> '')) "
                             "AND (?11 IS NULL OR customer = ?11) ORDER BY seq DESC LIMIT ?12",
        [ST_CKEY_EVENTS] = "SELECT seq, customer, ts FROM events WHERE seq > ?1 ORDER BY seq",
        [ST_CKEY_RESPONSES] = "SELECT seq, customer, ts FROM responses WHERE seq > ?1 ORDER BY seq",
        [ST_COUNT_EVENTS] = "SELECT count(*) FROM events",
        [ST_COUNT_RESPONSES] = "SELECT count(*) FROM responses",
};

/* Each schema version is one script, applied in its own transaction.  Append new
 * versions; never edit one that has shipped. */
static const char *const migrations[] = {
        /* 1: the record */
        "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);"
        "CREATE TABLE journeys(key TEXT PRIMARY KEY, doc TEXT NOT NULL, updated INTEGER NOT NULL);"
        "CREATE TABLE touchpoints(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, journey TEXT, stage TEXT,"
        " stage_pos INTEGER, pos INTEGER, name_vi TEXT, name_en TEXT, channel TEXT, department TEXT,"
        " expected_csat REAL, expected_nps REAL, expected_ces REAL, active INTEGER NOT NULL DEFAULT 1);"
        "CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, customer TEXT,"
        " touchpoint INTEGER NOT NULL REFERENCES touchpoints(id), channel TEXT, type TEXT NOT NULL,"
        " ts INTEGER NOT NULL, value INTEGER, currency TEXT, properties TEXT);"
        "CREATE TABLE responses(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, customer TEXT,"
        " touchpoint INTEGER NOT NULL REFERENCES touchpoints(id), channel TEXT, metric TEXT NOT NULL,"
        " score INTEGER NOT NULL, comment TEXT, language TEXT, ts INTEGER NOT NULL, event TEXT);"
        "CREATE TABLE api_keys(prefix TEXT PRIMARY KEY, hash BLOB NOT NULL, scope TEXT NOT NULL, name TEXT,"
        " created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);",
        /* 2: customer timelines read by index instead of a scan */
        "CREATE INDEX events_customer_ts ON events(customer, ts) WHERE customer IS NOT NULL;"
        "CREATE INDEX responses_customer_ts ON responses(customer, ts) WHERE customer IS NOT NULL;",
        /* 3: the customer indexes cost 2.3x in insert speed (random keys); customer
         * timelines are served from the in-memory customer index instead. */
        "DROP INDEX events_customer_ts;"
        "DROP INDEX responses_customer_ts;",
        /* 4: sentiment and themes of comments (text engine); web origins of keys
         * (CORS for the survey widget). */
        "ALTER TABLE responses ADD COLUMN sentiment INTEGER;"
        "ALTER TABLE responses ADD COLUMN sentiment_conf REAL;"
        "ALTER TABLE responses ADD COLUMN themes TEXT;"
        "ALTER TABLE api_keys ADD COLUMN origins TEXT;",
        /* 5: customers' segment and attributes (from a CRM), for breakdowns. */
        "CREATE TABLE customers(id TEXT PRIMARY KEY, segment TEXT, attributes TEXT, updated INTEGER NOT NULL);",
};
#define SCHEMA_VERSION ((int) (sizeof(migrations) / sizeof(migrations[0])))

typedef struct sqlite_store {
        tp_store base; /* must be first */
        sqlite3 *db;
        sqlite3_stmt *st[_ST_MAX];
        long commit_delay_us; /* test hook */
        char path[512];
} sqlite_store;

/* Map SQLite's code to ours and keep SQLite's own words.  Disk full and
 * corruption get codes of their own so clients and operators can tell them apart. */
static tp_rc sq_fail(sqlite_store *q, int rc, tp_err *err) {
        tp_rc out;

        switch (rc & 0xff) {
        case SQLITE_NOMEM:
                out = TP_NOMEM;
                break;
        case SQLITE_CONSTRAINT:
                out = TP_CONFLICT;
                break;
        case SQLITE_FULL:
                out = TP_FULL;
                break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                out = TP_CORRUPT;
                break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                out = TP_BUSY;
                break;
        default:
                out = TP_BACKEND;
        }
        return tp_err_set(err, out, "sqlite (%s): %s", q->path, q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
}

static tp_rc get_stmt(sqlite_store *q, int which, sqlite3_stmt **ret, tp_err *err) {
        int rc;

        if (!q->st[which]) {
                rc = sqlite3_prepare_v3(q->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &q->st[which], NULL);
                if (rc != SQLITE_OK)
                        return sq_fail(q, rc, err);
        }
        sqlite3_reset(q->st[which]);
        sqlite3_clear_bindings(q->st[which]);
        *ret = q->st[which];
        return TP_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s) {
        return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_real(sqlite3_stmt *st, int i, double v) {
        return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

static const char *col_text(sqlite3_stmt *st, int i) {
        return (const char *) sqlite3_column_text(st, i);
}

static double col_real(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

/* Run a statement that returns no rows. */
static tp_rc step_done(sqlite_store *q, sqlite3_stmt *st, tp_err *err) {
        int rc = sqlite3_step(st);

        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return sq_fail(q, rc, err);
        return TP_OK;
}

static tp_rc exec(sqlite_store *q, const char *sql, tp_err *err) {
        int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

        return rc == SQLITE_OK ? TP_OK : sq_fail(q, rc, err);
}

static void sq_close(tp_store *s) {
        sqlite_store *q = (sqlite_store *) s;

        if (!q)
                return;
        for (int i = 0; i < _ST_MAX; i++)
                sqlite3_finalize(q->st[i]);
        sqlite3_close(q->db);
        tp_free(q);
}

static tp_rc setup(sqlite_store *q, int flags, tp_err *err) {
        sqlite3_stmt *st = NULL;
        const char *mode;
        tp_rc rc;
        int src;

        sqlite3_extended_result_codes(q->db, 1);
        sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(q->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        sqlite3_limit(q->db, SQLITE_LIMIT_LENGTH, 64 * 1024 * 1024);
        sqlite3_limit(q->db, SQLITE_LIMIT_SQL_LENGTH, 100000);
        sqlite3_busy_timeout(q->db, 10000);

        /* Reading the schema first makes "file is not a database" an open error
         * rather than a surprise at the first write. */
        rc = exec(q, "SELECT count(*) FROM sqlite_master", err);
        if (rc != TP_OK)
                return rc;
        if (!(flags & TP_STORE_READONLY)) {
                src = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
                if (src != SQLITE_OK)
                        return sq_fail(q, src, err);
                src = sqlite3_step(st);
                mode = src == SQLITE_ROW ? col_text(st, 0) : NULL;
                if (!mode || (strcmp(mode, "wal") != 0 && strcmp(q->path, ":memory:") != 0)) {
                        rc = src == SQLITE_ROW ? tp_err_set(err, TP_BACKEND, "sqlite (%s): cannot use WAL mode (got %s)",
                                                            q->path, mode ? mode : "nothing")
                                               : sq_fail(q, src, err);
                        sqlite3_finalize(st);
                        return rc;
                }
                sqlite3_finalize(st);
        }
        /* FULL: NORMAL in WAL mode can lose acknowledged commits on power loss. */
        rc = exec(q, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON", err);
        if (rc != TP_OK)
                return rc;
        /* Bulk import checks every row's touchpoint itself against the catalogue
         * (and touchpoints are never deleted), so SQLite's per-row foreign-key
         * lookup is redundant there; it cost a quarter of the import speed. */
        if (flags & TP_STORE_BULK)
                rc = exec(q, "PRAGMA cache_size=-1048576; PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF", err);
        else
                rc = exec(q, "PRAGMA cache_size=-65536", err);
        return rc;
}

/* Refuse a file in a directory that does not exist with a clear message;
 * SQLite's own is "unable to open database file". */
static tp_rc check_parent_dir(const char *path, tp_err *err) {
        const char *slash = strrchr(path, '/');
        struct stat st;
        char dir[512];

        if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0 || !slash || slash == path)
                return TP_OK;
        (void) snprintf(dir, sizeof(dir), "%.*s", (int) (slash - path), path);
        if (stat(dir, &st) != 0)
                return tp_err_setf(err, TP_IO, "db", "sqlite (%s): directory '%s' %s", path, dir,
                                   errno == ENOENT ? "does not exist" : strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return tp_err_setf(err, TP_IO, "db", "sqlite (%s): '%s' is not a directory", path, dir);
        return TP_OK;
}

static tp_rc sq_open(const char *url, int flags, tp_store **ret_store, tp_err *err) {
        sqlite_store *q;
        int oflags, rc;
        tp_rc trc;

        if (!*url)
                return tp_err_setf(err, TP_INVALID, "db", "sqlite: empty path");
        trc = check_parent_dir(url, err);
        if (trc != TP_OK)
                return trc;
        q = tp_calloc(1, sizeof(*q));
        if (!q)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        q->base.ops = &tp_store_sqlite_ops;
        (void) snprintf(q->path, sizeof(q->path), "%s", url);
        oflags = (flags & TP_STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        rc = sqlite3_open_v2(url, &q->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                trc = sq_fail(q, rc, err);
                sq_close(&q->base);
                return trc;
        }
        trc = setup(q, flags, err);
        if (trc != TP_OK) {
                sq_close(&q->base);
                return trc;
        }
        *ret_store = &q->base;
        return TP_OK;
}

/* ---- migrations ---------------------------------------------------------- */

static int sq_schema_version(tp_store *s) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        int v = -1;

        if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return v;
}

static tp_rc migrate_to(sqlite_store *q, int target, int *ret_from, tp_err *err) {
        char sql[64];
        tp_rc rc;
        int from = sq_schema_version(&q->base);

        if (from < 0)
                return tp_err_set(err, TP_BACKEND, "sqlite (%s): cannot read the schema version", q->path);
        if (from > SCHEMA_VERSION)
                return tp_err_set(err, TP_BACKEND,
                                  "sqlite (%s): schema version %d is newer than this binary knows (%d); "
                                  "upgrade touchpoint", q->path, from, SCHEMA_VERSION);
        for (int v = from; v < target; v++) {
                rc = exec(q, "BEGIN IMMEDIATE", err);
                if (rc != TP_OK)
                        return rc;
                (void) snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
                rc = exec(q, migrations[v], err);
                if (rc == TP_OK)
                        rc = exec(q, sql, err);
                if (rc == TP_OK)
                        rc = exec(q, "COMMIT", err);
                if (rc != TP_OK) {
                        (void) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
                        return rc;
                }
        }
        if (ret_from)
                *ret_from = from;
        return TP_OK;
}

static tp_rc sq_migrate(tp_store *s, int *ret_from, tp_err *err) {
        return migrate_to((sqlite_store *) s, SCHEMA_VERSION, ret_from, err);
}

tp_rc tp_store_sqlite_migrate_to(tp_store *s, int version, tp_err *err) {
        if (s->ops != &tp_store_sqlite_ops || version < 0 || version > SCHEMA_VERSION)
                return tp_err_set(err, TP_INVALID, "no such schema version %d", version);
        return migrate_to((sqlite_store *) s, version, NULL, err);
}

/* ---- transactions -------------------------------------------------------- */

void tp_store_set_commit_delay_us(tp_store *s, long us) {
        if (s->ops == &tp_store_sqlite_ops)
                ((sqlite_store *) s)->commit_delay_us = us;
}

static tp_rc sq_begin(tp_store *s, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_BEGIN, &st, err);

        return rc != TP_OK ? rc : step_done(q, st, err);
}

static tp_rc sq_commit(tp_store *s, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc;

        if (q->commit_delay_us > 0)
                usleep((useconds_t) q->commit_delay_us);
        rc = get_stmt(q, ST_COMMIT, &st, err);
        return rc != TP_OK ? rc : step_done(q, st, err);
}

static void sq_rollback(tp_store *s) {
        sqlite_store *q = (sqlite_store *) s;

        if (!sqlite3_get_autocommit(q->db))
                (void) sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- writes -------------------------------------------------------------- */

static tp_rc sq_event_put(tp_store *s, const tp_event *ev, int *ret_dup, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_EVENT_PUT, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, ev->id);
        bind_text(st, 2, ev->customer);
        sqlite3_bind_int64(st, 3, ev->touchpoint);
        bind_text(st, 4, ev->channel);
        bind_text(st, 5, ev->type);
        sqlite3_bind_int64(st, 6, ev->ts);
        if (ev->has_value) {
                sqlite3_bind_int64(st, 7, ev->value);
                bind_text(st, 8, ev->currency);
        }
        bind_text(st, 9, ev->properties);
        rc = step_done(q, st, err);
        if (rc == TP_OK)
                *ret_dup = sqlite3_changes(q->db) == 0;
        return rc;
}

static tp_rc sq_response_put(tp_store *s, const tp_response *r, int *ret_dup, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_RESPONSE_PUT, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, r->id);
        bind_text(st, 2, r->customer);
        sqlite3_bind_int64(st, 3, r->touchpoint);
        bind_text(st, 4, r->channel);
        bind_text(st, 5, tp_metric_name(r->metric));
        sqlite3_bind_int(st, 6, r->score);
        bind_text(st, 7, r->comment);
        bind_text(st, 8, r->language);
        sqlite3_bind_int64(st, 9, r->ts);
        bind_text(st, 10, r->event);
        if (r->sentiment > 0) {
                sqlite3_bind_int(st, 11, r->sentiment - 1);
                sqlite3_bind_double(st, 12, (double) r->sentiment_conf);
        }
        bind_text(st, 13, r->themes && *r->themes ? r->themes : NULL);
        rc = step_done(q, st, err);
        if (rc == TP_OK)
                *ret_dup = sqlite3_changes(q->db) == 0;
        return rc;
}

/* ---- catalogue and keys -------------------------------------------------- */

static tp_rc sq_journey_put(
        tp_store *s, const char *key, const char *doc, const tp_touchpoint *tps, int ntps, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc;

        rc = exec(q, "BEGIN IMMEDIATE", err);
        if (rc != TP_OK)
                return rc;
        rc = get_stmt(q, ST_JOURNEY_PUT, &st, err);
        if (rc != TP_OK)
                goto out;
        bind_text(st, 1, key);
        bind_text(st, 2, doc);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) time(NULL));
        rc = step_done(q, st, err);
        if (rc != TP_OK)
                goto out;
        rc = get_stmt(q, ST_TP_DEACTIVATE, &st, err);
        if (rc != TP_OK)
                goto out;
        bind_text(st, 1, key);
        rc = step_done(q, st, err);
        for (int i = 0; rc == TP_OK && i < ntps; i++) {
                const tp_touchpoint *t = &tps[i];

                rc = get_stmt(q, ST_TP_UPSERT, &st, err);
                if (rc != TP_OK)
                        break;
                bind_text(st, 1, t->key);
                bind_text(st, 2, key);
                bind_text(st, 3, t->stage);
                sqlite3_bind_int(st, 4, t->stage_pos);
                sqlite3_bind_int(st, 5, t->pos);
                bind_text(st, 6, t->name_vi);
                bind_text(st, 7, t->name_en);
                bind_text(st, 8, t->channel);
                bind_text(st, 9, t->department);
                bind_real(st, 10, t->expected_csat);
                bind_real(st, 11, t->expected_nps);
                bind_real(st, 12, t->expected_ces);
                rc = step_done(q, st, err);
        }
        if (rc == TP_OK)
                rc = exec(q, "COMMIT", err);
out:
        if (rc != TP_OK)
                sq_rollback(s);
        return rc;
}

static tp_rc sq_journey_list(tp_store *s, tp_store_journey_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_JOURNEY_LIST, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                if (fn(arg, col_text(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2)))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc sq_touchpoint_list(tp_store *s, tp_store_touchpoint_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_TP_LIST, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                tp_touchpoint t = {
                        .id = sqlite3_column_int64(st, 0),
                        .key = col_text(st, 1),
                        .journey = col_text(st, 2),
                        .stage = col_text(st, 3),
                        .stage_pos = sqlite3_column_int(st, 4),
                        .pos = sqlite3_column_int(st, 5),
                        .name_vi = col_text(st, 6),
                        .name_en = col_text(st, 7),
                        .channel = col_text(st, 8),
                        .department = col_text(st, 9),
                        .expected_csat = col_real(st, 10),
                        .expected_nps = col_real(st, 11),
                        .expected_ces = col_real(st, 12),
                        .active = sqlite3_column_int(st, 13),
                };
                if (fn(arg, &t))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc sq_touchpoint_ensure(tp_store *s, const char *key, int64_t *ret_id, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_TP_ENSURE, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, key);
        rc = step_done(q, st, err);
        if (rc != TP_OK)
                return rc;
        rc = get_stmt(q, ST_TP_ID, &st, err);
        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, key);
        src = sqlite3_step(st);
        if (src != SQLITE_ROW) {
                sqlite3_reset(st);
                return src == SQLITE_DONE ? tp_err_set(err, TP_INTERNAL, "touchpoint '%s' vanished", key)
                                          : sq_fail(q, src, err);
        }
        *ret_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return TP_OK;
}

static tp_rc sq_key_put(tp_store *s, const tp_key_rec *k, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_KEY_PUT, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, k->prefix);
        sqlite3_bind_blob(st, 2, k->hash, sizeof(k->hash), SQLITE_STATIC);
        bind_text(st, 3, k->scope == TP_SCOPE_ADMIN ? "admin" : "ingest");
        bind_text(st, 4, k->name);
        sqlite3_bind_int64(st, 5, k->created);
        bind_text(st, 6, k->origins && *k->origins ? k->origins : NULL);
        return step_done(q, st, err);
}

static tp_rc key_rows(sqlite_store *q, sqlite3_stmt *st, tp_store_key_fn fn, void *arg, int *ret_n, tp_err *err) {
        int src, n = 0;

        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                tp_key_rec k = { 0 };
                const void *h = sqlite3_column_blob(st, 1);

                k.prefix = col_text(st, 0);
                if (h && sqlite3_column_bytes(st, 1) == (int) sizeof(k.hash))
                        memcpy(k.hash, h, sizeof(k.hash));
                k.scope = strcmp(col_text(st, 2), "admin") == 0 ? TP_SCOPE_ADMIN : TP_SCOPE_INGEST;
                k.name = col_text(st, 3);
                k.created = sqlite3_column_int64(st, 4);
                k.revoked = sqlite3_column_int64(st, 5);
                k.origins = col_text(st, 6);
                n++;
                if (fn(arg, &k))
                        break;
        }
        sqlite3_reset(st);
        *ret_n = n;
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc sq_key_get(tp_store *s, const char *prefix, tp_store_key_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_KEY_GET, &st, err);
        int n = 0;

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, prefix);
        rc = key_rows(q, st, fn, arg, &n, err);
        if (rc == TP_OK && n == 0)
                return tp_err_set(err, TP_NOTFOUND, "no API key with prefix '%s'", prefix);
        return rc;
}

static tp_rc sq_key_list(tp_store *s, tp_store_key_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_KEY_LIST, &st, err);
        int n = 0;

        return rc != TP_OK ? rc : key_rows(q, st, fn, arg, &n, err);
}

static tp_rc sq_key_revoke(tp_store *s, const char *prefix, int64_t when, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_KEY_REVOKE, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, prefix);
        sqlite3_bind_int64(st, 2, when);
        rc = step_done(q, st, err);
        if (rc == TP_OK && sqlite3_changes(q->db) == 0)
                return tp_err_set(err, TP_NOTFOUND, "no active API key with prefix '%s'", prefix);
        return rc;
}

static tp_rc sq_meta_get(
        tp_store *s, const char *name, void *buf, size_t bufsz, size_t *ret_len, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_META_GET, &st, err);
        int src;
        size_t n;

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, name);
        src = sqlite3_step(st);
        if (src != SQLITE_ROW) {
                sqlite3_reset(st);
                return src == SQLITE_DONE ? tp_err_set(err, TP_NOTFOUND, "no meta value '%s'", name)
                                          : sq_fail(q, src, err);
        }
        n = (size_t) sqlite3_column_bytes(st, 0);
        if (n > bufsz) {
                sqlite3_reset(st);
                return tp_err_set(err, TP_TOOBIG, "meta value '%s' is larger than %zu bytes", name, bufsz);
        }
        if (n)
                memcpy(buf, sqlite3_column_blob(st, 0), n);
        sqlite3_reset(st);
        *ret_len = n;
        return TP_OK;
}

static tp_rc sq_meta_put(tp_store *s, const char *name, const void *val, size_t len, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_META_PUT, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, name);
        sqlite3_bind_blob64(st, 2, val, len, SQLITE_STATIC);
        return step_done(q, st, err);
}

/* ---- reads --------------------------------------------------------------- */

/* Decode the current row of an ST_EVENT_* / ST_EVENT_SCAN statement (same columns). */
static void event_row(sqlite3_stmt *st, tp_event *e) {
        *e = (tp_event) {
                .id = col_text(st, 1),
                .customer = col_text(st, 2),
                .touchpoint = sqlite3_column_int64(st, 3),
                .channel = col_text(st, 4),
                .type = col_text(st, 5),
                .ts = sqlite3_column_int64(st, 6),
                .has_value = sqlite3_column_type(st, 7) != SQLITE_NULL,
                .value = sqlite3_column_int64(st, 7),
                .currency = col_text(st, 8),
                .properties = col_text(st, 9),
        };
}

static void response_row(sqlite3_stmt *st, tp_response *r) {
        tp_metric m = TP_METRIC_NPS;

        (void) tp_metric_parse(col_text(st, 5), &m);
        *r = (tp_response) {
                .id = col_text(st, 1),
                .customer = col_text(st, 2),
                .touchpoint = sqlite3_column_int64(st, 3),
                .channel = col_text(st, 4),
                .metric = m,
                .score = sqlite3_column_int(st, 6),
                .comment = col_text(st, 7),
                .language = col_text(st, 8),
                .ts = sqlite3_column_int64(st, 9),
                .event = col_text(st, 10),
                .sentiment = sqlite3_column_type(st, 11) == SQLITE_NULL ? 0 : 1 + sqlite3_column_int(st, 11),
                .sentiment_conf = (float) sqlite3_column_double(st, 12),
                .themes = col_text(st, 13),
        };
}

static tp_rc sq_rows_get(tp_store *s, const int64_t *keys, size_t n, tp_store_timeline_fn fn, void *arg,
                         tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;

        for (size_t i = 0; i < n; i++) {
                tp_timeline_row row = { 0 };
                sqlite3_stmt *st = NULL;
                int src, stop = 0;
                tp_rc rc;

                row.is_response = (int) (keys[i] & 1);
                row.seq = keys[i] >> 1;
                rc = get_stmt(q, row.is_response ? ST_RESPONSE_GET : ST_EVENT_GET, &st, err);
                if (rc != TP_OK)
                        return rc;
                sqlite3_bind_int64(st, 1, row.seq);
                src = sqlite3_step(st);
                if (src == SQLITE_ROW) {
                        if (row.is_response)
                                response_row(st, &row.u.resp);
                        else
                                event_row(st, &row.u.ev);
                        stop = fn(arg, &row);
                }
                sqlite3_reset(st);
                if (src != SQLITE_ROW && src != SQLITE_DONE)
                        return sq_fail(q, src, err);
                if (stop)
                        break;
        }
        return TP_OK;
}

static tp_rc scan_events(tp_store *s, int which, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, which, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        sqlite3_bind_int64(st, 1, after_seq);
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                tp_event e;

                event_row(st, &e);
                if (fn(arg, sqlite3_column_int64(st, 0), &e))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc sq_event_scan(tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err) {
        return scan_events(s, ST_EVENT_SCAN, after_seq, fn, arg, err);
}

static tp_rc sq_event_scan_core(tp_store *s, int64_t after_seq, tp_store_event_fn fn, void *arg, tp_err *err) {
        return scan_events(s, ST_EVENT_SCAN_CORE, after_seq, fn, arg, err);
}

/* Hand each row of a bound response statement (the columns of response_row)
 * to fn, then reset it. */
static tp_rc each_response(sqlite_store *q, sqlite3_stmt *st, tp_store_response_fn fn, void *arg, tp_err *err) {
        int src;

        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                tp_response r;

                response_row(st, &r);
                if (fn(arg, sqlite3_column_int64(st, 0), &r))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc scan_responses(tp_store *s, int which, int64_t after_seq, tp_store_response_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, which, &st, err);

        if (rc != TP_OK)
                return rc;
        sqlite3_bind_int64(st, 1, after_seq);
        return each_response(q, st, fn, arg, err);
}

static tp_rc sq_response_scan(tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg, tp_err *err) {
        return scan_responses(s, ST_RESPONSE_SCAN, after_seq, fn, arg, err);
}

static tp_rc sq_response_scan_core(tp_store *s, int64_t after_seq, tp_store_response_fn fn, void *arg, tp_err *err) {
        return scan_responses(s, ST_RESPONSE_SCAN_CORE, after_seq, fn, arg, err);
}

static tp_rc sq_response_list(tp_store *s, const tp_response_filter *f, tp_store_response_fn fn, void *arg,
                               tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_RESPONSE_LIST, &st, err);

        if (rc != TP_OK)
                return rc;
        sqlite3_bind_int64(st, 1, f->before_seq > 0 ? f->before_seq : INT64_MAX);
        if (f->touchpoint)
                sqlite3_bind_int64(st, 2, f->touchpoint);
        if (f->has_metric)
                bind_text(st, 3, tp_metric_name(f->metric));
        if (f->from)
                sqlite3_bind_int64(st, 4, f->from);
        if (f->to)
                sqlite3_bind_int64(st, 5, f->to);
        if (f->has_min)
                sqlite3_bind_int(st, 6, f->min_score);
        if (f->has_max)
                sqlite3_bind_int(st, 7, f->max_score);
        if (f->sentiment > 0)
                sqlite3_bind_int(st, 8, f->sentiment - 1);
        bind_text(st, 9, f->theme);
        if (f->has_comment)
                sqlite3_bind_int(st, 10, 1);
        bind_text(st, 11, f->customer);
        sqlite3_bind_int(st, 12, f->limit > 0 ? f->limit : 50);
        return each_response(q, st, fn, arg, err);
}

static tp_rc sq_response_exists(tp_store *s, const char *id, int *ret_found, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_RESPONSE_BY_ID, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, id);
        src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_ROW && src != SQLITE_DONE)
                return sq_fail(q, src, err);
        *ret_found = src == SQLITE_ROW;
        return TP_OK;
}

static tp_rc sq_customer_put(tp_store *s, const tp_customer *c, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_CUSTOMER_PUT, &st, err);

        if (rc != TP_OK)
                return rc;
        bind_text(st, 1, c->id);
        bind_text(st, 2, c->segment);
        bind_text(st, 3, c->attributes);
        sqlite3_bind_int64(st, 4, c->updated);
        return step_done(q, st, err);
}

static tp_rc sq_customer_scan(tp_store *s, tp_store_customer_fn fn, void *arg, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, ST_CUSTOMER_SCAN, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                tp_customer c = { .id = col_text(st, 0), .segment = col_text(st, 1), .attributes = col_text(st, 2),
                                  .updated = sqlite3_column_int64(st, 3) };
                if (fn(arg, &c))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc sq_ckey_scan(tp_store *s, int responses, int64_t after_seq, tp_store_ckey_fn fn, void *arg,
                          tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, responses ? ST_CKEY_RESPONSES : ST_CKEY_EVENTS, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        sqlite3_bind_int64(st, 1, after_seq);
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                if (fn(arg, sqlite3_column_int64(st, 0), col_text(st, 1), sqlite3_column_int64(st, 2)))
                        break;
        }
        sqlite3_reset(st);
        return src == SQLITE_ROW || src == SQLITE_DONE ? TP_OK : sq_fail(q, src, err);
}

static tp_rc count_one(sqlite_store *q, int which, int64_t *ret_n, tp_err *err) {
        sqlite3_stmt *st = NULL;
        tp_rc rc = get_stmt(q, which, &st, err);
        int src;

        if (rc != TP_OK)
                return rc;
        src = sqlite3_step(st);
        if (src != SQLITE_ROW) {
                sqlite3_reset(st);
                return sq_fail(q, src, err);
        }
        *ret_n = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return TP_OK;
}

static tp_rc sq_counts(tp_store *s, int64_t *ret_events, int64_t *ret_responses, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        int64_t e = 0, r = 0;
        tp_rc rc = count_one(q, ST_COUNT_EVENTS, &e, err);

        if (rc == TP_OK)
                rc = count_one(q, ST_COUNT_RESPONSES, &r, err);
        if (rc != TP_OK)
                return rc;
        *ret_events = e;
        *ret_responses = r;
        return TP_OK;
}

static tp_rc sq_check(tp_store *s, int *ret_ok, char *msg, size_t msgsz, tp_err *err) {
        sqlite_store *q = (sqlite_store *) s;
        sqlite3_stmt *st = NULL;
        int src, ok = 1, n = 0;
        size_t used = 0;

        src = sqlite3_prepare_v2(q->db, "PRAGMA integrity_check", -1, &st, NULL);
        if (src != SQLITE_OK)
                return sq_fail(q, src, err);
        if (msgsz)
                msg[0] = '\0';
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
                const char *line = col_text(st, 0);
                if (strcmp(line, "ok") != 0)
                        ok = 0;
                if (msgsz && used + 2 < msgsz) {
                        int w = snprintf(msg + used, msgsz - used, "%s%s", n ? "; " : "", line);
                        if (w > 0)
                                used += (size_t) w < msgsz - used ? (size_t) w : msgsz - used - 1;
                }
                n++;
        }
        sqlite3_finalize(st);
        if (src != SQLITE_DONE)
                return sq_fail(q, src, err);
        *ret_ok = ok;
        return TP_OK;
}

/* clang-format off */
const tp_store_ops tp_store_sqlite_ops = {
        .version           = TP_STORE_OPS_VERSION,
        .scheme            = "sqlite",
        .open              = sq_open,
        .close             = sq_close,
        .migrate           = sq_migrate,
        .schema_version    = sq_schema_version,
        .begin             = sq_begin,
        .commit            = sq_commit,
        .rollback          = sq_rollback,
        .event_put         = sq_event_put,
        .response_put      = sq_response_put,
        .journey_put       = sq_journey_put,
        .journey_list      = sq_journey_list,
        .touchpoint_list   = sq_touchpoint_list,
        .touchpoint_ensure = sq_touchpoint_ensure,
        .key_put           = sq_key_put,
        .key_get           = sq_key_get,
        .key_list          = sq_key_list,
        .key_revoke        = sq_key_revoke,
        .meta_get          = sq_meta_get,
        .meta_put          = sq_meta_put,
        .rows_get          = sq_rows_get,
        .event_scan        = sq_event_scan,
        .response_scan     = sq_response_scan,
        .event_scan_core   = sq_event_scan_core,
        .response_scan_core = sq_response_scan_core,
        .response_list     = sq_response_list,
        .response_exists   = sq_response_exists,
        .customer_put      = sq_customer_put,
        .customer_scan     = sq_customer_scan,
        .ckey_scan         = sq_ckey_scan,
        .counts            = sq_counts,
        .check             = sq_check,
};
/* clang-format on */
