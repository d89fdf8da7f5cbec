/* SPDX-License-Identifier: MIT */
/*
 * model.h -- the records Touchpoint stores: events, responses, touchpoints,
 * journeys and API keys, as plain structs shared by the store, the services and
 * the engine.
 *
 * String members are borrowed: a record points into memory its producer owns
 * (a parsed request, a CSV row, a store row during a callback).  A consumer that
 * keeps a record past that lifetime copies what it needs.
 */
#ifndef TP_MODEL_H
#define TP_MODEL_H

#include <stdint.h>

/* Feedback metrics.  The three CX factors are metrics of their own, so every
 * response is one (metric, score) pair. */
typedef enum tp_metric {
        TP_METRIC_NPS,     /* 0..10 */
        TP_METRIC_CSAT,    /* 1..5 */
        TP_METRIC_CES,     /* 1..7, 7 = very easy */
        TP_METRIC_GOAL,    /* 0 = no, 1 = partly, 2 = yes */
        TP_METRIC_EASE,    /* 1..7 */
        TP_METRIC_EMOTION, /* 1..5 */
        _TP_METRIC_MAX
} tp_metric;

typedef struct tp_event {
        const char *id;         /* idempotency key, never NULL */
        const char *customer;   /* external customer id, NULL if anonymous */
        int64_t touchpoint;     /* catalogue id (touchpoints.id) */
        const char *channel;    /* a channel key, see tp_channel_valid() */
        const char *type;       /* view, click, visit, call, purchase, ... */
        int64_t ts;             /* Unix seconds, UTC */
        int has_value;          /* value and currency are meaningful */
        int64_t value;          /* money in minor units */
        const char *currency;   /* ISO 4217, e.g. "VND" */
        const char *properties; /* compact JSON object text, or NULL */
} tp_event;

typedef struct tp_response {
        const char *id;
        const char *customer;   /* NULL: anonymous feedback */
        int64_t touchpoint;
        const char *channel;    /* may be NULL */
        tp_metric metric;
        int score;
        const char *comment;    /* NULL when none */
        const char *language;   /* "vi", "en", ... or NULL */
        int64_t ts;
        const char *event;      /* id of the event this answers, or NULL */
        /* What the text engine read in the comment (src/text): sentiment is 0
         * when nothing was read (no comment), else 1 + tp_sentiment (1 negative,
         * 2 neutral, 3 positive), so a zeroed record means "not read". */
        int sentiment;
        float sentiment_conf;   /* probability of that label, 0..1 */
        const char *themes;     /* comma-separated theme keys, or NULL */
} tp_response;

/* A touchpoint of the catalogue, as stored.  expected_* are NaN when unset. */
typedef struct tp_touchpoint {
        int64_t id;
        const char *key;
        const char *journey;    /* key of the journey that defines it */
        const char *stage;      /* stage key */
        int stage_pos;          /* 0-based order of the stage in its journey */
        int pos;                /* 0-based order within the stage */
        const char *name_vi;
        const char *name_en;
        const char *channel;
        const char *department;
        double expected_csat;
        double expected_nps;
        double expected_ces;
        int active;             /* 0 when a later journey version dropped it */
} tp_touchpoint;

/* An API key as stored: never the key itself, only a keyed hash of its secret. */
typedef enum tp_scope { TP_SCOPE_INGEST = 1, TP_SCOPE_ADMIN = 2 } tp_scope;

typedef struct tp_key_rec {
        const char *prefix;     /* public lookup part, e.g. "tpk_3f9a1c2b" */
        unsigned char hash[32]; /* keyed BLAKE2b of the secret part */
        tp_scope scope;
        const char *name;
        int64_t created;
        int64_t revoked;        /* 0 while the key is valid */
        const char *origins;    /* web origins allowed to use it from a browser
                                 * (CORS), space-separated; NULL or "" for none */
} tp_key_rec;

/* What the business tells about a customer (a CRM's segment and attributes). */
typedef struct tp_customer {
        const char *id;
        const char *segment;    /* e.g. "vip", or NULL */
        const char *attributes; /* compact JSON object text, or NULL */
        int64_t updated;        /* Unix seconds */
} tp_customer;

/* One row of a customer's timeline: an event or a response. */
typedef struct tp_timeline_row {
        int is_response;
        int64_t seq;
        union {
                tp_event ev;
                tp_response resp;
        } u;
} tp_timeline_row;

#endif
