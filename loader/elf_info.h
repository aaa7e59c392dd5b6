/* The loader's private view of an ELF program: what loader/elf.c learns while validating
 * a file, and what loader/exec.c needs to map it. Used by the loader and its tests only.
 * (Not named elf.h: loader/ is on the include path, and <libelf.h> includes <elf.h>.) */
#ifndef VMEMU_LOADER_ELF_INFO_H
#define VMEMU_LOADER_ELF_INFO_H

#include "vmemu/types.h"

/* Size of one ELF64 program header (e_phentsize, AT_PHENT). */
#define ELF_PHDR_SIZE 56

/* One program header, in host byte order. */
struct elf_seg {
    uint32_t type;   /* PT_LOAD, PT_INTERP, PT_PHDR, ... */
    uint32_t flags;  /* PF_R | PF_W | PF_X */
    uint64_t offset; /* p_offset: where the segment starts in the file */
    uint64_t vaddr;  /* p_vaddr, before the load bias */
    uint64_t filesz; /* p_filesz: bytes that come from the file */
    uint64_t memsz;  /* p_memsz: bytes in memory (the rest reads as zero) */
};

/* A validated program. */
struct elf_info {
    uint16_t type;         /* ET_EXEC or ET_DYN */
    gva_t bias;            /* load bias: 0 for ET_EXEC, LOADER_PIE_BASE for ET_DYN */
    gva_t entry;           /* e_entry, before the load bias */
    uint64_t phoff;        /* e_phoff: file offset of the program headers */
    uint16_t phnum;        /* number of program headers */
    uint16_t phent;        /* e_phentsize (ELF_PHDR_SIZE) */
    struct elf_seg *phdrs; /* the phnum program headers (owned, malloc'ed) */
    bool has_interp;       /* a PT_INTERP is present (a dynamically linked program) */
    char *interp;          /* its interpreter path (owned), NULL if none */
    uint64_t file_size;    /* size of the file in bytes */
};

int elf_read(const char *path, struct elf_info *info, char *err, size_t errlen);
void elf_info_free(struct elf_info *info);
gva_t elf_phdr_addr(const struct elf_info *info);

#endif
