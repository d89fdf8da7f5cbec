/*
 * tploadgen_fake_server - a tiny single-threaded keep-alive HTTP/1.1 server
 * used only by tests/tploadgen_check.sh to exercise tools/tploadgen.c.
 *
 * Listens on 127.0.0.1 (port 0 = any, or --port P), prints
 *   listening on http://127.0.0.1:PORT
 * as its first stdout line, and answers POST /v1/events with
 *   200 {"accepted":N,"duplicates":0,"rejected":[...]}
 * (422 when every item was rejected), where N counts the non-empty NDJSON
 * lines of the body (1 for application/json).  Every --fail-every'th request
 * (default 10) is answered 503 with Retry-After: --retry-after (default 1).
 *
 * Test knobs:
 *   --key KEY          require "Authorization: Bearer KEY" (401 otherwise)
 *   --store FILE       append the id of every stored event (written before the
 *                      answer, like a durable store)
 *   --chunked-every N  every N'th answer uses Transfer-Encoding: chunked
 *   --close-every N    every N'th answer carries Connection: close
 *   --reject-every N   every N'th event (global count) is rejected
 *   --hang-after N     after N answered requests, read but never answer
 *   --dump FILE        append every stored request body (newline-terminated)
 *
 * On SIGTERM/SIGINT it prints one stats line on stderr and exits 0:
 *   stats requests=R ok=O s503=F connections=C events_stored=E json=J ndjson=D chunked=K
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define MAX_REQ (8u << 20)

typedef struct {
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    bool close_after;
} client;

static volatile sig_atomic_t g_quit;
static unsigned long g_fail_every = 10, g_chunked_every, g_close_every, g_reject_every;
static unsigned long g_hang_after, g_retry_after = 1;
static const char *g_key;
static int g_store_fd = -1, g_dump_fd = -1;
static unsigned long st_requests, st_ok, st_503, st_conns, st_stored, st_json, st_ndjson,
    st_chunked, st_answers, st_items;

static void on_sig(int s)
{
    (void)s;
    g_quit = 1;
}

static void fatal(const char *what)
{
    fprintf(stderr, "fake_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void buf_add(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n)
            nc *= 2;
        char *nb = realloc(*b, nc);
        if (!nb)
            fatal("realloc");
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *len, s, n);
    *len += n;
}

static void out_str(client *c, const char *s)
{
    buf_add(&c->out, &c->out_len, &c->out_cap, s, strlen(s));
}

static void respond(client *c, int status, const char *reason, const char *extra_hdr,
                    const char *body, size_t blen)
{
    char head[512];
    bool chunked = false, close_now = false;
    st_answers++;
    if (g_chunked_every && st_answers % g_chunked_every == 0)
        chunked = true;
    if (g_close_every && st_answers % g_close_every == 0)
        close_now = true;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%s%s", status, reason,
                     extra_hdr ? extra_hdr : "", close_now ? "Connection: close\r\n" : "");
    buf_add(&c->out, &c->out_len, &c->out_cap, head, (size_t)n);
    if (chunked) {
        st_chunked++;
        out_str(c, "Transfer-Encoding: chunked\r\n\r\n");
        /* deliberately small chunks, with a chunk extension on the first */
        size_t off = 0;
        bool first = true;
        while (off < blen) {
            size_t k = blen - off < 7 ? blen - off : 7;
            snprintf(head, sizeof head, first ? "%zx;ext=1\r\n" : "%zX\r\n", k);
            first = false;
            out_str(c, head);
            buf_add(&c->out, &c->out_len, &c->out_cap, body + off, k);
            out_str(c, "\r\n");
            off += k;
        }
        out_str(c, "0\r\nX-Trailer: yes\r\n\r\n");
    } else {
        snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", blen);
        out_str(c, head);
        buf_add(&c->out, &c->out_len, &c->out_cap, body, blen);
    }
    if (close_now)
        c->close_after = true;
}

static bool hdr_value(const char *head, size_t hlen, const char *name, const char **v,
                      size_t *vl)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', hlen);
    const char *end = head + hlen;
    while (p && p + 1 < end) {
        p++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - p);
        if (ll && p[ll - 1] == '\r')
            ll--;
        if (ll > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *s = p + nl + 1;
            while (s < p + ll && *s == ' ')
                s++;
            *v = s;
            *vl = (size_t)(p + ll - s);
            return true;
        }
        p = eol;
    }
    return false;
}

static void write_all(int fd, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, p + off, n - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            fatal("write");
        }
        off += (size_t)k;
    }
}

static void handle_events(client *c, const char *ctype, size_t ctl, const char *body,
                          size_t blen)
{
    if (g_dump_fd >= 0) {
        write_all(g_dump_fd, body, blen);
        if (blen == 0 || body[blen - 1] != '\n')
            write_all(g_dump_fd, "\n", 1);
    }
    bool ndjson = ctl >= 20 && strncasecmp(ctype, "application/x-ndjson", 20) == 0;
    if (ndjson)
        st_ndjson++;
    else
        st_json++;
    char *store = NULL, *rej = NULL;
    size_t sl = 0, sc = 0, rl = 0, rc = 0;
    unsigned long accepted = 0, index = 0;
    const char *p = body, *end = body + blen;
    while (p < end) {
        const char *eol = ndjson ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        const char *le = eol ? eol : end;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\r' || *q == '\t'))
            q++;
        if (q < le) {
            st_items++;
            if (g_reject_every && st_items % g_reject_every == 0) {
                char tmp[256];
                int n = snprintf(tmp, sizeof tmp,
                                 "%s{\"index\":%lu,\"field\":\"touchpoint\",\"code\":\"invalid\","
                                 "\"message\":\"tricky \\\"index\\\":99 ] } [\",\"extra\":[1,{\"index\":98}]}",
                                 rl ? "," : "", index);
                buf_add(&rej, &rl, &rc, tmp, (size_t)n);
            } else {
                const char *id = memmem(p, (size_t)(le - p), "\"id\":\"", 6);
                if (id) {
                    id += 6;
                    const char *ie = memchr(id, '"', (size_t)(le - id));
                    if (ie) {
                        buf_add(&store, &sl, &sc, id, (size_t)(ie - id));
                        buf_add(&store, &sl, &sc, "\n", 1);
                    }
                }
                accepted++;
            }
            index++;
        }
        p = eol ? eol + 1 : end;
    }
    if (g_store_fd >= 0 && sl)
        write_all(g_store_fd, store, sl);
    st_stored += accepted;
    char *resp = NULL;
    size_t pl = 0, pc = 0;
    char tmp[128];
    int n = snprintf(tmp, sizeof tmp, "{\"accepted\":%lu,\"duplicates\":0,\"rejected\":[",
                     accepted);
    buf_add(&resp, &pl, &pc, tmp, (size_t)n);
    if (rl)
        buf_add(&resp, &pl, &pc, rej, rl);
    buf_add(&resp, &pl, &pc, "]}", 2);
    if (accepted == 0 && index > 0)
        respond(c, 422, "Unprocessable Entity", NULL, resp, pl);
    else {
        st_ok++;
        respond(c, 200, "OK", NULL, resp, pl);
    }
    free(resp);
    free(store);
    free(rej);
}

/* Handles complete requests in c->in; returns false to drop the client. */
static bool process(client *c)
{
    for (;;) {
        if (c->in_len < 4)
            return true;
        const char *he = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!he)
            return c->in_len < 65536;
        size_t hlen = (size_t)(he - c->in) + 4;
        const char *v;
        size_t vl;
        size_t clen = 0;
        if (hdr_value(c->in, hlen, "Content-Length", &v, &vl)) {
            char num[32];
            if (vl == 0 || vl >= sizeof num)
                return false;
            memcpy(num, v, vl);
            num[vl] = 0;
            clen = (size_t)strtoul(num, NULL, 10);
            if (clen > MAX_REQ)
                return false;
        }
        if (c->in_len < hlen + clen)
            return true;
        const char *body = c->in + hlen;
        bool is_post = strncmp(c->in, "POST /v1/events ", 16) == 0;
        if (hdr_value(c->in, hlen, "Connection", &v, &vl) && vl == 5 &&
            strncasecmp(v, "close", 5) == 0)
            c->close_after = true;

        if (!is_post) {
            const char *b = "{\"error\":\"not found\"}";
            respond(c, 404, "Not Found", NULL, b, strlen(b));
        } else {
            st_requests++;
            bool auth_ok = true;
            if (g_key) {
                size_t kl = strlen(g_key);
                auth_ok = hdr_value(c->in, hlen, "Authorization", &v, &vl) && vl == kl + 7 &&
                          strncmp(v, "Bearer ", 7) == 0 && memcmp(v + 7, g_key, kl) == 0;
            }
            if (g_hang_after && st_requests > g_hang_after) {
                /* swallow the request, never answer */
            } else if (!auth_ok) {
                const char *b = "{\"error\":\"unauthorized\"}";
                respond(c, 401, "Unauthorized", NULL, b, strlen(b));
            } else if (g_fail_every && st_requests % g_fail_every == 0) {
                st_503++;
                char h[64];
                snprintf(h, sizeof h, "Retry-After: %lu\r\n", g_retry_after);
                const char *b = "{\"error\":\"overloaded\"}";
                respond(c, 503, "Service Unavailable", h, b, strlen(b));
            } else {
                const char *ct = "";
                size_t ctl = 0;
                if (hdr_value(c->in, hlen, "Content-Type", &v, &vl)) {
                    ct = v;
                    ctl = vl;
                }
                handle_events(c, ct, ctl, body, clen);
            }
        }
        size_t used = hlen + clen;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
}

static bool flush_out(client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t k = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            return false;
        }
        c->out_off += (size_t)k;
    }
    c->out_len = c->out_off = 0;
    return !c->close_after;
}

static void drop(client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static unsigned long arg_ul(const char *s)
{
    char *e;
    unsigned long v = strtoul(s, &e, 10);
    if (!*s || *e) {
        fprintf(stderr, "fake_server: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    unsigned long port = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "fake_server: %s needs a value\n", argv[i]);
            return 2;
        }
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--port"))
            port = arg_ul(v);
        else if (!strcmp(a, "--key"))
            g_key = v;
        else if (!strcmp(a, "--store")) {
            g_store_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (g_store_fd < 0)
                fatal(v);
        } else if (!strcmp(a, "--dump")) {
            g_dump_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (g_dump_fd < 0)
                fatal(v);
        } else if (!strcmp(a, "--fail-every"))
            g_fail_every = arg_ul(v);
        else if (!strcmp(a, "--retry-after"))
            g_retry_after = arg_ul(v);
        else if (!strcmp(a, "--chunked-every"))
            g_chunked_every = arg_ul(v);
        else if (!strcmp(a, "--close-every"))
            g_close_every = arg_ul(v);
        else if (!strcmp(a, "--reject-every"))
            g_reject_every = arg_ul(v);
        else if (!strcmp(a, "--hang-after"))
            g_hang_after = arg_ul(v);
        else {
            fprintf(stderr, "fake_server: unknown option %s\n", a);
            return 2;
        }
    }
    if (port > 65535) {
        fprintf(stderr, "fake_server: bad port\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_sig;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0)
        fatal("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)port);
    if (bind(ls, (struct sockaddr *)&sin, sizeof sin) != 0)
        fatal("bind");
    if (listen(ls, 512) != 0)
        fatal("listen");
    socklen_t sl = sizeof sin;
    getsockname(ls, (struct sockaddr *)&sin, &sl);
    printf("listening on http://127.0.0.1:%u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);

    static client cl[MAX_CLIENTS];
    static struct pollfd pf[MAX_CLIENTS + 1];
    for (int i = 0; i < MAX_CLIENTS; i++)
        cl[i].fd = -1;

    while (!g_quit) {
        int n = 0;
        pf[n++] = (struct pollfd){ .fd = ls, .events = POLLIN };
        int map[MAX_CLIENTS + 1];
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (cl[i].fd < 0)
                continue;
            short ev = POLLIN;
            if (cl[i].out_len > cl[i].out_off)
                ev |= POLLOUT;
            map[n] = i;
            pf[n++] = (struct pollfd){ .fd = cl[i].fd, .events = ev };
        }
        int rc = poll(pf, (nfds_t)n, 500);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            fatal("poll");
        }
        if (pf[0].revents & POLLIN) {
            for (;;) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS; i++)
                    if (cl[i].fd < 0) {
                        slot = i;
                        break;
                    }
                if (slot < 0) {
                    close(fd);
                    continue;
                }
                st_conns++;
                cl[slot].fd = fd;
            }
        }
        for (int k = 1; k < n; k++) {
            client *c = &cl[map[k]];
            if (c->fd < 0 || !pf[k].revents)
                continue;
            bool keep = true;
            if (pf[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                char buf[65536];
                ssize_t r = recv(c->fd, buf, sizeof buf, 0);
                if (r > 0) {
                    buf_add(&c->in, &c->in_len, &c->in_cap, buf, (size_t)r);
                    keep = process(c);
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    keep = false;
                }
            }
            if (keep && c->out_len > c->out_off)
                keep = flush_out(c);
            else if (keep && c->close_after && c->out_len == 0)
                keep = false;
            if (!keep)
                drop(c);
        }
    }
    fprintf(stderr,
            "stats requests=%lu ok=%lu s503=%lu connections=%lu events_stored=%lu json=%lu "
            "ndjson=%lu chunked=%lu\n",
            st_requests, st_ok, st_503, st_conns, st_stored, st_json, st_ndjson, st_chunked);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (cl[i].fd >= 0)
            drop(&cl[i]);
    close(ls);
    if (g_store_fd >= 0)
        close(g_store_fd);
    return 0;
}
