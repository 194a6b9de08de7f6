#ifndef LICENSEMESH_CLINUX_SHIM_H
#define LICENSEMESH_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module leaves out: epoll for the HTTP API's event loop, and
// SO_PEERCRED (struct ucred needs _GNU_SOURCE, which the Glibc module is not built with).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>

/// The user ID of the process at the other end of a connected unix socket; 0 on success.
static inline int licmesh_peer_uid(int fd, unsigned int *uid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}
#endif
