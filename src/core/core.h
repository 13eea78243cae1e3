/*
 * core.h -- the foundation every other module stands on.
 *
 * Owns: the error convention (enum core_err + struct core_errbuf), logging,
 * bounded growable buffers, jansson helpers, base64/base64url/hex codecs,
 * UUIDs, RFC 3339 time, environment configuration, safe file I/O (bounded
 * reads, atomic writes, private memory-backed temp dirs), the secret type and
 * subprocess helpers.
 *
 * Depends on: libc, jansson, OpenSSL (RAND_bytes, OPENSSL_cleanse only).
 * Never: logs from anything but the log_* calls, keeps global state other
 * than the log configuration, or writes outside the paths it is given.
 */
#ifndef PROPELLER_CORE_H
#define PROPELLER_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#ifdef PROPELLER_UNIT_TEST
#define STATIC
#else
#define STATIC static
#endif

#define CORE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CORE_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * One error type for the whole project. CORE_OK is 0, so `if (err)` works.
 * The code says what kind of failure it was; the text in a core_errbuf says
 * what exactly went wrong.
 */
enum core_err {
	CORE_OK = 0,
	CORE_ERR_INVALID,     /* bad argument or malformed input */
	CORE_ERR_NOMEM,       /* allocation failed */
	CORE_ERR_IO,          /* read/write/fs failure (errno-based) */
	CORE_ERR_NOT_FOUND,   /* file, key, resource, export absent */
	CORE_ERR_EXISTS,      /* already exists / conflict */
	CORE_ERR_TOO_BIG,     /* input beyond its bound */
	CORE_ERR_PERM,        /* permission or policy denied */
	CORE_ERR_AUTH,        /* authentication/signature/MAC failure */
	CORE_ERR_CRYPTO,      /* a crypto library call failed */
	CORE_ERR_NET,         /* network / HTTP / protocol failure */
	CORE_ERR_TIMEOUT,     /* deadline passed */
	CORE_ERR_UNSUPPORTED, /* valid but not implemented / not available */
	CORE_ERR_TRAP,        /* a WebAssembly trap */
	CORE_ERR_STATE,       /* operation not valid in the current state */
	CORE_ERR_INTERNAL     /* a bug */
};

/* Short stable name of an error code ("invalid", "io", ...). */
const char *core_err_str(enum core_err err);

#define CORE_ERRBUF_LEN 512

/*
 * Carries the reason for a failure up to whoever logs it. May be NULL
 * everywhere one is accepted. The first message set wins unless
 * core_errbuf_prefix() adds context in front of it.
 */
struct core_errbuf {
	char msg[CORE_ERRBUF_LEN];
};

/* Clears eb (no-op if NULL). */
void core_errbuf_clear(struct core_errbuf *eb);

/*
 * Formats a message into eb (if non-NULL and still empty) and returns err, so
 * callers write `return core_errf(eb, CORE_ERR_INVALID, "bad %s", x);`.
 */
enum core_err core_errf(struct core_errbuf *eb, enum core_err err,
    const char *fmt, ...) CORE_PRINTF(3, 4);

/* Like core_errf, appending ": strerror(errno)". errno is read at entry. */
enum core_err core_errf_errno(struct core_errbuf *eb, enum core_err err,
    const char *fmt, ...) CORE_PRINTF(3, 4);

/* Prepends "prefix: " to the message in eb (adds context going up). */
void core_errbuf_prefix(struct core_errbuf *eb, const char *fmt, ...)
    CORE_PRINTF(2, 3);

/* The message, or the empty string when eb is NULL. */
const char *core_errbuf_msg(const struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

/*
 * Lines go to stderr as
 *   ts=2026-11-25T12:00:00.123Z level=info proc=proplet mod=oci msg="..." k=v
 * Each .c file that logs defines LOG_MODULE before including core.h or uses
 * the default "main". The level is checked before any formatting.
 */
enum log_level { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR, LOG_LEVEL_NONE };

#ifndef LOG_MODULE
#define LOG_MODULE "main"
#endif

/* Sets the process name shown as proc=. The string is borrowed. */
void log_set_proc(const char *proc);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses debug|info|warn|warning|error|none (case-insensitive). */
enum core_err log_level_parse(const char *s, enum log_level *out);
/* Redirects log output (default stderr; NULL restores stderr). */
void log_set_fd(int fd);

/*
 * Emits one line. `fields` is optional extra key=value text appended as is
 * (e.g. "task=1234 len=42"); the message is quoted and escaped.
 */
void log_emit(enum log_level level, const char *mod, const char *fields,
    const char *fmt, ...) CORE_PRINTF(4, 5);

#define log_debug(...) do { if (log_get_level() <= LOG_LEVEL_DEBUG) \
	log_emit(LOG_LEVEL_DEBUG, LOG_MODULE, NULL, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_get_level() <= LOG_LEVEL_INFO) \
	log_emit(LOG_LEVEL_INFO, LOG_MODULE, NULL, __VA_ARGS__); } while (0)
#define log_warnx(...) do { if (log_get_level() <= LOG_LEVEL_WARN) \
	log_emit(LOG_LEVEL_WARN, LOG_MODULE, NULL, __VA_ARGS__); } while (0)
#define log_errorx(...) do { if (log_get_level() <= LOG_LEVEL_ERROR) \
	log_emit(LOG_LEVEL_ERROR, LOG_MODULE, NULL, __VA_ARGS__); } while (0)
/* With fields: log_infof("task=%s", id, "started in %d ms", ms) is not
 * possible in C; use log_kv(level, "task=abc", "fmt", ...) instead. */
#define log_kv(level, fields, ...) do { if (log_get_level() <= (level)) \
	log_emit((level), LOG_MODULE, (fields), __VA_ARGS__); } while (0)
/* Appends ": strerror(errno)". */
void log_warn_errno(const char *mod, const char *fmt, ...) CORE_PRINTF(2, 3);
#define log_warn(...) log_warn_errno(LOG_MODULE, __VA_ARGS__)

/* Logs at error level and exits 1. Only for main() and startup. */
void core_fatalx(const char *fmt, ...) CORE_PRINTF(1, 2)
    __attribute__((noreturn));

/* ------------------------------------------------------------------ */
/* Bounded growable buffer                                             */
/* ------------------------------------------------------------------ */

/*
 * A byte buffer with a ceiling: appending past `max_len` fails with
 * CORE_ERR_TOO_BIG and leaves the buffer unchanged. The data is always
 * followed by a NUL byte (not counted in len) so text can be used directly.
 * Fields are read-only outside buf.c.
 */
struct core_buf {
	uint8_t *data;  /* owned */
	size_t len;     /* bytes used */
	size_t cap;     /* bytes allocated */
	size_t max_len; /* ceiling; 0 = SIZE_MAX */
};

void core_buf_init(struct core_buf *b, size_t max_len);
/* Frees the data; the buffer can be reused after core_buf_init. */
void core_buf_cleanup(struct core_buf *b);
/* Frees the data after wiping it (for buffers that held secrets). */
void core_buf_cleanup_secure(struct core_buf *b);
void core_buf_reset(struct core_buf *b); /* len = 0, keeps memory */
enum core_err core_buf_append(struct core_buf *b, const void *p, size_t n);
enum core_err core_buf_append_str(struct core_buf *b, const char *s);
enum core_err core_buf_printf(struct core_buf *b, const char *fmt, ...)
    CORE_PRINTF(2, 3);
enum core_err core_buf_reserve(struct core_buf *b, size_t extra);
/* Hands the data to the caller (who frees it); the buffer becomes empty. */
uint8_t *core_buf_steal(struct core_buf *b, size_t *len_out);

/* ------------------------------------------------------------------ */
/* Secrets                                                             */
/* ------------------------------------------------------------------ */

/*
 * Key material. Only secret_free() releases it, wiping it first. The memory
 * is excluded from core dumps (MADV_DONTDUMP) where possible.
 */
struct secret {
	uint8_t *ptr; /* secret: wiped by secret_free */
	size_t len;
};

/* Allocates a zeroed secret of len bytes; NULL on failure. */
struct secret *secret_new(size_t len);
/* Copies len bytes from p into a new secret. */
struct secret *secret_from(const void *p, size_t len);
void secret_free(struct secret *s);
/* Wipes memory that may hold secrets (OPENSSL_cleanse). */
void core_wipe(void *p, size_t n);
/* Constant-time equality of two equal-length byte strings. */
bool core_ct_equal(const void *a, const void *b, size_t n);
/* Fills p with n cryptographically random bytes. */
enum core_err core_random(void *p, size_t n, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Codecs                                                              */
/* ------------------------------------------------------------------ */

/* Encoded lengths (without NUL). */
size_t core_b64_enc_len(size_t n);   /* standard, padded */
size_t core_b64url_enc_len(size_t n); /* url-safe, unpadded */

/*
 * Encoders return a malloc'd NUL-terminated string (NULL on allocation
 * failure). Standard base64 is padded; base64url is unpadded (RFC 7515).
 */
char *core_b64_encode(const void *p, size_t n);
char *core_b64url_encode(const void *p, size_t n);
char *core_hex_encode(const void *p, size_t n); /* lowercase */

/*
 * Decoders allocate *out (caller frees; always NUL-terminated beyond *out_len)
 * and reject any character outside the alphabet. core_b64_decode accepts
 * standard base64 with or without padding; core_b64url_decode accepts
 * base64url with or without padding. Whitespace is rejected.
 */
enum core_err core_b64_decode(const char *s, size_t slen, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb);
enum core_err core_b64url_decode(const char *s, size_t slen, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb);
/* Hex of either case; odd length or a non-hex character fails. */
enum core_err core_hex_decode(const char *s, size_t slen, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb);
/* Decodes hex into a fixed buffer; the decoded length must equal n. */
enum core_err core_hex_decode_fixed(const char *s, void *out, size_t n,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* UUIDs                                                               */
/* ------------------------------------------------------------------ */

#define CORE_UUID_STR_LEN 36

/* Writes a random (v4) UUID, lowercase, into out (>= 37 bytes). */
enum core_err core_uuid_v4(char out[CORE_UUID_STR_LEN + 1]);
/* True if s is a UUID in 8-4-4-4-12 hex form (either case). */
bool core_uuid_valid(const char *s);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* Monotonic milliseconds / nanoseconds (CLOCK_MONOTONIC). */
int64_t core_mono_ms(void);
int64_t core_mono_ns(void);
/* Wall-clock nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t core_wall_ns(void);

#define CORE_RFC3339_LEN 40
/*
 * Formats ns since the epoch as RFC 3339 UTC. frac_digits: 0 ("...:05Z"),
 * 3 (millis) or 9 (RFC3339Nano, trailing zeros trimmed as Go does).
 * ns == 0 formats as "0001-01-01T00:00:00Z" (Go's zero time).
 */
void core_rfc3339(int64_t ns, int frac_digits, char out[CORE_RFC3339_LEN]);
/* Parses RFC 3339 (Z or +hh:mm offsets, optional fraction) to epoch ns. */
enum core_err core_rfc3339_parse(const char *s, int64_t *ns_out,
    struct core_errbuf *eb);
/* Parses a Go-style duration ("30s", "1m30s", "250ms", "15") into ms. A
 * bare integer means seconds. */
enum core_err core_duration_parse_ms(const char *s, int64_t *ms_out,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* JSON helpers (jansson)                                              */
/* ------------------------------------------------------------------ */

/* Default ceiling for JSON documents read from outside. */
#define CORE_JSON_MAX_DEFAULT (1024 * 1024)

/*
 * Parses exactly one JSON value from (p, n), refusing input larger than
 * max_len (0 = CORE_JSON_MAX_DEFAULT) or nested deeper than jansson allows.
 * Duplicate object keys are rejected. The error names line/column.
 */
enum core_err core_json_parse(const void *p, size_t n, size_t max_len,
    json_t **out, struct core_errbuf *eb);
/* Like core_json_parse but requires an object at the top. */
enum core_err core_json_parse_object(const void *p, size_t n,
    size_t max_len, json_t **out, struct core_errbuf *eb);

/*
 * Typed getters. `required` decides whether an absent key (or JSON null) is
 * an error; when optional and absent, *out keeps its value and CORE_OK is
 * returned. A present key of the wrong type is always an error naming the
 * key. Strings are borrowed from the json_t.
 */
enum core_err core_json_get_str(const json_t *obj, const char *key,
    bool required, const char **out, struct core_errbuf *eb);
enum core_err core_json_get_int(const json_t *obj, const char *key,
    bool required, int64_t *out, struct core_errbuf *eb);
enum core_err core_json_get_bool(const json_t *obj, const char *key,
    bool required, bool *out, struct core_errbuf *eb);
/* Decodes a standard-base64 string member into *out (caller frees). */
enum core_err core_json_get_b64(const json_t *obj, const char *key,
    bool required, uint8_t **out, size_t *out_len, struct core_errbuf *eb);

/* Serializes compactly (no spaces, keys in insertion order); malloc'd. */
char *core_json_dumps(const json_t *v);

/* ------------------------------------------------------------------ */
/* Environment configuration                                           */
/* ------------------------------------------------------------------ */

/*
 * Collects every configuration problem in one pass, as
 *   NAME: problem (got "value")
 * lines, so a daemon can report them all and exit once.
 */
struct core_cfg {
	struct core_buf errors; /* owned; newline-separated messages */
	int nerrors;
};

void core_cfg_init(struct core_cfg *c);
void core_cfg_cleanup(struct core_cfg *c);
void core_cfg_error(struct core_cfg *c, const char *name, const char *value,
    const char *fmt, ...) CORE_PRINTF(4, 5);

/*
 * Each getter reads the first set (non-empty) variable of a NULL-terminated
 * list of names (newer name first, older fallbacks after) and returns the
 * default when none is set. Bad values are recorded in c and the default is
 * returned. Strings are borrowed from the environment.
 */
const char *core_env_str(struct core_cfg *c, const char *const *names,
    const char *def);
int64_t core_env_int(struct core_cfg *c, const char *const *names,
    int64_t def, int64_t min, int64_t max);
/* Truthy: 1|true|yes|on; falsy: 0|false|no|off (case-insensitive). */
bool core_env_bool(struct core_cfg *c, const char *const *names, bool def);
/* Duration in ms, Go style or bare seconds. */
int64_t core_env_duration_ms(struct core_cfg *c, const char *const *names,
    int64_t def_ms);
/* Parses a truthy/falsy string; CORE_ERR_INVALID otherwise. */
enum core_err core_parse_bool(const char *s, bool *out);
/* Strict decimal integer with range check (no trailing junk). */
enum core_err core_parse_int(const char *s, int64_t min, int64_t max,
    int64_t *out);
/* Convenience: a single-name list, e.g. CORE_ENV("PROPLET_LOG_LEVEL"). */
#define CORE_ENV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/*
 * Reads the string value of `key` in `[section]` of config.toml text (the
 * subset config.toml uses: sections, basic/literal strings, comments).
 * *out is malloc'd, or NULL when the key is absent. A value of another
 * type, an unterminated string or a malformed line is CORE_ERR_INVALID
 * naming the line.
 */
#define CORE_TOML_MAX_BYTES (1024 * 1024)
enum core_err core_toml_get(const char *text, size_t len, const char *section,
    const char *key, char **out, struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/*
 * Reads a whole file, refusing files larger than max_len (0 = 64 MiB).
 * *out is malloc'd and NUL-terminated beyond *out_len.
 */
enum core_err core_fs_read(const char *path, size_t max_len, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb);
/* Reads from an open fd until EOF, bounded like core_fs_read. */
enum core_err core_fs_read_fd(int fd, size_t max_len, uint8_t **out,
    size_t *out_len, struct core_errbuf *eb);

/*
 * Atomically replaces path with (p, n): writes a temp file in the same
 * directory with the given mode, fsyncs it, renames it over path and fsyncs
 * the directory. On failure the old content is untouched and no temp file
 * is left behind.
 */
enum core_err core_fs_write_atomic(const char *path, const void *p, size_t n,
    mode_t mode, struct core_errbuf *eb);

/* Writes all n bytes to fd, retrying on EINTR and short writes. */
enum core_err core_write_all(int fd, const void *p, size_t n);
/* Reads exactly n bytes (CORE_ERR_IO on EOF before n). */
enum core_err core_read_exact(int fd, void *p, size_t n);

/* mkdir -p with the given mode for created directories. */
enum core_err core_fs_mkdirs(const char *path, mode_t mode,
    struct core_errbuf *eb);
/* rm -rf that never follows symlinks; absent path is not an error. */
enum core_err core_fs_rmtree(const char *path, struct core_errbuf *eb);
bool core_fs_exists(const char *path);

/*
 * Creates a private (0700) directory on memory-backed storage: under
 * $XDG_RUNTIME_DIR if it is tmpfs, else /dev/shm, else /run, refusing any
 * candidate that is not tmpfs/ramfs. `prefix` names it (prefix.XXXXXX).
 * *out is malloc'd. Fails with CORE_ERR_UNSUPPORTED when no memory-backed
 * filesystem is writable.
 */
enum core_err core_fs_private_tmpdir(const char *prefix, char **out,
    struct core_errbuf *eb);
/* Like the above but on any filesystem under $TMPDIR or /tmp. */
enum core_err core_fs_tmpdir(const char *prefix, char **out,
    struct core_errbuf *eb);
/* True if path lives on tmpfs or ramfs. */
bool core_fs_is_memory_backed(const char *path);

/* Joins two path parts with one '/'; malloc'd, NULL on failure. */
char *core_path_join(const char *a, const char *b);

/* ------------------------------------------------------------------ */
/* Subprocesses                                                        */
/* ------------------------------------------------------------------ */

/*
 * Runs argv[0] (searched in PATH if it has no '/') with a clean environment
 * (exactly `envp`, NULL meaning empty), optional stdin bytes, and captures
 * stdout/stderr each up to its bound (excess is discarded and flagged).
 * The child gets its own process group; on timeout the whole group is
 * killed with SIGKILL.
 */
struct core_proc_opts {
	const char *const *argv;   /* borrowed; NULL-terminated */
	const char *const *envp;   /* borrowed; NULL = empty environment */
	const char *cwd;           /* borrowed; NULL = inherit */
	const void *stdin_data;    /* borrowed; NULL = /dev/null */
	size_t stdin_len;
	size_t stdout_max;         /* 0 = 16 MiB */
	size_t stderr_max;         /* 0 = 1 MiB */
	int64_t timeout_ms;        /* 0 = none */
	bool inherit_stdout;       /* pass our stdout through instead of capturing */
	bool inherit_stderr;
};

struct core_proc_result {
	struct core_buf out;  /* owned: captured stdout */
	struct core_buf err;  /* owned: captured stderr */
	int exit_code;        /* valid when !signaled */
	int term_signal;      /* valid when signaled */
	bool signaled;
	bool timed_out;
	bool out_truncated;
	bool err_truncated;
};

/* Runs to completion; the result must be released with core_proc_result_cleanup. */
enum core_err core_proc_run(const struct core_proc_opts *o,
    struct core_proc_result *r, struct core_errbuf *eb);
void core_proc_result_cleanup(struct core_proc_result *r);

/*
 * A self-pipe: core_waker_wake() is async-signal-safe and makes the next (or
 * current) core_waker_wait() return early. Daemons sleep in their main loop
 * with it and stop on SIGTERM.
 */
struct core_waker {
	int fd[2]; /* owned: read end, write end */
};

enum core_err core_waker_init(struct core_waker *w, struct core_errbuf *eb);
void core_waker_cleanup(struct core_waker *w);
void core_waker_wake(struct core_waker *w);
/* Sleeps up to timeout_ms (capped at 60 s); true when woken. */
bool core_waker_wait(struct core_waker *w, int64_t timeout_ms);

/* Sets FD_CLOEXEC on fd. */
enum core_err core_fd_cloexec(int fd);
/* Closes every fd >= lowfd except those listed (used in children). */
void core_close_fds_from(int lowfd, const int *keep, size_t nkeep);

#endif /* PROPELLER_CORE_H */
