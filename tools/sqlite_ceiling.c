/* SPDX-License-Identifier: MIT */
/*
 * sqlite_ceiling.c -- the reference for `make bench`: the rows of an events CSV
 * (tpgen's format: id,customer,touchpoint,channel,type,time,value,currency)
 * inserted by the plainest C loop into SQLite with the same durability settings
 * as Touchpoint (WAL, synchronous=FULL, 50,000 rows per transaction, prepared
 * statement), into (a) a bare table and (b) Touchpoint's own events schema.
 * Times are parsed minimally (fixed "YYYY-MM-DDTHH:MM:SSZ"); touchpoints are mapped
 * to small integers as they appear.  Prints one line per variant: rows, seconds, rows/s.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long long days_from_civil(long long y, unsigned m, unsigned d) {
        long long era, yoe, doy, doe;
        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static long long parse_time(const char *s) {
        long long y = atoll(s);
        unsigned mo = (unsigned) atoi(s + 5), d = (unsigned) atoi(s + 8);
        return days_from_civil(y, mo, d) * 86400 + atoi(s + 11) * 3600 + atoi(s + 14) * 60 + atoi(s + 17);
}

static int exec(sqlite3 *db, const char *sql) {
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
                fprintf(stderr, "sqlite_ceiling: %s: %s\n", sql, msg ? msg : "?");
                sqlite3_free(msg);
                return -1;
        }
        return 0;
}

static int run(const char *csv, const char *dbpath, const char *schema, const char *label) {
        char line[4096], tps[256][64];
        int ntps = 0;
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        long long rows = 0;
        double t0;
        FILE *f = fopen(csv, "r");

        if (!f) {
                perror(csv);
                return -1;
        }
        remove(dbpath);
        if (sqlite3_open(dbpath, &db) != SQLITE_OK || exec(db, "PRAGMA journal_mode=WAL") ||
            exec(db, "PRAGMA synchronous=FULL") || exec(db, "PRAGMA cache_size=-1048576") || exec(db, schema)) {
                fclose(f);
                sqlite3_close(db);
                return -1;
        }
        if (sqlite3_prepare_v2(db,
                               "INSERT OR IGNORE INTO events(id, customer, touchpoint, channel, type, ts, value, currency) "
                               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               -1, &st, NULL) != SQLITE_OK) {
                fprintf(stderr, "sqlite_ceiling: %s\n", sqlite3_errmsg(db));
                return -1;
        }
        t0 = now_s();
        if (!fgets(line, sizeof(line), f)) { /* header */
                fclose(f);
                return -1;
        }
        exec(db, "BEGIN");
        while (fgets(line, sizeof(line), f)) {
                char *fld[8];
                int n = 0, tp = -1;
                char *p = line;
                size_t len = strlen(line);
                if (len && line[len - 1] == '\n')
                        line[--len] = '\0';
                fld[n++] = p;
                while ((p = strchr(p, ',')) && n < 8) {
                        *p++ = '\0';
                        fld[n++] = p;
                }
                if (n < 8)
                        continue;
                for (int i = 0; i < ntps; i++)
                        if (strcmp(tps[i], fld[2]) == 0)
                                tp = i;
                if (tp < 0 && ntps < 256) {
                        snprintf(tps[ntps], sizeof(tps[0]), "%s", fld[2]);
                        tp = ntps++;
                }
                sqlite3_bind_text(st, 1, fld[0], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, fld[1], -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, tp + 1);
                sqlite3_bind_text(st, 4, fld[3], -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 5, fld[4], -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 6, parse_time(fld[5]));
                if (*fld[6]) {
                        sqlite3_bind_int64(st, 7, atoll(fld[6]));
                        sqlite3_bind_text(st, 8, fld[7], -1, SQLITE_STATIC);
                } else {
                        sqlite3_bind_null(st, 7);
                        sqlite3_bind_null(st, 8);
                }
                if (sqlite3_step(st) != SQLITE_DONE) {
                        fprintf(stderr, "sqlite_ceiling: %s\n", sqlite3_errmsg(db));
                        return -1;
                }
                sqlite3_reset(st);
                if (++rows % 50000 == 0) {
                        exec(db, "COMMIT");
                        exec(db, "BEGIN");
                }
        }
        exec(db, "COMMIT");
        {
                double s = now_s() - t0;
                printf("%s rows=%lld seconds=%.2f rows_per_s=%.0f\n", label, rows, s, (double) rows / s);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        fclose(f);
        return 0;
}

int main(int argc, char **argv) {
        char path[4096];

        if (argc != 3 && argc != 4) {
                fprintf(stderr, "usage: sqlite_ceiling EVENTS.csv WORKDIR [SCHEMA_SQL]\n");
                return 2;
        }
        if (argc == 4) {
                snprintf(path, sizeof(path), "%s/ceiling_custom.db", argv[2]);
                return run(argv[1], path, argv[3], "custom") == 0 ? 0 : 1;
        }
        snprintf(path, sizeof(path), "%s/ceiling_bare.db", argv[2]);
        if (run(argv[1], path,
                "CREATE TABLE events(id TEXT, customer TEXT, touchpoint INTEGER, channel TEXT, type TEXT, ts INTEGER,"
                " value INTEGER, currency TEXT)",
                "bare_table") != 0)
                return 1;
        snprintf(path, sizeof(path), "%s/ceiling_schema.db", argv[2]);
        if (run(argv[1], path,
                /* Touchpoint's events table as of schema version 3. */
                "CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, customer TEXT,"
                " touchpoint INTEGER NOT NULL, channel TEXT, type TEXT NOT NULL, ts INTEGER NOT NULL, value INTEGER,"
                " currency TEXT, properties TEXT);",
                "touchpoint_schema") != 0)
                return 1;
        return 0;
}
