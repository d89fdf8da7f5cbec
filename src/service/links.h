/* SPDX-License-Identifier: MIT */
/*
 * links.h -- sealed, expiring, single-use survey links for email and SMS.
 *
 * A link's token carries everything the survey needs (touchpoint, customer,
 * metric, language, channel, expiry, a random id), sealed with libsodium's
 * secretbox (XSalsa20-Poly1305) under a 256-bit secret kept in the store's
 * meta table: the server keeps no per-link state, a forwarded link shows
 * nobody the customer id, and a changed byte is refused.  Single use needs no
 * state either: the answer is stored as the response with id "link-<id>", and
 * the store's idempotent ids make a second answer a duplicate.
 *
 * Pure functions but tp_link_secret (which reads or creates the secret) and
 * tp_link_qr_png (libqrencode + libpng); all thread-safe.
 */
#ifndef TP_LINKS_H
#define TP_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "service/catalog.h"
#include "store/store.h"

#define TP_LINK_TOKEN_MAX 640
#define TP_LINK_ID_LEN 16 /* hex */

typedef struct tp_link {
        char id[TP_LINK_ID_LEN + 1]; /* random; the response id is "link-<id>" */
        char touchpoint[65];
        char customer[129];
        tp_metric metric;            /* nps, csat or ces */
        char lang[3];                /* "vi" or "en" */
        char channel[16];
        int64_t expires;             /* Unix seconds */
} tp_link;

/* Check and fill a link from its parts (NULL takes the default: metric nps,
 * lang vi, channel email; hours 72, at most 2160): every refusal names its
 * field.  The touchpoint must be in the catalogue. */
tp_rc tp_link_fill(tp_catalog *cat, const char *touchpoint, const char *customer, const char *metric,
                   const char *lang, const char *channel, long hours, int64_t now, size_t max_id, tp_link *ret,
                   tp_err *err);

/* The signing secret of this store; made on first use when create is set. */
tp_rc tp_link_secret(tp_store *s, int create, unsigned char out[32], tp_err *err);

/* Fill l->id with a fresh random id and write the token (URL-safe, at most
 * TP_LINK_TOKEN_MAX bytes with the NUL). */
tp_rc tp_link_make(const unsigned char secret[32], tp_link *l, char *token, size_t tokensz, tp_err *err);

/* Check a token: TP_FORBIDDEN (code link_invalid) when malformed or tampered
 * with, TP_GONE (code link_expired) after its expiry (*ret filled either way
 * once the tag is good). */
tp_rc tp_link_open(const unsigned char secret[32], const char *token, int64_t now, tp_link *ret, tp_err *err);

/* The response id of a link's answer, "link-<id>" (buf of 32 bytes). */
void tp_link_response_id(const tp_link *l, char buf[32]);

/* A QR code of text as a PNG image (*ret_png malloc'd, tp_free it): 8 pixels
 * per module, the standard 4-module quiet zone, error correction M. */
tp_rc tp_link_qr_png(const char *text, unsigned char **ret_png, size_t *ret_len, tp_err *err);

#endif
