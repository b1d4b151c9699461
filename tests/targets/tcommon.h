/* Shared helpers for the programs that the integration tests dump.
 *
 * Every target follows one protocol (see tests/integration/lib.sh):
 *   - it prints the facts the core must show as key=value lines on stdout,
 *     among them the memory regions it declares with tc_declare(), then
 *     a line "ready=1" once every thread sits in its blocking call;
 *   - it prints "skip=<reason>" and exits 77 if the machine can't host it;
 *   - on SIGUSR1 it checks itself (patterns intact, threads alive, no stray
 *     signal) and exits 0, or prints "check-failed: ..." on stderr and
 *     exits 1.
 * SIGUSR1 is blocked in every thread and taken with sigwaitinfo() by the
 * main thread, so no handler ever interrupts the blocking calls under test. */
#ifndef LG_TCOMMON_H
#define LG_TCOMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Block SIGUSR1, count stray signals; call first in main(). */
void tc_init(void);

/* Print "key=value" and flush. */
void tc_kv(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record a self-check failure (printed on stderr). */
void tc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tc_failures(void);

/* Deterministic, never-zero-word pattern derived from seed; fill and verify. */
void tc_fill(void *p, size_t len, uint64_t seed);
int tc_verify(const void *p, size_t len, uint64_t seed);
uint64_t tc_word(uint64_t seed, size_t index);

/* POSIX cksum (CRC-32/CKSUM, length appended) of LEN bytes at P, the
 * number `cksum` prints first: the tests compare it with the bytes a core
 * holds at that address. */
unsigned long tc_cksum(const void *p, size_t len);

/* Declare LEN bytes at P as memory the core must hold as they are now:
 * prints NAME.addr, NAME.len and NAME.crc ("CRC LEN", as `cksum` prints
 * it).  The tests check every declared region in every core written of
 * this process (lg_check_core in tests/integration/lib.sh). */
void tc_declare(const char *name, const void *p, size_t len);

/* tc_declare() a region filled by tc_fill(), and print NAME.seed,
 * NAME.first and NAME.last (its first and last words). */
void tc_region(const char *name, const void *p, size_t len, uint64_t seed);

/* Thread id of the caller. */
pid_t tc_gettid(void);

/* Wait (up to ~10 s) until thread tid of this process is in state S
 * (sleeping in its blocking call); returns 0 or -1. */
int tc_wait_sleeping(pid_t tid);

/* Block until SIGUSR1 arrives; EINTR from a debugger's attach is retried. */
void tc_wait_usr1(void);

/* Check no stray signal arrived or is pending; records failures. */
void tc_check_signals(void);

/* Finish: print "check=ok" or "check=failed", return the exit status. */
int tc_finish(void);

#endif
