#ifndef COALITION_CLIBPQ_SHIM_H
#define COALITION_CLIBPQ_SHIM_H
#include <libpq-fe.h>
/* PQ's Reactor waits for libpq's sockets with epoll (Glibc's Swift module leaves it out). */
#include <sys/epoll.h>
#endif
