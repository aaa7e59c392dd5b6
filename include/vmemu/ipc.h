/* System V IPC: the run's semaphore sets, message queues and shared-memory segments
 * (src/proc/ipc.c: ids, keys, permissions, sleeping and the end of a process;
 * src/proc/ipc_sem.c, ipc_msg.c, ipc_shm.c: each kind). The namespace belongs to the
 * vmemu run (struct sched's ipc): keys never meet the host's objects. The syscalls only
 * copy arguments and results (syscalls/sys_ipc.c, syscalls/sys_shm.c). */
#ifndef VMEMU_IPC_H
#define VMEMU_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc;
struct vfile;
struct proc_ipc_wait;

/* Linux's flags and commands (include/uapi/linux/ipc.h, sem.h, msg.h, shm.h). */
#define IPC_PRIVATE_KEY 0
#define IPC_CREAT_F     01000
#define IPC_EXCL_F      02000
#define IPC_NOWAIT_F    04000
#define IPC_RMID_C      0
#define IPC_SET_C       1
#define IPC_STAT_C      2
#define IPC_INFO_C      3
#define IPC_64_F        0x100
#define SEM_UNDO_F      0x1000
#define MSG_NOERROR_F   010000
#define MSG_EXCEPT_F    020000
#define MSG_COPY_F      040000
#define SHM_DEST_F      01000 /* mode bit: marked for deletion */
#define SHM_LOCKED_F    02000 /* mode bit: SHM_LOCK */

/* Linux's limits, and vmemu's bounds on what a guest may create. */
#define IPC_MAX_OBJS 1024         /* objects of each kind (semmni, msgmni, shmmni) */
#define IPC_SEQ_MULT 32768        /* id = seq * IPC_SEQ_MULT + index, as Linux */
#define SEM_MSL      32000        /* semaphores per set */
#define SEM_OPM      500          /* operations per semop */
#define SEM_VMX      32767        /* largest semaphore value */
#define SEM_AEM      32767        /* largest undo adjustment */
#define SEM_MAX_UNDO 65536        /* undo entries in the run */
#define MSG_MAX      8192         /* largest message */
#define MSG_MNB      16384        /* default (and unprivileged largest) msg_qbytes */
#define SHM_MIN      1            /* smallest segment */
#define SHM_MAX      (1ULL << 46) /* largest segment (vmemu: the user address space) */

enum ipc_kind { IPC_SEM = 0, IPC_MSG, IPC_SHM, IPC_NKINDS };

/* What every object has: Linux's kern_ipc_perm. */
struct ipc_obj {
    enum ipc_kind kind;  /* which table it is in */
    int id;              /* its id (seq * IPC_SEQ_MULT + index) */
    int32_t key;         /* its key (IPC_PRIVATE_KEY: none) */
    uint32_t uid, gid;   /* owner */
    uint32_t cuid, cgid; /* creator */
    uint16_t mode;       /* permission bits (and SHM_DEST_F/SHM_LOCKED_F) */
    uint16_t seq;        /* the slot's sequence number */
    uint64_t gen;        /* bumped at every change a sleeper may wait for */
    int64_t ctime;       /* last change (seconds, guest CLOCK_REALTIME) */
};

/* One table: the objects of one kind, by index. */
struct ipc_table {
    struct ipc_obj *slot[IPC_MAX_OBJS]; /* objects, NULL: free */
    uint16_t seq[IPC_MAX_OBJS];         /* next sequence number of each slot */
    int used;                           /* objects in the table */
};

/* One semaphore. */
struct ipc_sem {
    uint16_t val; /* semval */
    int pid;      /* sempid: the last process that changed it */
};

struct ipc_sem_set {
    struct ipc_obj obj;    /* the common part (first) */
    int64_t otime;         /* last semop (seconds) */
    int nsems;             /* semaphores in sems */
    struct ipc_sem sems[]; /* the semaphores */
};

/* Linux's struct sembuf. */
struct ipc_sembuf {
    uint16_t num; /* sem_num */
    int16_t op;   /* sem_op */
    int16_t flg;  /* sem_flg: IPC_NOWAIT_F, SEM_UNDO_F */
};

/* One SEM_UNDO adjustment: what is added to semaphore (semid, num) when process pid
 * ends. */
struct ipc_undo {
    int pid;     /* the process (thread-group leader's pid) */
    int semid;   /* the set */
    int num;     /* the semaphore */
    int32_t adj; /* semadj */
};

/* One queued message. */
struct ipc_msg {
    struct ipc_msg *next; /* the next one in the queue */
    int64_t type;         /* mtype (> 0) */
    size_t len;           /* bytes of text */
    unsigned char text[]; /* the text */
};

struct ipc_msq {
    struct ipc_obj obj;    /* the common part (first) */
    struct ipc_msg *head;  /* the oldest message, or NULL */
    struct ipc_msg **tail; /* where the next message is linked */
    uint64_t cbytes;       /* bytes of text queued */
    uint64_t qnum;         /* messages queued */
    uint64_t qbytes;       /* most bytes the queue holds (msg_qbytes) */
    int lspid, lrpid;      /* last sender, last receiver */
    int64_t stime, rtime;  /* last msgsnd, msgrcv (seconds) */
};

struct ipc_shm {
    struct ipc_obj obj;   /* the common part (first) */
    uint64_t size;        /* shm_segsz as asked */
    struct vfile *file;   /* the shmem object holding the pages (one reference) */
    int cpid, lpid;       /* creator, last shmat/shmdt */
    int64_t atime, dtime; /* last shmat, shmdt (seconds) */
};

/* The run's objects and undo entries. */
struct ipc_ns {
    struct ipc_table t[IPC_NKINDS]; /* the objects of each kind */
    struct ipc_undo *undo;          /* SEM_UNDO entries (unordered) */
    size_t nundo, capundo;          /* entries used and allocated */
};

/* A new empty namespace, or NULL. */
struct ipc_ns *ipc_ns_new(void);
/* Frees every object of ns (NULL: nothing); segments drop their shmem objects. */
void ipc_destroy(struct ipc_ns *ns);
/* The object of kind with this id, or NULL. */
struct ipc_obj *ipc_lookup(struct ipc_ns *ns, enum ipc_kind kind, int id);
/* The object of kind with key (not IPC_PRIVATE_KEY), or NULL. */
struct ipc_obj *ipc_find_key(struct ipc_ns *ns, enum ipc_kind kind, int32_t key);
/* Puts obj (kind, key, mode set by the caller) into its table with a new id, owner and
 * creator the caller's (the host user: vmemu's guest runs as it). Returns 0 or -ENOSPC. */
int ipc_insert(struct ipc_ns *ns, struct ipc_obj *obj);
/* Takes obj out of its table (the caller frees it); its sleepers wake and see it gone. */
void ipc_remove(struct ipc_ns *ns, struct ipc_obj *obj);
/* Linux's ipcperms: whether the caller may do what the mode bits of flag ask (0444 read,
 * 0222 write, or a get's flags). Returns 0 or -EACCES. */
int ipc_perms(const struct ipc_obj *obj, int flag);
/* Whether the caller owns or created obj (IPC_SET, IPC_RMID). Returns 0 or -EPERM. */
int ipc_owner(const struct ipc_obj *obj);
/* The largest index in use of kind (IPC_INFO's result), 0 when none. */
int ipc_max_index(const struct ipc_ns *ns, enum ipc_kind kind);
/* Whether the sleep w describes is over: its object changed or is gone. */
bool ipc_wait_done(struct ipc_ns *ns, const struct proc_ipc_wait *w);
/* The end of process pid (from the scheduler's process_exit, after its address space
 * went): applies its SEM_UNDO adjustments, and frees removed segments no mapping holds
 * any more. ns may be NULL (no IPC object was ever made). */
void ipc_exit(struct ipc_ns *ns, int pid);

/* Semaphores (src/proc/ipc_sem.c). */
/* A new set of nsems (1..SEM_MSL) zeroed semaphores with key and mode, in ns. Returns 0
 * and sets *out, -ENOSPC or -ENOMEM. */
int ipc_sem_create(struct ipc_ns *ns, int32_t key, int mode, int nsems, struct ipc_sem_set **out);
/* Removes and frees set, with every undo entry on it. */
void ipc_sem_destroy(struct ipc_ns *ns, struct ipc_sem_set *set);
/* Linux's perform_atomic_semop for process pid: applies all n (<= SEM_OPM) ops (each num
 * < nsems) or none, each op seeing the values the ones before it left. Returns 0 (applied;
 * SEM_UNDO adjustments recorded; the set's generation moves), 1 when op *blocked must
 * wait (nothing changed), -ERANGE (a value or adjustment out of range), -E2BIG, -ENOSPC
 * (the undo table is full) or -ENOMEM. */
int ipc_sem_apply(struct ipc_ns *ns, struct ipc_sem_set *set, const struct ipc_sembuf *ops,
                  size_t n, int pid, size_t *blocked);
/* Sets semaphore num of set to val (SETVAL/SETALL): clears its undo adjustments. */
void ipc_sem_setval(struct ipc_ns *ns, struct ipc_sem_set *set, int num, uint16_t val, int pid);
/* Applies and drops process pid's undo entries. */
void ipc_sem_exit(struct ipc_ns *ns, int pid);

/* Message queues (src/proc/ipc_msg.c). */
/* A new empty queue with key and mode. Returns 0 and sets *out, -ENOSPC or -ENOMEM. */
int ipc_msg_create(struct ipc_ns *ns, int32_t key, int mode, struct ipc_msq **out);
/* Removes and frees q and its messages. */
void ipc_msg_destroy(struct ipc_ns *ns, struct ipc_msq *q);
/* Whether a message of len bytes fits in q now (Linux's msg_fits_inqueue). */
bool ipc_msg_fits(const struct ipc_msq *q, size_t len);
/* Queues a copy of text (len bytes, type > 0) at q's end. Returns 0 or -ENOMEM. */
int ipc_msg_put(struct ipc_msq *q, int64_t type, const void *text, size_t len);
/* The message msgrcv takes (Linux's find_msg): the first one for msgtyp 0, the first of
 * type msgtyp (with except: of another type) for msgtyp > 0, the first of the lowest
 * type at most -msgtyp for msgtyp < 0. Returns it, or NULL; *link is where it is linked. */
struct ipc_msg *ipc_msg_select(struct ipc_msq *q, int64_t msgtyp, bool except,
                               struct ipc_msg ***link);
/* Unlinks m (at *link, from ipc_msg_select) from q; the caller frees it. */
void ipc_msg_unlink(struct ipc_msq *q, struct ipc_msg *m, struct ipc_msg **link);

/* Shared memory (src/proc/ipc_shm.c). */
/* A new segment of size bytes with key and mode, its pages in a new shmem object of
 * p's machine named "/SYSV%08x (deleted)" in maps; with hugetlb (SHM_HUGETLB) an object
 * of 2 MiB pages of the --hugetlb pool, size rounded up to 2 MiB, every page promised now.
 * Returns 0 and sets *out, -ENOSPC or -ENOMEM (also: the pool cannot keep the promise). */
int ipc_shm_create(struct proc *p, struct ipc_ns *ns, int32_t key, int mode, uint64_t size,
                   bool hugetlb, struct ipc_shm **out);
/* shm_nattch: the areas of every address space that map the segment. */
uint64_t ipc_shm_nattch(const struct ipc_shm *shm);
/* The segment whose shmem object is file, or NULL. */
struct ipc_shm *ipc_shm_by_file(struct ipc_ns *ns, const struct vfile *file);
/* IPC_RMID: marks shm for deletion (its key becomes private) and frees it at once when
 * nothing maps it. */
void ipc_shm_mark_destroy(struct ipc_ns *ns, struct ipc_shm *shm);
/* Frees the segments marked for deletion that nothing maps any more. */
void ipc_shm_gc(struct ipc_ns *ns);

#endif
