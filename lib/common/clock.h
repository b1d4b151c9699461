/* Time for timings (--verbose, --stats, the pre-copy loop's predictions)
 * and for deadlines: CLOCK_MONOTONIC, which no clock change moves. */
#ifndef LG_COMMON_CLOCK_H
#define LG_COMMON_CLOCK_H

#include <stdint.h>

uint64_t lg_now_ns(void);

#endif
