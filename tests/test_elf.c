/* Tests of the ELF loader (loader/elf.c, loader/exec.c): every refusal with its errno and
 * message, and the areas a good static ET_EXEC and static-PIE ET_DYN become. Programs are
 * crafted byte by byte in a temporary directory; /bin/busybox is loaded too when the
 * static busybox is installed. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include "elf_info.h"
#include "vmemu/loader.h"
#include "vmemu/mm.h"
#include "vmemu/uaccess.h"

#define TEST_FILE_MAX 0x3000

/* One test's VM, temporary directory and the program being built. */
struct test_env {
    struct vmsys sys;            /* 16 MiB pool, 64x4 TLB */
    struct mm *mm;               /* the address space programs load into */
    char dir[64];                /* temporary directory */
    char path[96];               /* dir + "/prog" */
    char err[512];               /* exec_load's message */
    uint8_t file[TEST_FILE_MAX]; /* the program's bytes */
    size_t size;                 /* bytes of file written */
};

static int setup(void **state)
{
    struct test_env *t = calloc(1, sizeof(*t));

    if (!t)
        return -1;
    if (vmsys_init(&t->sys, 16 << 20, 64, 4) != 0 || mm_create(&t->sys, &t->mm) != 0)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/vmemu_test_elf.XXXXXX");
    if (!mkdtemp(t->dir))
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/prog", t->dir);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct test_env *t = *state;

    mm_destroy(t->mm);
    vmsys_destroy(&t->sys);
    unlink(t->path);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* Starts a program of `size` bytes: a valid x86-64 ELF header of `type`, no program
 * headers yet (they go right after the header). */
static void elf_begin_file(struct test_env *t, uint16_t type, size_t size)
{
    Elf64_Ehdr eh = {0};

    memset(t->file, 0, sizeof(t->file));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    memcpy(t->file, &eh, sizeof(eh));
    t->size = size;
}

static Elf64_Ehdr *elf_ehdr(struct test_env *t)
{
    return (Elf64_Ehdr *)t->file;
}

/* Appends a program header. */
static void elf_add_phdr(struct test_env *t, uint32_t type, uint32_t flags, uint64_t off,
                         uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
    Elf64_Ehdr *eh = elf_ehdr(t);
    Elf64_Phdr ph = {.p_type = type,
                     .p_flags = flags,
                     .p_offset = off,
                     .p_vaddr = vaddr,
                     .p_paddr = vaddr,
                     .p_filesz = filesz,
                     .p_memsz = memsz,
                     .p_align = PAGE_SIZE};

    memcpy(t->file + eh->e_phoff + eh->e_phnum * sizeof(ph), &ph, sizeof(ph));
    eh->e_phnum++;
}

static Elf64_Phdr *elf_phdr(struct test_env *t, unsigned i)
{
    return (Elf64_Phdr *)(t->file + elf_ehdr(t)->e_phoff) + i;
}

/* Writes the bytes to t->path with the given mode. */
static void write_file(struct test_env *t, mode_t mode)
{
    int fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, t->file, t->size), (ssize_t)t->size);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* A minimal good static ET_EXEC: one R+X segment holding the headers and code. */
static void elf_good_exec(struct test_env *t)
{
    elf_begin_file(t, ET_EXEC, 0x1000);
    elf_ehdr(t)->e_entry = 0x400100;
    elf_add_phdr(t, PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000);
}

/* Loads t->path, expecting rc, and checks that the message is "PATH: ..." containing
 * `what`. */
static void expect_refusal(struct test_env *t, int rc, const char *what)
{
    struct exec_image img;
    size_t plen = strlen(t->path);

    t->err[0] = '\0';
    assert_int_equal(exec_load(t->mm, t->path, &img, t->err, sizeof(t->err)), rc);
    assert_memory_equal(t->err, t->path, plen);
    assert_memory_equal(t->err + plen, ": ", 2);
    assert_non_null(strstr(t->err, what));
    assert_null(strchr(t->err, '\n'));
    assert_int_equal(t->mm->vmas.n, 0);
}

static void test_elf_missing_file_returns_enoent(void **state)
{
    struct test_env *t = *state;

    expect_refusal(t, -ENOENT, "no such file");
}

static void test_elf_directory_returns_eacces(void **state)
{
    struct test_env *t = *state;

    assert_int_equal(mkdir(t->path, 0755), 0);
    expect_refusal(t, -EACCES, "not a regular file");
    rmdir(t->path);
}

static void test_elf_file_without_exec_permission_returns_eacces(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    write_file(t, 0644);
    expect_refusal(t, -EACCES, "permission denied");
}

static void test_elf_shell_script_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    memcpy(t->file, "#!/bin/sh\nexit 0\n", 17);
    t->size = 17;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not an ELF file");
}

static void test_elf_empty_file_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    t->size = 0;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not an ELF file");
}

static void test_elf_class32_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    t->file[EI_CLASS] = ELFCLASS32;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not a 64-bit ELF file (ELFCLASS32)");
}

static void test_elf_big_endian_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    t->file[EI_DATA] = ELFDATA2MSB;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not a little-endian ELF file");
}

static void test_elf_aarch64_machine_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_ehdr(t)->e_machine = EM_AARCH64;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not an x86-64 program (e_machine 183)");
}

static void test_elf_relocatable_object_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_ehdr(t)->e_type = ET_REL;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "not an executable (e_type 1)");
}

static void test_elf_truncated_header_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    t->size = 40; /* magic and class intact, header cut */
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "truncated");
}

static void test_elf_truncated_phdr_table_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    t->size = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) - 1; /* last phdr byte missing */
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "truncated");
}

static void test_elf_segment_past_end_of_file_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_phdr(t, 0)->p_filesz = 0x1001;
    elf_phdr(t, 0)->p_memsz = 0x1001;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "segment 0 lies outside the file");
}

static void test_elf_segment_offset_wraps_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_phdr(t, 0)->p_offset = UINT64_MAX & PAGE_MASK;
    elf_phdr(t, 0)->p_vaddr = 0x400000 + (UINT64_MAX & PAGE_MASK);
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "segment 0 lies outside the file");
}

static void test_elf_filesz_above_memsz_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_phdr(t, 0)->p_memsz = 0x800;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "p_filesz > p_memsz");
}

static void test_elf_vaddr_offset_misaligned_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_phdr(t, 0)->p_vaddr = 0x400010;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "differ modulo the page size");
}

static void test_elf_overlapping_segments_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_W, 0x800, 0x400800, 0x100, 0x100);
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "overlapping PT_LOAD segments 0 and 1");
}

static void test_elf_segments_sharing_a_page_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_begin_file(t, ET_EXEC, 0x1000);
    elf_ehdr(t)->e_entry = 0x400100;
    elf_add_phdr(t, PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x800, 0x800);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_W, 0x800, 0x400800, 0x100, 0x100);
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "PT_LOAD segments 0 and 1 share a page");
}

static void test_elf_no_load_segment_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_begin_file(t, ET_EXEC, 0x1000);
    elf_add_phdr(t, PT_NOTE, PF_R, 0x100, 0x400100, 0x10, 0x10);
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "no PT_LOAD segment");
}

static void test_elf_segment_beyond_user_space_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    elf_good_exec(t);
    elf_phdr(t, 0)->p_vaddr = USER_VA_END - 0x1000;
    elf_phdr(t, 0)->p_memsz = 0x2000;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "segment 0 lies beyond user space");
}

static void test_elf_pie_pushed_beyond_user_space_by_bias_returns_enoexec(void **state)
{
    struct test_env *t = *state;

    /* Fits as an ET_EXEC, but not once LOADER_PIE_BASE is added. */
    elf_good_exec(t);
    elf_ehdr(t)->e_type = ET_DYN;
    elf_phdr(t, 0)->p_vaddr = USER_VA_END - LOADER_PIE_BASE;
    write_file(t, 0755);
    expect_refusal(t, -ENOEXEC, "segment 0 lies beyond user space");
}

static void test_elf_dynamic_program_returns_enoexec_naming_interpreter(void **state)
{
    static const char interp[] = "/lib64/ld-linux-x86-64.so.2";
    struct test_env *t = *state;
    struct exec_image img;
    char want[256];

    elf_good_exec(t);
    elf_ehdr(t)->e_type = ET_DYN;
    elf_add_phdr(t, PT_INTERP, PF_R, 0x200, 0x200, sizeof(interp), sizeof(interp));
    memcpy(t->file + 0x200, interp, sizeof(interp));
    write_file(t, 0755);

    assert_int_equal(exec_load(t->mm, t->path, &img, t->err, sizeof(t->err)), -ENOEXEC);
    snprintf(want, sizeof(want), "%s: needs the interpreter %s; vmemu runs static programs",
             t->path, interp);
    assert_string_equal(t->err, want);
    assert_int_equal(t->mm->vmas.n, 0);
}

static void test_elf_read_fills_info_of_static_program(void **state)
{
    struct test_env *t = *state;
    struct elf_info info;

    elf_good_exec(t);
    elf_add_phdr(t, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    write_file(t, 0755);

    assert_int_equal(elf_read(t->path, &info, t->err, sizeof(t->err)), 0);
    assert_int_equal(info.type, ET_EXEC);
    assert_int_equal(info.bias, 0);
    assert_int_equal(info.entry, 0x400100);
    assert_int_equal(info.phoff, sizeof(Elf64_Ehdr));
    assert_int_equal(info.phnum, 2);
    assert_int_equal(info.phent, ELF_PHDR_SIZE);
    assert_false(info.has_interp);
    assert_null(info.interp);
    assert_int_equal(info.file_size, 0x1000);
    assert_int_equal(info.phdrs[0].type, PT_LOAD);
    assert_int_equal(info.phdrs[0].flags, PF_R | PF_X);
    assert_int_equal(info.phdrs[0].vaddr, 0x400000);
    assert_int_equal(info.phdrs[0].memsz, 0x1000);
    assert_int_equal(info.phdrs[1].type, PT_GNU_STACK);
    elf_info_free(&info);
}

/* Checks one area. */
static void expect_vma(struct test_env *t, gva_t start, gva_t end, uint32_t prot,
                       enum vma_kind kind, bool has_file, uint64_t pgoff, uint64_t file_end)
{
    struct vma *v = vma_lookup(&t->mm->vmas, start);

    assert_non_null(v);
    assert_int_equal(v->start, start);
    assert_int_equal(v->end, end);
    assert_int_equal(v->prot, prot);
    assert_int_equal(v->flags, 0);
    assert_int_equal(v->kind, kind);
    if (has_file) {
        assert_non_null(v->file);
        assert_int_equal(v->pgoff, pgoff);
        assert_int_equal(v->file_end, file_end);
    } else {
        assert_null(v->file);
    }
}

static void test_elf_static_exec_maps_image_and_bss_areas(void **state)
{
    struct test_env *t = *state;
    struct exec_image img;

    /* Laid out like musl-gcc -static output, plus a segment that is all bss. */
    elf_begin_file(t, ET_EXEC, 0x2100);
    elf_ehdr(t)->e_entry = 0x401000;
    elf_add_phdr(t, PT_LOAD, PF_R, 0, 0x400000, 0x190, 0x190);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x82c, 0x82c);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_W, 0x2010, 0x404010, 0x40, 0x3000);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_W, 0, 0x500000, 0, 0x1800);
    elf_add_phdr(t, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    memset(t->file + 0x2050, 0xaa, 16); /* file bytes past the data: the bss must hide them */
    write_file(t, 0755);

    assert_int_equal(exec_load(t->mm, t->path, &img, t->err, sizeof(t->err)), 0);
    assert_int_equal(t->mm->vmas.n, 5);
    /* Headers and rodata: one page, file bytes stop at p_offset + p_filesz. */
    expect_vma(t, 0x400000, 0x401000, VM_READ, VMA_IMAGE, true, 0, 0x190);
    expect_vma(t, 0x401000, 0x402000, VM_READ | VM_EXEC, VMA_IMAGE, true, 1, 0x182c);
    /* Data: starts mid-page at file offset 0x2010, so page 2 of the file; its bss part
     * (to 0x407010) continues as anonymous pages from the next page boundary. */
    expect_vma(t, 0x404000, 0x405000, VM_READ | VM_WRITE, VMA_IMAGE, true, 2, 0x2050);
    expect_vma(t, 0x405000, 0x408000, VM_READ | VM_WRITE, VMA_BSS, false, 0, 0);
    expect_vma(t, 0x500000, 0x502000, VM_READ | VM_WRITE, VMA_BSS, false, 0, 0);

    assert_int_equal(img.entry, 0x401000);
    assert_int_equal(img.load_bias, 0);
    /* No PT_PHDR: the headers are at e_phoff inside the first segment. */
    assert_int_equal(img.phdr, 0x400000 + sizeof(Elf64_Ehdr));
    assert_int_equal(img.phnum, 5);
    assert_int_equal(img.phent, 56);
    assert_int_equal(img.start_brk, 0x502000);
    assert_int_equal(t->mm->start_brk, 0x502000);
    assert_int_equal(t->mm->brk, 0x502000);
    /* The three file areas hold the only references: the loader dropped its own. */
    assert_int_equal(vma_lookup(&t->mm->vmas, 0x400000)->file->refs, 3);
    /* Only padzero's page was written: the data's last file page (its bytes past the file
     * part cleared, as Linux's clear_user does at exec); the rest comes on first touch. */
    assert_int_equal(t->mm->stats.rss, 1);
    pte_t *ptep = pt_lookup(&t->mm->pt, &t->mm->sys->phys, 0x404000);
    assert_true(ptep && pte_present(*ptep) && (*ptep & PTE_RW));
    uint8_t tail[16];
    assert_int_equal(copy_from_user(t->mm, tail, 0x404050, sizeof(tail)), 0);
    for (size_t i = 0; i < sizeof(tail); i++)
        assert_int_equal(tail[i], 0);
}

static void test_elf_static_pie_maps_at_pie_base(void **state)
{
    struct test_env *t = *state;
    const gva_t b = LOADER_PIE_BASE;
    struct exec_image img;

    elf_begin_file(t, ET_DYN, 0x1200);
    elf_ehdr(t)->e_entry = 0x1010;
    elf_add_phdr(t, PT_PHDR, PF_R, 0x40, 0x40, 4 * 56, 4 * 56);
    elf_add_phdr(t, PT_LOAD, PF_R, 0, 0, 0x200, 0x200);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x100, 0x100);
    elf_add_phdr(t, PT_LOAD, PF_R | PF_W, 0x1100, 0x2100, 0x20, 0x1000);
    write_file(t, 0755);

    assert_int_equal(exec_load(t->mm, t->path, &img, t->err, sizeof(t->err)), 0);
    assert_int_equal(t->mm->vmas.n, 4);
    expect_vma(t, b, b + 0x1000, VM_READ, VMA_IMAGE, true, 0, 0x200);
    expect_vma(t, b + 0x1000, b + 0x2000, VM_READ | VM_EXEC, VMA_IMAGE, true, 1, 0x1100);
    expect_vma(t, b + 0x2000, b + 0x3000, VM_READ | VM_WRITE, VMA_IMAGE, true, 1, 0x1120);
    expect_vma(t, b + 0x3000, b + 0x4000, VM_READ | VM_WRITE, VMA_BSS, false, 0, 0);
    assert_int_equal(img.entry, b + 0x1010);
    assert_int_equal(img.load_bias, b);
    assert_int_equal(img.phdr, b + 0x40); /* from PT_PHDR */
    assert_int_equal(img.phnum, 4);
    assert_int_equal(img.start_brk, b + 0x4000);
    assert_int_equal(t->mm->brk, b + 0x4000);
}

static void test_elf_phdr_address_prefers_pt_phdr(void **state)
{
    struct test_env *t = *state;
    struct elf_info info;

    /* A PT_PHDR that disagrees with the segment holding e_phoff wins, as in Linux. */
    elf_good_exec(t);
    elf_add_phdr(t, PT_PHDR, PF_R, 0x40, 0x400800, 2 * 56, 2 * 56);
    write_file(t, 0755);
    assert_int_equal(elf_read(t->path, &info, t->err, sizeof(t->err)), 0);
    assert_int_equal(elf_phdr_addr(&info), 0x400800);
    elf_info_free(&info);
}

/* Reads an ELF64 header and program headers the test's own way (no libelf). */
static int read_headers(const char *path, Elf64_Ehdr *eh, Elf64_Phdr *ph, unsigned max)
{
    int fd = open(path, O_RDONLY);
    int ok;

    if (fd < 0)
        return -1;
    ok = pread(fd, eh, sizeof(*eh), 0) == (ssize_t)sizeof(*eh) && eh->e_phnum <= max &&
         pread(fd, ph, eh->e_phnum * sizeof(*ph), (off_t)eh->e_phoff) ==
             (ssize_t)(eh->e_phnum * sizeof(*ph));
    close(fd);
    return ok ? 0 : -1;
}

static void test_elf_real_static_busybox_maps_every_load_segment(void **state)
{
    static const char path[] = "/bin/busybox";
    struct test_env *t = *state;
    struct exec_image img;
    Elf64_Phdr ph[32];
    Elf64_Ehdr eh;
    gva_t top = 0;

    if (read_headers(path, &eh, ph, 32) != 0 || eh.e_type != ET_EXEC) {
        skip(); /* busybox-static not installed */
        return;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_INTERP) {
            skip(); /* a dynamically linked busybox */
            return;
        }
    }
    assert_int_equal(exec_load(t->mm, path, &img, t->err, sizeof(t->err)), 0);
    assert_int_equal(img.entry, eh.e_entry);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        struct vma *v;

        if (ph[i].p_type != PT_LOAD)
            continue;
        v = vma_lookup(&t->mm->vmas, ph[i].p_vaddr);
        assert_non_null(v);
        assert_int_equal(v->kind, ph[i].p_filesz ? VMA_IMAGE : VMA_BSS);
        assert_int_equal(v->prot & VM_EXEC, (ph[i].p_flags & PF_X) ? VM_EXEC : 0);
        assert_int_equal(v->prot & VM_WRITE, (ph[i].p_flags & PF_W) ? VM_WRITE : 0);
        assert_non_null(vma_lookup(&t->mm->vmas, ph[i].p_vaddr + ph[i].p_memsz - 1));
        if (ph[i].p_vaddr + ph[i].p_memsz > top)
            top = ph[i].p_vaddr + ph[i].p_memsz;
    }
    assert_int_equal(t->mm->brk, PAGE_UP(top));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_elf_missing_file_returns_enoent),
        T(test_elf_directory_returns_eacces),
        T(test_elf_file_without_exec_permission_returns_eacces),
        T(test_elf_shell_script_returns_enoexec),
        T(test_elf_empty_file_returns_enoexec),
        T(test_elf_class32_returns_enoexec),
        T(test_elf_big_endian_returns_enoexec),
        T(test_elf_aarch64_machine_returns_enoexec),
        T(test_elf_relocatable_object_returns_enoexec),
        T(test_elf_truncated_header_returns_enoexec),
        T(test_elf_truncated_phdr_table_returns_enoexec),
        T(test_elf_segment_past_end_of_file_returns_enoexec),
        T(test_elf_segment_offset_wraps_returns_enoexec),
        T(test_elf_filesz_above_memsz_returns_enoexec),
        T(test_elf_vaddr_offset_misaligned_returns_enoexec),
        T(test_elf_overlapping_segments_returns_enoexec),
        T(test_elf_segments_sharing_a_page_returns_enoexec),
        T(test_elf_no_load_segment_returns_enoexec),
        T(test_elf_segment_beyond_user_space_returns_enoexec),
        T(test_elf_pie_pushed_beyond_user_space_by_bias_returns_enoexec),
        T(test_elf_dynamic_program_returns_enoexec_naming_interpreter),
        T(test_elf_read_fills_info_of_static_program),
        T(test_elf_static_exec_maps_image_and_bss_areas),
        T(test_elf_static_pie_maps_at_pie_base),
        T(test_elf_phdr_address_prefers_pt_phdr),
        T(test_elf_real_static_busybox_maps_every_load_segment),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
