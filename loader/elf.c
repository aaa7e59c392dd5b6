/* ELF validation: opens a program with libelf and decides whether vmemu can run it (a
 * static little-endian x86-64 ET_EXEC or static-PIE ET_DYN whose PT_LOAD segments lie in
 * the file, in user space, page-congruent and disjoint), filling struct elf_info.
 * Every refusal is one "PATH: reason" line and -ENOEXEC (or the open errno), like
 * Linux's load_elf_binary(). Called by loader/exec.c; nothing here touches an mm. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_info.h"
#include "vmemu/loader.h"

/* Linux refuses program header tables larger than this (load_elf_phdrs). */
#define ELF_MAX_PHDR_BYTES 65536u
/* Longest PT_INTERP string we read. */
#define ELF_MAX_INTERP     4096u

__attribute__((format(printf, 4, 5))) static int elf_fail(int rc, char *err, size_t errlen,
                                                          const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *elf_errno_text(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file";
    case EACCES:
        return "permission denied";
    case ENOTDIR:
        return "not a directory in the path";
    case ELOOP:
        return "too many symbolic links";
    case ENAMETOOLONG:
        return "file name too long";
    default:
        return strerror(e);
    }
}

/* Reads the PT_INTERP string of seg into a new string. Returns 0, -ENOEXEC or -ENOMEM. */
static int elf_read_interp(int fd, const struct elf_seg *seg, uint64_t file_size, char **out)
{
    uint64_t len = seg->filesz;
    char *s;
    ssize_t n;

    if (len == 0 || len > ELF_MAX_INTERP || seg->offset > file_size ||
        len > file_size - seg->offset)
        return -ENOEXEC;
    s = malloc(len + 1);
    if (!s)
        return -ENOMEM;
    n = pread(fd, s, len, (off_t)seg->offset);
    if (n != (ssize_t)len) {
        free(s);
        return -ENOEXEC;
    }
    s[len] = '\0'; /* the string is NUL-terminated in the file; stop at the first NUL */
    *out = s;
    return 0;
}

/* Checks the PT_LOAD segments of a program that has been read. Returns 0 or -ENOEXEC
 * with the reason in err. */
static int elf_check_loads(const char *path, const struct elf_info *info, char *err, size_t errlen)
{
    uint64_t limit = USER_VA_END - info->bias; /* highest end before the bias */
    unsigned nload = 0;

    for (unsigned i = 0; i < info->phnum; i++) {
        const struct elf_seg *s = &info->phdrs[i];

        if (s->type != PT_LOAD)
            continue;
        nload++;
        if (s->offset > info->file_size || s->filesz > info->file_size - s->offset)
            return elf_fail(-ENOEXEC, err, errlen, "%s: segment %u lies outside the file", path, i);
        if (s->filesz > s->memsz)
            return elf_fail(-ENOEXEC, err, errlen, "%s: segment %u has p_filesz > p_memsz", path,
                            i);
        if ((s->vaddr - s->offset) % PAGE_SIZE != 0)
            return elf_fail(-ENOEXEC, err, errlen,
                            "%s: segment %u: p_vaddr and p_offset differ modulo the page size",
                            path, i);
        /* The bias is a constant below USER_VA_END, so `limit` cannot wrap. */
        if (s->vaddr >= limit || s->memsz > limit - s->vaddr)
            return elf_fail(-ENOEXEC, err, errlen, "%s: segment %u lies beyond user space", path,
                            i);
    }
    if (nload == 0)
        return elf_fail(-ENOEXEC, err, errlen, "%s: no PT_LOAD segment", path);

    for (unsigned i = 0; i < info->phnum; i++) {
        const struct elf_seg *a = &info->phdrs[i];

        if (a->type != PT_LOAD || a->memsz == 0)
            continue;
        for (unsigned j = i + 1; j < info->phnum; j++) {
            const struct elf_seg *b = &info->phdrs[j];

            if (b->type != PT_LOAD || b->memsz == 0)
                continue;
            if (a->vaddr < b->vaddr + b->memsz && b->vaddr < a->vaddr + a->memsz)
                return elf_fail(-ENOEXEC, err, errlen, "%s: overlapping PT_LOAD segments %u and %u",
                                path, i, j);
            /* Each segment becomes its own page-granular areas: two that share a page
             * would replace each other's part of it. */
            if (PAGE_DOWN(a->vaddr) < PAGE_UP(b->vaddr + b->memsz) &&
                PAGE_DOWN(b->vaddr) < PAGE_UP(a->vaddr + a->memsz))
                return elf_fail(-ENOEXEC, err, errlen,
                                "%s: PT_LOAD segments %u and %u share a page", path, i, j);
        }
    }
    return 0;
}

/* Reads the headers of the open ELF fd (whose identification bytes are valid) into info.
 * Returns 0, -ENOEXEC (reason in err) or -ENOMEM. */
static int elf_read_headers(const char *path, int fd, struct elf_info *info, char *err,
                            size_t errlen)
{
    GElf_Ehdr eh;
    Elf *elf;
    int rc = 0;

    if (elf_version(EV_CURRENT) == EV_NONE)
        return elf_fail(-ENOEXEC, err, errlen, "%s: libelf: %s", path, elf_errmsg(-1));
    elf = elf_begin(fd, ELF_C_READ, NULL);
    if (!elf)
        return elf_fail(-ENOEXEC, err, errlen, "%s: not a valid ELF file (%s)", path,
                        elf_errmsg(-1));
    if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not a valid ELF file", path);
        goto out;
    }
    if (eh.e_machine != EM_X86_64) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not an x86-64 program (e_machine %u)", path,
                      (unsigned)eh.e_machine);
        goto out;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not an executable (e_type %u)", path,
                      (unsigned)eh.e_type);
        goto out;
    }
    if (eh.e_phnum != 0 && eh.e_phentsize != ELF_PHDR_SIZE) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: bad program header size %u", path,
                      (unsigned)eh.e_phentsize);
        goto out;
    }
    if ((uint64_t)eh.e_phnum * ELF_PHDR_SIZE > ELF_MAX_PHDR_BYTES) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: too many program headers (%u)", path,
                      (unsigned)eh.e_phnum);
        goto out;
    }
    if (eh.e_phoff > info->file_size ||
        (uint64_t)eh.e_phnum * ELF_PHDR_SIZE > info->file_size - eh.e_phoff) {
        rc = elf_fail(-ENOEXEC, err, errlen,
                      "%s: truncated (program headers past the end "
                      "of the file)",
                      path);
        goto out;
    }

    info->type = eh.e_type;
    info->bias = eh.e_type == ET_DYN ? LOADER_PIE_BASE : 0;
    info->entry = eh.e_entry;
    info->phoff = eh.e_phoff;
    info->phnum = eh.e_phnum;
    info->phent = ELF_PHDR_SIZE;
    if (info->phnum) {
        info->phdrs = calloc(info->phnum, sizeof(*info->phdrs));
        if (!info->phdrs) {
            rc = -ENOMEM;
            goto out;
        }
    }
    for (unsigned i = 0; i < info->phnum; i++) {
        GElf_Phdr ph;

        if (!gelf_getphdr(elf, (int)i, &ph)) {
            rc = elf_fail(-ENOEXEC, err, errlen, "%s: bad program header %u (%s)", path, i,
                          elf_errmsg(-1));
            goto out;
        }
        info->phdrs[i] = (struct elf_seg){.type = ph.p_type,
                                          .flags = ph.p_flags,
                                          .offset = ph.p_offset,
                                          .vaddr = ph.p_vaddr,
                                          .filesz = ph.p_filesz,
                                          .memsz = ph.p_memsz};
    }
out:
    elf_end(elf);
    return rc;
}

/* Opens path and validates it as a program vmemu can run, filling *info (release it with
 * elf_info_free(), also after a failure). The file is closed again before returning.
 * Returns 0; -errno when it cannot be opened (-ENOENT, -EACCES for a file that is not a
 * regular executable file, ...); -ENOEXEC when it is not a static x86-64 ELF program
 * vmemu runs; -ENOMEM. On failure err holds one line "PATH: reason". */
int elf_read(const char *path, struct elf_info *info, char *err, size_t errlen)
{
    unsigned char ident[EI_NIDENT];
    struct stat st;
    ssize_t n;
    int fd, rc;

    memset(info, 0, sizeof(*info));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno;
        return elf_fail(-rc, err, errlen, "%s: %s", path, elf_errno_text(rc));
    }
    /* As execve: only regular files with execute permission. */
    if (fstat(fd, &st) < 0) {
        rc = errno;
        rc = elf_fail(-rc, err, errlen, "%s: %s", path, elf_errno_text(rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = elf_fail(-EACCES, err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0) {
        rc = errno;
        rc = elf_fail(-rc, err, errlen, "%s: %s", path, elf_errno_text(rc));
        goto out;
    }
    info->file_size = (uint64_t)st.st_size;

    n = pread(fd, ident, sizeof(ident), 0);
    if (n < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not an ELF file", path);
        goto out;
    }
    if (n < EI_NIDENT || info->file_size < sizeof(Elf64_Ehdr)) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: truncated (shorter than the ELF header)", path);
        goto out;
    }
    if (ident[EI_CLASS] != ELFCLASS64) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not a 64-bit ELF file%s", path,
                      ident[EI_CLASS] == ELFCLASS32 ? " (ELFCLASS32)" : "");
        goto out;
    }
    if (ident[EI_DATA] != ELFDATA2LSB) {
        rc = elf_fail(-ENOEXEC, err, errlen, "%s: not a little-endian ELF file", path);
        goto out;
    }
    rc = elf_read_headers(path, fd, info, err, errlen);
    if (rc)
        goto out;

    for (unsigned i = 0; i < info->phnum; i++) {
        if (info->phdrs[i].type != PT_INTERP)
            continue;
        info->has_interp = true;
        rc = elf_read_interp(fd, &info->phdrs[i], info->file_size, &info->interp);
        if (rc == -ENOEXEC)
            rc = elf_fail(rc, err, errlen, "%s: bad PT_INTERP; vmemu runs static programs", path);
        else if (rc == 0)
            rc = elf_fail(-ENOEXEC, err, errlen,
                          "%s: needs the interpreter %s; vmemu runs static programs", path,
                          info->interp);
        goto out;
    }
    rc = elf_check_loads(path, info, err, errlen);
out:
    close(fd);
    return rc;
}

/* Frees what elf_read() allocated; info may be partly filled or already freed. */
void elf_info_free(struct elf_info *info)
{
    free(info->phdrs);
    free(info->interp);
    info->phdrs = NULL;
    info->interp = NULL;
    info->phnum = 0;
}

/* Where the program headers are in memory, load bias applied (AT_PHDR): the PT_PHDR
 * address if there is one, else the address of the PT_LOAD that holds e_phoff in its file
 * part, else (headers not loaded) the first PT_LOAD's address for e_phoff, as older
 * Linux computed load_addr + e_phoff. */
gva_t elf_phdr_addr(const struct elf_info *info)
{
    const struct elf_seg *first = NULL;

    for (unsigned i = 0; i < info->phnum; i++) {
        if (info->phdrs[i].type == PT_PHDR)
            return info->phdrs[i].vaddr + info->bias;
    }
    for (unsigned i = 0; i < info->phnum; i++) {
        const struct elf_seg *s = &info->phdrs[i];

        if (s->type != PT_LOAD)
            continue;
        if (!first)
            first = s;
        if (s->offset <= info->phoff && info->phoff - s->offset < s->filesz)
            return s->vaddr + (info->phoff - s->offset) + info->bias;
    }
    if (!first)
        return 0;
    return first->vaddr - first->offset + info->phoff + info->bias;
}
