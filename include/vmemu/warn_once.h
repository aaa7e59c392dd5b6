/* "Reported once" memory, the kernel's pr_warn_once with a key: every message vmemu gives
 * about something a guest asked for and did not get (an unimplemented syscall, ioctl or
 * operation) is printed the first time only (src/lib/warn_once.c). */
#ifndef VMEMU_WARN_ONCE_H
#define VMEMU_WARN_ONCE_H

#include "vmemu/types.h"

#define WARN_ONCE_KEYS 256 /* distinct keys one set remembers */

/* The keys a message was already given for. Zero-initialised is empty. */
struct warn_once {
    uint64_t keys[WARN_ONCE_KEYS]; /* keys reported so far, in order */
    size_t n;                      /* how many */
};

/* Whether key is seen for the first time (it is then remembered). False for a known key,
 * and for a new one once the set is full: the reports stop rather than grow. */
bool warn_once(struct warn_once *w, uint64_t key);
/* Forgets every key (tests that run several guests in one process). */
void warn_once_reset(struct warn_once *w);

#endif
