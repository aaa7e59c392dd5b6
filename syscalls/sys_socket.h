/* What the two socket files share (syscalls/sys_socket.c: creation, addresses, options,
 * peer credentials; syscalls/sys_sockmsg.c: sending and receiving). A guest socket is a
 * host socket in the guest's descriptor table; these helpers are internal to the two. */
#ifndef VMEMU_SYS_SOCKET_H
#define VMEMU_SYS_SOCKET_H

#include <sys/socket.h>

#include "sysdefs.h"

/* Reads the guest's socket address uaddr of len bytes into *ss (Linux's
 * move_addr_to_kernel). An AF_UNIX path under /proc is refused: the host's /proc is
 * vmemu's, not the guest's. Returns 0, -EINVAL (len), -EFAULT or -EACCES. */
int sock_addr_get(struct proc *p, gva_t uaddr, int len, struct sockaddr_storage *ss);
/* Gives the guest the address addr of len bytes (Linux's move_addr_to_user): at most
 * *ulen bytes are written at uaddr and *ulen becomes len. ulen == 0 writes nothing.
 * Returns 0, -EINVAL (a negative *ulen) or -EFAULT. */
long sock_addr_put(struct proc *p, const void *addr, socklen_t len, gva_t uaddr, gva_t ulen);
/* The guest pid to report for the host pid hpid that the host gave as the peer's or a
 * sender's credentials on host socket host: hpid itself when it is not vmemu's (a process
 * outside vmemu); else the guest pid vmemu recorded for the peer (see sys_socket.c), or
 * the caller's pid when it has none. */
int sock_cred_pid(struct proc *p, int host, int hpid);
/* A send or receive on host (a guest socket) would block: -EAGAIN when the guest's file is
 * O_NONBLOCK (or nonblock says the call is), or when the socket's timeout (SO_RCVTIMEO
 * for POLLIN, SO_SNDTIMEO for POLLOUT) passed since the call first slept; else the task
 * sleeps until host has events and -SCHED_EBLOCK is returned (the call is then executed
 * again). deadline (sched_now ns, 0: none) also ends the sleep (the caller decides what
 * then). A sleep with the socket's timeout is ended by a signal with -EINTR, an untimed
 * one restarts under SA_RESTART, as Linux's sock_intr_errno. */
long sock_block(struct proc *p, int host, short events, bool nonblock, uint64_t deadline);
/* Linux's send_sig(SIGPIPE, current, 0) for a send on a stream socket shut for writing. */
void sock_sigpipe(struct proc *p);

#endif
