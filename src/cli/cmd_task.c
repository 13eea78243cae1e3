/*
 * cmd_task.c -- `propeller task`: create, list, get (view), update, delete,
 * start, stop and results of manager tasks over the HTTP API, with
 * upstream propeller-cli's flags. Human tables by default, --json for the
 * manager's JSON.
 */
#define LOG_MODULE "cli"
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "manager/manager.h"

static const char *const task_states[] = { "Pending", "Scheduled", "Running",
	"Completed", "Failed", "Skipped", "Interrupted" };

struct task_opts {
	const char *url;      /* borrowed from argv/env */
	const char *token;    /* borrowed from argv/env */
	bool insecure;
	bool json;
	int64_t offset, limit;
	json_t *body;         /* owned: fields set by flags */
	json_t *metadata;     /* owned: --metadata K=V pairs */
	json_t *env;          /* owned: --env K=V pairs */
};

enum {
	OPT_IMAGE = 256, OPT_FILE, OPT_CLI_ARGS, OPT_INPUTS, OPT_ENV, OPT_DAEMON,
	OPT_LATENT, OPT_ENCRYPTED, OPT_KBS, OPT_PROPLET, OPT_BROADCAST,
	OPT_PRIORITY, OPT_MODE, OPT_KIND, OPT_SCHEDULE, OPT_TZ, OPT_RECURRING,
	OPT_METADATA, OPT_TOKEN, OPT_JSON, OPT_INSECURE
};

static const struct option task_longopts[] = {
	{ "manager-url", required_argument, NULL, 'm' },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "offset", required_argument, NULL, 'o' },
	{ "limit", required_argument, NULL, 'l' },
	{ "image-url", required_argument, NULL, OPT_IMAGE },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "cli-args", required_argument, NULL, OPT_CLI_ARGS },
	{ "inputs", required_argument, NULL, OPT_INPUTS },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "latent", no_argument, NULL, OPT_LATENT },
	{ "encrypted", no_argument, NULL, OPT_ENCRYPTED },
	{ "kbs-resource-path", required_argument, NULL, OPT_KBS },
	{ "proplet-id", required_argument, NULL, OPT_PROPLET },
	{ "broadcast", no_argument, NULL, OPT_BROADCAST },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "schedule", required_argument, NULL, OPT_SCHEDULE },
	{ "timezone", required_argument, NULL, OPT_TZ },
	{ "is-recurring", no_argument, NULL, OPT_RECURRING },
	{ "metadata", required_argument, NULL, OPT_METADATA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
task_usage(FILE *f)
{
	fprintf(f,
	    "usage: propeller task <command> [flags]\n\n"
	    "commands:\n"
	    "  create <name>     create a task (flags below)\n"
	    "  list              list tasks [-o offset] [-l limit] [--metadata K=V]\n"
	    "  get|view <id>     show a task\n"
	    "  update <id>       update name, inputs, file, priority, metadata,\n"
	    "                    schedule, timezone, is-recurring\n"
	    "  delete <id>       delete a task\n"
	    "  start <id>        start a task\n"
	    "  stop <id>         stop a task\n"
	    "  results <id>      print a task's results\n\n"
	    "flags:\n"
	    "  -m, --manager-url URL   manager API (default $PROPELLER_MANAGER_URL\n"
	    "                          or http://localhost:7070)\n"
	    "      --token T           bearer token (default $MANAGER_API_TOKEN)\n"
	    "      --insecure          skip TLS verification\n"
	    "      --json              print the manager's JSON\n"
	    "  task fields: --image-url REF, --file PATH.wasm, --cli-args a,b,\n"
	    "    --inputs 1,2, --env K=V (repeat), --daemon, --latent,\n"
	    "    --encrypted, --kbs-resource-path P, --proplet-id ID,\n"
	    "    --broadcast, --priority N, --mode infer|train,\n"
	    "    --kind standard|federated, --schedule CRON, --timezone TZ,\n"
	    "    --is-recurring, --metadata K=V (repeat)\n");
}

/* Splits a comma list into a JSON array of strings. */
static json_t *
task_comma_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s, *c;

	while (a != NULL && *s != '\0') {
		c = strchr(p, ',');
		json_array_append_new(a, json_stringn(p, c != NULL ?
		    (size_t)(c - p) : strlen(p)));
		if (c == NULL)
			break;
		p = c + 1;
	}
	return a;
}

/* Adds K=V to obj; false on a missing '='. */
static bool
task_kv(json_t *obj, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *k;

	if (eq == NULL || eq == kv)
		return false;
	k = strndup(kv, (size_t)(eq - kv));
	if (k == NULL)
		return false;
	json_object_set_new(obj, k, json_string(eq + 1));
	free(k);
	return true;
}

static int
task_set_file(json_t *body, const char *path)
{
	struct core_errbuf eb;
	uint8_t *data = NULL;
	size_t len = 0;
	char *b64;

	core_errbuf_clear(&eb);
	if (core_fs_read(path, MANAGER_BODY_MAX / 4 * 3, &data, &len, &eb) !=
	    CORE_OK) {
		fprintf(stderr, "propeller task: --file: %s\n",
		    core_errbuf_msg(&eb));
		return CLI_EXIT_USAGE;
	}
	if (len < 4 || memcmp(data, "\0asm", 4) != 0) {
		fprintf(stderr, "propeller task: --file %s is not a WebAssembly "
		    "module (no \\0asm magic)\n", path);
		free(data);
		return CLI_EXIT_USAGE;
	}
	b64 = core_b64_encode(data, len);
	free(data);
	if (b64 == NULL)
		return CLI_EXIT_FAIL;
	json_object_set_new(body, "file", json_string(b64));
	free(b64);
	return CLI_EXIT_OK;
}

/* Parses the flags; positional arguments are left in argv[optind..]. */
static int
task_parse(int argc, char **argv, struct task_opts *o)
{
	int c, rc;
	int64_t v;

	o->url = getenv("PROPELLER_MANAGER_URL");
	if (o->url == NULL || *o->url == '\0')
		o->url = "http://localhost:7070";
	o->token = getenv("MANAGER_API_TOKEN");
	o->limit = 10;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:o:l:h", task_longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'm': o->url = optarg; break;
		case OPT_TOKEN: o->token = optarg; break;
		case OPT_INSECURE: o->insecure = true; break;
		case OPT_JSON: o->json = true; break;
		case 'o':
			if (core_parse_int(optarg, 0, INT32_MAX, &o->offset)) {
				fprintf(stderr, "propeller task: --offset must be "
				    "a non-negative integer (got \"%s\")\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'l':
			if (core_parse_int(optarg, 1, 100, &o->limit)) {
				fprintf(stderr, "propeller task: --limit must be "
				    "1..100 (got \"%s\")\n", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_IMAGE:
			json_object_set_new(o->body, "image_url",
			    json_string(optarg));
			break;
		case OPT_FILE:
			if ((rc = task_set_file(o->body, optarg)) != CLI_EXIT_OK)
				return rc;
			break;
		case OPT_CLI_ARGS:
			json_object_set_new(o->body, "cli_args",
			    task_comma_list(optarg));
			break;
		case OPT_INPUTS:
			json_object_set_new(o->body, "inputs",
			    task_comma_list(optarg));
			break;
		case OPT_ENV:
		case OPT_METADATA:
			if (!task_kv(c == OPT_ENV ? o->env : o->metadata,
			    optarg)) {
				fprintf(stderr, "propeller task: --%s wants K=V "
				    "(got \"%s\")\n", c == OPT_ENV ? "env" :
				    "metadata", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_DAEMON:
			json_object_set_new(o->body, "daemon", json_true());
			break;
		case OPT_LATENT:
			json_object_set_new(o->body, "latent", json_true());
			break;
		case OPT_ENCRYPTED:
			json_object_set_new(o->body, "encrypted", json_true());
			break;
		case OPT_BROADCAST:
			json_object_set_new(o->body, "broadcast", json_true());
			break;
		case OPT_RECURRING:
			json_object_set_new(o->body, "is_recurring", json_true());
			break;
		case OPT_KBS:
			json_object_set_new(o->body, "kbs_resource_path",
			    json_string(optarg));
			break;
		case OPT_PROPLET:
			json_object_set_new(o->body, "proplet_id",
			    json_string(optarg));
			break;
		case OPT_PRIORITY:
			if (core_parse_int(optarg, 0, 100, &v) != CORE_OK) {
				fprintf(stderr, "propeller task: --priority must "
				    "be 0..100 (got \"%s\")\n", optarg);
				return CLI_EXIT_USAGE;
			}
			json_object_set_new(o->body, "priority", json_integer(v));
			break;
		case OPT_MODE:
			json_object_set_new(o->body, "mode", json_string(optarg));
			break;
		case OPT_KIND:
			json_object_set_new(o->body, "kind", json_string(optarg));
			break;
		case OPT_SCHEDULE:
			json_object_set_new(o->body, "schedule",
			    json_string(optarg));
			break;
		case OPT_TZ:
			json_object_set_new(o->body, "timezone",
			    json_string(optarg));
			break;
		case 'h':
			task_usage(stdout);
			return -1;
		default:
			task_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (json_object_size(o->env) > 0)
		json_object_set(o->body, "env", o->env);
	if (json_object_size(o->metadata) > 0)
		json_object_set(o->body, "metadata", o->metadata);
	return CLI_EXIT_OK;
}

static void
task_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2));

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

static const char *
task_state_name(const json_t *t)
{
	json_int_t s = json_integer_value(json_object_get(t, "state"));

	return s >= 0 && s < 7 ? task_states[s] : "Unknown";
}

static void
task_print_one(const json_t *t)
{
	static const char *const keys[] = { "id", "name", "kind", "image_url",
		"file", "proplet_id", "kbs_resource_path", "error", "start_time",
		"finish_time", "created_at", "updated_at" };
	const json_t *v;
	char *s;
	size_t i;

	for (i = 0; i < CORE_ARRAY_LEN(keys); i++) {
		v = json_object_get(t, keys[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			printf("%-18s %s\n", keys[i], json_string_value(v));
		if (i == 1)
			printf("%-18s %s (%lld)\n", "state", task_state_name(t),
			    (long long)json_integer_value(json_object_get(t,
			    "state")));
	}
	static const char *const lists[] = { "inputs", "cli_args", "env",
		"results", "metadata" };
	for (i = 0; i < CORE_ARRAY_LEN(lists); i++) {
		v = json_object_get(t, lists[i]);
		if (v == NULL || json_is_null(v))
			continue;
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-18s %s\n", lists[i], s != NULL ? s : "");
		free(s);
	}
	printf("%-18s %s%s%s%s\n", "flags",
	    json_is_true(json_object_get(t, "encrypted")) ? "encrypted " : "",
	    json_is_true(json_object_get(t, "daemon")) ? "daemon " : "",
	    json_is_true(json_object_get(t, "latent")) ? "latent " : "",
	    json_is_true(json_object_get(t, "broadcast")) ? "broadcast" : "");
}

static void
task_print_list(const json_t *page)
{
	const json_t *t;
	size_t i;

	printf("%-36s  %-20s  %-11s  %-36s  %s\n", "ID", "NAME", "STATE",
	    "PROPLET", "CREATED");
	json_array_foreach(json_object_get(page, "tasks"), i, t) {
		printf("%-36s  %-20.20s  %-11s  %-36s  %.19s\n",
		    json_string_value(json_object_get(t, "id")),
		    json_string_value(json_object_get(t, "name")),
		    task_state_name(t),
		    json_string_value(json_object_get(t, "proplet_id")) != NULL ?
		    json_string_value(json_object_get(t, "proplet_id")) : "-",
		    json_string_value(json_object_get(t, "created_at")) != NULL ?
		    json_string_value(json_object_get(t, "created_at")) : "");
	}
	printf("(%lld of %lld, offset %lld)\n",
	    (long long)json_array_size(json_object_get(page, "tasks")),
	    (long long)json_integer_value(json_object_get(page, "total")),
	    (long long)json_integer_value(json_object_get(page, "offset")));
}

/* Percent-encodes s for a query string (malloc'd). */
static char *
task_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct core_buf b;
	size_t len;

	core_buf_init(&b, 64 * 1024);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		char enc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch) != NULL)
			core_buf_append(&b, s, 1);
		else
			core_buf_append(&b, enc, 3);
	}
	core_buf_append(&b, "", 0);
	return (char *)core_buf_steal(&b, &len);
}

static int
task_run(int argc, char **argv)
{
	struct task_opts o;
	struct core_errbuf eb;
	const char *sub, *arg = NULL, *method = "GET";
	char path[512], *body = NULL, *mdq = NULL, *mdenc = NULL;
	json_t *out = NULL;
	enum core_err err;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		task_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	o.body = json_object();
	o.metadata = json_object();
	o.env = json_object();
	rc = task_parse(argc - 1, argv + 1, &o);
	if (rc != CLI_EXIT_OK) {
		rc = rc < 0 ? CLI_EXIT_OK : rc;
		goto out;
	}
	if (optind + 1 < argc - 1) {
		fprintf(stderr, "propeller task %s: too many arguments\n", sub);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	arg = optind < argc - 1 ? argv[1 + optind] : NULL;
	rc = CLI_EXIT_USAGE;
	if (strcmp(sub, "list") == 0) {
		if (arg != NULL)
			goto usage;
		if (json_object_size(o.metadata) > 0) {
			mdq = json_dumps(o.metadata, JSON_COMPACT);
			mdenc = mdq != NULL ? task_urlencode(mdq) : NULL;
		}
		snprintf(path, sizeof(path), "/tasks?offset=%lld&limit=%lld%s%.400s",
		    (long long)o.offset, (long long)o.limit,
		    mdenc != NULL ? "&metadata=" : "", mdenc != NULL ? mdenc : "");
	} else if (strcmp(sub, "create") == 0) {
		if (arg == NULL)
			goto usage;
		json_object_set_new(o.body, "name", json_string(arg));
		method = "POST";
		snprintf(path, sizeof(path), "/tasks");
	} else {
		if (arg == NULL || !core_uuid_valid(arg)) {
			fprintf(stderr, "propeller task %s: needs a task id (UUID)"
			    "%s%s\n", sub, arg != NULL ? ", got " : "",
			    arg != NULL ? arg : "");
			goto out;
		}
		if (strcmp(sub, "get") == 0 || strcmp(sub, "view") == 0) {
			snprintf(path, sizeof(path), "/tasks/%s", arg);
		} else if (strcmp(sub, "update") == 0) {
			method = "PUT";
			snprintf(path, sizeof(path), "/tasks/%s", arg);
		} else if (strcmp(sub, "delete") == 0) {
			method = "DELETE";
			snprintf(path, sizeof(path), "/tasks/%s", arg);
		} else if (strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0) {
			method = "POST";
			snprintf(path, sizeof(path), "/tasks/%s/%s", arg, sub);
		} else if (strcmp(sub, "results") == 0) {
			snprintf(path, sizeof(path), "/tasks/%s/results", arg);
		} else {
			fprintf(stderr, "propeller task: unknown command \"%s\"\n",
			    sub);
			task_usage(stderr);
			goto out;
		}
	}
	if (strcmp(method, "POST") == 0 && strcmp(sub, "create") == 0)
		body = json_dumps(o.body, JSON_COMPACT);
	else if (strcmp(method, "PUT") == 0)
		body = json_dumps(o.body, JSON_COMPACT);
	core_errbuf_clear(&eb);
	err = manager_client_json(o.url, o.token, o.insecure, method, path, body,
	    &out, &eb);
	if (err != CORE_OK) {
		fprintf(stderr, "propeller task %s: %s\n", sub,
		    core_errbuf_msg(&eb));
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	rc = CLI_EXIT_OK;
	if (o.json) {
		if (out != NULL)
			task_print_json(out);
	} else if (strcmp(sub, "list") == 0) {
		task_print_list(out);
	} else if (strcmp(sub, "delete") == 0) {
		printf("deleted task %s\n", arg);
	} else if (strcmp(sub, "start") == 0) {
		printf("started task %s\n", arg);
	} else if (strcmp(sub, "stop") == 0) {
		printf("stopped task %s\n", arg);
	} else if (strcmp(sub, "results") == 0) {
		const json_t *r = json_object_get(out, "results");

		if (json_is_string(r))
			fputs(json_string_value(r), stdout);
		else if (r != NULL)
			task_print_json(r);
	} else if (out != NULL) {
		task_print_one(out);
	}
	goto out;
usage:
	task_usage(stderr);
out:
	free(body);
	free(mdq);
	free(mdenc);
	json_decref(out);
	json_decref(o.body);
	json_decref(o.metadata);
	json_decref(o.env);
	return rc;
}

const struct cli_command cli_cmd_task = { "task",
	"manage tasks on the manager (create, list, get, start, ...)", task_run };
