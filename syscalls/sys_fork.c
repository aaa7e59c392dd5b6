/* Process life-cycle syscalls: fork, vfork, clone and clone3 (fork-like flags), execve
 * and execveat, wait4 and waitid, setpgid and setsid. Process creation is proc_fork and
 * the scheduler (src/sched.c); loading is proc_exec (src/run.c). Called by
 * syscalls/dispatch.c. */
#include "linux_abi.h"
#include "sysdefs.h"
#include "vmemu/sched.h"

/* placeholder: being written */
SYSCALL_DEFINE0(fork)
{
    (void)p;
    return -ENOSYS;
}
SYSCALL_DEFINE0(vfork)
{
    (void)p;
    return -ENOSYS;
}
SYSCALL_DEFINE5(clone, uint64_t, flags, gva_t, sp, gva_t, ptid, gva_t, ctid, uint64_t, tls)
{
    (void)flags, (void)sp, (void)ptid, (void)ctid, (void)tls;
    return -ENOSYS;
}
SYSCALL_DEFINE2(clone3, gva_t, args, size_t, size)
{
    (void)args, (void)size;
    return -ENOSYS;
}
SYSCALL_DEFINE3(execve, gva_t, path, gva_t, argv, gva_t, envp)
{
    (void)path, (void)argv, (void)envp;
    return -ENOSYS;
}
SYSCALL_DEFINE5(execveat, int, dirfd, gva_t, path, gva_t, argv, gva_t, envp, int, flags)
{
    (void)dirfd, (void)path, (void)argv, (void)envp, (void)flags;
    return -ENOSYS;
}
SYSCALL_DEFINE4(wait4, int, pid, gva_t, status, int, options, gva_t, ru)
{
    (void)pid, (void)status, (void)options, (void)ru;
    return -ENOSYS;
}
SYSCALL_DEFINE5(waitid, int, which, int, id, gva_t, info, int, options, gva_t, ru)
{
    (void)which, (void)id, (void)info, (void)options, (void)ru;
    return -ENOSYS;
}
SYSCALL_DEFINE2(setpgid, int, pid, int, pgid)
{
    (void)pid, (void)pgid;
    return -ENOSYS;
}
SYSCALL_DEFINE0(setsid)
{
    (void)p;
    return -ENOSYS;
}
