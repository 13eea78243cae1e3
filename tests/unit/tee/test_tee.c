/*
 * test_tee.c -- detection against fake /sys, /dev and /proc trees (every
 * reliable path and the host false positives that must not count), and the
 * attesters' handling of configfs-tsm generation races, EBUSY, timeouts,
 * short reads and missing interfaces. The configfs "kernel" is played by
 * the tsm.c fault-injection hooks; ioctls are exercised only up to what a
 * regular file can show (ENOTTY), since real ones need TEE hardware.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tee/tee.h"
#include "verifier/verifier.h"

/* Fault-injection hooks of src/tee/tsm.c (STATIC, visible to tests). */
extern ssize_t (*tee_tsm_read_fn)(int fd, void *buf, size_t n);
extern void (*tee_tsm_event_fn)(const char *entry, const char *event);

#define T_PINNED 1688169600

static char *root;

/* ---- fake tree helpers ------------------------------------------------ */

static char *
rp(const char *path)
{
	size_t n = strlen(root) + strlen(path) + 1;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s%s", root, path);
	return p;
}

static void
mk(const char *path, const void *data, size_t len)
{
	char *p = rp(path), *dir = strdup(p);

	assert_non_null(dir);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(core_fs_mkdirs(dir, 0755, NULL), CORE_OK);
	if (data != NULL) {
		FILE *f = fopen(p, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite(data, 1, len, f), len);
		fclose(f);
	} else {
		assert_int_equal(core_fs_mkdirs(p, 0755, NULL), CORE_OK);
	}
	free(dir);
	free(p);
}

static void
mks(const char *path, const char *text)
{
	mk(path, text, strlen(text));
}

static int
fresh_root(void **state)
{
	(void)state;
	assert_int_equal(core_fs_tmpdir("tee-test", &root, NULL), CORE_OK);
	tee_tsm_read_fn = NULL;
	tee_tsm_event_fn = NULL;
	return 0;
}

static int
drop_root(void **state)
{
	(void)state;
	tee_tsm_read_fn = NULL;
	tee_tsm_event_fn = NULL;
	core_fs_rmtree(root, NULL);
	free(root);
	root = NULL;
	return 0;
}

static void
read_file(const char *rel, uint8_t **p, size_t *n)
{
	const char *base = getenv("PROPELLER_TESTDATA");
	char *path;

	assert_non_null(base);
	path = core_path_join(base, rel);
	assert_int_equal(core_fs_read(path, 0, p, n, NULL), CORE_OK);
	free(path);
}

static bool
has_signal(const struct tee_detection *d, const char *needle)
{
	for (size_t i = 0; i < d->nsignals; i++)
		if (strstr(d->signals[i], needle) != NULL)
			return true;
	return false;
}

static struct tee_detection
detect_with(tee_cpuid_fn fn, void *arg)
{
	struct tee_probe p = { root, fn, arg, true };
	struct tee_detection d;

	assert_int_equal(tee_detect_probe(&p, &d, NULL), CORE_OK);
	return d;
}

/* ---- fake CPUID ------------------------------------------------------- */

struct fake_cpu {
	bool hypervisor;
	bool tdx_leaf;
	bool sev_bit;
	int hyperv_isolation; /* 0 none, 2 snp, 3 tdx */
};

static bool
fake_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4], void *arg)
{
	const struct fake_cpu *c = arg;

	(void)sub;
	memset(r, 0, 16);
	switch (leaf) {
	case 0:
		r[0] = 0x23;
		return true;
	case 1:
		r[2] = c->hypervisor ? 0x80000000u : 0;
		return true;
	case 0x21:
		if (c->tdx_leaf) {
			memcpy(&r[1], "Inte", 4);
			memcpy(&r[3], "lTDX", 4);
			memcpy(&r[2], "    ", 4);
		}
		return true;
	case 0x80000000:
		r[0] = 0x80000021;
		return true;
	case 0x8000001F:
		r[0] = c->sev_bit ? 0x1Fu : 0; /* SME, SEV, .. SEV-SNP cap */
		return true;
	case 0x40000000:
		if (!c->hyperv_isolation)
			return true;
		r[0] = 0x4000000C;
		memcpy(&r[1], "Micr", 4);
		memcpy(&r[2], "osof", 4);
		memcpy(&r[3], "t Hv", 4);
		return true;
	case 0x40000003:
		r[1] = 1u << 22;
		return true;
	case 0x4000000C:
		r[1] = (uint32_t)c->hyperv_isolation;
		return true;
	default:
		return false;
	}
}

static void
write_msr(uint64_t value)
{
	char *p;
	uint8_t b[8];
	int fd;

	mk("/dev/cpu/0/.keep", "", 0);
	p = rp("/dev/cpu/0/msr");
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(value >> (8 * i));
	assert_int_equal(pwrite(fd, b, 8, 0xC0010131), 8); /* sparse */
	close(fd);
	free(p);
}

/* ---- kinds ------------------------------------------------------------ */

static void
test_kinds(void **state)
{
	enum tee_kind k = TEE_NONE;
	struct core_errbuf eb = { { 0 } };

	(void)state;
	assert_string_equal(tee_kind_name(TEE_TDX), "tdx");
	assert_string_equal(tee_kind_name(TEE_SNP), "snp");
	assert_string_equal(tee_kind_name(TEE_SGX), "sgx");
	assert_string_equal(tee_kind_name(TEE_SAMPLE), "sample");
	assert_string_equal(tee_kind_name(TEE_AZ_SNP_VTPM), "az-snp-vtpm");
	assert_string_equal(tee_kind_name((enum tee_kind)99), "none");
	assert_int_equal(tee_kind_parse("az-tdx-vtpm", false, &k, &eb),
	    CORE_OK);
	assert_int_equal(k, TEE_AZ_TDX_VTPM);
	assert_int_equal(tee_kind_parse("none", false, &k, &eb),
	    CORE_ERR_INVALID);
	assert_int_equal(tee_kind_parse("none", true, &k, &eb), CORE_OK);
	assert_int_equal(k, TEE_NONE);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_kind_parse("TDX", false, &k, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "TDX"));
	assert_int_equal(tee_kind_parse("azsnpvtpm", false, &k, &eb),
	    CORE_ERR_INVALID);
	assert_int_equal(tee_kind_parse(NULL, false, &k, &eb),
	    CORE_ERR_INVALID);
}

/* ---- detection -------------------------------------------------------- */

static void
test_detect_this_host(void **state)
{
	struct tee_detection d;
	json_t *j;

	(void)state;
	assert_int_equal(tee_detect("/", &d, NULL), CORE_OK);
	/* This build host is an ordinary machine, not a CVM. */
	if (!core_fs_exists("/dev/tdx_guest") &&
	    !core_fs_exists("/dev/sev-guest") &&
	    !core_fs_exists("/dev/attestation/quote"))
		assert_int_equal(d.kind, TEE_NONE);
	j = tee_detection_to_json(&d);
	assert_non_null(j);
	assert_true(json_is_array(json_object_get(j, "signals")));
	json_decref(j);
	assert_int_equal(tee_detect_probe(NULL, &d, NULL), CORE_ERR_INVALID);
}

static void
test_detect_empty_and_false_positives(void **state)
{
	struct fake_cpu host = { .hypervisor = false, .sev_bit = true };
	struct tee_detection d;

	(void)state;
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_NONE);
	assert_int_equal(d.nsignals, 0);

	/* Everything a naive detector would count on an SEV/SGX/TDX host. */
	mks("/dev/sev", "");
	mks("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu sev sev_es "
	    "sev_snp sgx sgx_lc tdx_host_platform xtdx_guest tdx_guestx\n");
	mks("/sys/firmware/tdx_guest", "");
	mk("/sys/kernel/config/tsm/report", NULL, 0); /* no provider */
	mks("/dev/sgx_enclave", "");
	mks("/dev/sgx_provision", "");
	write_msr(0x7); /* unreadable without a guest's hypervisor bit */
	mks("/dev/kmsg", "6,1,0,-;kvm_amd: SEV enabled (ASIDs 1 - 509)\n"
	    "6,2,0,-;kvm_amd: SEV-SNP enabled\n"
	    "6,3,0,-;ccp 0000:01:00.5: sev enabled\n");
	d = detect_with(fake_cpuid, &host);
	assert_int_equal(d.kind, TEE_NONE);
	assert_false(d.configfs_tsm);
	assert_true(d.sgx_enclave);
	assert_false(d.sgx_quoting);
	assert_true(has_signal(&d, "hint: /dev/sev"));
	assert_true(has_signal(&d, "hint: cpuinfo flag sev_snp"));
	assert_true(has_signal(&d, "hint: cpuinfo flag tdx_host_platform"));
	assert_true(has_signal(&d, "hint: configfs-tsm present without"));
	assert_true(has_signal(&d, "host (capability"));
	assert_false(has_signal(&d, "cpuinfo flag tdx_guest"));
	assert_false(has_signal(&d, "kernel log"));
	for (size_t i = 0; i < d.nsignals; i++)
		if (strncmp(d.signals[i], "hint:", 5) != 0)
			assert_non_null(strstr(d.signals[i], "sgx"));
}

static void
test_detect_devices(void **state)
{
	struct tee_detection d;

	(void)state;
	mks("/dev/sev-guest", "");
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_SNP);
	assert_true(has_signal(&d, "device /dev/sev-guest"));
	drop_root(state);
	fresh_root(state);
	mk("/sys/devices/platform/sev-guest", NULL, 0);
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_SNP);
	drop_root(state);
	fresh_root(state);
	mks("/dev/tdx_guest", "");
	mk("/sys/devices/virtual/misc/tdx_guest/measurements", NULL, 0);
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_TDX);
	assert_true(has_signal(&d, "device /dev/tdx_guest"));
	assert_true(has_signal(&d, "tdx measurements"));
}

static void
test_detect_cpu(void **state)
{
	struct fake_cpu td = { .hypervisor = true, .tdx_leaf = true };
	struct fake_cpu bare_tdx = { .hypervisor = false, .tdx_leaf = true };
	struct fake_cpu sev = { .hypervisor = true, .sev_bit = true };
	struct fake_cpu azure = { .hypervisor = true, .hyperv_isolation = 2 };
	struct tee_detection d;

	(void)state;
	d = detect_with(fake_cpuid, &td);
	assert_int_equal(d.kind, TEE_TDX);
	assert_true(has_signal(&d, "cpuid 0x21 IntelTDX"));
	/* Leaf 0x21 without the hypervisor bit is not a guest. */
	d = detect_with(fake_cpuid, &bare_tdx);
	assert_int_equal(d.kind, TEE_NONE);

	/* SEV guest whose MSR cannot be read: a hint only. */
	d = detect_with(fake_cpuid, &sev);
	assert_int_equal(d.kind, TEE_NONE);
	assert_true(has_signal(&d, "not readable"));
	/* SEV-ES without SNP: no attestation. */
	write_msr(0x3);
	d = detect_with(fake_cpuid, &sev);
	assert_int_equal(d.kind, TEE_NONE);
	assert_true(has_signal(&d, "SEV-ES without SNP"));
	write_msr(0x7);
	d = detect_with(fake_cpuid, &sev);
	assert_int_equal(d.kind, TEE_SNP);
	assert_true(has_signal(&d, "msr SEV_STATUS=0x7 (snp)"));

	d = detect_with(fake_cpuid, &azure);
	assert_int_equal(d.kind, TEE_AZ_SNP_VTPM);
	assert_true(d.paravisor);
	azure.hyperv_isolation = 3;
	d = detect_with(fake_cpuid, &azure);
	assert_int_equal(d.kind, TEE_AZ_TDX_VTPM);
}

static void
test_detect_cpuinfo_token(void **state)
{
	struct tee_detection d;

	(void)state;
	mks("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu tdx_guest sse\n"
	    "processor\t: 1\n");
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_TDX);
	assert_true(has_signal(&d, "cpuinfo flag tdx_guest"));
}

/* The kernel log is a hint: it never decides on its own. */
static void
test_detect_kmsg(void **state)
{
	struct tee_detection d;

	(void)state;
	mks("/dev/kmsg", "6,1,0,-;tdx: Guest detected\n6,2,0,-;Memory "
	    "Encryption Features active: Intel TDX\n");
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_NONE);
	assert_true(has_signal(&d, "hint: kernel log \"tdx: Guest detected\""));
	assert_true(has_signal(&d, "Intel TDX\" (tdx)"));
	mks("/dev/kmsg", "6,1,0,-;Memory Encryption Features active: AMD SEV "
	    "SEV-ES SEV-SNP\n6,9,0,-;sev-guest sev-guest: Initialized SEV "
	    "guest driver (using VMPCK0 communication key)\n");
	mks("/dev/sev-guest", "");
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_SNP);
	assert_true(has_signal(&d, "SEV-SNP\" (snp)"));
	assert_true(has_signal(&d, "Initialized SEV guest driver"));
}

static void
test_detect_sgx(void **state)
{
	struct tee_detection d;

	(void)state;
	mks("/dev/attestation/quote", "");
	mks("/dev/attestation/user_report_data", "");
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_SGX);
	assert_true(d.sgx_quoting);
}

/* configfs-tsm "kernel": populates attributes and plays generation. */
struct fake_tsm {
	const char *provider;
	const uint8_t *outblob;
	size_t outblob_len;
	const uint8_t *auxblob;
	size_t auxblob_len;
	int gen_step;          /* added per write (1 = honest kernel) */
	int busy_reads;        /* outblob reads failing with busy_errno */
	int busy_errno;
	bool bump_on_outblob;  /* a concurrent writer during the read */
	int mkdirs;
	const char *floor;     /* privlevel_floor content, or NULL */
	bool no_privlevel;     /* an older kernel */
	char privlevel[8];
	uint8_t inblob[64];
	char entry[512];
};

static struct fake_tsm tsm;

static void
put(const char *dir, const char *attr, const void *p, size_t n)
{
	char *path = core_path_join(dir, attr);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n > 0)
		assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
	free(path);
}

static int
get_gen(const char *dir)
{
	char *path = core_path_join(dir, "generation");
	uint8_t *p = NULL;
	size_t n;
	int g;

	assert_int_equal(core_fs_read(path, 64, &p, &n, NULL), CORE_OK);
	g = (int)strtol((char *)p, NULL, 10);
	free(p);
	free(path);
	return g;
}

static void
set_gen(const char *dir, int g)
{
	char txt[32];

	snprintf(txt, sizeof(txt), "%d\n", g);
	put(dir, "generation", txt, strlen(txt));
}

static void
fake_event(const char *entry, const char *event)
{
	if (strcmp(event, "mkdir") == 0) {
		tsm.mkdirs++;
		snprintf(tsm.entry, sizeof(tsm.entry), "%s", entry);
		put(entry, "provider", tsm.provider, strlen(tsm.provider));
		set_gen(entry, 0);
		put(entry, "inblob", "", 0);
		put(entry, "outblob", "", 0);
		if (strcmp(tsm.provider, "sev_guest\n") == 0) {
			if (!tsm.no_privlevel)
				put(entry, "privlevel", "", 0);
			if (tsm.floor != NULL)
				put(entry, "privlevel_floor", tsm.floor,
				    strlen(tsm.floor));
			put(entry, "auxblob", "", 0);
		}
		return;
	}
	set_gen(entry, get_gen(entry) + tsm.gen_step);
	if (strcmp(event, "inblob") == 0) {
		char *path = core_path_join(entry, "inblob");
		uint8_t *p = NULL;
		size_t n = 0;

		assert_int_equal(core_fs_read(path, 128, &p, &n, NULL),
		    CORE_OK);
		assert_int_equal(n, 64);
		memcpy(tsm.inblob, p, 64);
		free(p);
		free(path);
		put(entry, "outblob", tsm.outblob, tsm.outblob_len);
		if (tsm.auxblob != NULL)
			put(entry, "auxblob", tsm.auxblob, tsm.auxblob_len);
	} else if (strcmp(event, "privlevel") == 0) {
		char *path = core_path_join(entry, "privlevel");
		uint8_t *p = NULL;
		size_t n = 0;

		assert_int_equal(core_fs_read(path, 8, &p, &n, NULL), CORE_OK);
		snprintf(tsm.privlevel, sizeof(tsm.privlevel), "%.*s", (int)n,
		    (char *)p);
		free(p);
		free(path);
	}
}

static ssize_t
fake_read(int fd, void *buf, size_t n)
{
	char link[64], target[512];
	ssize_t l;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	l = readlink(link, target, sizeof(target) - 1);
	if (l > 0) {
		target[l] = '\0';
		if (strstr(target, "/outblob") != NULL) {
			if (tsm.busy_reads > 0) {
				tsm.busy_reads--;
				errno = tsm.busy_errno;
				return -1;
			}
			if (tsm.bump_on_outblob)
				set_gen(tsm.entry, get_gen(tsm.entry) + 1);
		}
	}
	return read(fd, buf, n);
}

static void
fake_tsm_init(const char *provider, const uint8_t *out, size_t out_len)
{
	memset(&tsm, 0, sizeof(tsm));
	tsm.provider = provider;
	tsm.outblob = out;
	tsm.outblob_len = out_len;
	tsm.gen_step = 1;
	tee_tsm_event_fn = fake_event;
	tee_tsm_read_fn = fake_read;
	mk("/sys/kernel/config/tsm/report", NULL, 0);
}

static void
test_detect_configfs(void **state)
{
	struct tee_detection d;

	(void)state;
	fake_tsm_init("tdx_guest\n", (const uint8_t *)"x", 1);
	mks("/dev/sev-guest", ""); /* lower priority than configfs-tsm */
	d = detect_with(NULL, NULL);
	assert_int_equal(d.kind, TEE_TDX);
	assert_true(d.configfs_tsm);
	assert_true(has_signal(&d, "configfs-tsm provider tdx_guest"));
	assert_true(has_signal(&d, "device /dev/sev-guest"));
	assert_int_equal(tsm.mkdirs, 1);
}

/* ---- attesters -------------------------------------------------------- */

static void
test_attest_sample(void **state)
{
	uint8_t digest[48];
	char *ev = NULL;
	json_t *j = NULL, *claims = NULL;
	struct core_errbuf eb = { { 0 } };

	(void)state;
	for (int i = 0; i < 48; i++)
		digest[i] = (uint8_t)(0xA0 + i);
	assert_int_equal(tee_attester_evidence(TEE_SAMPLE, digest, 48, NULL,
	    &ev, &eb), CORE_OK);
	assert_int_equal(core_json_parse_object(ev, strlen(ev), 0, &j, NULL),
	    CORE_OK);
	assert_string_equal(json_string_value(json_object_get(j, "svn")), "1");
	assert_int_equal(verifier_verify(TEE_SAMPLE, (uint8_t *)ev, strlen(ev),
	    digest, 48, NULL, &claims, &eb), CORE_OK);
	json_decref(claims);
	json_decref(j);
	free(ev);
	assert_int_equal(tee_attester_evidence(TEE_SAMPLE, digest, 65, NULL,
	    &ev, &eb), CORE_ERR_INVALID);
	assert_null(ev);
	assert_int_equal(tee_attester_evidence(TEE_NONE, digest, 48, NULL, &ev,
	    &eb), CORE_ERR_UNSUPPORTED);
}

static void
test_attest_tdx_configfs(void **state)
{
	struct tee_attest_opts o = { .root = root, .busy_wait_ms = 1 };
	struct verifier_opts vo = { .check_time = T_PINNED };
	struct core_errbuf eb = { { 0 } };
	uint8_t *quote = NULL, rd[64];
	size_t qlen = 0;
	char *ev = NULL;
	json_t *claims = NULL;

	(void)state;
	read_file("tee/tdx/tdx_prod_quote_SPR_E4.dat", &quote, &qlen);
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)i;
	fake_tsm_init("tdx_guest\n", quote, qlen);
	mks("/sys/firmware/acpi/tables/data/CCEL", "event-log");
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_OK);
	assert_memory_equal(tsm.inblob, rd, 64);
	assert_non_null(strstr(ev, "\"cc_eventlog\":\"ZXZlbnQtbG9n\""));
	/* That is no TCG event log: the verifier says so. */
	assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)ev, strlen(ev),
	    NULL, 0, &vo, &claims, &eb), CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "cc_eventlog"));
	free(ev);
	ev = NULL;
	/* Without a CCEL the evidence JSON verifies as is. */
	{
		char *ccel = rp("/sys/firmware/acpi/tables/data/CCEL");

		assert_int_equal(unlink(ccel), 0);
		free(ccel);
	}
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_OK);
	assert_non_null(strstr(ev, "\"cc_eventlog\":null"));
	assert_int_equal(verifier_verify(TEE_TDX, (uint8_t *)ev, strlen(ev),
	    NULL, 0, &vo, &claims, &eb), CORE_OK);
	json_decref(claims);
	free(ev);
	ev = NULL;

	/* Report data shorter than 64 bytes is zero-padded in inblob. */
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 10, &o, &ev, &eb),
	    CORE_OK);
	assert_int_equal(tsm.inblob[10], 0);
	assert_int_equal(tsm.inblob[9], 9);
	free(ev);
	ev = NULL;

	/* EBUSY on the first outblob read: retried and then fine. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.busy_reads = 1;
	tsm.busy_errno = EBUSY;
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_OK);
	assert_int_equal(tsm.mkdirs, 2);
	free(ev);
	ev = NULL;

	/* EBUSY every time: gives up after retries + 1 attempts. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.busy_reads = 100;
	tsm.busy_errno = EBUSY;
	o.retries = 2;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_STATE);
	assert_int_equal(tsm.mkdirs, 3);
	assert_non_null(strstr(eb.msg, "outblob"));
	assert_non_null(strstr(eb.msg, "gave up after 3"));
	assert_null(ev);

	/* ETIMEDOUT (quote service down) is reported, not retried. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.busy_reads = 1;
	tsm.busy_errno = ETIMEDOUT;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_TIMEOUT);
	assert_int_equal(tsm.mkdirs, 1);
	/* EIO from the host's quote service. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.busy_reads = 1;
	tsm.busy_errno = EIO;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_IO);

	/* A concurrent writer: the generation jumps by 2 per write. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.gen_step = 2;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_STATE);
	assert_non_null(strstr(eb.msg, "concurrent writer"));
	assert_int_equal(tsm.mkdirs, 3);
	/* ... or moves while outblob is read. */
	fake_tsm_init("tdx_guest\n", quote, qlen);
	tsm.bump_on_outblob = true;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_STATE);
	assert_non_null(strstr(eb.msg, "while reading"));

	/* A short (truncated) outblob. */
	fake_tsm_init("tdx_guest\n", quote, 200);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_IO);
	assert_non_null(strstr(eb.msg, "truncated"));
	/* An empty outblob. */
	fake_tsm_init("tdx_guest\n", quote, 0);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_IO);
	assert_non_null(strstr(eb.msg, "empty outblob"));
	/* Provider of another TEE. */
	fake_tsm_init("sev_guest\n", quote, qlen);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(eb.msg, "provider is sev_guest"));
	/* An oversized outblob (beyond TSM_OUTBLOB_MAX). */
	{
		uint8_t *big = calloc(1, 40 * 1024);

		memcpy(big, quote, qlen);
		fake_tsm_init("tdx_guest\n", big, 40 * 1024);
		core_errbuf_clear(&eb);
		assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev,
		    &eb), CORE_ERR_TOO_BIG);
		free(big);
	}
	free(quote);
}

static void
test_attest_tdx_missing(void **state)
{
	struct tee_attest_opts o = { .root = root };
	struct core_errbuf eb = { { 0 } };
	uint8_t rd[64] = { 0 };
	char *ev = NULL;

	(void)state;
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(eb.msg, "configfs-tsm"));
	o.no_configfs = true;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_TDX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(eb.msg, "TDREPORT"));
}

static void
test_attest_snp_configfs(void **state)
{
	struct tee_attest_opts o = { .root = root, .busy_wait_ms = 1 };
	struct verifier_opts vo = { .check_time = T_PINNED,
		.allow_debug = true };
	struct core_errbuf eb = { { 0 } };
	uint8_t *rep = NULL, *vcek = NULL, *table, rd[64] = { 1, 2, 3, 4, 5 };
	size_t rlen = 0, vlen = 0, tlen;
	char *ev = NULL;
	json_t *claims = NULL;
	static const uint8_t vcek_guid[16] = { 0x63, 0xda, 0x75, 0x8d, 0xe6,
		0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
		0xcd };

	(void)state;
	read_file("tee/snp/attestation.bin", &rep, &rlen);
	read_file("tee/snp/vcek.der", &vcek, &vlen);
	tlen = 48 + vlen;
	table = calloc(1, tlen);
	assert_non_null(table);
	memcpy(table, vcek_guid, 16);
	table[16] = 48;
	table[20] = (uint8_t)(vlen & 0xff);
	table[21] = (uint8_t)(vlen >> 8);
	memcpy(table + 48, vcek, vlen);

	fake_tsm_init("sev_guest\n", rep, rlen);
	tsm.auxblob = table;
	tsm.auxblob_len = tlen;
	o.vmpl = 0;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_OK);
	assert_string_equal(tsm.privlevel, "0");
	assert_non_null(strstr(ev, "\"cert_type\":\"VCEK\""));
	/* Round trip: the verifier takes the VCEK from the cert_chain. */
	assert_int_equal(verifier_verify(TEE_SNP, (uint8_t *)ev, strlen(ev),
	    rd, 64, &vo, &claims, &eb), CORE_OK);
	assert_string_equal(json_string_value(json_object_get(claims,
	    "signing_key")), "vcek");
	json_decref(claims);
	free(ev);
	ev = NULL;

	/* VMPL 2 is written as ASCII "2" (never a raw byte). */
	fake_tsm_init("sev_guest\n", rep, rlen);
	o.vmpl = 2;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_OK);
	assert_string_equal(tsm.privlevel, "2");
	assert_non_null(strstr(ev, "\"cert_chain\":null"));
	free(ev);
	ev = NULL;
	o.vmpl = 4;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_INVALID);
	o.vmpl = 0;

	/* A VMPL below privlevel_floor is refused before any write. */
	fake_tsm_init("sev_guest\n", rep, rlen);
	tsm.floor = "1\n";
	o.vmpl = 0;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "privlevel_floor"));
	o.vmpl = 1;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_OK);
	assert_string_equal(tsm.privlevel, "1");
	free(ev);
	ev = NULL;
	/* An older kernel without privlevel: VMPL 0 works, others do not. */
	fake_tsm_init("sev_guest\n", rep, rlen);
	tsm.no_privlevel = true;
	o.vmpl = 0;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_OK);
	free(ev);
	ev = NULL;
	o.vmpl = 2;
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	o.vmpl = 0;

	/* A short report read. */
	fake_tsm_init("sev_guest\n", rep, 1000);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_INVALID);
	assert_non_null(strstr(eb.msg, "1000 bytes"));
	/* A malformed certificate table from the host. */
	fake_tsm_init("sev_guest\n", rep, rlen);
	tsm.auxblob = table;
	tsm.auxblob_len = 30; /* entry points beyond the table */
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_INVALID);
	/* The privlevel write counts towards the generation too. */
	fake_tsm_init("sev_guest\n", rep, rlen);
	tsm.gen_step = 0;
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 5, &o, &ev, &eb),
	    CORE_ERR_STATE);
	free(table);
	free(rep);
	free(vcek);
}

static void
test_attest_snp_device(void **state)
{
	struct tee_attest_opts o = { .root = root };
	struct core_errbuf eb = { { 0 } };
	uint8_t rd[64] = { 0 };
	char *ev = NULL;

	(void)state;
	/* No configfs-tsm and no device. */
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 64, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(eb.msg, "/dev/sev-guest"));
	/* A device node that does not speak the ioctl (no hardware here). */
	mks("/dev/sev-guest", "");
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SNP, rd, 64, &o, &ev, &eb),
	    CORE_ERR_IO);
	assert_non_null(strstr(eb.msg, "SNP_GET_EXT_REPORT"));
	assert_null(ev);
}

static void
test_attest_sgx(void **state)
{
	struct tee_attest_opts o = { .root = root };
	struct core_errbuf eb = { { 0 } };
	uint8_t rd[64], quote[600] = { 3, 0, 2, 0 };
	uint8_t *got = NULL;
	size_t n = 0;
	char *ev = NULL, *p;

	(void)state;
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(255 - i);
	assert_int_equal(tee_attester_evidence(TEE_SGX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_UNSUPPORTED);
	assert_non_null(strstr(eb.msg, "Gramine"));
	mks("/dev/attestation/user_report_data", "");
	mk("/dev/attestation/quote", quote, sizeof(quote));
	assert_int_equal(tee_attester_evidence(TEE_SGX, rd, 64, &o, &ev, &eb),
	    CORE_OK);
	assert_non_null(strstr(ev, "\"quote\":\"AwACAA"));
	free(ev);
	ev = NULL;
	p = rp("/dev/attestation/user_report_data");
	assert_int_equal(core_fs_read(p, 0, &got, &n, NULL), CORE_OK);
	assert_int_equal(n, 64);
	assert_memory_equal(got, rd, 64);
	free(got);
	free(p);
	/* Short quote, and a quote of the wrong version. */
	mk("/dev/attestation/quote", quote, 100);
	core_errbuf_clear(&eb);
	assert_int_equal(tee_attester_evidence(TEE_SGX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_IO);
	quote[0] = 4;
	mk("/dev/attestation/quote", quote, sizeof(quote));
	assert_int_equal(tee_attester_evidence(TEE_SGX, rd, 64, &o, &ev, &eb),
	    CORE_ERR_INVALID);
}

static void
test_tdreport(void **state)
{
	struct core_errbuf eb = { { 0 } };
	uint8_t rd[64] = { 7 }, rep[TEE_TDREPORT_LEN];
	json_t *c = NULL;

	(void)state;
	/* No device; then a device node that does not speak the ioctl. */
	assert_int_equal(tee_tdx_tdreport(root, rd, rep, &eb),
	    CORE_ERR_UNSUPPORTED);
	mks("/dev/tdx_guest", "");
	core_errbuf_clear(&eb);
	assert_int_equal(tee_tdx_tdreport(root, rd, rep, &eb), CORE_ERR_IO);
	assert_non_null(strstr(eb.msg, "TDX_CMD_GET_REPORT0"));

	/* The decoder on a synthetic report. */
	memset(rep, 0, sizeof(rep));
	rep[0] = 0x81;
	memset(rep + 128, 0xAA, 64);  /* report_data */
	memset(rep + 528, 0x11, 48);  /* mr_td */
	memset(rep + 864, 0x33, 48);  /* rtmr3 */
	rep[512] = 1;                 /* DEBUG */
	assert_int_equal(tee_tdreport_claims(rep, sizeof(rep), &c, &eb),
	    CORE_OK);
	assert_string_equal(json_string_value(json_object_get(c, "mr_td")),
	    "111111111111111111111111111111111111111111111111"
	    "111111111111111111111111111111111111111111111111");
	assert_non_null(strstr(json_string_value(json_object_get(c, "rtmr3")),
	    "333333"));
	assert_true(json_is_true(json_object_get(c, "debug")));
	json_decref(c);
	rep[0] = 0x00; /* an SGX report type */
	assert_int_equal(tee_tdreport_claims(rep, sizeof(rep), &c, &eb),
	    CORE_ERR_INVALID);
	assert_int_equal(tee_tdreport_claims(rep, 1000, &c, &eb),
	    CORE_ERR_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_detect_this_host),
		cmocka_unit_test_setup_teardown(
		    test_detect_empty_and_false_positives, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_detect_devices, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_detect_cpu, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_detect_cpuinfo_token,
		    fresh_root, drop_root),
		cmocka_unit_test_setup_teardown(test_detect_kmsg, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_detect_sgx, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_detect_configfs,
		    fresh_root, drop_root),
		cmocka_unit_test(test_attest_sample),
		cmocka_unit_test_setup_teardown(test_attest_tdx_configfs,
		    fresh_root, drop_root),
		cmocka_unit_test_setup_teardown(test_attest_tdx_missing,
		    fresh_root, drop_root),
		cmocka_unit_test_setup_teardown(test_attest_snp_configfs,
		    fresh_root, drop_root),
		cmocka_unit_test_setup_teardown(test_attest_snp_device,
		    fresh_root, drop_root),
		cmocka_unit_test_setup_teardown(test_attest_sgx, fresh_root,
		    drop_root),
		cmocka_unit_test_setup_teardown(test_tdreport, fresh_root,
		    drop_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
