/*
 * codec.c -- encode/decode of the MQTT payloads (spec §5.3-5.5, §9).
 *
 * Every decoder parses with a size ceiling, requires a JSON object, checks
 * each known key's type and bounds, and names the offending key in its
 * error. Unknown keys are ignored and null means absent.
 */
#include "mqtt/mqtt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

STATIC enum core_err codec_str(const json_t *o, const char *key, bool required,
    size_t max_len, char **out, struct core_errbuf *eb);
STATIC enum core_err codec_uuid(const json_t *o, const char *key,
    bool required, char **out, struct core_errbuf *eb);
STATIC enum core_err codec_number(const json_t *o, const char *key,
    double *out, struct core_errbuf *eb);
STATIC enum core_err codec_nonneg(const json_t *o, const char *key,
    int64_t *out, struct core_errbuf *eb);
STATIC char *codec_number_text(const json_t *v);
static enum core_err codec_parse(const void *p, size_t n, size_t max,
    const char *what, json_t **out, struct core_errbuf *eb);
static enum core_err codec_finish(json_t *o, char **out,
    struct core_errbuf *eb);
static int codec_set_str(json_t *o, const char *key, const char *v);
static enum core_err codec_timestamp(const json_t *o, int64_t *ns,
    struct core_errbuf *eb);

/* ------------------------------------------------------------------ */
/* Small JSON helpers                                                  */
/* ------------------------------------------------------------------ */

/* Duplicates a string member, refusing embedded NULs and over-long text. */
STATIC enum core_err
codec_str(const json_t *o, const char *key, bool required, size_t max_len,
    char **out, struct core_errbuf *eb)
{
	const json_t *v = json_object_get(o, key);
	size_t len;
	char *s;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return core_errf(eb, CORE_ERR_INVALID,
			    "missing required field \"%s\"", key);
		return CORE_OK;
	}
	if (!json_is_string(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be a string", key);
	len = json_string_length(v);
	if (len > max_len)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "field \"%s\" is longer than %zu bytes", key, max_len);
	if (memchr(json_string_value(v), '\0', len) != NULL)
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" contains a NUL character", key);
	if (required && len == 0)
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must not be empty", key);
	s = strndup(json_string_value(v), len);
	if (s == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	free(*out);
	*out = s;
	return CORE_OK;
}

/* A string member that must be a UUID (empty counts as absent). */
STATIC enum core_err
codec_uuid(const json_t *o, const char *key, bool required, char **out,
    struct core_errbuf *eb)
{
	enum core_err err;

	err = codec_str(o, key, required, 64, out, eb);
	if (err != CORE_OK)
		return err;
	if (*out != NULL && **out == '\0' && !required) {
		free(*out);
		*out = NULL;
		return CORE_OK;
	}
	if (*out != NULL && !core_uuid_valid(*out))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be a UUID (got \"%s\")", key, *out);
	return CORE_OK;
}

/* An optional number (integer or real); absent/null keeps *out. */
STATIC enum core_err
codec_number(const json_t *o, const char *key, double *out,
    struct core_errbuf *eb)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return CORE_OK;
	if (!json_is_number(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be a number", key);
	*out = json_number_value(v);
	return CORE_OK;
}

/* An optional non-negative integer; whole-valued reals are accepted. */
STATIC enum core_err
codec_nonneg(const json_t *o, const char *key, int64_t *out,
    struct core_errbuf *eb)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (v == NULL || json_is_null(v))
		return CORE_OK;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"%s\" must not be negative", key);
		*out = json_integer_value(v);
		return CORE_OK;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d < 0 || d > 9.2e18 || d != floor(d))
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"%s\" must be a non-negative integer", key);
		*out = (int64_t)d;
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_INVALID,
	    "field \"%s\" must be an integer", key);
}

/* Decimal text of a JSON number, as Go's fmt prints it for inputs. */
STATIC char *
codec_number_text(const json_t *v)
{
	char buf[64];
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
		return strdup(buf);
	}
	d = json_real_value(v);
	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(buf, sizeof(buf), "%.0f", d);
		return strdup(buf);
	}
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	return strdup(buf);
}

static enum core_err
codec_parse(const void *p, size_t n, size_t max, const char *what,
    json_t **out, struct core_errbuf *eb)
{
	enum core_err err;

	*out = NULL;
	if (p == NULL || n == 0)
		return core_errf(eb, CORE_ERR_INVALID, "%s: empty payload",
		    what);
	if (n > max)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "%s: payload of %zu bytes exceeds the limit of %zu", what,
		    n, max);
	err = core_json_parse_object(p, n, max, out, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "%s", what);
	return err;
}

/* Serializes and releases o. */
static enum core_err
codec_finish(json_t *o, char **out, struct core_errbuf *eb)
{
	*out = NULL;
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	*out = core_json_dumps(o);
	json_decref(o);
	if (*out == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	return CORE_OK;
}

/* Sets key to a string when v is non-NULL and non-empty. */
static int
codec_set_str(json_t *o, const char *key, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	return json_object_set_new(o, key, json_string(v));
}

/* "timestamp": RFC 3339 text or the upstream {secs_since_epoch, ...}. */
static enum core_err
codec_timestamp(const json_t *o, int64_t *ns, struct core_errbuf *eb)
{
	const json_t *v = json_object_get(o, "timestamp");
	int64_t secs = 0, nanos = 0;
	enum core_err err;

	*ns = 0;
	if (v == NULL || json_is_null(v))
		return CORE_OK;
	if (json_is_string(v)) {
		err = core_rfc3339_parse(json_string_value(v), ns, eb);
		if (err != CORE_OK)
			core_errbuf_prefix(eb, "field \"timestamp\"");
		return err;
	}
	if (json_is_object(v)) {
		if ((err = codec_nonneg(v, "secs_since_epoch", &secs, eb)) ||
		    (err = codec_nonneg(v, "nanos_since_epoch", &nanos, eb)))
			return err;
		if (secs > INT64_MAX / 1000000000 - 1)
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"timestamp\" is out of range");
		*ns = secs * 1000000000 + nanos % 1000000000;
		return CORE_OK;
	}
	return core_errf(eb, CORE_ERR_INVALID,
	    "field \"timestamp\" must be an RFC 3339 string");
}

/* ------------------------------------------------------------------ */
/* Shared list, map and profile helpers                                */
/* ------------------------------------------------------------------ */

enum core_err
mqtt_strv_push(struct mqtt_strv *sv, const char *s)
{
	char **nv;
	char *d;

	if (sv->n >= MQTT_MAX_LIST)
		return CORE_ERR_TOO_BIG;
	d = strdup(s);
	if (d == NULL)
		return CORE_ERR_NOMEM;
	nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(d);
		return CORE_ERR_NOMEM;
	}
	sv->v = nv;
	sv->v[sv->n++] = d;
	sv->null = false;
	return CORE_OK;
}

void
mqtt_strv_cleanup(struct mqtt_strv *sv)
{
	size_t i;

	if (sv == NULL)
		return;
	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

enum core_err
mqtt_env_set(struct mqtt_env *env, const char *key, const char *value)
{
	char **nk, **nv;
	char *k, *v;
	size_t i;

	for (i = 0; i < env->n; i++) {
		if (strcmp(env->keys[i], key) == 0) {
			v = strdup(value);
			if (v == NULL)
				return CORE_ERR_NOMEM;
			free(env->values[i]);
			env->values[i] = v;
			return CORE_OK;
		}
	}
	if (env->n >= MQTT_MAX_LIST)
		return CORE_ERR_TOO_BIG;
	k = strdup(key);
	v = strdup(value);
	nk = realloc(env->keys, (env->n + 1) * sizeof(*nk));
	if (nk != NULL)
		env->keys = nk;
	nv = realloc(env->values, (env->n + 1) * sizeof(*nv));
	if (nv != NULL)
		env->values = nv;
	if (k == NULL || v == NULL || nk == NULL || nv == NULL) {
		free(k);
		free(v);
		return CORE_ERR_NOMEM;
	}
	env->keys[env->n] = k;
	env->values[env->n] = v;
	env->n++;
	return CORE_OK;
}

void
mqtt_env_cleanup(struct mqtt_env *env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; i < env->n; i++) {
		free(env->keys[i]);
		free(env->values[i]);
	}
	free(env->keys);
	free(env->values);
	env->keys = env->values = NULL;
	env->n = 0;
}

enum core_err
mqtt_json_strv(const json_t *obj, const char *key, bool numbers_ok,
    struct mqtt_strv *sv, struct core_errbuf *eb)
{
	const json_t *a = json_object_get(obj, key), *v;
	enum core_err err;
	size_t i;
	char *num;

	mqtt_strv_cleanup(sv);
	sv->null = true;
	if (a == NULL || json_is_null(a))
		return CORE_OK;
	if (!json_is_array(a))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be an array of strings", key);
	if (json_array_size(a) > MQTT_MAX_LIST)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "field \"%s\" has more than %d items", key, MQTT_MAX_LIST);
	sv->null = false;
	json_array_foreach(a, i, v) {
		if (json_is_string(v)) {
			if (json_string_length(v) > MQTT_MAX_STRING ||
			    strlen(json_string_value(v)) != json_string_length(v))
				return core_errf(eb, CORE_ERR_INVALID,
				    "field \"%s\" item %zu is too long or "
				    "contains NUL", key, i);
			err = mqtt_strv_push(sv, json_string_value(v));
		} else if (numbers_ok && json_is_number(v)) {
			num = codec_number_text(v);
			if (num == NULL)
				return core_errf(eb, CORE_ERR_NOMEM,
				    "out of memory");
			err = mqtt_strv_push(sv, num);
			free(num);
		} else {
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"%s\" item %zu must be a string%s", key, i,
			    numbers_ok ? " or a number" : "");
		}
		if (err != CORE_OK)
			return core_errf(eb, err, "field \"%s\": out of memory",
			    key);
	}
	return CORE_OK;
}

enum core_err
mqtt_json_env(const json_t *obj, const char *key, struct mqtt_env *env,
    struct core_errbuf *eb)
{
	const json_t *o = json_object_get(obj, key), *v;
	const char *k;
	enum core_err err;

	mqtt_env_cleanup(env);
	if (o == NULL || json_is_null(o))
		return CORE_OK;
	if (!json_is_object(o))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be an object of strings", key);
	if (json_object_size(o) > MQTT_MAX_LIST)
		return core_errf(eb, CORE_ERR_TOO_BIG,
		    "field \"%s\" has more than %d entries", key, MQTT_MAX_LIST);
	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_string(v))
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"%s\": value of \"%s\" must be a string",
			    key, k);
		if (*k == '\0' || strchr(k, '=') != NULL ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) > MQTT_MAX_STRING)
			return core_errf(eb, CORE_ERR_INVALID,
			    "field \"%s\": bad entry \"%s\"", key, k);
		err = mqtt_env_set(env, k, json_string_value(v));
		if (err != CORE_OK)
			return core_errf(eb, err, "field \"%s\": out of memory",
			    key);
	}
	return CORE_OK;
}

enum core_err
mqtt_json_monitoring(const json_t *obj, const char *key,
    struct mqtt_monitoring *m, struct core_errbuf *eb)
{
	const json_t *o = json_object_get(obj, key);
	static const char *const bools[] = { "enabled", "collect_cpu",
		"collect_memory", "collect_disk_io", "collect_threads",
		"collect_file_descriptors", "export_to_mqtt", "retain_history" };
	bool *dst[8];
	enum core_err err;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (o == NULL || json_is_null(o))
		return CORE_OK;
	if (!json_is_object(o))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be an object", key);
	dst[0] = &m->enabled;
	dst[1] = &m->collect_cpu;
	dst[2] = &m->collect_memory;
	dst[3] = &m->collect_disk_io;
	dst[4] = &m->collect_threads;
	dst[5] = &m->collect_file_descriptors;
	dst[6] = &m->export_to_mqtt;
	dst[7] = &m->retain_history;
	for (i = 0; i < CORE_ARRAY_LEN(bools); i++) {
		err = core_json_get_bool(o, bools[i], false, dst[i], eb);
		if (err != CORE_OK)
			goto bad;
	}
	if ((err = codec_nonneg(o, "interval", &m->interval, eb)) ||
	    (err = codec_nonneg(o, "history_size", &m->history_size, eb)))
		goto bad;
	m->present = true;
	return CORE_OK;
bad:
	core_errbuf_prefix(eb, "field \"%s\"", key);
	return err;
}

json_t *
mqtt_strv_to_json(const struct mqtt_strv *sv)
{
	json_t *a;
	size_t i;

	if (sv->null && sv->n == 0)
		return json_null();
	a = json_array();
	for (i = 0; a != NULL && i < sv->n; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

json_t *
mqtt_env_to_json(const struct mqtt_env *env)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < env->n; i++)
		json_object_set_new(o, env->keys[i], json_string(env->values[i]));
	return o;
}

json_t *
mqtt_monitoring_to_json(const struct mqtt_monitoring *m)
{
	return json_pack("{sb,sI,sb,sb,sb,sb,sb,sb,sb,sI}",
	    "enabled", m->enabled, "interval", (json_int_t)m->interval,
	    "collect_cpu", m->collect_cpu, "collect_memory", m->collect_memory,
	    "collect_disk_io", m->collect_disk_io,
	    "collect_threads", m->collect_threads,
	    "collect_file_descriptors", m->collect_file_descriptors,
	    "export_to_mqtt", m->export_to_mqtt,
	    "retain_history", m->retain_history,
	    "history_size", (json_int_t)m->history_size);
}

int64_t
mqtt_monitoring_interval_s(const struct mqtt_monitoring *m)
{
	if (m->interval >= 1000000)
		return m->interval / 1000000000;
	return m->interval;
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

enum core_err
mqtt_start_decode(const void *p, size_t n, struct mqtt_start *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL, *pr;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_START, "start", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "id", true, &m->id, eb)) ||
	    (err = codec_str(o, "name", true, MQTT_MAX_STRING, &m->name, eb)) ||
	    (err = core_json_get_int(o, "state", false, &m->state, eb)) ||
	    (err = codec_str(o, "image_url", false, MQTT_MAX_STRING,
	        &m->image_url, eb)) ||
	    (err = codec_str(o, "file", false, MQTT_MAX_START, &m->file, eb)) ||
	    (err = mqtt_json_strv(o, "inputs", true, &m->inputs, eb)) ||
	    (err = mqtt_json_strv(o, "cli_args", false, &m->cli_args, eb)) ||
	    (err = mqtt_json_env(o, "env", &m->env, eb)) ||
	    (err = core_json_get_bool(o, "broadcast", false, &m->broadcast, eb)) ||
	    (err = core_json_get_bool(o, "daemon", false, &m->daemon, eb)) ||
	    (err = core_json_get_bool(o, "latent", false, &m->latent, eb)) ||
	    (err = core_json_get_bool(o, "encrypted", false, &m->encrypted, eb)) ||
	    (err = codec_str(o, "kbs_resource_path", false, MQTT_MAX_STRING,
	        &m->kbs_resource_path, eb)) ||
	    (err = mqtt_json_monitoring(o, "monitoring_profile",
	        &m->monitoring_profile, eb)) ||
	    (err = codec_uuid(o, "proplet_id", false, &m->proplet_id, eb)) ||
	    (err = codec_str(o, "hal_storage_path", false, MQTT_MAX_STRING,
	        &m->hal_storage_path, eb)) ||
	    (err = codec_str(o, "mode", false, 64, &m->mode, eb)))
		goto out;
	pr = json_object_get(o, "parent_results");
	if (pr != NULL && !json_is_null(pr)) {
		if (!json_is_object(pr)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "field \"parent_results\" must be an object");
			goto out;
		}
		m->parent_results = json_incref(pr);
	}
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "start message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_start_encode(const struct mqtt_start *m, char **out,
    struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->id == NULL || !core_uuid_valid(m->id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "start message: \"id\" must be a UUID");
	if (m->name == NULL || *m->name == '\0')
		return core_errf(eb, CORE_ERR_INVALID,
		    "start message: \"name\" must not be empty");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "state", json_integer(m->state));
	codec_set_str(o, "image_url", m->image_url);
	codec_set_str(o, "file", m->file);
	if (m->inputs.n > 0)
		json_object_set_new(o, "inputs", mqtt_strv_to_json(&m->inputs));
	json_object_set_new(o, "cli_args", m->cli_args.n > 0 ?
	    mqtt_strv_to_json(&m->cli_args) : json_null());
	json_object_set_new(o, "broadcast", json_boolean(m->broadcast));
	json_object_set_new(o, "daemon", json_boolean(m->daemon));
	json_object_set_new(o, "latent", json_boolean(m->latent));
	if (m->env.n > 0)
		json_object_set_new(o, "env", mqtt_env_to_json(&m->env));
	json_object_set_new(o, "encrypted", json_boolean(m->encrypted));
	codec_set_str(o, "kbs_resource_path", m->kbs_resource_path);
	if (m->monitoring_profile.present)
		json_object_set_new(o, "monitoring_profile",
		    mqtt_monitoring_to_json(&m->monitoring_profile));
	codec_set_str(o, "proplet_id", m->proplet_id);
	codec_set_str(o, "hal_storage_path", m->hal_storage_path);
	codec_set_str(o, "mode", m->mode);
	if (m->parent_results != NULL && json_object_size(m->parent_results) > 0)
		json_object_set(o, "parent_results", m->parent_results);
	return codec_finish(o, out, eb);
}

void
mqtt_start_cleanup(struct mqtt_start *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->name);
	free(m->image_url);
	free(m->file);
	mqtt_strv_cleanup(&m->inputs);
	mqtt_strv_cleanup(&m->cli_args);
	mqtt_env_cleanup(&m->env);
	free(m->kbs_resource_path);
	free(m->proplet_id);
	free(m->hal_storage_path);
	free(m->mode);
	json_decref(m->parent_results);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Stop and invoke                                                     */
/* ------------------------------------------------------------------ */

enum core_err
mqtt_stop_decode(const void *p, size_t n, struct mqtt_stop *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_CONTROL, "stop", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "id", true, &m->id, eb)) ||
	    (err = core_json_get_bool(o, "broadcast", false, &m->broadcast, eb)) ||
	    (err = codec_uuid(o, "proplet_id", false, &m->proplet_id, eb)))
		goto out;
	m->has_broadcast = json_is_boolean(json_object_get(o, "broadcast"));
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "stop message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_stop_encode(const struct mqtt_stop *m, char **out, struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->id == NULL || !core_uuid_valid(m->id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "stop message: \"id\" must be a UUID");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "id", json_string(m->id));
	if (m->has_broadcast)
		json_object_set_new(o, "broadcast", json_boolean(m->broadcast));
	if (!m->broadcast)
		codec_set_str(o, "proplet_id", m->proplet_id);
	return codec_finish(o, out, eb);
}

void
mqtt_stop_cleanup(struct mqtt_stop *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->proplet_id);
	memset(m, 0, sizeof(*m));
}

enum core_err
mqtt_invoke_decode(const void *p, size_t n, struct mqtt_invoke *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_START, "invoke", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "id", true, &m->id, eb)) ||
	    (err = core_json_get_bool(o, "broadcast", false, &m->broadcast, eb)) ||
	    (err = codec_uuid(o, "proplet_id", false, &m->proplet_id, eb)) ||
	    (err = codec_uuid(o, "invocation_id", true, &m->invocation_id, eb)) ||
	    (err = mqtt_json_strv(o, "inputs", true, &m->inputs, eb)) ||
	    (err = mqtt_json_env(o, "env", &m->env, eb)))
		goto out;
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "invoke message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_invoke_encode(const struct mqtt_invoke *m, char **out,
    struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->id == NULL || !core_uuid_valid(m->id) ||
	    m->invocation_id == NULL || !core_uuid_valid(m->invocation_id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "invoke message: \"id\" and \"invocation_id\" must be UUIDs");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "broadcast", json_boolean(m->broadcast));
	codec_set_str(o, "proplet_id", m->proplet_id);
	json_object_set_new(o, "invocation_id", json_string(m->invocation_id));
	json_object_set_new(o, "inputs", m->inputs.n > 0 ?
	    mqtt_strv_to_json(&m->inputs) : json_array());
	if (m->env.n > 0)
		json_object_set_new(o, "env", mqtt_env_to_json(&m->env));
	return codec_finish(o, out, eb);
}

void
mqtt_invoke_cleanup(struct mqtt_invoke *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->proplet_id);
	free(m->invocation_id);
	mqtt_strv_cleanup(&m->inputs);
	mqtt_env_cleanup(&m->env);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Discovery and heartbeat                                             */
/* ------------------------------------------------------------------ */

static enum core_err
codec_meta(const json_t *o, struct mqtt_proplet_meta *md,
    struct core_errbuf *eb)
{
	enum core_err err;

	if ((err = codec_str(o, "description", false, MQTT_MAX_STRING,
	        &md->description, eb)) ||
	    (err = codec_str(o, "location", false, MQTT_MAX_STRING,
	        &md->location, eb)) ||
	    (err = codec_str(o, "ip", false, 256, &md->ip, eb)) ||
	    (err = codec_str(o, "environment", false, 256, &md->environment,
	        eb)) ||
	    (err = codec_str(o, "os", false, 256, &md->os, eb)) ||
	    (err = codec_str(o, "hostname", false, 256, &md->hostname, eb)) ||
	    (err = codec_str(o, "cpu_arch", false, 256, &md->cpu_arch, eb)) ||
	    (err = codec_str(o, "proplet_version", false, 256,
	        &md->proplet_version, eb)) ||
	    (err = codec_str(o, "wasm_runtime", false, 4096,
	        &md->wasm_runtime, eb)) ||
	    (err = mqtt_json_strv(o, "tags", false, &md->tags, eb)) ||
	    (err = codec_nonneg(o, "total_memory_bytes",
	        &md->total_memory_bytes, eb)))
		core_errbuf_prefix(eb, "field \"metadata\"");
	return err;
}

json_t *
mqtt_proplet_meta_to_json(const struct mqtt_proplet_meta *md)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	codec_set_str(o, "description", md->description);
	if (md->tags.n > 0)
		json_object_set_new(o, "tags", mqtt_strv_to_json(&md->tags));
	codec_set_str(o, "location", md->location);
	codec_set_str(o, "ip", md->ip);
	codec_set_str(o, "environment", md->environment);
	codec_set_str(o, "os", md->os);
	codec_set_str(o, "hostname", md->hostname);
	codec_set_str(o, "cpu_arch", md->cpu_arch);
	if (md->total_memory_bytes > 0)
		json_object_set_new(o, "total_memory_bytes",
		    json_integer(md->total_memory_bytes));
	codec_set_str(o, "proplet_version", md->proplet_version);
	codec_set_str(o, "wasm_runtime", md->wasm_runtime);
	return o;
}

enum core_err
mqtt_discovery_decode(const void *p, size_t n, struct mqtt_discovery *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL, *md;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_CONTROL, "discovery", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "proplet_id", true, &m->proplet_id, eb)) ||
	    (err = codec_str(o, "namespace", false, 256, &m->namespace_, eb)))
		goto out;
	md = json_object_get(o, "metadata");
	if (md != NULL && !json_is_null(md)) {
		if (!json_is_object(md)) {
			err = core_errf(eb, CORE_ERR_INVALID,
			    "field \"metadata\" must be an object");
			goto out;
		}
		err = codec_meta(md, &m->metadata, eb);
	}
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "discovery message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_discovery_encode(const struct mqtt_discovery *m, char **out,
    struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->proplet_id == NULL || !core_uuid_valid(m->proplet_id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "discovery message: \"proplet_id\" must be a UUID");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "proplet_id", json_string(m->proplet_id));
	json_object_set_new(o, "namespace",
	    json_string(m->namespace_ != NULL ? m->namespace_ : "default"));
	json_object_set_new(o, "metadata",
	    mqtt_proplet_meta_to_json(&m->metadata));
	return codec_finish(o, out, eb);
}

void
mqtt_discovery_cleanup(struct mqtt_discovery *m)
{
	struct mqtt_proplet_meta *md;

	if (m == NULL)
		return;
	md = &m->metadata;
	free(m->proplet_id);
	free(m->namespace_);
	free(md->description);
	free(md->location);
	free(md->ip);
	free(md->environment);
	free(md->os);
	free(md->hostname);
	free(md->cpu_arch);
	free(md->proplet_version);
	free(md->wasm_runtime);
	mqtt_strv_cleanup(&md->tags);
	memset(m, 0, sizeof(*m));
}

enum core_err
mqtt_heartbeat_decode(const void *p, size_t n, struct mqtt_heartbeat *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_CONTROL, "heartbeat", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "proplet_id", true, &m->proplet_id, eb)) ||
	    (err = codec_str(o, "status", false, 64, &m->status, eb)) ||
	    (err = codec_str(o, "namespace", false, 256, &m->namespace_, eb)))
		goto out;
	m->offline = m->status != NULL && strcmp(m->status, "offline") == 0;
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "heartbeat message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_heartbeat_encode(const struct mqtt_heartbeat *m, char **out,
    struct core_errbuf *eb)
{
	*out = NULL;
	if (m->proplet_id == NULL || !core_uuid_valid(m->proplet_id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "heartbeat message: \"proplet_id\" must be a UUID");
	return codec_finish(json_pack("{ss,ss,ss}", "proplet_id", m->proplet_id,
	    "status", m->offline ? "offline" :
	    (m->status != NULL ? m->status : "alive"),
	    "namespace", m->namespace_ != NULL ? m->namespace_ : "default"),
	    out, eb);
}

void
mqtt_heartbeat_cleanup(struct mqtt_heartbeat *m)
{
	if (m == NULL)
		return;
	free(m->proplet_id);
	free(m->status);
	free(m->namespace_);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

/* "error": null, absent or "" mean success. */
static enum core_err
codec_error_field(const json_t *o, char **out, struct core_errbuf *eb)
{
	enum core_err err;

	err = codec_str(o, "error", false, MQTT_MAX_RESULT, out, eb);
	if (err == CORE_OK && *out != NULL && **out == '\0') {
		free(*out);
		*out = NULL;
	}
	return err;
}

enum core_err
mqtt_result_decode(const void *p, size_t n, struct mqtt_result *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL, *r;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_RESULT, "result", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "task_id", true, &m->task_id, eb)) ||
	    (err = codec_uuid(o, "proplet_id", false, &m->proplet_id, eb)) ||
	    (err = codec_error_field(o, &m->error, eb)))
		goto out;
	r = json_object_get(o, "results");
	if (r != NULL && !json_is_null(r))
		m->results = json_incref(r);
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "result message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_result_encode(const struct mqtt_result *m, char **out,
    struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->task_id == NULL || !core_uuid_valid(m->task_id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "result message: \"task_id\" must be a UUID");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "task_id", json_string(m->task_id));
	codec_set_str(o, "proplet_id", m->proplet_id);
	if (m->results != NULL)
		json_object_set(o, "results", m->results);
	else
		json_object_set_new(o, "results", json_string(""));
	json_object_set_new(o, "error", m->error != NULL ?
	    json_string(m->error) : json_null());
	return codec_finish(o, out, eb);
}

void
mqtt_result_cleanup(struct mqtt_result *m)
{
	if (m == NULL)
		return;
	free(m->task_id);
	free(m->proplet_id);
	json_decref(m->results);
	free(m->error);
	memset(m, 0, sizeof(*m));
}

enum core_err
mqtt_invoke_result_decode(const void *p, size_t n,
    struct mqtt_invoke_result *m, struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_RESULT, "invoke result", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "task_id", true, &m->task_id, eb)) ||
	    (err = codec_uuid(o, "invocation_id", true, &m->invocation_id,
	        eb)) ||
	    (err = codec_uuid(o, "proplet_id", false, &m->proplet_id, eb)) ||
	    (err = codec_str(o, "results", false, MQTT_MAX_RESULT, &m->results,
	        eb)) ||
	    (err = codec_error_field(o, &m->error, eb)))
		goto out;
	if (m->results == NULL && (m->results = strdup("")) == NULL)
		err = core_errf(eb, CORE_ERR_NOMEM, "out of memory");
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "invoke result message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_invoke_result_encode(const struct mqtt_invoke_result *m, char **out,
    struct core_errbuf *eb)
{
	json_t *o;

	*out = NULL;
	if (m->task_id == NULL || !core_uuid_valid(m->task_id) ||
	    m->invocation_id == NULL || !core_uuid_valid(m->invocation_id))
		return core_errf(eb, CORE_ERR_INVALID, "invoke result message: "
		    "\"task_id\" and \"invocation_id\" must be UUIDs");
	o = json_object();
	if (o == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	json_object_set_new(o, "task_id", json_string(m->task_id));
	json_object_set_new(o, "invocation_id", json_string(m->invocation_id));
	codec_set_str(o, "proplet_id", m->proplet_id);
	json_object_set_new(o, "results",
	    json_string(m->results != NULL ? m->results : ""));
	json_object_set_new(o, "error", m->error != NULL ?
	    json_string(m->error) : json_null());
	return codec_finish(o, out, eb);
}

void
mqtt_invoke_result_cleanup(struct mqtt_invoke_result *m)
{
	if (m == NULL)
		return;
	free(m->task_id);
	free(m->invocation_id);
	free(m->proplet_id);
	free(m->results);
	free(m->error);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

static enum core_err
codec_sub(const json_t *o, const char *key, bool required, const json_t **out,
    struct core_errbuf *eb)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return core_errf(eb, CORE_ERR_INVALID,
			    "missing required field \"%s\"", key);
		return CORE_OK;
	}
	if (!json_is_object(v))
		return core_errf(eb, CORE_ERR_INVALID,
		    "field \"%s\" must be an object", key);
	*out = v;
	return CORE_OK;
}

enum core_err
mqtt_task_metrics_decode(const void *p, size_t n, struct mqtt_task_metrics *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL;
	const json_t *u, *a;
	struct mqtt_task_usage *t = &m->metrics;
	struct mqtt_task_aggregate *g = &m->aggregated;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_CONTROL, "task metrics", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "task_id", true, &m->task_id, eb)) ||
	    (err = codec_uuid(o, "proplet_id", true, &m->proplet_id, eb)) ||
	    (err = codec_sub(o, "metrics", true, &u, eb)) ||
	    (err = codec_sub(o, "aggregated", false, &a, eb)) ||
	    (err = codec_timestamp(o, &m->timestamp_ns, eb)))
		goto out;
	if ((err = codec_number(u, "cpu_percent", &t->cpu_percent, eb)) ||
	    (err = codec_number(u, "memory_percent", &t->memory_percent, eb)) ||
	    (err = codec_nonneg(u, "memory_bytes", &t->memory_bytes, eb)) ||
	    (err = codec_nonneg(u, "disk_read_bytes", &t->disk_read_bytes, eb)) ||
	    (err = codec_nonneg(u, "disk_write_bytes", &t->disk_write_bytes,
	        eb)) ||
	    (err = codec_nonneg(u, "uptime_seconds", &t->uptime_seconds, eb)) ||
	    (err = codec_nonneg(u, "thread_count", &t->thread_count, eb)) ||
	    (err = codec_nonneg(u, "file_descriptor_count",
	        &t->file_descriptor_count, eb))) {
		core_errbuf_prefix(eb, "field \"metrics\"");
		goto out;
	}
	if (a != NULL) {
		g->present = true;
		if ((err = codec_number(a, "avg_cpu_usage", &g->avg_cpu_usage,
		        eb)) ||
		    (err = codec_number(a, "max_cpu_usage", &g->max_cpu_usage,
		        eb)) ||
		    (err = codec_nonneg(a, "avg_memory_usage",
		        &g->avg_memory_usage, eb)) ||
		    (err = codec_nonneg(a, "max_memory_usage",
		        &g->max_memory_usage, eb)) ||
		    (err = codec_nonneg(a, "total_disk_read", &g->total_disk_read,
		        eb)) ||
		    (err = codec_nonneg(a, "total_disk_write",
		        &g->total_disk_write, eb)) ||
		    (err = codec_nonneg(a, "sample_count", &g->sample_count, eb)))
			core_errbuf_prefix(eb, "field \"aggregated\"");
	}
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "task metrics message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_task_metrics_encode(const struct mqtt_task_metrics *m, char **out,
    struct core_errbuf *eb)
{
	const struct mqtt_task_usage *t = &m->metrics;
	const struct mqtt_task_aggregate *g = &m->aggregated;
	char ts[CORE_RFC3339_LEN];
	json_t *o;

	*out = NULL;
	if (m->task_id == NULL || !core_uuid_valid(m->task_id) ||
	    m->proplet_id == NULL || !core_uuid_valid(m->proplet_id))
		return core_errf(eb, CORE_ERR_INVALID, "task metrics message: "
		    "\"task_id\" and \"proplet_id\" must be UUIDs");
	core_rfc3339(m->timestamp_ns != 0 ? m->timestamp_ns : core_wall_ns(), 9,
	    ts);
	o = json_pack("{ss,ss,s{sf,sI,sf,sI,sI,sI,sI,sI},so,ss}",
	    "task_id", m->task_id, "proplet_id", m->proplet_id, "metrics",
	    "cpu_percent", t->cpu_percent,
	    "memory_bytes", (json_int_t)t->memory_bytes,
	    "memory_percent", t->memory_percent,
	    "disk_read_bytes", (json_int_t)t->disk_read_bytes,
	    "disk_write_bytes", (json_int_t)t->disk_write_bytes,
	    "uptime_seconds", (json_int_t)t->uptime_seconds,
	    "thread_count", (json_int_t)t->thread_count,
	    "file_descriptor_count", (json_int_t)t->file_descriptor_count,
	    "aggregated", g->present ? json_pack("{sf,sf,sI,sI,sI,sI,sI}",
	        "avg_cpu_usage", g->avg_cpu_usage,
	        "max_cpu_usage", g->max_cpu_usage,
	        "avg_memory_usage", (json_int_t)g->avg_memory_usage,
	        "max_memory_usage", (json_int_t)g->max_memory_usage,
	        "total_disk_read", (json_int_t)g->total_disk_read,
	        "total_disk_write", (json_int_t)g->total_disk_write,
	        "sample_count", (json_int_t)g->sample_count) : json_null(),
	    "timestamp", ts);
	return codec_finish(o, out, eb);
}

void
mqtt_task_metrics_cleanup(struct mqtt_task_metrics *m)
{
	if (m == NULL)
		return;
	free(m->task_id);
	free(m->proplet_id);
	memset(m, 0, sizeof(*m));
}

enum core_err
mqtt_proplet_metrics_decode(const void *p, size_t n,
    struct mqtt_proplet_metrics *m, struct core_errbuf *eb)
{
	json_t *o = NULL;
	const json_t *c, *mm;
	enum core_err err;

	m->container_usage_bytes = m->container_limit_bytes = -1;
	err = codec_parse(p, n, MQTT_MAX_CONTROL, "proplet metrics", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_uuid(o, "proplet_id", true, &m->proplet_id, eb)) ||
	    (err = codec_str(o, "namespace", false, 256, &m->namespace_, eb)) ||
	    (err = codec_timestamp(o, &m->timestamp_ns, eb)) ||
	    (err = codec_sub(o, "cpu_metrics", false, &c, eb)) ||
	    (err = codec_sub(o, "memory_metrics", false, &mm, eb)))
		goto out;
	if (c != NULL &&
	    ((err = codec_number(c, "user_seconds", &m->cpu_user_seconds, eb)) ||
	    (err = codec_number(c, "system_seconds", &m->cpu_system_seconds,
	        eb)) ||
	    (err = codec_number(c, "percent", &m->cpu_percent, eb)))) {
		core_errbuf_prefix(eb, "field \"cpu_metrics\"");
		goto out;
	}
	if (mm != NULL &&
	    ((err = codec_nonneg(mm, "rss_bytes", &m->rss_bytes, eb)) ||
	    (err = codec_nonneg(mm, "heap_alloc_bytes", &m->heap_alloc_bytes,
	        eb)) ||
	    (err = codec_nonneg(mm, "heap_sys_bytes", &m->heap_sys_bytes, eb)) ||
	    (err = codec_nonneg(mm, "heap_inuse_bytes", &m->heap_inuse_bytes,
	        eb)) ||
	    (err = codec_nonneg(mm, "container_usage_bytes",
	        &m->container_usage_bytes, eb)) ||
	    (err = codec_nonneg(mm, "container_limit_bytes",
	        &m->container_limit_bytes, eb))))
		core_errbuf_prefix(eb, "field \"memory_metrics\"");
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "proplet metrics message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_proplet_metrics_encode(const struct mqtt_proplet_metrics *m, char **out,
    struct core_errbuf *eb)
{
	char ts[CORE_RFC3339_LEN];
	json_t *o, *mem;

	*out = NULL;
	if (m->proplet_id == NULL || !core_uuid_valid(m->proplet_id))
		return core_errf(eb, CORE_ERR_INVALID,
		    "proplet metrics message: \"proplet_id\" must be a UUID");
	core_rfc3339(m->timestamp_ns != 0 ? m->timestamp_ns : core_wall_ns(), 9,
	    ts);
	mem = json_pack("{sI,sI,sI,sI}", "rss_bytes", (json_int_t)m->rss_bytes,
	    "heap_alloc_bytes", (json_int_t)m->heap_alloc_bytes,
	    "heap_sys_bytes", (json_int_t)m->heap_sys_bytes,
	    "heap_inuse_bytes", (json_int_t)m->heap_inuse_bytes);
	if (mem != NULL && m->container_usage_bytes >= 0)
		json_object_set_new(mem, "container_usage_bytes",
		    json_integer(m->container_usage_bytes));
	if (mem != NULL && m->container_limit_bytes >= 0)
		json_object_set_new(mem, "container_limit_bytes",
		    json_integer(m->container_limit_bytes));
	o = json_pack("{ss,ss,ss,s{sf,sf,sf},so}", "proplet_id", m->proplet_id,
	    "namespace", m->namespace_ != NULL ? m->namespace_ : "default",
	    "timestamp", ts, "cpu_metrics",
	    "user_seconds", m->cpu_user_seconds,
	    "system_seconds", m->cpu_system_seconds,
	    "percent", m->cpu_percent, "memory_metrics", mem);
	return codec_finish(o, out, eb);
}

void
mqtt_proplet_metrics_cleanup(struct mqtt_proplet_metrics *m)
{
	if (m == NULL)
		return;
	free(m->proplet_id);
	free(m->namespace_);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------ */
/* Chunks                                                              */
/* ------------------------------------------------------------------ */

enum core_err
mqtt_chunk_decode(const void *p, size_t n, struct mqtt_chunk *m,
    struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	m->chunk_idx = m->total_chunks = -1;
	err = codec_parse(p, n, MQTT_MAX_CHUNK, "chunk", &o, eb);
	if (err != CORE_OK)
		goto out;
	if ((err = codec_str(o, "app_name", true, MQTT_MAX_STRING,
	        &m->app_name, eb)) ||
	    (err = core_json_get_int(o, "chunk_idx", true, &m->chunk_idx, eb)) ||
	    (err = core_json_get_int(o, "total_chunks", true, &m->total_chunks,
	        eb)))
		goto out;
	if (m->total_chunks < 1 || m->total_chunks > 1000000) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "field \"total_chunks\" must be between 1 and 1000000");
		goto out;
	}
	if (m->chunk_idx < 0 || m->chunk_idx >= m->total_chunks) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "field \"chunk_idx\" must be in [0, total_chunks)");
		goto out;
	}
	if (!json_is_string(json_object_get(o, "data"))) {
		err = core_errf(eb, CORE_ERR_INVALID,
		    "field \"data\" must be a base64 string");
		goto out;
	}
	err = core_json_get_b64(o, "data", true, &m->data, &m->data_len, eb);
out:
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "chunk message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_chunk_encode(const struct mqtt_chunk *m, char **out,
    struct core_errbuf *eb)
{
	char *b64;
	json_t *o;

	*out = NULL;
	if (m->app_name == NULL || *m->app_name == '\0' || m->total_chunks < 1 ||
	    m->chunk_idx < 0 || m->chunk_idx >= m->total_chunks)
		return core_errf(eb, CORE_ERR_INVALID, "chunk message: needs "
		    "app_name and 0 <= chunk_idx < total_chunks");
	b64 = core_b64_encode(m->data != NULL ? m->data : (const uint8_t *)"",
	    m->data_len);
	if (b64 == NULL)
		return core_errf(eb, CORE_ERR_NOMEM, "out of memory");
	o = json_pack("{ss,sI,sI,ss}", "app_name", m->app_name,
	    "chunk_idx", (json_int_t)m->chunk_idx,
	    "total_chunks", (json_int_t)m->total_chunks, "data", b64);
	free(b64);
	return codec_finish(o, out, eb);
}

void
mqtt_chunk_cleanup(struct mqtt_chunk *m)
{
	if (m == NULL)
		return;
	free(m->app_name);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

enum core_err
mqtt_chunk_request_decode(const void *p, size_t n,
    struct mqtt_chunk_request *m, struct core_errbuf *eb)
{
	json_t *o = NULL;
	enum core_err err;

	err = codec_parse(p, n, MQTT_MAX_CONTROL, "chunk request", &o, eb);
	if (err == CORE_OK)
		err = codec_str(o, "app_name", true, MQTT_MAX_STRING,
		    &m->app_name, eb);
	if (err != CORE_OK)
		core_errbuf_prefix(eb, "chunk request message");
	json_decref(o);
	return err;
}

enum core_err
mqtt_chunk_request_encode(const struct mqtt_chunk_request *m, char **out,
    struct core_errbuf *eb)
{
	*out = NULL;
	if (m->app_name == NULL || *m->app_name == '\0')
		return core_errf(eb, CORE_ERR_INVALID,
		    "chunk request message: \"app_name\" must not be empty");
	return codec_finish(json_pack("{ss}", "app_name", m->app_name), out, eb);
}

void
mqtt_chunk_request_cleanup(struct mqtt_chunk_request *m)
{
	if (m == NULL)
		return;
	free(m->app_name);
	memset(m, 0, sizeof(*m));
}
