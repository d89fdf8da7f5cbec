/*
 * tploadgen - load generator for the Touchpoint event ingestion API.
 *
 * Sends POST /v1/events requests over C keep-alive HTTP/1.1 connections (one
 * thread per connection), each request carrying one JSON event
 * (application/json) or a batch of NDJSON events (application/x-ndjson).
 * Optionally records every id it sends (--sent) and every id the server
 * acknowledged with a 2xx answer (--acked), so crash tests can verify that
 * no acknowledged event was lost.
 *
 * Only loopback addresses are accepted in --url: this tool must never send
 * load to another machine.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra tools/tploadgen.c \
 *            -o tploadgen -pthread -lm
 *
 * Exit status: 0 when the run happened (whatever the server answered),
 *              1 on a setup failure (cannot open an output file, no memory),
 *              2 on bad arguments (including a non-loopback --url).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256u
#define MAX_BATCH 10000u
#define MAX_TOUCHPOINTS 64u
#define MAX_TP_LEN 128u
#define MAX_PREFIX_LEN 64u
#define MAX_KEY_LEN 4096u
#define MAX_RESP ((size_t)16 << 20) /* largest response we accept */
#define MAX_HDR ((size_t)64 << 10)  /* largest response head we accept */
#define RBUF_INIT ((size_t)64 << 10)
#define DEFAULT_ATTEMPTS 10u
#define MAX_RETRY_AFTER_S 30L       /* cap on a server's Retry-After */
#define BACKOFF_MIN_MS 20u
#define BACKOFF_MAX_MS 1000u
#define GRACE_MAX_NS 2000000000ull  /* in-flight grace after --seconds */
#define POLL_SLICE_MS 200

/* ---------------------------------------------------------------------- */
/* Latency histogram: log-linear, 64 sub-buckets per power of two, values in
 * microseconds; relative error below 1/64.  Exact below 128 us. */
#define H_SUB_BITS 6u
#define H_SUB (1u << H_SUB_BITS)
#define H_BUCKETS (2u * H_SUB + 57u * H_SUB)

static size_t h_index(uint64_t v)
{
    if (v < 2u * H_SUB)
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - H_SUB_BITS;
    size_t sub = (size_t)(v >> shift);
    return 2u * H_SUB + (size_t)(shift - 1u) * H_SUB + (sub - H_SUB);
}

static uint64_t h_value(size_t idx)
{
    if (idx < 2u * H_SUB)
        return (uint64_t)idx;
    size_t k = idx - 2u * H_SUB;
    unsigned shift = (unsigned)(k / H_SUB) + 1u;
    uint64_t sub = (uint64_t)(k % H_SUB) + H_SUB;
    return (sub << shift) + ((1ull << shift) >> 1);
}

/* ---------------------------------------------------------------------- */
/* Configuration (read-only once threads start). */
typedef struct {
    char host_hdr[300];
    char path[1024];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *fixed_head;     /* "POST path HTTP/1.1\r\nHost: ..\r\nAuthorization: ..\r\n" */
    size_t fixed_head_len;
    unsigned connections;
    unsigned batch_min, batch_max;
    uint64_t requests;    /* 0 = unlimited */
    double seconds;       /* 0 = unlimited */
    char *tp[MAX_TOUCHPOINTS]; /* JSON-escaped touchpoints */
    size_t tp_len[MAX_TOUCHPOINTS];
    size_t ntp;
    size_t tp_maxlen;
    char prefix[MAX_PREFIX_LEN + 1];
    size_t prefix_len;
    int acked_fd, sent_fd;
    uint64_t seed;
    bool retry;
    unsigned max_attempts;
    uint64_t io_timeout_ns;
    size_t ev_max;        /* upper bound of one formatted event */
} config;

static config g;
static atomic_uint_fast64_t g_claimed;
static atomic_int g_stop;           /* set by SIGINT / SIGTERM */
static uint64_t g_deadline_ns;      /* soft: no new request after it; 0 none */
static uint64_t g_hard_deadline_ns; /* hard: in-flight requests abandoned; 0 none */
static pthread_mutex_t g_acked_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_sent_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------------- */
typedef struct {
    unsigned idx;
    pthread_t th;
    uint64_t rng;
    int fd;
    unsigned backoff_ms;
    uint64_t seq;

    char *body;
    size_t body_cap;
    char *req;
    size_t req_cap, req_len;
    char *rbuf;
    size_t rcap, rlen;
    char *dbuf;
    size_t dcap, dlen;
    char *idbuf;
    size_t idcap;
    unsigned char *rejmask;

    int64_t ts_sec;
    char ts[32];
    size_t ts_len;

    /* statistics */
    uint64_t requests_ok, requests_failed;
    uint64_t s2xx, s4xx, s503, s5xx, sother;
    uint64_t conn_errors, timeouts, retries, parse_errors, ack_mismatch;
    uint64_t events_sent, events_acked, events_accepted, events_dup, events_rejected;
    uint64_t lat_count, lat_max_us;
    uint64_t hist[H_BUCKETS];
} worker;

typedef struct {
    int status;
    long retry_after; /* seconds, -1 when absent */
    bool close_conn;
    const char *body;
    size_t body_len;
    size_t consumed;
} response;

enum { RD_OK = 0, RD_ERR = -1, RD_TIMEOUT = -2, RD_PROTO = -3, RD_EOF = -4 };

/* ---------------------------------------------------------------------- */
static void die_args(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_args(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tploadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(try --help)\n", stderr);
    va_end(ap);
    exit(2);
}

static void die_setup(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_setup(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tploadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die_setup("out of memory");
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool stopping(void)
{
    return atomic_load_explicit(&g_stop, memory_order_relaxed) != 0;
}

static bool past_deadline(void)
{
    return stopping() || (g_deadline_ns != 0 && now_ns() >= g_deadline_ns);
}

static uint64_t min_deadline(uint64_t a, uint64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

/* Sleep until `until` (monotonic ns); false if stopped or the soft deadline
 * would be passed first (then it returns at once / at the deadline). */
static bool sleep_until(uint64_t until)
{
    for (;;) {
        if (stopping())
            return false;
        uint64_t now = now_ns();
        if (g_deadline_ns != 0 && now >= g_deadline_ns)
            return false;
        if (now >= until)
            return true;
        uint64_t left = until - now;
        if (g_deadline_ns != 0 && g_deadline_ns - now < left)
            left = g_deadline_ns - now;
        if (left > (uint64_t)POLL_SLICE_MS * 1000000ull)
            left = (uint64_t)POLL_SLICE_MS * 1000000ull;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)left };
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------------- */
/* Small formatting helpers (no printf on the hot path). */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put_mem((p), (lit), sizeof(lit) - 1u)

static int ensure_cap(char **buf, size_t *cap, size_t need, size_t max)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return -1;
    size_t nc = *cap ? *cap : 4096u;
    while (nc < need)
        nc *= 2u;
    if (nc > max)
        nc = max;
    char *nb = realloc(*buf, nc);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

static void refresh_ts(worker *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if ((int64_t)ts.tv_sec == w->ts_sec)
        return;
    w->ts_sec = (int64_t)ts.tv_sec;
    struct tm tm;
    time_t t = ts.tv_sec;
    gmtime_r(&t, &tm);
    w->ts_len = strftime(w->ts, sizeof w->ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Formats the request for events seq0 .. seq0+b-1 into w->req. */
static void build_request(worker *w, unsigned b, uint64_t seq0)
{
    refresh_ts(w);
    char *p = w->body;
    for (unsigned i = 0; i < b; i++) {
        size_t t = g.ntp > 1 ? rng_below(&w->rng, (uint32_t)g.ntp) : 0u;
        p = PUT_LIT(p, "{\"id\":\"");
        p = put_mem(p, g.prefix, g.prefix_len);
        *p++ = '-';
        p = put_u64(p, w->idx);
        *p++ = '-';
        p = put_u64(p, seq0 + i);
        p = PUT_LIT(p, "\",\"customer\":\"c");
        p = put_u64(p, rng_below(&w->rng, 100000u));
        p = PUT_LIT(p, "\",\"touchpoint\":\"");
        p = put_mem(p, g.tp[t], g.tp_len[t]);
        p = PUT_LIT(p, "\",\"channel\":\"web\",\"type\":\"view\",\"time\":\"");
        p = put_mem(p, w->ts, w->ts_len);
        p = PUT_LIT(p, "\"}");
        if (b > 1)
            *p++ = '\n';
    }
    size_t blen = (size_t)(p - w->body);

    char *q = w->req;
    q = put_mem(q, g.fixed_head, g.fixed_head_len);
    if (b > 1)
        q = PUT_LIT(q, "Content-Type: application/x-ndjson\r\nContent-Length: ");
    else
        q = PUT_LIT(q, "Content-Type: application/json\r\nContent-Length: ");
    q = put_u64(q, blen);
    q = PUT_LIT(q, "\r\n\r\n");
    q = put_mem(q, w->body, blen);
    w->req_len = (size_t)(q - w->req);
}

/* Appends ids (one per line) of the batch, skipping rejected ones when
 * mask != NULL, with a single write under the file's lock.  Returns the
 * number of ids written. */
static uint64_t log_ids(worker *w, int fd, pthread_mutex_t *mu, unsigned b,
                        uint64_t seq0, const unsigned char *mask)
{
    char *p = w->idbuf;
    uint64_t n = 0;
    for (unsigned i = 0; i < b; i++) {
        if (mask && mask[i])
            continue;
        p = put_mem(p, g.prefix, g.prefix_len);
        *p++ = '-';
        p = put_u64(p, w->idx);
        *p++ = '-';
        p = put_u64(p, seq0 + i);
        *p++ = '\n';
        n++;
    }
    if (fd < 0 || p == w->idbuf)
        return n;
    size_t len = (size_t)(p - w->idbuf), off = 0;
    pthread_mutex_lock(mu);
    while (off < len) {
        ssize_t k = write(fd, w->idbuf + off, len - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            static atomic_int warned;
            if (atomic_exchange(&warned, 1) == 0)
                fprintf(stderr, "tploadgen: writing id file: %s\n", strerror(errno));
            break;
        }
        off += (size_t)k;
    }
    pthread_mutex_unlock(mu);
    return n;
}

/* ---------------------------------------------------------------------- */
/* Networking */
static void close_conn(worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->rlen = 0;
}

/* 1 ready, 0 timeout or stop, -1 error */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        if (stopping())
            return 0;
        uint64_t now = now_ns();
        if (now >= deadline)
            return 0;
        uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
        if (left_ms > (uint64_t)POLL_SLICE_MS)
            left_ms = (uint64_t)POLL_SLICE_MS;
        struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
        int rc = poll(&pfd, 1, (int)left_ms);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

static uint64_t io_deadline(void)
{
    return min_deadline(now_ns() + g.io_timeout_ns, g_hard_deadline_ns);
}

static int connect_conn(worker *w)
{
    int fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return RD_ERR;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&g.addr, g.addrlen) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return RD_ERR;
        }
        int rc = wait_fd(fd, POLLOUT, io_deadline());
        if (rc <= 0) {
            close(fd);
            return rc == 0 ? RD_TIMEOUT : RD_ERR;
        }
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            close(fd);
            return RD_ERR;
        }
    }
    w->fd = fd;
    w->rlen = 0;
    return RD_OK;
}

static int send_all(worker *w, uint64_t deadline)
{
    size_t off = 0;
    while (off < w->req_len) {
        ssize_t n = send(w->fd, w->req + off, w->req_len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(w->fd, POLLOUT, deadline);
            if (rc == 0)
                return RD_TIMEOUT;
            if (rc < 0)
                return RD_ERR;
            continue;
        }
        return RD_ERR;
    }
    return RD_OK;
}

/* >0 bytes read, 0 EOF, <0 RD_* error */
static ssize_t read_more(worker *w, uint64_t deadline)
{
    if (w->rlen == w->rcap &&
        ensure_cap(&w->rbuf, &w->rcap, w->rcap * 2u, MAX_RESP + MAX_HDR) != 0)
        return RD_PROTO;
    for (;;) {
        int rc = wait_fd(w->fd, POLLIN, deadline);
        if (rc == 0)
            return RD_TIMEOUT;
        if (rc < 0)
            return RD_ERR;
        ssize_t n = recv(w->fd, w->rbuf + w->rlen, w->rcap - w->rlen, 0);
        if (n > 0) {
            w->rlen += (size_t)n;
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        return RD_ERR;
    }
}

static void drop_front(worker *w, size_t n)
{
    if (n >= w->rlen) {
        w->rlen = 0;
        return;
    }
    memmove(w->rbuf, w->rbuf + n, w->rlen - n);
    w->rlen -= n;
}

static bool name_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static bool contains_ci(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    for (size_t i = 0; i + m <= n; i++)
        if (strncasecmp(s + i, lit, m) == 0)
            return true;
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_head(const char *p, size_t hlen, response *r, long long *clen, bool *chunked)
{
    if (hlen < 14 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ' ||
        !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]))
        return -1;
    bool http10 = p[7] == '0', keep_alive = false;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    r->close_conn = false;
    r->retry_after = -1;
    *clen = -1;
    *chunked = false;

    const char *end = p + hlen;
    const char *line = memchr(p, '\n', hlen);
    if (!line)
        return -1;
    line++;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll && line[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break;
        const char *colon = memchr(line, ':', ll);
        if (colon) {
            size_t nl = (size_t)(colon - line);
            const char *v = colon + 1, *ve = line + ll;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            size_t vl = (size_t)(ve - v);
            if (name_is(line, nl, "content-length")) {
                if (vl == 0 || vl > 15)
                    return -1;
                long long x = 0;
                for (size_t i = 0; i < vl; i++) {
                    if (!is_digit(v[i]))
                        return -1;
                    x = x * 10 + (v[i] - '0');
                }
                if (*clen >= 0 && *clen != x)
                    return -1;
                *clen = x;
            } else if (name_is(line, nl, "transfer-encoding")) {
                if (contains_ci(v, vl, "chunked"))
                    *chunked = true;
            } else if (name_is(line, nl, "connection")) {
                if (contains_ci(v, vl, "close"))
                    r->close_conn = true;
                if (contains_ci(v, vl, "keep-alive"))
                    keep_alive = true;
            } else if (name_is(line, nl, "retry-after")) {
                long x = 0;
                size_t i = 0;
                for (; i < vl && i < 9 && is_digit(v[i]); i++)
                    x = x * 10 + (v[i] - '0');
                r->retry_after = (i > 0 && i == vl) ? x : 1; /* HTTP-date: 1 s */
            }
        }
        line = eol + 1;
    }
    if (http10 && !keep_alive)
        r->close_conn = true;
    return 0;
}

/* Decodes a chunked body held in p[0..n) into w->dbuf.
 * 1 complete (*used = raw bytes consumed), 0 need more, -1 malformed. */
static int dechunk(worker *w, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    w->dlen = 0;
    for (;;) {
        const char *eol = memmem(p + i, n - i, "\r\n", 2);
        if (!eol)
            return n - i > 1024u ? -1 : 0;
        size_t sz = 0, digits = 0;
        for (size_t j = i; p + j < eol; j++, digits++) {
            char c = p[j];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                break;
            sz = sz * 16u + d;
            if (sz > MAX_RESP)
                return -1;
        }
        if (digits == 0)
            return -1;
        i = (size_t)(eol - p) + 2u;
        if (sz == 0) {
            for (;;) { /* trailers up to an empty line */
                eol = memmem(p + i, n - i, "\r\n", 2);
                if (!eol)
                    return n - i > MAX_HDR ? -1 : 0;
                if (eol == p + i) {
                    *used = i + 2u;
                    return 1;
                }
                i = (size_t)(eol - p) + 2u;
            }
        }
        if (n - i < sz + 2u)
            return 0;
        if (ensure_cap(&w->dbuf, &w->dcap, w->dlen + sz, MAX_RESP) != 0)
            return -1;
        memcpy(w->dbuf + w->dlen, p + i, sz);
        w->dlen += sz;
        if (p[i + sz] != '\r' || p[i + sz + 1] != '\n')
            return -1;
        i += sz + 2u;
    }
}

static int read_response(worker *w, response *r, uint64_t deadline)
{
    for (;;) {
        size_t hlen = 0;
        for (;;) {
            if (w->rlen >= 4) {
                const char *e = memmem(w->rbuf, w->rlen, "\r\n\r\n", 4);
                if (e) {
                    hlen = (size_t)(e - w->rbuf) + 4u;
                    break;
                }
            }
            if (w->rlen > MAX_HDR)
                return RD_PROTO;
            ssize_t n = read_more(w, deadline);
            if (n == 0)
                return RD_EOF;
            if (n < 0)
                return (int)n;
        }
        long long clen;
        bool chunked;
        if (parse_head(w->rbuf, hlen, r, &clen, &chunked) != 0)
            return RD_PROTO;
        if (r->status >= 100 && r->status < 200) {
            drop_front(w, hlen);
            continue;
        }
        if (chunked) {
            for (;;) {
                size_t used = 0;
                int rc = dechunk(w, w->rbuf + hlen, w->rlen - hlen, &used);
                if (rc > 0) {
                    r->body = w->dbuf;
                    r->body_len = w->dlen;
                    r->consumed = hlen + used;
                    return RD_OK;
                }
                if (rc < 0)
                    return RD_PROTO;
                ssize_t n = read_more(w, deadline);
                if (n == 0)
                    return RD_EOF;
                if (n < 0)
                    return (int)n;
            }
        }
        if (clen >= 0) {
            if ((unsigned long long)clen > (unsigned long long)MAX_RESP)
                return RD_PROTO;
            size_t need = hlen + (size_t)clen;
            while (w->rlen < need) {
                ssize_t n = read_more(w, deadline);
                if (n == 0)
                    return RD_EOF;
                if (n < 0)
                    return (int)n;
            }
            r->body = w->rbuf + hlen;
            r->body_len = (size_t)clen;
            r->consumed = need;
            return RD_OK;
        }
        if (r->status == 204 || r->status == 304) {
            r->body = w->rbuf + hlen;
            r->body_len = 0;
            r->consumed = hlen;
            return RD_OK;
        }
        /* no framing: body runs to connection close */
        for (;;) {
            ssize_t n = read_more(w, deadline);
            if (n == 0)
                break;
            if (n < 0)
                return (int)n;
        }
        r->close_conn = true;
        r->body = w->rbuf + hlen;
        r->body_len = w->rlen - hlen;
        r->consumed = w->rlen;
        return RD_OK;
    }
}

/* ---------------------------------------------------------------------- */
/* Minimal JSON walker for {"accepted":N,"duplicates":N,"rejected":[...]} */
typedef struct {
    const char *p, *e;
    int depth;
} jcur;

static void jws(jcur *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int jstring(jcur *c, const char **s, size_t *n)
{
    if (c->p >= c->e || *c->p != '"')
        return -1;
    const char *b = ++c->p;
    while (c->p < c->e) {
        if (*c->p == '\\') {
            c->p += 2;
            continue;
        }
        if (*c->p == '"') {
            *s = b;
            *n = (size_t)(c->p - b);
            c->p++;
            return 0;
        }
        c->p++;
    }
    return -1;
}

static int jskip(jcur *c);

static int jskip_container(jcur *c, char close, bool object)
{
    if (++c->depth > 64)
        return -1;
    c->p++;
    jws(c);
    if (c->p < c->e && *c->p == close) {
        c->p++;
        c->depth--;
        return 0;
    }
    for (;;) {
        jws(c);
        if (object) {
            const char *s;
            size_t n;
            if (jstring(c, &s, &n) != 0)
                return -1;
            jws(c);
            if (c->p >= c->e || *c->p != ':')
                return -1;
            c->p++;
            jws(c);
        }
        if (jskip(c) != 0)
            return -1;
        jws(c);
        if (c->p >= c->e)
            return -1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            c->depth--;
            return 0;
        }
        return -1;
    }
}

static int jskip(jcur *c)
{
    jws(c);
    if (c->p >= c->e)
        return -1;
    char ch = *c->p;
    if (ch == '"') {
        const char *s;
        size_t n;
        return jstring(c, &s, &n);
    }
    if (ch == '{')
        return jskip_container(c, '}', true);
    if (ch == '[')
        return jskip_container(c, ']', false);
    const char *b = c->p;
    while (c->p < c->e && (is_digit(*c->p) || (*c->p >= 'a' && *c->p <= 'z') || *c->p == '-' ||
                           *c->p == '+' || *c->p == '.' || *c->p == 'E'))
        c->p++;
    return c->p > b ? 0 : -1;
}

static int ju64(jcur *c, uint64_t *v)
{
    jws(c);
    const char *b = c->p;
    uint64_t x = 0;
    while (c->p < c->e && is_digit(*c->p)) {
        if (x > (UINT64_MAX - 9u) / 10u)
            return -1;
        x = x * 10u + (uint64_t)(*c->p - '0');
        c->p++;
    }
    if (c->p == b)
        return -1;
    if (c->p < c->e && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return -1;
    *v = x;
    return 0;
}

static bool key_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* One element of "rejected": marks mask[index]. */
static int parse_reject(jcur *c, unsigned char *mask, unsigned b, uint64_t *nrej)
{
    jws(c);
    if (c->p >= c->e || *c->p != '{')
        return jskip(c);
    c->p++;
    jws(c);
    if (c->p < c->e && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        const char *s;
        size_t n;
        jws(c);
        if (jstring(c, &s, &n) != 0)
            return -1;
        jws(c);
        if (c->p >= c->e || *c->p != ':')
            return -1;
        c->p++;
        jws(c);
        if (key_is(s, n, "index") && c->p < c->e && is_digit(*c->p)) {
            uint64_t ix;
            if (ju64(c, &ix) != 0)
                return -1;
            if (ix < b && !mask[ix]) {
                mask[ix] = 1;
                (*nrej)++;
            }
        } else if (jskip(c) != 0) {
            return -1;
        }
        jws(c);
        if (c->p >= c->e)
            return -1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

static int parse_ack(const char *body, size_t len, unsigned b, unsigned char *mask,
                     uint64_t *accepted, uint64_t *dups, uint64_t *nrej)
{
    jcur c = { body, body + len, 0 };
    *accepted = 0;
    *dups = 0;
    *nrej = 0;
    memset(mask, 0, b);
    bool have_accepted = false;
    jws(&c);
    if (c.p >= c.e || *c.p != '{')
        return -1;
    c.p++;
    jws(&c);
    if (c.p < c.e && *c.p == '}')
        return -1;
    for (;;) {
        const char *s;
        size_t n;
        jws(&c);
        if (jstring(&c, &s, &n) != 0)
            return -1;
        jws(&c);
        if (c.p >= c.e || *c.p != ':')
            return -1;
        c.p++;
        jws(&c);
        if (key_is(s, n, "accepted")) {
            if (ju64(&c, accepted) != 0)
                return -1;
            have_accepted = true;
        } else if (key_is(s, n, "duplicates")) {
            if (ju64(&c, dups) != 0)
                return -1;
        } else if (key_is(s, n, "rejected") && c.p < c.e && *c.p == '[') {
            c.p++;
            jws(&c);
            if (c.p < c.e && *c.p == ']') {
                c.p++;
            } else {
                for (;;) {
                    if (parse_reject(&c, mask, b, nrej) != 0)
                        return -1;
                    jws(&c);
                    if (c.p >= c.e)
                        return -1;
                    if (*c.p == ',') {
                        c.p++;
                        continue;
                    }
                    if (*c.p == ']') {
                        c.p++;
                        break;
                    }
                    return -1;
                }
            }
        } else if (jskip(&c) != 0) {
            return -1;
        }
        jws(&c);
        if (c.p >= c.e)
            return -1;
        if (*c.p == ',') {
            c.p++;
            continue;
        }
        if (*c.p == '}')
            return have_accepted ? 0 : -1;
        return -1;
    }
}

/* ---------------------------------------------------------------------- */
static void record_latency(worker *w, uint64_t ns)
{
    uint64_t us = ns / 1000u;
    if (us > (1ull << 40))
        us = 1ull << 40;
    w->hist[h_index(us)]++;
    w->lat_count++;
    if (us > w->lat_max_us)
        w->lat_max_us = us;
}

static void backoff_sleep(worker *w)
{
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2u : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS)
        w->backoff_ms = BACKOFF_MAX_MS;
    /* jitter: 50..100 % of the backoff */
    uint64_t ms = w->backoff_ms / 2u + rng_below(&w->rng, w->backoff_ms / 2u + 1u);
    sleep_until(now_ns() + ms * 1000000ull);
}

enum outcome { OUT_DONE, OUT_FAIL, OUT_RETRY };

/* One attempt at sending the prepared request and reading its answer.
 * *delay_ns is set for OUT_RETRY after a 503 (0 = use the backoff). */
static enum outcome attempt_once(worker *w, unsigned b, uint64_t seq0, bool *sent_logged,
                                 uint64_t *delay_ns)
{
    *delay_ns = 0;
    if (w->fd < 0) {
        int rc = connect_conn(w);
        if (rc != RD_OK) {
            w->conn_errors++;
            if (rc == RD_TIMEOUT && !stopping())
                w->timeouts++;
            return OUT_RETRY;
        }
    }
    w->rlen = 0; /* nothing unsolicited is expected between requests */
    if (!*sent_logged) {
        if (g.sent_fd >= 0)
            log_ids(w, g.sent_fd, &g_sent_mu, b, seq0, NULL);
        *sent_logged = true;
        w->events_sent += b;
    }
    uint64_t t0 = now_ns();
    uint64_t dl = min_deadline(t0 + g.io_timeout_ns, g_hard_deadline_ns);
    int rc = send_all(w, dl);
    response r;
    memset(&r, 0, sizeof r);
    if (rc == RD_OK)
        rc = read_response(w, &r, dl);
    if (rc != RD_OK) {
        w->conn_errors++;
        if (rc == RD_TIMEOUT && !stopping())
            w->timeouts++;
        close_conn(w);
        return OUT_RETRY;
    }
    record_latency(w, now_ns() - t0);
    w->backoff_ms = 0;

    enum outcome out;
    if (r.status >= 200 && r.status < 300) {
        uint64_t acc = 0, dup = 0, nrej = 0;
        const unsigned char *mask = w->rejmask;
        if (parse_ack(r.body, r.body_len, b, w->rejmask, &acc, &dup, &nrej) != 0) {
            w->parse_errors++;
            mask = NULL;
            nrej = 0;
            acc = b;
        }
        if (acc + dup + nrej != b)
            w->ack_mismatch++;
        w->s2xx++;
        w->requests_ok++;
        w->events_accepted += acc;
        w->events_dup += dup;
        w->events_rejected += nrej;
        w->events_acked += log_ids(w, g.acked_fd, &g_acked_mu, b, seq0, mask);
        out = OUT_DONE;
    } else if (r.status == 503) {
        w->s503++;
        if (r.retry_after >= 0) {
            long s = r.retry_after > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : r.retry_after;
            *delay_ns = (uint64_t)s * 1000000000ull;
            if (*delay_ns == 0)
                *delay_ns = 1; /* "0": retry at once, no backoff */
        }
        out = OUT_RETRY;
    } else {
        if (r.status >= 400 && r.status < 500)
            w->s4xx++;
        else if (r.status >= 500)
            w->s5xx++;
        else
            w->sother++;
        out = OUT_FAIL;
    }
    drop_front(w, r.consumed);
    if (r.close_conn)
        close_conn(w);
    return out;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    while (!past_deadline()) {
        if (g.requests) {
            uint64_t n = atomic_fetch_add(&g_claimed, 1u);
            if (n >= g.requests)
                break;
        }
        unsigned b = g.batch_min;
        if (g.batch_max > g.batch_min)
            b += rng_below(&w->rng, g.batch_max - g.batch_min + 1u);
        uint64_t seq0 = w->seq;
        w->seq += b;
        build_request(w, b, seq0);

        bool sent_logged = false;
        for (unsigned attempt = 1;; attempt++) {
            uint64_t delay = 0;
            enum outcome o = attempt_once(w, b, seq0, &sent_logged, &delay);
            if (o == OUT_DONE)
                break;
            if (o == OUT_FAIL) {
                w->requests_failed++;
                break;
            }
            /* retryable failure: 503 or connection problem */
            bool conn_problem = delay == 0 && w->fd < 0;
            if (!g.retry || attempt >= g.max_attempts || past_deadline()) {
                w->requests_failed++;
                if (conn_problem)
                    backoff_sleep(w);
                break;
            }
            w->retries++;
            if (delay)
                sleep_until(now_ns() + delay);
            else
                backoff_sleep(w);
            if (past_deadline()) {
                w->requests_failed++;
                break;
            }
        }
    }
    close_conn(w);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Arguments */
static void usage(FILE *f)
{
    fputs(
        "usage: tploadgen --url http://127.0.0.1:PORT[/path] --key KEY\n"
        "                 (--requests N | --seconds S)   (both: whichever ends first)\n"
        "                 [--connections C] [--batch B | --random-batch MIN-MAX]\n"
        "                 [--touchpoints a,b,c] [--id-prefix P] [--seed S]\n"
        "                 [--acked FILE] [--sent FILE] [--retry] [--max-attempts N]\n"
        "                 [--timeout SEC]\n"
        "\n"
        "  --url           loopback only (127.0.0.0/8, ::1, localhost); path defaults\n"
        "                  to /v1/events\n"
        "  --key           API key, sent as 'Authorization: Bearer KEY'\n"
        "  --connections   keep-alive connections, one thread each (1..256, default 1)\n"
        "  --batch         events per request (1..10000, default 1); 1 sends one\n"
        "                  application/json object, more sends application/x-ndjson\n"
        "  --random-batch  random batch size per request in MIN-MAX (seeded)\n"
        "  --requests      total requests over all connections (retries not counted)\n"
        "  --seconds       run time; no request starts after it, in-flight ones get\n"
        "                  min(timeout, 2 s) grace\n"
        "  --touchpoints   comma-separated list (default website,store,invoice)\n"
        "  --id-prefix     ids are P-<conn>-<seq> (default lg; [A-Za-z0-9_.:-])\n"
        "  --seed          random seed for customers/touchpoints/batch sizes (default 1)\n"
        "  --sent FILE     append each id (one per line) before its request is written\n"
        "  --acked FILE    append each id acknowledged by a 2xx answer (minus the\n"
        "                  ones listed in \"rejected\"), written right after the answer\n"
        "  --retry         re-send the same request after 503 (Retry-After) or a\n"
        "                  connection failure (backoff), at most --max-attempts\n"
        "                  attempts (default 10)\n"
        "  --timeout       socket connect/IO timeout in seconds (default 10)\n"
        "\n"
        "Prints key=value lines: requests_ok requests_failed status_2xx status_4xx\n"
        "status_503 conn_errors events_acked seconds events_per_s requests_per_s\n"
        "p50_ms p99_ms max_ms, then extra counters.  A request is 'ok' when finally\n"
        "answered 2xx, 'failed' otherwise; status_* and conn_errors count attempts.\n"
        "Exit: 0 ran, 1 setup failure, 2 bad arguments.\n",
        f);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    if (!s || !*s || !is_digit(*s))
        die_args("%s needs a number", opt);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        die_args("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64, opt, s, lo, hi);
    return (uint64_t)v;
}

static double parse_secs(const char *opt, const char *s, double lo, double hi)
{
    if (!s || !*s)
        die_args("%s needs a number", opt);
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo) || !(v <= hi))
        die_args("%s: '%s' is not a number of seconds in %g..%g", opt, s, lo, hi);
    return v;
}

static bool ip4_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127u;
}

static bool sa_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ip4_loopback(&((const struct sockaddr_in *)(const void *)sa)->sin_addr);
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct in_addr v4;
            memcpy(&v4, &a->s6_addr[12], 4);
            return ip4_loopback(&v4);
        }
    }
    return false;
}

static void parse_url(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0) {
        if (strncasecmp(url, "https://", 8) == 0)
            die_args("--url: https is not supported; use http://127.0.0.1:PORT");
        die_args("--url must look like http://127.0.0.1:PORT");
    }
    const char *a = url + 7;
    size_t alen = strcspn(a, "/?#");
    const char *path = a + alen;
    if (memchr(a, '@', alen))
        die_args("--url: user info is not allowed");
    char host[256];
    const char *port_s = NULL;
    size_t port_len = 0;
    if (alen && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb || (size_t)(rb - a) - 1u >= sizeof host)
            die_args("--url: bad IPv6 address");
        size_t hl = (size_t)(rb - a) - 1u;
        memcpy(host, a + 1, hl);
        host[hl] = 0;
        const char *after = rb + 1;
        if (after < a + alen) {
            if (*after != ':')
                die_args("--url: bad authority");
            port_s = after + 1;
            port_len = (size_t)(a + alen - port_s);
        }
    } else {
        const char *colon = memchr(a, ':', alen);
        size_t hl = colon ? (size_t)(colon - a) : alen;
        if (hl == 0 || hl >= sizeof host)
            die_args("--url: missing or too long host");
        memcpy(host, a, hl);
        host[hl] = 0;
        if (colon) {
            port_s = colon + 1;
            port_len = (size_t)(a + alen - port_s);
        }
    }
    unsigned port = 80;
    if (port_s) {
        if (port_len == 0 || port_len > 5)
            die_args("--url: bad port");
        port = 0;
        for (size_t i = 0; i < port_len; i++) {
            if (!is_digit(port_s[i]))
                die_args("--url: bad port");
            port = port * 10u + (unsigned)(port_s[i] - '0');
        }
        if (port == 0 || port > 65535u)
            die_args("--url: port out of range");
    }

    memset(&g.addr, 0, sizeof g.addr);
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        if (!ip4_loopback(&a4))
            die_args("--url: refusing non-loopback address %s (only 127.0.0.0/8, ::1 "
                     "and localhost are allowed)", host);
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&g.addr;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        s4->sin_addr = a4;
        g.addrlen = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &a6) == 1) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&g.addr;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        s6->sin6_addr = a6;
        g.addrlen = sizeof *s6;
        if (!sa_loopback((const struct sockaddr *)(const void *)s6))
            die_args("--url: refusing non-loopback address %s (only 127.0.0.0/8, ::1 "
                     "and localhost are allowed)", host);
    } else if (strcasecmp(host, "localhost") == 0) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        char ps[8];
        snprintf(ps, sizeof ps, "%u", port);
        int rc = getaddrinfo(host, ps, &hints, &res);
        if (rc != 0)
            die_args("--url: cannot resolve localhost: %s", gai_strerror(rc));
        /* prefer IPv4 (servers commonly bind 127.0.0.1 only), then ::1 */
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
            if (sa_loopback(ai->ai_addr) && ai->ai_addrlen <= sizeof g.addr &&
                (!pick || (pick->ai_family != AF_INET && ai->ai_family == AF_INET)))
                pick = ai;
        if (!pick) {
            freeaddrinfo(res);
            die_args("--url: localhost does not resolve to a loopback address; refusing");
        }
        memcpy(&g.addr, pick->ai_addr, pick->ai_addrlen);
        g.addrlen = pick->ai_addrlen;
        freeaddrinfo(res);
    } else {
        die_args("--url: refusing host '%s': only loopback addresses (127.0.0.0/8, ::1, "
                 "localhost) are allowed", host);
    }

    if (alen >= sizeof g.host_hdr)
        die_args("--url: host too long");
    memcpy(g.host_hdr, a, alen);
    g.host_hdr[alen] = 0;

    if (*path == 0 || strcmp(path, "/") == 0)
        path = "/v1/events";
    if (*path != '/')
        die_args("--url: path must start with '/'");
    if (strlen(path) >= sizeof g.path)
        die_args("--url: path too long");
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
            die_args("--url: path contains a space, control character or fragment");
    strcpy(g.path, path);
}

static void add_touchpoint(const char *s, size_t n)
{
    if (n == 0)
        die_args("--touchpoints: empty name");
    if (n > MAX_TP_LEN)
        die_args("--touchpoints: name longer than %u", MAX_TP_LEN);
    if (g.ntp >= MAX_TOUCHPOINTS)
        die_args("--touchpoints: more than %u names", MAX_TOUCHPOINTS);
    char *e = xmalloc(2u * n + 1u), *q = e;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            die_args("--touchpoints: control character in name");
        if (c == '"' || c == '\\')
            *q++ = '\\';
        *q++ = (char)c;
    }
    *q = 0;
    g.tp[g.ntp] = e;
    g.tp_len[g.ntp] = (size_t)(q - e);
    if (g.tp_len[g.ntp] > g.tp_maxlen)
        g.tp_maxlen = g.tp_len[g.ntp];
    g.ntp++;
}

static void parse_touchpoints(const char *list)
{
    g.ntp = 0;
    g.tp_maxlen = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        add_touchpoint(p, n);
        if (p[n] == 0)
            break;
        p += n + 1;
    }
}

static int open_out(const char *opt, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        die_setup("%s %s: %s", opt, path, strerror(errno));
    return fd;
}

static void parse_args(int argc, char **argv)
{
    const char *url = NULL, *key = NULL, *tps = "website,store,invoice";
    const char *prefix = "lg", *acked = NULL, *sent = NULL;
    bool have_batch = false, have_random = false;
    g.connections = 1;
    g.batch_min = g.batch_max = 1;
    g.seed = 1;
    g.max_attempts = DEFAULT_ATTEMPTS;
    g.io_timeout_ns = 10ull * 1000000000ull;
    g.acked_fd = g.sent_fd = -1;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0)
            die_args("unexpected argument '%s'", arg);
        char name[32];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof name)
            die_args("unknown option '%s'", arg);
        memcpy(name, arg, nl);
        name[nl] = 0;
        if (strcmp(name, "--retry") == 0) {
            if (eq)
                die_args("--retry takes no value");
            g.retry = true;
            continue;
        }
        if (eq) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc)
                die_args("%s needs a value", name);
            val = argv[++i];
        }
        if (strcmp(name, "--url") == 0)
            url = val;
        else if (strcmp(name, "--key") == 0)
            key = val;
        else if (strcmp(name, "--connections") == 0)
            g.connections = (unsigned)parse_u64(name, val, 1, MAX_CONNECTIONS);
        else if (strcmp(name, "--batch") == 0) {
            g.batch_min = g.batch_max = (unsigned)parse_u64(name, val, 1, MAX_BATCH);
            have_batch = true;
        } else if (strcmp(name, "--random-batch") == 0) {
            const char *dash = strchr(val, '-');
            if (!dash)
                die_args("--random-batch needs MIN-MAX");
            char lo[24];
            size_t ll = (size_t)(dash - val);
            if (ll == 0 || ll >= sizeof lo)
                die_args("--random-batch needs MIN-MAX");
            memcpy(lo, val, ll);
            lo[ll] = 0;
            g.batch_min = (unsigned)parse_u64(name, lo, 1, MAX_BATCH);
            g.batch_max = (unsigned)parse_u64(name, dash + 1, 1, MAX_BATCH);
            if (g.batch_min > g.batch_max)
                die_args("--random-batch: MIN is larger than MAX");
            have_random = true;
        } else if (strcmp(name, "--requests") == 0)
            g.requests = parse_u64(name, val, 1, UINT64_MAX / 2u);
        else if (strcmp(name, "--seconds") == 0)
            g.seconds = parse_secs(name, val, 0.001, 1e6);
        else if (strcmp(name, "--touchpoints") == 0)
            tps = val;
        else if (strcmp(name, "--id-prefix") == 0)
            prefix = val;
        else if (strcmp(name, "--acked") == 0)
            acked = val;
        else if (strcmp(name, "--sent") == 0)
            sent = val;
        else if (strcmp(name, "--seed") == 0)
            g.seed = parse_u64(name, val, 0, UINT64_MAX);
        else if (strcmp(name, "--max-attempts") == 0)
            g.max_attempts = (unsigned)parse_u64(name, val, 1, 1000);
        else if (strcmp(name, "--timeout") == 0)
            g.io_timeout_ns = (uint64_t)(parse_secs(name, val, 0.01, 3600) * 1e9);
        else
            die_args("unknown option '%s'", name);
    }
    if (have_batch && have_random)
        die_args("--batch and --random-batch are mutually exclusive");
    if (!url)
        die_args("--url is required");
    if (!key)
        die_args("--key is required");
    if (g.requests == 0 && g.seconds <= 0)
        die_args("one of --requests N or --seconds S is required");
    size_t kl = strlen(key);
    if (kl > MAX_KEY_LEN)
        die_args("--key is too long");
    for (size_t i = 0; i < kl; i++)
        if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
            die_args("--key contains a control character");
    g.prefix_len = strlen(prefix);
    if (g.prefix_len == 0 || g.prefix_len > MAX_PREFIX_LEN)
        die_args("--id-prefix must be 1..%u characters", MAX_PREFIX_LEN);
    for (size_t i = 0; i < g.prefix_len; i++) {
        char c = prefix[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              c == '.' || c == ':' || c == '-'))
            die_args("--id-prefix may only contain [A-Za-z0-9_.:-]");
    }
    memcpy(g.prefix, prefix, g.prefix_len + 1u);
    parse_touchpoints(tps);
    parse_url(url);

    size_t need = 160u + strlen(g.path) + strlen(g.host_hdr) + kl;
    g.fixed_head = xmalloc(need);
    int n = snprintf(g.fixed_head, need,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "User-Agent: tploadgen\r\n",
                     g.path, g.host_hdr, key);
    if (n < 0 || (size_t)n >= need)
        die_setup("internal error formatting the request head");
    g.fixed_head_len = (size_t)n;
    /* {"id":"P-conn-seq","customer":"cNNNNN","touchpoint":"T","channel":"web",
     * "type":"view","time":"..."}\n  -- generous bound */
    g.ev_max = 128u + g.prefix_len + 2u * 20u + 8u + g.tp_maxlen + 32u;

    if (acked)
        g.acked_fd = open_out("--acked", acked);
    if (sent)
        g.sent_fd = open_out("--sent", sent);
}

/* ---------------------------------------------------------------------- */
static double pct_ms(const uint64_t *hist, uint64_t total, double q, uint64_t max_us)
{
    if (total == 0)
        return 0.0;
    uint64_t rank = (uint64_t)ceil(q * (double)total);
    if (rank < 1)
        rank = 1;
    uint64_t cum = 0;
    for (size_t i = 0; i < H_BUCKETS; i++) {
        cum += hist[i];
        if (cum >= rank) {
            uint64_t v = h_value(i);
            if (v > max_us)
                v = max_us;
            return (double)v / 1000.0;
        }
    }
    return (double)max_us / 1000.0;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    worker *ws = calloc(g.connections, sizeof *ws);
    if (!ws)
        die_setup("out of memory");
    for (unsigned i = 0; i < g.connections; i++) {
        worker *w = &ws[i];
        w->idx = i;
        w->fd = -1;
        w->ts_sec = -1;
        uint64_t s = g.seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(i + 1u));
        w->rng = rng_next(&s);
        w->body_cap = (size_t)g.batch_max * g.ev_max;
        w->body = xmalloc(w->body_cap);
        w->req_cap = w->body_cap + g.fixed_head_len + 128u;
        w->req = xmalloc(w->req_cap);
        w->rcap = RBUF_INIT;
        w->rbuf = xmalloc(w->rcap);
        w->idcap = (size_t)g.batch_max * (g.prefix_len + 2u * 21u + 2u);
        w->idbuf = xmalloc(w->idcap);
        w->rejmask = (unsigned char *)xmalloc(g.batch_max);
    }

    uint64_t start = now_ns();
    if (g.seconds > 0) {
        g_deadline_ns = start + (uint64_t)(g.seconds * 1e9);
        uint64_t grace = g.io_timeout_ns < GRACE_MAX_NS ? g.io_timeout_ns : GRACE_MAX_NS;
        g_hard_deadline_ns = g_deadline_ns + grace;
    }
    unsigned started = 0;
    for (unsigned i = 0; i < g.connections; i++) {
        int rc = pthread_create(&ws[i].th, NULL, worker_main, &ws[i]);
        if (rc != 0) {
            fprintf(stderr, "tploadgen: pthread_create: %s\n", strerror(rc));
            atomic_store(&g_stop, 1);
            break;
        }
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
    double secs = (double)(now_ns() - start) / 1e9;
    if (started < g.connections)
        return 1;

    worker t;
    memset(&t, 0, sizeof t);
    for (unsigned i = 0; i < g.connections; i++) {
        worker *w = &ws[i];
        t.requests_ok += w->requests_ok;
        t.requests_failed += w->requests_failed;
        t.s2xx += w->s2xx;
        t.s4xx += w->s4xx;
        t.s503 += w->s503;
        t.s5xx += w->s5xx;
        t.sother += w->sother;
        t.conn_errors += w->conn_errors;
        t.timeouts += w->timeouts;
        t.retries += w->retries;
        t.parse_errors += w->parse_errors;
        t.ack_mismatch += w->ack_mismatch;
        t.events_sent += w->events_sent;
        t.events_acked += w->events_acked;
        t.events_accepted += w->events_accepted;
        t.events_dup += w->events_dup;
        t.events_rejected += w->events_rejected;
        t.lat_count += w->lat_count;
        if (w->lat_max_us > t.lat_max_us)
            t.lat_max_us = w->lat_max_us;
        for (size_t k = 0; k < H_BUCKETS; k++)
            t.hist[k] += w->hist[k];
    }
    double div = secs > 0 ? secs : 1e-9;
    printf("requests_ok=%" PRIu64 "\n", t.requests_ok);
    printf("requests_failed=%" PRIu64 "\n", t.requests_failed);
    printf("status_2xx=%" PRIu64 "\n", t.s2xx);
    printf("status_4xx=%" PRIu64 "\n", t.s4xx);
    printf("status_503=%" PRIu64 "\n", t.s503);
    printf("conn_errors=%" PRIu64 "\n", t.conn_errors);
    printf("events_acked=%" PRIu64 "\n", t.events_acked);
    printf("seconds=%.3f\n", secs);
    printf("events_per_s=%.1f\n", (double)t.events_acked / div);
    printf("requests_per_s=%.1f\n", (double)t.requests_ok / div);
    printf("p50_ms=%.3f\n", pct_ms(t.hist, t.lat_count, 0.50, t.lat_max_us));
    printf("p99_ms=%.3f\n", pct_ms(t.hist, t.lat_count, 0.99, t.lat_max_us));
    printf("max_ms=%.3f\n", (double)t.lat_max_us / 1000.0);
    printf("status_5xx_other=%" PRIu64 "\n", t.s5xx);
    printf("status_other=%" PRIu64 "\n", t.sother);
    printf("timeouts=%" PRIu64 "\n", t.timeouts);
    printf("retries=%" PRIu64 "\n", t.retries);
    printf("events_sent=%" PRIu64 "\n", t.events_sent);
    printf("events_accepted=%" PRIu64 "\n", t.events_accepted);
    printf("events_duplicates=%" PRIu64 "\n", t.events_dup);
    printf("events_rejected=%" PRIu64 "\n", t.events_rejected);
    printf("ack_mismatch=%" PRIu64 "\n", t.ack_mismatch);
    printf("parse_errors=%" PRIu64 "\n", t.parse_errors);
    printf("latency_samples=%" PRIu64 "\n", t.lat_count);
    printf("connections=%u\n", g.connections);
    printf("interrupted=%d\n", stopping() ? 1 : 0);
    fflush(stdout);

    for (unsigned i = 0; i < g.connections; i++) {
        free(ws[i].body);
        free(ws[i].req);
        free(ws[i].rbuf);
        free(ws[i].dbuf);
        free(ws[i].idbuf);
        free(ws[i].rejmask);
    }
    free(ws);
    for (size_t i = 0; i < g.ntp; i++)
        free(g.tp[i]);
    free(g.fixed_head);
    if (g.acked_fd >= 0)
        close(g.acked_fd);
    if (g.sent_fd >= 0)
        close(g.sent_fd);
    return 0;
}
