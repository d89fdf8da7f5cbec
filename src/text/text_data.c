/* SPDX-License-Identifier: MIT */
/*
 * text_data.c -- labelled comments from the UIT-VSFC layout or a CSV file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "text/text.h"
#include "text/text_int.h"
#include "text/text_train.h"

#define MAX_DATA_FILE (256u << 20)

void tp_text_data_done(tp_text_data *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                tp_free(d->text[i]);
                if (d->aux)
                        tp_free(d->aux[i]);
        }
        tp_free(d->text);
        tp_free(d->label);
        tp_free(d->aux);
        memset(d, 0, sizeof(*d));
}

static tp_rc data_add(tp_text_data *d, const char *text, size_t len, int label, const char *aux, tp_err *err) {
        if (d->n == d->cap) {
                size_t nc = d->cap ? d->cap * 2 : 1024;
                char **t = tp_realloc(d->text, nc * sizeof(char *));
                signed char *l;
                char **a;

                if (!t)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                d->text = t;
                l = tp_realloc(d->label, nc);
                if (!l)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                d->label = l;
                a = tp_realloc(d->aux, nc * sizeof(char *));
                if (!a)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                d->aux = a;
                d->cap = nc;
        }
        d->text[d->n] = tp_strndup(text, len);
        d->aux[d->n] = tp_strdup(aux ? aux : "");
        if (!d->text[d->n] || !d->aux[d->n]) {
                tp_free(d->text[d->n]);
                tp_free(d->aux[d->n]);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        d->label[d->n] = (signed char) label;
        d->n++;
        return TP_OK;
}

static tp_rc slurp(const char *path, char **ret, size_t *ret_len, tp_err *err) {
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long sz;
        tp_rc rc = TP_OK;

        if (!f)
                return tp_err_set(err, TP_IO, "%s: %s", path, strerror(errno));
        if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
            (unsigned long) sz > MAX_DATA_FILE) {
                rc = tp_err_set(err, TP_IO, "%s: cannot read (or over 256 MiB)", path);
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
        buf[sz] = '\0';
        *ret = buf;
        *ret_len = (size_t) sz;
        buf = NULL;
out:
        tp_free(buf);
        fclose(f);
        return rc;
}

/* Next line of [*p, end) without its CR/LF; NULL at the end. */
static char *next_line(char **p, char *end, size_t *ret_len) {
        char *b = *p, *e;

        if (b >= end)
                return NULL;
        e = memchr(b, '\n', (size_t) (end - b));
        if (!e)
                e = end;
        *p = e < end ? e + 1 : end;
        if (e > b && e[-1] == '\r')
                e--;
        *e = '\0';
        *ret_len = (size_t) (e - b);
        return b;
}

tp_rc tp_text_data_load_uit(const char *dir, tp_text_data *d, tp_err *err) {
        char path[4096], *sents = NULL, *labs = NULL, *ps, *pl, *es, *el;
        size_t ns, nl, line = 0;
        tp_rc rc;

        (void) snprintf(path, sizeof(path), "%s/sents.txt", dir);
        rc = slurp(path, &sents, &ns, err);
        if (rc != TP_OK)
                return rc;
        (void) snprintf(path, sizeof(path), "%s/sentiments.txt", dir);
        rc = slurp(path, &labs, &nl, err);
        if (rc != TP_OK)
                goto out;
        ps = sents;
        pl = labs;
        es = sents + ns;
        el = labs + nl;
        for (;;) {
                size_t sl, ll;
                char *s = next_line(&ps, es, &sl), *l = next_line(&pl, el, &ll);
                int lab;

                line++;
                if (!s && !l)
                        break;
                if (!s || !l) {
                        rc = tp_err_set(
                                err,
                                TP_INVALID,
                                "%s: sents.txt and sentiments.txt differ in length (line %zu)",
                                dir,
                                line);
                        goto out;
                }
                lab = tp_text_sentiment_parse(l);
                if (lab < 0) {
                        rc = tp_err_set(
                                err,
                                TP_INVALID,
                                "%s/sentiments.txt line %zu: label '%.20s' is not 0, 1 or 2",
                                dir,
                                line,
                                l);
                        goto out;
                }
                rc = data_add(d, s, sl, lab, NULL, err);
                if (rc != TP_OK)
                        goto out;
        }
out:
        tp_free(sents);
        tp_free(labs);
        return rc;
}

#define CSV_MAX_FIELDS 64

/* One CSV record starting at *p; fields are unescaped in place and
 * NUL-terminated.  Returns the field count, 0 at the end, -1 on a quote
 * that never closes. */
static int csv_record(char **p, char *end, char **field, int max) {
        char *r = *p, *w;
        int n = 0;

        if (r >= end)
                return 0;
        for (;;) {
                char *start = r;
                int quoted = 0;

                w = r;
                if (r < end && *r == '"') {
                        quoted = 1;
                        r++;
                        w = start;
                        for (;;) {
                                if (r >= end)
                                        return -1;
                                if (*r == '"') {
                                        if (r + 1 < end && r[1] == '"') {
                                                *w++ = '"';
                                                r += 2;
                                                continue;
                                        }
                                        r++;
                                        break;
                                }
                                *w++ = *r++;
                        }
                }
                while (r < end && *r != ',' && *r != '\n' && !(*r == '\r' && (r + 1 >= end || r[1] == '\n'))) {
                        if (quoted)
                                r++; /* junk after a closing quote: dropped */
                        else
                                *w++ = *r++;
                }
                if (n < max)
                        field[n] = start;
                n++;
                if (r >= end) {
                        *w = '\0';
                        *p = end;
                        return n;
                }
                if (*r == ',') {
                        *w = '\0';
                        r++;
                        continue;
                }
                if (*r == '\r')
                        r++;
                *w = '\0';
                *p = r + 1;
                return n;
        }
}

static int col_index(char **hdr, int n, const char *name) {
        for (int i = 0; i < n && i < CSV_MAX_FIELDS; i++)
                if (strcmp(hdr[i], name) == 0)
                        return i;
        return -1;
}

tp_rc tp_text_data_load_csv(const char *path, const tp_text_csv_opts *o, tp_text_data *d, tp_err *err) {
        const char *tcol = o && o->text_col ? o->text_col : "text";
        const char *lcol = o && o->label_col ? o->label_col : "label";
        char *buf = NULL, *p, *end, *hdr[CSV_MAX_FIELDS], *f[CSV_MAX_FIELDS];
        int nh, ti, li, ai = -1, si = -1;
        size_t len, row = 1;
        tp_rc rc;

        rc = slurp(path, &buf, &len, err);
        if (rc != TP_OK)
                return rc;
        p = buf;
        end = buf + len;
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                p += 3;
        nh = csv_record(&p, end, hdr, CSV_MAX_FIELDS);
        if (nh <= 0) {
                rc = tp_err_set(err, TP_INVALID, "%s: no header row", path);
                goto out;
        }
        ti = col_index(hdr, nh, tcol);
        li = col_index(hdr, nh, lcol);
        if (o && o->aux_col)
                ai = col_index(hdr, nh, o->aux_col);
        if (o && o->split_col)
                si = col_index(hdr, nh, o->split_col);
        if (ti < 0 || li < 0 || (o && o->aux_col && ai < 0) || (o && o->split_col && si < 0)) {
                rc = tp_err_set(
                        err,
                        TP_INVALID,
                        "%s: header lacks column '%s'",
                        path,
                        ti < 0                       ? tcol :
                                li < 0               ? lcol :
                                ai < 0 && o->aux_col ? o->aux_col :
                                                       o->split_col);
                goto out;
        }
        for (;;) {
                int n = csv_record(&p, end, f, CSV_MAX_FIELDS), lab;

                row++;
                if (n == 0)
                        break;
                if (n < 0) {
                        rc = tp_err_set(err, TP_INVALID, "%s: record %zu: unterminated quote", path, row);
                        goto out;
                }
                if (n == 1 && f[0][0] == '\0')
                        continue; /* blank line */
                if (n <= ti || n <= li || (ai >= 0 && n <= ai) || (si >= 0 && n <= si)) {
                        rc = tp_err_set(err, TP_INVALID, "%s: record %zu has %d fields", path, row, n);
                        goto out;
                }
                lab = tp_text_sentiment_parse(f[li]);
                if (lab < 0) {
                        rc = tp_err_set(
                                err,
                                TP_INVALID,
                                "%s: record %zu: label '%.20s' is not negative, neutral or positive",
                                path,
                                row,
                                f[li]);
                        goto out;
                }
                if (o && o->split) {
                        const char *k = si >= 0 ? f[si] : f[ti];
                        int test = text_hash(k, strlen(k)) % 5 == 0;

                        if ((o->split == 2) != test)
                                continue;
                }
                rc = data_add(d, f[ti], strlen(f[ti]), lab, ai >= 0 ? f[ai] : NULL, err);
                if (rc != TP_OK)
                        goto out;
        }
out:
        tp_free(buf);
        return rc;
}
