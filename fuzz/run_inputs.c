/*
 * run_inputs.c — a plain driver for the harnesses: calls
 * LLVMFuzzerTestOneInput once per file, without libFuzzer.
 *
 *   run_inputs [-v] FILE|DIR...
 *
 * Directories are walked recursively (corpus/<harness>/ and its
 * regressions/), files in name order. -v prints each file's name before it
 * runs (GORT_FUZZ_TRACE=1 prints each operation). The last line is
 * `ran N inputs`; a failing input aborts the process with the harness's
 * message, the file named just above it (-v) or by the caller.
 *
 * Linked with the normal build (make fuzz-replay), so the corpus replays as
 * a regression test under gcc, and under ASan+UBSan with SAN=address,undefined,
 * on machines without libFuzzer too.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int verbose;
static unsigned long ran;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fprintf(stderr, "%s: out of memory\n", path);
			exit(2);
		}
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
	}
	fclose(f);
	if (verbose) {
		fprintf(stderr, "input %s (%zu bytes)\n", path, n);
		fflush(stderr);
	}
	/* A copy of exactly n bytes, so ASan sees reads past the input. */
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		exit(2);
	memcpy(copy, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	ran++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		perror(path);
		exit(2);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				exit(2);
		}
		size_t len = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		if (!names[n])
			exit(2);
		snprintf(names[n], len, "%s/%s", path, e->d_name);
		n++;
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		run_path(names[i]);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: %s [-v] FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (; i < argc; i++)
		run_path(argv[i]);
	/* With GORT_FUZZ_GSH=1 stdout is a gortsh script: keep it one. */
	const char *gsh = getenv("GORT_FUZZ_GSH");
	fprintf(gsh && *gsh && *gsh != '0' ? stderr : stdout, "ran %lu inputs\n", ran);
	return 0;
}
