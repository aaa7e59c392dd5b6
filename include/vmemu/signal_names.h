/* Names of Linux's signals by number (src/lib/signal_names.c). */
#ifndef VMEMU_SIGNAL_NAMES_H
#define VMEMU_SIGNAL_NAMES_H

/* "SIGSEGV" for 11; "real-time signal" for 32..64, "unknown signal" otherwise. */
const char *signal_name(int signo);

#endif
