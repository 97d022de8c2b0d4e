/*
 * Proof that the sanitizer run can fail: scripts/sanitize.sh LOADs this module into one backend
 * of the sanitized server after the suites, and expects one UndefinedBehaviorSanitizer report
 * (a signed overflow) and one AddressSanitizer report (a heap overflow) in its log directory.
 * Built with the same flags as the library; never installed.
 */
#include "postgres.h"
#include "fmgr.h"

#include <limits.h>
#include <stdlib.h>

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void)
{
    volatile int big = INT_MAX;
    volatile int sum = big + 1; /* undefined: reported, then execution goes on */
    char *volatile buffer = malloc(8);
    volatile int index = 8 + (sum != 0);

    buffer[index] = 'x'; /* out of bounds: reported, and the backend aborts */
    free(buffer);
}
