/* SPDX-License-Identifier: MIT */
/*
 * http_static.c -- which file of the built dashboard answers a URL path, and
 * with which Content-Type.  Pure functions, so the rules are unit-tested
 * without a server; http_server.c opens and sends the file.
 */
#include <string.h>

#include "http/http.h"

/* A path segment of the assets tree: letters, digits and . _ - only, not
 * starting with a dot (no "..", no hidden files). */
static int safe_segment(const char *s, size_t n) {
        if (n == 0 || s[0] == '.')
                return 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-'))
                        return 0;
        }
        return 1;
}

/* The pages the server answers with a fixed file whatever follows the prefix:
 * the client reads the rest of the path itself. */
static const struct {
        const char *prefix;
        const char *file;
} page_map[] = {
        { "/kiosk/", "kiosk.html" },
        { "/s/", "survey.html" },
};

tp_rc tp_http_static_path(const char *path, char *rel, size_t relsz) {
        size_t n = strlen(path);

        if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
                (void) snprintf(rel, relsz, "index.html");
                return TP_OK;
        }
        for (size_t i = 0; i < sizeof(page_map) / sizeof(page_map[0]); i++) {
                size_t pn = strlen(page_map[i].prefix);
                if (n > pn && strncmp(path, page_map[i].prefix, pn) == 0 && !strchr(path + pn, '/')) {
                        (void) snprintf(rel, relsz, "%s", page_map[i].file);
                        return TP_OK;
                }
        }
        if (strcmp(path, "/widget.js") == 0 || strcmp(path, "/favicon.ico") == 0) {
                (void) snprintf(rel, relsz, "%s", path + 1);
                return TP_OK;
        }
        if (strncmp(path, "/assets/", 8) == 0 && n - 1 < relsz) {
                const char *p = path + 8;
                int depth = 0;
                while (*p) {
                        size_t m = strcspn(p, "/");
                        if (!safe_segment(p, m) || ++depth > 4)
                                return TP_NOTFOUND;
                        p += m;
                        if (*p == '/') {
                                p++;
                                if (!*p)
                                        return TP_NOTFOUND;
                        }
                }
                if (depth == 0)
                        return TP_NOTFOUND;
                (void) snprintf(rel, relsz, "%s", path + 1);
                return TP_OK;
        }
        return TP_NOTFOUND;
}

static const struct {
        const char *ext;
        const char *type;
} types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".woff2", "font/woff2" },
        { ".txt", "text/plain; charset=utf-8" },
        { ".map", "application/json; charset=utf-8" },
};

const char *tp_http_static_type(const char *rel) {
        size_t n = strlen(rel);

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                size_t en = strlen(types[i].ext);
                if (n > en && strcmp(rel + n - en, types[i].ext) == 0)
                        return types[i].type;
        }
        return "application/octet-stream";
}
