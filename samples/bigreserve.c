/* bigreserve: the memory calls a program makes over a huge reservation, whose cost on
 * Linux follows what is mapped, not the reserved size: a 64 TiB PROT_NONE reservation
 * (as Go, JVMs and sanitizers make), mlock and munlock over it, madvise(MADV_DONTNEED) over
 * it, mincore of its first pages, msync over a 1 TiB shared mapping of a one-page file,
 * fork with the reservation in place and the child's exit, and the end of the process.
 * Prints each call's result (never an address); tests/bound_e2e.py times the run under
 * vmemu and compares its output with the native one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample_check.h"

#define TIB (1ULL << 40)

int main(void)
{
    size_t big = 64 * TIB;
    char *r = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    show("mmap 64 TiB PROT_NONE", r == MAP_FAILED ? res(-1) : "ok", "ok");
    if (r == MAP_FAILED)
        return 1;
    /* A few pages in the middle become usable, as a heap carved out of the reservation. */
    char *mid = r + 32 * TIB;
    show("mprotect 4 pages read-write", res(mprotect(mid, 4 * PG, PROT_READ | PROT_WRITE)), "0");
    memset(mid, 7, 4 * PG);
    /* Without CAP_IPC_LOCK, RLIMIT_MEMLOCK refuses it (ENOMEM); with it (vmemu as root), the
     * lock must not cost the reserved size. Either is fine here. */
    int rc = mlock(r, big);
    show("mlock the reservation", rc == 0 || errno == ENOMEM ? "0 or ENOMEM" : res(rc),
         "0 or ENOMEM");
    show("munlock it", res(munlock(r, big)), "0");
    show("madvise DONTNEED over it", res(madvise(r, big, MADV_DONTNEED)), "0");
    show("... the written pages read zero", num(mid[0] + mid[4 * PG - 1]), "0");
    unsigned char vec[4];
    show("mincore of the first 4 pages", res(mincore(r, 4 * PG, vec)), "0");
    show("... none resident", num(vec[0] + vec[1] + vec[2] + vec[3]), "0");

    char path[] = "/tmp/vmemu-bigreserve-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, PG) != 0)
        return 2;
    unlink(path);
    char *f = mmap(NULL, TIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    show("mmap 1 TiB of a one-page file, shared", f == MAP_FAILED ? res(-1) : "ok", "ok");
    if (f != MAP_FAILED) {
        f[0] = 'x';
        show("msync over the whole mapping", res(msync(f, TIB, MS_SYNC)), "0");
        char c = 0;
        show("... the file has the store", num(pread(fd, &c, 1, 0) == 1 && c == 'x'), "1");
        show("munmap it", res(munmap(f, TIB)), "0");
    }
    close(fd);

    mid[0] = 1;
    pid_t pid = fork();
    if (pid == 0)
        _exit(mid[0] == 1 ? 0 : 1);
    int status = -1;
    waitpid(pid, &status, 0);
    show("fork with the reservation, the child sees the page", num(status), "0");
    show("munmap the reservation", res(munmap(r, big)), "0");
    if (failures)
        printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
