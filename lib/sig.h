/* sig.h: the run-wide stop flag, set by cmd/'s SIGINT/SIGTERM handler and
 * read by lib/ between requests and during waits. */
#ifndef CRM_SIG_H
#define CRM_SIG_H

#include <signal.h>

extern volatile sig_atomic_t sig_stop; /* 0, or the signal number that asked us to stop */

#endif
