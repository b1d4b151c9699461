/* SHA-256 (FIPS 180-4), for the JSON report's input digests. */
#ifndef LG_CHECK_SHA256_H
#define LG_CHECK_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct lg_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t nbuf;
};

void lg_sha256_init(struct lg_sha256 *s);
void lg_sha256_update(struct lg_sha256 *s, const void *data, size_t len);
void lg_sha256_final(struct lg_sha256 *s, uint8_t out[32]);
/* Hex digest of the file at PATH into HEX (65 bytes); 0 or -errno. */
int lg_sha256_file(const char *path, char hex[65]);

#endif
