/* SPDX-License-Identifier: MIT */
/*
 * text_int.h -- private to src/text/: the normalised token stream of one
 * comment, the word lexicons (negators, intensifiers, language cues), the
 * hashed features and the linear model.
 *
 * A comment goes through: UTF-8 check -> NFC + case fold (utf8proc) ->
 * tokens, each with its folded form ("hàng") and its form without diacritics
 * ("hang", đ -> d) -> negation and intensifier flags from the lexicon ->
 * hashed features -> the language's model; the theme matcher reads the same
 * tokens.  Nothing here allocates per comment: a text_doc lives on the stack.
 */
#ifndef TP_TEXT_INT_H
#define TP_TEXT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Only the first TEXT_MAX_BYTES of a comment feed the features and themes. */
#define TEXT_MAX_BYTES 4096
#define TEXT_MAX_CPS (TEXT_MAX_BYTES * 3)
#define TEXT_MAX_TOKENS 768
#define TEXT_MAX_FEATS 4096
#define TEXT_TOKEN_MAX 64 /* bytes of one token kept (longer ones are cut) */

enum text_tok_kind { TOK_WORD = 1, TOK_SYM = 2, TOK_PUNCT = 3 };

enum text_tok_flag {
        TOKF_BREAK = 1u << 0,   /* punctuation (or a symbol) before this token */
        TOKF_MARKS = 1u << 1,   /* the folded form has diacritics */
        TOKF_NEG = 1u << 2,     /* inside a negation scope */
        TOKF_INT = 1u << 3,     /* intensified ("rất tốt", "chậm quá", "very good") */
        TOKF_NEGATOR = 1u << 4, /* is a negator ("không", "not") */
};

typedef struct text_tok {
        uint64_t h_acc, h_str; /* hashes of the folded form and of the form without marks */
        uint32_t acc, str;     /* offsets into text_doc.acc / .str (NUL-terminated) */
        uint16_t acc_len, str_len;
        uint8_t kind, flags;
} text_tok;

typedef struct text_doc {
        char acc[TEXT_MAX_BYTES * 2];
        char str[TEXT_MAX_BYTES * 2];
        text_tok tok[TEXT_MAX_TOKENS];
        int ntok;
        int nword;   /* word tokens */
        int nmarks;  /* word tokens with diacritics */
        int vi_cues; /* tokens only Vietnamese writes (marks, or a Vietnamese cue word) */
        int en_cues; /* English cue words */
} text_doc;

/* ---- lexicon: a small hash set of words with class bits ---------------------- */

enum text_lex_class {
        LEX_NEGATOR = 1u << 0,   /* không, chẳng, chưa, not, never, don't */
        LEX_INT_PRE = 1u << 1,   /* rất, cực, very, so: intensify the next word */
        LEX_INT_POST = 1u << 2,  /* quá, lắm: intensify the previous word */
        LEX_SCOPE_END = 1u << 3, /* nhưng, mà, but: end a negation scope */
        LEX_NOT_NEG = 1u << 4,   /* những, chỉ, only: "không những" is no negation */
        LEX_VI = 1u << 5,        /* a cue for Vietnamese */
        LEX_EN = 1u << 6,        /* a cue for English */
};

typedef struct text_lex_entry {
        uint64_t h_acc, h_str;
        uint8_t marks, cls;
} text_lex_entry;

#define TEXT_LEX_SLOTS 1024 /* power of two, > 2x the words */

typedef struct text_lex {
        text_lex_entry slot[TEXT_LEX_SLOTS]; /* h_str == 0: empty */
} text_lex;

void text_lex_init(text_lex *lx);
/* Class bits of a token: a token with diacritics must equal the word exactly,
 * one without (or a word without) matches on the form without marks. */
unsigned text_lex_class(const text_lex *lx, const text_tok *t);

/* ---- normalisation ---------------------------------------------------------- */

uint64_t text_hash(const char *s, size_t n);
static inline uint64_t text_mix(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

/* NFC + case fold (+ LUMP, IGNORE) of s into cps; returns the count, or -1
 * with err set (invalid UTF-8).  Input past TEXT_MAX_BYTES is cut at a
 * character boundary.  s must already be valid UTF-8. */
long text_fold(const char *s, size_t len, int32_t *cps, size_t cap, tp_err *err);
/* The base letter of a folded code point without its marks (đ -> d), 0 when
 * the code point is itself a mark. */
int32_t text_strip_cp(int32_t cp);
/* Writes cp as UTF-8 into out (4 bytes room); returns the byte count. */
size_t text_utf8_put(int32_t cp, char *out);

/* Tokenise s into d (which the caller provides, ~41 KiB; ~48 KiB more of stack).  strip_all: build
 * the comment as if it had been typed without diacritics (training copies).
 * lx may be NULL (no negation/intensifier/language flags). */
tp_rc text_doc_build(text_doc *d, const char *s, size_t len, const text_lex *lx, int strip_all, tp_err *err);

/* ---- features and the model ----------------------------------------------- */

enum text_feat_flag {
        FEAT_WORD = 1u << 0,    /* unigrams, folded and without marks */
        FEAT_BIGRAM = 1u << 1,  /* bigrams, folded and without marks */
        FEAT_CHAR = 1u << 2,    /* character n-grams of each word without marks */
        FEAT_NEG = 1u << 3,     /* negated words are distinct features */
        FEAT_INT = 1u << 4,     /* intensified words weigh 1.5 */
        FEAT_TRIGRAM = 1u << 5, /* trigrams without marks */
        FEAT_FLIP = 1u << 6,    /* a negated word also counts as its plain self, sign flipped */
        FEAT_ALL = (1u << 7) - 1,
};

typedef struct text_feat {
        uint32_t idx; /* bucket */
        float v;      /* signed value, the vector has unit L2 norm */
} text_feat;

typedef struct text_feat_cfg {
        unsigned flags, bits, cmin, cmax;
} text_feat_cfg;

/* Features of d, at most max; returns the count. */
int text_features(const text_doc *d, const text_feat_cfg *cfg, text_feat *out, int max);

#define TEXT_NCLASS 3

typedef struct text_model {
        char lang[3];
        text_feat_cfg cfg;
        unsigned wbytes;          /* 1 (int8) or 2 (int16) */
        float scale[TEXT_NCLASS]; /* weight = q * scale[class] */
        float bias[TEXT_NCLASS];
        const unsigned char *w; /* [bucket][class], little-endian */
        unsigned char *owned;   /* file buffer this model points into, or NULL */
} text_model;

/* Parse a model file image; the model points into buf (kept by the caller, or
 * handed over with owned).  Every defect is TP_CORRUPT with a message. */
tp_rc text_model_parse(const unsigned char *buf, size_t len, const char *what, text_model *m, tp_err *err);
tp_rc text_model_load(const char *path, text_model *m, tp_err *err);
void text_model_done(text_model *m);
/* Class probabilities of one feature vector. */
void text_model_predict(const text_model *m, const text_feat *f, int nf, float prob[TEXT_NCLASS]);
/* Serialise float weights [bucket][class] (quantised to wbytes) to path. */
tp_rc text_model_save(
        const char *path,
        const char *lang,
        const text_feat_cfg *cfg,
        unsigned wbytes,
        const float *w,
        const float *bias,
        tp_err *err);

/* ---- themes ------------------------------------------------------------------ */

typedef struct text_themes text_themes;
tp_rc text_themes_parse(const char *json, size_t len, const char *what, text_themes **ret, tp_err *err);
void text_themes_free(text_themes *th);
/* Themes found in d; vi: the comment is Vietnamese (plain-typed words may
 * then match terms with diacritics). */
uint64_t text_themes_match(const text_themes *th, const text_doc *d, int vi);
int text_themes_count(const text_themes *th);
const char *text_themes_key(const text_themes *th, int i);
const char *text_themes_name(const text_themes *th, int i, const char *lang);

/* Embedded files (src/text/text_blobs.S). */
extern const unsigned char tp_text_blob_vi[], tp_text_blob_en[], tp_text_blob_themes[];
extern const unsigned long tp_text_blob_vi_len, tp_text_blob_en_len, tp_text_blob_themes_len;

#endif
