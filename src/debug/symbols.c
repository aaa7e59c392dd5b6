/* Symbols and sections of a program image, read with libelf, so that reports can say
 * "main+21" and ".rodata" instead of bare addresses. A symtab holds the function symbols of
 * .symtab (or .dynsym when the program is stripped) sorted by address, one per address,
 * and the allocated sections; every address is already relocated by the load bias.
 * Called by the crash report (src/report/crash.c), backtraces (src/debug/backtrace.c) and
 * the heap checker; nothing here touches guest memory. */
#include "vmemu/symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How far past the end of the preceding symbol an address may lie and still be named after
 * it (code between sized symbols, or symbols without a size). */
#define SYMTAB_NEAREST_MAX (64ULL * 1024)
/* How many preceding symbols are checked for one whose size covers an address. */
#define SYMTAB_COVER_SCAN  8
/* symtab_lookup answers remembered by address (direct-mapped): backtraces of the heap
 * checker and profiler ask for the same return addresses again and again. */
#define SYMTAB_MEMO        4096

struct sym {
    gva_t addr;    /* relocated start */
    uint64_t size; /* st_size (0 when unknown) */
    int rank;      /* preference among aliases at one address: lower wins */
    char *name;    /* owned copy of the name */
};

struct sect {
    gva_t addr;    /* relocated start */
    uint64_t size; /* bytes in memory */
    bool exec;     /* SHF_EXECINSTR */
    char *name;    /* owned copy of the name */
};

struct symtab {
    struct sym *syms;         /* function symbols sorted by addr, one per address */
    size_t nsyms;             /* entries in syms */
    struct sect *sects;       /* allocated sections in section-header order */
    size_t nsects;            /* entries in sects */
    gva_t code_lo;            /* lowest address of an executable section (0 with none) */
    gva_t code_hi;            /* end of the highest executable section (0 with none) */
    struct symtab_memo *memo; /* SYMTAB_MEMO remembered lookups, or NULL */
};

/* One remembered symtab_lookup: the symbol found for va (NULL: none). The table never
 * changes once loaded, so an answer stays true. */
struct symtab_memo {
    gva_t va;              /* the address asked for (0: empty) */
    const struct sym *hit; /* its symbol, or NULL */
};

/* Preference among aliases: global before weak before local, a sized symbol before an
 * unsized one, fewer leading underscores first (malloc rather than __libc_malloc). */
static int sym_rank(const GElf_Sym *sym, const char *name)
{
    int rank = 0;

    switch (GELF_ST_BIND(sym->st_info)) {
    case STB_GLOBAL:
        break;
    case STB_WEAK:
        rank += 1;
        break;
    default:
        rank += 2;
        break;
    }
    if (sym->st_size == 0)
        rank += 4;
    for (const char *c = name; *c == '_'; c++)
        rank += 8;
    return rank;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;

    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Whether a symbol names code: functions, ifunc resolvers, and untyped symbols in .text
 * that are sized or global (hand-written assembly often has no type; musl's _start has
 * neither type nor size). */
static bool sym_is_code(const GElf_Sym *sym, size_t text_ndx)
{
    int type = GELF_ST_TYPE(sym->st_info);

    if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
        return false;
    if (type == STT_FUNC || type == STT_GNU_IFUNC)
        return true;
    return type == STT_NOTYPE && (sym->st_size > 0 || GELF_ST_BIND(sym->st_info) == STB_GLOBAL) &&
           text_ndx != 0 && sym->st_shndx == text_ndx;
}

/* Appends the code symbols of one symbol-table section. Returns 0 or -ENOMEM. */
static int symtab_add_syms(struct symtab *s, Elf *e, Elf_Scn *scn, const GElf_Shdr *sh,
                           size_t text_ndx, gva_t bias)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    size_t count, cap = s->nsyms;

    if (data == NULL || sh->sh_entsize == 0)
        return 0;
    count = sh->sh_size / sh->sh_entsize;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        const char *name;
        struct sym *slot;

        if (gelf_getsym(data, (int)i, &sym) == NULL || !sym_is_code(&sym, text_ndx))
            continue;
        name = elf_strptr(e, sh->sh_link, sym.st_name);
        if (name == NULL || name[0] == '\0')
            continue;
        if (s->nsyms == cap) {
            cap = cap ? cap * 2 : 256;
            slot = realloc(s->syms, cap * sizeof(*s->syms));
            if (slot == NULL)
                return -ENOMEM;
            s->syms = slot;
        }
        slot = &s->syms[s->nsyms];
        slot->name = strdup(name);
        if (slot->name == NULL)
            return -ENOMEM;
        slot->addr = sym.st_value + bias;
        slot->size = sym.st_size;
        slot->rank = sym_rank(&sym, name);
        s->nsyms++;
    }
    return 0;
}

/* Records one allocated section. Returns 0 or -ENOMEM. */
static int symtab_add_sect(struct symtab *s, const GElf_Shdr *sh, const char *name, gva_t bias)
{
    struct sect *grown = realloc(s->sects, (s->nsects + 1) * sizeof(*s->sects));

    if (grown == NULL)
        return -ENOMEM;
    s->sects = grown;
    grown[s->nsects].name = strdup(name);
    if (grown[s->nsects].name == NULL)
        return -ENOMEM;
    grown[s->nsects].addr = sh->sh_addr + bias;
    grown[s->nsects].size = sh->sh_size;
    grown[s->nsects].exec = (sh->sh_flags & SHF_EXECINSTR) != 0;
    if (grown[s->nsects].exec && sh->sh_size > 0) {
        gva_t lo = grown[s->nsects].addr, hi = lo + sh->sh_size;
        if (s->code_hi == 0 || lo < s->code_lo)
            s->code_lo = lo;
        if (hi > s->code_hi)
            s->code_hi = hi;
    }
    s->nsects++;
    return 0;
}

/* Sorts the symbols and keeps the preferred one of each address. */
static void symtab_sort(struct symtab *s)
{
    size_t out = 0;

    if (s->nsyms == 0)
        return;
    qsort(s->syms, s->nsyms, sizeof(*s->syms), sym_cmp);
    for (size_t i = 0; i < s->nsyms; i++) {
        if (out > 0 && s->syms[out - 1].addr == s->syms[i].addr) {
            free(s->syms[i].name);
            continue;
        }
        s->syms[out++] = s->syms[i];
    }
    s->nsyms = out;
}

/* Reads sections and symbols of an open ELF. Returns 0, -ENOEXEC or -ENOMEM. */
static int symtab_read(struct symtab *s, Elf *e, gva_t bias)
{
    GElf_Ehdr eh;
    size_t shstrndx, text_ndx = 0;
    Elf_Scn *scn = NULL, *symscn = NULL, *dynscn = NULL;
    GElf_Shdr symsh, dynsh;
    int rc;

    if (elf_kind(e) != ELF_K_ELF || gelf_getehdr(e, &eh) == NULL ||
        gelf_getclass(e) != ELFCLASS64 || elf_getshdrstrndx(e, &shstrndx) != 0)
        return -ENOEXEC;
    /* An ET_EXEC is linked at fixed addresses: whatever its first mapping says, it is
     * never relocated. */
    if (eh.e_type == ET_EXEC)
        bias = 0;
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        GElf_Shdr sh;
        const char *name;

        if (gelf_getshdr(scn, &sh) == NULL)
            continue;
        name = elf_strptr(e, shstrndx, sh.sh_name);
        if (sh.sh_type == SHT_SYMTAB && symscn == NULL) {
            symscn = scn;
            symsh = sh;
        } else if (sh.sh_type == SHT_DYNSYM && dynscn == NULL) {
            dynscn = scn;
            dynsh = sh;
        }
        if (name == NULL || !(sh.sh_flags & SHF_ALLOC) || sh.sh_size == 0)
            continue;
        /* .tbss takes no address space: its addresses belong to the next section. */
        if ((sh.sh_flags & SHF_TLS) && sh.sh_type == SHT_NOBITS)
            continue;
        if (strcmp(name, ".text") == 0)
            text_ndx = elf_ndxscn(scn);
        rc = symtab_add_sect(s, &sh, name, bias);
        if (rc < 0)
            return rc;
    }
    if (symscn != NULL)
        rc = symtab_add_syms(s, e, symscn, &symsh, text_ndx, bias);
    else if (dynscn != NULL)
        rc = symtab_add_syms(s, e, dynscn, &dynsh, text_ndx, bias);
    else
        rc = 0;
    if (rc < 0)
        return rc;
    symtab_sort(s);
    return 0;
}

/* Reads the function symbols and allocated sections of the ELF at path, relocating every
 * address by load_bias (for an ET_EXEC the bias is always 0, so callers may pass the start
 * of the image's first mapping minus its file offset for any kind of program).
 * A readable ELF without symbols gives an empty table whose lookups return NULL.
 * Returns NULL when the file cannot be opened, is not a 64-bit ELF, or memory runs out. */
struct symtab *symtab_load(const char *path, gva_t load_bias)
{
    struct symtab *s;
    Elf *e;
    int fd, rc;

    if (path == NULL || elf_version(EV_CURRENT) == EV_NONE)
        return NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s != NULL)
        s->memo = calloc(SYMTAB_MEMO, sizeof(*s->memo)); /* NULL: lookups not remembered */
    e = elf_begin(fd, ELF_C_READ, NULL);
    if (s == NULL)
        rc = -ENOMEM;
    else if (e == NULL)
        rc = -ENOEXEC;
    else
        rc = symtab_read(s, e, load_bias);
    if (e != NULL)
        elf_end(e);
    close(fd);
    if (rc < 0) {
        symtab_free(s);
        return NULL;
    }
    return s;
}

/* Frees a table from symtab_load(); NULL is allowed. */
void symtab_free(struct symtab *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nsyms; i++)
        free(s->syms[i].name);
    for (size_t i = 0; i < s->nsects; i++)
        free(s->sects[i].name);
    free(s->syms);
    free(s->sects);
    free(s->memo);
    free(s);
}

/* The section containing va, or NULL. */
static const struct sect *symtab_find_sect(const struct symtab *s, gva_t va)
{
    for (size_t i = 0; i < s->nsects; i++) {
        if (va >= s->sects[i].addr && va - s->sects[i].addr < s->sects[i].size)
            return &s->sects[i];
    }
    return NULL;
}

static bool sym_covers(const struct sym *sym, gva_t va)
{
    return va >= sym->addr && va - sym->addr < sym->size;
}

/* The function symbol containing va, with va's offset into it in *offset: the symbol whose
 * size covers va, else the nearest preceding symbol when va lies in code at most 64 KiB
 * past its start. Returns NULL (and leaves *offset alone) when there is none or s is NULL.
 * The name lives as long as s. */
const char *symtab_lookup(const struct symtab *s, gva_t va, uint64_t *offset)
{
    size_t lo = 0, hi, i;
    const struct sym *hit = NULL;
    const struct sect *sect;

    if (s == NULL || s->nsyms == 0)
        return NULL;
    struct symtab_memo *m = s->memo ? &s->memo[(va ^ (va >> 12)) & (SYMTAB_MEMO - 1)] : NULL;
    if (m && va != 0 && m->va == va) {
        hit = m->hit;
        goto found;
    }
    hi = s->nsyms;
    while (lo < hi) { /* lo becomes the first symbol above va */
        size_t mid = lo + (hi - lo) / 2;

        if (s->syms[mid].addr <= va)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    i = lo - 1;
    for (size_t back = 0; back < SYMTAB_COVER_SCAN && back <= i; back++) {
        if (sym_covers(&s->syms[i - back], va)) {
            hit = &s->syms[i - back];
            break;
        }
    }
    if (hit == NULL) {
        sect = symtab_find_sect(s, va);
        if (sect != NULL && sect->exec && va - s->syms[i].addr < SYMTAB_NEAREST_MAX)
            hit = &s->syms[i];
    }
    if (m && va != 0) {
        m->va = va;
        m->hit = hit;
    }
found:
    if (hit == NULL)
        return NULL;
    if (offset != NULL)
        *offset = va - hit->addr;
    return hit->name;
}

/* The name of the allocated section containing va (".text", ".rodata", ...), or NULL
 * when none does or s is NULL. The name lives as long as s. */
const char *symtab_section(const struct symtab *s, gva_t va)
{
    const struct sect *sect;

    if (s == NULL)
        return NULL;
    sect = symtab_find_sect(s, va);
    return sect != NULL ? sect->name : NULL;
}

/* Finds the function symbol called name; *addr gets its relocated address. Among aliases
 * of one address only the preferred name is kept (malloc, not __libc_malloc).
 * Returns 0, or -ENOENT when there is none or s is NULL. */
int symtab_find(const struct symtab *s, const char *name, gva_t *addr)
{
    if (s == NULL)
        return -ENOENT;
    for (size_t i = 0; i < s->nsyms; i++) {
        if (strcmp(s->syms[i].name, name) == 0) {
            *addr = s->syms[i].addr;
            return 0;
        }
    }
    return -ENOENT;
}

/* Whether va lies in an executable section of the image (false when s is NULL). */
bool symtab_is_code(const struct symtab *s, gva_t va)
{
    if (s == NULL || va < s->code_lo || va >= s->code_hi)
        return false; /* most words a backtrace scans are no code address at all */
    const struct sect *sect = s != NULL ? symtab_find_sect(s, va) : NULL;
    return sect != NULL && sect->exec;
}

/* How many function symbols s holds (0 for a stripped program or a NULL s). */
size_t symtab_nsyms(const struct symtab *s)
{
    return s != NULL ? s->nsyms : 0;
}
