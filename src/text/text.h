/* SPDX-License-Identifier: MIT */
/*
 * text.h -- sentiment and CX themes of a free-text comment, Vietnamese and
 * English (issue #4; how it works and how it was trained: docs/TEXT.md).
 *
 * A tp_text holds one linear model per language and the theme taxonomy.  It
 * is built once by tp_text_open(), is immutable afterwards and may be shared
 * by any number of threads without locking; tp_text_free() must not race
 * with a classify on the same object.
 *
 * tp_text_classify() is reentrant and keeps no global state: it uses about
 * 130 KiB of stack for scratch and allocates nothing.  Only the first 4 KiB
 * of a comment feed the features and themes (the whole comment is still
 * checked to be valid UTF-8).
 *
 * Text is normalised with utf8proc (NFC, case folded), so NFC and NFD input
 * are the same, and is matched both with and without diacritics.
 */
#ifndef TP_TEXT_H
#define TP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef enum tp_sentiment { TP_SENT_NEGATIVE = 0, TP_SENT_NEUTRAL = 1, TP_SENT_POSITIVE = 2 } tp_sentiment;

typedef struct tp_text tp_text; /* models + taxonomy; immutable after open, shared by threads */

/* Open the models and the taxonomy; NULL paths = the built-in ones (embedded
 * in the binary).  A missing, truncated, corrupt or wrong-version model is
 * TP_CORRUPT (TP_IO when unreadable), a bad taxonomy TP_INVALID or
 * TP_BADJSON, each with a message naming the file.  *ret is set only on
 * success; the caller owns it and frees it with tp_text_free(). */
tp_rc tp_text_open(const char *model_vi, const char *model_en, const char *themes, tp_text **ret, tp_err *err);
void tp_text_free(tp_text *t); /* NULL is fine */

typedef struct tp_text_result {
        tp_sentiment label;
        float confidence; /* probability of label, 0..1 */
        uint64_t themes;  /* bit i set = theme i of the taxonomy */
        char lang[3];     /* "vi" or "en", the language used */
} tp_text_result;

/* Sentiment and themes of s (len bytes, need not be NUL-terminated).
 * lang: "vi", "en", or NULL / "auto" to detect it (diacritics and cue words;
 * a tie goes to Vietnamese).  Empty or whitespace-only text: neutral with
 * confidence 1 and no themes.  Invalid UTF-8 (or a NUL byte): TP_INVALID with
 * a message; an unknown lang: TP_INVALID.  *out is written only on success. */
tp_rc tp_text_classify(
        const tp_text *t, const char *s, size_t len, const char *lang, tp_text_result *out, tp_err *err);

int tp_text_theme_count(const tp_text *t);              /* <= 64 */
const char *tp_text_theme_key(const tp_text *t, int i); /* "delivery"; NULL out of range */
const char *tp_text_theme_name(const tp_text *t, int i, const char *lang); /* vi or en display name */
int tp_text_theme_find(const tp_text *t, const char *key);                 /* index or -1 */
const char *tp_text_sentiment_key(tp_sentiment s); /* "negative" | "neutral" | "positive" */

/* Parse "negative" / "neutral" / "positive" (also "0"/"1"/"2" as UIT-VSFC
 * writes them); -1 when it is none of them. */
int tp_text_sentiment_parse(const char *s);

/* The normalised form of s (NFC, case folded; strip_marks: also without
 * diacritics, đ -> d) into out, NUL-terminated.  TP_INVALID for invalid
 * UTF-8, TP_TOOBIG when s is over 4 KiB or out is too small. */
tp_rc tp_text_normalize(const char *s, size_t len, int strip_marks, char *out, size_t outsz, tp_err *err);

/* Raw JSON of the built-in taxonomy (not NUL-terminated), for `text themes`. */
const char *tp_text_builtin_themes(size_t *ret_len);

#endif
