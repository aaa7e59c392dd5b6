/* The program image as areas: exec_load() validates a program (loader/elf.c) and turns
 * each PT_LOAD segment into a private file-backed VMA_IMAGE area plus an anonymous
 * VMA_BSS area, as Linux's load_elf_binary() does with elf_map() and set_brk().
 * Every page loads on its first touch (the fault path zeroes the bytes of the last file
 * page past the segment's file part), but for the one Linux's padzero() writes: the last
 * file page of a writable segment with a zero-filled part, cleared through clear_user()
 * and so copied at exec, as the kernel's store faults it in (an exec fault). Called by the exec
 * path (proc_exec, src/proc/proc.c) on a fresh mm, before stack_setup(). */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "elf_info.h"
#include "vmemu/loader.h"
#include "vmemu/uaccess.h"

/* VMA protection of a segment's p_flags. */
static uint32_t exec_prot(uint32_t p_flags)
{
    uint32_t prot = 0;

    if (p_flags & PF_R)
        prot |= VM_READ;
    if (p_flags & PF_W)
        prot |= VM_WRITE;
    if (p_flags & PF_X)
        prot |= VM_EXEC;
    return prot;
}

/* Maps one PT_LOAD segment: the pages that hold file bytes as a private VMA_IMAGE area
 * of f (padzero'ing the last one when the segment is writable and has a zero-filled part),
 * then the remaining pages up to p_memsz as an anonymous VMA_BSS area.
 * Returns 0 or -errno from mm_map() or clear_user() (-EFAULT, -ENOMEM). */
static int exec_map_segment(struct mm *mm, struct vfile *f, const struct elf_seg *s, gva_t bias)
{
    uint32_t prot = exec_prot(s->flags);
    gva_t va = s->vaddr + bias;
    gva_t start = PAGE_DOWN(va);
    gva_t file_top = start; /* end of the file-backed pages */
    gva_t mem_top = PAGE_UP(va + s->memsz);
    int rc;

    if (s->filesz) {
        file_top = PAGE_UP(va + s->filesz);
        rc = mm_map(mm, start, file_top - start, prot, 0, VMA_IMAGE, f, PAGE_DOWN(s->offset),
                    s->offset + s->filesz);
        if (rc)
            return rc;
        /* padzero(): the kernel clears the rest of the page where the file data ends; in a
         * read-only segment its store fails and is ignored (no fault is counted). */
        gva_t data_end = va + s->filesz;
        if (s->memsz > s->filesz && (prot & VM_WRITE) && (data_end & (PAGE_SIZE - 1)) &&
            (rc = clear_user(mm, data_end, file_top - data_end)) < 0)
            return rc;
    }
    if (mem_top > file_top)
        return mm_map(mm, file_top, mem_top - file_top, prot, 0, VMA_BSS, NULL, 0, 0);
    return 0;
}

/* Validates the program at path and maps its PT_LOAD segments into mm, which should be
 * empty: an ET_EXEC at its link addresses, a static PIE (ET_DYN) at LOADER_PIE_BASE.
 * Sets mm->start_brk = mm->brk to the page after the highest segment and fills *img.
 * Returns 0; -ENOENT, -EACCES, ... when the file cannot be opened; -ENOEXEC when it is
 * not a program vmemu runs; -ENOMEM or another -errno from mapping. On failure err holds
 * one line "PATH: reason", and segments mapped so far stay in mm (the caller destroys
 * it). */
int exec_load(struct mm *mm, const char *path, struct exec_image *img, char *err, size_t errlen)
{
    struct elf_info info;
    struct vfile *f = NULL;
    gva_t top = 0;
    int rc;

    rc = elf_read(path, &info, err, errlen);
    if (rc)
        goto out;
    rc = vfile_open(&mm->sys->pc, path, &f);
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    for (unsigned i = 0; i < info.phnum; i++) {
        const struct elf_seg *s = &info.phdrs[i];

        if (s->type != PT_LOAD || s->memsz == 0)
            continue;
        rc = exec_map_segment(mm, f, s, info.bias);
        if (rc) {
            snprintf(err, errlen, "%s: cannot map segment %u: %s", path, i, strerror(-rc));
            goto out_put;
        }
        if (s->vaddr + s->memsz + info.bias > top)
            top = s->vaddr + s->memsz + info.bias;
    }
    mm->start_brk = mm->brk = PAGE_UP(top);

    img->entry = info.entry + info.bias;
    img->load_bias = info.bias;
    img->phdr = elf_phdr_addr(&info);
    img->phnum = info.phnum;
    img->phent = info.phent;
    img->start_brk = mm->start_brk;
out_put:
    vfile_put(f); /* the areas hold their own references */
out:
    elf_info_free(&info);
    return rc;
}
