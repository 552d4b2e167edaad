/*
 * main.c — gortsh's entry: options, and the three ways commands arrive
 * (the interactive prompt, script files, -c). Running them is session.c's.
 *
 * Exit status: 0 when every command succeeded; 1 when a command failed in
 * a batch (the first failure stops it unless --keep-going); 2 for a usage
 * error on the command line.
 *
 * Invariants: one session per process; gort's error handler is the
 * shell's from the first command on, so no misuse aborts it.
 */
#define _GNU_SOURCE
#include "shell.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"

/* ------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gortsh [OPTIONS] [FILE...]\n"
		"  Explore gort's allocator and scheduler: allocate, free, spawn and step\n"
		"  goroutines, and look at the arena, the bitmap and the run queues.\n\n"
		"  FILE...          run the files as a batch (- is standard input)\n"
		"  -c 'CMD; CMD'    run these commands as a batch\n"
		"  --procs N        number of Ps (default %d)\n"
		"  --arena SIZE     limit on the heap, K/M/G suffixes (default 64M)\n"
		"  --stack SIZE     usable stack per goroutine (default 64K)\n"
		"  --seed N         seed of every scheduling choice\n"
		"  --threads        threaded mode: real Ms on OS threads\n"
		"  --harden PRESET  light (default: Go's exact layout), default or paranoid\n"
		"  --json           one JSON object per command instead of text\n"
		"  --no-color       no colours (also NO_COLOR=1)\n"
		"  --echo           print each command before its output\n"
		"  --keep-going     in a batch, run on after an error (exit 1 at the end)\n"
		"  --norc           do not read ~/.gortshrc\n"
		"  -q, --quiet      no banner\n"
		"  --version, --help\n",
		SH_DEFAULT_PROCS);
}

enum { OPT_PROCS = 256, OPT_ARENA, OPT_STACK, OPT_SEED, OPT_THREADS, OPT_HARDEN, OPT_JSON, OPT_NOCOLOR,
       OPT_ECHO, OPT_KEEP, OPT_NORC, OPT_VERSION, OPT_HELP };

typedef struct options {
	const char *commands; /* -c */
	bool norc, no_color;
} options;

/* What each option takes, for the error that names it. */
static const char *option_range(const char *opt)
{
	static const char *const ranges[][2] = {
		{"--procs", "a number of Ps, 1..256"},
		{"--arena", "a size above 0, with K/M/G suffixes: 4M"},
		{"--stack", "a size of at least " SH_MIN_STACK_TEXT},
		{"--seed", "a number, decimal or 0x hex"},
		{"--harden", "light, default or paranoid"},
	};
	for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
		if (strcmp(ranges[i][0], opt) == 0)
			return ranges[i][1];
	return "see --help";
}

static int bad_option(const char *opt, const char *val)
{
	fprintf(stderr, "gortsh: bad value for %s: '%s' (%s)\n", opt, val, option_range(opt));
	return 2;
}

static int set_option(sh_t *sh, options *o, int c, const char *arg)
{
	uint64_t v;
	switch (c) {
	case OPT_PROCS:
		if (!parse_u64(arg, &v) || v == 0 || v > 256)
			return bad_option("--procs", arg);
		sh->cfg.procs = (unsigned)v;
		return 0;
	case OPT_ARENA:
		if (!parse_size(arg, &v) || v == 0)
			return bad_option("--arena", arg);
		sh->cfg.arena_bytes = v;
		return 0;
	case OPT_STACK:
		if (!parse_size(arg, &v) || v < SH_MIN_STACK)
			return bad_option("--stack", arg);
		sh->cfg.stack_bytes = v;
		return 0;
	case OPT_SEED:
		if (!parse_u64(arg, &v))
			return bad_option("--seed", arg);
		sh->cfg.seed = v;
		return 0;
	case OPT_THREADS:
		sh->cfg.threaded = 1;
		return 0;
	case OPT_HARDEN:
		if (sh_parse_harden(arg, &sh->cfg.harden) != 0)
			return bad_option("--harden", arg);
		return 0;
	case OPT_JSON:
		sh->json = true;
		return 0;
	case OPT_NOCOLOR:
		o->no_color = true;
		return 0;
	case OPT_ECHO:
		sh->echo = true;
		return 0;
	case OPT_KEEP:
		sh->keep_going = true;
		return 0;
	case OPT_NORC:
		o->norc = true;
		return 0;
	case 'q':
		sh->quiet = true;
		return 0;
	case 'c':
		o->commands = arg;
		return 0;
	case OPT_VERSION:
		printf("gortsh %s\n", GORT_VERSION_STRING);
		exit(0);
	case OPT_HELP:
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return 2;
	}
}

static int parse_options(sh_t *sh, options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"procs", required_argument, 0, OPT_PROCS},
		{"arena", required_argument, 0, OPT_ARENA},
		{"stack", required_argument, 0, OPT_STACK},
		{"seed", required_argument, 0, OPT_SEED},
		{"threads", no_argument, 0, OPT_THREADS},
		{"harden", required_argument, 0, OPT_HARDEN},
		{"json", no_argument, 0, OPT_JSON},
		{"no-color", no_argument, 0, OPT_NOCOLOR},
		{"no-colour", no_argument, 0, OPT_NOCOLOR},
		{"echo", no_argument, 0, OPT_ECHO},
		{"keep-going", no_argument, 0, OPT_KEEP},
		{"norc", no_argument, 0, OPT_NORC},
		{"quiet", no_argument, 0, 'q'},
		{"version", no_argument, 0, OPT_VERSION},
		{"help", no_argument, 0, OPT_HELP},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "qc:", longopts, NULL)) != -1) {
		int rc = set_option(sh, o, c, optarg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ----------------------------------------------------------------- main */

/* --arena below a whole MiB: the runtime rounds its limit up; say so. */
static void arena_note(sh_t *sh)
{
	gort_arena_info ai;
	gort_inspect_arena(&ai);
	if (!sh->cfg.arena_bytes || ai.arena_bytes <= sh->cfg.arena_bytes)
		return;
	fprintf(stderr,
		"gortsh: --arena %llu B: the heap's limit is rounded up to whole MiB, so %llu MiB\n",
		(unsigned long long)sh->cfg.arena_bytes, (unsigned long long)(ai.arena_bytes >> 20));
	sh->cfg.arena_bytes = ai.arena_bytes;
}

static void run_rc(sh_t *sh)
{
	const char *home = getenv("HOME");
	char path[4096];
	if (!home || snprintf(path, sizeof path, "%s/.gortshrc", home) >= (int)sizeof path ||
	    access(path, R_OK) != 0)
		return;
	bool keep = sh->keep_going;
	sh->keep_going = true; /* a bad rc line is reported, not fatal */
	sh_run_file(sh, path);
	sh->keep_going = keep;
	sh->nerrors = 0;
}

static int run_batch(sh_t *sh, const options *o, int nfiles, char **files)
{
	if (o->commands) {
		if (sh_run_text(sh, "-c", o->commands) != 0 && !sh->nerrors)
			sh->nerrors++;
	} else if (nfiles == 0) {
		sh_run_file(sh, "-");
	}
	for (int i = 0; i < nfiles && (sh->nerrors == 0 || sh->keep_going) && !sh->quit; i++)
		if (sh_run_file(sh, files[i]) != 0 && !sh->nerrors)
			sh->nerrors++;
	return sh->nerrors ? 1 : 0;
}

int main(int argc, char **argv)
{
	static sh_t session;
	sh_t *sh = &session;
	sh_current = sh;
	/* The light preset unless asked: the shell shows Go's own layout
	 * (class 3 for 24 bytes, tiny blocks), which canaries would change. */
	sh->cfg = (gort_config){.procs = SH_DEFAULT_PROCS,
				.arena_bytes = SH_DEFAULT_ARENA,
				.harden = GORT_HARDEN_LIGHT};
	options o = {0};
	int rc = parse_options(sh, &o, argc, argv);
	if (rc)
		return rc;
	int nfiles = argc - optind;
	sh->interactive = !o.commands && nfiles == 0 && isatty(STDIN_FILENO);
	const char *nc = getenv("NO_COLOR");
	sh->color = sh->interactive && isatty(STDOUT_FILENO) && !o.no_color && !(nc && *nc) &&
		    !sh->json;
	if (sh_runtime_init(sh) != 0) {
		fprintf(stderr, "gortsh: cannot start the runtime: %s\n", strerror(errno));
		return 1;
	}
	arena_note(sh);
	if (!o.norc)
		run_rc(sh);
	if (sh->interactive)
		rc = repl_run(sh);
	else
		rc = run_batch(sh, &o, nfiles, argv + optind);
	sh_session_end(sh);
	return rc;
}
