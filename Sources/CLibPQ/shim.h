#ifndef COALITION_CLIBPQ_SHIM_H
#define COALITION_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
