/* fuzz_memmix.h: the model of samples/fuzz_memmix.c, the self-checking memory-mix guest
 * (one file built on its own, so everything here is static): what every page of the arena
 * and of the heap holds, the scratch file's bytes, the seeded generator, and the checks that
 * end the guest with status 3 (data mismatch) or 4 (a call's result). */
#ifndef FUZZ_MEMMIX_H
#define FUZZ_MEMMIX_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG     4096UL
#define ARENA  96 /* pages of the arena */
#define HEAP   32 /* pages the break may rise above its start */
#define NP     (ARENA + HEAP)
#define FPAGES 24 /* pages of the scratch file */
#define MAXLEN 8  /* pages of one operation at most (twice that after an mremap grow) */

enum { NONE, ANON_P, ANON_S, FILE_P, FILE_S, DEAD };
static const char *const kinds[] = {"unmapped",     "private anonymous", "shared anonymous",
                                    "private file", "shared file",       "untouchable"};

struct page {
    uint8_t kind, prot;
    uint8_t own;  /* FILE_P: has its private copy (shadow), no longer follows the file */
    uint8_t lazy; /* ANON_P after MADV_FREE: its bytes, or zeros, until written */
    uint32_t vid; /* pages of one vid, side by side, are certainly one VMA */
    uint32_t foff;
};

static struct page pg[NP];
static uint8_t shadow[NP][PG];
static uint8_t fdata[FPAGES * PG];
static struct page tp[2 * MAXLEN]; /* the pages of a mapping being placed */
static uint8_t tsh[2 * MAXLEN][PG];
static uint8_t buf[FPAGES * PG], alt[PG];
static const uint8_t zeros[PG];
static char *arena, *heap, what[200];
static const char *opname = "setup";
static int brk_pages, fd, rofd, in_child, priv_only;
static long op, forks, checked;
static uint32_t next_vid = 1;
static uint64_t rs;

#define DESCRIBE(...) snprintf(what, sizeof(what), __VA_ARGS__)

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void say(const char *fmt, ...)
{
    char b[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    if (n > 0 && write(2, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1) < 0)
        _exit(2);
}

static void pattern(uint8_t *b, size_t n, uint64_t v)
{
    for (size_t k = 0; k < n; k++) {
        v = v * 6364136223846793005ULL + 1442695040888963407ULL;
        b[k] = (uint8_t)(v >> 56);
    }
}

static char *addr_of(int i)
{
    return i < ARENA ? arena + (size_t)i * PG : heap + (size_t)(i - ARENA) * PG;
}

static int arena_index(const char *a)
{
    return a >= arena && a < arena + ARENA * PG ? (int)((a - arena) / PG) : -1;
}

static int readable(const struct page *p)
{
    return p->kind != NONE && p->kind != DEAD && (p->prot & PROT_READ);
}

static int writable(const struct page *p)
{
    return p->kind != NONE && p->kind != DEAD && (p->prot & PROT_WRITE);
}

static int shared(const struct page *p)
{
    return p->kind == ANON_S || p->kind == FILE_S;
}

static int follows_file(const struct page *p)
{
    return p->kind == FILE_S || (p->kind == FILE_P && !p->own);
}

/* The result r of the call described in what (errno read at once) against the model's:
 * want when err is 0, else -1 with errno err. */
static void expect(long r, long want, int err)
{
    int e = errno;
    if (err ? r == -1 && e == err : r == want)
        return;
    say("fuzz_memmix: op %ld%s (%s): %s returned %ld (errno %d), expected %ld (errno %d)\n", op,
        in_child ? " in the fork child" : "", opname, what, r, r == -1 ? e : 0, err ? -1L : want,
        err);
    _exit(4);
}

/* A mismatch between n bytes got (at address at) and want: where, the bytes, status 3. */
static void mismatch(const char *where, const void *at, const uint8_t *got, const uint8_t *want,
                     size_t n)
{
    size_t k = 0;
    while (k < n && got[k] == want[k])
        k++;
    size_t s = k & ~15UL;
    char e[64] = "", g[64] = "";
    for (size_t j = s; j < s + 16 && j < n; j++) {
        snprintf(e + 3 * (j - s), 4, " %02x", want[j]);
        snprintf(g + 3 * (j - s), 4, " %02x", got[j]);
    }
    say("fuzz_memmix: op %ld%s (%s): data mismatch at %#lx (%s, byte %zu)\n"
        "  expected from %#lx:%s\n  actual   from %#lx:%s\n",
        op, in_child ? " in the fork child" : "", opname, (unsigned long)at + k, where, k,
        (unsigned long)at + s, e, (unsigned long)at + s, g);
    _exit(3);
}

static const uint8_t *want_of(const struct page *p, const uint8_t *sh)
{
    return follows_file(p) ? fdata + (size_t)p->foff * PG : sh;
}

static void page_mismatch(const char *a, const struct page *p, const uint8_t *want)
{
    char where[120];
    snprintf(where, sizeof(where), "%s page, prot %d%s, file page %u", kinds[p->kind], p->prot,
             p->lazy ? ", lazily freed" : "", p->foff);
    mismatch(where, a, (const uint8_t *)a, want, PG);
}

/* Reads the page at a against the model p, sh (a lazily freed page may read zeros: then it
 * stays zero). */
static void check_at(const char *a, struct page *p, uint8_t *sh)
{
    const uint8_t *w = want_of(p, sh);
    checked++;
    if (memcmp(a, w, PG) == 0)
        return;
    if (p->lazy && memcmp(a, zeros, PG) == 0) {
        memset(sh, 0, PG);
        p->lazy = 0;
        return;
    }
    page_mismatch(a, p, w);
}

/* The model of len bytes src stored at offset off of page i. */
static void model_store(int i, size_t off, const uint8_t *src, size_t len)
{
    struct page *p = &pg[i];
    if (p->kind == FILE_P && !p->own) {
        memcpy(shadow[i], fdata + (size_t)p->foff * PG, PG);
        p->own = 1;
    }
    memcpy((p->kind == FILE_S ? fdata + (size_t)p->foff * PG : shadow[i]) + off, src, len);
}

/* After a store of [off, off + len) into lazily freed page i (modelled already): the rest
 * of the page is its old bytes or zeros, and stays so; reading tells which. */
static void settle(int i, size_t off, size_t len)
{
    struct page *p = &pg[i];
    const char *a = addr_of(i);
    if (!p->lazy)
        return;
    p->lazy = 0;
    if (memcmp(a, shadow[i], PG) == 0)
        return;
    memset(alt, 0, PG);
    memcpy(alt + off, shadow[i] + off, len);
    if (memcmp(a, alt, PG) != 0)
        page_mismatch(a, p, shadow[i]);
    memcpy(shadow[i], alt, PG);
}

/* Stores len bytes of src at byte off of the pages from i on (memory, then the model), page
 * by page: two pages may show one file page, and memcpy may store in any order. */
static void store(int i, size_t off, const uint8_t *src, size_t len)
{
    for (size_t done = 0; done < len; i++, off = 0) {
        size_t l = len - done < PG - off ? len - done : PG - off;
        memcpy(addr_of(i) + off, src + done, l);
        model_store(i, off, src + done, l);
        settle(i, off, l);
        done += l;
    }
}

/* Pages of length 1 to MAXLEN, mostly short. */
static int pick_len(void)
{
    return 1 + (int)(rn(3) ? rn(2) : rn(MAXLEN));
}

/* A range of pages in the arena, or (heap_ok, a quarter of the time) below the break. */
static int pick(int *n, int heap_ok)
{
    int s, end = ARENA;
    *n = pick_len();
    if (heap_ok && brk_pages && rn(4) == 0) {
        s = ARENA + (int)rn(brk_pages);
        end = ARENA + brk_pages;
    } else {
        s = (int)rn(ARENA);
    }
    if (s + *n > end)
        *n = end - s;
    return s;
}

/* Like pick, but mostly from a mapped page on and within one VMA (as far as the model
 * knows), where calls succeed. */
static int pick_mapped(int *n, int heap_ok)
{
    int s = pick(n, heap_ok), end = s < ARENA ? ARENA : ARENA + brk_pages;
    if (rn(4) == 0)
        return s;
    while (s + 1 < end && pg[s].kind == NONE)
        s++;
    int k = 1;
    while (k < *n && s + k < end && pg[s + k].vid == pg[s].vid && pg[s + k].kind != NONE)
        k++;
    *n = k;
    return s;
}

static int count(int s, int n, int kind)
{
    int c = 0;
    for (int k = 0; k < n; k++)
        c += pg[s + k].kind == kind;
    return c;
}

/* Puts the n pages of tp, tsh at r: into the model in the arena (over unmapped pages only,
 * unless replace); outside it, they are checked and unmapped. */
static void place(char *r, int n, int replace)
{
    for (int k = 0; k < n; k++) {
        char *a = r + k * PG;
        int i = arena_index(a);
        if (i >= 0) {
            if (!replace && pg[i].kind != NONE) {
                say("fuzz_memmix: op %ld (%s): %s placed a page at %p over a mapping\n", op, opname,
                    what, a);
                _exit(4);
            }
            pg[i] = tp[k];
            memcpy(shadow[i], tsh[k], PG);
        } else {
            if (readable(&tp[k]))
                check_at(a, &tp[k], tsh[k]);
            DESCRIBE("munmap(%p, 4096) outside the arena", a);
            expect(syscall(SYS_munmap, a, PG), 0, 0);
        }
    }
}

/* tp[n..n2): what growing a mapping whose last page is tp[n - 1] adds. */
static void extend(int n, int n2)
{
    for (int k = n; k < n2; k++) {
        tp[k] = tp[n - 1];
        tp[k].own = tp[k].lazy = 0;
        memset(tsh[k], 0, PG);
        tp[k].foff = tp[n - 1].foff + (uint32_t)(k - n + 1);
        if (tp[k].kind == ANON_S || (tp[k].kind >= FILE_P && tp[k].foff >= FPAGES))
            tp[k].kind = DEAD; /* SIGBUS on Linux: past the shmem object or the file */
    }
}

/* Every page against the model (unreadable ones made readable for a moment); unmapped
 * arena pages must be unmapped (mincore: ENOMEM). */
static void verify_all(void)
{
    unsigned char v;
    for (int i = 0; i < NP; i++) {
        struct page *p = &pg[i];
        char *a = addr_of(i);
        if (p->kind == NONE && i < ARENA) {
            DESCRIBE("mincore(%p, 4096) of an unmapped page", a);
            expect(syscall(SYS_mincore, a, PG, &v), 0, ENOMEM);
        }
        if (p->kind == NONE || p->kind == DEAD)
            continue;
        if (p->prot & PROT_READ) {
            check_at(a, p, shadow[i]);
            continue;
        }
        DESCRIBE("mprotect(%p, 4096, PROT_READ) to check a page", a);
        expect(syscall(SYS_mprotect, a, PG, PROT_READ), 0, 0);
        check_at(a, p, shadow[i]);
        DESCRIBE("mprotect(%p, 4096, %d) after checking a page", a, p->prot);
        expect(syscall(SYS_mprotect, a, PG, p->prot), 0, 0);
        p->vid = next_vid++;
    }
}

#endif
