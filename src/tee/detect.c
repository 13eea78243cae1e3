/*
 * detect.c -- TEE detection from reliable signals only (spec
 * tee-evidence.md section 1): configfs-tsm provider, then guest devices,
 * then CPUID leaf 0x21 / SEV_STATUS, then the `tdx_guest` cpuinfo token.
 * Host capability flags are recorded as hints and never decide anything.
 */
#include "tee/tee.h"
#include "tee/tee_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define DETECT_CPUINFO_MAX (4 * 1024 * 1024)
#define MSR_SEV_STATUS 0xC0010131

static void
sig_add(struct tee_detection *d, const char *fmt, ...)
    CORE_PRINTF(2, 3);

static void
sig_add(struct tee_detection *d, const char *fmt, ...)
{
	va_list ap;

	if (d->nsignals >= TEE_MAX_SIGNALS)
		return;
	va_start(ap, fmt);
	vsnprintf(d->signals[d->nsignals], TEE_SIGNAL_LEN, fmt, ap);
	va_end(ap);
	d->nsignals++;
}

/* Records kind when no higher-priority signal has decided yet. */
static void
decide(struct tee_detection *d, enum tee_kind k)
{
	if (d->kind == TEE_NONE)
		d->kind = k;
}

static bool
path_exists(const char *root, const char *path)
{
	char *p = tee_root_path(root, path);
	struct stat st;
	bool ok;

	if (p == NULL)
		return false;
	ok = lstat(p, &st) == 0;
	free(p);
	return ok;
}

static bool
real_cpuid(uint32_t leaf, uint32_t sub, uint32_t regs[4], void *arg)
{
	(void)arg;
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	__cpuid_count(leaf, sub, a, b, c, d);
	regs[0] = a;
	regs[1] = b;
	regs[2] = c;
	regs[3] = d;
	return true;
#else
	(void)leaf;
	(void)sub;
	(void)regs;
	return false;
#endif
}

static void
detect_configfs(const struct tee_probe *pr, struct tee_detection *d)
{
	char provider[32];
	struct core_errbuf eb = { { 0 } };

	if (!path_exists(pr->root, "/sys/kernel/config/tsm/report"))
		return;
	if (!pr->try_configfs) {
		sig_add(d, "hint: configfs-tsm report directory present "
		    "(not probed)");
		return;
	}
	if (tee_tsm_probe_provider(pr->root, provider, sizeof(provider),
	    &eb) != CORE_OK) {
		sig_add(d, "hint: configfs-tsm present without a usable "
		    "provider (%.80s)", core_errbuf_msg(&eb));
		return;
	}
	d->configfs_tsm = true;
	sig_add(d, "configfs-tsm provider %s", provider);
	if (strcmp(provider, "tdx_guest") == 0)
		decide(d, TEE_TDX);
	else if (strcmp(provider, "sev_guest") == 0)
		decide(d, TEE_SNP);
}

static void
detect_devices(const struct tee_probe *pr, struct tee_detection *d)
{
	if (path_exists(pr->root, "/dev/tdx_guest")) {
		sig_add(d, "device /dev/tdx_guest");
		decide(d, TEE_TDX);
	}
	if (path_exists(pr->root, "/dev/sev-guest")) {
		sig_add(d, "device /dev/sev-guest");
		decide(d, TEE_SNP);
	}
	if (path_exists(pr->root, "/sys/devices/platform/sev-guest")) {
		sig_add(d, "platform device sev-guest");
		decide(d, TEE_SNP);
	}
	if (path_exists(pr->root, "/dev/sev"))
		sig_add(d, "hint: /dev/sev is the host PSP device (ignored)");
	if (path_exists(pr->root, "/sys/firmware/tdx_guest"))
		sig_add(d, "hint: /sys/firmware/tdx_guest is no kernel "
		    "interface (ignored)");
	if (path_exists(pr->root,
	    "/sys/devices/virtual/misc/tdx_guest/measurements"))
		sig_add(d, "tdx measurements in sysfs");
	if ((path_exists(pr->root, "/dev/sgx_enclave") ||
	    path_exists(pr->root, "/dev/sgx/enclave")) &&
	    path_exists(pr->root, "/dev/sgx_provision")) {
		d->sgx_enclave = true;
		sig_add(d, "sgx enclave devices (sgx_enclave, sgx_provision)");
	} else if (path_exists(pr->root, "/dev/isgx")) {
		d->sgx_enclave = true;
		sig_add(d, "sgx legacy driver /dev/isgx");
	}
	if (path_exists(pr->root, "/dev/attestation/quote") &&
	    path_exists(pr->root, "/dev/attestation/user_report_data")) {
		d->sgx_quoting = true;
		sig_add(d, "gramine /dev/attestation quote interface");
	}
}

static bool
cpuid(const struct tee_probe *pr, tee_cpuid_fn fn, uint32_t leaf,
    uint32_t sub, uint32_t r[4])
{
	memset(r, 0, 4 * sizeof(r[0]));
	return fn != NULL && fn(leaf, sub, r, pr->cpuid_arg);
}

/* Reads SEV_STATUS from <root>/dev/cpu/0/msr; false when unreadable. */
static bool
read_sev_status(const char *root, uint64_t *out)
{
	char *p = tee_root_path(root, "/dev/cpu/0/msr");
	uint8_t b[8];
	ssize_t r;
	int fd;

	if (p == NULL)
		return false;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return false;
	r = pread(fd, b, sizeof(b), MSR_SEV_STATUS);
	close(fd);
	if (r != (ssize_t)sizeof(b))
		return false;
	*out = 0;
	for (int i = 7; i >= 0; i--)
		*out = (*out << 8) | b[i];
	return true;
}

static void
detect_cpu(const struct tee_probe *pr, struct tee_detection *d)
{
	tee_cpuid_fn fn = pr->cpuid;
	uint32_t r[4];
	bool hv;

	if (fn == NULL && tee_is_real_root(pr->root))
		fn = real_cpuid;
	if (fn == NULL || !cpuid(pr, fn, 0, 0, r))
		return;
	{
		uint32_t max = r[0], one[4];

		hv = cpuid(pr, fn, 1, 0, one) && (one[2] >> 31) & 1;
		if (hv && max >= 0x21 && cpuid(pr, fn, 0x21, 0, r) &&
		    memcmp(&r[1], "Inte", 4) == 0 &&
		    memcmp(&r[3], "lTDX", 4) == 0 &&
		    memcmp(&r[2], "    ", 4) == 0) {
			sig_add(d, "cpuid 0x21 IntelTDX");
			decide(d, TEE_TDX);
		}
	}
	if (cpuid(pr, fn, 0x80000000, 0, r) && r[0] >= 0x8000001F &&
	    cpuid(pr, fn, 0x8000001F, 0, r) && (r[0] >> 1) & 1) {
		uint64_t st;

		if (!hv) {
			sig_add(d, "hint: cpuid 0x8000001F reports SEV on a "
			    "host (capability, ignored)");
		} else if (read_sev_status(pr->root, &st)) {
			if (st & 4) {
				sig_add(d, "msr SEV_STATUS=0x%llx (snp)",
				    (unsigned long long)st);
				decide(d, TEE_SNP);
			} else if (st & 1) {
				sig_add(d, "hint: msr SEV_STATUS=0x%llx: SEV%s "
				    "without SNP (no attestation)",
				    (unsigned long long)st,
				    st & 2 ? "-ES" : "");
			}
		} else {
			sig_add(d, "hint: cpuid reports SEV; SEV_STATUS MSR "
			    "not readable");
		}
	}
	/* Hyper-V paravisor CVMs (Azure): evidence comes from a vTPM. */
	if (hv && cpuid(pr, fn, 0x40000000, 0, r) && r[0] >= 0x4000000C &&
	    memcmp(&r[1], "Micr", 4) == 0 && memcmp(&r[2], "osof", 4) == 0 &&
	    memcmp(&r[3], "t Hv", 4) == 0 &&
	    cpuid(pr, fn, 0x40000003, 0, r) && (r[1] >> 22) & 1 &&
	    !((r[1] >> 12) & 1) && cpuid(pr, fn, 0x4000000C, 0, r)) {
		uint32_t iso = r[1] & 0xF;

		if (iso == 2 || iso == 3) {
			d->paravisor = true;
			sig_add(d, "hyper-v paravisor CVM (%s, vTPM evidence)",
			    iso == 2 ? "snp" : "tdx");
			decide(d, iso == 2 ? TEE_AZ_SNP_VTPM : TEE_AZ_TDX_VTPM);
		}
	}
}

/* True if the flags line holds `tok` as a whole token. */
static bool
has_token(const char *line, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++) {
		if (memcmp(line + i, tok, tl) != 0)
			continue;
		if ((i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t' ||
		    line[i - 1] == ':') &&
		    (i + tl == len || line[i + tl] == ' ' ||
		    line[i + tl] == '\n' || line[i + tl] == '\t'))
			return true;
	}
	return false;
}

static void
detect_cpuinfo(const struct tee_probe *pr, struct tee_detection *d)
{
	static const char *const host_flags[] = { "sev", "sev_es", "sev_snp",
		"sgx", "sgx_lc", "tdx_host_platform" };
	char *p = tee_root_path(pr->root, "/proc/cpuinfo");
	uint8_t *buf = NULL;
	size_t n = 0;
	const char *line, *end;

	if (p == NULL)
		return;
	if (core_fs_read(p, DETECT_CPUINFO_MAX, &buf, &n, NULL) != CORE_OK) {
		free(p);
		return;
	}
	free(p);
	/* The first "flags" line describes every CPU. */
	for (line = (const char *)buf; line < (const char *)buf + n;
	    line = end + 1) {
		end = memchr(line, '\n', (size_t)((const char *)buf + n - line));
		if (end == NULL)
			end = (const char *)buf + n;
		if (strncmp(line, "flags", 5) != 0)
			continue;
		if (has_token(line, (size_t)(end - line), "tdx_guest")) {
			sig_add(d, "cpuinfo flag tdx_guest");
			decide(d, TEE_TDX);
		}
		for (size_t i = 0; i < CORE_ARRAY_LEN(host_flags); i++)
			if (has_token(line, (size_t)(end - line),
			    host_flags[i]))
				sig_add(d, "hint: cpuinfo flag %s is a host "
				    "capability (ignored)", host_flags[i]);
		break;
	}
	free(buf);
}

/*
 * Kernel log lines (spec 1.1 signal 5): hints only, since the log may be
 * restricted or rotated. /dev/kmsg returns one record per read() and EAGAIN
 * at the end (opened non-blocking); a fake tree's regular file reads to EOF.
 */
static void
detect_kmsg(const struct tee_probe *pr, struct tee_detection *d)
{
	static const struct {
		const char *needle;
		const char *what;
	} lines[] = {
		{ "tdx: Guest detected", "tdx" },
		{ "Memory Encryption Features active: Intel TDX", "tdx" },
		{ "Memory Encryption Features active: AMD SEV SEV-ES SEV-SNP",
		    "snp" },
		{ "AMD Memory Encryption Features active: SEV SEV-ES SEV-SNP",
		    "snp" },
		{ "Initialized SEV guest driver", "snp" },
	};
	char *p = tee_root_path(pr->root, "/dev/kmsg");
	char *buf = NULL;
	bool seen[CORE_ARRAY_LEN(lines)] = { false };
	size_t total = 0;
	int fd;

	if (p == NULL)
		return;
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return;
	buf = malloc(8192 + 1);
	while (buf != NULL && total < DETECT_CPUINFO_MAX) {
		ssize_t r = read(fd, buf, 8192);

		if (r < 0 && (errno == EINTR || errno == EPIPE))
			continue; /* EPIPE: a record was overwritten */
		if (r <= 0)
			break;
		total += (size_t)r;
		buf[r] = '\0';
		for (size_t i = 0; i < CORE_ARRAY_LEN(lines); i++) {
			if (seen[i] || memmem(buf, (size_t)r, lines[i].needle,
			    strlen(lines[i].needle)) == NULL)
				continue;
			seen[i] = true;
			sig_add(d, "hint: kernel log \"%s\" (%s)",
			    lines[i].needle, lines[i].what);
		}
	}
	free(buf);
	close(fd);
}

enum core_err
tee_detect_probe(const struct tee_probe *probe, struct tee_detection *out,
    struct core_errbuf *eb)
{
	if (probe == NULL || out == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "tee_detect: no probe");
	memset(out, 0, sizeof(*out));
	out->kind = TEE_NONE;
	detect_configfs(probe, out);
	detect_devices(probe, out);
	detect_cpu(probe, out);
	detect_cpuinfo(probe, out);
	detect_kmsg(probe, out);
	/* An enclave runtime with a quoting interface, outside any CVM. */
	if (out->kind == TEE_NONE && out->sgx_quoting)
		out->kind = TEE_SGX;
	else if (out->sgx_enclave && !out->sgx_quoting)
		sig_add(out, "hint: SGX enclaves possible, but no quoting "
		    "interface in this process");
	return CORE_OK;
}

enum core_err
tee_detect(const char *root, struct tee_detection *out,
    struct core_errbuf *eb)
{
	struct tee_probe p = { root, NULL, NULL, true };

	return tee_detect_probe(&p, out, eb);
}

json_t *
tee_detection_to_json(const struct tee_detection *d)
{
	json_t *o = json_object(), *a = json_array();

	if (o == NULL || a == NULL)
		goto fail;
	for (size_t i = 0; i < d->nsignals; i++)
		if (json_array_append_new(a, json_string(d->signals[i])) != 0)
			goto fail;
	if (json_object_set_new(o, "tee", json_string(tee_kind_name(d->kind))) ||
	    json_object_set_new(o, "configfs_tsm",
	    json_boolean(d->configfs_tsm)) ||
	    json_object_set_new(o, "sgx_enclave",
	    json_boolean(d->sgx_enclave)) ||
	    json_object_set_new(o, "sgx_quoting",
	    json_boolean(d->sgx_quoting)) ||
	    json_object_set_new(o, "paravisor", json_boolean(d->paravisor)))
		goto fail;
	if (json_object_set_new(o, "signals", a) != 0) {
		a = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(a);
	json_decref(o);
	return NULL;
}
