#ifndef LICENSEMESH_CLINUX_SHIM_H
#define LICENSEMESH_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module leaves out: epoll, for the HTTP API's event loop, and
// prctl, to name the agent's threads (pthread_setname_np needs _GNU_SOURCE, which Glibc lacks).
#include <sys/epoll.h>
#include <sys/prctl.h>

/// Names the calling thread (Linux keeps 15 bytes and the terminating zero); 0 or -1 with errno.
static inline int clinux_set_thread_name(const char *name) {
    return prctl(PR_SET_NAME, name, 0, 0, 0);
}
#endif
