/*
 * task.c -- the task model of spec §4.1: request-body validation into the
 * canonical document, and the API view (omitempty, file redaction).
 */
#include "manager/manager.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt/mqtt.h"

/* Bodies from this size on have their module lifted before the parse. */
#define TASK_LIFT_MIN 1024

enum task_ftype {
	F_STR, F_BOOL, F_STRV, F_INPUTS, F_ENV, F_UUID, F_UUIDV, F_MONITOR,
	F_PRIORITY, F_KIND, F_RUNIF, F_MODE, F_FILE, F_SCHEDULE, F_METADATA,
	F_NAME
};

struct task_field {
	const char *name;
	enum task_ftype type;
};

/* Accepted request fields, in the order of the upstream struct. */
static const struct task_field task_fields[] = {
	{ "name", F_NAME }, { "kind", F_KIND }, { "image_url", F_STR },
	{ "file", F_FILE }, { "cli_args", F_STRV }, { "inputs", F_INPUTS },
	{ "env", F_ENV }, { "daemon", F_BOOL }, { "latent", F_BOOL },
	{ "encrypted", F_BOOL }, { "kbs_resource_path", F_STR },
	{ "proplet_id", F_UUID }, { "depends_on", F_UUIDV },
	{ "run_if", F_RUNIF }, { "workflow_id", F_STR }, { "job_id", F_STR },
	{ "monitoring_profile", F_MONITOR }, { "mode", F_MODE },
	{ "schedule", F_SCHEDULE }, { "timezone", F_STR },
	{ "is_recurring", F_BOOL }, { "broadcast", F_BOOL },
	{ "priority", F_PRIORITY }, { "metadata", F_METADATA },
	{ "hal_storage_path", F_STR },
};

/* Keys of the API view in output order; `always` ones are never omitted. */
static const struct { const char *name; bool always; } view_keys[] = {
	{ "id", true }, { "name", true }, { "kind", false }, { "state", true },
	{ "image_url", false }, { "file", false }, { "cli_args", true },
	{ "inputs", false }, { "env", false }, { "daemon", true },
	{ "latent", false }, { "encrypted", true },
	{ "kbs_resource_path", false }, { "proplet_id", false },
	{ "depends_on", false }, { "run_if", false }, { "workflow_id", false },
	{ "job_id", false }, { "results", false }, { "error", false },
	{ "monitoring_profile", false }, { "start_time", true },
	{ "finish_time", true }, { "created_at", true }, { "updated_at", true },
	{ "next_run", true }, { "mode", false }, { "schedule", false },
	{ "timezone", false }, { "is_recurring", false }, { "broadcast", false },
	{ "priority", false }, { "metadata", false },
	{ "hal_storage_path", false },
};

static enum core_err task_field_parse(const json_t *in,
    const struct task_field *f, json_t *out, struct core_errbuf *eb);
STATIC bool task_lift_file(const char *body, size_t len, size_t *off,
    size_t *file_len);
STATIC bool task_b64_valid(const char *s, size_t slen);

char *
manager_redact(const char *s)
{
	size_t n = strlen(s);
	char *r;

	if (n <= 20)
		return strdup(s);
	r = malloc(10 + 10 + 10 + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, s, 10);
	memcpy(r + 10, "<REDACTED>", 10);
	memcpy(r + 20, s + n - 10, 10);
	r[30] = '\0';
	return r;
}

/* Five whitespace-separated cron fields of [0-9*,/-] or names. */
static bool
task_cron_valid(const char *s)
{
	int fields = 0;
	bool in = false;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			in = false;
			continue;
		}
		if (!isalnum((unsigned char)*s) && strchr("*,/-?", *s) == NULL)
			return false;
		if (!in)
			fields++;
		in = true;
	}
	return fields == 5;
}

static enum core_err
task_field_parse(const json_t *in, const struct task_field *f, json_t *out,
    struct core_errbuf *eb)
{
	const json_t *v = json_object_get(in, f->name), *e;
	struct mqtt_strv sv = { 0 };
	struct mqtt_env env = { 0 };
	struct mqtt_monitoring mon;
	enum core_err err = CORE_OK;
	const char *s;
	size_t binlen, i;
	char *dump;

	if (v == NULL)
		return CORE_OK;
	if (json_is_null(v)) {
		if (f->type == F_STRV || f->type == F_INPUTS)
			json_object_set_new(out, f->name, json_null());
		return CORE_OK;
	}
	switch (f->type) {
	case F_STR: case F_NAME: case F_KIND: case F_RUNIF: case F_MODE:
	case F_FILE: case F_SCHEDULE: case F_UUID:
		if (!json_is_string(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s must be a string", f->name);
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s contains a NUL character", f->name);
		if (f->type != F_FILE && json_string_length(v) > MQTT_MAX_STRING)
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s is longer than %u bytes", f->name,
			    MQTT_MAX_STRING);
		if (f->type == F_KIND && *s != '\0' &&
		    strcmp(s, "standard") != 0 && strcmp(s, "federated") != 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "kind must be \"standard\" or \"federated\"");
		if (f->type == F_RUNIF && *s != '\0' &&
		    strcmp(s, "success") != 0 && strcmp(s, "failure") != 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "run_if must be \"\", \"success\" or \"failure\"");
		if (f->type == F_MODE && *s != '\0' && strcmp(s, "infer") != 0 &&
		    strcmp(s, "train") != 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "mode must be \"infer\" or \"train\"");
		if (f->type == F_SCHEDULE && *s != '\0' && !task_cron_valid(s))
			return core_errf(eb, CORE_ERR_INVALID,
			    "schedule must be a 5-field cron expression");
		if (f->type == F_UUID && *s != '\0' && !core_uuid_valid(s))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s must be a UUID", f->name);
		if (f->type == F_FILE && *s != '\0' &&
		    !task_b64_valid(s, json_string_length(v)))
			return core_errf(eb, CORE_ERR_INVALID,
			    "file must be standard base64");
		/* Strings are never changed in place: share, not copy. */
		json_object_set(out, f->name, (json_t *)v);
		return CORE_OK;
	case F_BOOL:
		if (!json_is_boolean(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s must be a boolean", f->name);
		json_object_set(out, f->name, (json_t *)v);
		return CORE_OK;
	case F_STRV: case F_INPUTS:
		err = mqtt_json_strv(in, f->name, f->type == F_INPUTS, &sv, eb);
		if (err == CORE_OK)
			json_object_set_new(out, f->name, mqtt_strv_to_json(&sv));
		mqtt_strv_cleanup(&sv);
		return err;
	case F_UUIDV:
		if (!json_is_array(v) || json_array_size(v) > MQTT_MAX_LIST)
			return core_errf(eb, CORE_ERR_INVALID,
			    "%s must be an array of task ids", f->name);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    !core_uuid_valid(json_string_value(e)))
				return core_errf(eb, CORE_ERR_INVALID,
				    "%s item %zu must be a UUID", f->name, i);
		}
		json_object_set(out, f->name, (json_t *)v);
		return CORE_OK;
	case F_ENV:
		err = mqtt_json_env(in, f->name, &env, eb);
		if (err == CORE_OK)
			json_object_set_new(out, f->name, mqtt_env_to_json(&env));
		mqtt_env_cleanup(&env);
		return err;
	case F_MONITOR:
		err = mqtt_json_monitoring(in, f->name, &mon, eb);
		if (err == CORE_OK && mon.present)
			json_object_set_new(out, f->name,
			    mqtt_monitoring_to_json(&mon));
		return err;
	case F_PRIORITY:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 100)
			return core_errf(eb, CORE_ERR_INVALID,
			    "priority must be an integer from 0 to 100");
		json_object_set_new(out, f->name, json_integer(
		    json_integer_value(v) == 0 ? 50 : json_integer_value(v)));
		return CORE_OK;
	case F_METADATA:
		if (!json_is_object(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "metadata must be an object");
		dump = core_json_dumps(v);
		if (dump == NULL)
			return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
		binlen = strlen(dump);
		free(dump);
		if (binlen > MANAGER_METADATA_MAX)
			return core_errf(eb, CORE_ERR_INVALID,
			    "metadata exceeds %u bytes", MANAGER_METADATA_MAX);
		json_object_set(out, f->name, (json_t *)v);
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_INTERNAL, "unknown field type");
}

/* ------------------------------------------------------------------ */
/* The module of a request body, taken out before the JSON parse       */
/* ------------------------------------------------------------------ */

/*
 * A task body is mostly its module: "file", tens of kilobytes of base64,
 * which jansson decodes at ~25 ns a byte. task_lift_file finds that string
 * with a strict scan of the body's top level so that the parse can skip
 * it. It returns true, with the value's offset and length (the characters
 * between its quotes), only when every byte before it is well-formed JSON
 * this scan understands and the value is a plain run of base64 characters
 * (what every client sends); anything else returns false and the body is
 * parsed whole. The value needs no JSON decoding, and cutting it out
 * changes nothing else the parser sees, so parsing the rest gives the same
 * document with "file" emptied, or the same error.
 */
static const char *
lift_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at an opening quote: returns the closing one, or NULL. */
static const char *
lift_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			return p;
	}
	return NULL;
}

static bool
lift_scalar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
	    c == '+' || c == '.' || c == 'E';
}

/* p at the start of a value: returns the byte after it, or NULL. Inside
 * arrays and objects only the strings and the nesting matter here. */
static const char *
lift_skip_value(const char *p, const char *end)
{
	int depth = 0;

	for (;;) {
		if (p >= end)
			return NULL;
		if (*p == '"') {
			if ((p = lift_string(p, end)) == NULL)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			if (++depth > 64)
				return NULL;
			p++;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
			p++;
		} else if (lift_scalar(*p)) {
			while (p < end && lift_scalar(*p))
				p++;
		} else if (depth > 0 && (*p == ',' || *p == ':' || *p == ' ' ||
		    *p == '\t' || *p == '\n' || *p == '\r')) {
			p++;
		} else {
			return NULL;
		}
		if (depth == 0)
			return p;
	}
}

/* 1: a base64 digit, 2: '=' */
static const uint8_t b64_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 2, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

static bool
lift_b64(unsigned char c)
{
	return b64_class[c] != 0;
}

bool
manager_base64_plain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b64_class[(unsigned char)s[i]] == 0)
			return false;
	return true;
}

/*
 * True for exactly the strings core_b64_decode accepts (standard alphabet,
 * at most two '=' of padding that complete a quantum, no impossible length,
 * zero trailing bits), without decoding them: a module is checked at every
 * create and update.
 */
STATIC bool
task_b64_valid(const char *s, size_t slen)
{
	size_t n = slen, pad = 0, i;
	unsigned char c;
	unsigned v;

	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if ((pad > 0 && (n + pad) % 4 != 0) || n % 4 == 1)
		return false;
	for (i = 0; i < n; i++)
		if (b64_class[(unsigned char)s[i]] != 1)
			return false;
	if (n % 4 == 0)
		return true;
	c = (unsigned char)s[n - 1];
	v = c >= 'a' ? (unsigned)(c - 'a' + 26) : c >= 'A' ?
	    (unsigned)(c - 'A') : c >= '0' ? (unsigned)(c - '0' + 52) :
	    c == '+' ? 62u : 63u;
	/* 2 digits leave 4 bits over, 3 digits leave 2. */
	return (v & (n % 4 == 2 ? 0xfu : 0x3u)) == 0;
}

STATIC bool
task_lift_file(const char *body, size_t len, size_t *off, size_t *file_len)
{
	const char *p = body, *end = body + len, *q, *k, *v;

	p = lift_ws(p, end);
	if (p >= end || *p++ != '{')
		return false;
	for (;;) {
		q = lift_ws(p, end);
		if (q >= end || *q != '"' || (k = lift_string(q, end)) == NULL)
			return false;
		p = lift_ws(k + 1, end);
		if (p >= end || *p++ != ':')
			return false;
		p = lift_ws(p, end);
		if (k - q == 5 && memcmp(q, "\"file", 5) == 0) {
			if (p >= end || *p != '"')
				return false;
			for (v = p + 1; v < end && lift_b64((unsigned char)*v); v++)
				;
			if (v >= end || *v != '"')
				return false;
			*off = (size_t)(p + 1 - body);
			*file_len = (size_t)(v - p - 1);
			return true;
		}
		if ((p = lift_skip_value(p, end)) == NULL)
			return false;
		p = lift_ws(p, end);
		if (p >= end || *p++ != ',')
			return false;
	}
}

/* Parses body into *in, the module's text taken out first when it can
 * be (task_lift_file) and put back as a string afterwards. A body that
 * fails is parsed again whole, so that errors name the true position. */
static enum core_err
task_parse_body(const char *body, size_t len, json_t **in,
    struct core_errbuf *eb)
{
	size_t off = 0, flen = 0;
	json_t *file = NULL;
	char *rest = NULL;
	enum core_err err;

	if (len < TASK_LIFT_MIN || !task_lift_file(body, len, &off, &flen))
		return core_json_parse_object(body, len, MANAGER_BODY_MAX, in, eb);
	rest = malloc(len - flen);
	if (rest == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	memcpy(rest, body, off);
	memcpy(rest + off, body + off + flen, len - off - flen);
	err = core_json_parse_object(rest, len - flen, MANAGER_BODY_MAX, in,
	    NULL);
	free(rest);
	if (err != CORE_OK)
		return core_json_parse_object(body, len, MANAGER_BODY_MAX, in, eb);
	/* Plain ASCII, checked by the scan: no UTF-8 validation needed. */
	file = json_stringn_nocheck(body + off, flen);
	if (file == NULL || json_object_set_new(*in, "file", file) != 0) {
		json_decref(*in);
		*in = NULL;
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	}
	return CORE_OK;
}

enum core_err
manager_task_parse(const void *body, size_t len, json_t **out,
    struct core_errbuf *eb)
{
	struct core_errbuf feb;
	struct core_buf msgs;
	json_t *in = NULL, *o = NULL;
	enum core_err err;
	size_t i;
	int bad = 0;

	*out = NULL;
	if (len > MANAGER_BODY_MAX)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "request body exceeds %u bytes", MANAGER_BODY_MAX);
	err = task_parse_body(body, len, &in, eb);
	if (err != CORE_OK) {
		core_errbuf_prefix(eb, "invalid JSON body");
		return CORE_ERR_INVALID;
	}
	o = json_object();
	core_buf_init(&msgs, CORE_ERRBUF_LEN);
	for (i = 0; o != NULL && i < CORE_ARRAY_LEN(task_fields); i++) {
		core_errbuf_clear(&feb);
		if (task_field_parse(in, &task_fields[i], o, &feb) != CORE_OK) {
			if (bad++ > 0)
				core_buf_append_str(&msgs, "\n");
			core_buf_append_str(&msgs, core_errbuf_msg(&feb));
		}
	}
	if (o == NULL) {
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	} else if (bad > 0) {
		err = core_errf(eb, CORE_ERR_INVALID, "%s",
		    msgs.data != NULL ? (const char *)msgs.data : "invalid task");
	} else {
		*out = o;
		o = NULL;
	}
	core_buf_cleanup(&msgs);
	json_decref(o);
	json_decref(in);
	return err;
}

static bool
view_empty(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL: return true;
	case JSON_STRING: return json_string_length(v) == 0;
	case JSON_ARRAY: return json_array_size(v) == 0;
	case JSON_OBJECT: return json_object_size(v) == 0;
	case JSON_FALSE: return true;
	case JSON_INTEGER: return json_integer_value(v) == 0;
	case JSON_REAL: return json_real_value(v) == 0;
	case JSON_TRUE: return false;
	}
	return false;
}

json_t *
manager_task_view(const json_t *doc)
{
	const json_t *v;
	json_t *o = json_object();
	char *red;
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < CORE_ARRAY_LEN(view_keys); i++) {
		const char *k = view_keys[i].name;

		v = json_object_get(doc, k);
		if (strcmp(k, "results") == 0) {
			if (v != NULL && !json_is_null(v))
				json_object_set(o, k, (json_t *)v);
			continue;
		}
		if (v == NULL || view_empty(v)) {
			if (!view_keys[i].always)
				continue;
			if (strcmp(k, "cli_args") == 0)
				json_object_set_new(o, k, json_null());
			else if (strcmp(k, "daemon") == 0 ||
			    strcmp(k, "encrypted") == 0)
				json_object_set_new(o, k, json_false());
			else if (strcmp(k, "state") == 0)
				json_object_set_new(o, k, json_integer(0));
			else if (v == NULL && strstr(k, "_at") == NULL &&
			    strstr(k, "_time") == NULL &&
			    strcmp(k, "next_run") != 0)
				json_object_set_new(o, k, json_string(""));
			else if (v == NULL)
				json_object_set_new(o, k,
				    json_string("0001-01-01T00:00:00Z"));
			else
				json_object_set(o, k, (json_t *)v);
			continue;
		}
		/* A module stored apart left its redacted form in the
		 * document (service.c); an inline one is redacted here. */
		if (strcmp(k, "file") == 0 && json_is_string(v) &&
		    !json_is_true(json_object_get(doc, "_file_apart"))) {
			red = manager_redact(json_string_value(v));
			if (red != NULL)
				json_object_set_new(o, k, json_string(red));
			free(red);
			continue;
		}
		json_object_set(o, k, (json_t *)v);
	}
	return o;
}
