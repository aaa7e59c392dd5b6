/* sig_handler: signal handlers as Linux runs them, printed the same natively and under
 * vmemu (tests/signal_e2e.py compares the output). Covers SA_SIGINFO (si_signo, si_code,
 * si_pid of kill and raise), the mask during and after a handler, SA_NODEFER,
 * SA_RESETHAND, SA_ONSTACK with sigaltstack, rt_sigpending, sigsuspend, sigtimedwait,
 * ignored signals (SIG_IGN and default-ignore), sigqueue and rt_tgsigqueueinfo with their
 * value (and EPERM for a forged SI_USER to another process) and, with an argument, the end of the
 * process by a signal: "term" raises SIGTERM (status 143), "abort" calls abort() (134).
 * Handlers only record; main prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, depth, max_depth;
static volatile int got_signo, got_code, got_pid_is_self, mask_usr1, mask_usr2;
static volatile int on_alt, alt_flags_onstack;
static char *alt_base;
static size_t alt_size;
static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

/* r and errno as "r NAME" (errno read right after the call). */
static void show_err(const char *what, int r, int want)
{
    int e = errno;
    printf("%s: %d %s\n", what, r, r == -1 && e == want ? "expected errno" : "unexpected");
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER:
        return "SI_USER";
    case SI_TKILL:
        return "SI_TKILL";
    case SI_KERNEL:
        return "SI_KERNEL";
    default:
        return "other";
    }
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    sigset_t cur;
    (void)uc;
    hits++;
    got_signo = si->si_signo == sig ? sig : -1;
    got_code = si->si_code;
    got_pid_is_self = si->si_pid == getpid();
    sigprocmask(SIG_BLOCK, NULL, &cur);
    mask_usr1 = sigismember(&cur, SIGUSR1);
    mask_usr2 = sigismember(&cur, SIGUSR2);
}

static void on_nested(int sig)
{
    hits++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (hits == 1)
        raise(sig); /* with SA_NODEFER it nests now, else it waits for the return */
    depth--;
}

static void on_alt_stack(int sig)
{
    char local;
    stack_t cur;
    (void)sig;
    hits++;
    on_alt = &local >= alt_base && &local < alt_base + alt_size;
    sigaltstack(NULL, &cur);
    alt_flags_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

static void on_plain(int sig)
{
    (void)sig;
    hits++;
}

static void set_action(int sig, void (*fn)(int), void (*fn3)(int, siginfo_t *, void *), int flags,
                       int masked)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    if (fn3 != NULL)
        sa.sa_sigaction = fn3;
    else
        sa.sa_handler = fn;
    sa.sa_flags = flags | (fn3 != NULL ? SA_SIGINFO : 0);
    sigemptyset(&sa.sa_mask);
    if (masked)
        sigaddset(&sa.sa_mask, masked);
    if (sigaction(sig, &sa, NULL) != 0)
        printf("FAIL sigaction %d\n", sig);
}

static int blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

static void test_siginfo(void)
{
    set_action(SIGUSR1, NULL, on_info, 0, SIGUSR2);
    hits = 0;
    kill(getpid(), SIGUSR1);
    printf("kill: hits=%d signo=%d code=%s pid_is_self=%d\n", (int)hits, got_signo,
           code_name(got_code), got_pid_is_self);
    printf("mask in handler: usr1=%d usr2=%d; after: usr1=%d usr2=%d\n", mask_usr1, mask_usr2,
           blocked(SIGUSR1), blocked(SIGUSR2));
    hits = 0;
    raise(SIGUSR1);
    printf("raise: hits=%d signo=%d code=%s pid_is_self=%d\n", (int)hits, got_signo,
           code_name(got_code), got_pid_is_self);
}

static void test_nodefer(void)
{
    hits = depth = max_depth = 0;
    set_action(SIGUSR2, on_nested, NULL, 0, 0);
    raise(SIGUSR2);
    printf("deferred: hits=%d max_depth=%d\n", (int)hits, (int)max_depth);
    hits = depth = max_depth = 0;
    set_action(SIGUSR2, on_nested, NULL, SA_NODEFER, 0);
    raise(SIGUSR2);
    printf("SA_NODEFER: hits=%d max_depth=%d\n", (int)hits, (int)max_depth);
}

static void test_resethand(void)
{
    struct sigaction now;
    hits = 0;
    set_action(SIGUSR2, on_plain, NULL, SA_RESETHAND, 0);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &now);
    printf("SA_RESETHAND: hits=%d handler_now_default=%d\n", (int)hits, now.sa_handler == SIG_DFL);
}

static void test_altstack(void)
{
    stack_t ss, old;
    alt_size = 64 * 1024;
    alt_base = malloc(alt_size);
    ss.ss_sp = alt_base;
    ss.ss_size = alt_size;
    ss.ss_flags = 0;
    printf("sigaltstack: %d\n", sigaltstack(&ss, &old));
    printf("old stack disabled=%d\n", (old.ss_flags & SS_DISABLE) != 0);
    hits = 0;
    set_action(SIGUSR1, on_alt_stack, NULL, SA_ONSTACK, 0);
    raise(SIGUSR1);
    printf("SA_ONSTACK: hits=%d on_alt_stack=%d ss_flags_onstack=%d\n", (int)hits, on_alt,
           alt_flags_onstack);
    sigaltstack(NULL, &old);
    printf("after: onstack=%d\n", (old.ss_flags & SS_ONSTACK) != 0);
    ss.ss_size = 1024;
    show_err("tiny stack", sigaltstack(&ss, NULL), ENOMEM);
    ss.ss_flags = SS_DISABLE;
    printf("disable: %d\n", sigaltstack(&ss, NULL));
    free(alt_base);
}

static void test_pending_and_suspend(void)
{
    sigset_t set, pend, empty;
    hits = 0;
    set_action(SIGUSR1, on_plain, NULL, 0, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1); /* merged with the pending one */
    sigpending(&pend);
    printf("pending while blocked: usr1=%d usr2=%d hits=%d\n", sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2), (int)hits);
    sigemptyset(&empty);
    show_err("sigsuspend", sigsuspend(&empty), EINTR);
    printf("after sigsuspend: hits=%d still_blocked=%d\n", (int)hits, blocked(SIGUSR1));
    sigpending(&pend);
    printf("pending after: usr1=%d\n", sigismember(&pend, SIGUSR1));

    /* sigtimedwait takes a blocked signal without running the handler */
    kill(getpid(), SIGUSR1);
    siginfo_t si;
    struct timespec ts = {0, 20 * 1000 * 1000};
    int r = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait: %d code=%s pid_is_self=%d hits=%d\n", r, code_name(si.si_code),
           si.si_pid == getpid(), (int)hits);
    show_err("sigtimedwait timeout", sigtimedwait(&set, &si, &ts), EAGAIN);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("unblocked: hits=%d\n", (int)hits);
}

static void test_ignored(void)
{
    sigset_t pend, set;
    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    signal(SIGCHLD, SIG_DFL);
    kill(getpid(), SIGCHLD);
    signal(SIGWINCH, SIG_DFL);
    raise(SIGWINCH);
    printf("ignored: still running\n");
    /* a blocked ignored signal stays pending; setting SIG_IGN discards it */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGUSR1, SIG_IGN);
    kill(getpid(), SIGUSR1);
    sigpending(&pend);
    printf("blocked+ignored pending=%d\n", sigismember(&pend, SIGUSR1));
    signal(SIGUSR1, SIG_DFL);
    sigpending(&pend);
    printf("after SIG_DFL pending=%d\n", sigismember(&pend, SIGUSR1));
    signal(SIGUSR1, SIG_IGN);
    sigpending(&pend);
    printf("after SIG_IGN pending=%d\n", sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* sigqueue: the value travels in si_value with SI_QUEUE; pthread_sigqueue-like
 * rt_tgsigqueueinfo to the calling thread too. */
static volatile int queued_code, queued_value;
static void on_queued(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    queued_code = si->si_code;
    queued_value = si->si_value.sival_int;
}

static void test_sigqueue(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_queued;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    union sigval v = {.sival_int = 4242};
    int rc = sigqueue(getpid(), SIGUSR2, v);
    printf("sigqueue: rc %d, si_code is SI_QUEUE: %d, value %d\n", rc, queued_code == SI_QUEUE,
           queued_value);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = SIGUSR2;
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 77;
    rc = (int)syscall(SYS_rt_tgsigqueueinfo, getpid(), (int)syscall(SYS_gettid), SIGUSR2, &si);
    printf("rt_tgsigqueueinfo: rc %d, value %d\n", rc, queued_value);
    si.si_code = SI_USER; /* passing itself off as kill() to another process: EPERM */
    errno = 0;
    rc = (int)syscall(SYS_rt_sigqueueinfo, 1, SIGUSR2, &si);
    printf("rt_sigqueueinfo(pid 1, SI_USER): %s\n", rc < 0 && (errno == EPERM || errno == ESRCH)
                                                         ? "refused"
                                                         : "sent");
    signal(SIGUSR2, SIG_DFL);
}

static void test_errors(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_plain;
    show_err("sigaction(SIGKILL)", sigaction(SIGKILL, &sa, NULL), EINVAL);
    show_err("kill(bad signal)", kill(getpid(), 65), EINVAL);
    show_err("kill(no such pid)", kill(999999, SIGUSR1), ESRCH);
    printf("kill(self, 0): %d\n", kill(getpid(), 0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_siginfo();
    test_nodefer();
    test_resethand();
    test_altstack();
    test_pending_and_suspend();
    test_ignored();
    test_errors();
    test_sigqueue();
    check(1, "done");
    if (argc > 1 && strcmp(argv[1], "term") == 0) {
        printf("raising SIGTERM\n");
        fflush(stdout);
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
        printf("FAIL still alive\n");
    } else if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        printf("calling abort\n");
        fflush(stdout);
        abort();
    }
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
