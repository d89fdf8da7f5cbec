/* SPDX-License-Identifier: MIT */
/*
 * engine_cdim.c -- customer dimensions: the segment and the attributes a CRM
 * gives each customer (PUT /v1/customers/{id}, the store's customers table),
 * kept as one byte per customer and dimension so that answers can be broken
 * down and filtered by them in the same scan as by channel.
 *
 * Dimension 0 is the segment; attributes become dimensions in the order they
 * are first seen, up to ENG_DIM_MAX - 1 of them.  A scalar attribute value is
 * its text (strings as given, numbers as JSON writes them, true / false);
 * null, arrays and objects are "no value".  A dimension whose values cannot
 * all be coded (more than 255, or one longer than 31 bytes: an e-mail address,
 * say) is marked overflowed and refused as a breakdown, because a split that
 * silently lumps values together would be a wrong answer.
 */
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

void eng_cdim_done(tp_engine *e) {
        for (uint32_t d = 0; d < ENG_DIM_MAX; d++) {
                eng_sdict_done(&e->dims[d].vals);
                tp_free(e->dims[d].code);
        }
}

size_t eng_cdim_bytes(const tp_engine *e) {
        size_t n = 0;

        for (uint32_t d = 0; d < e->ndims; d++)
                n += e->dims[d].cap + (e->dims[d].vals.names ? e->dims[d].vals.max * sizeof(e->dims[d].vals.names[0]) : 0);
        return n;
}

int eng_cdim_find(const tp_engine *e, const char *name) {
        for (uint32_t d = 1; d < e->ndims; d++)
                if (strcmp(e->dims[d].name, name) == 0)
                        return (int) d;
        return -1;
}

tp_rc eng_cdim_usable(const tp_engine *e, int d, const char *field, tp_err *err) {
        if (!e->dims[d].overflow)
                return TP_OK;
        return tp_err_setf(err, TP_UNPROCESSABLE, field,
                           "customer attribute '%s' has more than %u distinct values or a value longer than 31 "
                           "bytes, so it cannot break down or filter answers",
                           e->dims[d].name, e->dims[d].vals.max - 1);
}

/* One filter over dimension d: the values named ("" = none; a value never
 * seen matches nobody). */
static void cfilter_add(eng_cfilter *f, const eng_cdim *d, const char *const *values, size_t n) {
        uint8_t *mask = f->mask[f->n];

        memset(mask, 0, 256);
        for (size_t i = 0; i < n; i++) {
                int c = !values[i] || !*values[i] ? 0 : d->vals.n ? eng_sdict_find(&d->vals, values[i]) : -1;

                if (c >= 0)
                        mask[c] = 1;
        }
        f->dim[f->n++] = d;
}

tp_rc eng_cfilter_init(const tp_engine *e, const char *const *segments, size_t nsegments,
                       const tp_engine_attr_filter *attrs, size_t nattrs, eng_cfilter *f, tp_err *err) {
        tp_rc rc;

        f->n = 0;
        if (nattrs >= ENG_DIM_MAX)
                return tp_err_setf(err, TP_UNPROCESSABLE, "attr", "at most %d attribute filters", ENG_DIM_MAX - 1);
        if (segments)
                cfilter_add(f, &e->dims[0], segments, nsegments);
        for (size_t i = 0; i < nattrs; i++) {
                const char *name = attrs[i].name ? attrs[i].name : "";
                int d = eng_cdim_find(e, name);

                if (d < 0)
                        return tp_err_setf(err, TP_UNPROCESSABLE, "attr", "no customer has an attribute '%.40s'", name);
                if ((rc = eng_cdim_usable(e, d, "attr", err)) != TP_OK)
                        return rc;
                cfilter_add(f, &e->dims[d], attrs[i].values, attrs[i].nvalues);
        }
        return TP_OK;
}

tp_rc eng_filter_init(const tp_engine *e, const tp_engine_filter *q, eng_filter *f, tp_err *err) {
        tp_rc rc;

        f->chan = q->channels != NULL;
        if (f->chan) {
                memset(f->chf, 0, sizeof(f->chf));
                for (size_t i = 0; i < q->nchannels; i++) {
                        int c = q->channels[i] && *q->channels[i] ? eng_sdict_find(&e->chans, q->channels[i]) : -1;

                        if (c > 0)
                                f->chf[c] = 1;
                }
        }
        if ((rc = eng_cfilter_init(e, q->segments, q->nsegments, q->attrs, q->nattrs, &f->cf, err)) != TP_OK)
                return rc;
        f->cust = f->cf.n > 0;
        f->any = f->chan || f->cust;
        return TP_OK;
}

uint32_t eng_filter_events(const eng_filter *f, eng_item *buf, uint32_t n) {
        uint32_t k = 0;

        if (!f || !f->chan)
                return n;
        for (uint32_t i = 0; i < n; i++)
                if (f->chf[buf[i].r.ch])
                        buf[k++] = buf[i];
        return k;
}

/* A name the report parameters can address: 1..31 bytes, no separator of the
 * attr= syntax ("city:HCM,HN;plan:gold") and no control character. */
static int name_ok(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 31)
                return 0;
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == ':' || *s == ',' || *s == ';')
                        return 0;
        return 1;
}

/* An attribute value that could not be coded: the customer has one, but no
 * filter or breakdown can name it. */
#define UNCODED 255

static tp_rc dim_init(eng_cdim *d, const char *name) {
        uint8_t code;

        (void) snprintf(d->name, sizeof(d->name), "%s", name);
        d->vals.max = *name ? UNCODED : 256; /* attributes keep code 255 for UNCODED */
        /* Code 0 is "no value": the empty string, never looked up as a value. */
        return eng_sdict_intern(&d->vals, "", "value", &code, NULL);
}

/* Give customer c the code of value in d (NULL: none).  A value that cannot be
 * coded overflows the dimension and leaves the customer without one. */
static tp_rc dim_put(eng_cdim *d, uint32_t c, const char *value) {
        uint8_t code = 0;

        if (value && *value) {
                tp_rc rc = eng_sdict_intern(&d->vals, value, "value", &code, NULL);

                if (rc == TP_NOMEM)
                        return rc;
                if (rc != TP_OK) {
                        d->overflow = 1;
                        code = UNCODED;
                }
        }
        if (c >= d->cap) {
                uint32_t cap = d->cap ? d->cap : 1024;
                uint8_t *p;

                if (!code)
                        return TP_OK; /* past the array is none already */
                while (cap <= c)
                        cap *= 2;
                if (!(p = tp_realloc(d->code, cap)))
                        return TP_NOMEM;
                memset(p + d->cap, 0, cap - d->cap);
                d->code = p;
                d->cap = cap;
        }
        d->code[c] = code;
        if (c >= d->n)
                d->n = c + 1;
        return TP_OK;
}

/* The text of a scalar attribute value in buf; NULL for none. */
static const char *value_text(const json_t *v, char *buf, size_t bufsz) {
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v)) {
                (void) snprintf(buf, bufsz, "%lld", (long long) json_integer_value(v));
                return buf;
        }
        if (json_is_real(v)) {
                (void) snprintf(buf, bufsz, "%.15g", json_real_value(v));
                return buf;
        }
        if (json_is_boolean(v))
                return json_is_true(v) ? "true" : "false";
        return NULL;
}

tp_rc tp_engine_set_customer(tp_engine *e, const char *customer, const char *segment, const json_t *attributes,
                             tp_err *err) {
        uint32_t c = 0;
        uint8_t code = 0;
        const char *k;
        json_t *v;
        char buf[64];
        tp_rc rc = TP_OK;

        if (!customer || !*customer)
                return tp_err_setf(err, TP_INVALID, "customer", "no customer");
        if (attributes && !json_is_object(attributes))
                attributes = NULL;
        pthread_mutex_lock(&e->wmu);
        pthread_rwlock_wrlock(&e->rw);
        if (!e->ndims) {
                if (dim_init(&e->dims[0], "") != TP_OK) {
                        rc = tp_err_set(err, TP_NOMEM, "out of memory");
                        goto out;
                }
                e->ndims = 1;
        }
        /* The segment is checked before anything changes: more than 255
         * segments refuses the call (the API then stores nothing). */
        if (segment && *segment &&
            (rc = eng_sdict_intern(&e->dims[0].vals, segment, "segment", &code, err)) != TP_OK)
                goto out;
        if ((rc = eng_cust_intern(e, customer, &c, err)) != TP_OK)
                goto out;
        rc = dim_put(&e->dims[0], c, segment);
        /* Known attributes: the new value, or none when the object lacks it
         * (a PUT replaces the customer's attributes). */
        for (uint32_t d = 1; d < e->ndims && rc == TP_OK; d++)
                rc = dim_put(&e->dims[d], c, value_text(json_object_get(attributes, e->dims[d].name), buf, sizeof(buf)));
        json_object_foreach((json_t *) attributes, k, v) {
                const char *t = value_text(v, buf, sizeof(buf));

                if (rc != TP_OK)
                        break;
                if (!t || !*t || !name_ok(k) || eng_cdim_find(e, k) >= 0)
                        continue;
                if (e->ndims == ENG_DIM_MAX) {
                        e->attrs_dropped++;
                        continue;
                }
                if ((rc = dim_init(&e->dims[e->ndims], k)) != TP_OK)
                        break;
                e->ndims++;
                rc = dim_put(&e->dims[e->ndims - 1], c, t);
        }
        if (rc == TP_NOMEM)
                rc = tp_err_set(err, TP_NOMEM, "out of memory");
out:
        pthread_rwlock_unlock(&e->rw);
        pthread_mutex_unlock(&e->wmu);
        return rc;
}

/* The values of dimension d with their customers; *ret is the caller's.
 * *ret_uncoded: customers whose value could not be coded. */
static tp_rc dim_list(const eng_cdim *d, tp_engine_value **ret, size_t *ret_n, uint64_t *ret_uncoded) {
        size_t n = d->vals.n > 1 ? d->vals.n - 1 : 0;
        tp_engine_value *v = tp_calloc(n ? n : 1, sizeof(*v));

        if (!v)
                return TP_NOMEM;
        for (size_t i = 0; i < n; i++)
                memcpy(v[i].name, d->vals.names[i + 1], sizeof(v[i].name));
        *ret_uncoded = 0;
        for (uint32_t c = 0; c < d->n; c++) {
                if (d->code[c] == UNCODED && *d->name)
                        (*ret_uncoded)++;
                else if (d->code[c])
                        v[d->code[c] - 1].customers++;
        }
        *ret = v;
        *ret_n = n;
        return TP_OK;
}

tp_rc tp_engine_segments(tp_engine *e, tp_engine_value **ret, size_t *ret_n, tp_err *err) {
        tp_rc rc = TP_OK;
        uint64_t uncoded;

        pthread_rwlock_rdlock(&e->rw);
        if (e->ndims)
                rc = dim_list(&e->dims[0], ret, ret_n, &uncoded);
        else if ((*ret = tp_calloc(1, sizeof(**ret))))
                *ret_n = 0;
        else
                rc = TP_NOMEM;
        pthread_rwlock_unlock(&e->rw);
        return rc == TP_OK ? TP_OK : tp_err_set(err, TP_NOMEM, "out of memory");
}

void tp_engine_attributes_free(tp_engine_attribute *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                tp_free(v[i].values);
        tp_free(v);
}

tp_rc tp_engine_attributes(tp_engine *e, tp_engine_attribute **ret, size_t *ret_n, uint64_t *ret_dropped,
                           tp_err *err) {
        tp_engine_attribute *v;
        size_t n;

        pthread_rwlock_rdlock(&e->rw);
        n = e->ndims > 1 ? e->ndims - 1 : 0;
        if (!(v = tp_calloc(n ? n : 1, sizeof(*v)))) {
                pthread_rwlock_unlock(&e->rw);
                return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                const eng_cdim *d = &e->dims[i + 1];

                memcpy(v[i].name, d->name, sizeof(v[i].name));
                v[i].overflow = d->overflow;
                if (dim_list(d, &v[i].values, &v[i].nvalues, &v[i].customers) != TP_OK) {
                        pthread_rwlock_unlock(&e->rw);
                        tp_engine_attributes_free(v, n);
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                }
                for (size_t k = 0; k < v[i].nvalues; k++)
                        v[i].customers += v[i].values[k].customers;
        }
        if (ret_dropped)
                *ret_dropped = e->attrs_dropped;
        pthread_rwlock_unlock(&e->rw);
        *ret = v;
        *ret_n = n;
        return TP_OK;
}
