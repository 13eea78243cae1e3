/*
 * cmd_proplet.c -- `propeller proplet`: list, get (view) and delete the
 * proplets the manager knows, over the HTTP API.
 */
#define LOG_MODULE "cli"
#include "core/core.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "manager/manager.h"

enum { POPT_TOKEN = 256, POPT_JSON, POPT_INSECURE, POPT_STATUS };

static const struct option proplet_longopts[] = {
	{ "manager-url", required_argument, NULL, 'm' },
	{ "token", required_argument, NULL, POPT_TOKEN },
	{ "insecure", no_argument, NULL, POPT_INSECURE },
	{ "json", no_argument, NULL, POPT_JSON },
	{ "offset", required_argument, NULL, 'o' },
	{ "limit", required_argument, NULL, 'l' },
	{ "status", required_argument, NULL, POPT_STATUS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
proplet_usage(FILE *f)
{
	fprintf(f,
	    "usage: propeller proplet <command> [flags]\n\n"
	    "commands:\n"
	    "  list              list proplets [--status active|inactive]\n"
	    "                    [-o offset] [-l limit]\n"
	    "  get|view <id>     show a proplet\n"
	    "  delete <id>       delete a proplet (refused while it has tasks)\n\n"
	    "flags:\n"
	    "  -m, --manager-url URL   manager API (default $PROPELLER_MANAGER_URL\n"
	    "                          or http://localhost:7070)\n"
	    "      --token T           bearer token (default $MANAGER_API_TOKEN)\n"
	    "      --insecure          skip TLS verification\n"
	    "      --json              print the manager's JSON\n");
}

static void
proplet_row(const json_t *p)
{
	const char *last = json_string_value(json_object_get(p,
	    "last_alive_at"));

	printf("%-36s  %-20.20s  %-5s  %5lld  %.19s\n",
	    json_string_value(json_object_get(p, "id")),
	    json_string_value(json_object_get(p, "name")),
	    json_is_true(json_object_get(p, "alive")) ? "yes" : "no",
	    (long long)json_integer_value(json_object_get(p, "task_count")),
	    last != NULL ? last : "never");
}

static int
proplet_run(int argc, char **argv)
{
	const char *url, *token, *status = NULL, *sub, *arg = NULL;
	const char *method = "GET";
	struct core_errbuf eb;
	int64_t offset = 0, limit = 10;
	bool json = false, insecure = false;
	char path[256], *s;
	json_t *out = NULL, *p;
	size_t i;
	int c, rc = CLI_EXIT_USAGE;

	url = getenv("PROPELLER_MANAGER_URL");
	if (url == NULL || *url == '\0')
		url = "http://localhost:7070";
	token = getenv("MANAGER_API_TOKEN");
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		proplet_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	sub = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "m:o:l:h", proplet_longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'm': url = optarg; break;
		case POPT_TOKEN: token = optarg; break;
		case POPT_INSECURE: insecure = true; break;
		case POPT_JSON: json = true; break;
		case POPT_STATUS:
			if (strcmp(optarg, "active") != 0 &&
			    strcmp(optarg, "inactive") != 0) {
				fprintf(stderr, "propeller proplet: --status must "
				    "be active or inactive (got \"%s\")\n", optarg);
				return CLI_EXIT_USAGE;
			}
			status = optarg;
			break;
		case 'o':
		case 'l':
			if (core_parse_int(optarg, c == 'o' ? 0 : 1,
			    c == 'o' ? INT32_MAX : 1000,
			    c == 'o' ? &offset : &limit) != CORE_OK) {
				fprintf(stderr, "propeller proplet: bad --%s "
				    "(got \"%s\")\n", c == 'o' ? "offset" : "limit",
				    optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			proplet_usage(stdout);
			return CLI_EXIT_OK;
		default:
			proplet_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc)
		arg = argv[optind];
	if (optind + 1 < argc) {
		fprintf(stderr, "propeller proplet %s: too many arguments\n", sub);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(sub, "list") == 0) {
		if (arg != NULL) {
			proplet_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/proplets?offset=%lld&limit=%lld%s%s",
		    (long long)offset, (long long)limit,
		    status != NULL ? "&status=" : "", status != NULL ? status : "");
	} else if (strcmp(sub, "get") == 0 || strcmp(sub, "view") == 0 ||
	    strcmp(sub, "delete") == 0) {
		if (arg == NULL || !core_uuid_valid(arg)) {
			fprintf(stderr, "propeller proplet %s: needs a proplet id "
			    "(UUID)%s%s\n", sub, arg != NULL ? ", got " : "",
			    arg != NULL ? arg : "");
			return CLI_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "/proplets/%s", arg);
		if (strcmp(sub, "delete") == 0)
			method = "DELETE";
	} else {
		fprintf(stderr, "propeller proplet: unknown command \"%s\"\n", sub);
		proplet_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	core_errbuf_clear(&eb);
	if (manager_client_json(url, token, insecure, method, path, NULL, &out,
	    &eb) != CORE_OK) {
		fprintf(stderr, "propeller proplet %s: %s\n", sub,
		    core_errbuf_msg(&eb));
		return CLI_EXIT_FAIL;
	}
	rc = CLI_EXIT_OK;
	if (json && out != NULL) {
		s = json_dumps(out, JSON_INDENT(2));
		printf("%s\n", s != NULL ? s : "");
		free(s);
	} else if (strcmp(sub, "delete") == 0) {
		printf("deleted proplet %s\n", arg);
	} else if (strcmp(sub, "list") == 0) {
		printf("%-36s  %-20s  %-5s  %5s  %s\n", "ID", "NAME", "ALIVE",
		    "TASKS", "LAST ALIVE");
		json_array_foreach(json_object_get(out, "proplets"), i, p)
			proplet_row(p);
		printf("(%zu of %lld, offset %lld)\n",
		    json_array_size(json_object_get(out, "proplets")),
		    (long long)json_integer_value(json_object_get(out, "total")),
		    (long long)offset);
	} else if (out != NULL) {
		printf("%-36s  %-20s  %-5s  %5s  %s\n", "ID", "NAME", "ALIVE",
		    "TASKS", "LAST ALIVE");
		proplet_row(out);
		s = json_dumps(json_object_get(out, "metadata"), JSON_COMPACT);
		printf("metadata: %s\n", s != NULL ? s : "{}");
		free(s);
	}
	json_decref(out);
	return rc;
}

const struct cli_command cli_cmd_proplet = { "proplet",
	"list, show and delete proplets known to the manager", proplet_run };
