/* SPDX-License-Identifier: MIT */
/*
 * text_train.h -- labelled comments and training of a text model, for
 * `touchpoint text train|eval` and the tests.  Single-threaded; nothing here
 * is used while serving.
 */
#ifndef TP_TEXT_TRAIN_H
#define TP_TEXT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Labelled comments; every string is owned by the set (tp_text_data_done). */
typedef struct tp_text_data {
        char **text;
        signed char *label; /* tp_sentiment */
        char **aux;         /* the --aux column per row ("" when none), or NULL */
        size_t n, cap;
} tp_text_data;

void tp_text_data_done(tp_text_data *d); /* empties d; a zeroed d is fine */

/* UIT-VSFC layout: DIR/sents.txt and DIR/sentiments.txt (0/1/2), line by line. */
tp_rc tp_text_data_load_uit(const char *dir, tp_text_data *d, tp_err *err);

typedef struct tp_text_csv_opts {
        const char *text_col;  /* header name; NULL: "text" */
        const char *label_col; /* header name; NULL: "label" */
        const char *aux_col;   /* optional column kept in d->aux */
        const char *split_col; /* the split hashes this column (e.g. tweet_id); NULL: the text */
        int split;             /* 0 every row, 1 the train part (80%), 2 the test part (20%) */
} tp_text_csv_opts;

/* RFC 4180 CSV with a header row (quoted fields, "" escapes, CRLF or LF,
 * newlines inside quotes).  Labels negative/neutral/positive (or 0/1/2).  The
 * split is deterministic: a row is in the test part when the hash of its
 * split column is 0 modulo 5. */
tp_rc tp_text_data_load_csv(const char *path, const tp_text_csv_opts *o, tp_text_data *d, tp_err *err);

typedef struct tp_text_train_opts {
        const char *lang;    /* "vi" or "en" */
        unsigned bits;       /* hash space 2^bits buckets */
        unsigned flags;      /* feature set (text_int.h FEAT_*) */
        unsigned cmin, cmax; /* character n-grams */
        unsigned wbytes;     /* 1: int8, 2: int16 weights */
        unsigned epochs;
        float eta, l2;
        uint64_t seed;
        int augment; /* also train on each comment stripped of diacritics */
} tp_text_train_opts;

/* The defaults the shipped models were trained with, for lang. */
void tp_text_train_defaults(tp_text_train_opts *o, const char *lang);

/* Train on d (deterministic for given options) and write the model to path. */
tp_rc tp_text_train(const tp_text_data *d, const tp_text_train_opts *o, const char *path, tp_err *err);

#endif
