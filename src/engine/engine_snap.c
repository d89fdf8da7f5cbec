/* SPDX-License-Identifier: MIT */
/*
 * engine_snap.c -- the engine's snapshot file: save, load, header.
 *
 * Format, version 1, native byte order (a mark in the header refuses another):
 *
 *   header   struct snap_hdr, 288 bytes: magic "TPENGSNP", version, byte order
 *            mark, a fingerprint of the column layout (record sizes, block size,
 *            score slots), the file size, the identity (store id, generation,
 *            tail fingerprint), counters and sizes, the BLAKE2b-256 of the body
 *            and the BLAKE2b-256 of the header itself.
 *   body     names   names_len bytes: the customer ids in code order, each
 *                    NUL-terminated
 *            tp_ids  ntp x int64: touchpoint store ids in dense-code order
 *            chans   nchans x 32 bytes: channel names (code 0: none, "")
 *            types   ntypes x 32: event types (code 0: "purchase")
 *            tkeys   ntkeys x 32: theme keys
 *            tsets   ntsets x u64: theme sets as key masks (set 0: empty)
 *            srec    nsealed x 8: the compacted events, customer by customer
 *            soff    (snc + 1) x u32, absent when snc is 0
 *            svals   nsvals x int64
 *            blocks  nrblocks x { u32 n; then n rows of each column: ts u32,
 *                    cust u32, tp u16, ch u8, slot u8, sent u8, tset u16 }
 *
 * Only primary data is stored.  What derives from it is rebuilt: the hash
 * tables by interning the dictionaries again in code order (which also proves
 * that no value is there twice), the value checkpoints and zone maps by one
 * pass over the columns (which bounds-checks every code on the way), the
 * rollups and each customer's path state by eng_rollups_rebuild().  Stored
 * counters the pass can recompute are compared with it.
 *
 * Loading builds a private engine and swaps its contents into the caller's
 * only when everything checked out, so a failure leaves the caller's engine
 * exactly as it was.  Nothing is allocated before the header's sizes have
 * been checked against the file's real size, so a hostile header cannot ask
 * for more memory than the file could fill.
 *
 * Rejected: mapping the file and pointing the engine into it (no copy, but
 * the engine frees and grows these arrays like any others, and a file
 * changed under a mapping is a crash rather than an error).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

#define SNAP_MAGIC "TPENGSNP"
#define SNAP_VERSION 1u
#define SNAP_BOM 0x01020304u
#define SNAP_NAME 32 /* bytes per name of the small dictionaries */

typedef struct snap_hdr {
        char magic[8];
        uint32_t version;
        uint32_t bom;
        uint64_t layout;
        uint64_t file_size;
        int64_t created;
        unsigned char store[32];
        uint64_t generation;
        unsigned char tail[32];
        int64_t last_eseq, last_rseq;
        uint64_t nevents, nanon, nrefused, nresp;
        uint64_t names_len;
        uint32_t emin_ts, emax_ts, rmin_ts, rmax_ts;
        uint32_t ncust, ntp, nchans, ntypes;
        uint32_t ntkeys, ntsets, nsealed, snc;
        uint32_t nsvals, nrblocks;
        unsigned char body_sum[32];
        unsigned char hdr_sum[32]; /* over every byte before it */
} snap_hdr;

_Static_assert(sizeof(snap_hdr) == 288, "snap_hdr has no padding");
_Static_assert(sizeof(eng_rec) == 8, "eng_rec is written as is");
_Static_assert(sizeof(((eng_sdict *) 0)->names[0]) == SNAP_NAME, "small dictionary names are 32 bytes");
/* The load swaps everything after the locks; they must come first. */
_Static_assert(
        offsetof(struct tp_engine, o) == 0 && offsetof(struct tp_engine, rw) == sizeof(tp_engine_opts) &&
                offsetof(struct tp_engine, wmu) == offsetof(struct tp_engine, rw) + sizeof(pthread_rwlock_t) &&
                offsetof(struct tp_engine, cslots) == offsetof(struct tp_engine, wmu) + sizeof(pthread_mutex_t),
        "tp_engine starts with o, rw, wmu, then its data");

/* A fingerprint of what the stored columns mean: a build that codes them
 * differently (another block size, score slots, record layout) refuses the
 * file instead of misreading it, even if nobody bumped SNAP_VERSION. */
static uint64_t layout_id(void) {
        int64_t v[8 + 3 * _TP_METRIC_MAX + 1];
        unsigned char h[8];
        uint64_t r;
        size_t k = 0;

        v[k++] = (int64_t) sizeof(eng_rec);
        v[k++] = ENG_RBLK;
        v[k++] = ENG_NSLOT;
        v[k++] = ENG_TB_VALUE;
        v[k++] = ENG_TYPE_PURCHASE;
        v[k++] = ENG_TP_MAX;
        v[k++] = _TP_METRIC_MAX;
        v[k++] = SNAP_NAME;
        for (int m = 0; m < _TP_METRIC_MAX; m++) {
                v[k++] = eng_slot_base[m];
                v[k++] = eng_score_lo[m];
                v[k++] = eng_score_hi[m];
        }
        v[k++] = eng_slot_base[_TP_METRIC_MAX];
        crypto_generichash(h, sizeof(h), (const unsigned char *) v, k * sizeof(v[0]), NULL, 0);
        memcpy(&r, h, sizeof(r));
        return r;
}

static void hdr_sum(const snap_hdr *h, unsigned char out[32]) {
        crypto_generichash(out, 32, (const unsigned char *) h, offsetof(snap_hdr, hdr_sum), NULL, 0);
}

/* The body's size as the header describes it; UINT64_MAX when a count is
 * beyond what the engine can hold (checked before this is trusted). */
static uint64_t body_size(const snap_hdr *h) {
        uint64_t n = 0;

        n += h->names_len;
        n += (uint64_t) h->ntp * sizeof(int64_t);
        n += ((uint64_t) h->nchans + h->ntypes + h->ntkeys) * SNAP_NAME;
        n += (uint64_t) h->ntsets * sizeof(uint64_t);
        n += (uint64_t) h->nsealed * sizeof(eng_rec);
        n += h->snc ? ((uint64_t) h->snc + 1) * sizeof(uint32_t) : 0;
        n += (uint64_t) h->nsvals * sizeof(int64_t);
        n += (uint64_t) h->nrblocks * sizeof(uint32_t);
        n += h->nresp * (4 + 4 + 2 + 1 + 1 + 1 + 2);
        return n;
}

/* ---- save ------------------------------------------------------------------ */

typedef struct wr {
        FILE *f;
        crypto_generichash_state h;
        int err; /* sticky errno of the first failed write */
} wr;

static void put(wr *w, const void *p, size_t n) {
        if (!n || w->err)
                return;
        if (fwrite(p, 1, n, w->f) != n) {
                w->err = errno ? errno : EIO;
                return;
        }
        crypto_generichash_update(&w->h, p, n);
}

/* The body, and the header's counters; wmu and rw (shared) held, delta empty. */
static tp_rc write_body(tp_engine *e, wr *w, snap_hdr *h, const char *path, tp_err *err) {
        uint64_t want = e->nrblocks ?
                ((uint64_t) e->nrblocks - 1) * ENG_RBLK + e->rblocks[e->nrblocks - 1]->n :
                0;

        if (e->ndelta)
                return tp_err_set(err, TP_INTERNAL, "snapshot: the delta is not empty after compaction");
        for (uint32_t k = 0; k + 1 < e->nrblocks; k++)
                if (e->rblocks[k]->n != ENG_RBLK)
                        want = UINT64_MAX;
        if (want != e->nresp || (e->nrblocks && !e->rblocks[e->nrblocks - 1]->n))
                return tp_err_set(err, TP_INTERNAL, "snapshot: the response blocks are not packed");
        h->last_eseq = e->last_eseq;
        h->last_rseq = e->last_rseq;
        h->nevents = e->nevents;
        h->nanon = e->nanon;
        h->nrefused = e->nrefused;
        h->nresp = e->nresp;
        h->names_len = e->names_len;
        h->emin_ts = e->emin_ts;
        h->emax_ts = e->emax_ts;
        h->rmin_ts = e->rmin_ts;
        h->rmax_ts = e->rmax_ts;
        h->ncust = e->ncust;
        h->ntp = e->ntp;
        h->nchans = e->chans.n;
        h->ntypes = e->types.n;
        h->ntkeys = e->tkeys.n;
        h->ntsets = e->ntsets;
        h->nsealed = e->nsealed;
        h->snc = e->snc;
        h->nsvals = e->nsvals;
        h->nrblocks = e->nrblocks;

        put(w, e->names, e->names_len);
        put(w, e->tp_ids, (size_t) e->ntp * sizeof(*e->tp_ids));
        put(w, e->chans.names, (size_t) e->chans.n * SNAP_NAME);
        put(w, e->types.names, (size_t) e->types.n * SNAP_NAME);
        put(w, e->tkeys.names, (size_t) e->tkeys.n * SNAP_NAME);
        put(w, e->tsets, (size_t) e->ntsets * sizeof(*e->tsets));
        put(w, e->srec, (size_t) e->nsealed * sizeof(*e->srec));
        if (e->snc)
                put(w, e->soff, ((size_t) e->snc + 1) * sizeof(*e->soff));
        put(w, e->svals, (size_t) e->nsvals * sizeof(*e->svals));
        for (uint32_t k = 0; k < e->nrblocks; k++) {
                const eng_rblock *b = e->rblocks[k];

                put(w, &b->n, sizeof(b->n));
                put(w, b->ts, b->n * sizeof(b->ts[0]));
                put(w, b->cust, b->n * sizeof(b->cust[0]));
                put(w, b->tp, b->n * sizeof(b->tp[0]));
                put(w, b->ch, b->n * sizeof(b->ch[0]));
                put(w, b->slot, b->n * sizeof(b->slot[0]));
                put(w, b->sent, b->n * sizeof(b->sent[0]));
                put(w, b->tset, b->n * sizeof(b->tset[0]));
        }
        if (!w->err && fflush(w->f) != 0)
                w->err = errno ? errno : EIO;
        if (w->err)
                return tp_err_set(err, TP_IO, "snapshot %s: write: %s", path, strerror(w->err));
        return TP_OK;
}

static tp_rc sync_dir(const char *path, tp_err *err) {
        const char *slash = strrchr(path, '/');
        size_t n = !slash ? 1 : slash == path ? 1 : (size_t) (slash - path);
        char *dir = tp_malloc(n + 1);
        int fd;
        tp_rc rc = TP_OK;

        if (!dir)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        if (!slash)
                memcpy(dir, ".", 2);
        else {
                memcpy(dir, path, n);
                dir[n] = '\0';
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
                rc = tp_err_set(err, TP_IO, "snapshot: cannot sync directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
                (void) close(fd);
        tp_free(dir);
        return rc;
}

/* Open path.tmp for writing, locked against another process saving the same
 * snapshot: the lock is taken before truncating, and the locked file must
 * still be the one named path.tmp (not one renamed into place meanwhile). */
static tp_rc open_tmp(const char *tmp, int *ret_fd, tp_err *err) {
        struct stat a, b;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
                return tp_err_set(err, TP_IO, "snapshot: cannot create %s: %s", tmp, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
                int busy = errno == EWOULDBLOCK;

                (void) close(fd);
                return busy ? tp_err_set(err, TP_CONFLICT, "snapshot: another process is writing %s", tmp) :
                              tp_err_set(err, TP_IO, "snapshot: cannot lock %s: %s", tmp, strerror(errno));
        }
        if (fstat(fd, &a) != 0 || stat(tmp, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
                (void) close(fd);
                return tp_err_set(err, TP_CONFLICT, "snapshot: %s was replaced while being opened", tmp);
        }
        if (ftruncate(fd, 0) != 0) {
                (void) close(fd);
                return tp_err_set(err, TP_IO, "snapshot: cannot truncate %s: %s", tmp, strerror(errno));
        }
        *ret_fd = fd;
        return TP_OK;
}

tp_rc tp_engine_snapshot_save(tp_engine *e, const char *path, const tp_engine_snap_id *id, tp_err *err) {
        size_t plen = strlen(path);
        char *tmp = tp_malloc(plen + 5);
        snap_hdr h;
        wr w = { 0 };
        int fd = -1, owned = 0;
        tp_rc rc;

        if (!tmp)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, ".tmp", 5);
        if ((rc = open_tmp(tmp, &fd, err)) != TP_OK)
                goto out;
        owned = 1;
        if (!(w.f = fdopen(fd, "wb"))) {
                rc = tp_err_set(err, TP_IO, "snapshot %s: %s", tmp, strerror(errno));
                goto out;
        }
        fd = -1;
        (void) setvbuf(w.f, NULL, _IOFBF, 1u << 20);

        memset(&h, 0, sizeof(h));
        memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
        h.version = SNAP_VERSION;
        h.bom = SNAP_BOM;
        h.layout = layout_id();
        h.created = (int64_t) time(NULL);
        memcpy(h.store, id->store, sizeof(h.store));
        h.generation = id->generation;
        crypto_generichash_init(&w.h, NULL, 0, 32);
        if (fwrite(&h, 1, sizeof(h), w.f) != sizeof(h)) /* a placeholder, rewritten at the end */
                w.err = errno ? errno : EIO;

        /* The writer mutex keeps every change out while the columns are
         * written: ingest into the engine (the tailer's tp_engine_load, the
         * add calls) waits for the whole write, queries do not (they only
         * take rw shared, as this does).  Compaction first, so the delta
         * need not be stored. */
        pthread_mutex_lock(&e->wmu);
        rc = eng_compact(e, err);
        if (rc == TP_OK) {
                eng_compacted(e);
                pthread_rwlock_rdlock(&e->rw);
                rc = write_body(e, &w, &h, tmp, err);
                pthread_rwlock_unlock(&e->rw);
        }
        pthread_mutex_unlock(&e->wmu);
        if (rc != TP_OK)
                goto out;

        if (id->tail_fn && (rc = id->tail_fn(id->tail_arg, h.last_eseq, h.last_rseq, h.tail, err)) != TP_OK)
                goto out;
        crypto_generichash_final(&w.h, h.body_sum, sizeof(h.body_sum));
        h.file_size = sizeof(h) + body_size(&h);
        if ((uint64_t) ftello(w.f) != h.file_size) {
                rc = tp_err_set(
                        err,
                        TP_INTERNAL,
                        "snapshot %s: wrote %lld bytes, the format says %llu",
                        tmp,
                        (long long) ftello(w.f),
                        (unsigned long long) h.file_size);
                goto out;
        }
        hdr_sum(&h, h.hdr_sum);
        if (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, 1, sizeof(h), w.f) != sizeof(h) || fflush(w.f) != 0 ||
            fsync(fileno(w.f)) != 0) {
                rc = tp_err_set(err, TP_IO, "snapshot %s: write: %s", tmp, strerror(errno));
                goto out;
        }
        /* Still locked: the rename moves the locked file into place. */
        if (rename(tmp, path) != 0) {
                rc = tp_err_set(err, TP_IO, "snapshot: cannot rename %s to %s: %s", tmp, path, strerror(errno));
                goto out;
        }
        owned = 0;
        rc = sync_dir(path, err);
out:
        if (owned)
                (void) unlink(tmp);
        if (w.f && fclose(w.f) != 0 && rc == TP_OK)
                rc = tp_err_set(err, TP_IO, "snapshot %s: close: %s", path, strerror(errno));
        if (fd >= 0)
                (void) close(fd);
        tp_free(tmp);
        return rc;
}

/* ---- header ---------------------------------------------------------------- */

static tp_rc open_snap(const char *path, FILE **ret_f, uint64_t *ret_size, tp_err *err) {
        struct stat st;
        FILE *f = fopen(path, "rbe");

        if (!f)
                return errno == ENOENT ? tp_err_set(err, TP_NOTFOUND, "no snapshot file %s", path) :
                                         tp_err_set(err, TP_IO, "snapshot %s: %s", path, strerror(errno));
        if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
                (void) fclose(f);
                return tp_err_set(err, TP_IO, "snapshot %s: not a regular file", path);
        }
        *ret_f = f;
        *ret_size = (uint64_t) st.st_size;
        return TP_OK;
}

/* Read and check the header: everything but the identity and the body. */
static tp_rc read_hdr(FILE *f, uint64_t size, const char *path, snap_hdr *h, tp_err *err) {
        unsigned char sum[32];

        if (size < sizeof(*h) || fread(h, 1, sizeof(*h), f) != sizeof(*h) ||
            memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) != 0)
                return tp_err_set(err, TP_CORRUPT, "%s is not an engine snapshot (no header)", path);
        if (h->bom != SNAP_BOM)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s was written on a machine of another byte order", path);
        if (h->version != SNAP_VERSION)
                return tp_err_set(
                        err,
                        TP_CORRUPT,
                        "snapshot %s has format version %u; this build reads %u",
                        path,
                        h->version,
                        SNAP_VERSION);
        hdr_sum(h, sum);
        if (sodium_memcmp(sum, h->hdr_sum, sizeof(sum)) != 0)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: header checksum mismatch (the file is damaged)", path);
        if (h->file_size != size)
                return tp_err_set(
                        err,
                        TP_CORRUPT,
                        "snapshot %s has %llu bytes, its header says %llu (truncated or extended)",
                        path,
                        (unsigned long long) size,
                        (unsigned long long) h->file_size);
        return TP_OK;
}

tp_rc tp_engine_snapshot_info(const char *path, tp_engine_snap_info *ret, tp_err *err) {
        FILE *f = NULL;
        uint64_t size = 0;
        snap_hdr h;
        tp_rc rc = open_snap(path, &f, &size, err);

        if (rc != TP_OK)
                return rc;
        rc = read_hdr(f, size, path, &h, err);
        (void) fclose(f);
        if (rc != TP_OK)
                return rc;
        *ret = (tp_engine_snap_info){ .event_seq = h.last_eseq,
                                      .response_seq = h.last_rseq,
                                      .events = h.nevents,
                                      .anonymous = h.nanon,
                                      .responses = h.nresp,
                                      .customers = h.ncust,
                                      .bytes = h.file_size,
                                      .created = h.created,
                                      .generation = h.generation };
        memcpy(ret->store, h.store, sizeof(ret->store));
        memcpy(ret->tail, h.tail, sizeof(ret->tail));
        return TP_OK;
}

/* ---- load ------------------------------------------------------------------ */

/* The sizes the header declares, against the engine's own limits and the
 * file's size: nothing is allocated before this passed. */
static tp_rc check_sizes(const snap_hdr *h, const char *path, tp_err *err) {
        const char *what = NULL;
        uint64_t nblk = (h->nresp + ENG_RBLK - 1) / ENG_RBLK;

        if (h->names_len > UINT32_MAX || h->ncust > h->names_len || (h->ncust == 0) != (h->names_len == 0) ||
            h->ncust >= UINT32_MAX - 2)
                what = "customers";
        else if (h->ntp > ENG_TP_MAX)
                what = "touchpoints";
        else if (h->nchans < 1 || h->nchans > 256)
                what = "channels";
        else if (h->ntypes < 1 || h->ntypes > 128)
                what = "event types";
        else if (h->ntkeys > 64)
                what = "theme keys";
        else if (h->ntsets > 65536)
                what = "theme sets";
        else if (
                h->nsealed >= UINT32_MAX - 1 || h->nevents != h->nsealed || h->snc > h->ncust ||
                (h->snc == 0) != (h->nsealed == 0) || h->nsvals > h->nsealed)
                what = "events";
        else if (h->nrblocks != nblk)
                what = "responses";
        else if (h->last_eseq < 0 || h->last_rseq < 0)
                what = "sequence numbers";
        else if (sizeof(*h) + body_size(h) != h->file_size)
                what = "sizes";
        if (what)
                return tp_err_set(err, TP_CORRUPT, "snapshot %s: the header's %s do not add up", path, what);
        return TP_OK;
}

typedef struct rd {
        FILE *f;
        crypto_generichash_state h;
        const char *path;
} rd;

static tp_rc get(rd *r, void *p, size_t n, tp_err *err) {
        if (!n)
                return TP_OK;
        if (fread(p, 1, n, r->f) != n)
                return ferror(r->f) ?
                        tp_err_set(err, TP_IO, "snapshot %s: read: %s", r->path, strerror(errno)) :
                        tp_err_set(
                                err,
                                TP_CORRUPT,
                                "snapshot %s: shorter than it was (changed while read?)",
                                r->path);
        crypto_generichash_update(&r->h, p, n);
        return TP_OK;
}

/* Allocate n bytes for the body (at least 1, so an empty section is not NULL). */
static void *body_alloc(size_t n) {
        return tp_malloc(n ? n : 1);
}

/* A failed intern: out of memory, or a value the file should not hold. */
static tp_rc bad_value(tp_rc rc, tp_err *err, const char *path, const char *what, uint32_t i, const char *s) {
        if (rc == TP_NOMEM)
                return tp_err_set(err, TP_NOMEM, "out of memory loading the snapshot");
        return tp_err_set(
                err,
                TP_CORRUPT,
                "snapshot %s: %s %u ('%.64s') is empty, repeated or one too many",
                path,
                what,
                i,
                s);
}

/* The small dictionaries, interned again in code order; names are SNAP_NAME
 * bytes each.  first: the first code to intern (codes below are reserved and
 * must hold what the fresh engine has there). */
static tp_rc sdict_fill(
        eng_sdict *d,
        const char (*names)[SNAP_NAME],
        uint32_t n,
        uint32_t first,
        const char *what,
        const char *path,
        tp_err *err) {
        for (uint32_t i = 0; i < n; i++) {
                const char *s = names[i];
                uint8_t code = 0;
                tp_rc rc;

                if (!memchr(s, '\0', SNAP_NAME))
                        return tp_err_set(
                                err, TP_CORRUPT, "snapshot %s: %s %u is not terminated", path, what, i);
                if (i < first) {
                        if (i >= d->n || strcmp(s, d->names[i]) != 0)
                                return tp_err_set(
                                        err,
                                        TP_CORRUPT,
                                        "snapshot %s: %s %u is not '%s'",
                                        path,
                                        what,
                                        i,
                                        i < d->n ? d->names[i] : "");
                        continue;
                }
                if (!*s)
                        return bad_value(TP_CORRUPT, err, path, what, i, s);
                if ((rc = eng_sdict_intern(d, s, what, &code, NULL)) != TP_OK || code != i)
                        return bad_value(rc, err, path, what, i, s);
        }
        return TP_OK;
}

/* Customers: every id NUL-terminated, exactly ncust of them, interned in
 * order into tables sized for them up front. */
static tp_rc cust_fill(
        tp_engine *e, const char *names, uint64_t len, uint32_t ncust, const char *path, tp_err *err) {
        uint64_t nslots = 4096;
        uint32_t count = 0;
        const char *p, *ahead, *end = names + len;

        if (!ncust)
                return TP_OK;
        if (names[len - 1] != '\0')
                return tp_err_set(err, TP_CORRUPT, "snapshot %s: the customer ids are not terminated", path);
        for (p = names; p < end; p++) {
                if (!(p = memchr(p, '\0', (size_t) (end - p))))
                        break;
                count++;
        }
        if (count != ncust)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: %u customer ids, the header says %u", path, count, ncust);
        /* Load factor at most 0.7, as eng_cust_intern() keeps it. */
        while (((uint64_t) ncust + 1) * 10 > nslots * 7)
                nslots *= 2;
        if (nslots > (uint64_t) 1 << 31)
                return tp_err_set(err, TP_CORRUPT, "snapshot %s: %u customers are too many", path, ncust);
        e->cslots = tp_calloc((size_t) nslots, sizeof(*e->cslots));
        e->names = tp_malloc((size_t) len);
        e->cust = tp_malloc((size_t) ncust * sizeof(*e->cust));
        if (!e->cslots || !e->names || !e->cust)
                return tp_err_set(err, TP_NOMEM, "out of memory loading %u customers", ncust);
        e->ncslots = (uint32_t) nslots;
        e->names_cap = (size_t) len;
        e->capcust = ncust;
        /* The hash slots are random accesses: prefetch a few ids ahead so
         * their cache misses overlap (as ingest does). */
        ahead = names;
        for (int k = 0; k < PF0 && ahead < end; k++)
                ahead += strlen(ahead) + 1;
        for (uint32_t c = 0; c < ncust; c++) {
                uint32_t got = 0;
                size_t n = strlen(names);
                tp_rc rc;

                if (ahead < end) {
                        eng_cust_prefetch(e, ahead, 0);
                        ahead += strlen(ahead) + 1;
                }
                if ((rc = eng_cust_intern(e, names, &got, NULL)) != TP_OK || got != c)
                        return bad_value(rc, err, path, "customer id", c, names);
                names += n + 1;
        }
        return TP_OK;
}

/* Theme sets: set 0 empty, the others non-empty masks of known keys, each
 * interned again from its key list so the set's index comes out the same. */
static tp_rc tsets_fill(tp_engine *e, const uint64_t *sets, uint32_t n, const char *path, tp_err *err) {
        uint32_t nkeys = e->tkeys.n;
        char list[64 * SNAP_NAME];

        for (uint32_t k = 0; k < nkeys; k++)
                if (strchr(e->tkeys.names[k], ','))
                        return tp_err_set(err, TP_CORRUPT, "snapshot %s: theme key %u has a comma", path, k);
        if (n && sets[0] != 0)
                return tp_err_set(err, TP_CORRUPT, "snapshot %s: theme set 0 is not empty", path);
        for (uint32_t k = 1; k < n; k++) {
                uint64_t m = sets[k];
                size_t len = 0;
                uint16_t got = 0;
                tp_rc rc;

                if (!m || (nkeys < 64 && (m >> nkeys) != 0))
                        return tp_err_set(
                                err,
                                TP_CORRUPT,
                                "snapshot %s: theme set %u is empty or names unknown keys",
                                path,
                                k);
                for (uint32_t b = 0; b < 64; b++) {
                        if (m & (1ull << b)) {
                                size_t l = strlen(e->tkeys.names[b]);

                                memcpy(list + len, e->tkeys.names[b], l);
                                len += l;
                                list[len++] = ',';
                        }
                }
                list[len - 1] = '\0';
                if ((rc = eng_tset_intern(e, list, &got)) != TP_OK || got != k || e->tkeys.n != nkeys)
                        return bad_value(rc, err, path, "theme set", k, list);
        }
        return TP_OK;
}

/* One pass over the compacted events: offsets ordered and complete, every
 * code known, each customer's run in time order; builds the value
 * checkpoints and the time range. */
static tp_rc events_check(tp_engine *e, const snap_hdr *h, const char *path, tp_err *err) {
        uint32_t snc = h->snc, wv = 0, emin = UINT32_MAX, emax = 0;
        uint32_t nchk = (snc >> ENG_VCHECK_BITS) + 1;

        if (!snc)
                return TP_OK;
        if (!(e->svcheck = tp_malloc((size_t) nchk * sizeof(*e->svcheck))))
                return tp_err_set(err, TP_NOMEM, "out of memory");
        e->nsvcheck = nchk;
        if (e->soff[0] != 0 || e->soff[snc] != h->nsealed)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: the event offsets do not cover the events", path);
        for (uint32_t c = 0; c < snc; c++) {
                uint32_t s = e->soff[c], end = e->soff[c + 1];

                if (end < s || end > h->nsealed)
                        return tp_err_set(
                                err,
                                TP_CORRUPT,
                                "snapshot %s: customer %u's event offsets are out of order",
                                path,
                                c);
                if ((c & ((1u << ENG_VCHECK_BITS) - 1)) == 0)
                        e->svcheck[c >> ENG_VCHECK_BITS] = wv;
                for (uint32_t i = s; i < end; i++) {
                        const eng_rec *r = &e->srec[i];

                        if (r->tp >= h->ntp || r->ch >= h->nchans || (r->tb & ENG_TB_TYPE) >= h->ntypes ||
                            (i > s && r->ts < r[-1].ts))
                                return tp_err_set(
                                        err,
                                        TP_CORRUPT,
                                        "snapshot %s: event %u (customer %u) has an unknown code or is out of "
                                        "order",
                                        path,
                                        i,
                                        c);
                        wv += (r->tb & ENG_TB_VALUE) != 0;
                        emin = r->ts < emin ? r->ts : emin;
                        emax = r->ts > emax ? r->ts : emax;
                }
        }
        if ((snc & ((1u << ENG_VCHECK_BITS) - 1)) == 0)
                e->svcheck[snc >> ENG_VCHECK_BITS] = wv;
        if (wv != h->nsvals)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: %u valued events, the header says %u", path, wv, h->nsvals);
        if (h->nsealed && (emin != h->emin_ts || emax != h->emax_ts))
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: the events' time range is not the header's", path);
        return TP_OK;
}

static tp_rc responses_check(tp_engine *e, const snap_hdr *h, const char *path, tp_err *err) {
        uint32_t rmin = UINT32_MAX, rmax = 0, nsets = h->ntsets ? h->ntsets : 1;

        for (uint32_t k = 0; k < e->nrblocks; k++) {
                eng_rblock *b = e->rblocks[k];

                b->min_ts = UINT32_MAX;
                b->max_ts = 0;
                for (uint32_t i = 0; i < b->n; i++) {
                        if ((b->cust[i] >= h->ncust && b->cust[i] != ENG_NONE) || b->tp[i] >= h->ntp ||
                            b->ch[i] >= h->nchans || b->slot[i] >= ENG_NSLOT || b->sent[i] > 3 ||
                            b->tset[i] >= nsets)
                                return tp_err_set(
                                        err,
                                        TP_CORRUPT,
                                        "snapshot %s: response %u of block %u has an unknown code",
                                        path,
                                        i,
                                        k);
                        b->min_ts = b->ts[i] < b->min_ts ? b->ts[i] : b->min_ts;
                        b->max_ts = b->ts[i] > b->max_ts ? b->ts[i] : b->max_ts;
                }
                rmin = b->min_ts < rmin ? b->min_ts : rmin;
                rmax = b->max_ts > rmax ? b->max_ts : rmax;
        }
        if (h->nresp && (rmin != h->rmin_ts || rmax != h->rmax_ts))
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: the responses' time range is not the header's", path);
        return TP_OK;
}

/* Read the body into tmp (the columns) and the caller's buffers (the
 * dictionaries), then verify its checksum. */
static tp_rc read_body(
        rd *r,
        tp_engine *t,
        const snap_hdr *h,
        char **names,
        int64_t **tp_ids,
        char (**sd)[SNAP_NAME],
        uint64_t **sets,
        tp_err *err) {
        uint32_t nsd = h->nchans + h->ntypes + h->ntkeys;
        unsigned char sum[32];
        tp_rc rc;

        *names = body_alloc((size_t) h->names_len);
        *tp_ids = body_alloc((size_t) h->ntp * sizeof(int64_t));
        *sd = body_alloc((size_t) nsd * SNAP_NAME);
        *sets = body_alloc((size_t) h->ntsets * sizeof(uint64_t));
        t->srec = body_alloc((size_t) h->nsealed * sizeof(eng_rec));
        t->soff = h->snc ? tp_malloc(((size_t) h->snc + 1) * sizeof(uint32_t)) : NULL;
        t->svals = body_alloc((size_t) h->nsvals * sizeof(int64_t));
        t->rblocks = h->nrblocks ? tp_calloc(h->nrblocks, sizeof(*t->rblocks)) : NULL;
        if (!*names || !*tp_ids || !*sd || !*sets || !t->srec || (h->snc && !t->soff) || !t->svals ||
            (h->nrblocks && !t->rblocks))
                return tp_err_set(err, TP_NOMEM, "out of memory loading the snapshot");
        t->caprblocks = h->nrblocks;
        if ((rc = get(r, *names, (size_t) h->names_len, err)) != TP_OK ||
            (rc = get(r, *tp_ids, (size_t) h->ntp * sizeof(int64_t), err)) != TP_OK ||
            (rc = get(r, *sd, (size_t) nsd * SNAP_NAME, err)) != TP_OK ||
            (rc = get(r, *sets, (size_t) h->ntsets * sizeof(uint64_t), err)) != TP_OK ||
            (rc = get(r, t->srec, (size_t) h->nsealed * sizeof(eng_rec), err)) != TP_OK ||
            (h->snc && (rc = get(r, t->soff, ((size_t) h->snc + 1) * sizeof(uint32_t), err)) != TP_OK) ||
            (rc = get(r, t->svals, (size_t) h->nsvals * sizeof(int64_t), err)) != TP_OK)
                return rc;
        for (uint32_t k = 0; k < h->nrblocks; k++) {
                uint64_t want = k + 1 < h->nrblocks ? ENG_RBLK : h->nresp - (uint64_t) k * ENG_RBLK;
                eng_rblock *b = tp_malloc(sizeof(*b));
                uint32_t n = 0;

                if (!b)
                        return tp_err_set(err, TP_NOMEM, "out of memory loading the snapshot");
                b->n = 0;
                t->rblocks[t->nrblocks++] = b;
                if ((rc = get(r, &n, sizeof(n), err)) != TP_OK)
                        return rc;
                if (n != want)
                        return tp_err_set(
                                err,
                                TP_CORRUPT,
                                "snapshot %s: response block %u has %u rows, not %llu",
                                r->path,
                                k,
                                n,
                                (unsigned long long) want);
                b->n = n;
                if ((rc = get(r, b->ts, n * sizeof(b->ts[0]), err)) != TP_OK ||
                    (rc = get(r, b->cust, n * sizeof(b->cust[0]), err)) != TP_OK ||
                    (rc = get(r, b->tp, n * sizeof(b->tp[0]), err)) != TP_OK ||
                    (rc = get(r, b->ch, n * sizeof(b->ch[0]), err)) != TP_OK ||
                    (rc = get(r, b->slot, n * sizeof(b->slot[0]), err)) != TP_OK ||
                    (rc = get(r, b->sent, n * sizeof(b->sent[0]), err)) != TP_OK ||
                    (rc = get(r, b->tset, n * sizeof(b->tset[0]), err)) != TP_OK)
                        return rc;
        }
        crypto_generichash_final(&r->h, sum, sizeof(sum));
        if (sodium_memcmp(sum, h->body_sum, sizeof(sum)) != 0)
                return tp_err_set(
                        err, TP_CORRUPT, "snapshot %s: checksum mismatch (the file is damaged)", r->path);
        return TP_OK;
}

/* Fill t from the checked body. */
static tp_rc
        build(tp_engine *t,
              const snap_hdr *h,
              const char *names,
              const int64_t *tp_ids,
              const char (*sd)[SNAP_NAME],
              const uint64_t *sets,
              const char *path,
              tp_err *err) {
        tp_rc rc;

        if ((rc = cust_fill(t, names, h->names_len, h->ncust, path, err)) != TP_OK)
                return rc;
        for (uint32_t i = 0; i < h->ntp; i++) {
                uint16_t code = 0;
                char s[24];

                (void) snprintf(s, sizeof(s), "%lld", (long long) tp_ids[i]);
                if ((rc = eng_tp_intern(t, tp_ids[i], &code, NULL)) != TP_OK || code != i)
                        return bad_value(rc, err, path, "touchpoint", i, s);
        }
        if ((rc = sdict_fill(&t->chans, sd, h->nchans, 1, "channel", path, err)) != TP_OK ||
            (rc = sdict_fill(&t->types, sd + h->nchans, h->ntypes, 1, "type", path, err)) != TP_OK ||
            (rc = sdict_fill(&t->tkeys, sd + h->nchans + h->ntypes, h->ntkeys, 0, "theme", path, err)) !=
                    TP_OK ||
            (rc = tsets_fill(t, sets, h->ntsets, path, err)) != TP_OK)
                return rc;
        if (t->ntsets != h->ntsets)
                return tp_err_set(
                        err,
                        TP_CORRUPT,
                        "snapshot %s: %u theme sets, the header says %u",
                        path,
                        t->ntsets,
                        h->ntsets);
        t->nsealed = h->nsealed;
        t->snc = h->snc;
        t->nsvals = h->nsvals;
        if ((rc = events_check(t, h, path, err)) != TP_OK || (rc = responses_check(t, h, path, err)) != TP_OK)
                return rc;
        t->nevents = h->nevents;
        t->nanon = h->nanon;
        t->nrefused = h->nrefused;
        t->nresp = h->nresp;
        t->emin_ts = h->emin_ts;
        t->emax_ts = h->emax_ts;
        t->rmin_ts = h->rmin_ts;
        t->rmax_ts = h->rmax_ts;
        t->last_eseq = h->last_eseq;
        t->last_rseq = h->last_rseq;
        if (eng_rollups_rebuild(t) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory rebuilding the rollups");
        eng_compacted(t);
        return TP_OK;
}

static int is_empty(const tp_engine *e) {
        return !e->ncust && !e->ntp && !e->nevents && !e->nanon && !e->nresp && !e->nrefused &&
                !e->nsealed && !e->ndelta && !e->last_eseq && !e->last_rseq;
}

/* Exchange the data of two engines, leaving each its options and locks. */
static void swap_data(tp_engine *a, tp_engine *b) {
        size_t off = offsetof(struct tp_engine, cslots);
        unsigned char *x = (unsigned char *) a + off, *y = (unsigned char *) b + off;

        for (size_t i = 0; i < sizeof(*a) - off; i++) {
                unsigned char c = x[i];

                x[i] = y[i];
                y[i] = c;
        }
}

tp_rc tp_engine_snapshot_load(tp_engine *e, const char *path, const tp_engine_snap_id *expect, tp_err *err) {
        tp_engine *t = NULL;
        rd r = { .path = path };
        uint64_t size = 0;
        snap_hdr h;
        char *names = NULL;
        int64_t *tp_ids = NULL;
        char(*sd)[SNAP_NAME] = NULL;
        uint64_t *sets = NULL;
        unsigned char tail[32] = { 0 };
        tp_rc rc;

        pthread_mutex_lock(&e->wmu);
        if (!is_empty(e)) {
                rc = tp_err_set(err, TP_INVALID, "snapshot: the engine is not empty");
                goto out;
        }
        if ((rc = open_snap(path, &r.f, &size, err)) != TP_OK ||
            (rc = read_hdr(r.f, size, path, &h, err)) != TP_OK)
                goto out;
        if (h.layout != layout_id()) {
                rc = tp_err_set(
                        err, TP_CORRUPT, "snapshot %s was written by a build with another column layout", path);
                goto out;
        }
        if (sodium_memcmp(h.store, expect->store, sizeof(h.store)) != 0) {
                rc = tp_err_set(err, TP_CONFLICT, "snapshot %s was made from another store", path);
                goto out;
        }
        if (h.generation != expect->generation) {
                rc = tp_err_set(
                        err,
                        TP_CONFLICT,
                        "snapshot %s: the store's rows were rewritten since it was made (generation %llu, "
                        "the snapshot's %llu)",
                        path,
                        (unsigned long long) expect->generation,
                        (unsigned long long) h.generation);
                goto out;
        }
        if ((rc = check_sizes(&h, path, err)) != TP_OK)
                goto out;
        if (expect->tail_fn) {
                tp_err sub = { 0 };

                if ((rc = expect->tail_fn(expect->tail_arg, h.last_eseq, h.last_rseq, tail, &sub)) != TP_OK) {
                        rc = tp_err_set(
                                err,
                                rc == TP_NOTFOUND ? TP_CONFLICT : rc,
                                "snapshot %s does not match the store: %s",
                                path,
                                sub.msg);
                        goto out;
                }
        }
        if (sodium_memcmp(tail, h.tail, sizeof(tail)) != 0) {
                rc = tp_err_set(
                        err,
                        TP_CONFLICT,
                        "snapshot %s does not match the store: its rows at event seq %lld and response seq "
                        "%lld differ (the store was restored or replaced)",
                        path,
                        (long long) h.last_eseq,
                        (long long) h.last_rseq);
                goto out;
        }
        if ((rc = tp_engine_new(&e->o, &t, err)) != TP_OK)
                goto out;
        crypto_generichash_init(&r.h, NULL, 0, 32);
        if ((rc = read_body(&r, t, &h, &names, &tp_ids, &sd, &sets, err)) != TP_OK ||
            (rc = build(t, &h, names, tp_ids, (const char(*)[SNAP_NAME]) sd, sets, path, err)) != TP_OK)
                goto out;
        pthread_rwlock_wrlock(&e->rw);
        swap_data(e, t);
        pthread_rwlock_unlock(&e->rw);
out:
        pthread_mutex_unlock(&e->wmu);
        if (r.f)
                (void) fclose(r.f);
        tp_engine_free(t); /* on success, the caller's empty data */
        tp_free(names);
        tp_free(tp_ids);
        tp_free(sd);
        tp_free(sets);
        return rc;
}
