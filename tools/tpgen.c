/*
 * tpgen — generate realistic Touchpoint CX data sets as CSV files.
 *
 *   tpgen --template retail-vn|bench --customers N --events N --responses N
 *         --seed S --out DIR [--start 2023-01-01] [--end 2025-01-01] [--sql]
 *
 * Writes DIR/journey.json, DIR/events.csv, DIR/responses.csv (and with --sql
 * DIR/events_sql.csv, DIR/responses_sql.csv for loading into SQLite to run the
 * benchmark queries in shared/bench/q*.sql).  See --help.
 *
 * Model (shared/bench/README.md): each customer walks a Markov chain over the
 * journey's stages (stay 45%, advance 35%, fall back 15%, jump 5%; the last
 * stage loops back to the purchase/service stages), picking a touchpoint
 * within the stage by popularity.  Journey lengths are lognormal (skewed),
 * scaled so that the total is exactly --events.  Events come in sessions
 * (seconds to minutes apart) separated by days, at Vietnamese times of day;
 * each customer's journey is placed uniformly in the period.  About 18% of
 * events are purchases (calibrated from the chain's stage occupancy).
 * Exactly --responses responses are attached to distinct events (weighted
 * sequential selection sampling, exact count), a few minutes to a day after
 * the event; scores come from a latent satisfaction = touchpoint quality +
 * channel effect + customer disposition + event type + slow upward trend +
 * noise.
 *
 * Memory stays bounded: events are generated customer by customer into
 * time-bucket temp files (16 bytes per event, unlinked at once), then each
 * bucket is radix-sorted by time (stable, so ties keep customer order) and
 * written out; responses are carried over between buckets and merged.
 *
 * Deterministic for a given seed: xoshiro256** seeded with splitmix64, one
 * stream per customer plus sequential streams; no rand().
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -O2 tools/tpgen.c -lm -o tpgen
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TPGEN_VERSION "1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

#define EXIT_USAGE 2

static const char *g_prog = "tpgen";

__attribute__((format(printf, 1, 2), noreturn))
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_USAGE);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        die("out of memory (%zu x %zu bytes)", n, sz);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        die("out of memory (%zu bytes)", n);
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Random numbers: splitmix64 for seeding, xoshiro256** for streams          */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t s[4];
} Rng;

enum { STREAM_LEN = 1, STREAM_CUST, STREAM_DISP, STREAM_RESP };

static void rng_seed(Rng *r, uint64_t seed, uint64_t stream, uint64_t sub)
{
    uint64_t x = mix64(seed ^ mix64(stream * 0xd1b54a32d192ed03ULL ^ mix64(sub + 0x632be59bd9b4e019ULL)));
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ULL;
        r->s[i] = mix64(x);
    }
}

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(Rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* uniform in [0, 1) */
static inline double rng_unif(Rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* uniform integer in [0, n), n >= 1 (n < 2^53) */
static inline uint64_t rng_below(Rng *r, uint64_t n)
{
    uint64_t v = (uint64_t)(rng_unif(r) * (double)n);
    return v < n ? v : n - 1;
}

static double rng_normal(Rng *r)
{
    double u1 = 1.0 - rng_unif(r); /* (0, 1] */
    double u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline double rng_exp(Rng *r, double mean)
{
    return -log(1.0 - rng_unif(r)) * mean;
}

/* ------------------------------------------------------------------------ */
/* Vocabulary                                                                */

enum { CH_WEB, CH_APP, CH_EMAIL, CH_PHONE, CH_STORE, CH_SOCIAL, CH_CHAT, CH_SMS, N_CH };
static const char *const CHANNELS[N_CH] = {"web", "mobile_app", "email", "phone",
                                           "store", "social", "chat", "sms"};
/* how the channel itself moves satisfaction (latent units) */
static const double CH_EFFECT[N_CH] = {0.0, 0.08, -0.05, -0.18, 0.12, -0.06, 0.04, -0.12};

enum { D_MKT, D_SALES, D_FIN, D_CARE, D_TECH, D_LOG, D_LEGAL, N_DEPT };
static const char *const DEPTS[N_DEPT] = {"marketing", "sales", "finance", "customer-care",
                                          "technical", "logistics", "legal"};

enum { T_VIEW, T_CLICK, T_VISIT, T_CALL, T_PURCHASE, T_DELIVERY, T_COMPLAINT, T_MESSAGE, N_TYPE };
static const char *const TYPES[N_TYPE] = {"view", "click", "visit", "call",
                                          "purchase", "delivery", "complaint", "message"};
static const double TYPE_EFFECT[N_TYPE] = {0.0, 0.0, 0.05, -0.05, 0.12, 0.0, -0.75, 0.0};
/* relative chance that an event of this type gets a survey response */
static const unsigned TYPE_WEIGHT[N_TYPE] = {1, 1, 3, 3, 5, 4, 8, 3};

enum { M_NPS, M_CSAT, M_CES, N_METRIC };
static const char *const METRICS[N_METRIC] = {"nps", "csat", "ces"};

enum { K_GEN, K_LOG, K_SUP }; /* generic, logistics (deliveries), support (complaints) */

enum {
    TH_DELIVERY = 1u << 0,
    TH_PRICE = 1u << 1,
    TH_STAFF = 1u << 2,
    TH_QUALITY = 1u << 3,
    TH_STORE = 1u << 4,
    TH_WEB = 1u << 5,
    TH_PAYMENT = 1u << 6,
    TH_WARRANTY = 1u << 7,
    TH_COMM = 1u << 8,
    TH_GENERAL = 1u << 9
};

/* ------------------------------------------------------------------------ */
/* Comment templates                                                         */

enum { S_NEG, S_NEU, S_POS };

typedef struct {
    const char *text;
    unsigned theme;
    int sent;
} CommentDef;

static const CommentDef COMMENTS_VI[] = {
    {"giao hàng chậm quá", TH_DELIVERY, S_NEG},
    {"Đơn hàng giao trễ 3 ngày mà không ai báo trước", TH_DELIVERY, S_NEG},
    {"hàng giao đến bị móp hộp, đóng gói sơ sài", TH_DELIVERY, S_NEG},
    {"giao hàng bình thường, không có gì đặc biệt", TH_DELIVERY, S_NEU},
    {"giao hàng nhanh, đóng gói cẩn thận", TH_DELIVERY, S_POS},
    {"shipper thân thiện, gọi trước khi giao", TH_DELIVERY, S_POS},
    {"giá cao hơn quảng cáo", TH_PRICE, S_NEG},
    {"phí vận chuyển đắt quá", TH_PRICE, S_NEG},
    {"giá hơi cao nhưng chấp nhận được", TH_PRICE, S_NEU},
    {"giá tốt, nhiều khuyến mãi", TH_PRICE, S_POS},
    {"đáng đồng tiền bát gạo", TH_PRICE, S_POS},
    {"nhân viên không nhiệt tình", TH_STAFF, S_NEG},
    {"nhân viên trả lời cộc lốc, thiếu chuyên nghiệp", TH_STAFF, S_NEG},
    {"nhân viên ổn nhưng phải chờ hơi lâu", TH_STAFF, S_NEU},
    {"nhân viên rất thân thiện", TH_STAFF, S_POS},
    {"nhân viên tư vấn nhiệt tình, dễ hiểu", TH_STAFF, S_POS},
    {"sản phẩm không giống hình", TH_QUALITY, S_NEG},
    {"dùng được một tuần đã hỏng", TH_QUALITY, S_NEG},
    {"chất lượng tạm được so với giá", TH_QUALITY, S_NEU},
    {"sản phẩm chất lượng tốt, đúng mô tả", TH_QUALITY, S_POS},
    {"hàng chính hãng, dùng rất thích", TH_QUALITY, S_POS},
    {"cửa hàng đông, phải xếp hàng lâu", TH_STORE, S_NEG},
    {"cửa hàng bừa bộn, khó tìm sản phẩm", TH_STORE, S_NEG},
    {"cửa hàng hơi chật nhưng sạch sẽ", TH_STORE, S_NEU},
    {"cửa hàng sạch sẽ, trưng bày đẹp", TH_STORE, S_POS},
    {"ứng dụng hay bị lỗi, không đăng nhập được", TH_WEB, S_NEG},
    {"website tải chậm, tìm sản phẩm rất khó", TH_WEB, S_NEG},
    {"app dùng được nhưng giao diện hơi rối", TH_WEB, S_NEU},
    {"website dễ dùng, đặt hàng nhanh", TH_WEB, S_POS},
    {"app mượt, theo dõi đơn hàng tiện", TH_WEB, S_POS},
    {"thanh toán báo \"thất bại\" nhưng vẫn bị trừ tiền", TH_PAYMENT, S_NEG},
    {"không thanh toán được bằng thẻ", TH_PAYMENT, S_NEG},
    {"nên có thêm ví điện tử khi thanh toán", TH_PAYMENT, S_NEU},
    {"thanh toán qua mã QR rất tiện", TH_PAYMENT, S_POS},
    {"bảo hành lâu quá, gần một tháng chưa xong", TH_WARRANTY, S_NEG},
    {"trung tâm bảo hành từ chối mà không giải thích", TH_WARRANTY, S_NEG},
    {"bảo hành được nhưng thủ tục rườm rà", TH_WARRANTY, S_NEU},
    {"bảo hành nhanh, đổi máy mới ngay", TH_WARRANTY, S_POS},
    {"gọi tổng đài mãi không ai nghe máy", TH_COMM, S_NEG},
    {"nhắn tin quảng cáo quá nhiều, rất phiền", TH_COMM, S_NEG},
    {"hứa gọi lại nhưng không thấy gọi", TH_COMM, S_NEG},
    {"thông tin khuyến mãi chưa rõ ràng", TH_COMM, S_NEU},
    {"được tư vấn qua điện thoại rất rõ ràng", TH_COMM, S_POS},
    {"phản hồi tin nhắn nhanh, giải quyết gọn", TH_COMM, S_POS},
    {"trải nghiệm tệ, sẽ không quay lại", TH_GENERAL, S_NEG},
    {"tạm ổn", TH_GENERAL, S_NEU},
    {"sẽ giới thiệu cho bạn bè và người thân", TH_GENERAL, S_POS},
    {"dịch vụ tuyệt vời, cảm ơn shop", TH_GENERAL, S_POS},
};

static const CommentDef COMMENTS_EN[] = {
    {"Delivery was late again", TH_DELIVERY, S_NEG},
    {"The box arrived dented and badly packed", TH_DELIVERY, S_NEG},
    {"Delivery was OK, nothing special", TH_DELIVERY, S_NEU},
    {"Fast delivery, well packed", TH_DELIVERY, S_POS},
    {"The courier was friendly and called ahead", TH_DELIVERY, S_POS},
    {"Price was higher than advertised", TH_PRICE, S_NEG},
    {"Shipping fees are far too high", TH_PRICE, S_NEG},
    {"A bit pricey, but acceptable", TH_PRICE, S_NEU},
    {"Good prices and lots of deals", TH_PRICE, S_POS},
    {"Great value for money", TH_PRICE, S_POS},
    {"Staff were not helpful at all", TH_STAFF, S_NEG},
    {"The sales assistant was rude", TH_STAFF, S_NEG},
    {"Staff were fine but I waited a while", TH_STAFF, S_NEU},
    {"Very friendly staff", TH_STAFF, S_POS},
    {"The staff explained everything clearly", TH_STAFF, S_POS},
    {"The product does not look like the photos", TH_QUALITY, S_NEG},
    {"It broke after one week", TH_QUALITY, S_NEG},
    {"Quality is fair for the price", TH_QUALITY, S_NEU},
    {"Good quality, exactly as described", TH_QUALITY, S_POS},
    {"Genuine product, I love it", TH_QUALITY, S_POS},
    {"The store was crowded and the queue was long", TH_STORE, S_NEG},
    {"Messy store, hard to find anything", TH_STORE, S_NEG},
    {"Small store but clean", TH_STORE, S_NEU},
    {"Clean store with a nice display", TH_STORE, S_POS},
    {"The app keeps crashing and I can't log in", TH_WEB, S_NEG},
    {"The website is slow and search is useless", TH_WEB, S_NEG},
    {"The app works, but the layout is confusing", TH_WEB, S_NEU},
    {"Easy to order on the website", TH_WEB, S_POS},
    {"Smooth app, order tracking is handy", TH_WEB, S_POS},
    {"Payment said \"failed\" but I was still charged", TH_PAYMENT, S_NEG},
    {"My card was declined at checkout, twice", TH_PAYMENT, S_NEG},
    {"Please add more e-wallet options", TH_PAYMENT, S_NEU},
    {"Paying by QR code was quick", TH_PAYMENT, S_POS},
    {"Warranty repair has taken almost a month", TH_WARRANTY, S_NEG},
    {"The service centre refused my warranty claim", TH_WARRANTY, S_NEG},
    {"Warranty worked, but too much paperwork", TH_WARRANTY, S_NEU},
    {"Quick warranty replacement, thank you", TH_WARRANTY, S_POS},
    {"Nobody answers the hotline", TH_COMM, S_NEG},
    {"Too many promotional messages", TH_COMM, S_NEG},
    {"They promised to call back and never did", TH_COMM, S_NEG},
    {"The promotion terms were unclear", TH_COMM, S_NEU},
    {"Clear advice over the phone", TH_COMM, S_POS},
    {"Quick replies on chat, issue solved", TH_COMM, S_POS},
    {"Terrible experience, won't come back", TH_GENERAL, S_NEG},
    {"It was okay", TH_GENERAL, S_NEU},
    {"great service", TH_GENERAL, S_POS},
    {"Will recommend to friends and family", TH_GENERAL, S_POS},
};

#define N_COMMENTS_VI (sizeof COMMENTS_VI / sizeof COMMENTS_VI[0])
#define N_COMMENTS_EN (sizeof COMMENTS_EN / sizeof COMMENTS_EN[0])

/* Vietnamese comments "typed without diacritics" are derived by folding. */
static const struct {
    const char *chars;
    char base;
} FOLD[] = {
    {"àáảãạăằắẳẵặâầấẩẫậ", 'a'}, {"ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'A'},
    {"èéẻẽẹêềếểễệ", 'e'},       {"ÈÉẺẼẸÊỀẾỂỄỆ", 'E'},
    {"ìíỉĩị", 'i'},             {"ÌÍỈĨỊ", 'I'},
    {"òóỏõọôồốổỗộơờớởỡợ", 'o'}, {"ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'O'},
    {"ùúủũụưừứửữự", 'u'},       {"ÙÚỦŨỤƯỪỨỬỮỰ", 'U'},
    {"ỳýỷỹỵ", 'y'},             {"ỲÝỶỸỴ", 'Y'},
    {"đ", 'd'},                 {"Đ", 'D'},
};

static size_t utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        return 2;
    if ((c & 0xF0) == 0xE0)
        return 3;
    if ((c & 0xF8) == 0xF0)
        return 4;
    return 1;
}

static char *fold_vi(const char *in)
{
    size_t n = strlen(in);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len((unsigned char)in[i]);
        if (i + k > n)
            k = n - i;
        char rep = 0;
        if (k > 1) {
            for (size_t f = 0; f < sizeof FOLD / sizeof FOLD[0] && !rep; f++) {
                const char *s = FOLD[f].chars;
                while (*s) {
                    size_t m = utf8_len((unsigned char)*s);
                    if (m == k && memcmp(s, in + i, k) == 0) {
                        rep = FOLD[f].base;
                        break;
                    }
                    s += m;
                }
            }
        }
        if (rep) {
            out[o++] = rep;
        } else {
            memcpy(out + o, in + i, k);
            o += k;
        }
        i += k;
    }
    out[o] = 0;
    return out;
}

static char *g_folded_vi[N_COMMENTS_VI];

/* ------------------------------------------------------------------------ */
/* Journeys                                                                  */

#define MAX_TP 63 /* q6.sql packs the touchpoint id in ts*64 + id */
#define MAX_STAGES 16
#define KEY_MAX 63

typedef struct {
    const char *key, *vi, *en;
    int stage, channel, channel2, dept;
    double csat;
    int nps;
    double quality, pop, affinity;
    int kind;
    unsigned themes;
} TpDef;

/* The built-in retail-vn journey: key, names, stage, channel, secondary
 * channel (for events), owning department, expected CSAT / NPS, then the
 * generator's hidden truth: latent quality, popularity within the stage,
 * purchase affinity, event kind and comment themes. */
static const TpDef RETAIL_VN[] = {
    {"social-media", "Mạng xã hội", "Social media", 0, CH_SOCIAL, CH_APP, D_MKT, 4.0, 20,
     0.05, 1.6, 0.06, K_GEN, TH_COMM | TH_PRICE | TH_GENERAL},
    {"reviews", "Đánh giá trực tuyến", "Online reviews", 0, CH_WEB, CH_APP, D_MKT, 4.1, 25,
     0.12, 1.2, 0.0, K_GEN, TH_QUALITY | TH_GENERAL},
    {"legal-documents", "Tài liệu pháp lý", "Legal documents", 0, CH_WEB, CH_EMAIL, D_LEGAL, 3.8, 5,
     -0.15, 0.3, 0.0, K_GEN, TH_COMM | TH_WARRANTY},
    {"word-of-mouth", "Truyền miệng", "Word of mouth", 0, CH_SOCIAL, CH_CHAT, D_MKT, 4.3, 35,
     0.30, 0.9, 0.0, K_GEN, TH_GENERAL | TH_QUALITY | TH_STAFF},
    {"community", "Cộng đồng", "Community", 0, CH_SOCIAL, CH_CHAT, D_MKT, 4.1, 25,
     0.10, 0.7, 0.0, K_GEN, TH_GENERAL | TH_QUALITY},
    {"ads", "Quảng cáo", "Advertising", 0, CH_SOCIAL, CH_WEB, D_MKT, 3.8, 5,
     -0.10, 1.5, 0.04, K_GEN, TH_PRICE | TH_COMM},
    {"pr", "Quan hệ công chúng", "Public relations", 0, CH_WEB, CH_SOCIAL, D_MKT, 3.9, 15,
     0.0, 0.5, 0.0, K_GEN, TH_COMM | TH_GENERAL},

    {"store", "Cửa hàng / sàn TMĐT", "Store or marketplace", 1, CH_STORE, CH_WEB, D_SALES, 4.2, 25,
     0.15, 1.8, 1.0, K_GEN, TH_STORE | TH_STAFF | TH_PRICE | TH_QUALITY},
    {"website", "Trang web", "Website", 1, CH_WEB, CH_APP, D_TECH, 4.0, 20,
     0.02, 1.8, 0.8, K_GEN, TH_WEB | TH_PAYMENT | TH_PRICE},
    {"catalogue", "Danh mục sản phẩm", "Product catalogue", 1, CH_WEB, CH_EMAIL, D_MKT, 4.0, 15,
     0.05, 0.8, 0.25, K_GEN, TH_QUALITY | TH_PRICE | TH_WEB},
    {"promotions", "Khuyến mãi", "Promotions", 1, CH_SMS, CH_APP, D_MKT, 3.9, 15,
     -0.05, 1.0, 0.5, K_GEN, TH_PRICE | TH_COMM},
    {"sales-team", "Đội ngũ bán hàng", "Sales team", 1, CH_STORE, CH_PHONE, D_SALES, 4.3, 35,
     0.25, 0.9, 0.7, K_GEN, TH_STAFF | TH_PRICE},
    {"telesales", "Bán hàng qua điện thoại", "Telesales", 1, CH_PHONE, CH_SMS, D_SALES, 3.8, 5,
     -0.55, 0.6, 0.45, K_GEN, TH_STAFF | TH_COMM},
    {"pos", "Điểm bán hàng", "Point of sale", 1, CH_STORE, CH_APP, D_SALES, 4.1, 25,
     0.10, 1.1, 1.0, K_GEN, TH_PAYMENT | TH_STAFF | TH_STORE},

    {"invoice", "Hóa đơn", "Invoice", 2, CH_EMAIL, CH_WEB, D_FIN, 4.0, 15,
     0.0, 0.8, 0.0, K_LOG, TH_PAYMENT | TH_PRICE},
    {"order-confirmation-email", "Email xác nhận đơn hàng", "Order confirmation email", 2, CH_EMAIL,
     CH_SMS, D_LOG, 4.2, 25, 0.10, 1.0, 0.0, K_LOG, TH_DELIVERY | TH_COMM},
    {"email-marketing", "Email tiếp thị", "Email marketing", 2, CH_EMAIL, CH_APP, D_MKT, 3.8, 5,
     -0.20, 1.0, 0.15, K_GEN, TH_COMM | TH_PRICE},
    {"care-centre", "Trung tâm chăm sóc khách hàng", "Customer care centre", 2, CH_PHONE, CH_CHAT,
     D_CARE, 3.9, 10, -0.65, 1.0, 0.0, K_SUP, TH_COMM | TH_STAFF | TH_DELIVERY | TH_WARRANTY},
    {"online-support", "Hỗ trợ trực tuyến", "Online support", 2, CH_CHAT, CH_WEB, D_CARE, 4.0, 15,
     0.10, 1.0, 0.0, K_SUP, TH_WEB | TH_COMM | TH_STAFF},
    {"warranty-follow-up", "Theo dõi bảo hành", "Warranty follow-up", 2, CH_PHONE, CH_EMAIL, D_TECH,
     3.9, 10, -0.10, 0.6, 0.0, K_SUP, TH_WARRANTY | TH_QUALITY},
    {"next-promotion-notice", "Thông báo khuyến mãi tiếp theo", "Next promotion notice", 2, CH_APP,
     CH_SMS, D_MKT, 3.9, 10, -0.05, 0.8, 0.25, K_GEN, TH_PRICE | TH_COMM},
};

static const char *const RETAIL_STAGES[3][3] = {
    {"before", "Trước khi mua", "Before purchase"},
    {"during", "Trong khi mua", "During purchase"},
    {"after", "Sau khi mua", "After purchase"},
};

static const char *const BENCH_STAGES[5][4] = {
    /* key, vi, en, vi touchpoint prefix */
    {"awareness", "Nhận biết", "Awareness", "Điểm chạm nhận biết"},
    {"consideration", "Cân nhắc", "Consideration", "Điểm chạm cân nhắc"},
    {"purchase", "Mua hàng", "Purchase", "Điểm chạm mua hàng"},
    {"service", "Dịch vụ", "Service", "Điểm chạm dịch vụ"},
    {"loyalty", "Trung thành", "Loyalty", "Điểm chạm trung thành"},
};

typedef struct {
    char *key, *vi, *en;
    int stage, channel, channel2, dept, kind;
    double exp_csat;
    int exp_nps;
    double quality, pop, affinity;
    unsigned themes;
    double p_purchase, p_complaint, p_delivery;
} Tp;

typedef struct {
    char *key, *vi, *en;
    int first, count;
    double cum[MAX_TP]; /* cumulative popularity within the stage, last = 1 */
} Stage;

typedef struct {
    char *key, *vi, *en;
    Stage st[MAX_STAGES];
    int nst;
    Tp tp[MAX_TP];
    int ntp;
    int loop[MAX_STAGES]; /* where the last stage's "advance" goes */
    int nloop;
    double start_cum[MAX_STAGES];
    double ch_primary, ch_secondary; /* cumulative: primary, secondary, else random */
    char *raw;                       /* journey.json bytes when read from a file */
    size_t raw_len;
} Journey;

static void journey_free(Journey *j)
{
    free(j->key);
    free(j->vi);
    free(j->en);
    for (int s = 0; s < j->nst; s++) {
        free(j->st[s].key);
        free(j->st[s].vi);
        free(j->st[s].en);
    }
    for (int t = 0; t < j->ntp; t++) {
        free(j->tp[t].key);
        free(j->tp[t].vi);
        free(j->tp[t].en);
    }
    free(j->raw);
}

static void add_stage(Journey *j, const char *key, const char *vi, const char *en)
{
    if (j->nst >= MAX_STAGES)
        die("too many stages (max %d)", MAX_STAGES);
    Stage *s = &j->st[j->nst++];
    s->key = xstrdup(key);
    s->vi = xstrdup(vi);
    s->en = xstrdup(en);
    s->first = j->ntp;
    s->count = 0;
}

static Tp *add_tp(Journey *j, const char *key, const char *vi, const char *en)
{
    if (j->ntp >= MAX_TP)
        die("too many touchpoints (max %d: touchpoint ids must stay below 64)", MAX_TP);
    if (j->nst == 0)
        die("touchpoint outside a stage");
    Tp *t = &j->tp[j->ntp++];
    memset(t, 0, sizeof *t);
    t->key = xstrdup(key);
    t->vi = xstrdup(vi);
    t->en = xstrdup(en);
    t->stage = j->nst - 1;
    j->st[j->nst - 1].count++;
    return t;
}

static void tp_from_def(Tp *t, const TpDef *d)
{
    t->channel = d->channel;
    t->channel2 = d->channel2;
    t->dept = d->dept;
    t->exp_csat = d->csat;
    t->exp_nps = d->nps;
    t->quality = d->quality;
    t->pop = d->pop;
    t->affinity = d->affinity;
    t->kind = d->kind;
    t->themes = d->themes;
}

static void build_retail_vn(Journey *j)
{
    j->key = xstrdup("retail-vn");
    j->vi = xstrdup("Hành trình bán lẻ (Việt Nam)");
    j->en = xstrdup("Retail journey (Vietnam)");
    for (int s = 0; s < 3; s++) {
        add_stage(j, RETAIL_STAGES[s][0], RETAIL_STAGES[s][1], RETAIL_STAGES[s][2]);
        for (size_t i = 0; i < sizeof RETAIL_VN / sizeof RETAIL_VN[0]; i++) {
            const TpDef *d = &RETAIL_VN[i];
            if (d->stage != s)
                continue;
            tp_from_def(add_tp(j, d->key, d->vi, d->en), d);
        }
    }
    j->loop[0] = 1; /* after -> during */
    j->nloop = 1;
    j->ch_primary = 0.70;
    j->ch_secondary = 1.0;
}

static double round_to(double v, double step)
{
    return floor(v / step + 0.5) * step;
}

static void build_bench(Journey *j)
{
    /* latent quality per touchpoint; some clearly weak, some strong */
    static const double Q[40] = {
        0.10, -0.05, 0.20, 0.00, 0.15, 0.30, -0.10, 0.05,   /* awareness */
        0.10, 0.05, 0.25, -0.45, 0.15, 0.20, -0.20, 0.00,   /* consideration */
        0.20, 0.15, 0.25, -0.10, -0.50, 0.10, 0.05, 0.30,   /* purchase */
        -0.15, 0.05, -0.70, 0.00, -0.40, -0.20, 0.10, -0.05, /* service */
        0.30, 0.20, 0.35, -0.30, 0.10, 0.25, 0.15, 0.20,    /* loyalty */
    };
    static const double AFF[5] = {0.02, 0.08, 1.0, 0.02, 0.35};
    static const unsigned THEMES[5] = {
        TH_COMM | TH_PRICE | TH_GENERAL,
        TH_QUALITY | TH_PRICE | TH_WEB | TH_STAFF,
        TH_PAYMENT | TH_PRICE | TH_STORE | TH_WEB,
        TH_DELIVERY | TH_WARRANTY | TH_COMM | TH_STAFF,
        TH_PRICE | TH_COMM | TH_GENERAL | TH_QUALITY,
    };
    j->key = xstrdup("bench");
    j->vi = xstrdup("Hành trình chuẩn đo hiệu năng");
    j->en = xstrdup("Benchmark journey");
    for (int s = 0; s < 5; s++) {
        add_stage(j, BENCH_STAGES[s][0], BENCH_STAGES[s][1], BENCH_STAGES[s][2]);
        for (int k = 0; k < 8; k++) {
            int i = s * 8 + k;
            char key[8], vi[96], en[64];
            snprintf(key, sizeof key, "tp%02d", i + 1);
            snprintf(vi, sizeof vi, "%s %d", BENCH_STAGES[s][3], k + 1);
            snprintf(en, sizeof en, "%s touchpoint %d", BENCH_STAGES[s][2], k + 1);
            Tp *t = add_tp(j, key, vi, en);
            t->channel = i % N_CH;
            t->channel2 = (i + 3) % N_CH;
            t->dept = i % N_DEPT;
            t->quality = Q[i];
            t->pop = 1.0 + 0.6 * cos(2.3 * (double)i);
            t->affinity = AFF[s];
            t->kind = s == 3 ? (k % 2 ? K_SUP : K_LOG) : K_GEN;
            t->themes = THEMES[s];
            t->exp_csat = round_to(4.0 + 0.6 * Q[i], 0.1);
            t->exp_nps = (int)round_to(20.0 + 50.0 * Q[i], 5.0);
        }
    }
    j->loop[0] = 2; /* loyalty -> purchase or service */
    j->loop[1] = 3;
    j->nloop = 2;
    j->ch_primary = 0.65;
    j->ch_secondary = 0.90;
}

/* ------------------------------------------------------------------------ */
/* A small JSON reader for --template-file                                   */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct JVal {
    int t;
    double num;
    char *str;
    struct JVal *items;
    char **keys;
    size_t n;
} JVal;

typedef struct {
    const char *p, *end;
    int depth;
    char err[128];
} JParser;

static void jfree(JVal *v)
{
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void jws(JParser *p)
{
    while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\n' || *p->p == '\r'))
        p->p++;
}

static bool jfail(JParser *p, const char *msg)
{
    if (!p->err[0])
        snprintf(p->err, sizeof p->err, "%s", msg);
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool jhex4(JParser *p, unsigned *out)
{
    unsigned v = 0;
    if (p->end - p->p < 4)
        return jfail(p, "bad \\u escape");
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->p[i]);
        if (h < 0)
            return jfail(p, "bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    p->p += 4;
    *out = v;
    return true;
}

static bool jstring(JParser *p, char **out)
{
    size_t cap = 32, n = 0;
    char *b = xmalloc(cap);
    p->p++; /* opening quote */
    for (;;) {
        if (p->p >= p->end) {
            free(b);
            return jfail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)*p->p++;
        if (n + 8 > cap) {
            cap *= 2;
            b = xrealloc(b, cap);
        }
        if (c == '"')
            break;
        if (c < 0x20) {
            free(b);
            return jfail(p, "control character in string");
        }
        if (c != '\\') {
            b[n++] = (char)c;
            continue;
        }
        if (p->p >= p->end) {
            free(b);
            return jfail(p, "unterminated string");
        }
        char e = *p->p++;
        unsigned cp;
        switch (e) {
        case '"': b[n++] = '"'; break;
        case '\\': b[n++] = '\\'; break;
        case '/': b[n++] = '/'; break;
        case 'b': b[n++] = '\b'; break;
        case 'f': b[n++] = '\f'; break;
        case 'n': b[n++] = '\n'; break;
        case 'r': b[n++] = '\r'; break;
        case 't': b[n++] = '\t'; break;
        case 'u':
            if (!jhex4(p, &cp)) {
                free(b);
                return false;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->end - p->p < 2 || p->p[0] != '\\' || p->p[1] != 'u') {
                    free(b);
                    return jfail(p, "lone surrogate");
                }
                p->p += 2;
                if (!jhex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    free(b);
                    return jfail(p, "bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(b);
                return jfail(p, "lone surrogate");
            }
            if (cp < 0x80) {
                b[n++] = (char)cp;
            } else if (cp < 0x800) {
                b[n++] = (char)(0xC0 | (cp >> 6));
                b[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                b[n++] = (char)(0xE0 | (cp >> 12));
                b[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                b[n++] = (char)(0xF0 | (cp >> 18));
                b[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                b[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                b[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        default:
            free(b);
            return jfail(p, "bad escape");
        }
    }
    b[n] = 0;
    *out = b;
    return true;
}

static bool jvalue(JParser *p, JVal *v);

static bool jcontainer(JParser *p, JVal *v, bool obj)
{
    size_t cap = 0;
    char close = obj ? '}' : ']';
    v->t = obj ? J_OBJ : J_ARR;
    if (++p->depth > 32)
        return jfail(p, "nesting too deep");
    p->p++;
    jws(p);
    if (p->p < p->end && *p->p == close) {
        p->p++;
        p->depth--;
        return true;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            v->items = xrealloc(v->items, cap * sizeof *v->items);
            if (obj)
                v->keys = xrealloc(v->keys, cap * sizeof *v->keys);
        }
        jws(p);
        if (obj) {
            char *k;
            if (p->p >= p->end || *p->p != '"')
                return jfail(p, "expected a member name");
            if (!jstring(p, &k))
                return false;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], k) == 0) {
                    free(k);
                    return jfail(p, "duplicate member name");
                }
            jws(p);
            if (p->p >= p->end || *p->p != ':') {
                free(k);
                return jfail(p, "expected ':'");
            }
            p->p++;
            v->keys[v->n] = k;
        }
        memset(&v->items[v->n], 0, sizeof v->items[0]);
        v->n++;
        if (!jvalue(p, &v->items[v->n - 1]))
            return false;
        jws(p);
        if (p->p < p->end && *p->p == ',') {
            p->p++;
            continue;
        }
        if (p->p < p->end && *p->p == close) {
            p->p++;
            p->depth--;
            return true;
        }
        return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool jvalue(JParser *p, JVal *v)
{
    jws(p);
    if (p->p >= p->end)
        return jfail(p, "unexpected end of input");
    char c = *p->p;
    if (c == '{' || c == '[')
        return jcontainer(p, v, c == '{');
    if (c == '"') {
        v->t = J_STR;
        return jstring(p, &v->str);
    }
    if (c == 't' && p->end - p->p >= 4 && memcmp(p->p, "true", 4) == 0) {
        v->t = J_BOOL;
        v->num = 1;
        p->p += 4;
        return true;
    }
    if (c == 'f' && p->end - p->p >= 5 && memcmp(p->p, "false", 5) == 0) {
        v->t = J_BOOL;
        p->p += 5;
        return true;
    }
    if (c == 'n' && p->end - p->p >= 4 && memcmp(p->p, "null", 4) == 0) {
        v->t = J_NULL;
        p->p += 4;
        return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char tok[64];
        size_t n = 0;
        while (p->p < p->end && n < sizeof tok - 1 && strchr("+-.eE0123456789", *p->p))
            tok[n++] = *p->p++;
        tok[n] = 0;
        char *endp;
        errno = 0;
        v->t = J_NUM;
        v->num = strtod(tok, &endp);
        if (*endp || errno)
            return jfail(p, "bad number");
        return true;
    }
    return jfail(p, "unexpected character");
}

static const JVal *jget(const JVal *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

static const char *jstr(const JVal *o, const char *key, const char *where)
{
    const JVal *v = jget(o, key);
    if (!v || v->t != J_STR || !v->str[0])
        die("template: %s: \"%s\" must be a non-empty string", where, key);
    return v->str;
}

static bool valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > KEY_MAX)
        return false;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '-'))
            return false;
    return true;
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static bool contains_any(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(s, words[i]))
            return true;
    return false;
}

static void build_from_file(Journey *j, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open template file %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= (1u << 22))
                die("template file %s is too large", path);
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die("cannot read template file %s", path);
    fclose(f);

    JParser p = {buf, buf + n, 0, {0}};
    JVal root;
    memset(&root, 0, sizeof root);
    bool ok = jvalue(&p, &root);
    if (ok) {
        jws(&p);
        if (p.p != p.end)
            ok = jfail(&p, "trailing characters");
    }
    if (!ok)
        die("template file %s: invalid JSON at byte %td: %s", path, p.p - buf, p.err);
    if (root.t != J_OBJ)
        die("template file %s: top level must be an object", path);

    const char *jkey = jstr(&root, "key", "journey");
    if (!valid_key(jkey))
        die("template: journey key \"%s\" does not match ^[a-z0-9][a-z0-9-]{0,62}$", jkey);
    const JVal *name = jget(&root, "name");
    j->key = xstrdup(jkey);
    j->vi = xstrdup(jstr(name, "vi", "journey name"));
    j->en = xstrdup(jstr(name, "en", "journey name"));

    const JVal *stages = jget(&root, "stages");
    if (!stages || stages->t != J_ARR || stages->n == 0)
        die("template: \"stages\" must be a non-empty array");
    for (size_t s = 0; s < stages->n; s++) {
        const JVal *st = &stages->items[s];
        const char *skey = jstr(st, "key", "stage");
        if (!valid_key(skey))
            die("template: stage key \"%s\" is not valid", skey);
        const JVal *sname = jget(st, "name");
        add_stage(j, skey, jstr(sname, "vi", skey), jstr(sname, "en", skey));
        const JVal *tps = jget(st, "touchpoints");
        if (!tps || tps->t != J_ARR || tps->n == 0)
            die("template: stage %s: \"touchpoints\" must be a non-empty array", skey);
        for (size_t k = 0; k < tps->n; k++) {
            const JVal *tv = &tps->items[k];
            const char *tkey = jstr(tv, "key", skey);
            if (!valid_key(tkey))
                die("template: touchpoint key \"%s\" is not valid", tkey);
            for (int o = 0; o < j->ntp; o++)
                if (strcmp(j->tp[o].key, tkey) == 0)
                    die("template: duplicate touchpoint key \"%s\"", tkey);
            const JVal *tname = jget(tv, "name");
            Tp *t = add_tp(j, tkey, jstr(tname, "vi", tkey), jstr(tname, "en", tkey));
            const char *ch = jstr(tv, "channel", tkey);
            const char *dp = jstr(tv, "department", tkey);
            t->channel = lookup(CHANNELS, N_CH, ch);
            t->dept = lookup(DEPTS, N_DEPT, dp);
            if (t->channel < 0)
                die("template: touchpoint %s: unknown channel \"%s\"", tkey, ch);
            if (t->dept < 0)
                die("template: touchpoint %s: unknown department \"%s\"", tkey, dp);
            const JVal *ex = jget(tv, "expected");
            const JVal *cs = jget(ex, "csat"), *np = jget(ex, "nps");
            if (!cs || cs->t != J_NUM || cs->num < 1 || cs->num > 5)
                die("template: touchpoint %s: expected.csat must be a number in 1..5", tkey);
            if (!np || np->t != J_NUM || np->num < -100 || np->num > 100)
                die("template: touchpoint %s: expected.nps must be a number in -100..100", tkey);
            t->exp_csat = cs->num;
            t->exp_nps = (int)lround(np->num);
        }
    }
    jfree(&root);
    j->raw = buf;
    j->raw_len = n;

    /* Model parameters: known retail-vn keys keep their hidden truth, other
     * touchpoints are derived from their stage, channel and expected scores. */
    static const char *const BUY[] = {"purchase", "during", "buy", "checkout", "mua"};
    static const char *const SERVICE[] = {"service", "support", "care"};
    int ps = -1;
    for (int s = 0; s < j->nst && ps < 0; s++)
        if (contains_any(j->st[s].key, BUY, sizeof BUY / sizeof BUY[0]))
            ps = s;
    if (ps < 0)
        ps = j->nst / 2;
    static const int ALT[N_CH] = {CH_APP, CH_WEB, CH_SMS, CH_CHAT, CH_WEB, CH_CHAT, CH_WEB, CH_EMAIL};
    static const unsigned CH_THEMES[N_CH] = {
        TH_WEB | TH_PAYMENT | TH_PRICE, TH_WEB | TH_PAYMENT | TH_DELIVERY, TH_COMM | TH_PRICE,
        TH_COMM | TH_STAFF, TH_STORE | TH_STAFF | TH_QUALITY, TH_COMM | TH_GENERAL,
        TH_COMM | TH_STAFF | TH_WEB, TH_COMM | TH_PRICE};
    for (int i = 0; i < j->ntp; i++) {
        Tp *t = &j->tp[i];
        const TpDef *d = NULL;
        for (size_t r = 0; r < sizeof RETAIL_VN / sizeof RETAIL_VN[0]; r++)
            if (strcmp(RETAIL_VN[r].key, t->key) == 0)
                d = &RETAIL_VN[r];
        if (d) {
            t->channel2 = d->channel2 == t->channel ? ALT[t->channel] : d->channel2;
            t->quality = d->quality;
            t->pop = d->pop;
            t->affinity = d->affinity;
            t->kind = d->kind;
            t->themes = d->themes;
            continue;
        }
        t->channel2 = ALT[t->channel];
        double q = ((double)t->exp_nps - 20.0) / 50.0 + (t->exp_csat - 4.0) * 0.3 - 0.05;
        t->quality = q < -1.0 ? -1.0 : q > 1.0 ? 1.0 : q;
        t->pop = 1.0;
        t->affinity = t->stage == ps ? 1.0 : t->stage > ps ? 0.2 : 0.03;
        t->kind = t->stage > ps && (t->channel == CH_PHONE || t->channel == CH_CHAT) ? K_SUP : K_GEN;
        t->themes = CH_THEMES[t->channel];
    }
    j->nloop = 0;
    for (int s = 0; s < j->nst - 1; s++)
        if (s == ps || contains_any(j->st[s].key, SERVICE, sizeof SERVICE / sizeof SERVICE[0]))
            j->loop[j->nloop++] = s;
    if (j->nloop == 0)
        j->loop[j->nloop++] = ps < j->nst - 1 ? ps : 0;
    j->ch_primary = 0.70;
    j->ch_secondary = 1.0;
}

/* Derived tables: popularity cumulatives, start distribution, event type
 * probabilities, with purchases calibrated to a target share of events. */
static void journey_prepare(Journey *j, double mean_len)
{
    for (int s = 0; s < j->nst; s++) {
        Stage *st = &j->st[s];
        double tot = 0, acc = 0;
        for (int i = 0; i < st->count; i++)
            tot += j->tp[st->first + i].pop;
        for (int i = 0; i < st->count; i++) {
            acc += j->tp[st->first + i].pop;
            st->cum[i] = acc / tot;
        }
        st->cum[st->count - 1] = 1.0;
    }
    double sw[MAX_STAGES], tot = 0;
    for (int s = 0; s < j->nst; s++) {
        sw[s] = s == 0 ? 0.70 : s == 1 ? 0.20 : 0.10 / (double)(j->nst - 2);
        tot += sw[s];
    }
    double acc = 0;
    for (int s = 0; s < j->nst; s++) {
        acc += sw[s] / tot;
        j->start_cum[s] = acc;
    }
    j->start_cum[j->nst - 1] = 1.0;

    /* stage occupancy over a journey: sum_k P(len > k) * pi_k */
    int ns = j->nst;
    double T[MAX_STAGES][MAX_STAGES];
    memset(T, 0, sizeof T);
    for (int s = 0; s < ns; s++) {
        T[s][s] += 0.45;
        if (s + 1 < ns)
            T[s][s + 1] += 0.35;
        else
            for (int l = 0; l < j->nloop; l++)
                T[s][j->loop[l]] += 0.35 / (double)j->nloop;
        T[s][s > 0 ? s - 1 : s] += 0.15;
        for (int d = 0; d < ns; d++)
            T[s][d] += 0.05 / (double)ns;
    }
    double pi[MAX_STAGES], nx[MAX_STAGES], occ[MAX_STAGES];
    for (int s = 0; s < ns; s++) {
        pi[s] = sw[s] / tot;
        occ[s] = 0;
    }
    double keep = mean_len > 1.0 ? 1.0 - 1.0 / mean_len : 0.0, w = 1.0;
    for (int k = 0; k < 100000 && w > 1e-12; k++) {
        for (int s = 0; s < ns; s++)
            occ[s] += w * pi[s];
        for (int d = 0; d < ns; d++) {
            nx[d] = 0;
            for (int s = 0; s < ns; s++)
                nx[d] += pi[s] * T[s][d];
        }
        memcpy(pi, nx, sizeof(double) * (size_t)ns);
        w *= keep;
    }
    double otot = 0;
    for (int s = 0; s < ns; s++)
        otot += occ[s];
    double tocc[MAX_TP];
    for (int i = 0; i < j->ntp; i++) {
        const Tp *t = &j->tp[i];
        const Stage *st = &j->st[t->stage];
        double sh = st->cum[i - st->first] - (i > st->first ? st->cum[i - st->first - 1] : 0.0);
        tocc[i] = occ[t->stage] / otot * sh;
    }
    /* purchase probability = min(0.9, k * affinity), k so that the share is
     * 18% (k <= 1: very short journeys get fewer purchases, not odd ones) */
    const double target = 0.18, pmax = 0.9;
    double lo = 0, hi = 1.0;
    for (int it = 0; it < 200; it++) {
        double mid = (lo + hi) / 2, f = 0;
        for (int i = 0; i < j->ntp; i++)
            f += tocc[i] * fmin(pmax, mid * j->tp[i].affinity);
        if (f < target)
            lo = mid;
        else
            hi = mid;
    }
    for (int i = 0; i < j->ntp; i++) {
        Tp *t = &j->tp[i];
        t->p_purchase = fmin(pmax, hi * t->affinity);
        t->p_complaint = t->kind == K_SUP ? 0.15 : 0.01 + 0.06 * fmax(0.0, -t->quality);
        t->p_delivery = t->kind == K_LOG ? 0.5 : 0.0;
    }
}

/* ------------------------------------------------------------------------ */
/* Buffered output                                                           */

typedef struct {
    FILE *f;
    char *path;
    char *buf;
    size_t len, cap;
} Out;

static void out_open(Out *o, const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    o->path = xmalloc(n);
    snprintf(o->path, n, "%s/%s", dir, name);
    o->f = fopen(o->path, "wb");
    if (!o->f)
        die("cannot write %s: %s", o->path, strerror(errno));
    o->cap = 1 << 20;
    o->buf = xmalloc(o->cap);
    o->len = 0;
}

static void out_flush(Out *o)
{
    if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
        die("write error on %s: %s", o->path, strerror(errno));
    o->len = 0;
}

static void out_close(Out *o)
{
    if (!o->f)
        return;
    out_flush(o);
    if (fclose(o->f) != 0)
        die("write error on %s: %s", o->path, strerror(errno));
    o->f = NULL;
    free(o->buf);
    free(o->path);
    o->buf = NULL;
    o->path = NULL;
}

static inline void out_reserve(Out *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
}

static void out_mem(Out *o, const char *s, size_t n)
{
    if (n > o->cap / 2) {
        out_flush(o);
        if (fwrite(s, 1, n, o->f) != n)
            die("write error on %s: %s", o->path, strerror(errno));
        return;
    }
    out_reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void out_str(Out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static inline void out_ch(Out *o, char c)
{
    out_reserve(o, 1);
    o->buf[o->len++] = c;
}

/* decimal, zero-padded to at least width digits */
static inline void out_u64w(Out *o, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    while (n < width && n < 20)
        tmp[n++] = '0';
    out_reserve(o, (size_t)n);
    while (n)
        o->buf[o->len++] = tmp[--n];
}

static inline void out_u64(Out *o, uint64_t v)
{
    out_u64w(o, v, 1);
}

static void out_i64(Out *o, int64_t v)
{
    if (v < 0) {
        out_ch(o, '-');
        out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(o, (uint64_t)v);
    }
}

/* RFC 4180 field */
static void out_csv(Out *o, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        out_str(o, s);
        return;
    }
    out_ch(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            out_ch(o, '"');
        out_ch(o, *s);
    }
    out_ch(o, '"');
}

/* ------------------------------------------------------------------------ */
/* Time                                                                      */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* days since 1970-01-01 (H. Hinnant's algorithms) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t g_day_cached = INT64_MIN;
static char g_day_str[40];

static void out_time(Out *o, int64_t ts)
{
    int64_t day = floor_div(ts, 86400);
    int64_t sod = ts - day * 86400;
    if (day != g_day_cached) {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        snprintf(g_day_str, sizeof g_day_str, "%04d-%02u-%02u", (int)y, m, d);
        g_day_cached = day;
    }
    char t[16];
    unsigned hh = (unsigned)(sod / 3600), mm = (unsigned)(sod / 60 % 60), ss = (unsigned)(sod % 60);
    t[0] = 'T';
    t[1] = (char)('0' + hh / 10);
    t[2] = (char)('0' + hh % 10);
    t[3] = ':';
    t[4] = (char)('0' + mm / 10);
    t[5] = (char)('0' + mm % 10);
    t[6] = ':';
    t[7] = (char)('0' + ss / 10);
    t[8] = (char)('0' + ss % 10);
    t[9] = 'Z';
    out_str(o, g_day_str);
    out_mem(o, t, 10);
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) -> unix seconds */
static bool parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    size_t len = strlen(s);
    if (len == 10) {
        if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
            return false;
    } else if (len == 20 && (s[10] == 'T' || s[10] == 't') && (s[19] == 'Z' || s[19] == 'z')) {
        if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
            return false;
    } else {
        return false;
    }
    if (s[4] != '-' || s[7] != '-')
        return false;
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || se > 59)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return false;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return true;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------ */
/* journey.json                                                              */

static void out_jstr(Out *o, const char *s)
{
    out_ch(o, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out_ch(o, '\\');
            out_ch(o, (char)c);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            out_str(o, e);
        } else {
            out_ch(o, (char)c);
        }
    }
    out_ch(o, '"');
}

static void out_indent(Out *o, int n)
{
    for (int i = 0; i < n; i++)
        out_str(o, "  ");
}

static void out_name(Out *o, int ind, const char *vi, const char *en)
{
    out_indent(o, ind);
    out_str(o, "\"name\": {\n");
    out_indent(o, ind + 1);
    out_str(o, "\"vi\": ");
    out_jstr(o, vi);
    out_str(o, ",\n");
    out_indent(o, ind + 1);
    out_str(o, "\"en\": ");
    out_jstr(o, en);
    out_str(o, "\n");
    out_indent(o, ind);
    out_str(o, "},\n");
}

static void write_journey_json(Out *o, const Journey *j)
{
    if (j->raw) {
        out_mem(o, j->raw, j->raw_len);
        return;
    }
    out_str(o, "{\n  \"key\": ");
    out_jstr(o, j->key);
    out_str(o, ",\n");
    out_name(o, 1, j->vi, j->en);
    out_str(o, "  \"stages\": [\n");
    for (int s = 0; s < j->nst; s++) {
        const Stage *st = &j->st[s];
        out_str(o, "    {\n      \"key\": ");
        out_jstr(o, st->key);
        out_str(o, ",\n");
        out_name(o, 3, st->vi, st->en);
        out_str(o, "      \"touchpoints\": [\n");
        for (int i = st->first; i < st->first + st->count; i++) {
            const Tp *t = &j->tp[i];
            char num[64];
            out_str(o, "        {\n          \"key\": ");
            out_jstr(o, t->key);
            out_str(o, ",\n");
            out_name(o, 5, t->vi, t->en);
            out_str(o, "          \"channel\": ");
            out_jstr(o, CHANNELS[t->channel]);
            out_str(o, ",\n          \"department\": ");
            out_jstr(o, DEPTS[t->dept]);
            snprintf(num, sizeof num, "%.1f", t->exp_csat);
            out_str(o, ",\n          \"expected\": {\n            \"csat\": ");
            out_str(o, num);
            out_str(o, ",\n            \"nps\": ");
            out_i64(o, t->exp_nps);
            out_str(o, "\n          }\n        }");
            out_str(o, i + 1 < st->first + st->count ? ",\n" : "\n");
        }
        out_str(o, "      ]\n    }");
        out_str(o, s + 1 < j->nst ? ",\n" : "\n");
    }
    out_str(o, "  ]\n}\n");
}

/* ------------------------------------------------------------------------ */
/* Generation                                                                */

typedef struct {
    uint32_t off;  /* seconds since --start */
    uint32_t cust; /* 1-based */
    uint32_t value;
    uint8_t tp, ch, type, pad;
} Rec;

typedef struct {
    uint64_t eid;
    uint32_t rt; /* seconds since --start */
    uint32_t cust;
    uint16_t comment; /* 0 = none, else 1 + template index */
    uint8_t tp, ch, metric, score, flags;
} Resp;

enum { RF_EN = 1, RF_FOLD = 2 };

typedef struct {
    const char *tmpl;
    const char *template_file;
    uint64_t customers, events, responses, seed;
    int64_t start, end;
    const char *out;
    bool sql, quiet, print_journey;
} Opts;

/* time of day (local, Asia/Ho_Chi_Minh) activity profile */
static const double HOUR_W[24] = {0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.8, 1.6, 2.6, 3.4, 3.6, 3.4,
                                  3.0, 2.8, 3.0, 3.2, 3.2, 3.3, 3.6, 4.4, 5.0, 4.8, 3.6, 1.8};
static double g_hour_cum[24];
#define TZ_OFFSET 25200 /* UTC+7 */

static int64_t sample_tod(Rng *r)
{
    double u = rng_unif(r);
    int h = 0;
    while (h < 23 && u >= g_hour_cum[h])
        h++;
    return (int64_t)h * 3600 + (int64_t)rng_below(r, 3600);
}

static int pick_tp(const Journey *j, int s, Rng *r)
{
    const Stage *st = &j->st[s];
    double u = rng_unif(r);
    for (int i = 0; i < st->count - 1; i++)
        if (u < st->cum[i])
            return st->first + i;
    return st->first + st->count - 1;
}

static int next_stage(const Journey *j, int s, Rng *r)
{
    double u = rng_unif(r);
    if (u < 0.45)
        return s;
    if (u < 0.80)
        return s + 1 < j->nst ? s + 1 : j->loop[rng_below(r, (uint64_t)j->nloop)];
    if (u < 0.95)
        return s > 0 ? s - 1 : s;
    return (int)rng_below(r, (uint64_t)j->nst);
}

static int event_type(const Tp *t, int ch, Rng *r)
{
    double u = rng_unif(r);
    if (u < t->p_purchase)
        return T_PURCHASE;
    u = rng_unif(r);
    if (u < t->p_complaint)
        return T_COMPLAINT;
    if (u < t->p_complaint + t->p_delivery)
        return T_DELIVERY;
    u = rng_unif(r);
    switch (ch) {
    case CH_WEB: return u < 0.6 ? T_VIEW : T_CLICK;
    case CH_APP: return u < 0.5 ? T_VIEW : T_CLICK;
    case CH_EMAIL: return u < 0.55 ? T_VIEW : T_CLICK;
    case CH_PHONE: return T_CALL;
    case CH_STORE: return T_VISIT;
    case CH_SOCIAL: return u < 0.5 ? T_VIEW : u < 0.8 ? T_CLICK : T_MESSAGE;
    case CH_CHAT: return T_MESSAGE;
    default: return u < 0.6 ? T_VIEW : T_CLICK;
    }
}

static double customer_disposition(uint64_t seed, uint32_t cust)
{
    Rng r;
    rng_seed(&r, seed, STREAM_DISP, cust);
    return 0.5 * rng_normal(&r);
}

/* latent satisfaction -> score scales */
#define NPS_MU 8.10
#define NPS_SD 2.1
#define CSAT_MU 3.95
#define CSAT_SD 0.95
#define CES_MU 5.2
#define CES_SD 1.3

static int clampi(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}


/* comment template lists per language (0 vi, 1 en) and sentiment */
static int g_cidx[2][3][64];
static int g_ccount[2][3];

static void comments_init(void)
{
    for (size_t i = 0; i < N_COMMENTS_VI; i++) {
        g_folded_vi[i] = fold_vi(COMMENTS_VI[i].text);
        int s = COMMENTS_VI[i].sent;
        g_cidx[0][s][g_ccount[0][s]++] = (int)i;
    }
    for (size_t i = 0; i < N_COMMENTS_EN; i++) {
        int s = COMMENTS_EN[i].sent;
        g_cidx[1][s][g_ccount[1][s]++] = (int)i;
    }
}

static void comments_free(void)
{
    for (size_t i = 0; i < N_COMMENTS_VI; i++)
        free(g_folded_vi[i]);
}

static uint16_t pick_comment(int lang, int sent, unsigned themes, Rng *r)
{
    const CommentDef *defs = lang ? COMMENTS_EN : COMMENTS_VI;
    const int *ix = g_cidx[lang][sent];
    int n = g_ccount[lang][sent];
    if (rng_unif(r) < 0.7) { /* mostly about what this touchpoint is about */
        int seen = 0, chosen = -1;
        for (int i = 0; i < n; i++)
            if (defs[ix[i]].theme & themes) {
                seen++;
                if (rng_below(r, (uint64_t)seen) == 0)
                    chosen = ix[i];
            }
        if (chosen >= 0)
            return (uint16_t)(chosen + 1);
    }
    return (uint16_t)(ix[rng_below(r, (uint64_t)n)] + 1);
}

static void make_response(Resp *out, const Rec *e, uint64_t eid, const Journey *j, uint64_t seed,
                          uint32_t period, Rng *r)
{
    const Tp *t = &j->tp[e->tp];
    double delay = exp(log(5400.0) + 1.2 * rng_normal(r));
    delay = delay < 120.0 ? 120.0 : delay > 86400.0 ? 86400.0 : delay;
    uint64_t rt = (uint64_t)e->off + (uint64_t)delay;
    if (rt > (uint64_t)period - 1)
        rt = (uint64_t)period - 1; /* stay inside [start, end) */
    double trend = 0.15 * ((double)rt / (double)period - 0.5);
    double u = t->quality + CH_EFFECT[e->ch] + customer_disposition(seed, e->cust) +
               TYPE_EFFECT[e->type] + trend + 0.85 * rng_normal(r);
    double m = rng_unif(r);
    int metric = m < 0.45 ? M_NPS : m < 0.83 ? M_CSAT : M_CES;
    int score, sent;
    switch (metric) {
    case M_NPS:
        score = clampi(lround(NPS_MU + NPS_SD * u), 0, 10);
        sent = score <= 6 ? S_NEG : score <= 8 ? S_NEU : S_POS;
        break;
    case M_CSAT:
        score = clampi(lround(CSAT_MU + CSAT_SD * u), 1, 5);
        sent = score <= 2 ? S_NEG : score == 3 ? S_NEU : S_POS;
        break;
    default: /* CES 1-7, 7 = very easy (CES 2.0 agreement scale) */
        score = clampi(lround(CES_MU + CES_SD * u), 1, 7);
        sent = score <= 3 ? S_NEG : score == 4 ? S_NEU : S_POS;
        break;
    }
    memset(out, 0, sizeof *out);
    out->eid = eid;
    out->rt = (uint32_t)rt;
    out->cust = e->cust;
    out->tp = e->tp;
    out->ch = e->ch;
    out->metric = (uint8_t)metric;
    out->score = (uint8_t)score;
    static const double P_COMMENT[3] = {0.36, 0.18, 0.26};
    if (rng_unif(r) < P_COMMENT[sent]) {
        int lang = rng_unif(r) < 0.75 ? 0 : 1;
        out->comment = pick_comment(lang, sent, t->themes, r);
        if (lang)
            out->flags |= RF_EN;
        else if (rng_unif(r) < 0.20)
            out->flags |= RF_FOLD;
    }
}

static int resp_cmp(const void *a, const void *b)
{
    const Resp *x = a, *y = b;
    if (x->rt != y->rt)
        return x->rt < y->rt ? -1 : 1;
    return x->eid < y->eid ? -1 : x->eid > y->eid;
}

/* stable LSD radix sort by off - base (32 bits, two 16-bit passes) */
static size_t g_count[65536];

static void radix_sort(Rec *a, Rec *tmp, size_t n, uint32_t base)
{
    for (int pass = 0; pass < 2; pass++) {
        Rec *src = pass ? tmp : a, *dst = pass ? a : tmp;
        int shift = pass * 16;
        memset(g_count, 0, sizeof g_count);
        for (size_t i = 0; i < n; i++)
            g_count[((src[i].off - base) >> shift) & 0xFFFF]++;
        size_t acc = 0;
        for (size_t k = 0; k < 65536; k++) {
            size_t c = g_count[k];
            g_count[k] = acc;
            acc += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[g_count[((src[i].off - base) >> shift) & 0xFFFF]++] = src[i];
    }
}

/* ------------------------------------------------------------------------ */
/* Progress                                                                  */

static double g_t0, g_last_progress;
static bool g_quiet;

__attribute__((format(printf, 1, 2)))
static void progress(const char *fmt, ...)
{
    if (g_quiet)
        return;
    double t = now_sec();
    if (t - g_last_progress < 2.0)
        return;
    g_last_progress = t;
    va_list ap;
    fprintf(stderr, "%s: [%5.1fs] ", g_prog, t - g_t0);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tpgen --out DIR [options]\n"
            "\n"
            "Generate a realistic Touchpoint CX data set as CSV files.\n"
            "\n"
            "  --template NAME       retail-vn (21 touchpoints, before/during/after, default)\n"
            "                        or bench (40 touchpoints tp01..tp40 in 5 stages)\n"
            "  --template-file PATH  use this journey JSON instead (copied to journey.json;\n"
            "                        at most %d touchpoints)\n"
            "  --customers N         customer pool (default 1000); customers with events <= N\n"
            "  --events N            exactly N events (default 20000)\n"
            "  --responses N         exactly N survey responses, N <= events (default 2000)\n"
            "  --seed S              random seed (default 1); same seed, same bytes\n"
            "  --start DATE          period start, YYYY-MM-DD or RFC 3339 UTC (default 2023-01-01)\n"
            "  --end DATE            period end, exclusive (default 2025-01-01)\n"
            "  --out DIR             output directory (created if missing)\n"
            "  --sql                 also write events_sql.csv and responses_sql.csv (integer ids,\n"
            "                        unix seconds, no header) for the shared/bench q*.sql queries\n"
            "  --quiet, -q           no progress lines (the summary line is still printed)\n"
            "  --print-journey       write the journey JSON to stdout and exit\n"
            "  --help, -h            this text\n"
            "  --version             print the version\n"
            "\n"
            "Files: journey.json, events.csv (id,customer,touchpoint,channel,type,time,value,\n"
            "currency), responses.csv (id,customer,touchpoint,channel,metric,score,time,comment,\n"
            "language,event); both in global time order.\n"
            "\n"
            "Example (the standard benchmark):\n"
            "  tpgen --template bench --customers 1000000 --events 20000000 \\\n"
            "        --responses 2000000 --seed 1 --out bench-data --sql\n"
            "\n"
            "Exit status: 0 on success, 2 on bad arguments or I/O errors.\n",
            MAX_TP);
}

static uint64_t parse_u64(const char *s, const char *opt, uint64_t max)
{
    if (!s || !*s)
        die("%s needs a value", opt);
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            die("%s: \"%s\" is not a non-negative integer", opt, s);
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v > max)
        die("%s: %s is out of range (max %" PRIu64 ")", opt, s, max);
    return (uint64_t)v;
}

static void parse_args(int argc, char **argv, Opts *o)
{
    memset(o, 0, sizeof *o);
    o->tmpl = "retail-vn";
    o->customers = 1000;
    o->events = 20000;
    o->responses = 2000;
    o->seed = 1;
    const char *start = "2023-01-01", *end = "2025-01-01";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("tpgen %s\n", TPGEN_VERSION);
            exit(0);
        }
        if (strcmp(a, "--sql") == 0) {
            o->sql = true;
            continue;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = true;
            continue;
        }
        if (strcmp(a, "--print-journey") == 0) {
            o->print_journey = true;
            continue;
        }
        static const char *const VALUE_OPTS[] = {"--template", "--template-file", "--customers",
                                                 "--events", "--responses", "--seed", "--out",
                                                 "--start", "--end"};
        if (strncmp(a, "--", 2) != 0)
            die("unexpected argument \"%s\" (try --help)", a);
        /* --opt value or --opt=value */
        char name[32];
        const char *val;
        const char *eq = strchr(a, '=');
        if (eq) {
            size_t n = (size_t)(eq - a);
            if (n >= sizeof name)
                die("unknown option \"%s\" (try --help)", a);
            memcpy(name, a, n);
            name[n] = 0;
            val = eq + 1;
        } else {
            if (strlen(a) >= sizeof name)
                die("unknown option \"%s\" (try --help)", a);
            strcpy(name, a);
            if (lookup(VALUE_OPTS, (int)(sizeof VALUE_OPTS / sizeof VALUE_OPTS[0]), name) < 0)
                die("unknown option \"%s\" (try --help)", a);
            if (i + 1 >= argc)
                die("%s needs a value", a);
            val = argv[++i];
        }
        if (strcmp(name, "--template") == 0)
            o->tmpl = val;
        else if (strcmp(name, "--template-file") == 0)
            o->template_file = val;
        else if (strcmp(name, "--customers") == 0)
            o->customers = parse_u64(val, name, 4000000000ULL);
        else if (strcmp(name, "--events") == 0)
            o->events = parse_u64(val, name, 1000000000000ULL);
        else if (strcmp(name, "--responses") == 0)
            o->responses = parse_u64(val, name, 1000000000000ULL);
        else if (strcmp(name, "--seed") == 0)
            o->seed = parse_u64(val, name, UINT64_MAX);
        else if (strcmp(name, "--out") == 0)
            o->out = val;
        else if (strcmp(name, "--start") == 0)
            start = val;
        else if (strcmp(name, "--end") == 0)
            end = val;
        else
            die("unknown option \"%s\" (try --help)", name);
    }
    if (!o->template_file && strcmp(o->tmpl, "retail-vn") != 0 && strcmp(o->tmpl, "bench") != 0)
        die("--template must be retail-vn or bench, not \"%s\"", o->tmpl);
    if (!parse_time(start, &o->start))
        die("--start: \"%s\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", start);
    if (!parse_time(end, &o->end))
        die("--end: \"%s\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ", end);
    if (o->end <= o->start)
        die("--end must be after --start");
    if (o->end - o->start > (int64_t)UINT32_MAX)
        die("the period is too long");
    if (o->print_journey)
        return;
    if (!o->out || !*o->out)
        die("--out DIR is required (try --help)");
    if (o->customers < 1)
        die("--customers must be at least 1");
    if (o->responses > o->events)
        die("--responses (%" PRIu64 ") cannot exceed --events (%" PRIu64
            "): each response is attached to its own event",
            o->responses, o->events);
}

static void mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            die("cannot create directory %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        die("cannot create directory %s: %s", p, strerror(errno));
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        die("%s is not a directory", p);
    if (access(p, W_OK | X_OK) != 0)
        die("cannot write to directory %s: %s", p, strerror(errno));
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */

typedef struct {
    FILE *f;
    char *vbuf;
    uint64_t count;
} Bucket;

int main(int argc, char **argv)
{
    Opts o;
    parse_args(argc, argv, &o);
    g_quiet = o.quiet;
    g_t0 = g_last_progress = now_sec();

    Journey j;
    memset(&j, 0, sizeof j);
    if (o.template_file)
        build_from_file(&j, o.template_file);
    else if (strcmp(o.tmpl, "bench") == 0)
        build_bench(&j);
    else
        build_retail_vn(&j);

    if (o.print_journey) {
        Out so = {stdout, xstrdup("stdout"), xmalloc(1 << 16), 0, 1 << 16};
        write_journey_json(&so, &j);
        out_flush(&so);
        if (fflush(stdout) != 0)
            die("write error on stdout");
        free(so.buf);
        free(so.path);
        journey_free(&j);
        return 0;
    }

    const uint64_t N = o.customers, E = o.events, R = o.responses, seed = o.seed;
    const uint32_t P = (uint32_t)(o.end - o.start);
    const double mean_len = (double)E / (double)N;
    const uint64_t len_cap = (uint64_t)fmin((double)P, fmax(100.0, 60.0 * mean_len + 100.0));
    if (E > N * len_cap)
        die("%" PRIu64 " events do not fit: at most %" PRIu64 " per customer in this period", E,
            len_cap);

    mkdir_p(o.out);
    journey_prepare(&j, mean_len);
    comments_init();
    double acc = 0, htot = 0;
    for (int h = 0; h < 24; h++)
        htot += HOUR_W[h];
    for (int h = 0; h < 24; h++) {
        acc += HOUR_W[h];
        g_hour_cum[h] = acc / htot;
    }

    {
        Out jo;
        out_open(&jo, o.out, "journey.json");
        write_journey_json(&jo, &j);
        out_close(&jo);
    }

    /* Phase 0: journey lengths (lognormal, scaled to sum exactly to E) */
    uint32_t *len = xcalloc((size_t)N, sizeof *len);
    {
        Rng rl;
        rng_seed(&rl, seed, STREAM_LEN, 0);
        uint64_t tot = 0;
        if (E > 0) {
            float *x = xmalloc((size_t)N * sizeof *x);
            double sum = 0;
            for (uint64_t c = 0; c < N; c++) {
                x[c] = (float)exp(1.1 * rng_normal(&rl));
                sum += x[c];
            }
            double scale = (double)E / sum;
            for (uint64_t c = 0; c < N; c++) {
                double l = (double)x[c] * scale, fl = floor(l);
                uint64_t lc = (uint64_t)fl + (rng_unif(&rl) < l - fl ? 1 : 0);
                if (lc > len_cap)
                    lc = len_cap;
                len[c] = (uint32_t)lc;
                tot += lc;
            }
            free(x);
        }
        while (tot < E) {
            uint64_t c = rng_below(&rl, N);
            if (len[c] < len_cap) {
                len[c]++;
                tot++;
            }
        }
        while (tot > E) {
            uint64_t c = rng_below(&rl, N);
            if (len[c] > 0) {
                len[c]--;
                tot--;
            }
        }
    }

    /* Phase 1: journeys into time-bucket temp files */
    uint64_t nb64 = E / 1000000 + 1;
    if (nb64 > 256)
        nb64 = 256;
    if (nb64 > P)
        nb64 = P;
    const uint32_t nb = (uint32_t)nb64;
    Bucket *bk = xcalloc(nb, sizeof *bk);
    size_t dlen = strlen(o.out) + 32;
    char *tmpl = xmalloc(dlen);
    for (uint32_t b = 0; b < nb; b++) {
        snprintf(tmpl, dlen, "%s/.tpgen-XXXXXX", o.out);
        int fd = mkstemp(tmpl);
        if (fd < 0)
            die("cannot create a temp file in %s: %s", o.out, strerror(errno));
        unlink(tmpl);
        bk[b].f = fdopen(fd, "w+b");
        if (!bk[b].f)
            die("fdopen: %s", strerror(errno));
        bk[b].vbuf = xmalloc(1 << 18);
        setvbuf(bk[b].f, bk[b].vbuf, _IOFBF, 1 << 18);
    }
    free(tmpl);

    int64_t *rel = xmalloc((size_t)len_cap * sizeof *rel);
    int64_t *rel2 = xmalloc((size_t)len_cap * sizeof *rel2);
    uint64_t wtot = 0, purchases = 0, active = 0, done_events = 0;
    for (uint64_t c = 0; c < N; c++) {
        uint32_t L = len[c];
        if ((c & 4095) == 0)
            progress("journeys: %" PRIu64 "/%" PRIu64 " customers, %" PRIu64 " events", c, N,
                     done_events);
        if (L == 0)
            continue;
        active++;
        Rng r;
        uint32_t cust = (uint32_t)(c + 1);
        rng_seed(&r, seed, STREAM_CUST, cust);
        /* active lifetime (median 90 days) shared by the journey's sessions:
         * heavy users come back more often */
        double life = exp(log(90.0) + 0.8 * rng_normal(&r));
        double gap_days = fmin(life, 700.0) / fmax(1.0, 0.45 * (double)(L - 1));
        double spend = exp(0.5 * rng_normal(&r));

        /* times relative to local midnight of the journey's first day */
        rel[0] = sample_tod(&r);
        for (uint32_t i = 1; i < L; i++) {
            if (rng_unif(&r) < 0.55) { /* same session */
                double g = 5.0 + rng_exp(&r, 100.0);
                rel[i] = rel[i - 1] + (int64_t)(g > 1800.0 ? 1800.0 : g);
            } else {
                double d = floor(rng_exp(&r, gap_days));
                if (d < 1.0) { /* later the same day */
                    rel[i] = rel[i - 1] + 1800 + (int64_t)fmin(rng_exp(&r, 4.0 * 3600.0), 86400.0);
                } else {
                    int64_t days = (int64_t)(d > 400.0 ? 400.0 : d);
                    rel[i] = (rel[i - 1] / 86400 + days) * 86400 + sample_tod(&r);
                }
            }
        }
        int64_t span = rel[L - 1] - rel[0];
        const int64_t avail = (int64_t)P - 1;
        if (span <= avail) {
            /* Place the first event on a uniformly chosen day (keeping its
             * time of day) and wrap around the period: the events that run
             * past the end become the customer's earliest ones in the window
             * (a journey already under way when the window opens).  Event
             * density stays flat up to the edges and the count stays exact.
             * Times are then sorted, so the walk below stays a Markov chain. */
            int64_t ndays = ((int64_t)P + 86399) / 86400;
            int64_t a0 = (int64_t)rng_below(&r, (uint64_t)ndays) * 86400 + rel[0] - TZ_OFFSET;
            a0 -= floor_div(a0, (int64_t)P) * (int64_t)P;
            uint32_t k = L; /* first wrapped event */
            for (uint32_t i = 0; i < L; i++) {
                int64_t v = a0 + (rel[i] - rel[0]);
                if (v >= (int64_t)P) {
                    v -= (int64_t)P;
                    if (k == L)
                        k = i;
                }
                rel2[i] = v;
            }
            for (uint32_t i = 0; i < L; i++)
                rel[i] = rel2[(k + i) % L];
        } else {
            /* too long for the period: compress the gaps (each stays >= 1 s) */
            double ratio = (double)(avail - (int64_t)(L - 1)) / (double)(span - (int64_t)(L - 1));
            ratio *= 1.0 - 1e-12;
            int64_t prev = rel[0], t = 0;
            rel[0] = 0;
            for (uint32_t i = 1; i < L; i++) {
                int64_t g = rel[i] - prev;
                prev = rel[i];
                t += 1 + (int64_t)floor((double)(g - 1) * ratio);
                rel[i] = t;
            }
            if (rel[L - 1] > avail) /* cannot happen; be safe */
                for (uint32_t i = 0; i < L; i++)
                    rel[i] = (int64_t)i;
            int64_t st = (int64_t)rng_below(&r, (uint64_t)(avail - rel[L - 1] + 1));
            for (uint32_t i = 0; i < L; i++)
                rel[i] += st;
        }

        /* the walk over the journey */
        double u0 = rng_unif(&r);
        int s = 0;
        while (s < j.nst - 1 && u0 >= j.start_cum[s])
            s++;
        int tp = pick_tp(&j, s, &r);
        for (uint32_t i = 0; i < L; i++) {
            if (i > 0) {
                s = next_stage(&j, s, &r);
                tp = pick_tp(&j, s, &r);
            }
            const Tp *t = &j.tp[tp];
            double uc = rng_unif(&r);
            int ch = uc < j.ch_primary ? t->channel
                     : uc < j.ch_secondary ? t->channel2
                                           : (int)rng_below(&r, N_CH);
            int type = event_type(t, ch, &r);
            Rec e;
            memset(&e, 0, sizeof e);
            e.off = (uint32_t)rel[i];
            e.cust = cust;
            e.tp = (uint8_t)tp;
            e.ch = (uint8_t)ch;
            e.type = (uint8_t)type;
            if (type == T_PURCHASE) {
                double v = 450000.0 * spend * exp(0.9 * rng_normal(&r));
                v = v < 50000.0 ? 50000.0 : v > 20000000.0 ? 20000000.0 : v;
                e.value = (uint32_t)llround(v / 1000.0) * 1000u;
                purchases++;
            }
            uint32_t b = (uint32_t)((uint64_t)e.off * nb / P);
            if (fwrite(&e, sizeof e, 1, bk[b].f) != 1)
                die("write error on a temp file in %s: %s", o.out, strerror(errno));
            bk[b].count++;
            wtot += TYPE_WEIGHT[type];
        }
        done_events += L;
    }
    free(rel);
    free(rel2);
    free(len);

    /* Phase 2: sort each bucket, write events, attach responses */
    uint64_t maxc = 0;
    for (uint32_t b = 0; b < nb; b++)
        if (bk[b].count > maxc)
            maxc = bk[b].count;
    Rec *ra = xmalloc((size_t)maxc * sizeof *ra), *rtmp = xmalloc((size_t)maxc * sizeof *rtmp);
    size_t rcap = 1024, rn = 0;
    Resp *resp = xmalloc(rcap * sizeof *resp);

    Out ev, rs, evs = {0}, rss = {0};
    out_open(&ev, o.out, "events.csv");
    out_open(&rs, o.out, "responses.csv");
    out_str(&ev, "id,customer,touchpoint,channel,type,time,value,currency\n");
    out_str(&rs, "id,customer,touchpoint,channel,metric,score,time,comment,language,event\n");
    if (o.sql) {
        out_open(&evs, o.out, "events_sql.csv");
        out_open(&rss, o.out, "responses_sql.csv");
    }
    Rng rr;
    rng_seed(&rr, seed, STREAM_RESP, 0);
    uint64_t eid = 0, rid = 0, need = R, remaining = E, wrem = wtot;
    uint64_t nps_n = 0, nps_pro = 0, nps_det = 0, comments = 0;
    const int64_t t0 = o.start;

    for (uint32_t b = 0; b < nb; b++) {
        size_t cnt = (size_t)bk[b].count;
        if (fflush(bk[b].f) != 0 || fseek(bk[b].f, 0, SEEK_SET) != 0)
            die("temp file error: %s", strerror(errno));
        if (cnt && fread(ra, sizeof *ra, cnt, bk[b].f) != cnt)
            die("temp file read error");
        fclose(bk[b].f);
        free(bk[b].vbuf);
        bk[b].f = NULL;
        uint32_t bstart = (uint32_t)(((uint64_t)b * P + nb - 1) / nb);
        uint64_t bnext = b + 1 < nb ? ((uint64_t)(b + 1) * P + nb - 1) / nb : UINT64_MAX;
        radix_sort(ra, rtmp, cnt, bstart);

        for (size_t i = 0; i < cnt; i++) {
            const Rec *e = &ra[i];
            const Tp *t = &j.tp[e->tp];
            int64_t ts = t0 + e->off;
            eid++;
            if ((eid & 0xFFFF) == 0)
                progress("writing: %" PRIu64 "/%" PRIu64 " events, %" PRIu64 " responses", eid, E,
                         rid);
            out_reserve(&ev, 256);
            out_ch(&ev, 'e');
            out_u64w(&ev, eid, 10);
            out_str(&ev, ",c");
            out_u64w(&ev, e->cust, 7);
            out_ch(&ev, ',');
            out_str(&ev, t->key);
            out_ch(&ev, ',');
            out_str(&ev, CHANNELS[e->ch]);
            out_ch(&ev, ',');
            out_str(&ev, TYPES[e->type]);
            out_ch(&ev, ',');
            out_time(&ev, ts);
            if (e->type == T_PURCHASE) {
                out_ch(&ev, ',');
                out_u64(&ev, e->value);
                out_str(&ev, ",VND\n");
            } else {
                out_str(&ev, ",,\n");
            }
            if (o.sql) {
                out_reserve(&evs, 128);
                out_u64(&evs, eid);
                out_ch(&evs, ',');
                out_u64(&evs, e->cust);
                out_ch(&evs, ',');
                out_u64(&evs, (uint64_t)e->tp + 1);
                out_ch(&evs, ',');
                out_u64(&evs, (uint64_t)e->ch + 1);
                out_ch(&evs, ',');
                out_i64(&evs, ts);
                out_ch(&evs, ',');
                out_str(&evs, TYPES[e->type]);
                out_ch(&evs, ',');
                if (e->type == T_PURCHASE)
                    out_u64(&evs, e->value);
                out_ch(&evs, '\n');
            }
            /* weighted selection sampling: exactly R of E events get a response */
            uint64_t w = TYPE_WEIGHT[e->type];
            if (need > 0 && (need >= remaining || rng_unif(&rr) * (double)wrem < (double)w * (double)need)) {
                if (rn == rcap) {
                    rcap *= 2;
                    resp = xrealloc(resp, rcap * sizeof *resp);
                }
                make_response(&resp[rn++], e, eid, &j, seed, P, &rr);
                need--;
            }
            remaining--;
            wrem -= w;
        }

        /* responses due before the next bucket starts are final */
        qsort(resp, rn, sizeof *resp, resp_cmp);
        size_t k = 0;
        for (; k < rn && (uint64_t)resp[k].rt < bnext; k++) {
            const Resp *x = &resp[k];
            const Tp *t = &j.tp[x->tp];
            int64_t ts = t0 + x->rt;
            rid++;
            out_reserve(&rs, 512);
            out_ch(&rs, 'r');
            out_u64w(&rs, rid, 10);
            out_str(&rs, ",c");
            out_u64w(&rs, x->cust, 7);
            out_ch(&rs, ',');
            out_str(&rs, t->key);
            out_ch(&rs, ',');
            out_str(&rs, CHANNELS[x->ch]);
            out_ch(&rs, ',');
            out_str(&rs, METRICS[x->metric]);
            out_ch(&rs, ',');
            out_u64(&rs, x->score);
            out_ch(&rs, ',');
            out_time(&rs, ts);
            out_ch(&rs, ',');
            if (x->comment) {
                bool en = x->flags & RF_EN;
                size_t ci = (size_t)x->comment - 1;
                const char *text = en ? COMMENTS_EN[ci].text
                                   : (x->flags & RF_FOLD) ? g_folded_vi[ci]
                                                          : COMMENTS_VI[ci].text;
                out_csv(&rs, text);
                out_str(&rs, en ? ",en," : ",vi,");
                comments++;
            } else {
                out_str(&rs, ",,");
            }
            out_ch(&rs, 'e');
            out_u64w(&rs, x->eid, 10);
            out_ch(&rs, '\n');
            if (o.sql) {
                out_reserve(&rss, 128);
                out_u64(&rss, rid);
                out_ch(&rss, ',');
                out_u64(&rss, x->cust);
                out_ch(&rss, ',');
                out_u64(&rss, (uint64_t)x->tp + 1);
                out_ch(&rss, ',');
                out_u64(&rss, (uint64_t)x->ch + 1);
                out_ch(&rss, ',');
                out_str(&rss, METRICS[x->metric]);
                out_ch(&rss, ',');
                out_u64(&rss, x->score);
                out_ch(&rss, ',');
                out_i64(&rss, ts);
                out_ch(&rss, ',');
                out_u64(&rss, x->eid);
                out_ch(&rss, '\n');
            }
            if (x->metric == M_NPS) {
                nps_n++;
                nps_pro += x->score >= 9;
                nps_det += x->score <= 6;
            }
        }
        memmove(resp, resp + k, (rn - k) * sizeof *resp);
        rn -= k;
    }
    if (rn != 0 || rid != R || eid != E)
        die("internal error: wrote %" PRIu64 " events, %" PRIu64 " responses", eid, rid);

    out_close(&ev);
    out_close(&rs);
    if (o.sql) {
        out_close(&evs);
        out_close(&rss);
    }
    free(ra);
    free(rtmp);
    free(resp);
    free(bk);

    double nps = nps_n ? 100.0 * ((double)nps_pro - (double)nps_det) / (double)nps_n : 0.0;
    fprintf(stderr,
            "%s: wrote %" PRIu64 " events (%" PRIu64 " purchases, %.1f%%), %" PRIu64
            " responses (%" PRIu64 " with comments), %" PRIu64 " customers with events, "
            "journey %s (%d touchpoints) to %s in %.1f s; overall NPS %+.1f (n=%" PRIu64 ")\n",
            g_prog, E, purchases, E ? 100.0 * (double)purchases / (double)E : 0.0, R, comments,
            active, j.key, j.ntp, o.out, now_sec() - g_t0, nps, nps_n);
    comments_free();
    journey_free(&j);
    return 0;
}
