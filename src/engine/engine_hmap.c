/* SPDX-License-Identifier: MIT */
/*
 * engine_hmap.c -- the engine's u64 -> u64 hash map (open addressing, linear
 * probing, keys stored + 1 so 0 marks an empty slot), for group keys that are
 * too sparse for a dense array: score groups, Sankey links, Markov contexts.
 */
#include <string.h>

#include "common/alloc.h"
#include "engine/engine_int.h"

static uint32_t hash_u64(uint64_t k) {
        k ^= k >> 31;
        k *= 0x9e3779b97f4a7c15ull;
        return (uint32_t) (k >> 32);
}

void eng_hmap_done(eng_hmap *h) {
        tp_free(h->keys);
        tp_free(h->vals);
        memset(h, 0, sizeof(*h));
}

uint64_t *eng_hmap_slot(eng_hmap *h, uint64_t key) {
        uint32_t i;

        if ((uint64_t) (h->n + 1) * 2 > h->cap) {
                uint32_t n = h->cap ? h->cap * 2 : 256;
                uint64_t *k = tp_calloc(n, sizeof(*k)), *v = tp_malloc(n * sizeof(*v));

                if (!k || !v || n < h->cap) {
                        tp_free(k);
                        tp_free(v);
                        return NULL;
                }
                for (uint32_t j = 0; j < h->cap; j++) {
                        if (!h->keys[j])
                                continue;
                        for (i = hash_u64(h->keys[j] - 1) & (n - 1); k[i]; i = (i + 1) & (n - 1))
                                ;
                        k[i] = h->keys[j];
                        v[i] = h->vals[j];
                }
                tp_free(h->keys);
                tp_free(h->vals);
                h->keys = k;
                h->vals = v;
                h->cap = n;
        }
        for (i = hash_u64(key) & (h->cap - 1); h->keys[i]; i = (i + 1) & (h->cap - 1))
                if (h->keys[i] == key + 1)
                        return &h->vals[i];
        h->keys[i] = key + 1;
        h->vals[i] = 0;
        h->n++;
        return &h->vals[i];
}

const uint64_t *eng_hmap_get(const eng_hmap *h, uint64_t key) {
        if (!h->cap)
                return NULL;
        for (uint32_t i = hash_u64(key) & (h->cap - 1); h->keys[i]; i = (i + 1) & (h->cap - 1))
                if (h->keys[i] == key + 1)
                        return &h->vals[i];
        return NULL;
}
