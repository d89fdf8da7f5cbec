/* SPDX-License-Identifier: MIT */
/*
 * batch.h -- one ingest request: the body split into items (a JSON object, a JSON
 * array, or NDJSON lines), each item validated on its own, the good ones ready for
 * the writer and the bad ones listed by index, field and reason.
 */
#ifndef TP_BATCH_H
#define TP_BATCH_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "service/validate.h"
#include "store/model.h"

typedef enum tp_kind { TP_KIND_EVENTS, TP_KIND_RESPONSES } tp_kind;

typedef struct tp_batch {
        tp_kind kind;
        size_t n_items;       /* items seen in the body */
        size_t n_ok;          /* items that passed validation */
        tp_event *ev;         /* n_ok events (kind EVENTS) */
        tp_response *rs;      /* n_ok responses (kind RESPONSES) */
        unsigned char *dup;   /* per good item: set by the writer, 1 = already stored */
        json_t *rejected;     /* array of {index, field, code, message} */
        /* Ownership of what the items point into. */
        json_t **docs;        /* parsed documents (one, or one per NDJSON line) */
        size_t ndocs;
        char **props;         /* per good event: owned properties text or NULL */
        char (*ids)[28];      /* per good item: generated id storage */
} tp_batch;

/* Parse and validate `len` bytes of `body`.  ndjson selects line framing.
 * Whole-body failures return an error and leave *b empty (TP_BADJSON with line
 * and column, TP_INVALID for nesting, TP_TOOBIG for too many items); otherwise
 * TP_OK, even if every item was rejected.  tp_batch_done() releases everything. */
tp_rc tp_batch_parse(tp_batch *b, tp_kind kind, const char *body, size_t len, int ndjson, const tp_vctx *v,
                     tp_err *err);
void tp_batch_done(tp_batch *b);

/* {"accepted": N, "duplicates": N, "rejected": [...]} after the writer ran (new
 * reference).  When no item was accepted, also an "error" member describing the
 * first rejection, in the API's common error shape. */
json_t *tp_batch_result(const tp_batch *b, size_t *ret_accepted, size_t *ret_dups);

#endif
