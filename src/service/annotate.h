/* SPDX-License-Identifier: MIT */
/*
 * annotate.h -- what ingest adds to a response with a comment: its sentiment,
 * confidence and themes (src/text), and its language when the sender did not
 * say.  Runs where items are validated (the HTTP threads, the importer's
 * parser thread), so classification is spread over the cores and the writer
 * only stores.
 *
 * A response's themes are stored as the comma-separated keys of the taxonomy;
 * the text of each theme combination is made once and kept by the annotator,
 * so a response can point at it for as long as the annotator lives (the
 * server's or the import's lifetime).  Thread-safe.
 */
#ifndef TP_ANNOTATE_H
#define TP_ANNOTATE_H

#include "common/err.h"
#include "store/model.h"
#include "text/text.h"

typedef struct tp_annotator tp_annotator;

/* text is borrowed and must outlive the annotator. */
tp_rc tp_annotator_new(const tp_text *text, tp_annotator **ret, tp_err *err);
void tp_annotator_free(tp_annotator *a);

/* Fill r->sentiment, r->sentiment_conf and r->themes from r->comment (nothing
 * for an empty comment), and r->language ("vi"/"en") when it was NULL.  A
 * comment the text engine refuses (it never should: validation checked its
 * UTF-8) is left unread rather than failing the response. */
void tp_annotate_response(tp_annotator *a, tp_response *r);

/* The text engine behind it. */
const tp_text *tp_annotator_text(const tp_annotator *a);

#endif
