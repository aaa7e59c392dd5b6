/* zlib: a driver for Debian's libz.a. `zlib MIB DIR` generates MIB MiB of deterministic,
 * compressible pseudo-random text (xorshift64*: words, numbers, punctuation), compresses it
 * with deflate and decompresses it with inflate, both streamed in 64 KiB chunks, at several
 * levels and strategies (all of it at level 1 and Huffman only, a quarter at level 6 and as
 * Z_RLE gzip, a sixteenth at level 9), and checks each round trip. It prints the input's
 * crc32/adler32 and per setting the compressed size and crc32. Then a sixteenth goes through
 * DIR/data.gz (gzwrite, gzread) and 20000 lines through DIR/lines.gz (gzprintf, gzgets).
 * Errors go to stderr with exit 1. Built statically by samples/real/CMakeLists.txt; run by
 * tests/realprogs.py and tests/bench.py natively and under vmemu. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CHUNK (64 * 1024) /* bytes handed to deflate/inflate per call */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static const char *const words[] = {
    "page",   "frame",   "fault",    "table",   "cache",       "dirty",     "clean",  "anon",
    "file",   "shared",  "private",  "mapping", "kernel",      "process",   "thread", "signal",
    "memory", "virtual", "physical", "address", "translation", "lookaside", "buffer", "walk",
    "zero",   "copy",    "write",    "read",    "execute",     "protect",   "unmap",  "remap",
};

static void generate(unsigned char *buf, size_t len)
{
    static const char punct[] = ".,;:!?";
    size_t pos = 0;
    while (pos < len) {
        uint64_t r = rng_next();
        char tmp[32];
        size_t n = 0;
        switch (r & 7) {
        case 0: /* a number below 100000 */
            for (unsigned v = (unsigned)(r >> 40) % 100000u; n == 0 || v; v /= 10)
                tmp[n++] = (char)('0' + v % 10);
            tmp[n++] = ' ';
            break;
        case 1: /* two random letters */
            tmp[n++] = (char)('A' + (r >> 8) % 26);
            tmp[n++] = (char)('a' + (r >> 16) % 26);
            tmp[n++] = ' ';
            break;
        case 2: /* end of a line */
            tmp[n++] = punct[(r >> 8) % 6];
            tmp[n++] = '\n';
            break;
        default: { /* a word from the list */
            const char *w = words[(r >> 8) % (sizeof(words) / sizeof(words[0]))];
            n = strlen(w);
            memcpy(tmp, w, n);
            tmp[n++] = ' ';
            break;
        }
        }
        for (size_t i = 0; i < n && pos < len; i++)
            buf[pos++] = (unsigned char)tmp[i];
    }
}

static int fail(const char *what, int code)
{
    fprintf(stderr, "zlib: %s failed (%d)\n", what, code);
    return -1;
}

/* Deflates in[0..len) into out (capacity cap) in CHUNK steps; returns the size or -1. */
static long compress_stream(const unsigned char *in, size_t len, unsigned char *out, size_t cap,
                            int level, int wbits, int strategy)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    int rc = deflateInit2(&zs, level, Z_DEFLATED, wbits, 8, strategy);
    if (rc != Z_OK)
        return fail("deflateInit2", rc);
    size_t done = 0;
    zs.next_out = out;
    do {
        size_t n = len - done < CHUNK ? len - done : CHUNK;
        zs.next_in = (unsigned char *)in + done;
        zs.avail_in = (uInt)n;
        done += n;
        int flush = done == len ? Z_FINISH : Z_NO_FLUSH;
        do {
            size_t room = cap - (size_t)(zs.next_out - out);
            zs.avail_out = (uInt)(room < CHUNK ? room : CHUNK);
            rc = deflate(&zs, flush);
            if (rc == Z_STREAM_ERROR || (rc == Z_BUF_ERROR && zs.avail_out != 0)) {
                deflateEnd(&zs);
                return fail("deflate", rc);
            }
        } while (zs.avail_out == 0);
    } while (done < len);
    long size = (long)zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? size : fail("deflate end", rc);
}

/* Inflates in[0..len) into out (capacity cap) in CHUNK steps; returns the size or -1. */
static long decompress_stream(const unsigned char *in, size_t len, unsigned char *out, size_t cap,
                              int wbits)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    int rc = inflateInit2(&zs, wbits);
    if (rc != Z_OK)
        return fail("inflateInit2", rc);
    size_t done = 0;
    zs.next_out = out;
    while (rc != Z_STREAM_END) {
        size_t n = len - done < CHUNK ? len - done : CHUNK;
        zs.next_in = (unsigned char *)in + done;
        zs.avail_in = (uInt)n;
        done += n;
        do {
            size_t room = cap - (size_t)(zs.next_out - out);
            zs.avail_out = (uInt)(room < CHUNK ? room : CHUNK);
            rc = inflate(&zs, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
                inflateEnd(&zs);
                return fail("inflate", rc);
            }
        } while (zs.avail_out == 0 && rc != Z_STREAM_END);
        if (rc != Z_STREAM_END && done == len) {
            inflateEnd(&zs);
            return fail("inflate: truncated stream", rc);
        }
    }
    long size = (long)zs.total_out;
    inflateEnd(&zs);
    return size;
}

static int round_trip(const unsigned char *data, size_t len, unsigned char *comp, size_t cap,
                      unsigned char *back, const char *name, int level, int wbits, int strategy)
{
    long clen = compress_stream(data, len, comp, cap, level, wbits, strategy);
    if (clen < 0)
        return -1;
    memset(back, 0, len);
    long dlen = decompress_stream(comp, (size_t)clen, back, len, wbits);
    if (dlen < 0)
        return -1;
    if ((size_t)dlen != len || memcmp(back, data, len) != 0) {
        fprintf(stderr, "zlib: %s: round trip differs (%ld of %zu bytes)\n", name, dlen, len);
        return -1;
    }
    printf("%-12s in %zu out %ld crc32 %08lx\n", name, len, clen, crc32(0L, comp, (uInt)clen));
    return 0;
}

static int gzip_file(const char *dir, const unsigned char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.gz", dir);
    gzFile gz = gzopen(path, "wb6");
    if (!gz)
        return fail("gzopen wb6", 0);
    for (size_t off = 0; off < len; off += 100000) {
        unsigned n = (unsigned)(len - off < 100000 ? len - off : 100000);
        if (gzwrite(gz, data + off, n) != (int)n) {
            gzclose(gz);
            return fail("gzwrite", 0);
        }
    }
    if (gzclose(gz) != Z_OK)
        return fail("gzclose (write)", 0);
    struct stat st;
    if (stat(path, &st) != 0)
        return fail("stat data.gz", 0);

    gz = gzopen(path, "rb");
    if (!gz)
        return fail("gzopen rb", 0);
    static unsigned char buf[CHUNK];
    size_t total = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    int n;
    while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
        if (total + (size_t)n > len || memcmp(buf, data + total, (size_t)n) != 0) {
            gzclose(gz);
            return fail("gzread: data differs", (int)total);
        }
        crc = crc32(crc, buf, (uInt)n);
        total += (size_t)n;
    }
    gzclose(gz);
    if (n < 0 || total != len)
        return fail("gzread", n);
    printf("gzip file    in %zu out %lld crc32 %08lx\n", total, (long long)st.st_size, crc);

    snprintf(path, sizeof(path), "%s/lines.gz", dir);
    gz = gzopen(path, "wb9");
    if (!gz)
        return fail("gzopen wb9", 0);
    for (int i = 0; i < 20000; i++)
        gzprintf(gz, "line %d %s %x\n", i, words[i % 32], (unsigned)i * 2654435761u);
    if (gzclose(gz) != Z_OK)
        return fail("gzclose (lines)", 0);
    gz = gzopen(path, "rb");
    if (!gz)
        return fail("gzopen lines", 0);
    char line[256];
    int count = 0;
    uLong lcrc = crc32(0L, Z_NULL, 0);
    while (gzgets(gz, line, sizeof(line))) {
        count++;
        lcrc = crc32(lcrc, (const unsigned char *)line, (uInt)strlen(line));
    }
    gzclose(gz);
    if (stat(path, &st) != 0)
        return fail("stat lines.gz", 0);
    printf("gzip lines   %d lines out %lld crc32 %08lx\n", count, (long long)st.st_size, lcrc);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MIB DIR\n", argv[0]);
        return 2;
    }
    size_t len = (size_t)strtoul(argv[1], NULL, 10) << 20;
    size_t cap = compressBound((uLong)len) + 1024;
    unsigned char *data = malloc(len), *comp = malloc(cap), *back = malloc(len);
    if (!data || !comp || !back) {
        fprintf(stderr, "zlib: out of memory\n");
        return 1;
    }
    generate(data, len);
    printf("zlib %s, %zu bytes, crc32 %08lx adler32 %08lx\n", zlibVersion(), len,
           crc32(0L, data, (uInt)len), adler32(1L, data, (uInt)len));
    size_t quarter = len / 4, sixteenth = len / 16;
    int bad = round_trip(data, len, comp, cap, back, "level 1", 1, 15, Z_DEFAULT_STRATEGY) ||
              round_trip(data, quarter, comp, cap, back, "level 6", 6, 15, Z_DEFAULT_STRATEGY) ||
              round_trip(data, sixteenth, comp, cap, back, "level 9", 9, 15, Z_DEFAULT_STRATEGY) ||
              round_trip(data, len, comp, cap, back, "huffman raw", 6, -15, Z_HUFFMAN_ONLY) ||
              round_trip(data, quarter, comp, cap, back, "rle gzip", 6, 31, Z_RLE) ||
              gzip_file(argv[2], data, sixteenth);
    free(data);
    free(comp);
    free(back);
    return bad ? 1 : 0;
}
