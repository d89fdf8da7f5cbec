/* SPDX-License-Identifier: MIT */
/*
 * test_store.c -- store conformance through the tp_store_* wrappers.  Every
 * conformance case runs on "sqlite::memory:" and on a temporary file; cases that
 * need a file (migrations from old versions, corrupt files, second handles) run
 * on a file only.  No PostgreSQL backend is built yet, so there is nothing to skip.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "service/zone.h"
#include "store/store.h"

typedef struct fx {
        tp_store *s;
        int is_file;
        char dir[64];
        char path[128];
        char url[160];
} fx;

#define STORE_SENTINEL ((tp_store *) 0x1)
#define LATEST 5 /* the newest schema version */

static void rm_db(const char *path) {
        char p[200];

        (void) unlink(path);
        (void) snprintf(p, sizeof(p), "%s-wal", path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-journal", path);
        (void) unlink(p);
}

static fx *fx_new(int is_file) {
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };

        assert_non_null(f);
        f->is_file = is_file;
        if (is_file) {
                (void) snprintf(f->dir, sizeof(f->dir), "/tmp/tp-store-XXXXXX");
                assert_non_null(mkdtemp(f->dir));
                (void) snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
                (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        } else {
                (void) snprintf(f->url, sizeof(f->url), "sqlite::memory:");
        }
        if (tp_store_open(f->url, 0, &f->s, &err) != TP_OK)
                fail_msg("open %s: %s", f->url, err.msg);
        return f;
}

static int open_mem(void **state) {
        *state = fx_new(0);
        return 0;
}

static int open_file(void **state) {
        *state = fx_new(1);
        return 0;
}

static int close_store(void **state) {
        fx *f = *state;

        tp_store_close(f->s);
        if (f->is_file) {
                rm_db(f->path);
                (void) rmdir(f->dir);
        }
        free(f);
        return 0;
}

static void migrated(fx *f) {
        tp_err err = { 0 };
        int from = -1;

        if (tp_store_migrate(f->s, &from, &err) != TP_OK)
                fail_msg("migrate: %s", err.msg);
        assert_int_equal(tp_store_schema_version(f->s), LATEST);
}

/* A journey "j1" with three touchpoints over two stages; ids in order. */
typedef struct tps_seen {
        int n;
        int64_t id[16];
        char key[16][32];
        char journey[16][32];
        int active[16];
        int stage_pos[16], pos[16];
        double csat[16];
} tps_seen;

static int collect_tp(void *arg, const tp_touchpoint *t) {
        tps_seen *c = arg;

        if (c->n < 16) {
                c->id[c->n] = t->id;
                (void) snprintf(c->key[c->n], 32, "%s", t->key);
                (void) snprintf(c->journey[c->n], 32, "%s", t->journey ? t->journey : "(null)");
                c->active[c->n] = t->active;
                c->stage_pos[c->n] = t->stage_pos;
                c->pos[c->n] = t->pos;
                c->csat[c->n] = t->expected_csat;
        }
        c->n++;
        return 0;
}

static tp_touchpoint mk_tp(const char *key, const char *stage, int stage_pos, int pos) {
        tp_touchpoint t = { 0 };

        t.key = key;
        t.stage = stage;
        t.stage_pos = stage_pos;
        t.pos = pos;
        t.name_vi = key;
        t.name_en = key;
        t.channel = "web";
        t.department = "sales";
        t.expected_csat = t.expected_nps = t.expected_ces = NAN;
        t.active = 1;
        return t;
}

static int64_t put_journey(tp_store *s) {
        tp_touchpoint tps[3];
        tp_err err = { 0 };
        tps_seen seen = { 0 };

        tps[0] = mk_tp("website", "before", 0, 0);
        tps[0].expected_csat = 4.5;
        tps[1] = mk_tp("store", "during", 1, 0);
        tps[2] = mk_tp("hotline", "during", 1, 1);
        if (tp_store_journey_put(s, "j1", "{\"key\":\"j1\"}", tps, 3, &err) != TP_OK)
                fail_msg("journey_put: %s", err.msg);
        assert_int_equal(tp_store_touchpoint_list(s, collect_tp, &seen, &err), TP_OK);
        assert_int_equal(seen.n, 3);
        return seen.id[0]; /* website */
}

static tp_event mk_ev(const char *id, const char *customer, int64_t tp, int64_t ts) {
        tp_event e = { 0 };

        e.id = id;
        e.customer = customer;
        e.touchpoint = tp;
        e.channel = "web";
        e.type = "view";
        e.ts = ts;
        return e;
}

static tp_response mk_resp(const char *id, const char *customer, int64_t tp, int64_t ts) {
        tp_response r = { 0 };

        r.id = id;
        r.customer = customer;
        r.touchpoint = tp;
        r.channel = "web";
        r.metric = TP_METRIC_NPS;
        r.score = 9;
        r.ts = ts;
        return r;
}

static void put_ev(tp_store *s, const tp_event *e, int want_dup) {
        tp_err err = { 0 };
        int dup = -1;

        assert_int_equal(tp_store_begin(s, &err), TP_OK);
        if (tp_store_event_put(s, e, &dup, &err) != TP_OK)
                fail_msg("event_put %s: %s", e->id, err.msg);
        assert_int_equal(dup, want_dup);
        assert_int_equal(tp_store_commit(s, &err), TP_OK);
}

static void put_resp(tp_store *s, const tp_response *r, int want_dup) {
        tp_err err = { 0 };
        int dup = -1;

        assert_int_equal(tp_store_begin(s, &err), TP_OK);
        if (tp_store_response_put(s, r, &dup, &err) != TP_OK)
                fail_msg("response_put %s: %s", r->id, err.msg);
        assert_int_equal(dup, want_dup);
        assert_int_equal(tp_store_commit(s, &err), TP_OK);
}

static void counts_are(tp_store *s, int64_t want_ev, int64_t want_rs) {
        int64_t ev = -1, rs = -1;
        tp_err err = { 0 };

        assert_int_equal(tp_store_counts(s, &ev, &rs, &err), TP_OK);
        assert_int_equal(ev, want_ev);
        assert_int_equal(rs, want_rs);
}

/* ---- migrations -------------------------------------------------------------- */

static void test_migrate_from_empty(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int from = -1;

        assert_int_equal(tp_store_schema_version(f->s), 0);
        assert_int_equal(tp_store_migrate(f->s, &from, &err), TP_OK);
        assert_int_equal(from, 0);
        assert_int_equal(tp_store_schema_version(f->s), LATEST);
}

static void test_migrate_idempotent(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int from = -1;

        migrated(f);
        put_journey(f->s);
        assert_int_equal(tp_store_migrate(f->s, &from, &err), TP_OK);
        assert_int_equal(from, LATEST);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        assert_int_equal(tp_store_schema_version(f->s), LATEST);
        counts_are(f->s, 0, 0);
}

typedef struct tl_seen {
        int n;
        char id[32][32];
        int is_response[32];
        int64_t seq[32], ts[32];
        int score[32];
        int has_value[32];
        int64_t value[32];
        int sentiment[32];
} tl_seen;

static int collect_tl(void *arg, const tp_timeline_row *row) {
        tl_seen *c = arg;

        if (c->n < 32) {
                c->is_response[c->n] = row->is_response;
                c->seq[c->n] = row->seq;
                if (row->is_response) {
                        (void) snprintf(c->id[c->n], 32, "%s", row->u.resp.id);
                        c->ts[c->n] = row->u.resp.ts;
                        c->score[c->n] = row->u.resp.score;
                        c->sentiment[c->n] = row->u.resp.sentiment;
                } else {
                        (void) snprintf(c->id[c->n], 32, "%s", row->u.ev.id);
                        c->ts[c->n] = row->u.ev.ts;
                        c->has_value[c->n] = row->u.ev.has_value;
                        c->value[c->n] = row->u.ev.value;
                }
        }
        c->n++;
        return 0;
}

typedef struct ckeys_seen {
        int n;
        int64_t seq[16], ts[16];
        char customer[16][16];
} ckeys_seen;

static int collect_ckey(void *arg, int64_t seq, const char *customer, int64_t ts) {
        ckeys_seen *c = arg;

        if (c->n < 16) {
                c->seq[c->n] = seq;
                c->ts[c->n] = ts;
                (void) snprintf(c->customer[c->n], 16, "%s", customer ? customer : "(null)");
        }
        c->n++;
        return 0;
}

/* Write at schema version v, reopen as a newer binary would, migrate, read back. */
static void migrate_from(fx *f, int v) {
        char path[200], url[220];
        tp_store *s = NULL;
        tp_err err = { 0 };
        tl_seen tl = { 0 };
        ckeys_seen ck = { 0 };
        int64_t tp, keys[2];
        int from = -1;
        tp_event e;
        tp_response r;

        (void) snprintf(path, sizeof(path), "%s/v%d.db", f->dir, v);
        (void) snprintf(url, sizeof(url), "sqlite:%s", path);
        assert_int_equal(tp_store_open(url, 0, &s, &err), TP_OK);
        assert_int_equal(tp_store_sqlite_migrate_to(s, v, &err), TP_OK);
        assert_int_equal(tp_store_schema_version(s), v);
        tp = put_journey(s);
        e = mk_ev("ev-old", "cust-1", tp, 1000);
        put_ev(s, &e, 0);
        tp_store_close(s);
        s = NULL;
        /* The response as that version's binary wrote it: only the columns it had. */
        {
                sqlite3 *db = NULL;
                char sql[256];
                assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
                (void) snprintf(sql, sizeof(sql),
                                "INSERT INTO responses(id, customer, touchpoint, metric, score, comment, ts) "
                                "VALUES ('rs-old', 'cust-1', %lld, 'nps', 9, 'old comment', 1001)",
                                (long long) tp);
                assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
                sqlite3_close(db);
        }

        assert_int_equal(tp_store_open(url, 0, &s, &err), TP_OK);
        assert_int_equal(tp_store_schema_version(s), v);
        assert_int_equal(tp_store_migrate(s, &from, &err), TP_OK);
        assert_int_equal(from, v);
        assert_int_equal(tp_store_schema_version(s), LATEST);
        counts_are(s, 1, 1);
        /* The rows are still there and readable the way timelines read them. */
        assert_int_equal(tp_store_ckey_scan(s, 0, 0, collect_ckey, &ck, &err), TP_OK);
        assert_int_equal(ck.n, 1);
        assert_string_equal(ck.customer[0], "cust-1");
        assert_int_equal(ck.ts[0], 1000);
        keys[0] = ck.seq[0] << 1;
        keys[1] = 1 << 1 | 1; /* response seq 1 */
        assert_int_equal(tp_store_rows_get(s, keys, 2, collect_tl, &tl, &err), TP_OK);
        assert_int_equal(tl.n, 2);
        assert_string_equal(tl.id[0], "ev-old");
        assert_string_equal(tl.id[1], "rs-old");
        /* An old response has no sentiment until it is read again. */
        assert_int_equal(tl.sentiment[1], 0);
        /* New writes work on the migrated schema; the migration is idempotent. */
        e = mk_ev("ev-new", "cust-1", tp, 1002);
        put_ev(s, &e, 0);
        counts_are(s, 2, 1);
        r = mk_resp("rs-new", "cust-1", tp, 1003);
        r.sentiment = 1 + 2;
        r.sentiment_conf = 0.75f;
        r.themes = "delivery,staff";
        put_resp(s, &r, 0);
        counts_are(s, 2, 2);
        assert_int_equal(tp_store_migrate(s, &from, &err), TP_OK);
        assert_int_equal(from, LATEST);
        {
                int ok = 0;
                char msg[64];
                assert_int_equal(tp_store_check(s, &ok, msg, sizeof(msg), &err), TP_OK);
                assert_int_equal(ok, 1);
        }
        tp_store_close(s);
        rm_db(path);
}

static void test_migrate_from_old_versions(void **state) {
        for (int v = 1; v < LATEST; v++)
                migrate_from(*state, v);
}

static void test_migrate_to_bad_version(void **state) {
        fx *f = *state;
        tp_err err = { 0 };

        assert_int_equal(tp_store_sqlite_migrate_to(f->s, LATEST + 1, &err), TP_INVALID);
        assert_int_equal(tp_store_sqlite_migrate_to(f->s, -1, &err), TP_INVALID);
        assert_int_equal(tp_store_schema_version(f->s), 0);
}

static void set_user_version(const char *path, int v) {
        sqlite3 *db = NULL;
        char sql[64];

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        (void) snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void test_newer_schema_refused(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int from = -7;

        migrated(f);
        tp_store_close(f->s);
        f->s = NULL;
        set_user_version(f->path, 99);
        assert_int_equal(tp_store_open(f->url, 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_schema_version(f->s), 99);
        assert_int_equal(tp_store_migrate(f->s, &from, &err), TP_BACKEND);
        assert_int_equal(from, -7); /* untouched */
        assert_non_null(strstr(err.msg, "99"));
        assert_non_null(strstr(err.msg, "newer"));
        assert_non_null(strstr(err.msg, f->path));
        assert_int_equal(tp_store_schema_version(f->s), 99);
}

/* ---- writes ------------------------------------------------------------------ */

static void test_event_put_and_duplicate(void **state) {
        fx *f = *state;
        int64_t tp;
        tp_event e;

        migrated(f);
        tp = put_journey(f->s);
        e = mk_ev("ev-1", "cust-1", tp, 100);
        e.has_value = 1;
        e.value = 150000;
        e.currency = "VND";
        e.properties = "{\"sku\":\"A1\"}";
        put_ev(f->s, &e, 0);
        counts_are(f->s, 1, 0);
        /* Same id, different content: nothing written, reported as duplicate. */
        e.ts = 999;
        e.value = 1;
        put_ev(f->s, &e, 1);
        counts_are(f->s, 1, 0);
}

static int first_event(void *arg, int64_t seq, const tp_event *e) {
        tp_event *out = arg;
        (void) seq;
        out->ts = e->ts;
        out->value = e->value;
        out->has_value = e->has_value;
        out->touchpoint = e->touchpoint;
        return 1;
}

static void test_duplicate_keeps_first(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        tp_event got = { 0 };
        int64_t tp;
        tp_event e;

        migrated(f);
        tp = put_journey(f->s);
        e = mk_ev("ev-1", "cust-1", tp, 100);
        e.has_value = 1;
        e.value = 5;
        e.currency = "VND";
        put_ev(f->s, &e, 0);
        e.ts = 999;
        e.value = 7;
        put_ev(f->s, &e, 1);
        assert_int_equal(tp_store_event_scan(f->s, 0, first_event, &got, &err), TP_OK);
        assert_int_equal(got.ts, 100);
        assert_int_equal(got.value, 5);
        assert_int_equal(got.has_value, 1);
        assert_int_equal(got.touchpoint, tp);
}

static void test_response_put(void **state) {
        fx *f = *state;
        int64_t tp;
        tp_response r;

        migrated(f);
        tp = put_journey(f->s);
        r = mk_resp("r-1", NULL, tp, 100); /* anonymous */
        r.comment = "Nh\xc3\xa2n vi\xc3\xaan th\xc3\xa2n thi\xe1\xbb\x87n";
        r.language = "vi";
        put_resp(f->s, &r, 0);
        r.score = 3;
        put_resp(f->s, &r, 1);
        r.id = "r-2";
        r.metric = TP_METRIC_GOAL;
        r.score = 2;
        r.event = "ev-x";
        put_resp(f->s, &r, 0);
        counts_are(f->s, 0, 2);
}

static void test_event_unknown_touchpoint_fk(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int dup = -5;
        int64_t tp;
        tp_event e;
        tp_response r;

        migrated(f);
        tp = put_journey(f->s);
        e = mk_ev("ev-fk", "cust-1", tp + 1000, 100);
        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        assert_int_equal(tp_store_event_put(f->s, &e, &dup, &err), TP_CONFLICT);
        assert_int_equal(dup, -5); /* untouched */
        assert_non_null(strstr(err.msg, "FOREIGN KEY"));
        r = mk_resp("r-fk", NULL, 424242, 100);
        assert_int_equal(tp_store_response_put(f->s, &r, &dup, &err), TP_CONFLICT);
        assert_int_equal(dup, -5);
        tp_store_rollback(f->s);
        counts_are(f->s, 0, 0);
}

static void test_rollback_discards(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int dup = -1;
        int64_t tp;
        tp_event e1, e2;
        tp_response r;

        migrated(f);
        tp = put_journey(f->s);
        e1 = mk_ev("ev-1", "c", tp, 1);
        put_ev(f->s, &e1, 0);
        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        e2 = mk_ev("ev-2", "c", tp, 2);
        assert_int_equal(tp_store_event_put(f->s, &e2, &dup, &err), TP_OK);
        assert_int_equal(dup, 0);
        r = mk_resp("r-1", "c", tp, 2);
        assert_int_equal(tp_store_response_put(f->s, &r, &dup, &err), TP_OK);
        counts_are(f->s, 2, 1); /* visible inside the transaction */
        tp_store_rollback(f->s);
        counts_are(f->s, 1, 0);
        /* The rolled-back id can be written again, not reported as a duplicate. */
        put_ev(f->s, &e2, 0);
        counts_are(f->s, 2, 0);
        /* rollback outside a transaction is harmless. */
        tp_store_rollback(f->s);
        counts_are(f->s, 2, 0);
}

static void test_begin_twice_fails(void **state) {
        fx *f = *state;
        tp_err err = { 0 };

        migrated(f);
        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        assert_int_not_equal(tp_store_begin(f->s, &err), TP_OK);
        assert_string_not_equal(err.msg, "");
        tp_store_rollback(f->s);
        assert_int_equal(tp_store_begin(f->s, &err), TP_OK);
        assert_int_equal(tp_store_commit(f->s, &err), TP_OK);
}

/* ---- catalogue ---------------------------------------------------------------- */

static void test_journey_touchpoints(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        tps_seen seen = { 0 };
        tp_touchpoint tps[3];
        int64_t ensured = -1;

        migrated(f);
        put_journey(f->s);
        /* A loose touchpoint (journey NULL) sorts after every journey's. */
        assert_int_equal(tp_store_touchpoint_ensure(f->s, "imported", &ensured, &err), TP_OK);
        /* A second journey "a0" sorts before "j1". */
        tps[0] = mk_tp("zalo", "s", 0, 0);
        assert_int_equal(tp_store_journey_put(f->s, "a0", "{}", tps, 1, &err), TP_OK);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, &seen, &err), TP_OK);
        assert_int_equal(seen.n, 5);
        assert_string_equal(seen.key[0], "zalo");
        assert_string_equal(seen.journey[0], "a0");
        assert_string_equal(seen.key[1], "website");
        assert_string_equal(seen.key[2], "store");
        assert_string_equal(seen.key[3], "hotline");
        assert_int_equal(seen.stage_pos[3], 1);
        assert_int_equal(seen.pos[3], 1);
        assert_string_equal(seen.key[4], "imported");
        assert_string_equal(seen.journey[4], "(null)");
        assert_int_equal(seen.id[4], ensured);
        assert_true(seen.csat[1] == 4.5);
        assert_true(isnan(seen.csat[2]));
        for (int i = 0; i < 5; i++)
                assert_int_equal(seen.active[i], 1);
}

static void test_journey_drop_marks_inactive(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        tps_seen before = { 0 }, after = { 0 };
        tp_touchpoint tps[2];
        int64_t tp_store_id;
        tp_event e;

        migrated(f);
        put_journey(f->s);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, &before, &err), TP_OK);
        tp_store_id = before.id[1]; /* "store" */
        e = mk_ev("ev-store", "c", tp_store_id, 5);
        put_ev(f->s, &e, 0);
        /* Version 2 of j1 drops "store" and reorders. */
        tps[0] = mk_tp("hotline", "before", 0, 0);
        tps[1] = mk_tp("website", "before", 0, 1);
        assert_int_equal(tp_store_journey_put(f->s, "j1", "{\"v\":2}", tps, 2, &err), TP_OK);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, &after, &err), TP_OK);
        assert_int_equal(after.n, 3);
        for (int i = 0; i < after.n; i++) {
                if (strcmp(after.key[i], "store") == 0) {
                        assert_int_equal(after.active[i], 0);
                        assert_int_equal(after.id[i], tp_store_id); /* ids are stable */
                } else {
                        assert_int_equal(after.active[i], 1);
                }
        }
        /* Rows that point at the retired touchpoint stay valid. */
        counts_are(f->s, 1, 0);
        {
                int ok = 0;
                char msg[128];
                assert_int_equal(tp_store_check(f->s, &ok, msg, sizeof(msg), &err), TP_OK);
                assert_int_equal(ok, 1);
        }
}

typedef struct jl_seen {
        int n;
        char key[4][16];
        char doc[4][64];
} jl_seen;

static int collect_journey(void *arg, const char *key, const char *doc, int64_t updated) {
        jl_seen *c = arg;

        assert_true(updated > 0);
        if (c->n < 4) {
                (void) snprintf(c->key[c->n], 16, "%s", key);
                (void) snprintf(c->doc[c->n], 64, "%s", doc);
        }
        c->n++;
        return 0;
}

static void test_journey_list(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        jl_seen seen = { 0 };
        tp_touchpoint t = mk_tp("kiosk", "s", 0, 0);

        migrated(f);
        put_journey(f->s);
        assert_int_equal(tp_store_journey_put(f->s, "j1", "{\"v\":2}", &t, 1, &err), TP_OK);
        assert_int_equal(tp_store_journey_put(f->s, "a0", "{\"a\":0}", NULL, 0, &err), TP_OK);
        assert_int_equal(tp_store_journey_list(f->s, collect_journey, &seen, &err), TP_OK);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.key[0], "a0");
        assert_string_equal(seen.doc[0], "{\"a\":0}");
        assert_string_equal(seen.key[1], "j1");
        assert_string_equal(seen.doc[1], "{\"v\":2}");
}

static void test_touchpoint_ensure(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int64_t a = -1, b = -1, c = -1, web;
        tps_seen seen = { 0 };

        migrated(f);
        web = put_journey(f->s);
        assert_int_equal(tp_store_touchpoint_ensure(f->s, "new-one", &a, &err), TP_OK);
        assert_true(a > 0);
        assert_int_equal(tp_store_touchpoint_ensure(f->s, "new-one", &b, &err), TP_OK);
        assert_int_equal(a, b);
        /* An existing journey touchpoint is left as it is. */
        assert_int_equal(tp_store_touchpoint_ensure(f->s, "website", &c, &err), TP_OK);
        assert_int_equal(c, web);
        assert_int_equal(tp_store_touchpoint_list(f->s, collect_tp, &seen, &err), TP_OK);
        assert_int_equal(seen.n, 4);
        assert_string_equal(seen.journey[0], "j1");
        assert_string_equal(seen.key[0], "website");
}

/* ---- keys and meta ------------------------------------------------------------ */

typedef struct keys_seen {
        int n;
        char prefix[8][32];
        char name[8][32];
        unsigned char hash[8][32];
        tp_scope scope[8];
        int64_t created[8], revoked[8];
        char origins[8][64];
} keys_seen;

static int collect_key(void *arg, const tp_key_rec *k) {
        keys_seen *c = arg;

        if (c->n < 8) {
                (void) snprintf(c->prefix[c->n], 32, "%s", k->prefix);
                (void) snprintf(c->name[c->n], 32, "%s", k->name ? k->name : "(null)");
                memcpy(c->hash[c->n], k->hash, 32);
                c->scope[c->n] = k->scope;
                c->created[c->n] = k->created;
                c->revoked[c->n] = k->revoked;
                (void) snprintf(c->origins[c->n], 64, "%s", k->origins ? k->origins : "(null)");
        }
        c->n++;
        return 0;
}

static int never_called(void *arg, const tp_key_rec *k) {
        (void) arg;
        (void) k;
        fail_msg("callback called for a missing key");
        return 1;
}

typedef struct list_seen {
        int n;
        char id[16][32];
        int64_t seq[16];
        int sentiment[16];
        char themes[16][64];
} list_seen;

static int collect_list(void *arg, int64_t seq, const tp_response *r) {
        list_seen *c = arg;

        if (c->n < 16) {
                (void) snprintf(c->id[c->n], 32, "%s", r->id);
                c->seq[c->n] = seq;
                c->sentiment[c->n] = r->sentiment;
                (void) snprintf(c->themes[c->n], 64, "%s", r->themes ? r->themes : "");
                c->n++;
        }
        return 0;
}

static list_seen list(tp_store *s, const tp_response_filter *flt) {
        list_seen got = { 0 };
        tp_err err = { 0 };

        assert_int_equal(tp_store_response_list(s, flt, collect_list, &got, &err), TP_OK);
        return got;
}

/* Every filter of response_list, paging by seq, and response_exists. */
static void test_response_list(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int64_t tp;
        tp_response r;
        tp_response_filter flt;
        list_seen got;
        int found = -1;

        migrated(f);
        tp = put_journey(f->s);
        r = mk_resp("a", "c1", tp, 100); /* nps 9, no comment */
        put_resp(f->s, &r, 0);
        r = mk_resp("b", "c2", tp, 200);
        r.score = 2;
        r.comment = "giao hàng chậm";
        r.sentiment = 1;
        r.sentiment_conf = 0.9f;
        r.themes = "delivery";
        put_resp(f->s, &r, 0);
        r = mk_resp("c", "c1", tp, 300);
        r.metric = TP_METRIC_CSAT;
        r.score = 5;
        r.comment = "nhân viên vui vẻ, giao hàng nhanh";
        r.sentiment = 3;
        r.themes = "staff,delivery";
        put_resp(f->s, &r, 0);

        memset(&flt, 0, sizeof(flt));
        got = list(f->s, &flt);
        assert_int_equal(got.n, 3);
        assert_string_equal(got.id[0], "c"); /* newest first */
        assert_string_equal(got.id[2], "a");
        assert_int_equal(got.sentiment[0], 3);
        assert_string_equal(got.themes[0], "staff,delivery");
        assert_int_equal(got.sentiment[2], 0);

        flt.limit = 2; /* paging: the next page starts below the last seq */
        got = list(f->s, &flt);
        assert_int_equal(got.n, 2);
        flt.before_seq = got.seq[1];
        got = list(f->s, &flt);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.id[0], "a");

        memset(&flt, 0, sizeof(flt));
        flt.has_metric = 1;
        flt.metric = TP_METRIC_NPS;
        flt.has_max = 1;
        flt.max_score = 6;
        got = list(f->s, &flt);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.id[0], "b");

        memset(&flt, 0, sizeof(flt));
        flt.theme = "delivery";
        assert_int_equal(list(f->s, &flt).n, 2);
        flt.theme = "deliver"; /* whole keys only */
        assert_int_equal(list(f->s, &flt).n, 0);
        flt.theme = "staff";
        assert_int_equal(list(f->s, &flt).n, 1);

        memset(&flt, 0, sizeof(flt));
        flt.sentiment = 1;
        got = list(f->s, &flt);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.id[0], "b");

        memset(&flt, 0, sizeof(flt));
        flt.has_comment = 1;
        flt.customer = "c1";
        flt.from = 100;
        flt.to = 301;
        got = list(f->s, &flt);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.id[0], "c");
        flt.has_comment = 0;
        flt.has_min = 1;
        flt.min_score = 9;
        flt.to = 300; /* to is exclusive */
        got = list(f->s, &flt);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.id[0], "a");

        memset(&flt, 0, sizeof(flt));
        flt.touchpoint = tp + 1000;
        assert_int_equal(list(f->s, &flt).n, 0);

        assert_int_equal(tp_store_response_exists(f->s, "b", &found, &err), TP_OK);
        assert_int_equal(found, 1);
        assert_int_equal(tp_store_response_exists(f->s, "zz", &found, &err), TP_OK);
        assert_int_equal(found, 0);
}

typedef struct cust_seen {
        int n;
        char line[8][96];
} cust_seen;

static int collect_cust(void *arg, const tp_customer *c) {
        cust_seen *x = arg;

        if (x->n < 8)
                (void) snprintf(x->line[x->n++], 96, "%s|%s|%s|%lld", c->id, c->segment ? c->segment : "-",
                                c->attributes ? c->attributes : "-", (long long) c->updated);
        return 0;
}

static void test_customers(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        cust_seen seen = { 0 };
        tp_customer a = { .id = "kh-2", .segment = "vip", .attributes = "{\"city\":\"HCM\"}", .updated = 10 };
        tp_customer b = { .id = "kh-1", .segment = NULL, .attributes = NULL, .updated = 11 };

        migrated(f);
        assert_int_equal(tp_store_customer_put(f->s, &a, &err), TP_OK);
        assert_int_equal(tp_store_customer_put(f->s, &b, &err), TP_OK);
        a.segment = "regular"; /* a later put replaces */
        a.updated = 12;
        assert_int_equal(tp_store_customer_put(f->s, &a, &err), TP_OK);
        assert_int_equal(tp_store_customer_scan(f->s, collect_cust, &seen, &err), TP_OK);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.line[0], "kh-1|-|-|11");
        assert_string_equal(seen.line[1], "kh-2|regular|{\"city\":\"HCM\"}|12");
}

static void test_keys(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        tp_key_rec k1 = { 0 }, k2 = { 0 };
        keys_seen got = { 0 }, all = { 0 }, after = { 0 };

        migrated(f);
        k1.prefix = "tpk_000000000001";
        memset(k1.hash, 0xab, sizeof(k1.hash));
        k1.scope = TP_SCOPE_ADMIN;
        k1.name = "ops";
        k1.created = 1000;
        k2.prefix = "tpk_000000000002";
        memset(k2.hash, 0x11, sizeof(k2.hash));
        k2.scope = TP_SCOPE_INGEST;
        k2.name = NULL;
        k2.created = 500;
        k2.origins = "https://shop.example http://127.0.0.1:8081";
        assert_int_equal(tp_store_key_put(f->s, &k1, &err), TP_OK);
        assert_int_equal(tp_store_key_put(f->s, &k2, &err), TP_OK);
        assert_int_equal(tp_store_key_put(f->s, &k1, &err), TP_CONFLICT);

        assert_int_equal(tp_store_key_get(f->s, k1.prefix, collect_key, &got, &err), TP_OK);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.prefix[0], k1.prefix);
        assert_string_equal(got.name[0], "ops");
        assert_memory_equal(got.hash[0], k1.hash, 32);
        assert_int_equal(got.scope[0], TP_SCOPE_ADMIN);
        assert_int_equal(got.created[0], 1000);
        assert_int_equal(got.revoked[0], 0);
        assert_int_equal(tp_store_key_get(f->s, "tpk_ffffffffffff", never_called, NULL, &err), TP_NOTFOUND);
        assert_non_null(strstr(err.msg, "tpk_ffffffffffff"));

        /* Listed by creation time. */
        assert_int_equal(tp_store_key_list(f->s, collect_key, &all, &err), TP_OK);
        assert_int_equal(all.n, 2);
        assert_string_equal(all.prefix[0], k2.prefix);
        assert_int_equal(all.scope[0], TP_SCOPE_INGEST);
        assert_string_equal(all.name[0], "(null)");
        assert_string_equal(all.origins[0], "https://shop.example http://127.0.0.1:8081");
        assert_string_equal(all.origins[1], "(null)");
        assert_string_equal(all.prefix[1], k1.prefix);

        assert_int_equal(tp_store_key_revoke(f->s, k1.prefix, 2000, &err), TP_OK);
        assert_int_equal(tp_store_key_revoke(f->s, k1.prefix, 3000, &err), TP_NOTFOUND);
        assert_int_equal(tp_store_key_revoke(f->s, "tpk_nothere0000", 3000, &err), TP_NOTFOUND);
        assert_int_equal(tp_store_key_get(f->s, k1.prefix, collect_key, &after, &err), TP_OK);
        assert_int_equal(after.revoked[0], 2000); /* the first revocation time stays */
}

/* The organisation's zone: the default, set, read back, and the offsets
 * accepted and refused. */
static void test_zone(void **state) {
        static const struct {
                const char *in;
                int32_t off;
                const char *out;
        } ok[] = { { "UTC", 0, "+00:00" },         { "Z", 0, "+00:00" },          { "+07:00", 25200, "+07:00" },
                   { "-04:30", -16200, "-04:30" }, { "+0530", 19800, "+05:30" },  { "+7", 25200, "+07:00" },
                   { "-12", -43200, "-12:00" },    { "+14:00", 50400, "+14:00" }, { "+05:45", 20700, "+05:45" } };
        static const char *const bad[] = { "", "7", "+15:00", "-12:30", "+07:60", "+07-00", "GMT", "+07:00x",
                                           "+123" };
        fx *f = *state;
        tp_err err = { 0 };
        int32_t off = 1;
        char text[TP_ZONE_TEXT_MAX];

        migrated(f);
        assert_int_equal(tp_zone_get(f->s, &off, &err), TP_OK);
        assert_int_equal(off, 7 * 3600);
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                assert_int_equal(tp_zone_parse(ok[i].in, &off, &err), TP_OK);
                assert_int_equal(off, ok[i].off);
                tp_zone_format(off, text);
                assert_string_equal(text, ok[i].out);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                off = 99;
                assert_int_equal(tp_zone_parse(bad[i], &off, &err), TP_INVALID);
                assert_string_equal(err.field, "zone");
                assert_int_equal(off, 99);
        }
        assert_int_equal(tp_zone_set(f->s, -16200, &err), TP_OK);
        assert_int_equal(tp_zone_get(f->s, &off, &err), TP_OK);
        assert_int_equal(off, -16200);
        /* A value that does not parse is an error, not the default. */
        assert_int_equal(tp_store_meta_put(f->s, "utc_offset", "tomorrow", 8, &err), TP_OK);
        assert_int_equal(tp_zone_get(f->s, &off, &err), TP_CORRUPT);
        assert_int_equal(off, -16200);
}

static void test_meta(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        unsigned char buf[8], big[40];
        size_t len = 777;

        migrated(f);
        memset(buf, 0xee, sizeof(buf));
        assert_int_equal(tp_store_meta_get(f->s, "missing", buf, sizeof(buf), &len, &err), TP_NOTFOUND);
        assert_int_equal(len, 777);
        for (size_t i = 0; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0xee);
        assert_non_null(strstr(err.msg, "missing"));

        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (unsigned char) i;
        assert_int_equal(tp_store_meta_put(f->s, "blob", big, sizeof(big), &err), TP_OK);
        assert_int_equal(tp_store_meta_get(f->s, "blob", buf, sizeof(buf), &len, &err), TP_TOOBIG);
        assert_int_equal(len, 777);
        assert_int_equal(buf[0], 0xee);

        assert_int_equal(tp_store_meta_put(f->s, "blob", big, 8, &err), TP_OK); /* replace */
        assert_int_equal(tp_store_meta_get(f->s, "blob", buf, sizeof(buf), &len, &err), TP_OK);
        assert_int_equal(len, 8);
        assert_memory_equal(buf, big, 8);
        /* Binary values keep their NUL bytes. */
        assert_int_equal(buf[0], 0);
}

/* ---- reads -------------------------------------------------------------------- */

static void fill_timeline(tp_store *s, int64_t tp) {
        tp_event e;
        tp_response r;

        e = mk_ev("e1", "c1", tp, 100);
        put_ev(s, &e, 0); /* event seq 1 */
        r = mk_resp("r1", "c1", tp, 100);
        r.score = 1;
        put_resp(s, &r, 0); /* response seq 1 */
        e = mk_ev("e2", "c1", tp, 100);
        e.has_value = 1;
        e.value = 42;
        e.currency = "VND";
        put_ev(s, &e, 0); /* seq 2 */
        e = mk_ev("e3", "c1", tp, 50);
        put_ev(s, &e, 0); /* seq 3 */
        r = mk_resp("r2", "c1", tp, 200);
        r.score = 2;
        put_resp(s, &r, 0); /* response seq 2 */
        e = mk_ev("e4", "c2", tp, 100);
        put_ev(s, &e, 0); /* seq 4, another customer */
        e = mk_ev("e5", "c1", tp, 200);
        put_ev(s, &e, 0); /* seq 5 */
        r = mk_resp("r3", NULL, tp, 100);
        put_resp(s, &r, 0); /* response seq 3, anonymous */
}

static void test_rows_get(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        tl_seen tl = { 0 };
        /* In the order given, events and responses mixed; missing rows skipped. */
        static const int64_t keys[] = {
                2 << 1,     /* event 2: e2 */
                1 << 1 | 1, /* response 1: r1 */
                99 << 1,    /* no such event */
                3 << 1,     /* event 3: e3 */
                42 << 1 | 1 /* no such response */,
                2 << 1 | 1, /* response 2: r2 */
        };

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_rows_get(f->s, keys, 6, collect_tl, &tl, &err), TP_OK);
        assert_int_equal(tl.n, 4);
        assert_string_equal(tl.id[0], "e2");
        assert_int_equal(tl.is_response[0], 0);
        assert_int_equal(tl.seq[0], 2);
        assert_int_equal(tl.has_value[0], 1);
        assert_int_equal(tl.value[0], 42);
        assert_int_equal(tl.ts[0], 100);
        assert_string_equal(tl.id[1], "r1");
        assert_int_equal(tl.is_response[1], 1);
        assert_int_equal(tl.seq[1], 1);
        assert_int_equal(tl.score[1], 1);
        assert_string_equal(tl.id[2], "e3");
        assert_int_equal(tl.ts[2], 50);
        assert_int_equal(tl.has_value[2], 0);
        assert_string_equal(tl.id[3], "r2");
        assert_int_equal(tl.score[3], 2);

        /* Nothing asked, nothing returned. */
        memset(&tl, 0, sizeof(tl));
        assert_int_equal(tp_store_rows_get(f->s, keys, 0, collect_tl, &tl, &err), TP_OK);
        assert_int_equal(tl.n, 0);
}

static int stop_after_one(void *arg, const tp_timeline_row *row) {
        int *n = arg;
        (void) row;
        (*n)++;
        return 1;
}

static void test_rows_get_stop_early(void **state) {
        static const int64_t keys[] = { 1 << 1, 2 << 1, 1 << 1 | 1 };
        fx *f = *state;
        tp_err err = { 0 };
        int n = 0;

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_rows_get(f->s, keys, 3, stop_after_one, &n, &err), TP_OK);
        assert_int_equal(n, 1);
        /* The statements were reset: a second read works. */
        n = 0;
        assert_int_equal(tp_store_rows_get(f->s, keys + 1, 2, stop_after_one, &n, &err), TP_OK);
        assert_int_equal(n, 1);
}

static void test_ckey_scan(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        ckeys_seen ck = { 0 };

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_ckey_scan(f->s, 0, 0, collect_ckey, &ck, &err), TP_OK);
        assert_int_equal(ck.n, 5);
        for (int i = 0; i < 5; i++)
                assert_int_equal(ck.seq[i], i + 1);
        assert_string_equal(ck.customer[0], "c1");
        assert_string_equal(ck.customer[3], "c2");
        assert_int_equal(ck.ts[2], 50);

        memset(&ck, 0, sizeof(ck));
        assert_int_equal(tp_store_ckey_scan(f->s, 0, 4, collect_ckey, &ck, &err), TP_OK);
        assert_int_equal(ck.n, 1);
        assert_int_equal(ck.seq[0], 5);

        memset(&ck, 0, sizeof(ck));
        assert_int_equal(tp_store_ckey_scan(f->s, 1, 0, collect_ckey, &ck, &err), TP_OK);
        assert_int_equal(ck.n, 3);
        assert_string_equal(ck.customer[2], "(null)"); /* anonymous response */
        assert_int_equal(ck.ts[1], 200);
}

typedef struct scan_seen {
        int n, stop_at;
        int64_t seq[16];
        char id[16][16];
        char customer[16][16];
        int metric[16];
} scan_seen;

static int collect_ev(void *arg, int64_t seq, const tp_event *e) {
        scan_seen *c = arg;

        c->seq[c->n] = seq;
        (void) snprintf(c->id[c->n], 16, "%s", e->id);
        (void) snprintf(c->customer[c->n], 16, "%s", e->customer ? e->customer : "(null)");
        c->n++;
        return c->n == c->stop_at;
}

static int collect_rs(void *arg, int64_t seq, const tp_response *r) {
        scan_seen *c = arg;

        c->seq[c->n] = seq;
        (void) snprintf(c->id[c->n], 16, "%s", r->id);
        (void) snprintf(c->customer[c->n], 16, "%s", r->customer ? r->customer : "(null)");
        c->metric[c->n] = (int) r->metric;
        c->n++;
        return c->n == c->stop_at;
}

static void test_scans(void **state) {
        static const char *const ev_ids[] = { "e1", "e2", "e3", "e4", "e5" };
        fx *f = *state;
        tp_err err = { 0 };
        scan_seen s = { 0 };

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_event_scan(f->s, 0, collect_ev, &s, &err), TP_OK);
        assert_int_equal(s.n, 5);
        for (int i = 0; i < 5; i++) {
                assert_int_equal(s.seq[i], i + 1);
                assert_string_equal(s.id[i], ev_ids[i]);
        }
        assert_string_equal(s.customer[3], "c2");

        memset(&s, 0, sizeof(s));
        assert_int_equal(tp_store_event_scan(f->s, 3, collect_ev, &s, &err), TP_OK);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.seq[0], 4);
        assert_int_equal(s.seq[1], 5);

        memset(&s, 0, sizeof(s));
        s.stop_at = 2;
        assert_int_equal(tp_store_event_scan(f->s, 0, collect_ev, &s, &err), TP_OK);
        assert_int_equal(s.n, 2);

        memset(&s, 0, sizeof(s));
        assert_int_equal(tp_store_event_scan(f->s, 5, collect_ev, &s, &err), TP_OK);
        assert_int_equal(s.n, 0);

        memset(&s, 0, sizeof(s));
        assert_int_equal(tp_store_response_scan(f->s, 0, collect_rs, &s, &err), TP_OK);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.id[0], "r1");
        assert_string_equal(s.id[1], "r2");
        assert_string_equal(s.id[2], "r3");
        assert_string_equal(s.customer[2], "(null)");
        assert_int_equal(s.metric[0], TP_METRIC_NPS);
        assert_int_equal(s.seq[2], 3);

        memset(&s, 0, sizeof(s));
        assert_int_equal(tp_store_response_scan(f->s, 1, collect_rs, &s, &err), TP_OK);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.id[0], "r2");

        counts_are(f->s, 5, 3);
}

static void test_counts_empty_and_untouched(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        int64_t ev = -3, rs = -3;

        /* Before migration there are no tables: an error, out-params untouched. */
        assert_int_not_equal(tp_store_counts(f->s, &ev, &rs, &err), TP_OK);
        assert_int_equal(ev, -3);
        assert_int_equal(rs, -3);
        assert_string_not_equal(err.msg, "");
        migrated(f);
        counts_are(f->s, 0, 0);
}

static void test_check_ok(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        char msg[64];
        int ok = -1;

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_check(f->s, &ok, msg, sizeof(msg), &err), TP_OK);
        assert_int_equal(ok, 1);
        assert_string_equal(msg, "ok");
}

/* ---- opening ------------------------------------------------------------------ */

static void test_open_not_a_database(void **state) {
        fx *f = *state;
        char path[200], url[220];
        unsigned char junk[4096];
        tp_store *s = STORE_SENTINEL;
        tp_err err = { 0 };
        int fd;

        (void) snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (unsigned char) (i * 37 + 11);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t) sizeof(junk));
        assert_int_equal(close(fd), 0);
        (void) snprintf(url, sizeof(url), "sqlite:%s", path);
        assert_int_equal(tp_store_open(url, 0, &s, &err), TP_CORRUPT);
        assert_ptr_equal(s, STORE_SENTINEL);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "not a database"));
        /* Read-only opening says the same. */
        assert_int_equal(tp_store_open(url, TP_STORE_READONLY, &s, &err), TP_CORRUPT);
        assert_ptr_equal(s, STORE_SENTINEL);
        rm_db(path);
}

static void test_open_missing_directory(void **state) {
        fx *f = *state;
        char path[240], url[260], dir[200];
        tp_store *s = STORE_SENTINEL;
        tp_err err = { 0 };

        (void) snprintf(dir, sizeof(dir), "%s/no-such-dir", f->dir);
        (void) snprintf(path, sizeof(path), "%s/x.db", dir);
        (void) snprintf(url, sizeof(url), "sqlite:%s", path);
        assert_int_not_equal(tp_store_open(url, 0, &s, &err), TP_OK);
        assert_ptr_equal(s, STORE_SENTINEL);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "does not exist"));
        assert_int_equal(access(dir, F_OK), -1); /* nothing was created */
        /* A bare path behaves the same. */
        assert_int_not_equal(tp_store_open(path, 0, &s, &err), TP_OK);
        assert_ptr_equal(s, STORE_SENTINEL);
        assert_non_null(strstr(err.msg, "does not exist"));
}

static void test_open_bad_urls(void **state) {
        tp_store *s = STORE_SENTINEL;
        tp_err err = { 0 };

        (void) state;
        assert_int_equal(tp_store_open("", 0, &s, &err), TP_INVALID);
        assert_string_equal(err.field, "db");
        assert_int_equal(tp_store_open("sqlite:", 0, &s, &err), TP_INVALID);
        assert_int_equal(tp_store_open("mysql://x/y", 0, &s, &err), TP_INVALID);
        assert_non_null(strstr(err.msg, "mysql"));
        assert_int_equal(tp_store_open("postgres://localhost/tp", 0, &s, &err), TP_INVALID);
        assert_ptr_equal(s, STORE_SENTINEL);
}

static void test_second_handle_sees_commits(void **state) {
        fx *f = *state;
        tp_store *r = NULL;
        tp_err err = { 0 };
        int64_t tp;
        tp_event e;

        migrated(f);
        tp = put_journey(f->s);
        assert_int_equal(tp_store_open(f->url, TP_STORE_READONLY, &r, &err), TP_OK);
        counts_are(r, 0, 0);
        e = mk_ev("e1", "c", tp, 1);
        put_ev(f->s, &e, 0);
        counts_are(r, 1, 0);
        /* A read-only handle cannot write. */
        {
                int dup = -1;
                tp_event e2 = mk_ev("e2", "c", tp, 2);
                tp_rc rc = tp_store_begin(r, &err);
                if (rc == TP_OK)
                        rc = tp_store_event_put(r, &e2, &dup, &err);
                assert_int_not_equal(rc, TP_OK);
                assert_int_equal(dup, -1);
                tp_store_rollback(r);
        }
        tp_store_close(r);
        counts_are(f->s, 1, 0);
}

static void test_metric_names(void **state) {
        tp_metric m = (tp_metric) 99;

        (void) state;
        assert_int_equal(tp_metric_parse("ces", &m), TP_OK);
        assert_int_equal(m, TP_METRIC_CES);
        assert_string_equal(tp_metric_name(TP_METRIC_EMOTION), "emotion");
        m = (tp_metric) 99;
        assert_int_equal(tp_metric_parse("NPS", &m), TP_NOTFOUND);
        assert_int_equal(m, 99);
        assert_string_equal(tp_metric_name((tp_metric) 42), "unknown");
}

/* The core scans give the same rows with the columns analytics skips as NULL. */
static int collect_core_ev(void *arg, int64_t seq, const tp_event *e) {
        assert_null(e->id);
        assert_null(e->properties);
        return collect_ev(arg, seq, &(tp_event) { .id = "", .customer = e->customer });
}

static int collect_core_rs(void *arg, int64_t seq, const tp_response *r) {
        assert_null(r->id);
        assert_null(r->comment);
        assert_null(r->event);
        return collect_rs(arg, seq, &(tp_response) { .id = "", .customer = r->customer, .metric = r->metric });
}

static void test_core_scans(void **state) {
        fx *f = *state;
        tp_err err = { 0 };
        scan_seen full = { 0 }, core = { 0 };

        migrated(f);
        fill_timeline(f->s, put_journey(f->s));
        assert_int_equal(tp_store_event_scan(f->s, 1, collect_ev, &full, &err), TP_OK);
        assert_int_equal(tp_store_event_scan_core(f->s, 1, collect_core_ev, &core, &err), TP_OK);
        assert_int_equal(core.n, 4);
        assert_int_equal(core.n, full.n);
        for (int i = 0; i < core.n; i++) {
                assert_int_equal(core.seq[i], full.seq[i]);
                assert_string_equal(core.customer[i], full.customer[i]);
        }
        memset(&full, 0, sizeof(full));
        memset(&core, 0, sizeof(core));
        assert_int_equal(tp_store_response_scan(f->s, 0, collect_rs, &full, &err), TP_OK);
        assert_int_equal(tp_store_response_scan_core(f->s, 0, collect_core_rs, &core, &err), TP_OK);
        assert_int_equal(core.n, 3);
        for (int i = 0; i < core.n; i++) {
                assert_int_equal(core.seq[i], full.seq[i]);
                assert_string_equal(core.customer[i], full.customer[i]);
                assert_int_equal(core.metric[i], full.metric[i]);
        }
}

#define BOTH(fn)                                                    \
        cmocka_unit_test_setup_teardown(fn, open_mem, close_store), \
                cmocka_unit_test_setup_teardown(fn, open_file, close_store)
#define FILE_ONLY(fn) cmocka_unit_test_setup_teardown(fn, open_file, close_store)

int main(void) {
        const struct CMUnitTest tests[] = {
                BOTH(test_migrate_from_empty),
                BOTH(test_migrate_idempotent),
                BOTH(test_migrate_to_bad_version),
                FILE_ONLY(test_migrate_from_old_versions),
                FILE_ONLY(test_newer_schema_refused),
                BOTH(test_event_put_and_duplicate),
                BOTH(test_duplicate_keeps_first),
                BOTH(test_response_put),
                BOTH(test_event_unknown_touchpoint_fk),
                BOTH(test_rollback_discards),
                BOTH(test_begin_twice_fails),
                BOTH(test_journey_touchpoints),
                BOTH(test_journey_drop_marks_inactive),
                BOTH(test_journey_list),
                BOTH(test_touchpoint_ensure),
                BOTH(test_keys),
                BOTH(test_response_list),
                BOTH(test_customers),
                BOTH(test_meta),
                BOTH(test_zone),
                BOTH(test_rows_get),
                BOTH(test_rows_get_stop_early),
                BOTH(test_ckey_scan),
                BOTH(test_scans),
                BOTH(test_core_scans),
                BOTH(test_counts_empty_and_untouched),
                BOTH(test_check_ok),
                FILE_ONLY(test_open_not_a_database),
                FILE_ONLY(test_open_missing_directory),
                FILE_ONLY(test_second_handle_sees_commits),
                cmocka_unit_test(test_open_bad_urls),
                cmocka_unit_test(test_metric_names),
        };

        tp_json_global_init();
        return cmocka_run_group_tests_name("store/sqlite", tests, NULL, NULL);
}
