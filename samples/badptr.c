/* badptr: hands wild pointers to system calls.
 * Demonstrates: the kernel (and vmemu's copy_from_user/copy_to_user) reports a bad user
 * pointer as EFAULT instead of crashing the program: write from 0x10, read into 0x1,
 * open with a path at 0x1, stat into NULL. Prints each result and errno name.
 * The stat is a raw newfstatat(2): musl's stat() converts through a buffer of its own and
 * then crashes in user space copying into NULL, so the kernel would never see the NULL. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errno_name(int e)
{
    switch (e) {
    case 0:
        return "0";
    case EFAULT:
        return "EFAULT";
    case ENOENT:
        return "ENOENT";
    case EINVAL:
        return "EINVAL";
    case EBADF:
        return "EBADF";
    case ENOSYS:
        return "ENOSYS";
    default:
        return "other";
    }
}

static void show(const char *call, long ret)
{
    printf("%-28s = %ld, errno %s\n", call, ret, errno_name(ret < 0 ? errno : 0));
}

/* Read through a volatile so the compiler cannot see (and warn about) the bad pointers. */
static volatile uintptr_t bad_addr[] = {0x10, 0x1, 0x0};

int main(void)
{
    void *wild10 = (void *)bad_addr[0], *wild1 = (void *)bad_addr[1];
    struct stat *null_stat = (struct stat *)bad_addr[2];
    int fd;

    errno = 0;
    show("write(1, 0x10, 5)", (long)write(1, wild10, 5));

    fd = open("/dev/zero", O_RDONLY);
    if (fd < 0) {
        perror("open /dev/zero");
        return 1;
    }
    errno = 0;
    show("read(/dev/zero, 0x1, 1)", (long)read(fd, wild1, 1));
    close(fd);

    errno = 0;
    show("open(0x1, O_RDONLY)", (long)open((const char *)wild1, O_RDONLY));

    errno = 0;
    show("newfstatat(\"/\", NULL)", syscall(SYS_newfstatat, AT_FDCWD, "/", null_stat, 0));
    return 0;
}
