/* Credential syscalls beyond the plain getters of sys_proc.c: getresuid, getresgid, the
 * set*id family, setgroups, capget and capset. Every guest process runs as vmemu's own
 * host user, and vmemu cannot give one guest process other credentials without changing
 * them for every guest process (they all live in vmemu's one host process). So a change
 * that keeps every id as it is succeeds and any other is -EPERM (what Linux answers an
 * unprivileged process), even when vmemu runs as root. setfsuid/setfsgid return the
 * current id and never fail, as Linux. capget is the host's answer about vmemu; capset
 * succeeds only for the current sets. Called by syscalls/dispatch.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"
#include "vmemu/sched.h"

#define ID_UNCHANGED  0xffffffffU /* -1: leave this id as it is */
#define NGROUPS_LIMIT 65536       /* Linux's NGROUPS_MAX */

/* Linux's capability ABI versions and structures. */
#define CAP_VERSION_1 0x19980330U /* one 32-bit data set */
#define CAP_VERSION_2 0x20071026U /* two (deprecated, same layout as 3) */
#define CAP_VERSION_3 0x20080522U /* two */
struct linux_cap_header {
    uint32_t version;
    int32_t pid;
};
struct linux_cap_data {
    uint32_t effective;
    uint32_t permitted;
    uint32_t inheritable;
};
LINUX_ABI_CHECK(struct linux_cap_header, 8);
LINUX_ABI_CHECK(struct linux_cap_data, 12);

/* Writes the host's real, effective and saved ids (uid or gid) to the three pointers. */
static long put_res_ids(struct proc *p, const uint32_t id[3], gva_t r, gva_t e, gva_t s)
{
    if (put_user_u32(p->mm, r, id[0]) < 0 || put_user_u32(p->mm, e, id[1]) < 0 ||
        put_user_u32(p->mm, s, id[2]) < 0)
        return -EFAULT;
    return 0;
}

static void host_uids(uint32_t id[3])
{
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) < 0)
        r = e = s = getuid();
    id[0] = r, id[1] = e, id[2] = s;
}

static void host_gids(uint32_t id[3])
{
    gid_t r, e, s;
    if (getresgid(&r, &e, &s) < 0)
        r = e = s = getgid();
    id[0] = r, id[1] = e, id[2] = s;
}

SYSCALL_DEFINE3(getresuid, gva_t, ruid, gva_t, euid, gva_t, suid)
{
    uint32_t id[3];
    host_uids(id);
    return put_res_ids(p, id, ruid, euid, suid);
}

SYSCALL_DEFINE3(getresgid, gva_t, rgid, gva_t, egid, gva_t, sgid)
{
    uint32_t id[3];
    host_gids(id);
    return put_res_ids(p, id, rgid, egid, sgid);
}

/* 0 when each asked id (want[i], ID_UNCHANGED: any) equals the current one (cur[i]),
 * else -EPERM: the ids cannot change (see the file comment). */
static long ids_unchanged(const uint32_t cur[3], const uint32_t want[3])
{
    for (int i = 0; i < 3; i++)
        if (want[i] != ID_UNCHANGED && want[i] != cur[i])
            return -EPERM;
    return 0;
}

/* setuid/setgid change the effective id (all three for root): only the current one
 * goes; -1 is -EINVAL, as Linux. */
SYSCALL_DEFINE1(setuid, uint32_t, uid)
{
    uint32_t cur[3], want[3] = {ID_UNCHANGED, uid, ID_UNCHANGED};
    host_uids(cur);
    return uid == ID_UNCHANGED ? -EINVAL : ids_unchanged(cur, want);
}

SYSCALL_DEFINE1(setgid, uint32_t, gid)
{
    uint32_t cur[3], want[3] = {ID_UNCHANGED, gid, ID_UNCHANGED};
    host_gids(cur);
    return gid == ID_UNCHANGED ? -EINVAL : ids_unchanged(cur, want);
}

SYSCALL_DEFINE2(setreuid, uint32_t, ruid, uint32_t, euid)
{
    uint32_t cur[3], want[3] = {ruid, euid, ID_UNCHANGED};
    host_uids(cur);
    return ids_unchanged(cur, want);
}

SYSCALL_DEFINE2(setregid, uint32_t, rgid, uint32_t, egid)
{
    uint32_t cur[3], want[3] = {rgid, egid, ID_UNCHANGED};
    host_gids(cur);
    return ids_unchanged(cur, want);
}

SYSCALL_DEFINE3(setresuid, uint32_t, ruid, uint32_t, euid, uint32_t, suid)
{
    uint32_t cur[3], want[3] = {ruid, euid, suid};
    host_uids(cur);
    return ids_unchanged(cur, want);
}

SYSCALL_DEFINE3(setresgid, uint32_t, rgid, uint32_t, egid, uint32_t, sgid)
{
    uint32_t cur[3], want[3] = {rgid, egid, sgid};
    host_gids(cur);
    return ids_unchanged(cur, want);
}

/* setfsuid/setfsgid: the previous filesystem id (the effective one, which never changes
 * here); asking for another changes nothing, as Linux's silent refusal. */
SYSCALL_DEFINE1(setfsuid, uint32_t, uid)
{
    (void)uid;
    (void)p;
    return geteuid();
}

SYSCALL_DEFINE1(setfsgid, uint32_t, gid)
{
    (void)gid;
    (void)p;
    return getegid();
}

static int cmp_gid(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* setgroups: succeeds only when the list is the current one (getgroups, in any order). */
SYSCALL_DEFINE2(setgroups, int, size, gva_t, list)
{
    if (size < 0 || size > NGROUPS_LIMIT)
        return -EINVAL;
    int n = getgroups(0, NULL);
    if (n < 0)
        return -errno;
    uint32_t *want = calloc((size_t)size + 1, sizeof(*want));
    gid_t *hgids = calloc((size_t)n + 1, sizeof(*hgids));
    uint32_t *have = calloc((size_t)n + 1, sizeof(*have));
    long ret = 0;
    if (want == NULL || hgids == NULL || have == NULL) {
        ret = -ENOMEM;
    } else if (size > 0 && copy_from_user(p->mm, want, list, (size_t)size * sizeof(*want)) < 0) {
        ret = -EFAULT;
    } else if ((n = getgroups(n, hgids)) < 0) {
        ret = -errno;
    } else {
        for (int i = 0; i < n; i++)
            have[i] = hgids[i];
        qsort(want, (size_t)size, sizeof(*want), cmp_gid);
        qsort(have, (size_t)n, sizeof(*have), cmp_gid);
        if (size != n || memcmp(want, have, (size_t)n * sizeof(*want)) != 0)
            ret = -EPERM;
    }
    free(want);
    free(hgids);
    free(have);
    return ret;
}

/* Data sets a capability version carries, or 0 for an unknown version. */
static int cap_sets(uint32_t version)
{
    if (version == CAP_VERSION_1)
        return 1;
    return version == CAP_VERSION_2 || version == CAP_VERSION_3 ? 2 : 0;
}

/* The capability header at hdrp into *hdr. An unknown version gets the preferred one
 * written back and -EINVAL, as Linux. Returns the data sets its version carries (1 or 2)
 * or -errno. */
static int cap_header_get(struct proc *p, gva_t hdrp, struct linux_cap_header *hdr)
{
    if (copy_from_user(p->mm, hdr, hdrp, sizeof(*hdr)) < 0)
        return -EFAULT;
    int sets = cap_sets(hdr->version);
    if (sets > 0)
        return sets;
    uint32_t v = CAP_VERSION_3;
    return copy_to_user(p->mm, hdrp, &v, sizeof(v)) < 0 ? -EFAULT : -EINVAL;
}

/* capget: the host's capabilities of vmemu, for the caller or any task of the run (they
 * all have vmemu's). An unknown version gets the preferred one written back and -EINVAL,
 * or 0 with a NULL data pointer (the probe libcap makes), as Linux. */
SYSCALL_DEFINE2(capget, gva_t, hdrp, gva_t, datap)
{
    struct linux_cap_header hdr;
    int sets = cap_header_get(p, hdrp, &hdr);
    if (sets == -EINVAL && datap == 0)
        return 0;
    if (sets < 0)
        return sets;
    if (datap == 0)
        return 0;
    if (hdr.pid < 0)
        return -EINVAL;
    if (hdr.pid != 0 && hdr.pid != p->pid && (!p->sched || !sched_find(p->sched, hdr.pid)))
        return -ESRCH;
    struct linux_cap_header host = {.version = CAP_VERSION_3, .pid = 0};
    struct linux_cap_data d[2];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capget, &host, d) < 0)
        return -errno;
    return copy_to_user(p->mm, datap, d, (size_t)sets * sizeof(d[0])) < 0 ? -EFAULT : 0;
}

/* capset: the caller only (pid 0 or its own id, else -EPERM as Linux); succeeds only
 * when the sets asked for are the current ones. */
SYSCALL_DEFINE2(capset, gva_t, hdrp, gva_t, datap)
{
    struct linux_cap_header hdr;
    int sets = cap_header_get(p, hdrp, &hdr);
    if (sets < 0)
        return sets;
    if (hdr.pid != 0 && hdr.pid != p->pid)
        return -EPERM;
    struct linux_cap_data want[2], cur[2];
    memset(want, 0, sizeof(want));
    if (copy_from_user(p->mm, want, datap, (size_t)sets * sizeof(want[0])) < 0)
        return -EFAULT;
    struct linux_cap_header host = {.version = CAP_VERSION_3, .pid = 0};
    if (syscall(SYS_capget, &host, cur) < 0)
        return -errno;
    if (sets == 1) /* version 1 leaves the upper 32 capabilities as they are */
        want[1] = cur[1];
    return memcmp(want, cur, sizeof(cur)) == 0 ? 0 : -EPERM;
}
