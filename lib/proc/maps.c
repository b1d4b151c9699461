/* /proc/PID/maps and /proc/PID/smaps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc.h"
#include "common/grow.h"

static const struct {
	char name[3];
	unsigned int bit;
} vmflag_names[] = {
	{ "rd", LG_VM_RD }, { "wr", LG_VM_WR }, { "ex", LG_VM_EX },
	{ "sh", LG_VM_SH }, { "mw", LG_VM_MW }, { "mr", LG_VM_MR },
	{ "io", LG_VM_IO }, { "dd", LG_VM_DD }, { "ht", LG_VM_HT },
	{ "pf", LG_VM_PF }, { "dc", LG_VM_DC }, { "uw", LG_VM_UW },
	{ "um", LG_VM_UM }, { "sd", LG_VM_SD }, { "ss", LG_VM_SS },
	{ "ui", LG_VM_UI },
};

static unsigned int parse_vmflags(const char *p, const char *end)
{
	unsigned int bits = 0;
	size_t i;

	while (p + 2 <= end) {
		while (p < end && *p == ' ')
			p++;
		if (p + 2 > end)
			break;
		for (i = 0; i < sizeof(vmflag_names) / sizeof(vmflag_names[0]); i++)
			if (p[0] == vmflag_names[i].name[0] && p[1] == vmflag_names[i].name[1])
				bits |= vmflag_names[i].bit;
		while (p < end && *p != ' ')
			p++;
	}
	return bits;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse a hex number at *P; advance past it.  Returns the digit count. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0, d;

	while (*p < end && (d = hexval(**p)) >= 0) {
		v = v << 4 | (uint64_t)d;
		(*p)++;
		n++;
	}
	*out = v;
	return n;
}

/* The kernel writes a path through seq_file_path(..., "\n"): only a newline
 * is escaped, as \012. */
static char *unescape_name(const char *p, size_t len)
{
	char *s = malloc(len + 1), *o = s;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < len; i++) {
		if (len - i >= 4 && !memcmp(p + i, "\\012", 4)) {
			*o++ = '\n';
			i += 3;
		} else {
			*o++ = p[i];
		}
	}
	*o = '\0';
	return s;
}

/* "START-END PERMS OFFSET MAJ:MIN INODE   NAME" */
static int parse_header(const char *p, const char *end, struct lg_mapping *m)
{
	uint64_t v;
	const char *name;

	memset(m, 0, sizeof(*m));
	if (!parse_hex(&p, end, &m->start) || p >= end || *p++ != '-')
		return -EINVAL;
	if (!parse_hex(&p, end, &m->end) || p >= end || *p++ != ' ')
		return -EINVAL;
	if (end - p < 5 || p[4] != ' ')
		return -EINVAL;
	m->prot = (p[0] == 'r' ? LG_PROT_R : 0) | (p[1] == 'w' ? LG_PROT_W : 0) |
		  (p[2] == 'x' ? LG_PROT_X : 0);
	m->shared = p[3] == 's';
	p += 5;
	if (!parse_hex(&p, end, &m->offset) || p >= end || *p++ != ' ')
		return -EINVAL;
	if (!parse_hex(&p, end, &v) || p >= end || *p++ != ':')
		return -EINVAL;
	m->dev_major = (unsigned int)v;
	if (!parse_hex(&p, end, &v) || p >= end || *p++ != ' ')
		return -EINVAL;
	m->dev_minor = (unsigned int)v;
	m->inode = 0;
	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	while (p < end && *p >= '0' && *p <= '9')
		m->inode = m->inode * 10 + (uint64_t)(*p++ - '0');
	while (p < end && *p == ' ')
		p++;
	name = p;
	m->name = unescape_name(name, (size_t)(end - name));
	if (!m->name)
		return -ENOMEM;
	{
		size_t nl = strlen(m->name);
		static const char del[] = " (deleted)";
		m->deleted = nl > sizeof(del) - 1 &&
			     !strcmp(m->name + nl - (sizeof(del) - 1), del);
	}
	if (m->end < m->start)
		return -EINVAL;
	return 0;
}

/* smaps "Key:   123 kB" */
static int field_kb(const char *p, const char *end, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	uint64_t v = 0;

	if ((size_t)(end - p) <= kl || memcmp(p, key, kl) || p[kl] != ':')
		return 0;
	p += kl + 1;
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*out = v;
	return 1;
}

static int is_header(const char *p, const char *end)
{
	/* Header lines start with a hex address and '-'; smaps fields with a
	 * capitalised key.  Addresses are lower-case hex. */
	while (p < end && hexval(*p) >= 0 && !(*p >= 'A' && *p <= 'F'))
		p++;
	return p < end && *p == '-';
}

int lg_maps_parse(const char *text, struct lg_maps *out, struct lg_error *err)
{
	const char *p = text;
	struct lg_mapping *cur = NULL;
	size_t lineno = 0;
	int r = 0;

	out->v = NULL;
	out->n = out->cap = 0;
	while (*p) {
		const char *end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		lineno++;
		if (end == p) {
			/* empty line */
		} else if (is_header(p, end)) {
			if (LG_GROW(out->v, out->cap, out->n + 1, 64)) {
				r = lg_fail(err, ENOMEM, "parsing maps");
				goto out;
			}
			cur = &out->v[out->n];
			if ((r = parse_header(p, end, cur))) {
				free(cur->name);
				r = lg_failx(err, -r == ENOMEM ? ENOMEM : EINVAL,
					     "malformed maps line %zu", lineno);
				goto out;
			}
			out->n++;
		} else if (cur) {
			cur->has_smaps = true;
			if (!strncmp(p, "VmFlags:", 8))
				cur->vmflags = parse_vmflags(p + 8, end);
			else if (!field_kb(p, end, "Anonymous", &cur->anonymous_kb) &&
				 !field_kb(p, end, "Swap", &cur->swap_kb))
				field_kb(p, end, "Rss", &cur->rss_kb);
		} else {
			r = lg_failx(err, EINVAL, "malformed maps line %zu", lineno);
			goto out;
		}
		p = *end ? end + 1 : end;
	}
out:
	if (r)
		lg_maps_free(out);
	return r;
}

int lg_maps_read(pid_t pid, bool with_smaps, struct lg_maps *out, struct lg_error *err)
{
	char path[64];
	struct lg_buf b = { 0 };
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, with_smaps ? "smaps" : "maps");
	r = lg_read_file(path, &b);
	if (r) {
		r = lg_fail(err, -r, "cannot read %s", path);
		goto out;
	}
	r = lg_maps_parse(b.p ? (const char *)b.p : "", out, err);
	if (r)
		lg_error_prefix(err, "%s", path);
out:
	lg_buf_free(&b);
	return r;
}

void lg_maps_free(struct lg_maps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

bool lg_mapping_is_file(const struct lg_mapping *m)
{
	return m->inode != 0 || m->name[0] == '/';
}

bool lg_mapping_is_special(const struct lg_mapping *m)
{
	static const char *const special[] = {
		"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]",
	};
	size_t i;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcmp(m->name, special[i]))
			return true;
	return false;
}

bool lg_mapping_is_private_anon(const struct lg_mapping *m)
{
	return !m->shared && !lg_mapping_is_file(m) && !lg_mapping_is_special(m);
}
