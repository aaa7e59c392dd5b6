/* Tests of the initial stack (loader/stack.c): argc, argv, envp, every auxv entry, the
 * strings and their order, AT_RANDOM and AT_PLATFORM placement, alignment, the stack area
 * and the -E2BIG limits. Everything is read back through the MMU (uaccess.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "vmemu/loader.h"
#include "vmemu/uaccess.h"

/* Linux's auxv keys, as the guest's libc reads them. */
enum {
    LINUX_AT_NULL = 0,
    LINUX_AT_IGNORE = 1,
    LINUX_AT_PHDR = 3,
    LINUX_AT_PHENT = 4,
    LINUX_AT_PHNUM = 5,
    LINUX_AT_PAGESZ = 6,
    LINUX_AT_BASE = 7,
    LINUX_AT_FLAGS = 8,
    LINUX_AT_ENTRY = 9,
    LINUX_AT_UID = 11,
    LINUX_AT_EUID = 12,
    LINUX_AT_GID = 13,
    LINUX_AT_EGID = 14,
    LINUX_AT_PLATFORM = 15,
    LINUX_AT_HWCAP = 16,
    LINUX_AT_CLKTCK = 17,
    LINUX_AT_SECURE = 23,
    LINUX_AT_RANDOM = 25,
    LINUX_AT_HWCAP2 = 26,
    LINUX_AT_EXECFN = 31,
    LINUX_AT_MINSIGSTKSZ = 51,
};

struct test_env {
    struct vmsys sys;      /* 16 MiB pool, 64x4 TLB */
    struct mm *mm;         /* the address space under test */
    struct exec_image img; /* a made-up program */
};

static int setup(void **state)
{
    struct test_env *t = calloc(1, sizeof(*t));

    if (!t)
        return -1;
    if (vmsys_init(&t->sys, 16 << 20, 64, 4) != 0 || mm_create(&t->sys, &t->mm) != 0)
        return -1;
    t->img = (struct exec_image){.entry = 0x401000,
                                 .load_bias = 0,
                                 .phdr = 0x400040,
                                 .phnum = 9,
                                 .phent = 56,
                                 .start_brk = 0x4c0000};
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct test_env *t = *state;

    mm_destroy(t->mm);
    vmsys_destroy(&t->sys);
    free(t);
    return 0;
}

static uint64_t peek(struct test_env *t, gva_t va)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(get_user_u64(t->mm, va, &v), 0);
    return v;
}

/* Reads the guest string at va and checks that it is `want`. */
static void check_guest_string(struct test_env *t, gva_t va, const char *want)
{
    char buf[256];

    assert_int_equal(strncpy_from_user(t->mm, buf, va, sizeof(buf)), (long)strlen(want));
    assert_string_equal(buf, want);
}

/* The value of auxv key `key` in the vector at va; fails when it is absent. */
static uint64_t auxv_get(struct test_env *t, gva_t auxv, uint64_t key)
{
    for (gva_t p = auxv;; p += 16) {
        uint64_t k = peek(t, p);

        if (k == key)
            return peek(t, p + 8);
        assert_int_not_equal(k, LINUX_AT_NULL);
    }
}

static void test_stack_argc_argv_envp_strings_are_in_place(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"prog", "a", "bc", NULL};
    char *envp[] = {"HOME=/root", "X=1", NULL};
    gva_t sp = 0, a[3], e[2], fn;

    assert_int_equal(stack_setup(t->mm, &t->img, "./prog", argv, envp, &sp), 0);
    assert_int_equal(sp % 16, 0);
    assert_int_equal(peek(t, sp), 3);
    for (int i = 0; i < 3; i++) {
        a[i] = peek(t, sp + 8 + 8 * i);
        check_guest_string(t, a[i], argv[i]);
    }
    assert_int_equal(peek(t, sp + 32), 0);
    for (int i = 0; i < 2; i++) {
        e[i] = peek(t, sp + 40 + 8 * i);
        check_guest_string(t, e[i], envp[i]);
    }
    assert_int_equal(peek(t, sp + 56), 0);

    /* Strings are packed upwards from argv[0]: argv, envp, execfn, then one zero word
     * right below the top, as Linux's copy_strings() leaves them. */
    fn = auxv_get(t, sp + 64, LINUX_AT_EXECFN);
    check_guest_string(t, fn, "./prog");
    assert_int_equal(a[1], a[0] + 5);
    assert_int_equal(a[2], a[1] + 2);
    assert_int_equal(e[0], a[2] + 3);
    assert_int_equal(e[1], e[0] + 11);
    assert_int_equal(fn, e[1] + 4);
    assert_int_equal(fn + 7 + 8, MM_STACK_TOP);
    assert_int_equal(peek(t, MM_STACK_TOP - 8), 0);
}

static void test_stack_auxv_has_every_entry_in_linux_order(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"prog", NULL};
    char *envp[] = {"A=b", NULL};
    gva_t sp = 0, auxv;
    const uint64_t keys[] = {
        LINUX_AT_MINSIGSTKSZ, LINUX_AT_HWCAP,  LINUX_AT_PAGESZ, LINUX_AT_CLKTCK,   LINUX_AT_PHDR,
        LINUX_AT_PHENT,       LINUX_AT_PHNUM,  LINUX_AT_BASE,   LINUX_AT_FLAGS,    LINUX_AT_ENTRY,
        LINUX_AT_UID,         LINUX_AT_EUID,   LINUX_AT_GID,    LINUX_AT_EGID,     LINUX_AT_SECURE,
        LINUX_AT_RANDOM,      LINUX_AT_HWCAP2, LINUX_AT_EXECFN, LINUX_AT_PLATFORM, LINUX_AT_IGNORE,
        LINUX_AT_IGNORE,      LINUX_AT_IGNORE, LINUX_AT_NULL};

    assert_int_equal(stack_setup(t->mm, &t->img, "/bin/prog", argv, envp, &sp), 0);
    auxv = sp + 8 * (1 + 2 + 2); /* argc, argv + NULL, envp + NULL */
    for (size_t i = 0; i < ARRAY_LEN(keys); i++)
        assert_int_equal(peek(t, auxv + 16 * i), keys[i]);
    assert_int_equal(peek(t, auxv + 16 * (ARRAY_LEN(keys) - 1) + 8), 0); /* AT_NULL's 0 */

    assert_int_equal(auxv_get(t, auxv, LINUX_AT_MINSIGSTKSZ), 2048);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_HWCAP), 0x178bfbff);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_PAGESZ), 4096);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_CLKTCK), 100);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_PHDR), 0x400040);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_PHENT), 56);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_PHNUM), 9);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_BASE), 0);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_FLAGS), 0);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_ENTRY), 0x401000);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_UID), getuid());
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_EUID), geteuid());
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_GID), getgid());
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_EGID), getegid());
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_SECURE), 0);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_HWCAP2), 0);
    check_guest_string(t, auxv_get(t, auxv, LINUX_AT_PLATFORM), "x86_64");
    check_guest_string(t, auxv_get(t, auxv, LINUX_AT_EXECFN), "/bin/prog");
}

static void test_stack_random_and_platform_sit_below_aligned_strings(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"prog", "x", NULL};
    gva_t sp = 0, auxv, argv0, platform, rnd, auxv_end;
    uint8_t bytes[16], zero[16] = {0};

    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), 0);
    argv0 = peek(t, sp + 8);
    auxv = sp + 8 * (1 + 3 + 1);
    platform = auxv_get(t, auxv, LINUX_AT_PLATFORM);
    rnd = auxv_get(t, auxv, LINUX_AT_RANDOM);
    /* create_elf_tables(): align the string bottom down to 16, then the platform string,
     * then the 16 random bytes right below it. */
    assert_int_equal(platform, (argv0 & ~15ULL) - 7);
    assert_int_equal(rnd, platform - 16);
    assert_int_equal(copy_from_user(t->mm, bytes, rnd, 16), 0);
    assert_memory_not_equal(bytes, zero, 16); /* 2^-128 chance of a false failure */
    /* The auxv ends (after AT_NULL) at most 15 bytes below the random bytes. */
    auxv_end = auxv + 23 * 16;
    assert_true(auxv_end <= rnd);
    assert_true(rnd - auxv_end < 16);
    assert_true(rnd > sp && rnd + 16 <= MM_STACK_TOP);
}

static void test_stack_sp_is_16_aligned_for_any_argc(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"a", "b", "c", "d", "e", NULL};

    for (int argc = 0; argc <= 5; argc++) {
        char *v[6] = {NULL};
        gva_t sp = 1;

        memcpy(v, argv, argc * sizeof(char *));
        assert_int_equal(mm_unmap(t->mm, 0, USER_VA_END), 0);
        assert_int_equal(stack_setup(t->mm, &t->img, "a", v, NULL, &sp), 0);
        assert_int_equal(sp % 16, 0);
        assert_int_equal(peek(t, sp), argc);
        assert_int_equal(peek(t, sp + 8 * (argc + 1)), 0); /* argv's NULL */
        assert_int_equal(peek(t, sp + 8 * (argc + 2)), 0); /* empty envp's NULL */
        assert_int_equal(peek(t, sp + 8 * (argc + 3)), LINUX_AT_MINSIGSTKSZ);
    }
}

static void test_stack_area_covers_arguments_plus_128k_and_grows_down(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"prog", NULL};
    gva_t sp = 0, argv0;
    struct vma *v;

    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), 0);
    argv0 = peek(t, sp + 8);
    v = vma_lookup(&t->mm->vmas, sp);
    assert_non_null(v);
    assert_int_equal(t->mm->vmas.n, 1);
    assert_int_equal(v->kind, VMA_STACK);
    assert_int_equal(v->prot, VM_READ | VM_WRITE);
    assert_int_equal(v->flags, VM_GROWSDOWN);
    assert_null(v->file);
    assert_int_equal(v->end, MM_STACK_TOP);
    assert_int_equal(v->start, PAGE_DOWN(argv0) - (128 << 10));
    assert_int_equal(t->mm->stack_top, MM_STACK_TOP);
    /* Only the pages that were written are present: here the one top page. */
    assert_int_equal(PAGE_DOWN(sp), MM_STACK_TOP - PAGE_SIZE);
    assert_int_equal(t->mm->stats.rss, 1);
}

static void test_stack_large_arguments_span_pages(void **state)
{
    struct test_env *t = *state;
    char *big = malloc(100000);
    char *argv[] = {"prog", big, NULL};
    gva_t sp = 0, arg1;
    struct vma *v;

    memset(big, 'z', 99999);
    big[99999] = '\0';
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), 0);
    arg1 = peek(t, sp + 16);
    assert_int_equal(peek(t, sp + 8) + 5, arg1);
    v = vma_lookup(&t->mm->vmas, sp);
    assert_non_null(v);
    assert_int_equal(v->start, PAGE_DOWN(peek(t, sp + 8)) - (128 << 10));
    /* Every page from the one holding argc to the top was written once. */
    assert_int_equal(t->mm->stats.rss, (MM_STACK_TOP - PAGE_DOWN(sp)) / PAGE_SIZE);
    free(big);
}

static void test_stack_strings_over_quarter_of_limit_return_e2big(void **state)
{
    struct test_env *t = *state;
    enum { N = 24, LEN = 100000 }; /* 2.4 MB of strings: over 8 MiB / 4 */
    char *strs[N], *envp[N + 1];
    char *argv[] = {"prog", NULL};
    gva_t sp = 0;

    for (int i = 0; i < N; i++) {
        strs[i] = envp[i] = malloc(LEN);
        memset(strs[i], 'e', LEN - 1);
        strs[i][LEN - 1] = '\0';
    }
    envp[N] = NULL;
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, envp, &sp), -E2BIG);
    assert_int_equal(t->mm->vmas.n, 0); /* nothing mapped */

    /* 20 of them (2.0 MB, below 2 MiB with the pointers) fit. */
    envp[20] = NULL;
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, envp, &sp), 0);
    for (int i = 0; i < N; i++)
        free(strs[i]);
}

static void test_stack_smaller_stack_limit_lowers_e2big_threshold(void **state)
{
    struct test_env *t = *state;
    char *big = malloc(100000);
    char *argv[] = {"prog", big, big, big, NULL}; /* 300 KB */
    gva_t sp = 0;

    memset(big, 'q', 99999);
    big[99999] = '\0';
    t->mm->stack_limit = 1 << 20; /* a quarter is 256 KiB */
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), -E2BIG);
    t->mm->stack_limit = 8 << 20;
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), 0);
    free(big);
}

static void test_stack_string_over_128k_returns_e2big(void **state)
{
    struct test_env *t = *state;
    char *big = malloc(131073); /* 131072 characters + NUL: one byte too many */
    char *argv[] = {"prog", big, NULL};
    gva_t sp = 0;

    memset(big, 'x', 131072);
    big[131072] = '\0';
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), -E2BIG);
    big[131071] = '\0'; /* exactly MAX_ARG_STRLEN with its NUL */
    assert_int_equal(stack_setup(t->mm, &t->img, "prog", argv, NULL, &sp), 0);
    free(big);
}

static void test_stack_layout_matches_linux_exec_addresses(void **state)
{
    struct test_env *t = *state;
    char *argv[] = {"./dump", "x", "yz", NULL};
    char *envp[] = {"A=b", NULL};
    gva_t sp = 0, auxv = 0;

    /* Linux 6.18 under `env -i A=b setarch -R ./dump x yz` put argv[0] at 0x7fffffffefe1,
     * AT_PLATFORM at ...efd9, AT_RANDOM at ...efc9, AT_EXECFN at ...eff1 and argc at
     * ...ee20. Strings: 0x7ffffffff000 - 8 - 7 ("./dump") - 4 - 3 - 2 - 7 = ...efe1.
     * Linux's auxv has 3 pairs (AT_SYSINFO_EHDR, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN)
     * that are AT_IGNORE in ours, which keeps their place: argc at ...ee20 too. */
    assert_int_equal(stack_setup(t->mm, &t->img, "./dump", argv, envp, &sp), 0);
    auxv = sp + 8 * (1 + 4 + 2);
    assert_int_equal(peek(t, sp + 8), 0x7fffffffefe1ULL);
    assert_int_equal(peek(t, sp + 40), 0x7fffffffefedULL);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_PLATFORM), 0x7fffffffefd9ULL);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_RANDOM), 0x7fffffffefc9ULL);
    assert_int_equal(auxv_get(t, auxv, LINUX_AT_EXECFN), 0x7fffffffeff1ULL);
    assert_int_equal(sp, 0x7fffffffee20ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_stack_argc_argv_envp_strings_are_in_place),
        T(test_stack_auxv_has_every_entry_in_linux_order),
        T(test_stack_random_and_platform_sit_below_aligned_strings),
        T(test_stack_layout_matches_linux_exec_addresses),
        T(test_stack_sp_is_16_aligned_for_any_argc),
        T(test_stack_area_covers_arguments_plus_128k_and_grows_down),
        T(test_stack_large_arguments_span_pages),
        T(test_stack_strings_over_quarter_of_limit_return_e2big),
        T(test_stack_smaller_stack_limit_lowers_e2big_threshold),
        T(test_stack_string_over_128k_returns_e2big),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
