/* The guest's ABI (x86-64 Linux) as the syscall handlers see it: structure layouts written
 * out field by field with their offsets checked at compile time, the constants the
 * handlers decode, and NR_* numbers generated from the syscall table. Host headers never
 * stand in for these: the host only has to agree with them where a handler says so
 * (linux_dirent64 and the kernel termios are passed through unchanged). */
#ifndef VMEMU_LINUX_ABI_H
#define VMEMU_LINUX_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "vmemu/abi/mman.h"
#include "vmemu/abi/syscall_table.h"

/* Syscall numbers of every syscall in the table: NR_read, NR_exit_group, ... */
#define LINUX_NR_ENUM(nr, name, ...) NR_##name = nr,
enum linux_syscall_nr { SYSCALL_TABLE(LINUX_NR_ENUM) };
#undef LINUX_NR_ENUM

/* Limits. */
#define LINUX_PATH_MAX   4096       /* bytes in a path, NUL included */
#define LINUX_NAME_MAX   255        /* bytes in a path component */
#define LINUX_UIO_MAXIOV 1024       /* iovecs in one readv/writev */
#define LINUX_MAX_RW     0x7ffff000 /* MAX_RW_COUNT: longest single read/write */
#define LINUX_AT_FDCWD   (-100)     /* dirfd meaning "the current directory" */

/* Open flags (octal, as asm-generic/fcntl.h). */
#define LINUX_O_ACCMODE           00000003
#define LINUX_O_RDONLY            00000000
#define LINUX_O_WRONLY            00000001
#define LINUX_O_RDWR              00000002
#define LINUX_O_CREAT             00000100
#define LINUX_O_EXCL              00000200
#define LINUX_O_NOCTTY            00000400
#define LINUX_O_TRUNC             00001000
#define LINUX_O_APPEND            00002000
#define LINUX_O_NONBLOCK          00004000
#define LINUX_O_DSYNC             00010000
#define LINUX_O_ASYNC             00020000
#define LINUX_O_DIRECT            00040000
#define LINUX_O_LARGEFILE         00100000
#define LINUX_O_DIRECTORY         00200000
#define LINUX_O_NOFOLLOW          00400000
#define LINUX_O_NOATIME           01000000
#define LINUX_O_CLOEXEC           02000000
#define LINUX_CLOSE_RANGE_UNSHARE (1U << 1) /* close_range: a table of the caller's own */
#define LINUX_CLOSE_RANGE_CLOEXEC (1U << 2) /* close_range: mark, do not close */
#define LINUX_O_SYNC              04010000  /* __O_SYNC | O_DSYNC */
#define LINUX_O_PATH              010000000
#define LINUX_O_TMPFILE           020200000 /* __O_TMPFILE | O_DIRECTORY */

/* mmap protections. */
#define LINUX_PROT_READ      0x1
#define LINUX_PROT_WRITE     0x2
#define LINUX_PROT_EXEC      0x4
#define LINUX_PROT_SEM       0x8
#define LINUX_PROT_GROWSDOWN 0x01000000
#define LINUX_PROT_GROWSUP   0x02000000

/* *at() flags. */
#define LINUX_AT_SYMLINK_NOFOLLOW 0x100
#define LINUX_AT_REMOVEDIR        0x200
#define LINUX_AT_EACCESS          0x200
#define LINUX_AT_SYMLINK_FOLLOW   0x400
#define LINUX_AT_NO_AUTOMOUNT     0x800
#define LINUX_AT_EMPTY_PATH       0x1000

/* fcntl commands and descriptor flags. */
#define LINUX_F_DUPFD         0
#define LINUX_F_GETFD         1
#define LINUX_F_SETFD         2
#define LINUX_F_GETFL         3
#define LINUX_F_SETFL         4
#define LINUX_F_GETLK         5
#define LINUX_F_SETLK         6
#define LINUX_F_SETLKW        7
#define LINUX_F_DUPFD_CLOEXEC 1030
#define LINUX_FD_CLOEXEC      1

/* ioctl requests that are passed to the host. */
#define LINUX_TCGETS     0x5401
#define LINUX_TIOCGWINSZ 0x5413
#define LINUX_TCSETS     0x5402
#define LINUX_TCSETSW    0x5403
#define LINUX_TCSETSF    0x5404
#define LINUX_TIOCGPGRP  0x540f
#define LINUX_FIONREAD   0x541b
#define LINUX_TIOCOUTQ   0x5411 /* int *: bytes not yet sent (SIOCOUTQ on a socket) */
#define LINUX_FIONBIO    0x5421 /* int *: set or clear O_NONBLOCK on the open file */
#define LINUX_FIONCLEX   0x5450 /* clear the descriptor's close-on-exec flag */
#define LINUX_FIOCLEX    0x5451 /* set it */
#define LINUX_FIOASYNC   0x5452 /* int *: O_ASYNC (SIGIO); not supported */
#define LINUX_FIOQSIZE   0x5460 /* loff_t *: the size of a file, directory or link */

/* arch_prctl codes. */
#define LINUX_ARCH_SET_GS 0x1001
#define LINUX_ARCH_SET_FS 0x1002
#define LINUX_ARCH_GET_FS 0x1003
#define LINUX_ARCH_GET_GS 0x1004

/* Signals and rt_sigprocmask. */
#define LINUX_SIGKILL     9
#define LINUX_SIGSTOP     19
#define LINUX_SIG_BLOCK   0
#define LINUX_SIG_UNBLOCK 1
#define LINUX_SIG_SETMASK 2
#define LINUX_SIGSET_SIZE 8 /* the only sigsetsize the kernel accepts on x86-64 */

/* getrusage. */
#define LINUX_RUSAGE_SELF     0
#define LINUX_RUSAGE_CHILDREN (-1)
#define LINUX_RUSAGE_THREAD   1

/* getrandom flags. */
#define LINUX_GRND_NONBLOCK 0x1
#define LINUX_GRND_RANDOM   0x2
#define LINUX_GRND_INSECURE 0x4

/* prctl options. */
#define LINUX_PR_GET_DUMPABLE 3
#define LINUX_PR_SET_DUMPABLE 4
#define LINUX_PR_SET_NAME     15
#define LINUX_PR_GET_NAME     16
#define LINUX_TASK_COMM_LEN   16

#define LINUX_NGROUPS_MAX           65536 /* supplementary groups */
#define LINUX_TIMER_ABSTIME         1     /* clock_nanosleep */
#define LINUX_ROBUST_LIST_HEAD_SIZE 24    /* sizeof(struct robust_list_head) */
#define LINUX_RLIMIT_STACK          3
#define LINUX_RLIMIT_NPROC          6

#define LINUX_ABI_CHECK(type, size) _Static_assert(sizeof(type) == (size), #type " size")
#define LINUX_ABI_OFFSET(type, field, off)                                                         \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

struct linux_timespec {
    int64_t tv_sec;  /* seconds */
    int64_t tv_nsec; /* nanoseconds, 0..999999999 */
};
LINUX_ABI_CHECK(struct linux_timespec, 16);

struct linux_timeval {
    int64_t tv_sec;  /* seconds */
    int64_t tv_usec; /* microseconds */
};
LINUX_ABI_CHECK(struct linux_timeval, 16);

struct linux_timezone {
    int32_t tz_minuteswest; /* minutes west of Greenwich */
    int32_t tz_dsttime;     /* type of DST correction */
};
LINUX_ABI_CHECK(struct linux_timezone, 8);

/* struct stat of x86-64 (asm/stat.h), what stat/fstat/lstat/newfstatat fill. */
struct linux_stat {
    uint64_t st_dev;       /* device */
    uint64_t st_ino;       /* inode */
    uint64_t st_nlink;     /* hard links (64-bit on x86-64, before st_mode) */
    uint32_t st_mode;      /* type and permissions */
    uint32_t st_uid;       /* owner */
    uint32_t st_gid;       /* group */
    uint32_t pad0;         /* padding, zero */
    uint64_t st_rdev;      /* device of a special file */
    int64_t st_size;       /* bytes */
    int64_t st_blksize;    /* preferred I/O size */
    int64_t st_blocks;     /* 512-byte blocks allocated */
    uint64_t st_atime_sec; /* last access */
    uint64_t st_atime_nsec;
    uint64_t st_mtime_sec; /* last modification */
    uint64_t st_mtime_nsec;
    uint64_t st_ctime_sec; /* last status change */
    uint64_t st_ctime_nsec;
    int64_t unused[3]; /* reserved, zero */
};
LINUX_ABI_CHECK(struct linux_stat, 144);
LINUX_ABI_OFFSET(struct linux_stat, st_mode, 24);
LINUX_ABI_OFFSET(struct linux_stat, st_rdev, 40);
LINUX_ABI_OFFSET(struct linux_stat, st_size, 48);
LINUX_ABI_OFFSET(struct linux_stat, st_atime_sec, 72);
LINUX_ABI_OFFSET(struct linux_stat, st_ctime_nsec, 112);

struct linux_statx_timestamp {
    int64_t tv_sec;   /* seconds */
    uint32_t tv_nsec; /* nanoseconds */
    int32_t reserved; /* zero */
};
LINUX_ABI_CHECK(struct linux_statx_timestamp, 16);

/* struct statx (linux/stat.h). */
struct linux_statx {
    uint32_t stx_mask;                      /* what the fields below hold (STATX_*) */
    uint32_t stx_blksize;                   /* preferred I/O size */
    uint64_t stx_attributes;                /* STATX_ATTR_* */
    uint32_t stx_nlink;                     /* hard links */
    uint32_t stx_uid;                       /* owner */
    uint32_t stx_gid;                       /* group */
    uint16_t stx_mode;                      /* type and permissions */
    uint16_t spare0;                        /* zero */
    uint64_t stx_ino;                       /* inode */
    uint64_t stx_size;                      /* bytes */
    uint64_t stx_blocks;                    /* 512-byte blocks */
    uint64_t stx_attributes_mask;           /* attributes the filesystem supports */
    struct linux_statx_timestamp stx_atime; /* last access */
    struct linux_statx_timestamp stx_btime; /* creation */
    struct linux_statx_timestamp stx_ctime; /* last status change */
    struct linux_statx_timestamp stx_mtime; /* last modification */
    uint32_t stx_rdev_major;                /* device of a special file */
    uint32_t stx_rdev_minor;
    uint32_t stx_dev_major; /* device holding the file */
    uint32_t stx_dev_minor;
    uint64_t stx_mnt_id;        /* mount id */
    uint32_t stx_dio_mem_align; /* O_DIRECT alignments */
    uint32_t stx_dio_offset_align;
    uint64_t spare3[12]; /* zero */
};
LINUX_ABI_CHECK(struct linux_statx, 256);
LINUX_ABI_OFFSET(struct linux_statx, stx_mode, 28);
LINUX_ABI_OFFSET(struct linux_statx, stx_ino, 32);
LINUX_ABI_OFFSET(struct linux_statx, stx_atime, 64);
LINUX_ABI_OFFSET(struct linux_statx, stx_rdev_major, 128);
LINUX_ABI_OFFSET(struct linux_statx, stx_mnt_id, 144);

struct linux_rusage {
    struct linux_timeval ru_utime; /* user CPU time */
    struct linux_timeval ru_stime; /* system CPU time */
    int64_t ru_maxrss;             /* peak resident set, KiB */
    int64_t ru_ixrss;              /* unused by Linux, zero */
    int64_t ru_idrss;
    int64_t ru_isrss;
    int64_t ru_minflt;  /* minor page faults */
    int64_t ru_majflt;  /* major page faults */
    int64_t ru_nswap;   /* zero */
    int64_t ru_inblock; /* block input operations */
    int64_t ru_oublock; /* block output operations */
    int64_t ru_msgsnd;  /* zero */
    int64_t ru_msgrcv;
    int64_t ru_nsignals;
    int64_t ru_nvcsw;  /* voluntary context switches */
    int64_t ru_nivcsw; /* involuntary context switches */
};
LINUX_ABI_CHECK(struct linux_rusage, 144);
LINUX_ABI_OFFSET(struct linux_rusage, ru_maxrss, 32);
LINUX_ABI_OFFSET(struct linux_rusage, ru_minflt, 64);

#define LINUX_UTS_LEN 65
struct linux_utsname {
    char sysname[LINUX_UTS_LEN];    /* "Linux" */
    char nodename[LINUX_UTS_LEN];   /* host name */
    char release[LINUX_UTS_LEN];    /* kernel release */
    char version[LINUX_UTS_LEN];    /* kernel build */
    char machine[LINUX_UTS_LEN];    /* "x86_64" */
    char domainname[LINUX_UTS_LEN]; /* NIS domain */
};
LINUX_ABI_CHECK(struct linux_utsname, 390);

struct linux_iovec {
    uint64_t iov_base; /* guest address */
    uint64_t iov_len;  /* bytes */
};
LINUX_ABI_CHECK(struct linux_iovec, 16);

struct linux_winsize {
    uint16_t ws_row;    /* rows */
    uint16_t ws_col;    /* columns */
    uint16_t ws_xpixel; /* unused */
    uint16_t ws_ypixel;
};
LINUX_ABI_CHECK(struct linux_winsize, 8);

/* The kernel's struct termios (TCGETS), not glibc's larger one: the host ioctl fills it
 * directly, the layout being the same on host and guest. */
#define LINUX_NCCS 19
struct linux_termios {
    uint32_t c_iflag;         /* input modes */
    uint32_t c_oflag;         /* output modes */
    uint32_t c_cflag;         /* control modes */
    uint32_t c_lflag;         /* local modes */
    uint8_t c_line;           /* line discipline */
    uint8_t c_cc[LINUX_NCCS]; /* control characters */
};
LINUX_ABI_CHECK(struct linux_termios, 36);

/* struct flock (F_GETLK / F_SETLK / F_SETLKW). */
struct linux_flock {
    int16_t l_type;   /* F_RDLCK, F_WRLCK, F_UNLCK */
    int16_t l_whence; /* SEEK_SET, SEEK_CUR, SEEK_END */
    int32_t pad0;
    int64_t l_start; /* first byte */
    int64_t l_len;   /* bytes, 0 = to the end */
    int32_t l_pid;   /* owner (F_GETLK) */
    int32_t pad1;
};
LINUX_ABI_CHECK(struct linux_flock, 32);
LINUX_ABI_OFFSET(struct linux_flock, l_start, 8);
LINUX_ABI_OFFSET(struct linux_flock, l_pid, 24);

/* struct sysinfo (x86-64). */
struct linux_sysinfo {
    int64_t uptime;    /* seconds since boot */
    uint64_t loads[3]; /* 1, 5, 15 minute load averages (<< 16) */
    uint64_t totalram; /* memory sizes, in units of mem_unit */
    uint64_t freeram;
    uint64_t sharedram;
    uint64_t bufferram;
    uint64_t totalswap;
    uint64_t freeswap;
    uint16_t procs; /* processes */
    uint16_t pad;
    uint32_t pad2;
    uint64_t totalhigh; /* zero on x86-64 */
    uint64_t freehigh;
    uint32_t mem_unit; /* bytes per unit */
    char reserved[4];  /* padding to 112 bytes */
};
LINUX_ABI_CHECK(struct linux_sysinfo, 112);
LINUX_ABI_OFFSET(struct linux_sysinfo, procs, 80);
LINUX_ABI_OFFSET(struct linux_sysinfo, mem_unit, 104);

/* struct tms (times). */
struct linux_tms {
    int64_t tms_utime; /* clock ticks (100 Hz) */
    int64_t tms_stime;
    int64_t tms_cutime;
    int64_t tms_cstime;
};
LINUX_ABI_CHECK(struct linux_tms, 32);

/* struct statfs (x86-64). */
struct linux_statfs {
    int64_t f_type;     /* filesystem magic */
    int64_t f_bsize;    /* block size */
    uint64_t f_blocks;  /* blocks */
    uint64_t f_bfree;   /* free blocks */
    uint64_t f_bavail;  /* free blocks for unprivileged users */
    uint64_t f_files;   /* inodes */
    uint64_t f_ffree;   /* free inodes */
    int32_t f_fsid[2];  /* filesystem id */
    int64_t f_namelen;  /* longest name */
    int64_t f_frsize;   /* fragment size */
    int64_t f_flags;    /* mount flags (ST_*) */
    int64_t f_spare[4]; /* zero */
};
LINUX_ABI_CHECK(struct linux_statfs, 120);

/* Signals (x86-64 numbering), sigaction flags and handlers, sigaltstack, interval timers. */
#define LINUX_SIGHUP         1
#define LINUX_SIGINT         2
#define LINUX_SIGQUIT        3
#define LINUX_SIGILL         4
#define LINUX_SIGTRAP        5
#define LINUX_SIGABRT        6
#define LINUX_SIGBUS         7
#define LINUX_SIGFPE         8
#define LINUX_SIGUSR1        10
#define LINUX_SIGSEGV        11
#define LINUX_SIGUSR2        12
#define LINUX_SIGPIPE        13
#define LINUX_SIGALRM        14
#define LINUX_SIGTERM        15
#define LINUX_SIGCHLD        17
#define LINUX_SIGCONT        18
#define LINUX_SIGTSTP        20
#define LINUX_SIGTTIN        21
#define LINUX_SIGTTOU        22
#define LINUX_SIGURG         23
#define LINUX_SIGXCPU        24
#define LINUX_SIGXFSZ        25
#define LINUX_SIGVTALRM      26
#define LINUX_SIGPROF        27
#define LINUX_SIGWINCH       28
#define LINUX_SIGSYS         31
#define LINUX_SIG_DFL        0ULL /* sigaction handler: default action */
#define LINUX_SIG_IGN        1ULL /* sigaction handler: ignore */
#define LINUX_SA_NOCLDWAIT   0x00000002ULL
#define LINUX_SA_SIGINFO     0x00000004ULL
#define LINUX_SA_RESTORER    0x04000000ULL
#define LINUX_SA_ONSTACK     0x08000000ULL
#define LINUX_SA_RESTART     0x10000000ULL
#define LINUX_SA_NODEFER     0x40000000ULL
#define LINUX_SA_RESETHAND   0x80000000ULL
#define LINUX_SS_ONSTACK     1
#define LINUX_SS_DISABLE     2
#define LINUX_SS_AUTODISARM  (1U << 31)
#define LINUX_MINSIGSTKSZ    2048
#define LINUX_ITIMER_REAL    0
#define LINUX_ITIMER_VIRTUAL 1
#define LINUX_ITIMER_PROF    2

struct linux_itimerval {
    struct linux_timeval it_interval; /* reload value */
    struct linux_timeval it_value;    /* time to the next expiry, 0 = disarmed */
};
LINUX_ABI_CHECK(struct linux_itimerval, 32);

/* struct sigcontext of x86-64 (uc_mcontext; glibc's gregs[] index the same slots). */
struct linux_sigcontext {
    uint64_t r8; /* general registers, in this order */
    uint64_t r9;
    uint64_t r10;
    uint64_t r11;
    uint64_t r12;
    uint64_t r13;
    uint64_t r14;
    uint64_t r15;
    uint64_t rdi;
    uint64_t rsi;
    uint64_t rbp;
    uint64_t rbx;
    uint64_t rdx;
    uint64_t rax;
    uint64_t rcx;
    uint64_t rsp;
    uint64_t rip;
    uint64_t eflags;
    uint16_t cs;          /* 0x33 */
    uint16_t gs;          /* 0 */
    uint16_t fs;          /* 0 */
    uint16_t ss;          /* 0x2b */
    uint64_t err;         /* page-fault error code */
    uint64_t trapno;      /* CPU exception vector (14: page fault) */
    uint64_t oldmask;     /* the interrupted code's signal mask */
    uint64_t cr2;         /* faulting address */
    uint64_t fpstate;     /* guest address of the 512-byte FXSAVE area, 0 = none */
    uint64_t reserved[8]; /* zero */
};
LINUX_ABI_CHECK(struct linux_sigcontext, 256);
LINUX_ABI_OFFSET(struct linux_sigcontext, rip, 128);
LINUX_ABI_OFFSET(struct linux_sigcontext, cs, 144);
LINUX_ABI_OFFSET(struct linux_sigcontext, fpstate, 184);

/* The kernel's struct ucontext (glibc's ucontext_t starts the same way). */
struct linux_ucontext {
    uint64_t uc_flags; /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
    uint64_t uc_link;  /* 0 */
    struct {
        uint64_t ss_sp;   /* the alternate stack when the signal came */
        int32_t ss_flags; /* its flags */
        int32_t pad;      /* alignment */
        uint64_t ss_size; /* its size */
    } uc_stack;
    struct linux_sigcontext uc_mcontext; /* registers of the interrupted code */
    uint64_t uc_sigmask;                 /* mask restored by rt_sigreturn */
};
LINUX_ABI_CHECK(struct linux_ucontext, 304);
LINUX_ABI_OFFSET(struct linux_ucontext, uc_mcontext, 40);
LINUX_ABI_OFFSET(struct linux_ucontext, uc_sigmask, 296);
#define LINUX_UC_SIGCONTEXT_SS     0x2
#define LINUX_UC_STRICT_RESTORE_SS 0x4

/* What a handler finds at its RSP: the return address (sa_restorer, which calls
 * rt_sigreturn), the ucontext and the siginfo; the FXSAVE area lies above, 64-aligned. */
struct linux_rt_sigframe {
    uint64_t pretcode;        /* sa_restorer */
    struct linux_ucontext uc; /* RDX of the handler */
    uint8_t info[128];        /* siginfo_t, RSI of the handler */
};
LINUX_ABI_CHECK(struct linux_rt_sigframe, 440);
LINUX_ABI_OFFSET(struct linux_rt_sigframe, info, 312);

/* struct linux_dirent64 (getdents64) needs no definition here: the host fills the guest's
 * buffer with the same layout (u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, d_name). */

/* Signal delivery structures (vmemu fills them for handlers, wait and sigaction). */
/* The guest's siginfo_t (128 bytes). Only the fields vmemu fills are named. */
struct linux_siginfo {
    int32_t si_signo; /* signal */
    int32_t si_errno; /* 0 */
    int32_t si_code;  /* SI_USER, SEGV_MAPERR, CLD_EXITED, ... */
    int32_t pad0;     /* alignment (union starts at 16) */
    union {
        struct {
            int32_t pid;    /* kill: sender's pid; SIGCHLD: the child */
            uint32_t uid;   /* sender's uid */
            int32_t status; /* SIGCHLD: exit code or signal */
            int32_t pad1;
            int64_t utime; /* SIGCHLD: user time in ticks */
            int64_t stime; /* SIGCHLD: system time in ticks */
        } kill;
        struct {
            uint64_t addr; /* SIGSEGV/SIGBUS/SIGILL/SIGFPE: faulting address */
        } fault;
        struct {
            int32_t tid;     /* timer id */
            int32_t overrun; /* overruns */
            uint64_t value;  /* sigval */
        } timer;
        uint8_t raw[112]; /* the whole union */
    } u;
};

/* sigaltstack state (stack_t). */
struct linux_stack {
    uint64_t ss_sp;   /* base */
    int32_t ss_flags; /* SS_DISABLE, SS_ONSTACK, SS_AUTODISARM */
    int32_t pad;      /* alignment */
    uint64_t ss_size; /* size */
};

LINUX_ABI_CHECK(struct linux_siginfo, 128);
LINUX_ABI_OFFSET(struct linux_siginfo, u, 16);
LINUX_ABI_CHECK(struct linux_stack, 24);

/* The guest's struct sigaction (kernel layout, x86-64). */
struct linux_sigaction {
    uint64_t handler;  /* SIG_DFL (0), SIG_IGN (1) or a guest address */
    uint64_t flags;    /* SA_* */
    uint64_t restorer; /* SA_RESTORER trampoline */
    uint64_t mask;     /* blocked during the handler */
};

struct linux_rlimit {
    uint64_t cur; /* soft limit */
    uint64_t max; /* hard limit */
};
LINUX_ABI_CHECK(struct linux_sigaction, 32);
LINUX_ABI_CHECK(struct linux_rlimit, 16);

/* si_code values vmemu uses (Linux's). */
#define LINUX_SI_USER     0
#define LINUX_SI_KERNEL   0x80
#define LINUX_SI_TIMER    (-2)
#define LINUX_SI_TKILL    (-6)
#define LINUX_SEGV_MAPERR 1
#define LINUX_SEGV_ACCERR 2
#define LINUX_BUS_ADRALN  1
#define LINUX_BUS_ADRERR  2
#define LINUX_BUS_OBJERR  3
#define LINUX_CLD_EXITED  1
#define LINUX_CLD_KILLED  2
#define LINUX_CLD_DUMPED  3

/* Auxiliary vector keys (Linux include/uapi/linux/auxvec.h, asm/auxvec.h). */
#define LINUX_AT_NULL        0
#define LINUX_AT_IGNORE      1
#define LINUX_AT_PHDR        3
#define LINUX_AT_PHENT       4
#define LINUX_AT_PHNUM       5
#define LINUX_AT_PAGESZ      6
#define LINUX_AT_BASE        7
#define LINUX_AT_FLAGS       8
#define LINUX_AT_ENTRY       9
#define LINUX_AT_UID         11
#define LINUX_AT_EUID        12
#define LINUX_AT_GID         13
#define LINUX_AT_EGID        14
#define LINUX_AT_PLATFORM    15
#define LINUX_AT_HWCAP       16
#define LINUX_AT_CLKTCK      17
#define LINUX_AT_SECURE      23
#define LINUX_AT_RANDOM      25
#define LINUX_AT_HWCAP2      26
#define LINUX_AT_EXECFN      31
#define LINUX_AT_MINSIGSTKSZ 51

/* fcntl commands on pipes. */
#define LINUX_F_SETPIPE_SZ 1031
#define LINUX_F_GETPIPE_SZ 1032

/* wait4 / waitid options and waitid id types. */
#define LINUX_WNOHANG    1
#define LINUX_WUNTRACED  2
#define LINUX_WEXITED    4
#define LINUX_WCONTINUED 8
#define LINUX_WNOWAIT    0x01000000
#define LINUX_WALL       0x40000000
#define LINUX_WCLONE     0x80000000
#define LINUX_WNOTHREAD  0x20000000
#define LINUX_P_ALL      0
#define LINUX_P_PID      1
#define LINUX_P_PGID     2

#endif
