/* SPDX-License-Identifier: MIT */
/*
 * text_model.c -- the sentiment model file: a multinomial logistic regression
 * over hashed features, weights quantised to int8 or int16 with one scale per
 * class.  Layout (little-endian), 64-byte header:
 *
 *   0  magic "TPTXTMDL"        8  u32 version (1)       12  lang "vi\0\0" / "en\0\0"
 *   16 u32 hash bits           20 u32 classes (3)       24  u32 feature flags
 *   28 u8 char n-gram min      29 u8 max                30  u8 weight bytes (1|2)  31 u8 0
 *   32 f32 scale[3]            44 f32 bias[3]           56  u64 weight bytes that follow
 *   64 weights [bucket][class]
 *   end-32  BLAKE2b-256 (crypto_generichash) of everything before it
 *
 * A file that is short, long, of another magic or version, or whose checksum
 * does not match is TP_CORRUPT with a message; nothing is read past the end.
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "text/text_int.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#        error "text_model.c reads little-endian weights directly"
#endif

#define MAGIC "TPTXTMDL"
#define VERSION 1u
#define HEADER 64u
#define SUM_BYTES 32u
#define MAX_FILE (64u << 20)

static uint32_t get_u32(const unsigned char *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static float get_f32(const unsigned char *p) {
        uint32_t u = get_u32(p);
        float f;

        memcpy(&f, &u, sizeof(f));
        return f;
}

static void put_u32(unsigned char *p, uint32_t v) {
        p[0] = (unsigned char) v;
        p[1] = (unsigned char) (v >> 8);
        p[2] = (unsigned char) (v >> 16);
        p[3] = (unsigned char) (v >> 24);
}

static void put_f32(unsigned char *p, float f) {
        uint32_t u;

        memcpy(&u, &f, sizeof(u));
        put_u32(p, u);
}

tp_rc text_model_parse(const unsigned char *buf, size_t len, const char *what, text_model *m, tp_err *err) {
        unsigned char sum[SUM_BYTES];
        uint32_t version, bits, ncls, flags;
        uint64_t wlen;
        text_model t;

        if (len < HEADER + SUM_BYTES)
                return tp_err_set(err, TP_CORRUPT, "%s: not a text model (%zu bytes, too short)", what, len);
        if (memcmp(buf, MAGIC, 8) != 0)
                return tp_err_set(err, TP_CORRUPT, "%s: not a text model (bad magic)", what);
        version = get_u32(buf + 8);
        if (version != VERSION)
                return tp_err_set(
                        err,
                        TP_CORRUPT,
                        "%s: text model version %u is not supported (this build reads %u)",
                        what,
                        version,
                        VERSION);
        bits = get_u32(buf + 16);
        ncls = get_u32(buf + 20);
        flags = get_u32(buf + 24);
        wlen = (uint64_t) get_u32(buf + 56) | (uint64_t) get_u32(buf + 60) << 32;
        if (wlen != len - HEADER - SUM_BYTES)
                return tp_err_set(
                        err,
                        TP_CORRUPT,
                        "%s: text model truncated or padded (%zu bytes, header says %llu)",
                        what,
                        len,
                        (unsigned long long) (wlen + HEADER + SUM_BYTES));
        crypto_generichash(sum, sizeof(sum), buf, len - SUM_BYTES, NULL, 0);
        if (sodium_memcmp(sum, buf + len - SUM_BYTES, SUM_BYTES) != 0)
                return tp_err_set(err, TP_CORRUPT, "%s: text model checksum mismatch (file damaged)", what);
        memset(&t, 0, sizeof(t));
        memcpy(t.lang, buf + 12, 2);
        t.lang[2] = '\0';
        if ((strcmp(t.lang, "vi") != 0 && strcmp(t.lang, "en") != 0) || buf[14] || buf[15])
                return tp_err_set(err, TP_CORRUPT, "%s: text model for an unknown language", what);
        if (bits < 8 || bits > 26 || ncls != TEXT_NCLASS || (flags & ~(unsigned) FEAT_ALL) != 0)
                return tp_err_set(err, TP_CORRUPT, "%s: text model header out of range", what);
        t.cfg.bits = bits;
        t.cfg.flags = flags;
        t.cfg.cmin = buf[28];
        t.cfg.cmax = buf[29];
        t.wbytes = buf[30];
        if ((flags & FEAT_CHAR) && (t.cfg.cmin < 1 || t.cfg.cmax > 8 || t.cfg.cmin > t.cfg.cmax))
                return tp_err_set(err, TP_CORRUPT, "%s: text model n-gram range out of range", what);
        if ((t.wbytes != 1 && t.wbytes != 2) || wlen != ((uint64_t) 1 << bits) * TEXT_NCLASS * t.wbytes)
                return tp_err_set(
                        err, TP_CORRUPT, "%s: text model weight size does not match its header", what);
        for (int c = 0; c < TEXT_NCLASS; c++) {
                t.scale[c] = get_f32(buf + 32 + 4 * c);
                t.bias[c] = get_f32(buf + 44 + 4 * c);
                if (!isfinite(t.scale[c]) || !(t.scale[c] > 0) || !isfinite(t.bias[c]))
                        return tp_err_set(err, TP_CORRUPT, "%s: text model scale or bias out of range", what);
        }
        t.w = buf + HEADER;
        *m = t;
        return TP_OK;
}

tp_rc text_model_load(const char *path, text_model *m, tp_err *err) {
        unsigned char *buf = NULL;
        FILE *f;
        long sz;
        tp_rc rc;

        f = fopen(path, "rb");
        if (!f)
                return tp_err_set(err, TP_IO, "%s: %s", path, strerror(errno));
        if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
                rc = tp_err_set(err, TP_IO, "%s: cannot read", path);
                goto out;
        }
        if ((unsigned long) sz > MAX_FILE) {
                rc = tp_err_set(err, TP_CORRUPT, "%s: text model too large (%ld bytes)", path, sz);
                goto out;
        }
        buf = tp_malloc((size_t) sz + 1);
        if (!buf) {
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
                goto out;
        }
        if (fread(buf, 1, (size_t) sz, f) != (size_t) sz) {
                rc = tp_err_set(err, TP_IO, "%s: short read", path);
                goto out;
        }
        rc = text_model_parse(buf, (size_t) sz, path, m, err);
        if (rc == TP_OK) {
                m->owned = buf;
                buf = NULL;
        }
out:
        tp_free(buf);
        fclose(f);
        return rc;
}

void text_model_done(text_model *m) {
        if (!m)
                return;
        tp_free(m->owned);
        memset(m, 0, sizeof(*m));
}

void text_model_predict(const text_model *m, const text_feat *f, int nf, float prob[TEXT_NCLASS]) {
        float s[TEXT_NCLASS] = { 0, 0, 0 }, mx, z = 0;

        if (m->wbytes == 1) {
                const signed char *w = (const signed char *) m->w;

                for (int i = 0; i < nf; i++) {
                        const signed char *r = w + (size_t) f[i].idx * TEXT_NCLASS;

                        s[0] += f[i].v * r[0];
                        s[1] += f[i].v * r[1];
                        s[2] += f[i].v * r[2];
                }
        } else {
                for (int i = 0; i < nf; i++) {
                        int16_t r[TEXT_NCLASS];

                        memcpy(r, m->w + (size_t) f[i].idx * TEXT_NCLASS * 2, sizeof(r));
                        s[0] += f[i].v * r[0];
                        s[1] += f[i].v * r[1];
                        s[2] += f[i].v * r[2];
                }
        }
        for (int c = 0; c < TEXT_NCLASS; c++)
                s[c] = s[c] * m->scale[c] + m->bias[c];
        mx = s[0] > s[1] ? s[0] : s[1];
        mx = mx > s[2] ? mx : s[2];
        for (int c = 0; c < TEXT_NCLASS; c++) {
                prob[c] = expf(s[c] - mx);
                z += prob[c];
        }
        for (int c = 0; c < TEXT_NCLASS; c++)
                prob[c] /= z;
}

tp_rc text_model_save(
        const char *path,
        const char *lang,
        const text_feat_cfg *cfg,
        unsigned wbytes,
        const float *w,
        const float *bias,
        tp_err *err) {
        size_t nb = (size_t) 1 << cfg->bits, wlen = nb * TEXT_NCLASS * wbytes;
        size_t len = HEADER + wlen + SUM_BYTES;
        float scale[TEXT_NCLASS];
        float qmax = wbytes == 1 ? 127.0f : 32767.0f;
        unsigned char *buf;
        FILE *f;
        tp_rc rc = TP_OK;

        buf = tp_calloc(1, len);
        if (!buf)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        memcpy(buf, MAGIC, 8);
        put_u32(buf + 8, VERSION);
        memcpy(buf + 12, lang, 2);
        put_u32(buf + 16, cfg->bits);
        put_u32(buf + 20, TEXT_NCLASS);
        put_u32(buf + 24, cfg->flags);
        buf[28] = (unsigned char) cfg->cmin;
        buf[29] = (unsigned char) cfg->cmax;
        buf[30] = (unsigned char) wbytes;
        for (int c = 0; c < TEXT_NCLASS; c++) {
                float mx = 0;

                for (size_t b = 0; b < nb; b++) {
                        float a = fabsf(w[b * TEXT_NCLASS + (size_t) c]);

                        if (a > mx)
                                mx = a;
                }
                scale[c] = mx > 0 ? mx / qmax : 1.0f;
                put_f32(buf + 32 + 4 * c, scale[c]);
                put_f32(buf + 44 + 4 * c, bias[c]);
        }
        put_u32(buf + 56, (uint32_t) wlen);
        put_u32(buf + 60, (uint32_t) ((uint64_t) wlen >> 32));
        for (size_t b = 0; b < nb; b++)
                for (size_t c = 0; c < TEXT_NCLASS; c++) {
                        long q = lrintf(w[b * TEXT_NCLASS + c] / scale[c]);
                        unsigned char *p = buf + HEADER + (b * TEXT_NCLASS + c) * wbytes;

                        if (q > (long) qmax)
                                q = (long) qmax;
                        if (q < -(long) qmax)
                                q = -(long) qmax;
                        if (wbytes == 1) {
                                p[0] = (unsigned char) (signed char) q;
                        } else {
                                uint16_t u = (uint16_t) (int16_t) q;

                                p[0] = (unsigned char) u;
                                p[1] = (unsigned char) (u >> 8);
                        }
                }
        crypto_generichash(buf + len - SUM_BYTES, SUM_BYTES, buf, len - SUM_BYTES, NULL, 0);
        f = fopen(path, "wb");
        if (!f) {
                rc = tp_err_set(err, TP_IO, "%s: %s", path, strerror(errno));
                goto out;
        }
        if (fwrite(buf, 1, len, f) != len)
                rc = tp_err_set(err, TP_IO, "%s: write failed", path);
        if (fclose(f) != 0 && rc == TP_OK)
                rc = tp_err_set(err, TP_IO, "%s: %s", path, strerror(errno));
out:
        tp_free(buf);
        return rc;
}
