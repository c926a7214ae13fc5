#include "sig.h"

volatile sig_atomic_t sig_stop;
