/* fdiso: a process sees its own descriptors and nothing else, for tests/fdiso_e2e.py.
 * Without arguments it prints what it finds, in a form that is the same natively and
 * under vmemu (numbers, kinds of file, no inode numbers): the descriptors that answer
 * fcntl among 0..65535; the listing of /proc/self/fd and /proc/self/fdinfo; readlink of
 * each /proc/self/fd/N and of /dev/stdin; how many of /proc/self/fd/N and /dev/fd/N open
 * for N in 0..65535; a pipe read through /dev/fd/N (bash's process substitution); the
 * close-on-exec flag in fdinfo; close_range with CLOSE_RANGE_CLOEXEC; closefrom (glibc)
 * or close_range (musl) of everything from 3 on. With `scan` it prints everything it can
 * read under /proc/self and /proc/thread-self (files, links, and the fd, fdinfo, task and
 * ns directories), for the test to search for anything of vmemu's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sample_check.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The open descriptors among 0..65535, on one line. */
static void print_open_fds(const char *what)
{
    printf("%s:", what);
    for (int fd = 0; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            printf(" %d", fd);
    printf("\n");
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The numbers listed in dir, sorted, on one line (the listing's own descriptor among
 * them, as on Linux). */
static void print_listing(const char *dir)
{
    int nums[256], n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256)
        if (e->d_name[0] != '.')
            nums[n++] = atoi(e->d_name);
    closedir(d);
    qsort(nums, (size_t)n, sizeof(nums[0]), cmp_int);
    printf("%s:", dir);
    for (int i = 0; i < n; i++)
        printf(" %d", nums[i]);
    printf("\n");
}

/* readlink of path, with pipe and socket inode numbers left out. */
static void print_link(const char *path)
{
    char target[4096];
    ssize_t len = readlink(path, target, sizeof(target) - 1);
    if (len < 0) {
        printf("readlink %s: %s\n", path, errname(errno));
        return;
    }
    target[len] = '\0';
    char *bracket = strchr(target, '[');
    if (bracket && (strncmp(target, "pipe:", 5) == 0 || strncmp(target, "socket:", 7) == 0))
        strcpy(bracket, "[N]");
    printf("readlink %s -> %s\n", path, target);
}

/* How many of prefix/N open for N in 0..65535. */
static int count_opens(const char *prefix)
{
    int ok = 0;
    char path[64];
    for (int fd = 0; fd < 65536; fd++) {
        snprintf(path, sizeof(path), "%s/%d", prefix, fd);
        int h = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (h >= 0) {
            ok++;
            close(h);
        }
    }
    return ok;
}

/* Prints what path holds: a link's target, a file's first 64 KiB, a directory's names
 * (and, below it, what they hold, depth levels down). */
static void dump(const char *path, int depth) /* path: at most 4095 bytes are used */
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        printf("== %s -> %.*s\n", path, len > 0 ? (int)len : 0, target);
    }
    if (S_ISDIR(st.st_mode) || (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        if (depth == 0)
            return;
        DIR *d = opendir(path);
        if (!d)
            return;
        struct dirent *e;
        char(*names)[256] = malloc(512 * 256);
        int n = 0;
        CHECK(names != NULL);
        while ((e = readdir(d)) != NULL && n < 512)
            if (e->d_name[0] != '.')
                snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
        closedir(d);
        for (int i = 0; i < n; i++) {
            char sub[4096 + 256 + 2];
            /* the file system and the program itself are not vmemu's business here */
            bool skip = strcmp(names[i], "cwd") == 0 || strcmp(names[i], "root") == 0 ||
                        strcmp(names[i], "exe") == 0;
            snprintf(sub, sizeof(sub), "%.4095s/%.255s", path, names[i]);
            printf("== %s\n", sub);
            if (!skip)
                dump(sub, depth - 1);
            else
                print_link(sub);
        }
        free(names);
        return;
    }
    if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
        return;
    if (!S_ISREG(st.st_mode))
        return;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        printf("open %s: %s\n", path, errname(errno));
        return;
    }
    static char buf[65536];
    ssize_t len = read(fd, buf, sizeof(buf));
    close(fd);
    if (len > 0)
        fwrite(buf, 1, (size_t)len, stdout);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "scan") == 0) {
        int keep = open("/etc/hostname", O_RDONLY);
        CHECK(keep >= 0);
        dump("/proc/self", 2);
        dump("/proc/thread-self", 2);
        dump("/dev/fd", 1);
        /* ways around a check of the path's text: a symlink, "..", doubled slashes, a
         * relative path from /proc, the host's own /proc/PID */
        char dir[] = "/tmp/fdiso.XXXXXX", link[64], host[64];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(link, sizeof(link), "%s/mem", dir);
        CHECK(symlink("/proc/self/mem", link) == 0);
        snprintf(host, sizeof(host), "/proc/%ld/mem", (long)getppid());
        const char *tries[] = {link, "/proc/../proc/self/mem", "//proc//self/./mem",
                               "/proc/self/task/../mem", "/dev/fd/../mem", host};
        for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
            int fd = open(tries[i], O_RDWR | O_CLOEXEC);
            printf("escape %s: %s\n", tries[i] == link ? "symlink" : tries[i],
                   fd >= 0 ? "OPENED" : errname(errno));
            if (fd >= 0)
                close(fd);
        }
        CHECK(chdir("/proc") == 0);
        int fd = open("self/mem", O_RDWR | O_CLOEXEC);
        printf("escape relative self/mem: %s\n", fd >= 0 ? "OPENED" : errname(errno));
        unlink(link);
        rmdir(dir);
        return 0;
    }
    print_open_fds("open at start");
    int file = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    int pfd[2];
    CHECK(file >= 0 && pipe(pfd) == 0);
    CHECK(dup2(pfd[0], 63) == 63);
    print_open_fds("open now");
    print_listing("/proc/self/fd");
    print_listing("/proc/self/fdinfo");
    print_listing("/dev/fd");
    for (int fd = 0; fd < 64; fd++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (fcntl(fd, F_GETFD) >= 0)
            print_link(path);
    }
    print_link("/dev/stdin");
    char line[64] = "";
    printf("opened through /proc/self/fd: %d\n", count_opens("/proc/self/fd"));
    printf("opened through /dev/fd: %d\n", count_opens("/dev/fd"));

    /* calls shells and their tools make on descriptors */
    CHECK(write(pfd[1], "xy", 2) == 2);
    int avail = -1, pgrp = 0;
    CHECK(ioctl(pfd[0], FIONREAD, &avail) == 0);
    printf("FIONREAD on a pipe holding 2 bytes: %d\n", avail);
    CHECK(read(pfd[0], line, 2) == 2);
    printf("TIOCGPGRP on a pipe: %s\n", ioctl(pfd[0], TIOCGPGRP, &pgrp) < 0 ? errname(errno) : "ok");
    sync();
    printf("syncfs: %d\n", syncfs(file));
    printf("sync_file_range: %d\n", sync_file_range(file, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE));
    long prio = syscall(SYS_ioprio_get, 1, 0);
    printf("ioprio_get of itself: %s\n", prio >= 0 ? "ok" : errname(errno));
    printf("ioprio_get of no process: %s\n",
           syscall(SYS_ioprio_get, 1, 0x3ffffff0) < 0 ? errname(errno) : "ok");

    /* bash's <(...): the reader opens /dev/fd/63, the pipe's read end */
    CHECK(write(pfd[1], "substituted\n", 12) == 12);
    close(pfd[1]);
    FILE *sub = fopen("/dev/fd/63", "r");
    CHECK(sub != NULL && fgets(line, sizeof(line), sub) != NULL);
    printf("read through /dev/fd/63: %s", line);
    fclose(sub);

    /* fdinfo shows the descriptor's own close-on-exec flag */
    char info[64], text[512];
    snprintf(info, sizeof(info), "/proc/self/fdinfo/%d", file);
    int fi = open(info, O_RDONLY);
    CHECK(fi >= 0);
    ssize_t len = read(fi, text, sizeof(text) - 1);
    CHECK(len > 0);
    text[len] = '\0';
    close(fi);
    unsigned long flags = 0;
    const char *at = strstr(text, "flags:");
    CHECK(at && sscanf(at, "flags:\t%lo", &flags) == 1);
    printf("fdinfo of an O_CLOEXEC file: cloexec %s\n", (flags & O_CLOEXEC) ? "set" : "clear");

    /* close_range marking close-on-exec, then everything from 3 on closed */
    CHECK(syscall(SYS_close_range, 63, 63, CLOSE_RANGE_CLOEXEC) == 0);
    printf("close_range CLOEXEC: FD_CLOEXEC %s\n", fcntl(63, F_GETFD) == FD_CLOEXEC ? "set" : "clear");
    CHECK(syscall(SYS_close_range, 10, 5, 0) == -1 && errno == EINVAL);
#ifdef __GLIBC__
    closefrom(3);
#else
    CHECK(syscall(SYS_close_range, 3, ~0U, 0) == 0);
#endif
    print_open_fds("open after closing from 3");
    print_listing("/proc/self/fd");
    return 0;
}
