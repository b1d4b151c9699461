/* One dumper per process.  Two dumps of one target at once hurt both:
 * the second gets EBUSY on every uffd-wp registration and copies
 * everything inside its final stop, two soft-dirty trackers clear each
 * other's bits and lose writes, and the first fails when it cannot attach
 * for its final stop.  So a dump first claims its target.
 *
 * The claim is a listening Unix socket in the abstract namespace, named
 * after the target's pid and start time: the kernel frees the name when
 * its holder dies, however it dies, so there is never a stale lock, and a
 * second dumper connects to it to learn who holds it (SO_PEERCRED).
 * Limits: abstract names are per network namespace, so dumpers in two
 * network namespaces do not see each other's claims. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proc/proc.h"

/* Field 22 of /proc/PID/stat, the start time in clock ticks after boot:
 * with the pid it names one process, whatever pid namespace we are in. */
static int start_time(pid_t pid, unsigned long long *t)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	for (i = 2; i < 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", t) != 1)
		return -EINVAL;
	return 0;
}

int lg_claim(pid_t pid, int *fdp, struct lg_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned long long t;
	socklen_t len;
	int fd, n, r;

	*fdp = -1;
	if ((r = start_time(pid, &t)))
		return r == -ENOENT ? lg_failx(err, ESRCH, "no such process")
				    : lg_fail(err, -r, "cannot read /proc/%d/stat", (int)pid);
	/* sun_path[0] = 0: the abstract namespace; the name is not NUL-terminated. */
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "lgcore-dump/%d/%llu", (int)pid, t);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lg_fail(err, errno, "cannot create a socket to claim process %d", (int)pid);
	if (bind(fd, (struct sockaddr *)&sa, len) == 0 && listen(fd, 4) == 0) {
		*fdp = fd;
		return 0;
	}
	r = errno;
	close(fd);
	if (r == EADDRINUSE) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (c >= 0 && connect(c, (struct sockaddr *)&sa, len) == 0 &&
		    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid > 0) {
			close(c);
			return lg_failx(err, EBUSY, "process %d is being dumped already (by process %d)",
					(int)pid, (int)cred.pid);
		}
		if (c >= 0)
			close(c);
		return lg_failx(err, EBUSY, "process %d is being dumped already", (int)pid);
	}
	return lg_fail(err, r, "cannot claim process %d for the dump", (int)pid);
}

void lg_claim_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
