/* shared_evict: `shared_evict [FILEPAGES [PRESSURE]]` (defaults 32 and 2048): a MAP_SHARED
 * and a MAP_PRIVATE mapping of the same file, stores through both, then memory pressure
 * (PRESSURE fresh anonymous pages written once) so that a small frame pool evicts the file
 * pages: dirty shared pages are written back, clean ones dropped, the private copies go to
 * swap. Then it prints, page by page, the first bytes seen through each mapping and read from
 * the file, and whether the rest of every page still holds its fill byte. Page i of the
 * file starts filled with 'a' + i % 26. Steps:
 *   0. private load from pages i % 3 == 1 (they map the page-cache page, which is then
 *      shared by both mappings: reclaim must unmap it from both);
 *   1. private store 'P' at byte 2 of pages i % 3 == 0 (each gets a private copy);
 *   2. shared store 'S' at byte 1 of even pages (the private copies keep the old byte,
 *      the private mapping's other pages show the file's new byte, as on Linux);
 *   3. pressure, then the check;
 *   4. shared store 'T' at byte 3 of pages i % 4 == 1 (pages that were re-read after
 *      eviction), pressure, the check again (private pages without a copy show 'T');
 *   5. munmap of both mappings, the file's bytes again.
 * The temporary file lives under /tmp and is removed at the end. Output never shows an
 * address or a file name, so it must equal the native run's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE_SIZE 4096UL
#define SHOWN     4 /* leading bytes of each page that are printed */

/* Writes pages fresh anonymous pages once and unmaps them: every frame they took has pushed
 * some other page out of a small pool. Returns 0 or -1. */
static int pressure(unsigned long pages)
{
    unsigned char *a =
        mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (a == MAP_FAILED) {
        perror("mmap pressure");
        return -1;
    }
    for (unsigned long i = 0; i < pages; i++)
        a[i * PAGE_SIZE] = (unsigned char)i;
    munmap(a, pages * PAGE_SIZE);
    return 0;
}

/* The first SHOWN bytes of page as text, plus '!' when a byte past them is not fill. */
static const char *page_text(const unsigned char *page, int fill)
{
    static char buf[2][SHOWN + 2];
    static int next;
    char *b = buf[next++ % 2];
    int clean = 1;

    for (int k = 0; k < SHOWN; k++)
        b[k] = (char)page[k];
    for (unsigned long k = SHOWN; k < PAGE_SIZE; k++)
        clean &= page[k] == fill;
    b[SHOWN] = clean ? '\0' : '!';
    b[SHOWN + 1] = '\0';
    return b;
}

/* The file's page i through pread, as page_text shows it ("read error" if short). */
static const char *file_text(int fd, unsigned long i, int fill)
{
    static unsigned char *page;

    if (!page && !(page = malloc(PAGE_SIZE)))
        return "no memory";
    if (pread(fd, page, PAGE_SIZE, (off_t)(i * PAGE_SIZE)) != (ssize_t)PAGE_SIZE)
        return "read error";
    return page_text(page, fill);
}

/* Applies pressure, then prints page by page what the shared mapping s, the private
 * mapping q and the file fd hold. Returns 0 or -1. */
static int check(const char *title, int fd, const unsigned char *s, const unsigned char *q,
                 unsigned long npages, unsigned long pressure_pages)
{
    if (pressure(pressure_pages))
        return -1;
    printf("%s: page shared private file\n", title);
    for (unsigned long i = 0; i < npages; i++) {
        int fill = 'a' + (int)(i % 26);

        printf("%lu %s %s %s\n", i, page_text(s + i * PAGE_SIZE, fill),
               page_text(q + i * PAGE_SIZE, fill), file_text(fd, i, fill));
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long npages = argc > 1 ? strtoul(argv[1], NULL, 10) : 32;
    unsigned long pressure_pages = argc > 2 ? strtoul(argv[2], NULL, 10) : 2048;
    char path[] = "/tmp/vmemu-shared-evict-XXXXXX";
    unsigned char *page, *s, *q;
    unsigned loaded = 0;
    int fd;

    if (npages == 0) {
        fprintf(stderr, "usage: shared_evict [FILEPAGES [PRESSURE]] (FILEPAGES >= 1)\n");
        return 2;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    unlink(path);
    page = malloc(PAGE_SIZE);
    if (!page)
        return 1;
    for (unsigned long i = 0; i < npages; i++) {
        memset(page, 'a' + (int)(i % 26), PAGE_SIZE);
        if (write(fd, page, PAGE_SIZE) != (ssize_t)PAGE_SIZE) {
            perror("write");
            return 1;
        }
    }
    free(page);
    s = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    q = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (s == MAP_FAILED || q == MAP_FAILED) {
        perror("mmap file");
        return 1;
    }

    for (unsigned long i = 1; i < npages; i += 3)
        loaded += *(volatile unsigned char *)&q[i * PAGE_SIZE];
    for (unsigned long i = 0; i < npages; i += 3)
        q[i * PAGE_SIZE + 2] = 'P';
    for (unsigned long i = 0; i < npages; i += 2)
        s[i * PAGE_SIZE + 1] = 'S';
    if (check("after pressure", fd, s, q, npages, pressure_pages))
        return 1;
    for (unsigned long i = 1; i < npages; i += 4)
        s[i * PAGE_SIZE + 3] = 'T';
    if (check("after more stores and pressure", fd, s, q, npages, pressure_pages))
        return 1;
    munmap(s, npages * PAGE_SIZE);
    munmap(q, npages * PAGE_SIZE);
    printf("file after munmap:\n");
    for (unsigned long i = 0; i < npages; i++)
        printf("%lu %s\n", i, file_text(fd, i, 'a' + (int)(i % 26)));
    close(fd);
    printf("loaded %u\n", loaded);
    return 0;
}
