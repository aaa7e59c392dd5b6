/* The gdb stub's host I/O (vFile packets) for `info proc` and for the program after an
 * exec: the debugged process's /proc entries as vmemu makes them up for the guest, and its
 * program file, read-only; the descriptors gdb opened. Nothing else of the host is handed
 * to gdb. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdbstub_int.h"
#include "vmemu/proc.h"
#include "vmemu/procfs.h"

#define GDB_FAKE_PID 42000 /* the pid gdb names without multiprocess extensions */

/* Sends "F<result>" followed by ';' and data (escaped) when data is not NULL. */
static int gdb_send_file_reply(struct gdbstub *g, long result, const char *data, size_t n)
{
    int k = snprintf(g->out, sizeof(g->out), "F%lx", result);
    if (result < 0)
        k = snprintf(g->out, sizeof(g->out), "F-1,%lx", -result);
    char *o = g->out + k;
    if (data) {
        *o++ = ';';
        for (size_t i = 0; i < n; i++) {
            char c = data[i];
            if (c == '$' || c == '#' || c == '}' || c == '*') {
                *o++ = '}';
                c ^= 0x20;
            }
            *o++ = c;
        }
    }
    return gdb_send_n(g, g->out, (size_t)(o - g->out));
}

/* The path of a vFile packet (hex) at *s up to ',' or the end, into buf. Returns 0 or
 * -ENAMETOOLONG / -EINVAL. */
static int file_path(const char **s, char *buf, size_t size)
{
    const char *end = strchr(*s, ',');
    size_t n = (end ? (size_t)(end - *s) : strlen(*s)) / 2;
    if (n >= size)
        return -ENAMETOOLONG;
    if (hex_decode(*s, (uint8_t *)buf, n) < 0)
        return -EINVAL;
    buf[n] = 0;
    *s += 2 * n;
    if (**s == ',')
        (*s)++;
    return 0;
}

/* What follows "/proc/PID/" in path when PID is the debugged process (or the pid gdb
 * makes up without multiprocess extensions), else NULL. */
static const char *proc_entry(const struct gdbstub *g, const char *path)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return NULL;
    char *end;
    long pid = strtol(path + 6, &end, 10);
    if (end == path + 6 || *end != '/' || (pid != g->pid && pid != GDB_FAKE_PID))
        return NULL;
    return end + 1;
}

/* vFile:open: the debugged process's /proc files, as vmemu makes them up for the guest
 * (src/proc/procfs_task.c: maps from vmemu's areas, cmdline, status ...), and its program (gdb
 * reads it after an exec), read-only. Other paths get ENOENT: vmemu does not hand the
 * host's files to gdb. */
static int file_open(struct gdbstub *g, struct proc *p, const char *args)
{
    char path[512], self[600];
    if (file_path(&args, path, sizeof(path)) < 0)
        return gdb_send_file_reply(g, -ENAMETOOLONG, NULL, 0);
    const char *entry = proc_entry(g, path);
    bool exe = p->exe && strcmp(path, p->exe) == 0;
    if (!exe && (!entry || !*entry))
        return gdb_send_file_reply(g, -ENOENT, NULL, 0);
    int slot = 0;
    while (slot < GDB_MAX_FILES && g->files[slot] >= 0)
        slot++;
    if (slot == GDB_MAX_FILES)
        return gdb_send_file_reply(g, -EMFILE, NULL, 0);
    int fd;
    if (exe) {
        fd = open(p->exe, O_RDONLY | O_CLOEXEC);
        fd = fd < 0 ? -errno : fd;
    } else {
        snprintf(self, sizeof(self), "/proc/self/%s", entry);
        fd = procfs_open(p, self, O_RDONLY, NULL);
    }
    if (fd == PROCFS_PASS)
        fd = -ENOENT;
    if (fd < 0)
        return gdb_send_file_reply(g, fd, NULL, 0);
    g->files[slot] = fd;
    return gdb_send_file_reply(g, slot, NULL, 0);
}

/* Stores v big-endian in n bytes at dst (gdb's File-I/O struct stat). */
static void put_be(uint8_t *dst, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* vFile:fstat: gdb's 64-byte struct stat (File-I/O protocol: big-endian fields). */
static int file_fstat(struct gdbstub *g, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return gdb_send_file_reply(g, -errno, NULL, 0);
    uint8_t b[64];
    put_be(b + 0, st.st_dev, 4);
    put_be(b + 4, st.st_ino, 4);
    put_be(b + 8, st.st_mode, 4);
    put_be(b + 12, st.st_nlink, 4);
    put_be(b + 16, st.st_uid, 4);
    put_be(b + 20, st.st_gid, 4);
    put_be(b + 24, st.st_rdev, 4);
    put_be(b + 28, (uint64_t)st.st_size, 8);
    put_be(b + 36, (uint64_t)st.st_blksize, 8);
    put_be(b + 44, (uint64_t)st.st_blocks, 8);
    put_be(b + 52, (uint64_t)st.st_atime, 4);
    put_be(b + 56, (uint64_t)st.st_mtime, 4);
    put_be(b + 60, (uint64_t)st.st_ctime, 4);
    return gdb_send_file_reply(g, sizeof(b), (const char *)b, sizeof(b));
}

/* Host I/O packets (vFile:...) for `info proc` and the program after an exec: setfs,
 * open, pread, fstat, close, readlink of /proc/PID/exe; anything else is unsupported. */
int gdb_vfile(struct gdbstub *g, struct proc *p, const char *pkt)
{
    const char *s;
    if (strncmp(pkt, "setfs:", 6) == 0)
        return gdb_send_file_reply(g, 0, NULL, 0);
    if (strncmp(pkt, "open:", 5) == 0)
        return file_open(g, p, pkt + 5);
    if (strncmp(pkt, "pread:", 6) == 0 || strncmp(pkt, "close:", 6) == 0 ||
        strncmp(pkt, "fstat:", 6) == 0) {
        s = pkt + 6;
        uint64_t slot = parse_hex(&s);
        if (slot >= GDB_MAX_FILES || g->files[slot] < 0)
            return gdb_send_file_reply(g, -EBADF, NULL, 0);
        if (pkt[0] == 'f')
            return file_fstat(g, g->files[slot]);
        if (pkt[0] == 'c') {
            close(g->files[slot]);
            g->files[slot] = -1;
            return gdb_send_file_reply(g, 0, NULL, 0);
        }
        uint64_t count = *s == ',' ? (s++, parse_hex(&s)) : 0;
        uint64_t off = *s == ',' ? (s++, parse_hex(&s)) : 0;
        char buf[GDB_PKT_MAX / 2];
        if (count > sizeof(buf))
            count = sizeof(buf);
        ssize_t n = pread(g->files[slot], buf, count, (off_t)off);
        if (n < 0)
            return gdb_send_file_reply(g, -errno, NULL, 0);
        return gdb_send_file_reply(g, n, buf, (size_t)n);
    }
    if (strncmp(pkt, "readlink:", 9) == 0) {
        char path[512];
        s = pkt + 9;
        const char *entry = file_path(&s, path, sizeof(path)) == 0 ? proc_entry(g, path) : NULL;
        if (!entry || strcmp(entry, "exe") != 0 || !p->exe)
            return gdb_send_file_reply(g, -ENOENT, NULL, 0);
        return gdb_send_file_reply(g, (long)strlen(p->exe), p->exe, strlen(p->exe));
    }
    return gdb_send(g, "");
}

/* Closes the vFile descriptors. */
void files_close(struct gdbstub *g)
{
    for (int i = 0; i < GDB_MAX_FILES; i++) {
        if (g->files[i] >= 0)
            close(g->files[i]);
        g->files[i] = -1;
    }
}
