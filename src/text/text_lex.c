/* SPDX-License-Identifier: MIT */
/*
 * text_lex.c -- the small word lists the text engine reads besides its model:
 * negators, intensifiers, words that end a negation scope, and cue words for
 * telling Vietnamese from English when a comment has no diacritics.
 * Written folded (lower case, NFC); matched with and without diacritics.
 */
#include <string.h>

#include "text/text_int.h"

typedef struct lex_word {
        const char *w;
        unsigned cls;
} lex_word;

static const lex_word words[] = {
        /* Vietnamese negators, with the usual typed-fast spellings */
        { "không", LEX_NEGATOR | LEX_VI },
        { "chẳng", LEX_NEGATOR | LEX_VI },
        { "chả", LEX_NEGATOR },
        { "chưa", LEX_NEGATOR | LEX_VI },
        { "đừng", LEX_NEGATOR | LEX_VI },
        { "chớ", LEX_NEGATOR },
        { "ko", LEX_NEGATOR | LEX_VI },
        { "k", LEX_NEGATOR },
        { "kg", LEX_NEGATOR | LEX_VI },
        { "hok", LEX_NEGATOR | LEX_VI },
        { "hông", LEX_NEGATOR | LEX_VI },
        { "khg", LEX_NEGATOR | LEX_VI },
        { "kô", LEX_NEGATOR | LEX_VI },
        { "hem", LEX_NEGATOR },
        { "khum", LEX_NEGATOR | LEX_VI },
        /* English negators ("n't" endings are caught by suffix) */
        { "not", LEX_NEGATOR | LEX_EN },
        { "no", LEX_NEGATOR | LEX_EN },
        { "never", LEX_NEGATOR | LEX_EN },
        { "nothing", LEX_NEGATOR | LEX_EN },
        { "nobody", LEX_NEGATOR | LEX_EN },
        { "none", LEX_NEGATOR },
        { "neither", LEX_NEGATOR },
        { "nor", LEX_NEGATOR },
        { "cannot", LEX_NEGATOR | LEX_EN },
        { "without", LEX_NEGATOR | LEX_EN },
        { "dont", LEX_NEGATOR | LEX_EN },
        { "doesnt", LEX_NEGATOR | LEX_EN },
        { "didnt", LEX_NEGATOR | LEX_EN },
        { "isnt", LEX_NEGATOR | LEX_EN },
        { "wasnt", LEX_NEGATOR | LEX_EN },
        { "arent", LEX_NEGATOR },
        { "werent", LEX_NEGATOR },
        { "cant", LEX_NEGATOR | LEX_EN },
        { "couldnt", LEX_NEGATOR },
        { "wont", LEX_NEGATOR },
        { "wouldnt", LEX_NEGATOR },
        { "shouldnt", LEX_NEGATOR },
        { "havent", LEX_NEGATOR },
        { "hasnt", LEX_NEGATOR },
        { "hadnt", LEX_NEGATOR },
        { "aint", LEX_NEGATOR },
        /* "không những / không chỉ", "not only / not just": no negation */
        { "những", LEX_NOT_NEG | LEX_VI },
        { "chỉ", LEX_NOT_NEG | LEX_VI },
        { "only", LEX_NOT_NEG | LEX_EN },
        { "just", LEX_NOT_NEG | LEX_EN },
        /* scope ends */
        { "nhưng", LEX_SCOPE_END | LEX_VI },
        { "mà", LEX_SCOPE_END },
        { "tuy", LEX_SCOPE_END },
        { "song", LEX_SCOPE_END },
        { "but", LEX_SCOPE_END | LEX_EN },
        { "however", LEX_SCOPE_END | LEX_EN },
        { "although", LEX_SCOPE_END },
        { "though", LEX_SCOPE_END },
        { "yet", LEX_SCOPE_END },
        /* intensifiers */
        { "rất", LEX_INT_PRE | LEX_VI },
        { "cực", LEX_INT_PRE },
        { "siêu", LEX_INT_PRE },
        { "khá", LEX_INT_PRE },
        { "thật", LEX_INT_PRE },
        { "quá", LEX_INT_PRE | LEX_INT_POST | LEX_VI },
        { "lắm", LEX_INT_POST | LEX_VI },
        { "ghê", LEX_INT_POST },
        { "very", LEX_INT_PRE | LEX_EN },
        { "so", LEX_INT_PRE | LEX_EN },
        { "really", LEX_INT_PRE | LEX_EN },
        { "too", LEX_INT_PRE },
        { "extremely", LEX_INT_PRE },
        { "super", LEX_INT_PRE },
        { "totally", LEX_INT_PRE },
        { "absolutely", LEX_INT_PRE },
        { "incredibly", LEX_INT_PRE },
        { "highly", LEX_INT_PRE },
        { "truly", LEX_INT_PRE },
        { "completely", LEX_INT_PRE },
        { "most", LEX_INT_PRE },
        /* Vietnamese cue words, as typed without diacritics */
        { "khong", LEX_VI | LEX_NEGATOR },
        { "duoc", LEX_VI },
        { "rat", LEX_VI | LEX_INT_PRE },
        { "qua", LEX_VI },
        { "nhung", LEX_VI },
        { "cua", LEX_VI },
        { "va", LEX_VI },
        { "la", LEX_VI },
        { "thi", LEX_VI },
        { "toi", LEX_VI },
        { "minh", LEX_VI },
        { "em", LEX_VI },
        { "anh", LEX_VI },
        { "chi", LEX_VI },
        { "ban", LEX_VI },
        { "nhan", LEX_VI },
        { "vien", LEX_VI },
        { "giao", LEX_VI },
        { "hang", LEX_VI },
        { "cham", LEX_VI },
        { "tot", LEX_VI },
        { "dep", LEX_VI },
        { "mua", LEX_VI },
        { "gia", LEX_VI },
        { "nhanh", LEX_VI },
        { "lam", LEX_VI },
        { "roi", LEX_VI },
        { "nay", LEX_VI },
        { "cho", LEX_VI },
        { "voi", LEX_VI },
        { "nhu", LEX_VI },
        { "cung", LEX_VI },
        { "se", LEX_VI },
        { "dang", LEX_VI },
        { "bi", LEX_VI },
        { "nen", LEX_VI },
        { "vi", LEX_VI },
        { "den", LEX_VI },
        { "khi", LEX_VI },
        { "thay", LEX_VI },
        { "nhieu", LEX_VI },
        { "sp", LEX_VI },
        { "oi", LEX_VI },
        { "nha", LEX_VI },
        { "nhe", LEX_VI },
        { "dich", LEX_VI },
        { "vu", LEX_VI },
        { "phuc", LEX_VI },
        { "chat", LEX_VI },
        { "luong", LEX_VI },
        { "tien", LEX_VI },
        { "ship", LEX_VI },
        { "shop", LEX_VI },
        { "nv", LEX_VI },
        { "tu", LEX_VI },
        { "cai", LEX_VI },
        { "mot", LEX_VI },
        { "ca", LEX_VI },
        { "kem", LEX_VI },
        { "hon", LEX_VI },
        { "moi", LEX_VI },
        { "ngay", LEX_VI },
        { "gio", LEX_VI },
        { "lau", LEX_VI },
        /* English cue words */
        { "the", LEX_EN },
        { "and", LEX_EN },
        { "is", LEX_EN },
        { "are", LEX_EN },
        { "was", LEX_EN },
        { "were", LEX_EN },
        { "to", LEX_EN },
        { "of", LEX_EN },
        { "for", LEX_EN },
        { "you", LEX_EN },
        { "your", LEX_EN },
        { "my", LEX_EN },
        { "i", LEX_EN },
        { "me", LEX_EN },
        { "it", LEX_EN },
        { "this", LEX_EN },
        { "that", LEX_EN },
        { "on", LEX_EN },
        { "in", LEX_EN },
        { "with", LEX_EN },
        { "be", LEX_EN },
        { "have", LEX_EN },
        { "has", LEX_EN },
        { "had", LEX_EN },
        { "will", LEX_EN },
        { "would", LEX_EN },
        { "can", LEX_EN },
        { "flight", LEX_EN },
        { "service", LEX_EN },
        { "thanks", LEX_EN },
        { "thank", LEX_EN },
        { "please", LEX_EN },
        { "get", LEX_EN },
        { "got", LEX_EN },
        { "what", LEX_EN },
        { "why", LEX_EN },
        { "how", LEX_EN },
        { "when", LEX_EN },
        { "good", LEX_EN },
        { "great", LEX_EN },
        { "bad", LEX_EN },
        { "love", LEX_EN },
        { "customer", LEX_EN },
        { "time", LEX_EN },
        { "they", LEX_EN },
        { "we", LEX_EN },
        { "our", LEX_EN },
        { "us", LEX_EN },
        { "from", LEX_EN },
        { "at", LEX_EN },
        { "do", LEX_EN },
        { "does", LEX_EN },
        { "did", LEX_EN },
        { "hour", LEX_EN },
        { "hours", LEX_EN },
        { "delayed", LEX_EN },
        { "again", LEX_EN },
        { "still", LEX_EN },
        { "slow", LEX_EN },
        { "delivery", LEX_EN },
        { "order", LEX_EN },
        { "staff", LEX_EN },
        { "price", LEX_EN },
        { "terrible", LEX_EN },
        { "awful", LEX_EN },
        { "excellent", LEX_EN },
        { "helpful", LEX_EN },
        { "rude", LEX_EN },
        { "late", LEX_EN },
        { "waiting", LEX_EN },
        { "wait", LEX_EN },
        { "an", LEX_EN },
        { "it's", LEX_EN },
        { "i'm", LEX_EN },
        { "worst", LEX_EN },
        { "best", LEX_EN },
        { "nice", LEX_EN },
};

/* Adds one word of the list, with its form without diacritics. */
static void add(text_lex *lx, const char *w, unsigned cls) {
        char str[64];
        size_t al = strlen(w), sl = 0;
        int marks = 0;
        uint64_t hs;
        unsigned k;

        for (size_t i = 0; i < al && sl + 4 < sizeof(str);) {
                /* decode one UTF-8 character of a list word (well-formed by construction) */
                unsigned char c = (unsigned char) w[i];
                int32_t cp;
                size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

                cp = n == 1 ? c : (int32_t) (c & (0xff >> (n + 1)));
                for (size_t j = 1; j < n; j++)
                        cp = (cp << 6) | (w[i + j] & 0x3f);
                i += n;
                {
                        int32_t sc = text_strip_cp(cp);

                        if (sc != cp)
                                marks = 1;
                        if (sc)
                                sl += text_utf8_put(sc, str + sl);
                }
        }
        hs = text_hash(str, sl);
        for (k = (unsigned) (hs & (TEXT_LEX_SLOTS - 1));; k = (k + 1) & (TEXT_LEX_SLOTS - 1)) {
                text_lex_entry *e = &lx->slot[k];

                if (e->h_str == 0) {
                        e->h_str = hs;
                        e->h_acc = text_hash(w, al);
                        e->marks = (uint8_t) marks;
                        e->cls = (uint8_t) cls;
                        return;
                }
        }
}

void text_lex_init(text_lex *lx) {
        memset(lx, 0, sizeof(*lx));
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                add(lx, words[i].w, words[i].cls);
}

unsigned text_lex_class(const text_lex *lx, const text_tok *t) {
        unsigned cls = 0;

        if (!lx)
                return 0;
        for (unsigned k = (unsigned) (t->h_str & (TEXT_LEX_SLOTS - 1));; k = (k + 1) & (TEXT_LEX_SLOTS - 1)) {
                const text_lex_entry *e = &lx->slot[k];

                if (e->h_str == 0)
                        break;
                if (e->h_str != t->h_str)
                        continue;
                if (e->h_acc == t->h_acc || !(t->flags & TOKF_MARKS))
                        cls |= e->cls;
        }
        return cls;
}
