/* Extended attributes passed through to the host: setxattr, getxattr, listxattr and
 * removexattr with their l* forms (on a final symlink itself) and f* forms (on a
 * descriptor). Guest paths are resolved as the guest sees them (sys_at_path_lookup);
 * names and values cross in bounce buffers of at most 64 KiB (Linux's XATTR_SIZE_MAX and
 * XATTR_LIST_MAX), a size of 0 asks for the size. The checks Linux makes before the
 * filesystem (flags, name length, value size) are made here with its errno values; the
 * rest (ENODATA, ERANGE, ENOTSUP, ...) comes from the host. Called by syscalls/dispatch.c
 * through the table. */
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "vmemu/abi/linux.h"
#include "sysdefs.h"

#define XATTR_NAME_MAX_LEN 255         /* Linux's XATTR_NAME_MAX */
#define XATTR_VALUE_MAX    (64 * 1024) /* XATTR_SIZE_MAX and XATTR_LIST_MAX */
#define XATTR_FLAG_CREATE  1
#define XATTR_FLAG_REPLACE 2

/* The file an xattr call is on: a host descriptor (fd >= 0) or a host path, whose final
 * symlink is followed or not. */
struct xattr_target {
    int fd;
    const char *path;
    bool follow;
    char buf[LINUX_PATH_MAX + 64];
    struct at_path ap;
};

/* Fills *t for guest descriptor fd, or guest path upath when fd < 0. Returns 0 or -errno. */
static int xattr_target_get(struct proc *p, struct xattr_target *t, int fd, gva_t upath,
                            bool follow)
{
    t->follow = follow;
    t->path = NULL;
    t->fd = -1;
    if (fd >= 0) {
        int h = fd_host(p->fds, fd);
        if (h < 0)
            return h;
        t->fd = h;
        return 0;
    }
    int err = sys_at_path_lookup(p, LINUX_AT_FDCWD, upath, follow, &t->ap);
    if (err < 0)
        return err;
    t->path = sys_at_host_path(&t->ap, t->buf, sizeof(t->buf));
    return 0;
}

/* Reads the guest's attribute name: -ERANGE when empty or longer than Linux allows. */
static int xattr_name_get(struct proc *p, gva_t uname, char name[XATTR_NAME_MAX_LEN + 1])
{
    long n = strncpy_from_user(p->mm, name, uname, XATTR_NAME_MAX_LEN + 1);
    if (n == -ENAMETOOLONG || n == 0)
        return -ERANGE;
    return n < 0 ? (int)n : 0;
}

static long do_setxattr(struct proc *p, int fd, gva_t upath, bool follow, gva_t uname, gva_t uvalue,
                        size_t size, int flags)
{
    char name[XATTR_NAME_MAX_LEN + 1];
    if ((flags & ~(XATTR_FLAG_CREATE | XATTR_FLAG_REPLACE)) != 0)
        return -EINVAL;
    int err = xattr_name_get(p, uname, name);
    if (err < 0)
        return err;
    if (size > XATTR_VALUE_MAX)
        return -E2BIG;
    void *value = malloc(size > 0 ? size : 1);
    if (value == NULL)
        return -ENOMEM;
    long ret = size > 0 && copy_from_user(p->mm, value, uvalue, size) < 0 ? -EFAULT : 0;
    struct xattr_target *t = ret == 0 ? malloc(sizeof(*t)) : NULL;
    if (ret == 0 && t == NULL)
        ret = -ENOMEM;
    if (ret == 0)
        ret = xattr_target_get(p, t, fd, upath, follow);
    if (ret == 0) {
        int r = t->fd >= 0 ? fsetxattr(t->fd, name, value, size, flags)
                : follow   ? setxattr(t->path, name, value, size, flags)
                           : lsetxattr(t->path, name, value, size, flags);
        ret = sys_host_result(r);
    }
    free(t);
    free(value);
    return ret;
}

static long do_getxattr(struct proc *p, int fd, gva_t upath, bool follow, gva_t uname, gva_t uvalue,
                        size_t size)
{
    char name[XATTR_NAME_MAX_LEN + 1];
    int err = xattr_name_get(p, uname, name);
    if (err < 0)
        return err;
    if (size > XATTR_VALUE_MAX)
        size = XATTR_VALUE_MAX;
    struct xattr_target *t = malloc(sizeof(*t));
    void *value = malloc(size > 0 ? size : 1);
    long ret = t == NULL || value == NULL ? -ENOMEM : xattr_target_get(p, t, fd, upath, follow);
    if (ret == 0) {
        void *v = size > 0 ? value : NULL;
        ssize_t r = t->fd >= 0 ? fgetxattr(t->fd, name, v, size)
                    : follow   ? getxattr(t->path, name, v, size)
                               : lgetxattr(t->path, name, v, size);
        ret = sys_host_result(r);
        if (ret == -ERANGE && size == XATTR_VALUE_MAX)
            ret = -E2BIG;
        if (ret > 0 && size > 0 && copy_to_user(p->mm, uvalue, value, (size_t)ret) < 0)
            ret = -EFAULT;
    }
    free(value);
    free(t);
    return ret;
}

static long do_listxattr(struct proc *p, int fd, gva_t upath, bool follow, gva_t ulist, size_t size)
{
    if (size > XATTR_VALUE_MAX)
        size = XATTR_VALUE_MAX;
    struct xattr_target *t = malloc(sizeof(*t));
    char *list = malloc(size > 0 ? size : 1);
    long ret = t == NULL || list == NULL ? -ENOMEM : xattr_target_get(p, t, fd, upath, follow);
    if (ret == 0) {
        char *l = size > 0 ? list : NULL;
        ssize_t r = t->fd >= 0 ? flistxattr(t->fd, l, size)
                    : follow   ? listxattr(t->path, l, size)
                               : llistxattr(t->path, l, size);
        ret = sys_host_result(r);
        if (ret == -ERANGE && size == XATTR_VALUE_MAX)
            ret = -E2BIG;
        if (ret > 0 && size > 0 && copy_to_user(p->mm, ulist, list, (size_t)ret) < 0)
            ret = -EFAULT;
    }
    free(list);
    free(t);
    return ret;
}

static long do_removexattr(struct proc *p, int fd, gva_t upath, bool follow, gva_t uname)
{
    char name[XATTR_NAME_MAX_LEN + 1];
    int err = xattr_name_get(p, uname, name);
    if (err < 0)
        return err;
    struct xattr_target *t = malloc(sizeof(*t));
    long ret = t == NULL ? -ENOMEM : xattr_target_get(p, t, fd, upath, follow);
    if (ret == 0) {
        int r = t->fd >= 0 ? fremovexattr(t->fd, name)
                : follow   ? removexattr(t->path, name)
                           : lremovexattr(t->path, name);
        ret = sys_host_result(r);
    }
    free(t);
    return ret;
}

SYSCALL_DEFINE5(setxattr, gva_t, path, gva_t, name, gva_t, value, size_t, size, int, flags)
{
    return do_setxattr(p, -1, path, true, name, value, size, flags);
}

SYSCALL_DEFINE5(lsetxattr, gva_t, path, gva_t, name, gva_t, value, size_t, size, int, flags)
{
    return do_setxattr(p, -1, path, false, name, value, size, flags);
}

SYSCALL_DEFINE5(fsetxattr, int, fd, gva_t, name, gva_t, value, size_t, size, int, flags)
{
    if (fd < 0)
        return -EBADF;
    return do_setxattr(p, fd, 0, true, name, value, size, flags);
}

SYSCALL_DEFINE4(getxattr, gva_t, path, gva_t, name, gva_t, value, size_t, size)
{
    return do_getxattr(p, -1, path, true, name, value, size);
}

SYSCALL_DEFINE4(lgetxattr, gva_t, path, gva_t, name, gva_t, value, size_t, size)
{
    return do_getxattr(p, -1, path, false, name, value, size);
}

SYSCALL_DEFINE4(fgetxattr, int, fd, gva_t, name, gva_t, value, size_t, size)
{
    if (fd < 0)
        return -EBADF;
    return do_getxattr(p, fd, 0, true, name, value, size);
}

SYSCALL_DEFINE3(listxattr, gva_t, path, gva_t, list, size_t, size)
{
    return do_listxattr(p, -1, path, true, list, size);
}

SYSCALL_DEFINE3(llistxattr, gva_t, path, gva_t, list, size_t, size)
{
    return do_listxattr(p, -1, path, false, list, size);
}

SYSCALL_DEFINE3(flistxattr, int, fd, gva_t, list, size_t, size)
{
    if (fd < 0)
        return -EBADF;
    return do_listxattr(p, fd, 0, true, list, size);
}

SYSCALL_DEFINE2(removexattr, gva_t, path, gva_t, name)
{
    return do_removexattr(p, -1, path, true, name);
}

SYSCALL_DEFINE2(lremovexattr, gva_t, path, gva_t, name)
{
    return do_removexattr(p, -1, path, false, name);
}

SYSCALL_DEFINE2(fremovexattr, int, fd, gva_t, name)
{
    if (fd < 0)
        return -EBADF;
    return do_removexattr(p, fd, 0, true, name);
}
