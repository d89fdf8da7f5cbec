/* SPDX-License-Identifier: MIT */
/*
 * validate.h -- the rules every event and response obeys, whatever door it came
 * through (HTTP JSON, NDJSON, CSV import).  Field checkers are shared; the JSON
 * item validators build a tp_event / tp_response from one parsed object.
 *
 * Every failure is TP_UNPROCESSABLE with err->field naming the field and
 * err->code one of: missing, invalid_type, out_of_range, too_long, invalid_value,
 * unknown_field, unknown_touchpoint.
 */
#ifndef TP_VALIDATE_H
#define TP_VALIDATE_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "service/catalog.h"
#include "service/config.h"
#include "store/model.h"

/* What validation needs besides the item. */
typedef struct tp_vctx {
        tp_catalog *cat;
        const tp_limits *lim;
        int64_t now;              /* "time" defaults to this */
        int create_touchpoints;   /* import --create-touchpoints: unknown keys are allowed
                                   * and reported with touchpoint id 0 (the caller creates them) */
        struct tp_annotator *ann; /* reads sentiment and themes of comments; NULL: not read */
} tp_vctx;

tp_rc tp_check_id(const char *s, const char *field, size_t max, tp_err *err);
tp_rc tp_check_event_type(const char *s, tp_err *err);
tp_rc tp_check_channel(const char *s, tp_err *err);
tp_rc tp_check_currency(const char *s, tp_err *err);
tp_rc tp_check_language(const char *s, tp_err *err);
tp_rc tp_check_score(tp_metric m, long long score, tp_err *err);
tp_rc tp_check_time(int64_t ts, const tp_vctx *v, tp_err *err);
/* Resolve a touchpoint key to its id (see tp_vctx.create_touchpoints). */
tp_rc tp_check_touchpoint(const tp_vctx *v, const char *key, int64_t *ret_id, const char **ret_channel,
                          tp_err *err);
/* "yes"/"partly"/"no" -> 2/1/0 for the goal factor. */
tp_rc tp_parse_goal(const char *s, int *ret_score, tp_err *err);
/* Parse a whole decimal integer (optional sign, no spaces); TP_UNPROCESSABLE naming field. */
tp_rc tp_parse_int(const char *s, const char *field, long long *ret, tp_err *err);

/* Fill a random id "tp-" + 24 hex digits into out (at least 28 bytes), for items
 * that came without one (they are then not idempotent on retry). */
void tp_gen_id(char *out);

/* Validate one JSON item.  Strings in *ret_ev point into `o`, which must outlive
 * the event; *ret_props (free with tp_free) holds the compact properties text the
 * event points at, or NULL; id_buf (28 bytes) receives a generated id when the
 * item has none. */
tp_rc tp_validate_event(json_t *o, const tp_vctx *v, tp_event *ret_ev, char **ret_props, char *id_buf,
                        tp_err *err);
tp_rc tp_validate_response(json_t *o, const tp_vctx *v, tp_response *ret_r, char *id_buf, tp_err *err);

#endif
