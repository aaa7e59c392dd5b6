/* shared_file: MAP_SHARED file mappings with Linux's page-cache semantics, each step printing
 * what it observed (bytes, return values, errno names; never addresses). Covers: stores seen by
 * every shared mapping of the page (other offset, other descriptor) and by read/readv/pread;
 * write/writev/pwrite seen by shared mappings and by private ones on pages they have not
 * copied (written, or faulted in writable by MAP_POPULATE/mlock); msync flags and errors;
 * the file after munmap, reopen and exit; ftruncate and pwrite growing the file under a
 * mapping, the partial last page and a cut into it; EACCES/EINVAL/EOPNOTSUPP of mmap.
 * `shared_file` uses a temporary file under /tmp (removed at the end); `shared_file PATH`
 * uses and keeps PATH, so that tests/mmcompare.py can compare its bytes after exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define NPAGES 4 /* pages of the file at the start, page i filled with 'a' + i */

static char path[256];
static int fd = -1;

/* A byte as text: 'c' when printable, else its value. */
static const char *byte(int c)
{
    static char buf[4][16];
    static int next;
    char *b = buf[next++ % 4];

    if (c >= 0x21 && c < 0x7f)
        snprintf(b, sizeof(buf[0]), "'%c'", c);
    else
        snprintf(b, sizeof(buf[0]), "%d", c);
    return b;
}

/* The file's byte at off through pread: the byte, "EOF", or "-1 ENAME". */
static const char *file_byte(off_t off)
{
    unsigned char c;
    long n = pread(fd, &c, 1, off);

    if (n == 1)
        return byte(c);
    return n == 0 ? "EOF" : res(n);
}

static unsigned char *map_file(size_t len, int prot, int flags, off_t off)
{
    void *p = mmap(NULL, len, prot, flags, fd, off);

    if (p == MAP_FAILED) {
        printf("mmap(len %zu, off %ld): %s\n", len, (long)off, res(-1));
        failures++;
        return NULL;
    }
    return p;
}

static int setup(int argc, char **argv)
{
    char page[PG];

    if (argc > 1) {
        snprintf(path, sizeof(path), "%s", argv[1]);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    } else {
        snprintf(path, sizeof(path), "/tmp/vmemu-shared-XXXXXX");
        fd = mkstemp(path);
    }
    if (fd < 0) {
        printf("cannot create the file: %s\n", res(-1));
        return -1;
    }
    for (unsigned long i = 0; i < NPAGES; i++) {
        memset(page, 'a' + (int)i, PG);
        if (pwrite(fd, page, PG, (off_t)(i * PG)) != (ssize_t)PG) {
            printf("cannot fill the file: %s\n", res(-1));
            return -1;
        }
    }
    return 0;
}

/* The same file opened a second time: its mapping, read() and pwrite() share the pages
 * of m (one page cache per file, not per descriptor). */
static void other_descriptor(unsigned char *m)
{
    int fd2 = open(path, O_RDWR);
    unsigned char *m2, c = 0;

    show("open the file a second time", fd2 >= 0 ? "ok" : res(-1), "ok");
    if (fd2 < 0)
        return;
    m2 = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
    show("mmap through the second descriptor", m2 == MAP_FAILED ? res(-1) : "ok", "ok");
    if (m2 != MAP_FAILED) {
        m[2 * PG + 50] = 'O';
        show("store via the first, read via the second's mapping", byte(m2[2 * PG + 50]), "'O'");
        m2[2 * PG + 51] = 'o';
        show("store via the second, read via the first's mapping", byte(m[2 * PG + 51]), "'o'");
        munmap(m2, NPAGES * PG);
    }
    show("pread through the second descriptor", res(pread(fd2, &c, 1, 2 * PG + 50)), "1");
    show("... sees the store", byte(c), "'O'");
    show("pwrite 'p' through the second descriptor", res(pwrite(fd2, "p", 1, 2 * PG + 52)), "1");
    show("... seen through the first's mapping", byte(m[2 * PG + 52]), "'p'");
    close(fd2);
}

/* Two shared mappings of the file (and one of page 1 alone) see each other's stores;
 * returns the first mapping, kept for the following steps. */
static unsigned char *two_views(void)
{
    unsigned char *m1 = map_file(NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    unsigned char *m2 = map_file(NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    unsigned char *m3 = map_file(PG, PROT_READ, MAP_SHARED, PG);

    if (!m1 || !m2 || !m3)
        return NULL;
    show("shared mapping reads the file (page 0)", byte(m1[10]), "'a'");
    show("shared mapping reads the file (page 3)", byte(m1[3 * PG]), "'d'");
    m1[10] = 'X';
    show("store via mapping 1, read via mapping 2", byte(m2[10]), "'X'");
    m2[PG + 20] = 'W';
    show("store via mapping 2, read via mapping 1", byte(m1[PG + 20]), "'W'");
    show("... and via a read-only mapping at offset 4096", byte(m3[20]), "'W'");
    show("munmap of the second mapping", res(munmap(m2, NPAGES * PG)), "0");
    show("store survives the other mapping's munmap", byte(m1[PG + 20]), "'W'");
    munmap(m3, PG);
    other_descriptor(m1);
    return m1;
}

static void store_then_read(unsigned char *m)
{
    unsigned char buf[2 * PG];

    m[PG + 5] = 'Y';
    show("pread after a store through the mapping", file_byte(PG + 5), "'Y'");
    lseek(fd, 0, SEEK_SET);
    show("read() of pages 0-1", res(read(fd, buf, sizeof(buf))), "8192");
    show("... equals the mapping", memcmp(buf, m, sizeof(buf)) ? "no" : "yes", "yes");
}

static void vector_io(unsigned char *m)
{
    unsigned char a = 0, b = 0;
    struct iovec in[2] = {{&a, 1}, {&b, 1}};
    struct iovec out[2] = {{"K", 1}, {"L", 1}};

    m[2 * PG + 30] = 'k';
    m[2 * PG + 31] = 'l';
    lseek(fd, 2 * PG + 30, SEEK_SET);
    show("readv() after stores through the mapping", res(readv(fd, in, 2)), "2");
    show("... sees them", a == 'k' && b == 'l' ? "yes" : "no", "yes");
    lseek(fd, 2 * PG + 40, SEEK_SET);
    show("writev() into page 2", res(writev(fd, out, 2)), "2");
    show("... seen through the mapping",
         m[2 * PG + 40] == 'K' && m[2 * PG + 41] == 'L' ? "yes" : "no", "yes");
}

/* pwrite/write reach a shared mapping, and a private one where it has not written. */
static void writes_show_through(unsigned char *m)
{
    unsigned char *p = map_file(NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);

    if (!p)
        return;
    show("private mapping reads page 2", byte(p[2 * PG + 7]), "'c'");
    show("pwrite 'Z' into page 2", res(pwrite(fd, "Z", 1, 2 * PG + 7)), "1");
    show("... seen through the shared mapping", byte(m[2 * PG + 7]), "'Z'");
    show("... seen through the private mapping (page read before)", byte(p[2 * PG + 7]), "'Z'");
    show("pwrite 'V' into page 3", res(pwrite(fd, "V", 1, 3 * PG + 9)), "1");
    show("... seen through the private mapping (page untouched)", byte(p[3 * PG + 9]), "'V'");
    lseek(fd, 3 * PG + 11, SEEK_SET);
    show("write() 'U' into page 3", res(write(fd, "U", 1)), "1");
    show("... seen through the shared mapping", byte(m[3 * PG + 11]), "'U'");
    show("... seen through the private mapping", byte(p[3 * PG + 11]), "'U'");

    p[PG] = 'P';
    show("private store stays private (shared mapping)", byte(m[PG]), "'b'");
    show("private store stays private (pread)", file_byte(PG), "'b'");
    show("pwrite 'Q' into page 1", res(pwrite(fd, "Q", 1, PG + 1)), "1");
    show("... seen through the shared mapping", byte(m[PG + 1]), "'Q'");
    show("... not seen by the private copy of page 1", byte(p[PG + 1]), "'b'");
    show("pwrite 'R' into page 2", res(pwrite(fd, "R", 1, 2 * PG + 8)), "1");
    show("... seen by the private mapping on its unwritten page 2", byte(p[2 * PG + 8]), "'R'");
    show("private copy keeps its own store", byte(p[PG]), "'P'");
    show("msync of a private mapping", res(msync(p, NPAGES * PG, MS_SYNC)), "0");
    show("... does not write the private store", file_byte(PG), "'b'");
    munmap(p, NPAGES * PG);
}

/* Faulting a private writable file mapping in ahead of use (MAP_POPULATE, mlock) makes
 * private copies of its pages at once: a later pwrite is not seen. A read-only private
 * mapping populated the same way keeps sharing the file's pages. */
static void populate_private(void)
{
    unsigned char *w = map_file(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, 0);
    unsigned char *r = map_file(PG, PROT_READ, MAP_PRIVATE | MAP_POPULATE, 0);
    unsigned char *l = map_file(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
    char before[8];

    if (!w || !r || !l)
        return;
    show("mlock of a private writable file mapping", res(mlock(l, PG)), "0");
    snprintf(before, sizeof(before), "%s", byte(w[60]));
    show("pwrite '#' into page 0", res(pwrite(fd, "#", 1, 60)), "1");
    show("... not seen by a MAP_POPULATE private writable mapping", byte(w[60]), before);
    show("... not seen by an mlocked private writable mapping", byte(l[60]), before);
    show("... seen by a MAP_POPULATE private read-only mapping", byte(r[60]), "'#'");
    munmap(w, PG);
    munmap(r, PG);
    munmap(l, PG);
}

static void msync_cases(unsigned char *m)
{
    unsigned char *gone;

    m[3 * PG + 100] = 'S';
    show("msync MS_SYNC", res(msync(m, NPAGES * PG, MS_SYNC)), "0");
    show("... pread sees the store", file_byte(3 * PG + 100), "'S'");
    m[3 * PG + 101] = 'A';
    show("msync MS_ASYNC", res(msync(m, NPAGES * PG, MS_ASYNC)), "0");
    show("... pread sees the store", file_byte(3 * PG + 101), "'A'");
    m[2 * PG + 102] = 'I';
    show("msync MS_INVALIDATE", res(msync(m, NPAGES * PG, MS_INVALIDATE)), "0");
    show("... the mapping keeps its data", byte(m[2 * PG + 102]), "'I'");
    show("... pread sees the store", file_byte(2 * PG + 102), "'I'");
    show("msync MS_SYNC|MS_INVALIDATE of page 1 only",
         res(msync(m + PG, PG, MS_SYNC | MS_INVALIDATE)), "0");
    show("msync with flags 0", res(msync(m, PG, 0)), "0");
    show("msync of length 0", res(msync(m, 0, MS_SYNC)), "0");
    show("msync of an unaligned address", res(syscall(SYS_msync, m + 1, PG, MS_SYNC)), "-1 EINVAL");
    show("msync MS_SYNC|MS_ASYNC", res(msync(m, PG, MS_SYNC | MS_ASYNC)), "-1 EINVAL");
    show("msync with an unknown flag", res(msync(m, PG, MS_SYNC | 0x100)), "-1 EINVAL");
    show("mlock of page 0", res(mlock(m, PG)), "0");
    show("msync MS_INVALIDATE of a locked page", res(msync(m, PG, MS_INVALIDATE)), "-1 EBUSY");
    show("msync MS_SYNC of a locked page", res(msync(m, PG, MS_SYNC)), "0");
    munlock(m, PG);
    gone = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gone != MAP_FAILED) {
        munmap(gone, PG);
        show("msync of an unmapped page", res(msync(gone, PG, MS_SYNC)), "-1 ENOMEM");
    }
}

/* Stores reach the file when the mapping goes away without msync; a reopened file has
 * them. */
static void unmap_and_reopen(unsigned char *m)
{
    unsigned char buf[NPAGES * PG];
    unsigned long sum = 0;

    m[0] = 'M';
    m[3 * PG + 4095] = 'N';
    show("munmap without msync", res(munmap(m, NPAGES * PG)), "0");
    show("pread after munmap", file_byte(0), "'M'");
    close(fd);
    fd = open(path, O_RDWR);
    show("reopen the file", fd >= 0 ? "ok" : res(-1), "ok");
    show("pread after reopen (page 0)", file_byte(0), "'M'");
    show("pread after reopen (last byte)", file_byte(NPAGES * PG - 1), "'N'");
    show("read() of the whole file", res(pread(fd, buf, sizeof(buf), 0)), "16384");
    for (size_t i = 0; i < sizeof(buf); i++)
        sum = sum * 31 + buf[i];
    printf("file checksum after reopen: %lu\n", sum);
}

/* A mapping longer than the file becomes usable where ftruncate grows the file. */
static void grow_under_mapping(void)
{
    unsigned char *m = map_file(7 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    unsigned char *tail;
    struct stat st;

    if (!m)
        return;
    show("ftruncate from 4 to 6 pages", res(ftruncate(fd, 6 * PG)), "0");
    show("new page 5 reads zero through the old mapping", byte(m[5 * PG + 3]), "0");
    m[5 * PG + 3] = 'G';
    show("store into the new page, pread", file_byte(5 * PG + 3), "'G'");
    fstat(fd, &st);
    printf("file size: %ld\n", (long)st.st_size);
    tail = map_file(2 * PG, PROT_READ, MAP_SHARED, 4 * PG);
    if (tail) {
        show("a new mapping of pages 4-5 sees the store", byte(tail[PG + 3]), "'G'");
        munmap(tail, 2 * PG);
    }
    show("pwrite 'J' 10 bytes past EOF extends the file", res(pwrite(fd, "J", 1, 6 * PG + 10)),
         "1");
    show("... the old mapping's page 6 now reads it", byte(m[6 * PG + 10]), "'J'");
    show("... and zero before it", byte(m[6 * PG + 9]), "0");
    munmap(m, 7 * PG);
}

/* The last page of a file whose size is not a page multiple. */
static void partial_last_page(void)
{
    unsigned char *m;
    struct stat st;

    show("ftruncate to 6 pages + 100 bytes", res(ftruncate(fd, 6 * PG + 100)), "0");
    m = map_file(7 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    if (!m)
        return;
    show("byte 50 of the last page (inside the file)", byte(m[6 * PG + 50]), "0");
    show("byte 200 of the last page (past EOF)", byte(m[6 * PG + 200]), "0");
    m[6 * PG + 50] = 'H';
    m[6 * PG + 200] = 'T';
    show("msync", res(msync(m, 7 * PG, MS_SYNC)), "0");
    show("pread of byte 50", file_byte(6 * PG + 50), "'H'");
    show("pread of byte 200 (past EOF)", file_byte(6 * PG + 200), "EOF");
    fstat(fd, &st);
    printf("file size after stores past EOF: %ld\n", (long)st.st_size);
    munmap(m, 7 * PG);
    fstat(fd, &st);
    printf("file size after munmap: %ld\n", (long)st.st_size);
}

/* ftruncate into the last page: its tail past the new size reads zero in the mapping. */
static void shrink_under_mapping(void)
{
    unsigned char *m = map_file(7 * PG, PROT_READ, MAP_SHARED, 0);

    if (!m)
        return;
    show("last page before the shrink: byte 10, byte 50",
         m[6 * PG + 10] == 'J' && m[6 * PG + 50] == 'H' ? "'J' 'H'" : "other", "'J' 'H'");
    show("ftruncate to 6 pages + 20 bytes", res(ftruncate(fd, 6 * PG + 20)), "0");
    show("byte 10 of the last page (kept)", byte(m[6 * PG + 10]), "'J'");
    show("byte 50 of the last page (cut off) reads zero", byte(m[6 * PG + 50]), "0");
    munmap(m, 7 * PG);
}

/* Access rights: a shared writable mapping needs a descriptor open for writing; flags
 * and offsets are checked. */
static void access_rights(void)
{
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    unsigned char *p;

    if (ro < 0 || wo < 0) {
        show("open the file read-only and write-only", res(-1), "ok");
        return;
    }
    p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    show("shared writable mapping of a read-only descriptor", p == MAP_FAILED ? res(-1) : "mapped",
         "-1 EACCES");
    p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    show("private writable mapping of a read-only descriptor", p == MAP_FAILED ? res(-1) : "ok",
         "ok");
    if (p != MAP_FAILED) {
        p[0] = 'r';
        show("... takes a private store", byte(p[0]), "'r'");
        munmap(p, PG);
    }
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
    show("shared read-only mapping of a read-only descriptor", p == MAP_FAILED ? res(-1) : "ok",
         "ok");
    if (p != MAP_FAILED) {
        show("... mprotect to PROT_WRITE", res(mprotect(p, PG, PROT_READ | PROT_WRITE)),
             "-1 EACCES");
        munmap(p, PG);
    }
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0);
    show("mapping of a write-only descriptor", p == MAP_FAILED ? res(-1) : "mapped", "-1 EACCES");
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 100);
    show("mapping at an unaligned offset", p == MAP_FAILED ? res(-1) : "mapped", "-1 EINVAL");
    p = mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0);
    show("mapping of length 0", p == MAP_FAILED ? res(-1) : "mapped", "-1 EINVAL");
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED | 0x400000, fd, 0);
    show("MAP_SHARED with an unknown flag (ignored)", p == MAP_FAILED ? res(-1) : "ok", "ok");
    if (p != MAP_FAILED)
        munmap(p, PG);
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x400000, fd, 0);
    show("MAP_SHARED_VALIDATE with an unknown flag", p == MAP_FAILED ? res(-1) : "mapped",
         "-1 EOPNOTSUPP");
    p = mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE, fd, 0);
    show("MAP_SHARED_VALIDATE", p == MAP_FAILED ? res(-1) : "ok", "ok");
    if (p != MAP_FAILED)
        munmap(p, PG);
    close(ro);
    close(wo);
}

/* Stores left in a mapping at exit: the file gets them (checked by mmcompare). */
static void leave_mapped(void)
{
    unsigned char *m = map_file(6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, 0);

    if (!m)
        return;
    m[1] = 'E';
    m[5 * PG] = 'F';
    m[3 * PG + 1] = 'D';
    show("munmap of page 3 alone after a store into it", res(munmap(m + 3 * PG, PG)), "0");
    show("pread of that store", file_byte(3 * PG + 1), "'D'");
    printf("stores left mapped at exit\n");
}

int main(int argc, char **argv)
{
    unsigned char *m;

    if (setup(argc, argv) < 0)
        return 1;
    m = two_views();
    if (m) {
        store_then_read(m);
        vector_io(m);
        writes_show_through(m);
        populate_private();
        msync_cases(m);
        unmap_and_reopen(m);
    }
    grow_under_mapping();
    partial_last_page();
    shrink_under_mapping();
    access_rights();
    leave_mapped();
    if (argc <= 1)
        unlink(path);
    printf("%d failures\n", failures);
    return failures != 0;
}
