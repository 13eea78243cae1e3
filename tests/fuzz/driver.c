/*
 * driver.c -- replays a libFuzzer target without libFuzzer.
 *
 * Runs LLVMFuzzerTestOneInput on every file of the directories (or files)
 * given as arguments, then on a fixed number of pseudo-random mutations of
 * them (deterministic seed), so every build checks that the parsers survive
 * their corpus. The real coverage-guided fuzzing is the fuzz_<name> binary
 * built with PROPELLER_FUZZ=ON.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRIVER_MUTATIONS 2000
#define DRIVER_MAX_INPUT (1024 * 1024)

struct input {
	uint8_t *p;
	size_t n;
};

static struct input *inputs;
static size_t ninputs;

static void
add_file(const char *path)
{
	uint8_t *p = NULL;
	size_t n = 0;
	struct input *ni;

	if (core_fs_read(path, DRIVER_MAX_INPUT, &p, &n, NULL) != CORE_OK)
		return;
	ni = realloc(inputs, (ninputs + 1) * sizeof(*inputs));
	if (ni == NULL) {
		free(p);
		return;
	}
	inputs = ni;
	inputs[ninputs].p = p;
	inputs[ninputs].n = n;
	ninputs++;
}

static void
add_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *full;

		if (de->d_name[0] == '.')
			continue;
		if ((full = core_path_join(path, de->d_name)) == NULL)
			continue;
		add_path(full);
		free(full);
	}
	closedir(d);
}

static uint64_t
next_rand(uint64_t *s)
{
	/* xorshift64*: deterministic, good enough to perturb inputs. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

int
main(int argc, char **argv)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t i, ran = 0;
	uint8_t *buf;

	for (i = 1; i < (size_t)argc; i++)
		add_path(argv[i]);
	for (i = 0; i < ninputs; i++, ran++)
		LLVMFuzzerTestOneInput(inputs[i].p, inputs[i].n);
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	if ((buf = malloc(DRIVER_MAX_INPUT)) == NULL)
		return 1;
	for (i = 0; i < DRIVER_MUTATIONS; i++, ran++) {
		size_t n, k, flips;

		if (ninputs > 0) {
			struct input *in = &inputs[next_rand(&seed) % ninputs];

			n = in->n;
			memcpy(buf, in->p, n);
		} else {
			n = next_rand(&seed) % 256;
			for (k = 0; k < n; k++)
				buf[k] = (uint8_t)next_rand(&seed);
		}
		flips = 1 + next_rand(&seed) % 8;
		for (k = 0; n > 0 && k < flips; k++)
			buf[next_rand(&seed) % n] ^= (uint8_t)(1u << (next_rand(&seed) % 8));
		if (n > 0 && next_rand(&seed) % 4 == 0)
			n = next_rand(&seed) % n; /* truncate */
		LLVMFuzzerTestOneInput(buf, n);
	}
	free(buf);
	for (i = 0; i < ninputs; i++)
		free(inputs[i].p);
	free(inputs);
	printf("fuzz driver: %zu inputs ran without a crash\n", ran);
	return 0;
}
