/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h -- what makes an engine snapshot valid for a store, and where it
 * lives by default.  The file format is the engine's (engine_snap.c); this is
 * the store's side of the identity:
 *
 *   store id     256 random bits in the store's meta table ("store_id"), made
 *                the first time a server or `touchpoint snapshot` opens the
 *                store: a snapshot of another store is refused.  A copy of
 *                the store file has the same id, and rightly so: it has the
 *                same rows.
 *   generation   meta "engine_generation" (8 bytes, absent = 0): whatever
 *                rewrites or removes events or responses must bump it with
 *                tp_snapshot_invalidate(), which refuses every earlier
 *                snapshot.  Nothing does today: the store only appends rows
 *                (customers' segments and attributes are not in a snapshot).
 *   tail         the rows at the snapshot's last sequence numbers must still
 *                be there with the same id, customer and time.  An older copy
 *                of the store restored over it lacks them (refused), and one
 *                that has grown again has other rows under those numbers
 *                (SQLite reuses the numbers of a rolled-back tail): refused.
 */
#ifndef TP_SNAPSHOT_H
#define TP_SNAPSHOT_H

#include <stddef.h>

#include "common/err.h"
#include "engine/engine.h"
#include "store/store.h"

/* Fill *ret for store s: the store id (made when absent and create is set,
 * else TP_NOTFOUND), the generation and the tail check, which reads s when the
 * engine calls it: s must stay open while *ret is used, by one thread at a
 * time (a read-only handle will do; the id is made through a writable one). */
tp_rc tp_snapshot_id(tp_store *s, int create, tp_engine_snap_id *ret, tp_err *err);

/* Refuse every existing snapshot of s (bump its generation). */
tp_rc tp_snapshot_invalidate(tp_store *s, tp_err *err);

/* One line on the snapshot at path for store s, into buf: absent, or its
 * rows and whether a server would load it (the identity checks of a load:
 * store id, generation, tail; the body is not read). */
void tp_snapshot_describe(tp_store *s, const char *path, char *buf, size_t bufsz);

/* The default snapshot file of a store URL into buf: "FILE.snapshot" for an
 * SQLite file ("sqlite:FILE" or a bare path).  0 when written, -1 when the
 * store has no default (in memory, a file: URI, PostgreSQL) or it does not
 * fit in bufsz. */
int tp_snapshot_default_path(const char *url, char *buf, size_t bufsz);

#endif
