/* SPDX-License-Identifier: MIT */
/*
 * zone.h -- the organisation's time zone: where its days, weeks and months
 * begin for every report (scores by day/week/month, "2024-06-01" in a
 * from/to parameter).  A fixed offset from UTC, kept in the store so that the
 * server and the CLI agree; Vietnam's UTC+07:00 (no daylight saving time)
 * until someone sets another with `touchpoint zone`.  Zones with daylight
 * saving time are not modelled: pick the offset of the season that matters.
 */
#ifndef TP_ZONE_H
#define TP_ZONE_H

#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define TP_ZONE_TEXT_MAX 8 /* "+07:00" and its NUL */

/* "UTC", "Z", "+07:00", "-04:30", "+0530", "+7": seconds east of UTC in
 * *ret, from -12:00 to +14:00 in whole minutes.  TP_INVALID (field "zone")
 * otherwise. */
tp_rc tp_zone_parse(const char *s, int32_t *ret, tp_err *err);

/* "+07:00", "-04:30", "+00:00" into out (TP_ZONE_TEXT_MAX bytes). */
void tp_zone_format(int32_t offset, char *out);

/* The store's zone; the default (UTC+07:00) when none was set.  A stored value
 * that does not parse is an error, not a silent default. */
tp_rc tp_zone_get(tp_store *s, int32_t *ret, tp_err *err);

/* Set the store's zone.  A running server keeps the zone it started with
 * until restarted. */
tp_rc tp_zone_set(tp_store *s, int32_t offset, tp_err *err);

#endif
