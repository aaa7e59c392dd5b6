/* Loading a program: ELF validation (libelf), the image as VMAs, the initial stack. */
#ifndef VMEMU_LOADER_H
#define VMEMU_LOADER_H

#include "vmemu/mm.h"

/* Where a static PIE (ET_DYN without PT_INTERP) is loaded: Linux's ELF_ET_DYN_BASE with
 * randomisation off. */
#define LOADER_PIE_BASE 0x0000555555554000ULL

/* What the loader learned about a program, for the stack and the reports. */
struct exec_image {
    gva_t entry;        /* entry point (load bias applied) */
    gva_t load_bias;    /* 0 for ET_EXEC, LOADER_PIE_BASE for a static PIE */
    gva_t phdr;         /* address of the program headers in memory (AT_PHDR) */
    uint16_t phnum;     /* AT_PHNUM */
    uint16_t phent;     /* AT_PHENT */
    gva_t start_brk;    /* first page after the highest segment */
    uint64_t arg_pages; /* pages the argument, environment and execfn strings span on
                           the new stack (set by stack_setup): Linux's copy_strings faults
                           each in with get_user_pages */
};

/* Validates the ELF at path and maps its PT_LOAD segments into mm (private file-backed
 * VMAs, zeroed tail and bss), setting mm->start_brk/brk. On failure writes one line into
 * err and returns -ENOENT / -EACCES (can't open) or -ENOEXEC (not a program vmemu runs:
 * not ELF, wrong class or machine, truncated, segments outside the file or overlapping,
 * dynamically linked). */
int exec_load(struct mm *mm, const char *path, struct exec_image *img, char *err, size_t errlen);
/* Builds the initial stack as Linux does (argc, argv, envp, auxv, strings, AT_RANDOM
 * bytes) in a new growable stack VMA and returns the initial RSP; sets img->arg_pages.
 * Returns 0 or -errno (-E2BIG when arguments exceed the limit, -EFAULT, -ENOMEM). */
int stack_setup(struct mm *mm, struct exec_image *img, const char *execfn, char *const argv[],
                char *const envp[], gva_t *sp_out);

#endif
