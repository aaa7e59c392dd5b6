/* The gdb stub's wire protocol: hex digits and their decoding, gdb's signal numbers and
 * Linux's, the socket I/O to gdb, and the packets themselves ($data#checksum framing, the
 * '+'/'-' acknowledgements until no-ack mode, '}' escapes of received data). Nothing here
 * knows what a packet asks: src/debug/gdbstub.c and the other gdbstub_*.c files do. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdbstub_int.h"

static const char hexdig[] = "0123456789abcdef";

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses hex digits at *s up to a non-hex character; *s is moved past them. */
uint64_t parse_hex(const char **s)
{
    uint64_t v = 0;
    int d;
    while ((d = hexval((unsigned char)**s)) >= 0) {
        v = (v << 4) | (uint64_t)d;
        (*s)++;
    }
    return v;
}

/* Decodes 2*n hex digits into n bytes. Returns 0 or -EINVAL. */
int hex_decode(const char *s, uint8_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval((unsigned char)s[2 * i]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)s[2 * i + 1]);
        if (lo < 0)
            return -EINVAL;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

char *hex_encode(char *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *dst++ = hexdig[src[i] >> 4];
        *dst++ = hexdig[src[i] & 15];
    }
    *dst = 0;
    return dst;
}

/* Linux signal numbers to gdb's (gdb/signals.def) and back; 0 = no equivalent. */
static const int gdb_sig_of_linux[32] = {
    0, 1,  2,  3,  4,  5,  6,  10, 8,  9,  30, 11, 31, 13, 14, 15,
    0, 20, 19, 17, 18, 21, 22, 16, 24, 25, 26, 27, 28, 23, 32, 12,
};

int gdb_signal(int linux_sig)
{
    if (linux_sig > 0 && linux_sig < 32 && gdb_sig_of_linux[linux_sig])
        return gdb_sig_of_linux[linux_sig];
    return 143; /* GDB_SIGNAL_UNKNOWN */
}

/* gdb's signal number back to Linux's; -1 when it has no Linux equivalent. */
static int linux_signal(int gdb_sig)
{
    if (gdb_sig == 0)
        return 0;
    for (int sig = 1; sig < 32; sig++)
        if (gdb_sig_of_linux[sig] == gdb_sig)
            return sig;
    return -1;
}

/* The signal of a C/S packet or a vCont C/S action at s (hex digits), as Linux's. */
int parse_resume_sig(const char *s)
{
    int sig = linux_signal((int)parse_hex(&s));
    return sig < 0 ? 0 : sig;
}

void gdb_drop(struct gdbstub *g)
{
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
}

static int gdb_write_all(struct gdbstub *g, const char *buf, size_t n)
{
    while (n > 0 && g->fd >= 0) {
        ssize_t k = send(g->fd, buf, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            gdb_drop(g);
            return -ECONNRESET;
        }
        buf += k;
        n -= (size_t)k;
    }
    return g->fd >= 0 ? 0 : -ECONNRESET;
}

/* The next byte from gdb, or -1 when the connection ended. */
static int gdb_getc(struct gdbstub *g)
{
    if (g->rpos == g->rlen) {
        ssize_t k;
        do
            k = g->fd >= 0 ? recv(g->fd, g->rbuf, sizeof(g->rbuf), 0) : -1;
        while (k < 0 && errno == EINTR);
        if (k <= 0) {
            gdb_drop(g);
            return -1;
        }
        g->rlen = (size_t)k;
        g->rpos = 0;
    }
    return (unsigned char)g->rbuf[g->rpos++];
}

/* Sends one packet (data may hold any byte but '$', '#', '}' and '*', which the callers
 * escape). Waits for gdb's '+' unless no-ack mode is on. Returns 0 or -ECONNRESET. */
int gdb_send_n(struct gdbstub *g, const char *data, size_t n)
{
    char head = '$', tail[3];
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)data[i];
    tail[0] = '#';
    tail[1] = hexdig[(sum >> 4) & 15];
    tail[2] = hexdig[sum & 15];
    for (int tries = 0; tries < 3; tries++) {
        if (gdb_write_all(g, &head, 1) < 0 || gdb_write_all(g, data, n) < 0 ||
            gdb_write_all(g, tail, 3) < 0)
            return -ECONNRESET;
        if (g->noack)
            return 0;
        int c;
        while ((c = gdb_getc(g)) >= 0 && c != '+' && c != '-')
            ;
        if (c < 0)
            return -ECONNRESET;
        if (c == '+')
            return 0;
    }
    return 0;
}

int gdb_send(struct gdbstub *g, const char *s)
{
    return gdb_send_n(g, s, strlen(s));
}

/* Receives the next packet into g->pkt (unescaped, NUL-terminated). A Ctrl-C byte while
 * the guest is stopped is dropped. Returns 0 or -ECONNRESET. */
int gdb_recv(struct gdbstub *g)
{
    for (;;) {
        int c;
        while ((c = gdb_getc(g)) >= 0 && c != '$')
            ;
        if (c < 0)
            return -ECONNRESET;
        size_t n = 0;
        unsigned sum = 0;
        bool overflow = false;
        while ((c = gdb_getc(g)) >= 0 && c != '#') {
            sum += (unsigned)c;
            if (c == '}') {
                int e = gdb_getc(g);
                if (e < 0)
                    return -ECONNRESET;
                sum += (unsigned)e;
                c = e ^ 0x20;
            }
            if (n < GDB_PKT_MAX)
                g->pkt[n++] = (char)c;
            else
                overflow = true;
        }
        int h = gdb_getc(g), l = gdb_getc(g);
        if (c < 0 || h < 0 || l < 0)
            return -ECONNRESET;
        bool ok = !overflow && hexval(h) >= 0 && hexval(l) >= 0 &&
                  (unsigned)(hexval(h) << 4 | hexval(l)) == (sum & 0xff);
        if (!g->noack && gdb_write_all(g, ok ? "+" : "-", 1) < 0)
            return -ECONNRESET;
        if (!ok && !g->noack)
            continue;
        g->pkt[n] = 0;
        g->pktlen = n;
        return 0;
    }
}
