#ifndef LICENSEMESH_CLINUX_SHIM_H
#define LICENSEMESH_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module leaves out: epoll, for the HTTP API's event loop.
#include <sys/epoll.h>
#endif
