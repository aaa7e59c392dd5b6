/* Symbols and sections of the program image (libelf), for reports. */
#ifndef VMEMU_SYMBOLS_H
#define VMEMU_SYMBOLS_H

#include "vmemu/types.h"

struct symtab;

/* Reads the symbols and section headers of the ELF at path, relocated by load_bias.
 * Returns NULL when the file cannot be read (reports then show bare addresses). */
struct symtab *symtab_load(const char *path, gva_t load_bias);
void symtab_free(struct symtab *s);
/* The function symbol containing va and va's offset into it, or NULL. */
const char *symtab_lookup(const struct symtab *s, gva_t va, uint64_t *offset);
/* The name of the allocated section containing va (".text", ".rodata", ...), or NULL. */
const char *symtab_section(const struct symtab *s, gva_t va);

/* The relocated address of the function symbol called name: 0, or -ENOENT. */
int symtab_find(const struct symtab *s, const char *name, gva_t *addr);
/* Whether va lies in an executable section of the image. */
bool symtab_is_code(const struct symtab *s, gva_t va);
/* How many function symbols s holds (0: stripped). */
size_t symtab_nsyms(const struct symtab *s);

#endif
