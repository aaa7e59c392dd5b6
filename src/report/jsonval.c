/* The values the JSON report and its timeline are made of, as jansson values: guest
 * strings kept valid UTF-8
 * (a byte that is not part of a well-formed sequence stands for the code point of the same
 * number, U+0080 to U+00FF, as the report has always decoded it), addresses as "0x..."
 * strings, counters as integers, and the "faults" object every process, thread, total and
 * timeline sample shares. Used by report_json.c, report_json_crash.c and timeline.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonval.h"

/* Length of the well-formed UTF-8 sequence at c (2 to 4), or 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are refused, as JSON readers
 * do. */
static size_t utf8_seq_len(const unsigned char *c)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c[0] >= 0xc2 && c[0] <= 0xdf) {
        len = 2;
    } else if (c[0] >= 0xe0 && c[0] <= 0xef) {
        len = 3;
        if (c[0] == 0xe0)
            lo = 0xa0;
        else if (c[0] == 0xed)
            hi = 0x9f;
    } else if (c[0] >= 0xf0 && c[0] <= 0xf4) {
        len = 4;
        if (c[0] == 0xf0)
            lo = 0x90;
        else if (c[0] == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (c[1] < lo || c[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if ((c[i] & 0xc0) != 0x80)
            return 0;
    }
    return len;
}

/* A JSON string of s (json null for NULL): well-formed UTF-8 kept, every other byte of
 * 0x80 or above replaced by the two-byte encoding of U+0080..U+00FF (the \u00XX escape the
 * report wrote before it used jansson decodes to the same string). NULL when out of
 * memory. */
json_t *rj_str(const char *s)
{
    const unsigned char *c = (const unsigned char *)s;
    size_t n = 0, bad = 0;
    json_t *v;

    if (s == NULL)
        return json_null();
    while (c[n] != '\0') {
        size_t len = c[n] >= 0x80 ? utf8_seq_len(c + n) : 1;

        bad += len == 0;
        n += len == 0 ? 1 : len;
    }
    if (bad == 0)
        return json_stringn(s, n);
    char *out = malloc(n + bad + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t len = c[i] >= 0x80 ? utf8_seq_len(c + i) : 1;

        if (len == 0) {
            *o++ = (char)(0xc0 | (c[i] >> 6));
            *o++ = (char)(0x80 | (c[i] & 0x3f));
            i++;
        } else {
            memcpy(o, c + i, len);
            o += len;
            i += len;
        }
    }
    v = json_stringn(out, (size_t)(o - out));
    free(out);
    return v;
}

/* v as a JSON string "0x..." (lower-case hex). NULL when out of memory. */
json_t *rj_hex(uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "0x%" PRIx64, v);
    return json_string(text);
}

/* A counter as a JSON integer (jansson's are signed 64-bit: a count past INT64_MAX, which
 * no counter reaches, is written as INT64_MAX). NULL when out of memory. */
json_t *rj_u64(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* The "faults" object of f: every class, in the order the report has always had. NULL
 * when out of memory. */
json_t *rj_faults(const struct fault_stats *f)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                     " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "minor", (json_int_t)f->minor, "major", (json_int_t)f->major, "zero_page",
                     (json_int_t)f->zero_page, "anon", (json_int_t)f->anon, "file_minor",
                     (json_int_t)f->file_minor, "file_major", (json_int_t)f->file_major, "cow",
                     (json_int_t)f->cow, "cow_reuse", (json_int_t)f->cow_reuse, "shared_write",
                     (json_int_t)f->shared_write, "swap_in", (json_int_t)f->swap_in, "swap_cache",
                     (json_int_t)f->swap_cache, "file_refault", (json_int_t)f->file_refault,
                     "populate", (json_int_t)f->populate, "segv", (json_int_t)f->segv, "sigbus",
                     (json_int_t)f->sigbus, "stack_grow", (json_int_t)f->stack_grow, "thp",
                     (json_int_t)f->thp, "hugetlb", (json_int_t)f->hugetlb, "exec",
                     (json_int_t)f->exec, "exec_major", (json_int_t)f->exec_major, "exec_args",
                     (json_int_t)f->exec_args);
}

/* Sets o[key] = v, taking v's reference; v NULL (out of memory) or a failed set is
 * remembered in *ok, so a caller can build a whole object and check once. */
void rj_set(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (o == NULL)
        json_decref(v);
    if (v == NULL || o == NULL || json_object_set_new(o, key, v) < 0)
        *ok = false;
}

/* Appends v to array a, taking v's reference; a failure is remembered in *ok. */
void rj_append(json_t *a, json_t *v, bool *ok)
{
    if (a == NULL)
        json_decref(v);
    if (v == NULL || a == NULL || json_array_append_new(a, v) < 0)
        *ok = false;
}

/* A write buffer for json_dump_callback: jansson hands over every token and indentation
 * separately, which fwrite() alone makes the larger part of writing a timeline. */
struct rj_out {
    FILE *f;         /* the file */
    size_t n;        /* bytes in buf */
    char buf[65536]; /* pending output */
};

static int rj_out_flush(struct rj_out *o)
{
    size_t n = o->n;

    o->n = 0;
    return fwrite(o->buf, 1, n, o->f) == n ? 0 : -1;
}

static int rj_out_put(const char *s, size_t len, void *data)
{
    struct rj_out *o = data;

    if (o->n + len > sizeof(o->buf) && rj_out_flush(o) < 0)
        return -1;
    if (len > sizeof(o->buf))
        return fwrite(s, 1, len, o->f) == len ? 0 : -1;
    memcpy(o->buf + o->n, s, len);
    o->n += len;
    return 0;
}

/* Writes the tree root to path (created or truncated): two-space indentation, one member
 * per line, keys in the order they were set, a newline at the end. Returns 0 or -errno. */
int rj_write(const char *path, const json_t *root)
{
    struct rj_out *o = malloc(sizeof(*o));
    FILE *f;
    int rc = 0;

    if (o == NULL)
        return -ENOMEM;
    if ((f = fopen(path, "w")) == NULL) {
        rc = -errno;
        free(o);
        return rc;
    }
    o->f = f;
    o->n = 0;
    if (json_dump_callback(root, rj_out_put, o,
                           JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) < 0 ||
        rj_out_put("\n", 1, o) < 0 || rj_out_flush(o) < 0)
        rc = -EIO;
    free(o);
    if (ferror(f) && rc == 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
