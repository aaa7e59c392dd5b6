/* sqlite: a small driver for Debian's libsqlite3.a. `sqlite DB [-e SQL | FILE]...` opens
 * DB (":memory:" or a file path), then runs each SQL text given with -e and each SQL file,
 * in order, with sqlite3_exec. Result rows are printed one per line, columns separated by
 * '|', NULL as "NULL" (like the sqlite3 shell's list mode). The first error is printed on
 * stderr and gives exit 1. Built statically by samples/real/CMakeLists.txt; run by
 * tests/realprogs.py and tests/bench.py natively and under vmemu. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_row(void *unused, int ncol, char **vals, char **names)
{
    (void)unused;
    (void)names;
    for (int i = 0; i < ncol; i++)
        printf("%s%s", i ? "|" : "", vals[i] ? vals[i] : "NULL");
    putchar('\n');
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int run(sqlite3 *db, const char *sql, const char *where)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        fflush(stdout);
        fprintf(stderr, "sqlite: %s: %s\n", where, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DB [-e SQL | FILE]...\n", argv[0]);
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    int status = 0;
    for (int i = 2; i < argc && status == 0; i++) {
        if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
            i++;
            if (run(db, argv[i], "-e") != 0)
                status = 1;
            continue;
        }
        char *sql = read_file(argv[i]);
        if (!sql) {
            perror(argv[i]);
            status = 1;
            break;
        }
        if (run(db, sql, argv[i]) != 0)
            status = 1;
        free(sql);
    }
    fflush(stdout);
    if (sqlite3_close(db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: close: %s\n", sqlite3_errmsg(db));
        status = 1;
    }
    return status;
}
