/* parser.c -- generates a large JSON-like document of arithmetic
 * expressions and parses/evaluates it with a recursive-descent parser,
 * arg-1 rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *p;

static long long expr(void);

static void
ws(void)
{
	while (*p == ' ' || *p == '\n')
		p++;
}

static long long
atom(void)
{
	long long v = 0;

	ws();
	if (*p == '(') {
		p++;
		v = expr();
		ws();
		p++; /* ')' */
		return v;
	}
	if (*p == '-') {
		p++;
		return -atom();
	}
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
}

static long long
term(void)
{
	long long v = atom(), r;

	for (;;) {
		ws();
		if (*p == '*') {
			p++;
			v = (v * atom()) % 1000003;
		} else if (*p == '/') {
			p++;
			r = atom();
			v = r ? v / r : 0;
		} else
			return v;
	}
}

static long long
expr(void)
{
	long long v = term();

	for (;;) {
		ws();
		if (*p == '+') {
			p++;
			v += term();
		} else if (*p == '-') {
			p++;
			v -= term();
		} else
			return v;
	}
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20, r, i;
	size_t cap = 4 << 20, len = 0;
	char *doc = malloc(cap);
	unsigned x = 12345;
	long long total = 0;

	/* A document: {"e0": "(1+2)*3", ...} with nested expressions. */
	len += (size_t)snprintf(doc + len, cap - len, "{");
	for (i = 0; len < cap - 256; i++) {
		x = x * 1103515245u + 12345u;
		len += (size_t)snprintf(doc + len, cap - len,
		    "\"e%d\": \"((%u + %u) * (%u - %u / (%u + 1)) + -%u)\",\n",
		    i, x % 1000, (x >> 10) % 1000, (x >> 3) % 97, (x >> 7) % 89,
		    (x >> 11) % 7, (x >> 5) % 50);
	}
	doc[len++] = '}';
	doc[len] = '\0';
	for (r = 0; r < rounds; r++) {
		const char *q = doc;
		while ((q = strchr(q, ':')) != NULL) {
			q = strchr(q, '"') + 1;
			p = q;
			total += expr() + r;
			q = p;
		}
	}
	printf("parser %zu bytes %d rounds total %lld\n", len, rounds, total);
	return 0;
}
