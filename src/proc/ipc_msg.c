/* System V message queues: the queue of typed messages, whether one more fits (msg_qbytes)
 * and which message msgrcv takes (Linux's find_msg). Sleeping is the scheduler's
 * (WAIT_IPC); the syscalls are syscalls/sys_ipc.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/ipc.h"

/* A new empty queue. */
int ipc_msg_create(struct ipc_ns *ns, int32_t key, int mode, struct ipc_msq **out)
{
    struct ipc_msq *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->obj.kind = IPC_MSG;
    q->obj.key = key;
    q->obj.mode = (uint16_t)(mode & 0777);
    q->tail = &q->head;
    q->qbytes = MSG_MNB;
    int rc = ipc_insert(ns, &q->obj);
    if (rc < 0) {
        free(q);
        return rc;
    }
    *out = q;
    return 0;
}

/* Removes and frees q and its messages. */
void ipc_msg_destroy(struct ipc_ns *ns, struct ipc_msq *q)
{
    ipc_remove(ns, &q->obj);
    for (struct ipc_msg *m = q->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    free(q);
}

/* Linux's msg_fits_inqueue: the bytes and the count (one per byte of msg_qbytes). */
bool ipc_msg_fits(const struct ipc_msq *q, size_t len)
{
    return len + q->cbytes <= q->qbytes && 1 + q->qnum <= q->qbytes;
}

/* Queues a copy of text at q's end. */
int ipc_msg_put(struct ipc_msq *q, int64_t type, const void *text, size_t len)
{
    struct ipc_msg *m = malloc(sizeof(*m) + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->type = type;
    m->len = len;
    if (len)
        memcpy(m->text, text, len);
    *q->tail = m;
    q->tail = &m->next;
    q->cbytes += len;
    q->qnum++;
    q->obj.gen++;
    return 0;
}

/* Linux's find_msg (see the header). */
struct ipc_msg *ipc_msg_select(struct ipc_msq *q, int64_t msgtyp, bool except,
                               struct ipc_msg ***link)
{
    struct ipc_msg *best = NULL, **best_link = NULL;
    int64_t limit = msgtyp < 0 ? (msgtyp == INT64_MIN ? INT64_MAX : -msgtyp) : 0;
    for (struct ipc_msg **pp = &q->head; *pp; pp = &(*pp)->next) {
        struct ipc_msg *m = *pp;
        bool take;
        if (msgtyp == 0)
            take = true;
        else if (msgtyp > 0)
            take = except ? m->type != msgtyp : m->type == msgtyp;
        else
            take = m->type <= limit && (!best || m->type < best->type);
        if (!take)
            continue;
        best = m;
        best_link = pp;
        if (msgtyp >= 0 || m->type == 1)
            break; /* the first match; for msgtyp < 0 nothing is below type 1 */
    }
    if (best)
        *link = best_link;
    return best;
}

/* Unlinks m from q. */
void ipc_msg_unlink(struct ipc_msq *q, struct ipc_msg *m, struct ipc_msg **link)
{
    *link = m->next;
    if (q->tail == &m->next)
        q->tail = link;
    q->cbytes -= m->len;
    q->qnum--;
    q->obj.gen++;
}
