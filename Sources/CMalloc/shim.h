#ifndef COALITION_CMALLOC_SHIM_H
#define COALITION_CMALLOC_SHIM_H
/* glibc's mallopt, for the CLI's streaming upload (Glibc's Swift module leaves malloc.h out). */
#include <malloc.h>
#endif
