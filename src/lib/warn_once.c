/* "Reported once" memory: a small set of keys per message kind, searched linearly (the
 * sets are consulted only on the unusual path that prints a message). */
#include "vmemu/warn_once.h"

#include <string.h>

/* See the header. */
bool warn_once(struct warn_once *w, uint64_t key)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->keys[i] == key)
            return false;
    if (w->n == WARN_ONCE_KEYS)
        return false;
    w->keys[w->n++] = key;
    return true;
}

/* See the header. */
void warn_once_reset(struct warn_once *w)
{
    memset(w, 0, sizeof(*w));
}
