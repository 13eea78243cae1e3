/*
 * module.c -- the module reader: header, section walk, types, imports,
 * functions, memories, exports. Every read is bounded by the end of the
 * current section; an error names the section and the byte offset.
 */
#include "wasm/wasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "wasm/wasi.h"

struct rd {
	const uint8_t *p;  /* borrowed: whole module */
	size_t pos;        /* current offset */
	size_t end;        /* end of the current section */
	const char *sect;  /* name of the current section */
	struct core_errbuf *eb;
};

static enum core_err rd_fail(struct rd *r, enum core_err err,
    const char *what);
static enum core_err rd_u8(struct rd *r, uint8_t *out);
static enum core_err rd_leb(struct rd *r, int maxbits, uint64_t *out);
static enum core_err rd_u32(struct rd *r, uint32_t *out);
static enum core_err rd_name(struct rd *r, char **out);
static enum core_err rd_limits(struct rd *r, uint32_t *min, uint32_t *max);
static enum core_err rd_count(struct rd *r, uint32_t max, size_t min_bytes,
    uint32_t *out);
static enum core_err parse_types(struct rd *r, struct wasm_module *m);
static enum core_err parse_imports(struct rd *r, struct wasm_module *m);
static enum core_err parse_functions(struct rd *r, struct wasm_module *m);
static enum core_err parse_memories(struct rd *r, struct wasm_module *m);
static enum core_err parse_exports(struct rd *r, struct wasm_module *m);
static bool valtype_ok(uint8_t t);

static const char *const section_names[] = {
	"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count"
};

static enum core_err
rd_fail(struct rd *r, enum core_err err, const char *what)
{
	return core_errf(r->eb, err, "wasm: %s section at offset 0x%zx: %s",
	    r->sect, r->pos, what);
}

static enum core_err
rd_u8(struct rd *r, uint8_t *out)
{
	if (r->pos >= r->end)
		return rd_fail(r, CORE_ERR_INVALID, "unexpected end of section");
	*out = r->p[r->pos++];
	return CORE_OK;
}

static enum core_err
rd_leb(struct rd *r, int maxbits, uint64_t *out)
{
	uint64_t v = 0;
	int shift = 0;
	uint8_t b;

	for (;;) {
		if (r->pos >= r->end)
			return rd_fail(r, CORE_ERR_INVALID,
			    "LEB128 runs past the end");
		b = r->p[r->pos++];
		if (shift >= maxbits)
			return rd_fail(r, CORE_ERR_INVALID, "LEB128 too long");
		if (maxbits - shift < 7 && (b & 0x7f) >> (maxbits - shift) != 0)
			return rd_fail(r, CORE_ERR_INVALID,
			    "LEB128 value overflows");
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if ((b & 0x80) == 0)
			break;
	}
	*out = v;
	return CORE_OK;
}

static enum core_err
rd_u32(struct rd *r, uint32_t *out)
{
	uint64_t v;
	enum core_err err;

	err = rd_leb(r, 32, &v);
	if (err != CORE_OK)
		return err;
	*out = (uint32_t)v;
	return CORE_OK;
}

/* A count of items each at least min_bytes long: bounded by the section. */
static enum core_err
rd_count(struct rd *r, uint32_t max, size_t min_bytes, uint32_t *out)
{
	enum core_err err;

	err = rd_u32(r, out);
	if (err != CORE_OK)
		return err;
	if (*out > max)
		return rd_fail(r, CORE_ERR_TOO_BIG, "count beyond the limit");
	if ((size_t)*out * min_bytes > r->end - r->pos)
		return rd_fail(r, CORE_ERR_INVALID,
		    "count larger than the section can hold");
	return CORE_OK;
}

static enum core_err
rd_name(struct rd *r, char **out)
{
	uint32_t len;
	enum core_err err;
	char *s;

	err = rd_u32(r, &len);
	if (err != CORE_OK)
		return err;
	if (len > WASM_MAX_NAME_BYTES)
		return rd_fail(r, CORE_ERR_TOO_BIG, "name too long");
	if (len > r->end - r->pos)
		return rd_fail(r, CORE_ERR_INVALID,
		    "name runs past the section end");
	if (memchr(r->p + r->pos, '\0', len) != NULL)
		return rd_fail(r, CORE_ERR_INVALID, "name contains a NUL byte");
	s = malloc((size_t)len + 1);
	if (s == NULL)
		return core_errf(r->eb, CORE_ERR_NOMEM, "wasm: out of memory");
	memcpy(s, r->p + r->pos, len);
	s[len] = '\0';
	r->pos += len;
	*out = s;
	return CORE_OK;
}

static enum core_err
rd_limits(struct rd *r, uint32_t *min, uint32_t *max)
{
	uint8_t flags = 0;
	enum core_err err;

	err = rd_u8(r, &flags);
	if (err != CORE_OK)
		return err;
	if (flags > 1)
		return rd_fail(r, CORE_ERR_UNSUPPORTED,
		    "unsupported limits flags (shared or 64-bit memory)");
	err = rd_u32(r, min);
	if (err != CORE_OK)
		return err;
	*max = UINT32_MAX;
	if (flags == 1) {
		err = rd_u32(r, max);
		if (err != CORE_OK)
			return err;
		if (*max < *min)
			return rd_fail(r, CORE_ERR_INVALID,
			    "limits maximum below minimum");
	}
	return CORE_OK;
}

static bool
valtype_ok(uint8_t t)
{
	return t == WASM_VAL_I32 || t == WASM_VAL_I64 || t == WASM_VAL_F32 ||
	    t == WASM_VAL_F64 || t == WASM_VAL_V128 ||
	    t == WASM_VAL_FUNCREF || t == WASM_VAL_EXTERNREF;
}

static enum core_err
parse_types(struct rd *r, struct wasm_module *m)
{
	uint32_t n, i, j;
	uint8_t form;
	enum core_err err;
	struct wasm_functype *ft;

	err = rd_count(r, WASM_MAX_TYPES, 3, &n);
	if (err != CORE_OK)
		return err;
	m->types = calloc(n ? n : 1, sizeof(*m->types));
	if (m->types == NULL)
		return core_errf(r->eb, CORE_ERR_NOMEM, "wasm: out of memory");
	for (i = 0; i < n; i++) {
		ft = &m->types[i];
		m->ntypes = i + 1;
		err = rd_u8(r, &form);
		if (err != CORE_OK)
			return err;
		if (form != 0x60)
			return rd_fail(r, CORE_ERR_INVALID,
			    "type is not a function type (0x60)");
		err = rd_count(r, WASM_MAX_PARAMS, 1, &ft->nparams);
		if (err != CORE_OK)
			return err;
		ft->params = malloc(ft->nparams + 1);
		if (ft->params == NULL)
			return core_errf(r->eb, CORE_ERR_NOMEM,
			    "wasm: out of memory");
		for (j = 0; j < ft->nparams; j++) {
			err = rd_u8(r, &ft->params[j]);
			if (err != CORE_OK)
				return err;
			if (!valtype_ok(ft->params[j]))
				return rd_fail(r, CORE_ERR_INVALID,
				    "unknown value type");
		}
		err = rd_count(r, WASM_MAX_PARAMS, 1, &ft->nresults);
		if (err != CORE_OK)
			return err;
		ft->results = malloc(ft->nresults + 1);
		if (ft->results == NULL)
			return core_errf(r->eb, CORE_ERR_NOMEM,
			    "wasm: out of memory");
		for (j = 0; j < ft->nresults; j++) {
			err = rd_u8(r, &ft->results[j]);
			if (err != CORE_OK)
				return err;
			if (!valtype_ok(ft->results[j]))
				return rd_fail(r, CORE_ERR_INVALID,
				    "unknown value type");
		}
	}
	return CORE_OK;
}

static enum core_err
parse_imports(struct rd *r, struct wasm_module *m)
{
	uint32_t n, i, min, max, idx;
	uint8_t b;
	uint64_t ignored;
	enum core_err err;
	struct wasm_import *im;

	err = rd_count(r, WASM_MAX_IMPORTS, 4, &n);
	if (err != CORE_OK)
		return err;
	m->imports = calloc(n ? n : 1, sizeof(*m->imports));
	if (m->imports == NULL)
		return core_errf(r->eb, CORE_ERR_NOMEM, "wasm: out of memory");
	for (i = 0; i < n; i++) {
		im = &m->imports[i];
		m->nimports = i + 1;
		if ((err = rd_name(r, &im->module)) != CORE_OK ||
		    (err = rd_name(r, &im->field)) != CORE_OK ||
		    (err = rd_u8(r, &im->kind)) != CORE_OK)
			return err;
		switch (im->kind) {
		case WASM_EXTERN_FUNC:
			err = rd_u32(r, &idx);
			if (err != CORE_OK)
				return err;
			if (idx >= m->ntypes)
				return rd_fail(r, CORE_ERR_INVALID,
				    "import type index out of range");
			im->type_idx = idx;
			m->nfunc_imports++;
			break;
		case WASM_EXTERN_TABLE:
			if ((err = rd_u8(r, &b)) != CORE_OK ||
			    (err = rd_limits(r, &min, &max)) != CORE_OK)
				return err;
			break;
		case WASM_EXTERN_MEMORY:
			err = rd_limits(r, &min, &max);
			if (err != CORE_OK)
				return err;
			m->has_memory = true;
			m->mem_initial_pages = min;
			m->mem_max_pages = max;
			break;
		case WASM_EXTERN_GLOBAL:
			if ((err = rd_u8(r, &b)) != CORE_OK ||
			    (err = rd_leb(r, 1, &ignored)) != CORE_OK)
				return err;
			break;
		default:
			return rd_fail(r, CORE_ERR_INVALID, "unknown import kind");
		}
	}
	return CORE_OK;
}

static enum core_err
parse_functions(struct rd *r, struct wasm_module *m)
{
	uint32_t n, i;
	enum core_err err;

	err = rd_count(r, WASM_MAX_FUNCS, 1, &n);
	if (err != CORE_OK)
		return err;
	m->func_types = calloc(n ? n : 1, sizeof(*m->func_types));
	if (m->func_types == NULL)
		return core_errf(r->eb, CORE_ERR_NOMEM, "wasm: out of memory");
	for (i = 0; i < n; i++) {
		err = rd_u32(r, &m->func_types[i]);
		if (err != CORE_OK)
			return err;
		if (m->func_types[i] >= m->ntypes)
			return rd_fail(r, CORE_ERR_INVALID,
			    "function type index out of range");
		m->nfuncs = i + 1;
	}
	return CORE_OK;
}

static enum core_err
parse_memories(struct rd *r, struct wasm_module *m)
{
	uint32_t n, i, min, max;
	enum core_err err;

	err = rd_count(r, 1, 2, &n);
	if (err != CORE_OK)
		return err;
	for (i = 0; i < n; i++) {
		if (m->has_memory)
			return rd_fail(r, CORE_ERR_UNSUPPORTED,
			    "more than one memory");
		err = rd_limits(r, &min, &max);
		if (err != CORE_OK)
			return err;
		if (min > 65536 || (max != UINT32_MAX && max > 65536))
			return rd_fail(r, CORE_ERR_INVALID,
			    "memory larger than 4 GiB");
		m->has_memory = true;
		m->mem_initial_pages = min;
		m->mem_max_pages = max;
	}
	return CORE_OK;
}

static enum core_err
parse_exports(struct rd *r, struct wasm_module *m)
{
	uint32_t n, i, j;
	enum core_err err;
	struct wasm_export *ex;

	err = rd_count(r, WASM_MAX_EXPORTS, 3, &n);
	if (err != CORE_OK)
		return err;
	m->exports = calloc(n ? n : 1, sizeof(*m->exports));
	if (m->exports == NULL)
		return core_errf(r->eb, CORE_ERR_NOMEM, "wasm: out of memory");
	for (i = 0; i < n; i++) {
		ex = &m->exports[i];
		m->nexports = i + 1;
		if ((err = rd_name(r, &ex->name)) != CORE_OK ||
		    (err = rd_u8(r, &ex->kind)) != CORE_OK ||
		    (err = rd_u32(r, &ex->index)) != CORE_OK)
			return err;
		if (ex->kind > WASM_EXTERN_GLOBAL)
			return rd_fail(r, CORE_ERR_INVALID, "unknown export kind");
		if (ex->kind == WASM_EXTERN_FUNC &&
		    ex->index >= m->nfunc_imports + m->nfuncs)
			return rd_fail(r, CORE_ERR_INVALID,
			    "export function index out of range");
		for (j = 0; j < i; j++)
			if (strcmp(m->exports[j].name, ex->name) == 0)
				return rd_fail(r, CORE_ERR_INVALID,
				    "duplicate export name");
	}
	return CORE_OK;
}

enum core_err
wasm_module_parse(const uint8_t *p, size_t n, struct wasm_module **out,
    struct core_errbuf *eb)
{
	static const uint8_t magic[8] = { 0, 'a', 's', 'm', 1, 0, 0, 0 };
	struct wasm_module *m = NULL;
	struct rd r;
	enum core_err err = CORE_OK;
	uint8_t id, last_id = 0;
	uint32_t size;
	size_t sect_start;
	unsigned int mdlen = 0;

	*out = NULL;
	if (p == NULL && n != 0)
		return core_errf(eb, CORE_ERR_INVALID, "wasm: no module bytes");
	if (n > WASM_MODULE_MAX_BYTES)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "wasm: module of %zu bytes exceeds the %u-byte limit", n,
		    WASM_MODULE_MAX_BYTES);
	if (n < 8)
		return core_errf(eb, CORE_ERR_INVALID,
		    "wasm: header at offset 0x0: module is %zu bytes, shorter "
		    "than the 8-byte header", n);
	if (memcmp(p, magic, 4) != 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "wasm: header at offset 0x0: bad magic (not a WebAssembly "
		    "binary)");
	if (memcmp(p + 4, magic + 4, 4) != 0)
		return core_errf(eb, CORE_ERR_UNSUPPORTED,
		    "wasm: header at offset 0x4: unsupported version "
		    "%02x%02x%02x%02x (only 1; components are not supported)",
		    p[4], p[5], p[6], p[7]);

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
	m->mem_max_pages = UINT32_MAX;

	r.p = p;
	r.pos = 8;
	r.eb = eb;
	while (r.pos < n) {
		r.end = n;
		r.sect = "section header";
		id = p[r.pos++];
		if (id < CORE_ARRAY_LEN(section_names))
			r.sect = section_names[id];
		else {
			r.pos--;
			err = rd_fail(&r, CORE_ERR_INVALID, "unknown section id");
			goto out;
		}
		err = rd_u32(&r, &size);
		if (err != CORE_OK)
			goto out;
		if (size > n - r.pos) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "wasm: %s section at offset 0x%zx: section length "
			    "%u runs past the end of the module (%zu bytes "
			    "left)", r.sect, r.pos, size, n - r.pos);
			goto out;
		}
		sect_start = r.pos;
		r.end = r.pos + size;
		if (id != 0 && id != 12) {
			if (id <= last_id) {
				err = rd_fail(&r, CORE_ERR_INVALID,
				    "section out of order or repeated");
				goto out;
			}
			last_id = id;
		}
		switch (id) {
		case 1: err = parse_types(&r, m); break;
		case 2: err = parse_imports(&r, m); break;
		case 3: err = parse_functions(&r, m); break;
		case 5: err = parse_memories(&r, m); break;
		case 7: err = parse_exports(&r, m); break;
		case 8: m->has_start = true; r.pos = r.end; break;
		default: r.pos = r.end; break;
		}
		if (err != CORE_OK)
			goto out;
		if (r.pos != r.end) {
			err = rd_fail(&r, CORE_ERR_INVALID,
			    "section has trailing bytes");
			goto out;
		}
		(void)sect_start;
	}

	m->bytes = malloc(n);
	if (m->bytes == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "wasm: out of memory");
		goto out;
	}
	memcpy(m->bytes, p, n);
	m->len = n;
	if (EVP_Digest(p, n, m->sha256, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		err = core_errf(eb, CORE_ERR_CRYPTO, "wasm: sha256 failed");
		goto out;
	}
	for (size_t i = 0; i < 32; i++)
		snprintf(m->sha256_hex + 2 * i, 3, "%02x", m->sha256[i]);
	*out = m;
	m = NULL;
out:
	wasm_module_free(m);
	return err;
}

void
wasm_module_free(struct wasm_module *m)
{
	uint32_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ntypes; i++) {
		free(m->types[i].params);
		free(m->types[i].results);
	}
	free(m->types);
	for (i = 0; i < m->nimports; i++) {
		free(m->imports[i].module);
		free(m->imports[i].field);
	}
	free(m->imports);
	for (i = 0; i < m->nexports; i++)
		free(m->exports[i].name);
	free(m->exports);
	free(m->func_types);
	free(m->bytes);
	free(m);
}

const struct wasm_export *
wasm_module_export(const struct wasm_module *m, const char *name)
{
	uint32_t i;

	for (i = 0; i < m->nexports; i++)
		if (strcmp(m->exports[i].name, name) == 0)
			return &m->exports[i];
	return NULL;
}

const struct wasm_functype *
wasm_module_export_functype(const struct wasm_module *m, const char *name)
{
	const struct wasm_export *ex = wasm_module_export(m, name);
	uint32_t idx, seen = 0, i;

	if (ex == NULL || ex->kind != WASM_EXTERN_FUNC)
		return NULL;
	idx = ex->index;
	if (idx < m->nfunc_imports) {
		for (i = 0; i < m->nimports; i++) {
			if (m->imports[i].kind != WASM_EXTERN_FUNC)
				continue;
			if (seen++ == idx)
				return &m->types[m->imports[i].type_idx];
		}
		return NULL;
	}
	idx -= m->nfunc_imports;
	if (idx >= m->nfuncs)
		return NULL;
	return &m->types[m->func_types[idx]];
}

const char *
wasm_valtype_name(uint8_t t)
{
	switch (t) {
	case WASM_VAL_I32: return "i32";
	case WASM_VAL_I64: return "i64";
	case WASM_VAL_F32: return "f32";
	case WASM_VAL_F64: return "f64";
	case WASM_VAL_V128: return "v128";
	case WASM_VAL_FUNCREF: return "funcref";
	case WASM_VAL_EXTERNREF: return "externref";
	default: return "unknown";
	}
}

/*
 * The preview1 signatures: parameters then results, i = i32, I = i64. The
 * host functions have exactly these C signatures, so a module declaring an
 * import with another type is refused before anything calls it.
 */
static const struct {
	const char *name;
	const char *params;
	const char *results;
} wasi_sigs[] = {
	{ "args_get", "ii", "i" }, { "args_sizes_get", "ii", "i" },
	{ "environ_get", "ii", "i" }, { "environ_sizes_get", "ii", "i" },
	{ "clock_res_get", "ii", "i" }, { "clock_time_get", "iIi", "i" },
	{ "fd_advise", "iIIi", "i" }, { "fd_allocate", "iII", "i" },
	{ "fd_close", "i", "i" }, { "fd_datasync", "i", "i" },
	{ "fd_fdstat_get", "ii", "i" }, { "fd_fdstat_set_flags", "ii", "i" },
	{ "fd_fdstat_set_rights", "iII", "i" },
	{ "fd_filestat_get", "ii", "i" }, { "fd_filestat_set_size", "iI", "i" },
	{ "fd_filestat_set_times", "iIIi", "i" }, { "fd_pread", "iiiIi", "i" },
	{ "fd_prestat_get", "ii", "i" }, { "fd_prestat_dir_name", "iii", "i" },
	{ "fd_pwrite", "iiiIi", "i" }, { "fd_read", "iiii", "i" },
	{ "fd_readdir", "iiiIi", "i" }, { "fd_renumber", "ii", "i" },
	{ "fd_seek", "iIii", "i" }, { "fd_sync", "i", "i" },
	{ "fd_tell", "ii", "i" }, { "fd_write", "iiii", "i" },
	{ "path_create_directory", "iii", "i" },
	{ "path_filestat_get", "iiiii", "i" },
	{ "path_filestat_set_times", "iiiiIIi", "i" },
	{ "path_link", "iiiiiii", "i" }, { "path_open", "iiiiiIIii", "i" },
	{ "path_readlink", "iiiiii", "i" },
	{ "path_remove_directory", "iii", "i" },
	{ "path_rename", "iiiiii", "i" }, { "path_symlink", "iiiii", "i" },
	{ "path_unlink_file", "iii", "i" }, { "poll_oneoff", "iiii", "i" },
	{ "proc_exit", "i", "" }, { "proc_raise", "i", "i" },
	{ "sched_yield", "", "i" }, { "random_get", "ii", "i" },
	{ "sock_accept", "iii", "i" }, { "sock_recv", "iiiiii", "i" },
	{ "sock_send", "iiiii", "i" }, { "sock_shutdown", "ii", "i" },
};

static bool
sig_matches(const char *want, const uint8_t *have, uint32_t n)
{
	uint32_t i;

	if (strlen(want) != n)
		return false;
	for (i = 0; i < n; i++)
		if (have[i] != (want[i] == 'I' ? WASM_VAL_I64 : WASM_VAL_I32))
			return false;
	return true;
}

static void
sig_format(char *out, size_t outlen, const struct wasm_functype *ft)
{
	size_t o = 0;
	uint32_t i;

	o += (size_t)snprintf(out + o, outlen - o, "(");
	for (i = 0; i < ft->nparams && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "",
		    wasm_valtype_name(ft->params[i]));
	if (o < outlen)
		o += (size_t)snprintf(out + o, outlen - o, ") -> (");
	for (i = 0; i < ft->nresults && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? ", " : "",
		    wasm_valtype_name(ft->results[i]));
	if (o < outlen)
		snprintf(out + o, outlen - o, ")");
}

enum core_err
wasm_module_check_imports(const struct wasm_module *m,
    struct core_errbuf *eb)
{
	uint32_t i;
	size_t k;
	const struct wasm_import *im;
	const struct wasm_functype *ft;
	char have[160];

	for (i = 0; i < m->nimports; i++) {
		im = &m->imports[i];
		if (strcmp(im->module, "wasi_snapshot_preview1") != 0)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "wasm: unknown import: module \"%s\" field \"%s\" "
			    "(only wasi_snapshot_preview1 functions can be "
			    "imported)", im->module, im->field);
		if (im->kind != WASM_EXTERN_FUNC)
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "wasm: unsupported import: module \"%s\" field "
			    "\"%s\" is not a function", im->module, im->field);
		if (!wasi_import_known(im->field))
			return core_errf(eb, CORE_ERR_UNSUPPORTED,
			    "wasm: unknown import: module \"%s\" field \"%s\" "
			    "(not a WASI preview1 function)", im->module,
			    im->field);
		ft = &m->types[im->type_idx];
		for (k = 0; k < CORE_ARRAY_LEN(wasi_sigs); k++) {
			if (strcmp(wasi_sigs[k].name, im->field) != 0)
				continue;
			if (sig_matches(wasi_sigs[k].params, ft->params,
			    ft->nparams) && sig_matches(wasi_sigs[k].results,
			    ft->results, ft->nresults))
				break;
			sig_format(have, sizeof(have), ft);
			return core_errf(eb, CORE_ERR_INVALID,
			    "wasm: import module \"%s\" field \"%s\" has type "
			    "%s, not the WASI preview1 signature", im->module,
			    im->field, have);
		}
	}
	return CORE_OK;
}
