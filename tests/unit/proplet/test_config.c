#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proplet/proplet.h"

#define ID "c902e51c-5eac-4a2d-a489-660b5f7ab461"

static const char *const all_vars[] = {
	"PROPLET_TENANT_ID", "PROPLET_DOMAIN_ID", "PROPLET_ENTITY_ID",
	"PROPLET_CLIENT_ID", "PROPLET_API_KEY", "PROPLET_CLIENT_KEY",
	"PROPLET_CHANNEL_ID", "PROPLET_CONFIG_FILE", "PROPLET_CONFIG_SECTION",
	"PROPLET_MQTT_QOS", "PROPLET_LIVELINESS_INTERVAL", "PROPLET_TEE",
	"PROPLET_KBS_URI", "PROPLET_EXTERNAL_WASM_RUNTIME", "PROPLET_DIRS",
	"PROPLET_IMAGE_FETCH", "PROPLET_MQTT_ADDRESS", "PROPLET_TAGS",
	"PROPLET_WASM_TIER", "PROPLET_LOG_LEVEL", NULL,
};

static int
reset_env(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; all_vars[i] != NULL; i++)
		unsetenv(all_vars[i]);
	setenv("PROPLET_CONFIG_FILE", "/nonexistent/config.toml", 1);
	return 0;
}

static void
set_identity(void)
{
	setenv("PROPLET_TENANT_ID", "tenant-1", 1);
	setenv("PROPLET_ENTITY_ID", ID, 1);
	setenv("PROPLET_API_KEY", "secret", 1);
	setenv("PROPLET_CHANNEL_ID", "chan-1", 1);
}

static void
test_defaults(void **state)
{
	struct proplet_config c;
	struct core_cfg errs;

	(void)state;
	set_identity();
	core_cfg_init(&errs);
	proplet_config_load(&c, &errs);
	assert_int_equal(errs.nerrors, 0);
	assert_string_equal(c.entity_id, ID);
	assert_string_equal(c.mqtt.address, "tcp://localhost:1883");
	assert_int_equal(c.mqtt.qos, 2);
	assert_int_equal(c.liveliness_interval_ms, 5000);
	assert_int_equal(c.tee_mode, PROPLET_TEE_AUTO);
	assert_int_equal(c.fetch_mode, PROPLET_FETCH_PROXY);
	assert_string_equal(c.ns, "default");
	assert_null(c.kbs_uri);
	proplet_config_cleanup(&c);
	core_cfg_cleanup(&errs);
}

static void
test_old_names(void **state)
{
	struct proplet_config c;
	struct core_cfg errs;

	(void)state;
	/* The upstream docs' mix: new tenant name with old client names. */
	setenv("PROPLET_TENANT_ID", "t", 1);
	setenv("PROPLET_CLIENT_ID", ID, 1);
	setenv("PROPLET_CLIENT_KEY", "k", 1);
	setenv("PROPLET_CHANNEL_ID", "c", 1);
	core_cfg_init(&errs);
	proplet_config_load(&c, &errs);
	assert_int_equal(errs.nerrors, 0);
	assert_string_equal(c.entity_id, ID);
	assert_string_equal(c.api_key, "k");
	proplet_config_cleanup(&c);
	core_cfg_cleanup(&errs);
}

static void
test_toml_fallback(void **state)
{
	char path[] = "/tmp/proplet-cfg-XXXXXX";
	const char *text = "# provisioned\n[manager]\nentity_id = \"nope\"\n"
	    "[proplet]\ndomain_id = \"dom\"\nclient_id = \"" ID "\"\n"
	    "client_key = 'key'\nchannel_id = \"ch\"\n";
	struct proplet_config c;
	struct core_cfg errs;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(core_write_all(fd, text, strlen(text)), CORE_OK);
	close(fd);
	setenv("PROPLET_CONFIG_FILE", path, 1);
	setenv("PROPLET_CHANNEL_ID", "from-env", 1);
	core_cfg_init(&errs);
	proplet_config_load(&c, &errs);
	assert_int_equal(errs.nerrors, 0);
	assert_string_equal(c.tenant_id, "dom");
	assert_string_equal(c.entity_id, ID);
	assert_string_equal(c.api_key, "key");
	/* The environment wins over the file. */
	assert_string_equal(c.channel_id, "from-env");
	proplet_config_cleanup(&c);
	core_cfg_cleanup(&errs);
	unlink(path);
}

static void
test_every_error_reported(void **state)
{
	struct proplet_config c;
	struct core_cfg errs;
	const char *e;

	(void)state;
	setenv("PROPLET_ENTITY_ID", "not-a-uuid", 1);
	setenv("PROPLET_MQTT_QOS", "7", 1);
	setenv("PROPLET_LIVELINESS_INTERVAL", "soon", 1);
	setenv("PROPLET_TEE", "trustzone", 1);
	setenv("PROPLET_KBS_URI", "ftp://kbs", 1);
	setenv("PROPLET_EXTERNAL_WASM_RUNTIME", "/nonexistent/wasmtime", 1);
	setenv("PROPLET_DIRS", "/nonexistent-dir", 1);
	setenv("PROPLET_IMAGE_FETCH", "carrier-pigeon", 1);
	setenv("PROPLET_WASM_TIER", "3", 1);
	setenv("PROPLET_MQTT_ADDRESS", "gopher://x", 1);
	core_cfg_init(&errs);
	proplet_config_load(&c, &errs);
	e = (const char *)errs.errors.data;
	assert_non_null(strstr(e, "PROPLET_TENANT_ID: required"));
	assert_non_null(strstr(e, "PROPLET_API_KEY: required"));
	assert_non_null(strstr(e, "PROPLET_CHANNEL_ID: required"));
	assert_non_null(strstr(e, "PROPLET_ENTITY_ID: must be a UUID"));
	assert_non_null(strstr(e, "PROPLET_MQTT_QOS: must be between 0 and 2 (got \"7\")"));
	assert_non_null(strstr(e, "PROPLET_LIVELINESS_INTERVAL"));
	assert_non_null(strstr(e, "PROPLET_TEE: expected"));
	assert_non_null(strstr(e, "PROPLET_KBS_URI: must be an http"));
	assert_non_null(strstr(e, "PROPLET_EXTERNAL_WASM_RUNTIME"));
	assert_non_null(strstr(e, "PROPLET_DIRS: not a directory"));
	assert_non_null(strstr(e, "PROPLET_IMAGE_FETCH"));
	assert_non_null(strstr(e, "PROPLET_WASM_TIER"));
	assert_non_null(strstr(e, "PROPLET_MQTT_ADDRESS"));
	assert_true(errs.nerrors >= 13);
	proplet_config_cleanup(&c);
	core_cfg_cleanup(&errs);
}

static void
test_forced_tee_needs_kbs(void **state)
{
	struct proplet_config c;
	struct core_cfg errs;

	(void)state;
	set_identity();
	setenv("PROPLET_TEE", "sample", 1);
	setenv("PROPLET_TAGS", " a, b ,,c", 1);
	setenv("PROPLET_DIRS", "/tmp:/", 1);
	core_cfg_init(&errs);
	proplet_config_load(&c, &errs);
	assert_int_equal(errs.nerrors, 1);
	assert_non_null(strstr((char *)errs.errors.data, "PROPLET_KBS_URI: required"));
	assert_int_equal(c.tee_mode, PROPLET_TEE_FORCE);
	assert_int_equal(c.ntags, 3);
	assert_string_equal(c.tags[1], "b");
	assert_int_equal(c.ndirs, 2);
	proplet_config_cleanup(&c);
	core_cfg_cleanup(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, reset_env),
		cmocka_unit_test_setup(test_old_names, reset_env),
		cmocka_unit_test_setup(test_toml_fallback, reset_env),
		cmocka_unit_test_setup(test_every_error_reported, reset_env),
		cmocka_unit_test_setup(test_forced_tee_needs_kbs, reset_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
