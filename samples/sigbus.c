/* sigbus: an access past the end of a mapped object raises SIGBUS (BUS_ADRERR), not SIGSEGV.
 * Prints what it sees, flushing stdout before each access, until SIGBUS ends it (status 135
 * as the shell shows it; exit status 1 means no SIGBUS came). Modes:
 *   read|write|private  a file of one page + 100 bytes mapped (MAP_SHARED, or MAP_PRIVATE
 *                       for private) with 3 pages: page 1 past EOF reads zero and takes a
 *                       store; reading (writing) page 2 is the fault
 *   truncate            a two-page file mapped, ftruncate to one page, page 1 read again
 *   shmem               2 pages of MAP_SHARED|MAP_ANONYMOUS grown to 4 by mremap: the shared
 *                       memory object keeps its 2 pages, page 3 is past its end
 * Files are unlinked as soon as they are mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG       4096UL
#define FILE_LEN (PG + 100) /* bytes of the file of read/write/private */

static void say(const char *what, int value)
{
    printf("%-44s %d\n", what, value);
    fflush(stdout);
}

/* Maps a new file of len bytes of 'x' with map_len bytes; leaves its descriptor in *fd. */
static volatile unsigned char *map_new_file(size_t len, size_t map_len, int flags, int *fd)
{
    char path[] = "/tmp/vmemu-sigbus-XXXXXX";
    static char data[2 * PG];
    void *p;

    *fd = mkstemp(path);
    if (*fd < 0) {
        printf("mkstemp failed: errno %d\n", errno);
        return NULL;
    }
    unlink(path);
    memset(data, 'x', sizeof(data));
    if (len > sizeof(data) || write(*fd, data, len) != (ssize_t)len) {
        printf("write failed: errno %d\n", errno);
        return NULL;
    }
    p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, flags, *fd, 0);
    if (p == MAP_FAILED) {
        printf("mmap failed: errno %d\n", errno);
        return NULL;
    }
    return p;
}

static int past_eof(const char *mode)
{
    int fd;
    volatile unsigned char *p =
        map_new_file(FILE_LEN, 3 * PG, strcmp(mode, "private") ? MAP_SHARED : MAP_PRIVATE, &fd);

    if (!p)
        return 1;
    close(fd);
    printf("mode %s: file of %lu bytes mapped with 3 pages\n", mode, FILE_LEN);
    say("page 0 reads the file", p[10]);
    say("page 1, byte 99 (inside the file)", p[PG + 99]);
    say("page 1, byte 100 (past EOF, same page)", p[PG + 100]);
    p[PG + 200] = 'y';
    say("page 1, store past EOF reads back", p[PG + 200]);
    if (strcmp(mode, "write") == 0) {
        printf("writing page 2 (past the last page of the file)...\n");
        fflush(stdout);
        p[2 * PG + 8] = 1;
    } else {
        printf("reading page 2 (past the last page of the file)...\n");
        fflush(stdout);
        say("page 2 (should not print)", p[2 * PG + 8]);
    }
    printf("no SIGBUS\n");
    return 1;
}

static int truncated(void)
{
    int fd;
    volatile unsigned char *q = map_new_file(2 * PG, 2 * PG, MAP_SHARED, &fd);

    if (!q)
        return 1;
    printf("mode truncate: file of 8192 bytes mapped with 2 pages\n");
    say("page 1 reads the file", q[PG + 99]);
    say("ftruncate to one page", ftruncate(fd, PG));
    say("page 0 still reads", q[10]);
    printf("reading page 1 after the truncation...\n");
    fflush(stdout);
    say("page 1 after ftruncate (should not print)", q[PG]);
    printf("no SIGBUS\n");
    return 1;
}

static int shmem_grown(void)
{
    volatile unsigned char *p =
        mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile unsigned char *q;

    if (p == MAP_FAILED) {
        printf("mmap failed: errno %d\n", errno);
        return 1;
    }
    printf("mode shmem: 2 pages of shared anonymous memory\n");
    p[PG] = 's';
    q = mremap((void *)p, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
        printf("mremap failed: errno %d\n", errno);
        return 1;
    }
    say("grown to 4 pages by mremap; page 1 reads", q[PG]);
    printf("reading page 3...\n");
    fflush(stdout);
    say("page 3 (should not print)", q[3 * PG]);
    printf("no SIGBUS\n");
    return 1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "read";

    if (strcmp(mode, "truncate") == 0)
        return truncated();
    if (strcmp(mode, "shmem") == 0)
        return shmem_grown();
    if (strcmp(mode, "read") == 0 || strcmp(mode, "write") == 0 || strcmp(mode, "private") == 0)
        return past_eof(mode);
    fprintf(stderr, "usage: sigbus read|write|private|truncate|shmem\n");
    return 2;
}
