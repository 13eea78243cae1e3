/*
 * codegen_fold.c -- tier 1: folds wasm2c's statement-per-stack-op C into
 * expression trees.
 *
 * wasm2c names its temporaries after wasm stack slots (w2c_i<depth> for
 * i32, j for i64, f for f32, d for f64) and emits one statement per wasm
 * instruction:
 *
 *     w2c_i0 = w2c_l2;
 *     w2c_i1 = 16u;
 *     w2c_i0 += w2c_i1;
 *     w2c_i0 = i32_load(&instance->w2c_memory, (u64)(w2c_i0));
 *     w2c_l3 = w2c_i0;
 *
 * libtcc keeps every one of those temporaries in memory, so each costs a
 * store and a load. This pass simulates the stack over the text: an
 * assignment to a slot is kept back as a pending expression, and the
 * statement that reads the slot (every wasm instruction pops what it reads,
 * except local.tee) gets the expression substituted, so the example
 * becomes one statement, "w2c_l3 = i32_load(..., (u64)((u32)(w2c_l2 +
 * (16u))));". A pending expression is written out ("materialized") as the
 * original assignment whenever keeping it back could change what it
 * computes or when it traps:
 *
 *   - before a label, branch, return or any line it does not understand
 *     (a value live across control flow must be in its variable);
 *   - before a line that writes a variable the expression reads (a local,
 *     a global, a stack slot);
 *   - if it reads memory or instance state, before a line that may write
 *     memory or trap otherwise (a store, a call, a division macro), so
 *     loads keep their order against stores and traps keep their kind;
 *   - when the slot is overwritten unread and the expression may trap;
 *   - when the reader is a macro that may evaluate its argument twice
 *     (only variables and constants go into macros), or, if it may trap, a
 *     select (C's "?:" evaluates one arm, wasm both).
 *
 * Pending expressions hold no call and no trap other than the
 * out-of-bounds trap of a load, so evaluating two of them in another order
 * gives the same result and the same trap. local.tee, whose C is the same
 * as local.set's ("w2c_l3 = w2c_i0;"), leaves the slot pending as the local
 * it was copied to.
 */
#include "wasm/engine.h"

#include <stdlib.h>
#include <string.h>

#define FOLD_TYPES 4
#define FOLD_MAX_PENDING 64 /* more pending slots are written out */
#define FOLD_MAX_NAME 24    /* longer slot names are never kept pending */
#define FOLD_MAX_EXPR 600   /* longer expressions are written out */
#define FOLD_MAX_READS 32   /* slot reads tracked per line */

/* A slot whose value is held back as an expression. */
struct fold_slot {
	char name[FOLD_MAX_NAME]; /* "w2c_i0", "w2c_d0_0" */
	int type;                 /* index into fold_type_chars */
	char *expr;               /* owned */
	bool vol;                 /* reads linear memory or instance state */
};

struct fold {
	struct core_buf out;
	struct fold_slot slot[FOLD_MAX_PENDING]; /* [0, npending) in use */
	unsigned npending;
	bool ok;
};

enum fold_kind {
	FOLD_CONTROL,     /* label, goto, brace, declaration, unknown */
	FOLD_ASSIGN,      /* w2c_i0 = RHS; */
	FOLD_COMPOUND,    /* w2c_i0 += RHS; */
	FOLD_SET_LOCAL,   /* w2c_l3 = RHS; */
	FOLD_SET_GLOBAL,  /* instance->w2c_g0 = RHS; */
	FOLD_BRANCH,      /* if (X) ..., switch (X) {, return X; */
	FOLD_STMT,        /* a store, a call, any other statement */
};

struct fold_read {
	size_t off;  /* offset of the token in the line */
	size_t len;
	int type;
};

static const char fold_type_chars[] = "ijfd";
static const char *const fold_casts[FOLD_TYPES] = {
	"u32", "u64", "f32", "f64",
};

/* Calls that are pure and cannot trap but by an out-of-bounds load. */
static const char *const fold_pure_calls[] = {
	"i32_load", "i64_load", "f32_load", "f64_load", "i32_load8_s",
	"i64_load8_s", "i32_load8_u", "i64_load8_u", "i32_load16_s",
	"i64_load16_s", "i32_load16_u", "i64_load16_u", "i64_load32_s",
	"i64_load32_u", "I32_ROTL", "I64_ROTL", "I32_ROTR", "I64_ROTR",
	"wasm_fabs", "wasm_fabsf", "wasm_sqrt", "wasm_sqrtf",
	"f32_reinterpret_i32", "i32_reinterpret_f32",
	"f64_reinterpret_i64", "i64_reinterpret_f64",
};

static bool
fold_is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

static bool
fold_is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * A variable token "w2c_<c><digits>[_<digits>]..." at p (which must start
 * a token and not be a call), c one of chars; *len = its length. Returns
 * the index of c in chars or -1.
 */
static int
fold_var_at(const char *p, const char *end, const char *chars, size_t *len)
{
	const char *q = p + 5, *c;

	if (end - p < 6 || memcmp(p, "w2c_", 4) != 0 || p[4] == '\0')
		return -1;
	c = strchr(chars, p[4]);
	if (c == NULL || !fold_is_digit(*q))
		return -1;
	for (;;) {
		while (q < end && fold_is_digit(*q))
			q++;
		if (end - q >= 2 && q[0] == '_' && fold_is_digit(q[1]))
			q++;
		else
			break;
	}
	if (q < end && (fold_is_ident(*q) || *q == '('))
		return -1;
	*len = (size_t)(q - p);
	return (int)(c - chars);
}

/* Occurrences of identifier tok (length tl) in s[0..n). */
static int
fold_count_token(const char *s, size_t n, const char *tok, size_t tl)
{
	size_t i;
	int count = 0;

	for (i = 0; i + tl <= n; i++)
		if (memcmp(s + i, tok, tl) == 0 &&
		    (i == 0 || !fold_is_ident(s[i - 1])) &&
		    (i + tl == n || !fold_is_ident(s[i + tl])))
			count++;
	return count;
}

/* An upper-case macro call (which may evaluate an argument twice). */
static bool
fold_has_macro(const char *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!(s[i] >= 'A' && s[i] <= 'Z') ||
		    (i > 0 && fold_is_ident(s[i - 1])))
			continue;
		for (j = i; j < n && ((s[j] >= 'A' && s[j] <= 'Z') ||
		    fold_is_digit(s[j]) || s[j] == '_'); j++)
			;
		if (j < n && s[j] == '(')
			return true;
	}
	return false;
}

/* A call that may have an effect or trap: "name(" not in the pure list, or
 * a call through a pointer. */
static bool
fold_has_effect(const char *s, size_t n)
{
	size_t i, j, k;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] == '(' && s[i + 1] == '*')
			return true;
		if (!fold_is_ident(s[i]) || (i > 0 && fold_is_ident(s[i - 1])))
			continue;
		for (j = i; j < n && fold_is_ident(s[j]); j++)
			;
		if (j < n && s[j] == '(') {
			for (k = 0; k < CORE_ARRAY_LEN(fold_pure_calls); k++)
				if (strlen(fold_pure_calls[k]) == j - i &&
				    memcmp(fold_pure_calls[k], s + i, j - i) == 0)
					break;
			if (k == CORE_ARRAY_LEN(fold_pure_calls))
				return true;
		}
		i = j - 1;
	}
	return false;
}

/* A variable or constant: safe to duplicate and to put into a macro. */
static bool
fold_is_atom(const char *e)
{
	size_t len = strlen(e), tl;

	if (fold_var_at(e, e + len, "ijfdlp", &tl) >= 0 && tl == len)
		return true;
	if (len == 0 || !fold_is_digit(e[0]))
		return false;
	while (fold_is_digit(*e))
		e++;
	return strcmp(e, "u") == 0 || strcmp(e, "ull") == 0;
}

static void
fold_emit(struct fold *f, const char *s, size_t n)
{
	if (f->ok && core_buf_append(&f->out, s, n) != CORE_OK)
		f->ok = false;
}

static void
fold_emit_str(struct fold *f, const char *s)
{
	fold_emit(f, s, strlen(s));
}

/* The pending entry for name (length n), or NULL. */
static struct fold_slot *
fold_find(struct fold *f, const char *name, size_t n)
{
	unsigned k;

	for (k = 0; k < f->npending; k++)
		if (strlen(f->slot[k].name) == n &&
		    memcmp(f->slot[k].name, name, n) == 0)
			return &f->slot[k];
	return NULL;
}

static void
fold_drop(struct fold *f, struct fold_slot *s)
{
	free(s->expr);
	*s = f->slot[--f->npending];
	memset(&f->slot[f->npending], 0, sizeof(f->slot[0]));
}

/* Writes s's pending expression into its variable. */
static void
fold_materialize(struct fold *f, struct fold_slot *s, const char *indent,
    size_t ilen)
{
	fold_emit(f, indent, ilen);
	fold_emit_str(f, s->name);
	fold_emit(f, " = ", 3);
	fold_emit_str(f, s->expr);
	fold_emit(f, ";\n", 2);
	fold_drop(f, s);
}

static bool
fold_consumed(const char *base, const struct fold_read *r, int nr,
    const struct fold_slot *s)
{
	int k;

	for (k = 0; k < nr; k++)
		if (strlen(s->name) == r[k].len &&
		    memcmp(base + r[k].off, s->name, r[k].len) == 0)
			return true;
	return false;
}

/*
 * Materializes pending slots other than the line's reads: all of them, the
 * volatile ones, or those reading token var (NULL: not by that rule).
 */
static void
fold_flush(struct fold *f, bool all, bool vol, const char *var,
    const char *base, const struct fold_read *r, int nr, const char *indent,
    size_t ilen)
{
	struct fold_slot *s;
	size_t vl = var != NULL ? strlen(var) : 0;
	unsigned k = 0;

	while (k < f->npending) {
		s = &f->slot[k];
		if (!fold_consumed(base, r, nr, s) && (all || (vol && s->vol) ||
		    (var != NULL && fold_count_token(s->expr, strlen(s->expr),
		    var, vl) > 0)))
			fold_materialize(f, s, indent, ilen); /* k now holds
							       * another slot */
		else
			k++;
	}
}

/* Slot reads in s[0..n), offsets relative to base. Returns the count, or -1
 * if there are too many to track or a name is too long to be pending. */
static int
fold_reads(const char *base, const char *s, size_t n, struct fold_read *r)
{
	size_t i, tl;
	int nr = 0, t;

	for (i = 0; i < n; i++) {
		/* Not part of a longer name, nor a member ("instance->w2c_i0"
		 * is a global an export happened to name "i0"). */
		if (s[i] != 'w' || (i > 0 && (fold_is_ident(s[i - 1]) ||
		    s[i - 1] == '>' || s[i - 1] == '.')))
			continue;
		t = fold_var_at(s + i, s + n, fold_type_chars, &tl);
		if (t < 0)
			continue;
		if (nr == FOLD_MAX_READS || tl >= FOLD_MAX_NAME)
			return -1;
		r[nr].off = (size_t)(s + i - base);
		r[nr].len = tl;
		r[nr].type = t;
		nr++;
		i += tl - 1;
	}
	return nr;
}

/* Appends s[0..n) to b with each read slot replaced by its pending
 * expression (r sorted by offset, offsets relative to base). */
static void
fold_subst(struct fold *f, struct core_buf *b, const char *base,
    const char *s, size_t n, const struct fold_read *r, int nr)
{
	const char *p = s, *end = s + n, *tok;
	struct fold_slot *sl;
	int k;

	for (k = 0; k < nr; k++) {
		tok = base + r[k].off;
		if (tok < p || tok >= end)
			continue;
		sl = fold_find(f, tok, r[k].len);
		if (sl == NULL)
			continue;
		if (core_buf_append(b, p, (size_t)(tok - p)) != CORE_OK ||
		    core_buf_append_str(b, sl->expr) != CORE_OK)
			f->ok = false;
		p = tok + r[k].len;
	}
	if (core_buf_append(b, p, (size_t)(end - p)) != CORE_OK)
		f->ok = false;
}

/* Drops the pending expressions of the line's reads (now substituted). */
static void
fold_consume(struct fold *f, const char *base, const struct fold_read *r,
    int nr)
{
	struct fold_slot *s;
	int k;

	for (k = 0; k < nr; k++)
		if ((s = fold_find(f, base + r[k].off, r[k].len)) != NULL)
			fold_drop(f, s);
}

/* A label: "name:" possibly followed by ";". */
static bool
fold_is_label(const char *body, size_t n)
{
	size_t i = 0;

	while (i < n && fold_is_ident(body[i]))
		i++;
	return i > 0 && i < n && body[i] == ':';
}

/* An assignment or increment other than "==" / "!=": a statement that
 * writes something the pass did not recognise. */
static bool
fold_has_write(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '=' && !(i + 1 < n && s[i + 1] == '=') &&
		    !(i > 0 && (s[i - 1] == '=' || s[i - 1] == '!')))
			return true;
		if (i + 1 < n && ((s[i] == '+' && s[i + 1] == '+') ||
		    (s[i] == '-' && s[i + 1] == '-')))
			return true;
	}
	return false;
}

/* Parses the statement at body (length n, trailing ';' included). */
static enum fold_kind
fold_classify(const char *body, size_t n, int *lt, size_t *lhs_off,
    size_t *lhs_len, const char **op, size_t *oplen, const char **rhs)
{
	const char *end = body + n, *p;
	size_t tl;
	int t;

	*op = NULL;
	*oplen = 0;
	if ((n >= 4 && strncmp(body, "if (", 4) == 0) ||
	    (n >= 7 && strncmp(body, "return ", 7) == 0) ||
	    (n >= 8 && strncmp(body, "switch (", 8) == 0))
		return FOLD_BRANCH;
	if (n < 2 || body[n - 1] != ';' || fold_is_label(body, n) ||
	    memchr(body, '{', n) != NULL || memchr(body, '}', n) != NULL ||
	    strncmp(body, "goto ", 5) == 0 || strncmp(body, "case ", 5) == 0 ||
	    strncmp(body, "default", 7) == 0)
		return FOLD_CONTROL;
	p = body;
	if (n > 15 && strncmp(body, "instance->w2c_g", 15) == 0)
		p = body + 10;
	t = fold_var_at(p, end, "ijfdlpg", &tl);
	if (t < 0)
		return FOLD_STMT;
	if (tl >= FOLD_MAX_NAME)
		return FOLD_CONTROL;
	*lt = t;
	*lhs_off = (size_t)(p - body);
	*lhs_len = tl;
	p += tl;
	if (end - p > 3 && p[0] == ' ' && p[1] == '=' && p[2] == ' ') {
		*rhs = p + 3;
		if (t == 6)
			return *lhs_off == 10 ? FOLD_SET_GLOBAL : FOLD_STMT;
		if (t >= 4)
			return *lhs_off == 0 && memmem(*rhs,
			    (size_t)(end - *rhs), " = ", 3) == NULL ?
			    FOLD_SET_LOCAL : FOLD_STMT;
		return FOLD_ASSIGN;
	}
	if (t >= 4 || end - p < 5 || p[0] != ' ')
		return FOLD_STMT;
	*op = p + 1;
	p++;
	while (p < end && *p != '\0' && strchr("+-*/%&|^<>", *p) != NULL)
		p++;
	*oplen = (size_t)(p - *op);
	if (*oplen == 0 || *oplen > 2 || end - p < 3 || p[0] != '=' ||
	    p[1] != ' ')
		return FOLD_STMT;
	*rhs = p + 2;
	return FOLD_COMPOUND;
}

/* Makes name pending as e, taking over e. */
static void
fold_set_pending(struct fold *f, const char *name, size_t n, int type,
    char *e, const char *indent, size_t ilen)
{
	struct fold_slot *s = fold_find(f, name, n);

	if (s != NULL)
		fold_drop(f, s);
	if (f->npending == FOLD_MAX_PENDING)
		fold_materialize(f, &f->slot[0], indent, ilen);
	s = &f->slot[f->npending++];
	memcpy(s->name, name, n);
	s->name[n] = '\0';
	s->type = type;
	s->expr = e;
	s->vol = strstr(e, "instance->") != NULL;
}

/* An assignment or compound assignment to a slot: kept pending if it is a
 * pure expression, else written out with its reads substituted. */
static void
fold_assign(struct fold *f, const char *line, size_t ilen, const char *body,
    size_t blen, int lt, size_t lhs_len, const char *op, size_t oplen,
    const char *rhs, const struct fold_read *r, int nr, bool effect)
{
	struct core_buf nb;
	bool pendable;
	char *e = NULL;

	core_buf_init(&nb, 0);
	pendable = !effect &&
	    !(oplen == 1 && (*op == '/' || *op == '%') && lt < 2);
	if (op != NULL) {
		fold_subst(f, &nb, line, body, lhs_len, r, nr);
		if (core_buf_append_str(&nb, " ") != CORE_OK ||
		    core_buf_append(&nb, op, oplen) != CORE_OK ||
		    core_buf_append_str(&nb, " (") != CORE_OK)
			f->ok = false;
	}
	fold_subst(f, &nb, line, rhs, (size_t)(body + blen - 1 - rhs), r, nr);
	if ((op != NULL && core_buf_append_str(&nb, ")") != CORE_OK) ||
	    core_buf_append(&nb, "", 1) != CORE_OK)
		f->ok = false;
	if (!f->ok)
		goto out;
	fold_consume(f, line, r, nr);
	if (pendable && nb.len < FOLD_MAX_EXPR) {
		if (fold_is_atom((char *)nb.data))
			e = strdup((char *)nb.data);
		else if (asprintf(&e, "((%s)(%s))", fold_casts[lt],
		    (char *)nb.data) < 0)
			e = NULL;
		if (e == NULL) {
			f->ok = false;
			goto out;
		}
		fold_set_pending(f, body, lhs_len, lt, e, line, ilen);
	} else {
		fold_emit(f, line, ilen);
		fold_emit(f, body, lhs_len);
		fold_emit(f, " = ", 3);
		fold_emit_str(f, (char *)nb.data);
		fold_emit(f, ";\n", 2);
	}
out:
	core_buf_cleanup(&nb);
}

/*
 * Before line (of kind, target lhs, reads r in region) is written: writes
 * out the pending values it cannot take or must not outlive it. Returns
 * whether the line may have an effect or trap.
 */
static bool
fold_write_back(struct fold *f, enum fold_kind kind, const char *line,
    size_t ilen, const char *lhs, size_t lhs_len, const char *region,
    size_t rlen, const struct fold_read *r, int nr)
{
	struct fold_slot *s;
	char var[FOLD_MAX_NAME];
	bool macro = fold_has_macro(region, rlen), effect;
	int k, count;

	/* Reads that cannot take their expression. */
	for (k = 0; k < nr; k++) {
		s = fold_find(f, line + r[k].off, r[k].len);
		if (s == NULL || fold_is_atom(s->expr))
			continue;
		count = fold_count_token(region, rlen, s->name, r[k].len);
		/* A select ("c ? a : b") evaluates one of a and b, wasm both:
		 * what may trap must have been evaluated. */
		if (macro || count != 1 || (s->vol &&
		    memchr(region, '?', rlen) != NULL))
			fold_materialize(f, s, line, ilen);
	}
	/* Everything else that must not stay pending past this line. */
	effect = kind == FOLD_STMT || fold_has_effect(region, rlen);
	if (kind == FOLD_CONTROL || kind == FOLD_BRANCH) {
		fold_flush(f, true, false, NULL, line, r, nr, line, ilen);
		return effect;
	}
	if (kind == FOLD_STMT) {
		fold_flush(f, false, true, NULL, line, r, nr, line, ilen);
		return effect;
	}
	memcpy(var, lhs, lhs_len);
	var[lhs_len] = '\0';
	fold_flush(f, false, effect, var, line, r, nr, line, ilen);
	/* An overwritten slot's expression is dead unless it may trap. */
	s = fold_find(f, var, lhs_len);
	if (kind == FOLD_ASSIGN && s != NULL && !fold_consumed(line, r, nr, s)) {
		if (s->vol)
			fold_materialize(f, s, line, ilen);
		else
			fold_drop(f, s);
	}
	return effect;
}

static void
fold_line(struct fold *f, const char *line, size_t len)
{
	struct fold_read r[FOLD_MAX_READS] = { { 0, 0, 0 } };
	struct core_buf nb;
	const char *body = line, *end = line + len, *op = NULL, *rhs = NULL;
	const char *region, *tee = NULL;
	enum fold_kind kind;
	size_t ilen, blen, lhs_off = 0, lhs_len = 0, oplen = 0, rlen;
	int nr = 0, k, lt = -1;
	bool effect;

	while (body < end && *body == ' ')
		body++;
	ilen = (size_t)(body - line);
	blen = (size_t)(end - body);
	while (blen > 0 && (body[blen - 1] == ' ' || body[blen - 1] == '\r'))
		blen--;
	if (ilen == 0 || blen == 0 ||
	    (blen == 14 && (memcmp(body, "FUNC_PROLOGUE;", 14) == 0 ||
	    memcmp(body, "FUNC_EPILOGUE;", 14) == 0))) {
		/* Outside functions (nothing is pending there) or no-ops. */
		if (ilen == 0 && blen != 0)
			fold_flush(f, true, false, NULL, line, r, 0, "  ", 2);
		fold_emit(f, line, len);
		fold_emit(f, "\n", 1);
		return;
	}
	kind = fold_classify(body, blen, &lt, &lhs_off, &lhs_len, &op, &oplen,
	    &rhs);
	/* A statement that writes what the pass cannot name: nothing may
	 * stay pending across it. */
	if (kind == FOLD_STMT && fold_has_write(body, blen))
		kind = FOLD_CONTROL;
	/* Reads: the whole statement, but not an assignment's target. */
	region = kind == FOLD_ASSIGN || kind == FOLD_SET_LOCAL ||
	    kind == FOLD_SET_GLOBAL ? rhs : body;
	rlen = (size_t)(body + blen - region);
	if (kind != FOLD_CONTROL)
		nr = fold_reads(line, region, rlen, r);
	if (nr < 0) {
		kind = FOLD_CONTROL;
		nr = 0;
	}
	effect = fold_write_back(f, kind, line, ilen, body + lhs_off, lhs_len,
	    region, rlen, r, nr);
	if (kind == FOLD_ASSIGN || kind == FOLD_COMPOUND) {
		fold_assign(f, line, ilen, body, blen, lt, lhs_len, op, oplen,
		    rhs, r, nr, effect);
		return;
	}
	/* Any other line: written out with its reads substituted. local.tee
	 * ("w2c_l3 = w2c_i0;", as local.set) leaves the slot holding the
	 * local's value. */
	if (kind == FOLD_SET_LOCAL && nr == 1 && line + r[0].off == region &&
	    region + r[0].len + 1 ==
	    body + blen && fold_find(f, region, r[0].len) != NULL)
		tee = region;
	for (k = 0; k < nr && fold_find(f, line + r[k].off, r[k].len) == NULL;
	    k++)
		;
	if (k == nr) {
		/* Nothing to substitute: the line as it was. */
		fold_emit(f, line, len);
	} else {
		core_buf_init(&nb, 0);
		fold_subst(f, &nb, line, line, (size_t)(body + blen - line), r,
		    nr);
		fold_emit(f, (char *)nb.data, nb.len);
		core_buf_cleanup(&nb);
	}
	fold_emit(f, "\n", 1);
	if (tee != NULL) {
		char name[FOLD_MAX_NAME];
		char *e = strndup(body, lhs_len);

		memcpy(name, tee, r[0].len);
		fold_consume(f, line, r, nr);
		if (e == NULL)
			f->ok = false;
		else
			fold_set_pending(f, name, r[0].len, r[0].type, e, line,
			    ilen);
		return;
	}
	fold_consume(f, line, r, nr);
}

char *
wasm_tier1_fold(const char *c)
{
	struct fold *f;
	const char *line = c, *nl;
	size_t len;
	char *res = NULL;
	unsigned k;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	core_buf_init(&f->out, 0);
	f->ok = true;
	while (f->ok && *line != '\0') {
		nl = strchr(line, '\n');
		len = nl != NULL ? (size_t)(nl - line) : strlen(line);
		fold_line(f, line, len);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	fold_flush(f, true, false, NULL, c, NULL, 0, "  ", 2);
	for (k = 0; k < f->npending; k++)
		free(f->slot[k].expr);
	if (f->ok && core_buf_append(&f->out, "", 1) == CORE_OK)
		res = (char *)core_buf_steal(&f->out, NULL);
	core_buf_cleanup(&f->out);
	free(f);
	return res;
}
