/* pipe_heavy: the pipe-heavy benchmark workload (tests/bench.py). Usage: pipe_heavy
 * [MIB] [CHUNK] (default 64 MiB in writes of 65536 bytes). A child generates MIB MiB of
 * pseudo-random bytes and writes them to a pipe; the parent reads them with reads of
 * CHUNK bytes. Both checksum the bytes (FNV-1a); the child prints its sum when done, the
 * parent after reaping it: equal sums mean every byte arrived in order. The
 * pipe holds 64 KiB, so each side blocks on the other all the time: the cost of pipe
 * I/O and of the scheduler's sleeps and wake-ups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* FNV-1a over len bytes, continued from h. */
static uint64_t fnv(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 64;
    long chunk = argc > 2 ? atol(argv[2]) : 65536;
    uint64_t total = (uint64_t)mib << 20, got = 0, h = 0xcbf29ce484222325ULL;
    int fds[2], st;
    unsigned char *buf;

    if (mib < 0 || chunk < 1 || chunk > (1 << 24) || !(buf = malloc((size_t)chunk)) ||
        pipe(fds) != 0) {
        fprintf(stderr, "usage: pipe_heavy [MIB] [CHUNK 1..16M]\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        uint64_t x = 88172645463325252ULL, sent = 0;

        close(fds[0]);
        while (sent < total) {
            size_t n = total - sent < (uint64_t)chunk ? (size_t)(total - sent) : (size_t)chunk;
            for (size_t i = 0; i < n; i += 8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
            }
            h = fnv(h, buf, n);
            for (size_t off = 0; off < n;) {
                ssize_t w = write(fds[1], buf + off, n - off);
                if (w <= 0)
                    _exit(1);
                off += (size_t)w;
            }
            sent += n;
        }
        printf("writer: %llu bytes, fnv %016llx\n", (unsigned long long)sent,
               (unsigned long long)h);
        fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], buf, (size_t)chunk);
        if (n < 0)
            return 1;
        if (n == 0)
            break;
        h = fnv(h, buf, (size_t)n);
        got += (uint64_t)n;
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    printf("reader: %llu bytes, fnv %016llx\n", (unsigned long long)got, (unsigned long long)h);
    return got == total ? 0 : 1;
}
