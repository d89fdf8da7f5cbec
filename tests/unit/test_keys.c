/* SPDX-License-Identifier: MIT */
/*
 * test_keys.c -- API keys: the printed format, nothing secret in the store file,
 * verification, and revocation with and without a cached entry.
 */
/* cmocka needs these four first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/jsonx.h"
#include "common/timeutil.h"
#include "service/keys.h"
#include "store/store.h"

typedef struct fx {
        char dir[64], path[128], url[160];
        tp_store *s;
        pthread_mutex_t lock;
        tp_keys *k;
} fx;

#define SCOPE_SENTINEL ((tp_scope) 77)

static int setup(void **state) {
        fx *f = calloc(1, sizeof(*f));
        tp_err err = { 0 };

        assert_non_null(f);
        (void) snprintf(f->dir, sizeof(f->dir), "/tmp/tp-keys-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void) snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
        (void) snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
        assert_int_equal(tp_store_open(f->url, 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_store_migrate(f->s, NULL, &err), TP_OK);
        pthread_mutex_init(&f->lock, NULL);
        assert_int_equal(tp_keys_new(f->s, &f->lock, &f->k, &err), TP_OK);
        *state = f;
        return 0;
}

static void rm_db(const char *path) {
        char p[200];

        (void) unlink(path);
        (void) snprintf(p, sizeof(p), "%s-wal", path);
        (void) unlink(p);
        (void) snprintf(p, sizeof(p), "%s-shm", path);
        (void) unlink(p);
}

static int teardown(void **state) {
        fx *f = *state;

        tp_keys_free(f->k);
        tp_store_close(f->s);
        pthread_mutex_destroy(&f->lock);
        rm_db(f->path);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static void create(fx *f, tp_scope scope, const char *name, char out[TP_KEY_TEXT_MAX]) {
        tp_err err = { 0 };

        if (tp_keys_create(f->s, scope, name, NULL, out, &err) != TP_OK)
                fail_msg("create: %s", err.msg);
}

static int is_hex_lower(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_b64url(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
                c == '_';
}

static void verify_fails(fx *f, const char *text) {
        tp_scope scope = SCOPE_SENTINEL;
        tp_err err = { 0 };

        if (tp_keys_verify(f->k, text, &scope, &err) != TP_UNAUTH)
                fail_msg("'%s' was accepted", text ? text : "(null)");
        assert_int_equal(scope, SCOPE_SENTINEL);
        assert_int_equal(err.rc, TP_UNAUTH);
        assert_string_equal(err.msg, "missing or unknown API key"); /* one message for every cause */
}

static void test_create_format(void **state) {
        fx *f = *state;
        char a[TP_KEY_TEXT_MAX], b[TP_KEY_TEXT_MAX];

        create(f, TP_SCOPE_INGEST, "shop-1", a);
        create(f, TP_SCOPE_INGEST, "shop-1", b);
        assert_int_equal(strlen(a), 4 + 12 + 1 + 43);
        assert_memory_equal(a, "tpk_", 4);
        for (int i = 4; i < 16; i++)
                assert_true(is_hex_lower(a[i]));
        assert_int_equal(a[16], '_');
        for (int i = 17; i < 60; i++)
                assert_true(is_b64url(a[i]));
        assert_string_not_equal(a, b);
        assert_memory_not_equal(a, b, 16); /* distinct prefixes */
}

/* Does the file hold these bytes anywhere? */
static int file_contains(const char *path, const char *needle) {
        size_t n = strlen(needle), len = 0;
        unsigned char *data;
        struct stat st;
        int fd, found = 0;

        if (stat(path, &st) != 0)
                return 0;
        data = malloc((size_t) st.st_size + 1);
        assert_non_null(data);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        while (len < (size_t) st.st_size) {
                ssize_t r = read(fd, data + len, (size_t) st.st_size - len);
                assert_true(r > 0);
                len += (size_t) r;
        }
        (void) close(fd);
        for (size_t i = 0; !found && n <= len && i <= len - n; i++)
                found = memcmp(data + i, needle, n) == 0;
        free(data);
        return found;
}

static void test_store_holds_no_secret(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], wal[200], prefix[17];
        tp_err err = { 0 };
        tp_scope scope = SCOPE_SENTINEL;

        create(f, TP_SCOPE_ADMIN, "root", key);
        memcpy(prefix, key, 16);
        prefix[16] = '\0';
        (void) snprintf(wal, sizeof(wal), "%s-wal", f->path);
        /* Look in the WAL as written, then in the main file after a checkpoint. */
        assert_false(file_contains(wal, key + 17));
        assert_false(file_contains(f->path, key + 17));
        tp_keys_free(f->k);
        f->k = NULL;
        tp_store_close(f->s); /* the last connection checkpoints the WAL into the file */
        f->s = NULL;
        assert_false(file_contains(f->path, key + 17));
        assert_false(file_contains(f->path, key));
        /* The scan does find what is stored: the public prefix. */
        assert_true(file_contains(f->path, prefix));

        /* And the key still verifies after reopening. */
        assert_int_equal(tp_store_open(f->url, 0, &f->s, &err), TP_OK);
        assert_int_equal(tp_keys_new(f->s, &f->lock, &f->k, &err), TP_OK);
        assert_int_equal(tp_keys_verify(f->k, key, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_ADMIN);
}

static void test_verify_ok_scopes(void **state) {
        fx *f = *state;
        char admin[TP_KEY_TEXT_MAX], ingest[TP_KEY_TEXT_MAX];
        tp_scope scope = SCOPE_SENTINEL;
        tp_err err = { 0 };

        create(f, TP_SCOPE_ADMIN, "ops", admin);
        create(f, TP_SCOPE_INGEST, NULL, ingest);
        assert_int_equal(tp_keys_verify(f->k, admin, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_ADMIN);
        scope = SCOPE_SENTINEL;
        assert_int_equal(tp_keys_verify(f->k, ingest, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_INGEST);
        /* Again, from the cache. */
        scope = SCOPE_SENTINEL;
        assert_int_equal(tp_keys_verify(f->k, admin, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_ADMIN);
}

static void test_verify_rejects(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], bad[TP_KEY_TEXT_MAX + 8];
        tp_scope scope = SCOPE_SENTINEL;
        tp_err err = { 0 };

        /* Before any key exists there is no pepper: still just "unknown". */
        verify_fails(f, "tpk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

        create(f, TP_SCOPE_ADMIN, "ops", key);
        /* Uncached wrong secret: last character changed. */
        memcpy(bad, key, sizeof(key));
        bad[59] = bad[59] == 'A' ? 'B' : 'A';
        verify_fails(f, bad);
        /* Cached right key, then a wrong secret with the same prefix. */
        assert_int_equal(tp_keys_verify(f->k, key, &scope, &err), TP_OK);
        verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        bad[17] = bad[17] == 'A' ? 'B' : 'A';
        verify_fails(f, bad);

        /* Malformed. */
        verify_fails(f, NULL);
        verify_fails(f, "");
        verify_fails(f, "tpk_");
        verify_fails(f, "Bearer");
        (void) snprintf(bad, sizeof(bad), "%.59s", key); /* one short */
        verify_fails(f, bad);
        (void) snprintf(bad, sizeof(bad), "%sA", key); /* one long */
        verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        bad[5] = 'G'; /* not hex */
        verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        bad[5] = (char) (bad[5] >= 'a' ? bad[5] - 32 : bad[5]); /* upper-case hex */
        if (strcmp(bad, key) != 0)
                verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        bad[16] = '-'; /* separator */
        verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        bad[30] = '+'; /* standard base64, not base64url */
        verify_fails(f, bad);
        memcpy(bad, key, sizeof(key));
        memcpy(bad, "tpx_", 4);
        verify_fails(f, bad);

        /* Well-formed but unknown prefix. */
        memcpy(bad, key, sizeof(key));
        memcpy(bad + 4, bad[4] == '0' ? "1" : "0", 1);
        verify_fails(f, bad);

        /* The good key still works after all that. */
        scope = SCOPE_SENTINEL;
        assert_int_equal(tp_keys_verify(f->k, key, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_ADMIN);
}

static void test_revoked_uncached(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], prefix[17];
        tp_err err = { 0 };

        create(f, TP_SCOPE_INGEST, "temp", key);
        memcpy(prefix, key, 16);
        prefix[16] = '\0';
        assert_int_equal(tp_store_key_revoke(f->s, prefix, tp_time_now(), &err), TP_OK);
        verify_fails(f, key); /* never cached: refused at once */
}

static void test_revoked_after_ttl(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], other[TP_KEY_TEXT_MAX], prefix[17];
        tp_scope scope = SCOPE_SENTINEL;
        tp_err err = { 0 };

        create(f, TP_SCOPE_INGEST, "temp", key);
        create(f, TP_SCOPE_INGEST, "stays", other);
        assert_int_equal(tp_keys_verify(f->k, key, &scope, &err), TP_OK);
        assert_int_equal(tp_keys_verify(f->k, other, &scope, &err), TP_OK);
        memcpy(prefix, key, 16);
        prefix[16] = '\0';
        /* Revoked behind the cache's back, as the CLI does from another process. */
        assert_int_equal(tp_store_key_revoke(f->s, prefix, tp_time_now(), &err), TP_OK);
        (void) usleep(1100 * 1000); /* past the one-second cache */
        verify_fails(f, key);
        verify_fails(f, key); /* and the refreshed entry stays refused */
        scope = SCOPE_SENTINEL;
        assert_int_equal(tp_keys_verify(f->k, other, &scope, &err), TP_OK);
        assert_int_equal(scope, TP_SCOPE_INGEST);
}

static void test_create_fails_cleanly(void **state) {
        fx *f = *state;
        tp_store *raw = NULL;
        char out[TP_KEY_TEXT_MAX] = "unchanged";
        tp_err err = { 0 };

        (void) f;
        /* A store without tables: the error comes back and out is left alone. */
        assert_int_equal(tp_store_open("sqlite::memory:", 0, &raw, &err), TP_OK);
        assert_int_not_equal(tp_keys_create(raw, TP_SCOPE_ADMIN, "x", NULL, out, &err), TP_OK);
        assert_string_equal(out, "unchanged");
        assert_string_not_equal(err.msg, "");
        tp_store_close(raw);
}

static void test_many_cached_keys(void **state) {
        fx *f = *state;
        char keys[40][TP_KEY_TEXT_MAX];
        tp_scope scope;
        tp_err err = { 0 };

        /* More keys than the cache's first allocation (16), each verified twice. */
        for (int i = 0; i < 40; i++)
                create(f, i % 2 ? TP_SCOPE_ADMIN : TP_SCOPE_INGEST, "k", keys[i]);
        for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 40; i++) {
                        scope = SCOPE_SENTINEL;
                        assert_int_equal(tp_keys_verify(f->k, keys[i], &scope, &err), TP_OK);
                        assert_int_equal(scope, i % 2 ? TP_SCOPE_ADMIN : TP_SCOPE_INGEST);
                }
        }
}

static void canon_is(const char *in, const char *want) {
        char out[256];
        tp_err err = { 0 };

        if (tp_keys_origin_canon(in, strlen(in), out, sizeof(out), &err) != TP_OK)
                fail_msg("'%s' refused: %s", in, err.msg);
        assert_string_equal(out, want);
}

static void canon_refused(const char *in) {
        char out[256];
        tp_err err = { 0 };

        if (tp_keys_origin_canon(in, strlen(in), out, sizeof(out), &err) != TP_INVALID)
                fail_msg("'%s' was accepted", in);
        assert_string_equal(err.field, "origin");
}

static void test_origins(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], plain[TP_KEY_TEXT_MAX], out[TP_KEY_TEXT_MAX] = "unchanged";
        tp_key_info info;
        tp_err err = { 0 };

        canon_is("HTTPS://Shop.Example", "https://shop.example");
        canon_is("https://shop.example:443", "https://shop.example");
        canon_is("http://127.0.0.1:80", "http://127.0.0.1");
        canon_is("http://127.0.0.1:8081", "http://127.0.0.1:8081");
        canon_refused("shop.example");
        canon_refused("ftp://shop.example");
        canon_refused("https://shop.example/path");
        canon_refused("https://");
        canon_refused("https://shop.example:");
        canon_refused("https://shop.example:99999");
        canon_refused("https://sh op.example");

        assert_int_equal(tp_keys_create(f->s, TP_SCOPE_INGEST, "site", "https://Shop.Example, http://127.0.0.1:8081",
                                        key, &err), TP_OK);
        create(f, TP_SCOPE_INGEST, "plain", plain);
        assert_int_equal(tp_keys_verify_info(f->k, key, &info, &err), TP_OK);
        assert_int_equal(info.scope, TP_SCOPE_INGEST);
        assert_memory_equal(info.prefix, key, 16);
        assert_string_equal(info.origins, "https://shop.example http://127.0.0.1:8081");
        assert_true(tp_keys_origin_in(info.origins, "http://127.0.0.1:8081"));
        assert_false(tp_keys_origin_in(info.origins, "http://127.0.0.1:808"));
        assert_false(tp_keys_origin_in(info.origins, "https://evil.example"));
        assert_int_equal(tp_keys_verify_info(f->k, plain, &info, &err), TP_OK);
        assert_string_equal(info.origins, "");

        /* Preflights know every origin of a valid key, and only those. */
        assert_true(tp_keys_origin_known(f->k, "https://shop.example"));
        assert_false(tp_keys_origin_known(f->k, "https://evil.example"));

        /* A bad origin creates nothing. */
        assert_int_equal(tp_keys_create(f->s, TP_SCOPE_INGEST, "bad", "https://ok.example javascript:x", out, &err),
                         TP_INVALID);
        assert_string_equal(out, "unchanged");
        assert_non_null(strstr(err.msg, "javascript:x"));
}

static void test_prefix_valid(void **state) {
        fx *f = *state;
        char key[TP_KEY_TEXT_MAX], prefix[17];
        tp_err err = { 0 };

        create(f, TP_SCOPE_ADMIN, "ops", key);
        memcpy(prefix, key, 16);
        prefix[16] = '\0';
        assert_int_equal(tp_keys_prefix_valid(f->k, prefix, &err), TP_OK);
        assert_int_equal(tp_keys_prefix_valid(f->k, "tpk_ffffffffffff", &err), TP_UNAUTH);
        assert_int_equal(tp_store_key_revoke(f->s, prefix, tp_time_now(), &err), TP_OK);
        (void) usleep(1100 * 1000); /* past the one-second cache */
        assert_int_equal(tp_keys_prefix_valid(f->k, prefix, &err), TP_UNAUTH);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_create_format),        T(test_store_holds_no_secret), T(test_verify_ok_scopes),
                T(test_verify_rejects),       T(test_revoked_uncached),      T(test_revoked_after_ttl),
                T(test_create_fails_cleanly), T(test_many_cached_keys),      T(test_origins),
                T(test_prefix_valid),
        };

        if (sodium_init() < 0)
                return 1;
        tp_json_global_init();
        return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
