/* fifo.c: FIFOs between processes, self-checking; the same lines natively and under vmemu
 * (tests/locks_e2e.py). mkfifo and mknod, an open for writing with O_NONBLOCK and no
 * reader (ENXIO), a reader that opens first and waits for the writer, a writer that opens
 * first and waits for the reader, O_RDWR opening at once, data read until EOF. alarm(10)
 * bounds the run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sample_check.h"

static char fifo[64];

static void writer(long delay_ms)
{
    sleep_ms(delay_ms);
    int fd = open(fifo, O_WRONLY);
    CHECK(fd >= 0);
    for (int i = 1; i <= 3; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        CHECK(write(fd, line, (size_t)n) == n);
    }
    close(fd);
    _exit(0);
}

static void read_all(const char *who, int fd)
{
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    CHECK(n == 0);
    buf[got] = '\0';
    printf("%s read %zu bytes until EOF:\n%s", who, got, buf);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    alarm(10);
    char dir[] = "/tmp/vmemu-fifo-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    printf("mkfifo: %d\n", mkfifo(fifo, 0600));
    struct stat st;
    CHECK(stat(fifo, &st) == 0);
    printf("is a FIFO: %d\n", S_ISFIFO(st.st_mode));

    int fd = open(fifo, O_WRONLY | O_NONBLOCK);
    printf("O_WRONLY|O_NONBLOCK without a reader: %d %s\n", fd, fd < 0 ? errname(errno) : "");
    fd = open(fifo, O_RDONLY | O_NONBLOCK);
    printf("O_RDONLY|O_NONBLOCK opens: %d\n", fd >= 0);
    close(fd);
    fd = open(fifo, O_RDWR);
    printf("O_RDWR opens: %d\n", fd >= 0);
    close(fd);

    /* The reader opens first and waits for the writer. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        writer(200);
    fd = open(fifo, O_RDONLY);
    CHECK(fd >= 0);
    printf("reader opened (the writer came)\n");
    read_all("reader", fd);
    close(fd);
    wait_child_ok(pid);

    /* The writer opens first and waits for the reader. */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        writer(0);
    sleep_ms(200);
    fd = open(fifo, O_RDONLY);
    CHECK(fd >= 0);
    read_all("late reader", fd);
    close(fd);
    wait_child_ok(pid);

    char reg[80];
    snprintf(reg, sizeof(reg), "%s/regular", dir);
    printf("mknod S_IFREG: %d\n", mknod(reg, S_IFREG | 0600, 0));
    CHECK(stat(reg, &st) == 0);
    printf("is a regular file: %d\n", S_ISREG(st.st_mode));
    CHECK(unlink(reg) == 0);
    CHECK(unlink(fifo) == 0);
    CHECK(rmdir(dir) == 0);
    printf("fifo: done\n");
    return 0;
}
