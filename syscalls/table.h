/* The syscall table: one line per implemented syscall drives both dispatch and --trace.
 * X(nr, name, nargs, ret, a1, a2, a3, a4, a5, a6)
 * Argument and return kinds say how --trace prints them:
 *   I signed decimal, U unsigned decimal, H hex, P pointer, S guest string, F descriptor,
 *   O open flags, M mmap prot, N unused.
 * Handlers are `long sys_NAME(struct proc *p, const uint64_t *a)`, defined with the
 * SYSCALL_DEFINEn macros of syscalls/sysdefs.h. */
#ifndef VMEMU_SYSCALL_TABLE_H
#define VMEMU_SYSCALL_TABLE_H

/* clang-format off */
#define SYSCALL_TABLE(X)                                                       \
    X(0, read, 3, I, F, P, U, N, N, N)                                         \
    X(1, write, 3, I, F, P, U, N, N, N)                                        \
    X(2, open, 3, I, S, O, H, N, N, N)                                         \
    X(3, close, 1, I, F, N, N, N, N, N)                                        \
    X(4, stat, 2, I, S, P, N, N, N, N)                                         \
    X(5, fstat, 2, I, F, P, N, N, N, N)                                        \
    X(6, lstat, 2, I, S, P, N, N, N, N)                                        \
    X(7, poll, 3, I, P, U, I, N, N, N)                                         \
    X(8, lseek, 3, I, F, I, I, N, N, N)                                        \
    X(9, mmap, 6, H, P, U, M, H, F, H)                                         \
    X(10, mprotect, 3, I, P, U, M, N, N, N)                                    \
    X(11, munmap, 2, I, P, U, N, N, N, N)                                      \
    X(12, brk, 1, H, P, N, N, N, N, N)                                         \
    X(13, rt_sigaction, 4, I, I, P, P, U, N, N)                                \
    X(14, rt_sigprocmask, 4, I, I, P, P, U, N, N)                              \
    X(15, rt_sigreturn, 0, I, N, N, N, N, N, N)                                \
    X(16, ioctl, 3, I, F, H, P, N, N, N)                                       \
    X(17, pread64, 4, I, F, P, U, I, N, N)                                     \
    X(18, pwrite64, 4, I, F, P, U, I, N, N)                                    \
    X(19, readv, 3, I, F, P, I, N, N, N)                                       \
    X(20, writev, 3, I, F, P, I, N, N, N)                                      \
    X(21, access, 2, I, S, H, N, N, N, N)                                      \
    X(22, pipe, 1, I, P, N, N, N, N, N)                                        \
    X(23, select, 5, I, I, P, P, P, P, N)                                      \
    X(24, sched_yield, 0, I, N, N, N, N, N, N)                                 \
    X(25, mremap, 5, H, P, U, U, H, P, N)                                      \
    X(26, msync, 3, I, P, U, H, N, N, N)                                       \
    X(27, mincore, 3, I, P, U, P, N, N, N)                                     \
    X(28, madvise, 3, I, P, U, I, N, N, N)                                     \
    X(32, dup, 1, I, F, N, N, N, N, N)                                         \
    X(33, dup2, 2, I, F, F, N, N, N, N)                                        \
    X(34, pause, 0, I, N, N, N, N, N, N)                                       \
    X(35, nanosleep, 2, I, P, P, N, N, N, N)                                   \
    X(36, getitimer, 2, I, I, P, N, N, N, N)                                   \
    X(37, alarm, 1, U, U, N, N, N, N, N)                                       \
    X(38, setitimer, 3, I, I, P, P, N, N, N)                                   \
    X(39, getpid, 0, I, N, N, N, N, N, N)                                      \
    X(40, sendfile, 4, I, F, F, P, U, N, N)                                    \
    X(56, clone, 5, I, H, P, P, P, H, N)                                       \
    X(57, fork, 0, I, N, N, N, N, N, N)                                        \
    X(58, vfork, 0, I, N, N, N, N, N, N)                                       \
    X(59, execve, 3, I, S, P, P, N, N, N)                                      \
    X(60, exit, 1, I, I, N, N, N, N, N)                                        \
    X(61, wait4, 4, I, I, P, H, P, N, N)                                       \
    X(62, kill, 2, I, I, I, N, N, N, N)                                        \
    X(63, uname, 1, I, P, N, N, N, N, N)                                       \
    X(72, fcntl, 3, I, F, I, H, N, N, N)                                       \
    X(73, flock, 2, I, F, I, N, N, N, N)                                       \
    X(74, fsync, 1, I, F, N, N, N, N, N)                                       \
    X(75, fdatasync, 1, I, F, N, N, N, N, N)                                   \
    X(76, truncate, 2, I, S, I, N, N, N, N)                                    \
    X(77, ftruncate, 2, I, F, I, N, N, N, N)                                   \
    X(79, getcwd, 2, I, P, U, N, N, N, N)                                      \
    X(80, chdir, 1, I, S, N, N, N, N, N)                                       \
    X(81, fchdir, 1, I, F, N, N, N, N, N)                                      \
    X(82, rename, 2, I, S, S, N, N, N, N)                                      \
    X(83, mkdir, 2, I, S, H, N, N, N, N)                                       \
    X(84, rmdir, 1, I, S, N, N, N, N, N)                                       \
    X(86, link, 2, I, S, S, N, N, N, N)                                        \
    X(87, unlink, 1, I, S, N, N, N, N, N)                                      \
    X(88, symlink, 2, I, S, S, N, N, N, N)                                     \
    X(89, readlink, 3, I, S, P, U, N, N, N)                                    \
    X(90, chmod, 2, I, S, H, N, N, N, N)                                       \
    X(91, fchmod, 2, I, F, H, N, N, N, N)                                      \
    X(92, chown, 3, I, S, I, I, N, N, N)                                       \
    X(93, fchown, 3, I, F, I, I, N, N, N)                                      \
    X(94, lchown, 3, I, S, I, I, N, N, N)                                      \
    X(95, umask, 1, H, H, N, N, N, N, N)                                       \
    X(96, gettimeofday, 2, I, P, P, N, N, N, N)                                \
    X(97, getrlimit, 2, I, I, P, N, N, N, N)                                   \
    X(98, getrusage, 2, I, I, P, N, N, N, N)                                   \
    X(99, sysinfo, 1, I, P, N, N, N, N, N)                                     \
    X(100, times, 1, U, P, N, N, N, N, N)                                      \
    X(102, getuid, 0, I, N, N, N, N, N, N)                                     \
    X(104, getgid, 0, I, N, N, N, N, N, N)                                     \
    X(107, geteuid, 0, I, N, N, N, N, N, N)                                    \
    X(108, getegid, 0, I, N, N, N, N, N, N)                                    \
    X(109, setpgid, 2, I, I, I, N, N, N, N)                                    \
    X(110, getppid, 0, I, N, N, N, N, N, N)                                    \
    X(111, getpgrp, 0, I, N, N, N, N, N, N)                                    \
    X(112, setsid, 0, I, N, N, N, N, N, N)                                     \
    X(115, getgroups, 2, I, I, P, N, N, N, N)                                  \
    X(121, getpgid, 1, I, I, N, N, N, N, N)                                    \
    X(124, getsid, 1, I, I, N, N, N, N, N)                                     \
    X(127, rt_sigpending, 2, I, P, U, N, N, N, N)                              \
    X(128, rt_sigtimedwait, 4, I, P, P, P, U, N, N)                            \
    X(130, rt_sigsuspend, 2, I, P, U, N, N, N, N)                              \
    X(131, sigaltstack, 2, I, P, P, N, N, N, N)                                \
    X(137, statfs, 2, I, S, P, N, N, N, N)                                     \
    X(138, fstatfs, 2, I, F, P, N, N, N, N)                                    \
    X(140, getpriority, 2, I, I, I, N, N, N, N)                                \
    X(141, setpriority, 3, I, I, I, I, N, N, N)                                \
    X(143, sched_getparam, 2, I, I, P, N, N, N, N)                             \
    X(145, sched_getscheduler, 1, I, I, N, N, N, N, N)                         \
    X(149, mlock, 2, I, P, U, N, N, N, N)                                      \
    X(150, munlock, 2, I, P, U, N, N, N, N)                                    \
    X(151, mlockall, 1, I, H, N, N, N, N, N)                                   \
    X(152, munlockall, 0, I, N, N, N, N, N, N)                                 \
    X(157, prctl, 5, I, I, H, H, H, H, N)                                      \
    X(158, arch_prctl, 2, I, H, H, N, N, N, N)                                 \
    X(186, gettid, 0, I, N, N, N, N, N, N)                                     \
    X(200, tkill, 2, I, I, I, N, N, N, N)                                      \
    X(201, time, 1, I, P, N, N, N, N, N)                                       \
    X(202, futex, 6, I, P, I, U, P, P, U)                                      \
    X(204, sched_getaffinity, 3, I, I, U, P, N, N, N)                          \
    X(217, getdents64, 3, I, F, P, U, N, N, N)                                 \
    X(218, set_tid_address, 1, I, P, N, N, N, N, N)                            \
    X(221, fadvise64, 4, I, F, I, U, I, N, N)                                  \
    X(228, clock_gettime, 2, I, I, P, N, N, N, N)                              \
    X(229, clock_getres, 2, I, I, P, N, N, N, N)                               \
    X(230, clock_nanosleep, 4, I, I, I, P, P, N, N)                            \
    X(231, exit_group, 1, I, I, N, N, N, N, N)                                 \
    X(234, tgkill, 3, I, I, I, I, N, N, N)                                     \
    X(247, waitid, 5, I, I, I, P, H, P, N)                                     \
    X(257, openat, 4, I, F, S, O, H, N, N)                                     \
    X(258, mkdirat, 3, I, F, S, H, N, N, N)                                    \
    X(260, fchownat, 5, I, F, S, I, I, H, N)                                   \
    X(262, newfstatat, 4, I, F, S, P, H, N, N)                                 \
    X(263, unlinkat, 3, I, F, S, H, N, N, N)                                   \
    X(264, renameat, 4, I, F, S, F, S, N, N)                                   \
    X(265, linkat, 5, I, F, S, F, S, H, N)                                     \
    X(266, symlinkat, 3, I, S, F, S, N, N, N)                                  \
    X(267, readlinkat, 4, I, F, S, P, U, N, N)                                 \
    X(268, fchmodat, 3, I, F, S, H, N, N, N)                                   \
    X(269, faccessat, 3, I, F, S, H, N, N, N)                                  \
    X(270, pselect6, 6, I, I, P, P, P, P, P)                                   \
    X(271, ppoll, 5, I, P, U, P, P, U, N)                                      \
    X(273, set_robust_list, 2, I, P, U, N, N, N, N)                            \
    X(280, utimensat, 4, I, F, S, P, H, N, N)                                  \
    X(285, fallocate, 4, I, F, I, I, I, N, N)                                  \
    X(292, dup3, 3, I, F, F, H, N, N, N)                                       \
    X(293, pipe2, 2, I, P, H, N, N, N, N)                                      \
    X(302, prlimit64, 4, I, I, I, P, P, N, N)                                  \
    X(316, renameat2, 5, I, F, S, F, S, H, N)                                  \
    X(318, getrandom, 3, I, P, U, H, N, N, N)                                  \
    X(322, execveat, 5, I, F, S, P, P, H, N)                                   \
    X(325, mlock2, 3, I, P, U, H, N, N, N)                                     \
    X(332, statx, 5, I, F, S, H, H, P, N)                                      \
    X(334, rseq, 4, I, P, U, H, H, N, N)                                       \
    X(435, clone3, 2, I, P, U, N, N, N, N)                                     \
    X(439, faccessat2, 4, I, F, S, H, H, N, N)

/* clang-format on */

#endif
