/* Tests of src/debug/symbols.c against the test executable itself: its own functions and string
 * literals have known names and sections, and the runtime load bias comes from
 * dl_iterate_phdr(). Also the failure paths: missing, non-ELF, 32-bit and section-less
 * files. */
#include <elf.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmemu/symbols.h"

#define SELF_EXE "/proc/self/exe"

/* A function of this executable whose name and address the tests know. */
int symbols_test_target(int x);
__attribute__((noinline)) int symbols_test_target(int x)
{
    volatile int acc = x;

    for (int i = 0; i < x; i++)
        acc += i * 3;
    return acc;
}

static const char test_literal[] = "a string literal in .rodata";

/* Writable words: one initialised (.data), one zero (.bss). Not static, so that no
 * optimisation can move or drop them. */
extern int symbols_test_data, symbols_test_bss;
int symbols_test_data = 42;
int symbols_test_bss;

/* dl_iterate_phdr visits the main program first: its dlpi_addr is the load bias. */
static int first_object_bias(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(gva_t *)data = (gva_t)info->dlpi_addr;
    return 1;
}

static gva_t self_load_bias(void)
{
    gva_t bias = 0;

    dl_iterate_phdr(first_object_bias, &bias);
    return bias;
}

static gva_t target_va(void)
{
    return (gva_t)(uintptr_t)&symbols_test_target;
}

/* Writes n bytes into a new temporary file and returns its path (static buffer). */
static const char *write_temp(const void *bytes, size_t n)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/vmemu_test_symbols_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, n), (ssize_t)n);
    close(fd);
    return path;
}

static void test_symtab_lookup_own_function_with_runtime_bias_returns_name(void **state)
{
    struct symtab *s = symtab_load(SELF_EXE, self_load_bias());
    uint64_t off = 99;

    (void)state;
    assert_non_null(s);
    assert_string_equal(symtab_lookup(s, target_va(), &off), "symbols_test_target");
    assert_int_equal(off, 0);
    assert_string_equal(symtab_lookup(s, target_va() + 3, &off), "symbols_test_target");
    assert_int_equal(off, 3);
    symtab_free(s);
}

static void test_symtab_lookup_link_time_address_with_zero_bias_returns_name(void **state)
{
    struct symtab *s = symtab_load(SELF_EXE, 0);
    uint64_t off = 99;

    (void)state;
    assert_non_null(s);
    assert_string_equal(symtab_lookup(s, target_va() - self_load_bias() + 1, &off),
                        "symbols_test_target");
    assert_int_equal(off, 1);
    symtab_free(s);
}

static void test_symtab_section_of_literal_and_code_returns_rodata_and_text(void **state)
{
    struct symtab *s = symtab_load(SELF_EXE, self_load_bias());

    (void)state;
    assert_non_null(s);
    assert_string_equal(symtab_section(s, (gva_t)(uintptr_t)test_literal), ".rodata");
    assert_string_equal(symtab_section(s, target_va()), ".text");
    symtab_free(s);
}

static void test_symtab_section_of_data_and_bss_words_returns_data_and_bss(void **state)
{
    struct symtab *s = symtab_load(SELF_EXE, self_load_bias());

    (void)state;
    assert_non_null(s);
    assert_string_equal(symtab_section(s, (gva_t)(uintptr_t)&symbols_test_data), ".data");
    assert_string_equal(symtab_section(s, (gva_t)(uintptr_t)&symbols_test_bss), ".bss");
    /* Data addresses are in no function. */
    assert_null(symtab_lookup(s, (gva_t)(uintptr_t)&symbols_test_bss, NULL));
    symtab_free(s);
}

static void test_symtab_address_below_image_returns_null(void **state)
{
    struct symtab *s = symtab_load(SELF_EXE, self_load_bias());
    uint64_t off = 99;

    (void)state;
    assert_non_null(s);
    assert_null(symtab_lookup(s, 0x10, &off));
    assert_int_equal(off, 99);
    assert_null(symtab_section(s, 0x10));
    symtab_free(s);
}

static void test_symtab_load_missing_file_returns_null(void **state)
{
    (void)state;
    assert_null(symtab_load("/nonexistent/vmemu/program", 0));
}

static void test_symtab_load_non_elf_returns_null(void **state)
{
    static const char text[] = "#!/bin/sh\necho not an ELF\n";
    const char *path = write_temp(text, sizeof(text) - 1);

    (void)state;
    assert_null(symtab_load(path, 0));
    unlink(path);
}

/* A bare ELF header: the given class, no program or section headers. */
static Elf64_Ehdr bare_header(unsigned char elf_class)
{
    Elf64_Ehdr eh;

    memset(&eh, 0, sizeof(eh));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = elf_class;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof(eh);
    return eh;
}

static void test_symtab_load_elf32_returns_null(void **state)
{
    Elf32_Ehdr eh32;
    Elf64_Ehdr eh64 = bare_header(ELFCLASS32);
    const char *path;

    (void)state;
    memset(&eh32, 0, sizeof(eh32));
    memcpy(eh32.e_ident, eh64.e_ident, EI_NIDENT);
    eh32.e_type = ET_EXEC;
    eh32.e_machine = EM_386;
    eh32.e_version = EV_CURRENT;
    eh32.e_ehsize = sizeof(eh32);
    path = write_temp(&eh32, sizeof(eh32));
    assert_null(symtab_load(path, 0));
    unlink(path);
}

static void test_symtab_stripped_elf_lookups_return_null(void **state)
{
    Elf64_Ehdr eh = bare_header(ELFCLASS64);
    const char *path = write_temp(&eh, sizeof(eh));
    struct symtab *s = symtab_load(path, 0);
    uint64_t off = 7;

    (void)state;
    unlink(path);
    assert_non_null(s);
    assert_null(symtab_lookup(s, 0x401000, &off));
    assert_int_equal(off, 7);
    assert_null(symtab_section(s, 0x401000));
    symtab_free(s);
}

static void test_symtab_null_table_returns_null(void **state)
{
    uint64_t off = 5;

    (void)state;
    assert_null(symtab_lookup(NULL, 0x401000, &off));
    assert_int_equal(off, 5);
    assert_null(symtab_section(NULL, 0x401000));
    symtab_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symtab_lookup_own_function_with_runtime_bias_returns_name),
        cmocka_unit_test(test_symtab_lookup_link_time_address_with_zero_bias_returns_name),
        cmocka_unit_test(test_symtab_section_of_literal_and_code_returns_rodata_and_text),
        cmocka_unit_test(test_symtab_section_of_data_and_bss_words_returns_data_and_bss),
        cmocka_unit_test(test_symtab_address_below_image_returns_null),
        cmocka_unit_test(test_symtab_load_missing_file_returns_null),
        cmocka_unit_test(test_symtab_load_non_elf_returns_null),
        cmocka_unit_test(test_symtab_load_elf32_returns_null),
        cmocka_unit_test(test_symtab_stripped_elf_lookups_return_null),
        cmocka_unit_test(test_symtab_null_table_returns_null),
    };

    /* Keep the target reachable from main so no linker option can discard it. */
    if (symbols_test_target(0) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
