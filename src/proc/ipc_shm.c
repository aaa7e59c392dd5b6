/* System V shared memory segments: each holds a reference to a shmem object of vmemu's VM
 * (the object shared anonymous mappings use), so its pages are vmemu frames, shared by
 * every attachment and across fork. An attachment is an area mapping that object; the
 * areas' references count them (shm_nattch). A segment marked for deletion is freed when
 * nothing maps it any more (at its IPC_RMID, at shmdt, at the end of a process, at the
 * next IPC call after a munmap or exec). Attaching is syscalls/sys_shm.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmemu/hugetlb.h"
#include "vmemu/ipc.h"
#include "vmemu/pagecache.h"
#include "vmemu/proc.h"
#include "vmemu/mm_types.h"

/* A new segment backed by a new shmem object named as Linux names it in maps. */
int ipc_shm_create(struct proc *p, struct ipc_ns *ns, int32_t key, int mode, uint64_t size,
                   bool hugetlb, struct ipc_shm **out)
{
    struct ipc_shm *shm = calloc(1, sizeof(*shm));
    char name[48];
    if (!shm)
        return -ENOMEM;
    uint64_t bytes = (size + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
    /* SHM_HUGETLB: 2 MiB pool pages, all promised now (ENOMEM when the pool cannot). */
    int rc = hugetlb ? hugetlb_file_create(p->sys, size, true, "SYSV", &shm->file)
                     : vfile_shmem_create(&p->sys->pc, bytes, &shm->file);
    if (rc < 0) {
        free(shm);
        return rc;
    }
    snprintf(name, sizeof(name), "/SYSV%08x (deleted)", (unsigned)key);
    char *path = strdup(name);
    if (path) {
        free(shm->file->path);
        shm->file->path = path;
    }
    shm->obj.kind = IPC_SHM;
    shm->obj.key = key;
    shm->obj.mode = (uint16_t)(mode & 0777);
    shm->size = size;
    shm->cpid = p->leader ? p->leader->pid : p->pid;
    if ((rc = ipc_insert(ns, &shm->obj)) < 0) {
        vfile_put(shm->file);
        free(shm);
        return rc;
    }
    shm->file->ino = (uint64_t)shm->obj.id; /* Linux's maps shows the shmid as the inode */
    *out = shm;
    return 0;
}

/* Every area mapping the object holds one reference; the segment holds the other. */
uint64_t ipc_shm_nattch(const struct ipc_shm *shm)
{
    return shm->file->refs - 1;
}

/* The segment of a shmem object. */
struct ipc_shm *ipc_shm_by_file(struct ipc_ns *ns, const struct vfile *file)
{
    for (int i = 0; ns && file && i < IPC_MAX_OBJS; i++) {
        struct ipc_shm *shm = (struct ipc_shm *)ns->t[IPC_SHM].slot[i];
        if (shm && shm->file == file)
            return shm;
    }
    return NULL;
}

/* Frees shm: its object goes with the last area that maps it. */
static void shm_free(struct ipc_ns *ns, struct ipc_shm *shm)
{
    ipc_remove(ns, &shm->obj);
    vfile_put(shm->file);
    free(shm);
}

/* IPC_RMID. */
void ipc_shm_mark_destroy(struct ipc_ns *ns, struct ipc_shm *shm)
{
    shm->obj.mode |= SHM_DEST_F;
    shm->obj.key = IPC_PRIVATE_KEY;
    if (ipc_shm_nattch(shm) == 0)
        shm_free(ns, shm);
}

/* Frees removed segments nothing maps. */
void ipc_shm_gc(struct ipc_ns *ns)
{
    for (int i = 0; ns && i < IPC_MAX_OBJS; i++) {
        struct ipc_shm *shm = (struct ipc_shm *)ns->t[IPC_SHM].slot[i];
        if (shm && (shm->obj.mode & SHM_DEST_F) && ipc_shm_nattch(shm) == 0)
            shm_free(ns, shm);
    }
}
