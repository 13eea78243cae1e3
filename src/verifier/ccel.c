/*
 * ccel.c -- the TDX CC event log (ACPI CCEL, a TCG2 crypto-agile event log
 * whose "PCR index" is the CC measurement register: 0 MRTD, 1..4 RTMR0..3),
 * replayed with SHA-384 so the quote's RTMRs can be checked against it.
 */
#include "verifier/verifier_int.h"

#include <string.h>

#include <openssl/evp.h>

#define CCEL_MAX_EVENTS 65536
#define CCEL_MAX_ALGS 8
#define CCEL_EV_NO_ACTION 3
#define CCEL_ALG_SHA384 0x000C

struct ccel_alg {
	uint16_t id;
	uint16_t size;
};

static enum core_err
ccel_spec_id(const uint8_t *ev, size_t n, struct ccel_alg *algs,
    uint32_t *nalgs, struct core_errbuf *eb)
{
	static const char sig[] = "Spec ID Event03";
	size_t off = 24;

	if (n < 28 || memcmp(ev, sig, sizeof(sig)) != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cc_eventlog: first event is not a Spec ID Event03");
	*nalgs = vrf_le32(ev + off);
	off += 4;
	if (*nalgs == 0 || *nalgs > CCEL_MAX_ALGS ||
	    (size_t)*nalgs * 4 > n - off)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cc_eventlog: bad algorithm count %u", *nalgs);
	for (uint32_t i = 0; i < *nalgs; i++, off += 4) {
		algs[i].id = vrf_le16(ev + off);
		algs[i].size = vrf_le16(ev + off + 2);
		if (algs[i].size == 0 || algs[i].size > 64)
			return core_errf(eb, CORE_ERR_INVALID,
			    "cc_eventlog: digest size %u out of range",
			    algs[i].size);
	}
	return CORE_OK;
}

static bool
ccel_extend(uint8_t mr[48], const uint8_t *digest)
{
	uint8_t buf[96];
	unsigned int len = 0;

	memcpy(buf, mr, 48);
	memcpy(buf + 48, digest, 48);
	return EVP_Digest(buf, sizeof(buf), mr, &len, EVP_sha384(), NULL) == 1 &&
	    len == 48;
}

enum core_err
vrf_ccel_replay(const uint8_t *p, size_t n, uint8_t rtmr[4][48],
    size_t *nevents, struct core_errbuf *eb)
{
	struct ccel_alg algs[CCEL_MAX_ALGS];
	uint32_t nalgs = 0, esize;
	size_t off = 0, count = 0;
	enum core_err err;

	memset(rtmr, 0, 4 * 48);
	*nevents = 0;
	/* TCG_PCR_EVENT (SHA-1 format) carrying the Spec ID event. */
	if (n < 32)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cc_eventlog: %zu bytes is too short", n);
	if (vrf_le32(p + 4) != CCEL_EV_NO_ACTION)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cc_eventlog: first event is not EV_NO_ACTION");
	esize = vrf_le32(p + 28);
	if (esize > n - 32)
		return core_errf(eb, CORE_ERR_INVALID,
		    "cc_eventlog: Spec ID event overruns the log");
	err = ccel_spec_id(p + 32, esize, algs, &nalgs, eb);
	if (err != CORE_OK)
		return err;
	off = 32 + esize;
	/* TCG_PCR_EVENT2 records until the end or the 0xFF padding. */
	while (n - off >= 12) {
		uint32_t mr = vrf_le32(p + off), type = vrf_le32(p + off + 4);
		uint32_t ndig = vrf_le32(p + off + 8);
		const uint8_t *sha384 = NULL;

		if (mr == 0xFFFFFFFF || (mr == 0 && type == 0 && ndig == 0))
			break; /* 0xFF or zero fill after the last event */
		if (++count > CCEL_MAX_EVENTS)
			return core_errf(eb, CORE_ERR_TOO_BIG,
			    "cc_eventlog: more than %d events", CCEL_MAX_EVENTS);
		off += 12;
		if (ndig == 0 || ndig > nalgs)
			return core_errf(eb, CORE_ERR_INVALID,
			    "cc_eventlog: event %zu has %u digests", count, ndig);
		for (uint32_t d = 0; d < ndig; d++) {
			uint16_t id, size = 0;

			if (n - off < 2)
				goto trunc;
			id = vrf_le16(p + off);
			off += 2;
			for (uint32_t a = 0; a < nalgs; a++)
				if (algs[a].id == id)
					size = algs[a].size;
			if (size == 0)
				return core_errf(eb, CORE_ERR_INVALID,
				    "cc_eventlog: event %zu uses undeclared "
				    "algorithm 0x%04x", count, id);
			if (n - off < size)
				goto trunc;
			if (id == CCEL_ALG_SHA384 && size == 48)
				sha384 = p + off;
			off += size;
		}
		if (n - off < 4)
			goto trunc;
		esize = vrf_le32(p + off);
		off += 4;
		if (esize > n - off)
			goto trunc;
		off += esize;
		if (type == CCEL_EV_NO_ACTION || mr == 0)
			continue; /* not extended / MRTD is built by the module */
		if (mr > 4)
			return core_errf(eb, CORE_ERR_INVALID,
			    "cc_eventlog: event %zu names MR index %u", count, mr);
		if (sha384 == NULL)
			return core_errf(eb, CORE_ERR_INVALID,
			    "cc_eventlog: event %zu has no SHA-384 digest", count);
		if (!ccel_extend(rtmr[mr - 1], sha384))
			return core_errf(eb, CORE_ERR_CRYPTO, "sha384");
	}
	/* Fewer bytes than an event header left: they must be fill. */
	if (n - off < 12) {
		for (size_t i = off; i < n; i++)
			if (p[i] != 0xFF && p[i] != 0x00)
				goto trunc;
	}
	*nevents = count;
	return CORE_OK;
trunc:
	return core_errf(eb, CORE_ERR_INVALID,
	    "cc_eventlog: event %zu is truncated", count);
}
