/* SPDX-License-Identifier: MIT */
/*
 * engine_dict.c -- the engine's dictionaries.
 *
 *   customers    external id -> u32, by an open-addressing table of 64-bit slots
 *                (the id's 32-bit hash beside the number, so a probe rarely
 *                touches the string) over one arena of interned ids;
 *   touchpoints  store id (int64) -> dense u16 and back;
 *   channels,    name -> u8, for the few dozen values a deployment has.
 *   event types
 *
 * Every intern function either adds the value completely or changes nothing
 * (allocations first, then the insert), so a failed ingest leaves no half entry.
 * Nothing is ever removed: codes stay valid for the life of the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

static uint32_t hash_str(const char *s, size_t *ret_len) {
        /* FNV-1a, folded to 32 bits.  Customer ids come from authenticated
         * ingest; a hostile key set costs probe time, never correctness. */
        uint64_t h = 1469598103934665603ull;
        const char *p = s;

        while (*p)
                h = (h ^ (unsigned char) *p++) * 1099511628211ull;
        *ret_len = (size_t) (p - s);
        return (uint32_t) (h ^ (h >> 32));
}

static uint32_t hash_i64(int64_t v) {
        uint64_t x = (uint64_t) v;

        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        return (uint32_t) x;
}

/* ---- customers ----------------------------------------------------------- */

static tp_rc cslots_grow(tp_engine *e) {
        uint32_t n = e->ncslots ? e->ncslots * 2 : 4096;
        uint64_t *s;

        if (n < e->ncslots)
                return TP_NOMEM;
        s = tp_calloc(n, sizeof(*s));
        if (!s)
                return TP_NOMEM;
        for (uint32_t i = 0; i < e->ncslots; i++) {
                uint64_t v = e->cslots[i];
                uint32_t j;

                if (!v)
                        continue;
                j = (uint32_t) (v >> 32) & (n - 1);
                while (s[j])
                        j = (j + 1) & (n - 1);
                s[j] = v;
        }
        tp_free(e->cslots);
        e->cslots = s;
        e->ncslots = n;
        return TP_OK;
}

static tp_rc cust_arrays_grow(tp_engine *e) {
        uint32_t n = e->capcust ? e->capcust * 2 : 1024;
        void *p;

        if (n < e->capcust)
                return TP_NOMEM;
        if (!(p = tp_realloc(e->cust, (size_t) n * sizeof(*e->cust))))
                return TP_NOMEM;
        e->cust = p;
        e->capcust = n;
        return TP_OK;
}

tp_rc eng_cust_intern(tp_engine *e, const char *id, uint32_t *ret, tp_err *err) {
        size_t len = 0;
        uint32_t h = hash_str(id, &len);
        uint32_t i, c;

        if (e->ncslots) {
                for (i = h & (e->ncslots - 1); e->cslots[i]; i = (i + 1) & (e->ncslots - 1)) {
                        uint64_t v = e->cslots[i];
                        uint32_t k = (uint32_t) v - 1;

                        if ((uint32_t) (v >> 32) == h && strcmp(e->names + e->cust[k].name, id) == 0) {
                                *ret = k;
                                return TP_OK;
                        }
                }
        }
        /* A new customer: make room everywhere before changing anything. */
        if (e->ncust >= UINT32_MAX - 2)
                return tp_err_setf(
                        err, TP_UNPROCESSABLE, "customer", "the engine holds the most customers it can");
        if (e->names_len + len + 1 > UINT32_MAX)
                return tp_err_setf(
                        err, TP_UNPROCESSABLE, "customer", "customer ids exceed 4 GiB in the engine");
        if (e->names_len + len + 1 > e->names_cap) {
                size_t n = e->names_cap ? e->names_cap : 65536;
                char *p;

                while (n < e->names_len + len + 1)
                        n *= 2;
                if (n > (size_t) UINT32_MAX + 1)
                        n = (size_t) UINT32_MAX + 1;
                if (!(p = tp_realloc(e->names, n)))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                e->names = p;
                e->names_cap = n;
        }
        if (e->ncust >= e->capcust && cust_arrays_grow(e) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        /* Load factor at most 0.7. */
        if ((uint64_t) (e->ncust + 1) * 10 > (uint64_t) e->ncslots * 7 && cslots_grow(e) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");

        c = e->ncust;
        for (i = h & (e->ncslots - 1); e->cslots[i]; i = (i + 1) & (e->ncslots - 1))
                ;
        e->cslots[i] = ((uint64_t) h << 32) | (uint64_t) (c + 1);
        memcpy(e->names + e->names_len, id, len + 1);
        e->cust[c] = (eng_cust){
                .ts = 0, .tp = ENG_TP_NONE, .np = 0, .dhead = ENG_NONE, .name = (uint32_t) e->names_len
        };
        e->names_len += len + 1;
        e->ncust++;
        *ret = c;
        return TP_OK;
}

void eng_cust_prefetch(const tp_engine *e, const char *id, int stage) {
        size_t len = 0;
        uint32_t h = hash_str(id, &len), i;

        if (!e->ncslots)
                return;
        i = h & (e->ncslots - 1);
        if (stage == 0) {
                __builtin_prefetch(&e->cslots[i]);
                return;
        }
        for (; e->cslots[i]; i = (i + 1) & (e->ncslots - 1)) {
                uint64_t v = e->cslots[i];

                if ((uint32_t) (v >> 32) == h) {
                        const eng_cust *c = &e->cust[(uint32_t) v - 1];

                        if (stage == 1)
                                __builtin_prefetch(c, 1);
                        else
                                __builtin_prefetch(e->names + c->name);
                        return;
                }
        }
}

/* ---- touchpoints --------------------------------------------------------- */

uint32_t eng_tp_find(const tp_engine *e, int64_t id) {
        if (!e->ntpslots)
                return UINT32_MAX;
        for (uint32_t i = hash_i64(id) & (e->ntpslots - 1); e->tpslots[i]; i = (i + 1) & (e->ntpslots - 1))
                if (e->tp_ids[e->tpslots[i] - 1] == id)
                        return e->tpslots[i] - 1;
        return UINT32_MAX;
}

tp_rc eng_tp_intern(tp_engine *e, int64_t id, uint16_t *ret, tp_err *err) {
        uint32_t k = eng_tp_find(e, id);
        uint32_t i;

        if (k != UINT32_MAX) {
                *ret = (uint16_t) k;
                return TP_OK;
        }
        if (e->ntp >= ENG_TP_MAX)
                return tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        "touchpoint",
                        "the engine holds at most %u touchpoints",
                        ENG_TP_MAX);
        if (e->ntp >= e->captp) {
                uint32_t n = e->captp ? e->captp * 2 : 64;
                void *p;

                if (!(p = tp_realloc(e->tp_ids, (size_t) n * sizeof(*e->tp_ids))))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                e->tp_ids = p;
                if (!(p = tp_realloc(e->roll, (size_t) n * sizeof(*e->roll))))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                e->roll = p;
                e->captp = n;
        }
        if (eng_paths_grow(e, e->ntp + 1) != TP_OK)
                return tp_err_set(err, TP_NOMEM, "out of memory");
        if ((e->ntp + 1) * 2 > e->ntpslots) {
                uint32_t n = eng_pow2((e->ntp + 1) * 4, 128);
                uint32_t *s = tp_calloc(n, sizeof(*s));

                if (!s)
                        return tp_err_set(err, TP_NOMEM, "out of memory");
                for (uint32_t t = 0; t < e->ntp; t++) {
                        for (i = hash_i64(e->tp_ids[t]) & (n - 1); s[i]; i = (i + 1) & (n - 1))
                                ;
                        s[i] = t + 1;
                }
                tp_free(e->tpslots);
                e->tpslots = s;
                e->ntpslots = n;
        }
        k = e->ntp;
        for (i = hash_i64(id) & (e->ntpslots - 1); e->tpslots[i]; i = (i + 1) & (e->ntpslots - 1))
                ;
        e->tpslots[i] = k + 1;
        e->tp_ids[k] = id;
        e->roll[k] = (eng_roll){ 0 };
        e->ntp++;
        *ret = (uint16_t) k;
        return TP_OK;
}

/* ---- small string dictionaries ------------------------------------------- */

int eng_sdict_find(const eng_sdict *d, const char *s) {
        size_t len = 0;
        uint32_t h = hash_str(s, &len);

        for (uint32_t i = h & 511; d->slots[i]; i = (i + 1) & 511)
                if (strcmp(d->names[d->slots[i] - 1], s) == 0)
                        return d->slots[i] - 1;
        return -1;
}

tp_rc eng_sdict_intern(eng_sdict *d, const char *s, const char *what, uint8_t *ret, tp_err *err) {
        size_t len = 0;
        uint32_t h = hash_str(s, &len);
        uint32_t i;

        for (i = h & 511; d->slots[i]; i = (i + 1) & 511) {
                if (strcmp(d->names[d->slots[i] - 1], s) == 0) {
                        *ret = (uint8_t) (d->slots[i] - 1);
                        return TP_OK;
                }
        }
        if (len >= sizeof(d->names[0]))
                return tp_err_setf(
                        err,
                        TP_UNPROCESSABLE,
                        what,
                        "'%s' is longer than %zu bytes",
                        what,
                        sizeof(d->names[0]) - 1);
        if (d->n >= d->max)
                return tp_err_setf(
                        err, TP_UNPROCESSABLE, what, "the engine holds at most %u values of '%s'", d->max, what);
        if (!d->names) {
                if (!(d->names = tp_calloc(d->max, sizeof(d->names[0]))))
                        return tp_err_set(err, TP_NOMEM, "out of memory");
        }
        memcpy(d->names[d->n], s, len + 1);
        d->slots[i] = (uint16_t) (d->n + 1);
        *ret = (uint8_t) d->n;
        d->n++;
        return TP_OK;
}

void eng_sdict_done(eng_sdict *d) {
        tp_free(d->names);
        memset(d, 0, sizeof(*d));
}

tp_rc eng_dict_init(tp_engine *e) {
        uint8_t code = 0;

        e->chans.max = 256;
        e->types.max = 128;
        e->tkeys.max = 64;
        /* Channel code 0 is "no channel": its name "" is never looked up, since a
         * channel given as "" or NULL maps to 0 without a lookup. */
        if (!(e->chans.names = tp_calloc(e->chans.max, sizeof(e->chans.names[0]))))
                return TP_NOMEM;
        e->chans.n = 1;
        if (eng_sdict_intern(&e->types, "purchase", "type", &code, NULL) != TP_OK)
                return TP_NOMEM;
        return TP_OK;
}

static uint32_t mask_hash(uint64_t m) {
        return (uint32_t) ((m * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Index of mask in tsets, added if new; UINT32_MAX when full or out of memory. */
static uint32_t tset_of(tp_engine *e, uint64_t mask) {
        uint32_t i, cap2;

        if (e->ntsets == e->captsets) {
                uint32_t n = e->captsets ? e->captsets * 2 : 64;
                uint64_t *v;
                uint32_t *sl;

                if (n > 65536)
                        return UINT32_MAX;
                v = tp_realloc(e->tsets, (size_t) n * sizeof(*v));
                if (!v)
                        return UINT32_MAX;
                e->tsets = v;
                sl = tp_calloc((size_t) n * 2, sizeof(*sl));
                if (!sl)
                        return UINT32_MAX;
                for (uint32_t k = 0; k < e->ntsets; k++) {
                        for (i = mask_hash(e->tsets[k]) & (n * 2 - 1); sl[i]; i = (i + 1) & (n * 2 - 1))
                                ;
                        sl[i] = k + 1;
                }
                tp_free(e->tsslots);
                e->tsslots = sl;
                e->captsets = n;
        }
        cap2 = e->captsets * 2;
        for (i = mask_hash(mask) & (cap2 - 1); e->tsslots[i]; i = (i + 1) & (cap2 - 1))
                if (e->tsets[e->tsslots[i] - 1] == mask)
                        return e->tsslots[i] - 1;
        e->tsets[e->ntsets] = mask;
        e->tsslots[i] = ++e->ntsets;
        return e->ntsets - 1;
}

tp_rc eng_tset_intern(tp_engine *e, const char *themes, uint16_t *ret) {
        uint64_t mask = 0;
        uint32_t k;

        *ret = 0;
        if (!themes || !*themes)
                return TP_OK;
        for (const char *p = themes; *p;) {
                size_t n = strcspn(p, ",");
                char key[32];
                uint8_t code;

                if (n > 0 && n < sizeof(key)) {
                        memcpy(key, p, n);
                        key[n] = '\0';
                        if (eng_sdict_intern(&e->tkeys, key, "theme", &code, NULL) == TP_OK)
                                mask |= 1ull << code;
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        if (!mask)
                return TP_OK;
        if (!e->ntsets && tset_of(e, 0) != 0) /* set 0: none */
                return TP_NOMEM;
        k = tset_of(e, mask);
        if (k == UINT32_MAX)
                return TP_NOMEM;
        *ret = (uint16_t) k;
        return TP_OK;
}

void eng_dict_done(tp_engine *e) {
        tp_free(e->cslots);
        tp_free(e->names);
        tp_free(e->cust);
        tp_free(e->tp_ids);
        tp_free(e->tpslots);
        eng_sdict_done(&e->chans);
        eng_sdict_done(&e->types);
        eng_sdict_done(&e->tkeys);
        eng_cdim_done(e);
        tp_free(e->tsets);
        tp_free(e->tsslots);
}
