/* The initial stack of a new program, laid out as Linux's exec builds it (fs/exec.c
 * copies the strings and sizes the stack area, fs/binfmt_elf.c create_elf_tables() puts
 * the tables below them), with randomisation off:
 *
 *   MM_STACK_TOP  -> +-----------------------------+
 *                    | 8 zero bytes                |
 *                    | execfn string               |  AT_EXECFN
 *                    | envp strings (envp[0] first)|
 *                    | argv strings (argv[0] first)|  <- lowest string byte
 *                    | padding to 16               |
 *                    | "x86_64\0"                  |  AT_PLATFORM
 *                    | 16 random bytes             |  AT_RANDOM
 *                    | padding (0 or 8 bytes)      |
 *                    | auxv pairs ... AT_NULL, 0   |
 *                    | envp[0..envc-1], NULL       |
 *                    | argv[0..argc-1], NULL       |
 *   RSP (16-aligned) | argc                        |
 *
 * Called by the exec path (proc_exec, src/proc/proc.c) after exec_load(). Writes go through
 * copy_to_user(), so the stack pages fault in as they do under Linux's exec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmemu/abi/linux.h"
#include "vmemu/loader.h"
#include "vmemu/uaccess.h"

/* CPUID.1:EDX of the CPU model vmemu runs (Haswell), what Linux reports as AT_HWCAP. */
#define STACK_HWCAP          0x178bfbffULL
#define STACK_MINSIGSTKSZ    2048ULL
#define STACK_CLKTCK         100ULL /* USER_HZ */
#define STACK_PLATFORM       "x86_64"
#define STACK_RANDOM_BYTES   16
/* Linux's stack_expand in setup_arg_pages(): room left below the arguments. */
#define STACK_EXPAND         (128ULL << 10)
/* Linux's MAX_ARG_STRLEN and ARG_MAX (32 pages each), and _STK_LIM. */
#define STACK_MAX_ARG_STRLEN (32 * PAGE_SIZE)
#define STACK_ARG_MAX        (32 * PAGE_SIZE)
#define STACK_STK_LIM        (8ULL << 20)
/* Auxiliary vector entries written, AT_NULL included: as many as Linux 6.18 writes on
 * x86-64, so that the tables below the strings have Linux's size and the new stack its
 * layout to the byte (the pages execve touches, and so its fault count, are Linux's). */
#define STACK_NAUXV          23

/* Counts the strings of a NULL-terminated vector (NULL counts as empty) and adds their
 * sizes with NULs to *bytes. Returns 0 or -E2BIG for a string longer than Linux allows. */
static int stack_count(char *const v[], uint64_t *count, uint64_t *bytes)
{
    *count = 0;
    for (; v && v[*count]; (*count)++) {
        uint64_t len = strlen(v[*count]) + 1;

        if (len > STACK_MAX_ARG_STRLEN)
            return -E2BIG;
        *bytes += len;
    }
    return 0;
}

/* Copies the strings of v to consecutive guest addresses from va on, storing each
 * address in ptrs. Returns 0 or -EFAULT. */
static int stack_put_strings(struct mm *mm, char *const v[], uint64_t n, gva_t va, uint64_t *ptrs)
{
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        int rc = copy_to_user(mm, va, v[i], len);

        if (rc)
            return rc;
        ptrs[i] = va;
        va += len;
    }
    return 0;
}

/* Writes the auxiliary vector (STACK_NAUXV key/value pairs, AT_NULL last) into w, in
 * create_elf_tables() order. There is no AT_SYSINFO_EHDR: vmemu maps no vDSO (its slot
 * holds AT_IGNORE). */
static void stack_fill_auxv(uint64_t *w, const struct exec_image *img, gva_t random_at,
                            gva_t execfn_at, gva_t platform_at)
{
    const uint64_t auxv[STACK_NAUXV][2] = {
        {LINUX_AT_MINSIGSTKSZ, STACK_MINSIGSTKSZ},
        {LINUX_AT_HWCAP, STACK_HWCAP},
        {LINUX_AT_PAGESZ, PAGE_SIZE},
        {LINUX_AT_CLKTCK, STACK_CLKTCK},
        {LINUX_AT_PHDR, img->phdr},
        {LINUX_AT_PHENT, img->phent},
        {LINUX_AT_PHNUM, img->phnum},
        {LINUX_AT_BASE, 0},
        {LINUX_AT_FLAGS, 0},
        {LINUX_AT_ENTRY, img->entry},
        {LINUX_AT_UID, getuid()},
        {LINUX_AT_EUID, geteuid()},
        {LINUX_AT_GID, getgid()},
        {LINUX_AT_EGID, getegid()},
        {LINUX_AT_SECURE, 0},
        {LINUX_AT_RANDOM, random_at},
        {LINUX_AT_HWCAP2, 0}, /* no FSGSBASE: the CPU model lacks it */
        {LINUX_AT_EXECFN, execfn_at},
        {LINUX_AT_PLATFORM, platform_at},
        /* The slots of AT_SYSINFO_EHDR, AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN, which
         * have no meaning here (no vDSO; rseq is refused): entries to ignore. */
        {LINUX_AT_IGNORE, 0},
        {LINUX_AT_IGNORE, 0},
        {LINUX_AT_IGNORE, 0},
        {LINUX_AT_NULL, 0},
    };

    memcpy(w, auxv, sizeof(auxv));
}

/* Builds the initial stack of mm for the program img (see the diagram above): creates the
 * growable VMA_STACK area ending at MM_STACK_TOP (the pages the arguments use plus 128 KiB
 * below them, like Linux), sets mm->stack_top, writes strings, AT_RANDOM bytes (the
 * machine's entropy: the host's or seeded), auxv, envp, argv and argc, sets img->arg_pages to the
 * pages the strings span (each one fault, as copy_strings' get_user_pages), and sets *sp_out to the
 * 16-byte-aligned address of argc. execfn is the path the program was run as (AT_EXECFN); argv and
 * envp are NULL-terminated (NULL means empty). Returns 0; -E2BIG when the strings need more than a
 * quarter of mm->stack_limit (or one is longer than 128 KiB); -EFAULT or -ENOMEM when the
 * stack cannot be written; -errno from mm_map() or the host's getrandom(). */
int stack_setup(struct mm *mm, struct exec_image *img, const char *execfn, char *const argv[],
                char *const envp[], gva_t *sp_out)
{
    uint64_t stack_limit = mm->stack_limit ? mm->stack_limit : MM_STACK_LIMIT;
    uint64_t argc, envc, arg_bytes = 0, env_bytes = 0, exec_bytes, limit, ptr_bytes;
    uint8_t random_bytes[STACK_RANDOM_BYTES];
    gva_t top = MM_STACK_TOP, execfn_at, env_at, arg_at, p, platform_at, random_at, sp;
    gva_t vma_start;
    uint64_t nwords, *words, *w;
    int rc;

    VMEMU_BUG_ON(!execfn);
    exec_bytes = strlen(execfn) + 1;
    if (exec_bytes > STACK_MAX_ARG_STRLEN)
        return -E2BIG;
    rc = stack_count(argv, &argc, &arg_bytes);
    if (rc == 0)
        rc = stack_count(envp, &envc, &env_bytes);
    if (rc)
        return rc;

    /* bprm_stack_limits(): a quarter of the stack limit (at most 3/4 of _STK_LIM, at
     * least ARG_MAX) for the strings and the pointers to them. */
    limit = stack_limit / 4;
    if (limit > STACK_STK_LIM / 4 * 3)
        limit = STACK_STK_LIM / 4 * 3;
    if (limit < STACK_ARG_MAX)
        limit = STACK_ARG_MAX;
    ptr_bytes = ((argc ? argc : 1) + envc) * sizeof(uint64_t);
    if (limit <= ptr_bytes || exec_bytes + env_bytes + arg_bytes > limit - ptr_bytes)
        return -E2BIG;

    execfn_at = top - sizeof(uint64_t) - exec_bytes;
    env_at = execfn_at - env_bytes;
    arg_at = env_at - arg_bytes;
    img->arg_pages = ((top - PAGE_SIZE) - PAGE_DOWN(arg_at)) / PAGE_SIZE + 1;
    p = arg_at & ~15ULL;
    platform_at = p - sizeof(STACK_PLATFORM);
    random_at = platform_at - STACK_RANDOM_BYTES;
    /* argc, argv + NULL, envp + NULL, then the auxv pairs. */
    nwords = 1 + (argc + 1) + (envc + 1) + 2 * STACK_NAUXV;
    sp = (random_at - nwords * sizeof(uint64_t)) & ~15ULL;

    vma_start = PAGE_DOWN(arg_at) - STACK_EXPAND;
    if (top - vma_start > stack_limit)
        vma_start = top - stack_limit;
    if (vma_start > PAGE_DOWN(sp))
        vma_start = PAGE_DOWN(sp);

    ssize_t got = entropy_fill(&mm->sys->entropy, random_bytes, sizeof(random_bytes), 0);
    if (got != (ssize_t)sizeof(random_bytes))
        return got < 0 ? (int)got : -EIO;
    words = calloc(nwords, sizeof(*words));
    if (!words)
        return -ENOMEM;

    rc = mm_map(mm, vma_start, top - vma_start, VM_READ | VM_WRITE, VM_GROWSDOWN, VMA_STACK, NULL,
                0, 0);
    if (rc)
        goto out;
    mm->stack_top = top;

    w = words;
    *w++ = argc;
    rc = put_user_u64(mm, top - sizeof(uint64_t), 0);
    if (rc == 0)
        rc = copy_to_user(mm, execfn_at, execfn, exec_bytes);
    if (rc == 0)
        rc = stack_put_strings(mm, envp, envc, env_at, w + argc + 1);
    if (rc == 0)
        rc = stack_put_strings(mm, argv, argc, arg_at, w);
    if (rc == 0)
        rc = copy_to_user(mm, platform_at, STACK_PLATFORM, sizeof(STACK_PLATFORM));
    if (rc == 0)
        rc = copy_to_user(mm, random_at, random_bytes, sizeof(random_bytes));
    if (rc)
        goto out;
    w += argc + 1 + envc + 1; /* past the pointers and their NULLs (calloc'ed) */

    stack_fill_auxv(w, img, random_at, execfn_at, platform_at);
    rc = copy_to_user(mm, sp, words, nwords * sizeof(uint64_t));
    if (rc == 0)
        *sp_out = sp;
out:
    free(words);
    return rc;
}
