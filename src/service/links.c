/* SPDX-License-Identifier: MIT */
#include <png.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "service/keys.h"
#include "service/links.h"
#include "service/validate.h"

#define SEP '\n' /* ids cannot contain control characters (validate.c), so it is unambiguous */

tp_rc tp_link_secret(tp_store *s, int create, unsigned char out[32], tp_err *err) {
        return tp_keys_secret(s, "link_secret", create, out, err);
}

tp_rc tp_link_fill(tp_catalog *cat, const char *touchpoint, const char *customer, const char *metric,
                   const char *lang, const char *channel, long hours, int64_t now, size_t max_id, tp_link *ret,
                   tp_err *err) {
        tp_link l = { 0 };
        int64_t id;
        tp_rc rc;

        if (!touchpoint || tp_catalog_find(cat, touchpoint, &id, NULL) != TP_OK)
                return tp_err_setc(err, TP_UNPROCESSABLE, "unknown_touchpoint", "touchpoint",
                                   "no touchpoint '%.64s' in the catalogue", touchpoint ? touchpoint : "");
        if (!customer)
                return tp_err_setc(err, TP_UNPROCESSABLE, "missing", "customer", "'customer' is required: a link is for one customer");
        if ((rc = tp_check_id(customer, "customer", max_id < sizeof(l.customer) ? max_id : sizeof(l.customer) - 1,
                              err)) != TP_OK)
                return rc;
        if (tp_metric_parse(metric ? metric : "nps", &l.metric) != TP_OK ||
            (l.metric != TP_METRIC_NPS && l.metric != TP_METRIC_CSAT && l.metric != TP_METRIC_CES))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "metric", "'metric' must be nps, csat or ces");
        if (lang && strcmp(lang, "vi") != 0 && strcmp(lang, "en") != 0)
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "lang", "'lang' must be vi or en");
        if (channel && !tp_channel_valid(channel))
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "channel", "'channel' must be one of: %s",
                                   tp_channel_list());
        if (hours < 1 || hours > 2160)
                return tp_err_setc(err, TP_UNPROCESSABLE, "invalid_value", "expires_hours",
                                   "'expires_hours' must be a whole number from 1 to 2160 (90 days)");
        (void) snprintf(l.touchpoint, sizeof(l.touchpoint), "%s", touchpoint);
        (void) snprintf(l.customer, sizeof(l.customer), "%s", customer);
        (void) snprintf(l.lang, sizeof(l.lang), "%s", lang ? lang : "vi");
        (void) snprintf(l.channel, sizeof(l.channel), "%s", channel ? channel : "email");
        l.expires = now + (int64_t) hours * 3600;
        *ret = l;
        return TP_OK;
}

tp_rc tp_link_make(const unsigned char secret[32], tp_link *l, char *token, size_t tokensz, tp_err *err) {
        unsigned char rnd[TP_LINK_ID_LEN / 2], box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 400];
        char payload[400];
        size_t plen, blen;
        int n;

        randombytes_buf(rnd, sizeof(rnd));
        sodium_bin2hex(l->id, sizeof(l->id), rnd, sizeof(rnd));
        n = snprintf(payload, sizeof(payload), "1%c%lld%c%s%c%s%c%s%c%s%c%s%c%s", SEP, (long long) l->expires, SEP,
                     tp_metric_name(l->metric), SEP, l->lang, SEP, l->channel, SEP, l->touchpoint, SEP, l->customer,
                     SEP, l->id);
        if (n < 0 || (size_t) n >= sizeof(payload))
                return tp_err_set(err, TP_INVALID, "link fields too long");
        plen = (size_t) n;
        /* nonce || secretbox(payload): sealed, so a forwarded link shows nobody the
         * customer id, and authenticated, so a changed byte opens nothing. */
        randombytes_buf(box, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *) payload, plen, box, secret);
        sodium_memzero(payload, sizeof(payload));
        blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
        if (sodium_base64_encoded_len(blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > tokensz)
                return tp_err_set(err, TP_INVALID, "link token too long");
        sodium_bin2base64(token, tokensz, box, blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        return TP_OK;
}

/* Copy the next SEP-terminated field of *p into out; 0 when it does not fit. */
static int field(const char **p, const char *end, char *out, size_t outsz) {
        const char *q = memchr(*p, SEP, (size_t) (end - *p));
        size_t n = q ? (size_t) (q - *p) : (size_t) (end - *p);

        if (n >= outsz)
                return 0;
        memcpy(out, *p, n);
        out[n] = '\0';
        *p = q ? q + 1 : end;
        return 1;
}

static tp_rc invalid(tp_err *err) {
        return tp_err_setc(err, TP_FORBIDDEN, "link_invalid", "token",
                           "this survey link is not valid (it was changed or cut short)");
}

tp_rc tp_link_open(const unsigned char secret[32], const char *token, int64_t now, tp_link *ret, tp_err *err) {
        unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 400], payload[400];
        char ver[4], exp[24], metric[16];
        const char *p, *end;
        size_t blen = 0, plen;
        tp_link l = { 0 };
        char *e = NULL;

        if (strlen(token) >= TP_LINK_TOKEN_MAX ||
            sodium_base642bin(box, sizeof(box), token, strlen(token), NULL, &blen, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
            blen <= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
                return invalid(err);
        plen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
        if (crypto_secretbox_open_easy(payload, box + crypto_secretbox_NONCEBYTES, blen - crypto_secretbox_NONCEBYTES,
                                       box, secret) != 0)
                return invalid(err);
        p = (const char *) payload;
        end = p + plen;
        if (!field(&p, end, ver, sizeof(ver)) || strcmp(ver, "1") != 0 || !field(&p, end, exp, sizeof(exp)) ||
            !field(&p, end, metric, sizeof(metric)) || !field(&p, end, l.lang, sizeof(l.lang)) ||
            !field(&p, end, l.channel, sizeof(l.channel)) || !field(&p, end, l.touchpoint, sizeof(l.touchpoint)) ||
            !field(&p, end, l.customer, sizeof(l.customer)) || !field(&p, end, l.id, sizeof(l.id)) ||
            tp_metric_parse(metric, &l.metric) != TP_OK)
                return invalid(err);
        l.expires = strtoll(exp, &e, 10);
        if (!e || *e)
                return invalid(err);
        sodium_memzero(payload, sizeof(payload));
        *ret = l;
        if (now >= l.expires)
                return tp_err_setc(err, TP_GONE, "link_expired", "token", "this survey link has expired");
        return TP_OK;
}

void tp_link_response_id(const tp_link *l, char buf[32]) {
        (void) snprintf(buf, 32, "link-%s", l->id);
}

typedef struct png_out {
        unsigned char *buf;
        size_t len, cap;
        int oom;
} png_out;

static void png_write(png_structp png, png_bytep data, png_size_t n) {
        png_out *o = png_get_io_ptr(png);

        if (o->oom)
                return;
        if (o->len + n > o->cap) {
                size_t cap = (o->len + n) * 2 + 1024;
                unsigned char *b = tp_realloc(o->buf, cap);
                if (!b) {
                        o->oom = 1;
                        return;
                }
                o->buf = b;
                o->cap = cap;
        }
        memcpy(o->buf + o->len, data, n);
        o->len += n;
}

static void png_flush(png_structp png) {
        (void) png;
}

tp_rc tp_link_qr_png(const char *text, unsigned char **ret_png, size_t *ret_len, tp_err *err) {
        enum { SCALE = 8, QUIET = 4 };
        QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
        png_structp png = NULL;
        png_infop info = NULL;
        png_out out = { 0 };
        unsigned char *row = NULL;
        unsigned size;
        tp_rc rc = TP_OK;

        if (!qr)
                return tp_err_set(err, TP_INVALID, "cannot make a QR code of %zu bytes", strlen(text));
        size = ((unsigned) qr->width + 2 * QUIET) * SCALE;
        row = tp_malloc(size);
        png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        info = png ? png_create_info_struct(png) : NULL;
        if (!row || !png || !info) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        if (setjmp(png_jmpbuf(png))) {
                rc = tp_err_set(err, TP_INTERNAL, "PNG encoding failed");
                goto out;
        }
        png_set_write_fn(png, &out, png_write, png_flush);
        png_set_IHDR(png, info, size, size, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (unsigned y = 0; y < size; y++) {
                int my = (int) (y / SCALE) - QUIET;
                for (unsigned x = 0; x < size; x++) {
                        int mx = (int) (x / SCALE) - QUIET;
                        int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
                                   (qr->data[my * qr->width + mx] & 1);
                        row[x] = dark ? 0 : 255;
                }
                png_write_row(png, row);
        }
        png_write_end(png, NULL);
        if (out.oom)
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
        tp_free(row);
        QRcode_free(qr);
        if (rc != TP_OK) {
                tp_free(out.buf);
                return rc;
        }
        *ret_png = out.buf;
        *ret_len = out.len;
        return TP_OK;
}
