/* What the fault matrix's victim shares with its driver (a file both map). */
#ifndef LG_VICTIM_H
#define LG_VICTIM_H

#include <stdint.h>

#define LG_VICTIM_MAGIC 0x6c67766963746d31ull
#define LG_ARRAY(a) (unsigned short)(sizeof(a) / sizeof((a)[0]))

struct lg_victim_status {
	uint64_t magic;
	uint64_t beats;		/* heartbeat count: it runs */
	uint64_t maxgap_ns;	/* largest gap between two beats; the driver clears it */
	uint32_t bad;		/* the victim saw harm: badmsg says which */
	char badmsg[236];
	uint64_t progress[16];	/* per-thread counters */
	uint64_t canary_addr;	/* pages the victim never writes again: every */
	uint64_t canary_len;	/* core of it must hold lg_victim_canary() there */
};

/* Byte I of the canary: not a repeating pattern, so that a core holding
 * the wrong page (or a byte flipped) cannot match. */
static inline uint8_t lg_victim_canary(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;
	return (uint8_t)((x ^ (x >> 29)) >> 32);
}

#endif
