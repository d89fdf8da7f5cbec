/* SPDX-License-Identifier: MIT */
/*
 * catalog.h -- the touchpoint catalogue held in memory: key <-> id, with the
 * journey, stage, names and owning department of each touchpoint.
 *
 * Validation looks every item's touchpoint up here, from many threads at once,
 * so lookups take a read lock; a journey change reloads the whole catalogue from
 * the store under the write lock (journeys change rarely; ingest never waits long).
 */
#ifndef TP_CATALOG_H
#define TP_CATALOG_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

typedef struct tp_catalog tp_catalog;

tp_rc tp_catalog_new(tp_catalog **ret_cat, tp_err *err);
void tp_catalog_free(tp_catalog *cat);

/* Replace the contents with the store's touchpoints. */
tp_rc tp_catalog_load(tp_catalog *cat, tp_store *store, tp_err *err);

/* Look a key up: TP_OK and *ret_id (and *ret_channel, a pointer valid until the
 * next load, may be NULL) or TP_NOTFOUND. Active and retired touchpoints both count. */
tp_rc tp_catalog_find(tp_catalog *cat, const char *key, int64_t *ret_id, const char **ret_channel);

/* Key of an id, copied into out (at least 64 bytes); "" if unknown. */
void tp_catalog_key_of(tp_catalog *cat, int64_t id, char *out, size_t outsz);

/* The expected scores an owner set for touchpoint `id` (NaN when unset) and its
 * stage key (copied into stage, at least 64 bytes); TP_NOTFOUND for an unknown id. */
tp_rc tp_catalog_expected(tp_catalog *cat, int64_t id, double *ret_csat, double *ret_nps, double *ret_ces,
                          char *stage, size_t stagesz);

/* The stages of a journey, in order: their keys into keys[0 .. *ret_n) (64 bytes
 * each, at most max).  journey NULL or "": the only journey there is (TP_INVALID
 * naming "journey" when there are several); its key is copied into ret_journey
 * (64 bytes).  TP_NOTFOUND for an unknown journey. */
tp_rc tp_catalog_stages(tp_catalog *cat, const char *journey, char (*keys)[64], int max, int *ret_n,
                        char *ret_journey, tp_err *err);

/* The stage position of touchpoint `id` in `journey`, or -1 when it is not one
 * of that journey's active touchpoints. */
int tp_catalog_stage_pos(tp_catalog *cat, const char *journey, int64_t id);

/* tp_catalog_key_of() with the catalogue as a void pointer: the engine's
 * tp_engine_key_fn, for naming touchpoints in JSON answers. */
void tp_catalog_key_fn(void *cat, int64_t id, char *out, size_t outsz);

/* Number of touchpoints. */
int tp_catalog_count(tp_catalog *cat);

/* All touchpoints as a JSON array (new reference), in journey order. */
json_t *tp_catalog_to_json(tp_catalog *cat);

/* Is s a valid key for touchpoints, stages, journeys, departments:
 * 1-63 chars of [a-z0-9_-], starting with a letter or digit. */
int tp_key_valid(const char *s);

/* Channels are a fixed set so the engine can code them in a byte. */
int tp_channel_valid(const char *s);
/* The channel list as one comma-separated string, for error messages. */
const char *tp_channel_list(void);

#endif
