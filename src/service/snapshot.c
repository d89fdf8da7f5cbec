/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c -- the store's side of an engine snapshot's identity (see
 * snapshot.h for what is checked and why).
 */
#include "service/snapshot.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "service/keys.h"

#define GEN_NAME "engine_generation"

static tp_rc generation(tp_store *s, uint64_t *ret, tp_err *err) {
        uint64_t g = 0;
        size_t n = 0;
        tp_rc rc = tp_store_meta_get(s, GEN_NAME, &g, sizeof(g), &n, err);

        if (rc == TP_NOTFOUND) {
                *ret = 0;
                return TP_OK;
        }
        if (rc != TP_OK)
                return rc;
        if (n != sizeof(g))
                return tp_err_set(err, TP_CORRUPT, "the stored '%s' has %zu bytes, not 8", GEN_NAME, n);
        *ret = g;
        return TP_OK;
}

typedef struct tail_state {
        crypto_generichash_state h;
        int found[2]; /* event, response */
} tail_state;

static int tail_row(void *arg, const tp_timeline_row *row) {
        tail_state *t = arg;
        const char *id = row->is_response ? row->u.resp.id : row->u.ev.id;
        const char *cust = row->is_response ? row->u.resp.customer : row->u.ev.customer;
        int64_t v[3] = { row->is_response, row->seq, row->is_response ? row->u.resp.ts : row->u.ev.ts };

        /* NUL-separated strings: "ab" + "c" and "a" + "bc" differ. */
        crypto_generichash_update(&t->h, (const unsigned char *) v, sizeof(v));
        crypto_generichash_update(&t->h, (const unsigned char *) (id ? id : ""), strlen(id ? id : "") + 1);
        crypto_generichash_update(
                &t->h, (const unsigned char *) (cust ? cust : ""), strlen(cust ? cust : "") + 1);
        t->found[row->is_response ? 1 : 0] = 1;
        return 0;
}

/* tp_engine_tail_fn over the store: hash of the two rows' kind, seq, time, id
 * and customer. */
static tp_rc tail_mark(void *arg, int64_t eseq, int64_t rseq, unsigned char ret[32], tp_err *err) {
        tp_store *s = arg;
        tail_state t = { .found = { 0, 0 } };
        int64_t keys[2];
        size_t n = 0;
        tp_rc rc;

        crypto_generichash_init(&t.h, (const unsigned char *) "tp-snapshot-tail", 16, 32);
        if (eseq > 0)
                keys[n++] = eseq * 2;
        if (rseq > 0)
                keys[n++] = rseq * 2 + 1;
        if (n && (rc = tp_store_rows_get(s, keys, n, tail_row, &t, err)) != TP_OK)
                return rc;
        if (eseq > 0 && !t.found[0])
                return tp_err_set(
                        err,
                        TP_NOTFOUND,
                        "the store has no event with seq %lld (an older copy?)",
                        (long long) eseq);
        if (rseq > 0 && !t.found[1])
                return tp_err_set(
                        err,
                        TP_NOTFOUND,
                        "the store has no response with seq %lld (an older copy?)",
                        (long long) rseq);
        crypto_generichash_final(&t.h, ret, 32);
        return TP_OK;
}

tp_rc tp_snapshot_id(tp_store *s, int create, tp_engine_snap_id *ret, tp_err *err) {
        tp_engine_snap_id id = { .tail_fn = tail_mark, .tail_arg = s };
        tp_rc rc;

        if ((rc = tp_keys_secret(s, "store_id", create, id.store, err)) != TP_OK ||
            (rc = generation(s, &id.generation, err)) != TP_OK)
                return rc;
        *ret = id;
        return TP_OK;
}

tp_rc tp_snapshot_invalidate(tp_store *s, tp_err *err) {
        uint64_t g = 0;
        tp_rc rc = generation(s, &g, err);

        if (rc != TP_OK)
                return rc;
        g++;
        return tp_store_meta_put(s, GEN_NAME, &g, sizeof(g), err);
}

void tp_snapshot_describe(tp_store *s, const char *path, char *buf, size_t bufsz) {
        tp_engine_snap_info info;
        tp_engine_snap_id id;
        unsigned char tail[32] = { 0 };
        const char *verdict = "valid for this store";
        char when[32] = "?";
        struct tm tm;
        time_t t;
        tp_err err = { 0 };
        tp_rc rc = tp_engine_snapshot_info(path, &info, &err);

        if (rc == TP_NOTFOUND) {
                (void) snprintf(buf, bufsz, "%s: none", path);
                return;
        }
        if (rc != TP_OK) {
                (void) snprintf(buf, bufsz, "%s: unusable: %s", path, err.msg);
                return;
        }
        t = (time_t) info.created;
        if (gmtime_r(&t, &tm))
                (void) strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if ((rc = tp_snapshot_id(s, 0, &id, &err)) != TP_OK)
                verdict = rc == TP_NOTFOUND ? "not for this store (it has no store id yet)" : err.msg;
        else if (sodium_memcmp(id.store, info.store, sizeof(id.store)) != 0)
                verdict = "not for this store (made from another one)";
        else if (id.generation != info.generation)
                verdict = "stale (the store's rows were rewritten since)";
        else if (
                tail_mark(s, info.event_seq, info.response_seq, tail, &err) != TP_OK ||
                sodium_memcmp(tail, info.tail, sizeof(tail)) != 0)
                verdict = "not for this store (its last rows differ: an older or replaced copy)";
        (void) snprintf(
                buf,
                bufsz,
                "%s: %llu events, %llu responses (up to event seq %lld, response seq %lld), "
                "%.1f MiB, written %s; %s",
                path,
                (unsigned long long) (info.events + info.anonymous),
                (unsigned long long) info.responses,
                (long long) info.event_seq,
                (long long) info.response_seq,
                (double) info.bytes / 1048576.0,
                when,
                verdict);
}

int tp_snapshot_default_path(const char *url, char *buf, size_t bufsz) {
        const char *colon = url ? strchr(url, ':') : NULL, *slash = url ? strchr(url, '/') : NULL;
        const char *file;
        int n;

        if (!url || !*url)
                return -1;
        /* As tp_store_open(): a bare path (no scheme before the first slash)
         * is an SQLite file. */
        if (!colon || (slash && slash < colon))
                file = url;
        else if (strncmp(url, "sqlite:", 7) == 0)
                file = url + 7;
        else
                return -1;
        if (!*file || strcmp(file, ":memory:") == 0 || strncmp(file, "file:", 5) == 0)
                return -1;
        n = snprintf(buf, bufsz, "%s.snapshot", file);
        return n > 0 && (size_t) n < bufsz ? 0 : -1;
}
