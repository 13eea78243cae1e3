/*
 * time.c -- clocks, RFC 3339 timestamps and Go-style durations.
 */
#include "core/core.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

int64_t
core_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int64_t
core_mono_ms(void)
{
	return core_mono_ns() / 1000000;
}

int64_t
core_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void
core_rfc3339(int64_t ns, int frac_digits, char out[CORE_RFC3339_LEN])
{
	int64_t sec, frac;
	time_t t;
	struct tm tm;
	size_t n;

	if (ns == 0) {
		snprintf(out, CORE_RFC3339_LEN, "0001-01-01T00:00:00Z");
		return;
	}
	sec = ns / NS_PER_S;
	frac = ns % NS_PER_S;
	if (frac < 0) {
		frac += NS_PER_S;
		sec--;
	}
	t = (time_t)sec;
	gmtime_r(&t, &tm);
	n = strftime(out, CORE_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac_digits == 3) {
		n += (size_t)snprintf(out + n, CORE_RFC3339_LEN - n, ".%03d",
		    (int)(frac / 1000000));
	} else if (frac_digits >= 9 && frac != 0) {
		char digits[16];
		int len;

		snprintf(digits, sizeof(digits), "%09d", (int)frac);
		len = 9;
		while (len > 0 && digits[len - 1] == '0')
			len--;
		n += (size_t)snprintf(out + n, CORE_RFC3339_LEN - n, ".%.*s",
		    len, digits);
	}
	snprintf(out + n, CORE_RFC3339_LEN - n, "Z");
}

static bool
parse_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool
expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

enum core_err
core_rfc3339_parse(const char *s, int64_t *ns_out, struct core_errbuf *eb)
{
	const char *p = s;
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, secs;
	struct tm tm;
	int nd = 0;

	if (s == NULL)
		return core_errf(eb, CORE_ERR_INVALID, "time: missing");
	if (!parse_digits(&p, 4, &year) || !expect(&p, '-') ||
	    !parse_digits(&p, 2, &mon) || !expect(&p, '-') ||
	    !parse_digits(&p, 2, &day) || !(*p == 'T' || *p == 't'))
		goto bad;
	p++;
	if (!parse_digits(&p, 2, &hour) || !expect(&p, ':') ||
	    !parse_digits(&p, 2, &min) || !expect(&p, ':') ||
	    !parse_digits(&p, 2, &sec))
		goto bad;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			if (nd < 9) {
				frac = frac * 10 + (*p - '0');
				nd++;
			}
			p++;
		}
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (!parse_digits(&p, 2, &oh) || !expect(&p, ':') ||
		    !parse_digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		goto bad;
	}
	if (*p != '\0')
		goto bad;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60)
		goto bad;
	if (year == 1 && mon == 1 && day == 1 && hour == 0 && min == 0 &&
	    sec == 0 && frac == 0 && sign == 0) {
		*ns_out = 0; /* Go's zero time */
		return CORE_OK;
	}
	if (year < 1678 || year > 2261)
		return core_errf(eb, CORE_ERR_INVALID,
		    "time: year %d out of range in \"%.64s\"", year, s);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	secs = (int64_t)timegm(&tm);
	secs -= (int64_t)sign * (oh * 3600 + om * 60);
	*ns_out = secs * NS_PER_S + frac;
	return CORE_OK;
bad:
	return core_errf(eb, CORE_ERR_INVALID,
	    "time: not RFC 3339 (got \"%.64s\")", s);
}

enum core_err
core_duration_parse_ms(const char *s, int64_t *ms_out, struct core_errbuf *eb)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {
		{ "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 },
		{ "ms", 1.0 }, { "s", 1e3 }, { "m", 6e4 }, { "h", 3.6e6 },
	};
	const char *p = s;
	double total = 0;
	int64_t n;
	int sign = 1;

	if (s == NULL || *s == '\0')
		return core_errf(eb, CORE_ERR_INVALID, "duration: empty");
	if (core_parse_int(s, 0, INT64_MAX / 1000, &n) == CORE_OK) {
		*ms_out = n * 1000;
		return CORE_OK;
	}
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (strcmp(p, "0") == 0) {
		*ms_out = 0;
		return CORE_OK;
	}
	while (*p != '\0') {
		double v = 0, scale = 1;
		bool any = false;
		size_t i, best = 0, bestlen = 0;

		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			any = true;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				scale /= 10;
				v += (*p++ - '0') * scale;
				any = true;
			}
		}
		if (!any)
			goto bad;
		for (i = 0; i < CORE_ARRAY_LEN(units); i++) {
			size_t ul = strlen(units[i].unit);

			if (strncmp(p, units[i].unit, ul) == 0 && ul > bestlen) {
				best = i;
				bestlen = ul;
			}
		}
		if (bestlen == 0)
			goto bad;
		p += bestlen;
		total += v * units[best].ms;
		if (total > 9.2e15)
			goto bad;
	}
	if (sign < 0)
		goto bad;
	*ms_out = (int64_t)(total + 0.5);
	return CORE_OK;
bad:
	return core_errf(eb, CORE_ERR_INVALID,
	    "duration: expected e.g. 30s, 1m30s, 250ms (got \"%.64s\")", s);
}
