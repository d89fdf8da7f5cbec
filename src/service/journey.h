/* SPDX-License-Identifier: MIT */
/*
 * journey.h -- journeys: ordered stages of touchpoints, validated and applied to
 * the store as one unit, and the built-in templates.
 *
 * The journey document (JSON):
 *   {"key": "retail-vn", "name": {"vi": "...", "en": "..."},
 *    "stages": [{"key": "before", "name": {...},
 *                "touchpoints": [{"key": "website", "name": {"vi": "...", "en": "..."},
 *                                 "channel": "web", "department": "marketing",
 *                                 "expected": {"csat": 4.2, "nps": 30, "ces": 5.5}}]}]}
 */
#ifndef TP_JOURNEY_H
#define TP_JOURNEY_H

#include <jansson.h>

#include "common/err.h"
#include "store/store.h"

/* Validate `doc` and store it.  path_key, when not NULL, must equal doc's "key"
 * (PUT /v1/journeys/{key}); a missing "key" takes it.  *ret_ntps is the number of
 * touchpoints.  Errors name the field by its JSON path, e.g.
 * "stages[1].touchpoints[0].channel".  A touchpoint key owned by another journey
 * is TP_CONFLICT. */
tp_rc tp_journey_apply(tp_store *s, json_t *doc, const char *path_key, int *ret_ntps, tp_err *err);

/* The built-in template's JSON text, or NULL for an unknown name. */
const char *tp_journey_template(const char *name);
/* Names of the built-in templates, comma-separated. */
const char *tp_journey_template_names(void);

#endif
