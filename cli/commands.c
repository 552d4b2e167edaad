/*
 * commands.c — the one command table (names, usage, help, an example and
 * completion words for every command) and the small commands that belong
 * to the shell itself: help, set, echo, source, check, quit.
 *
 * Invariants: every command gortsh accepts is a row here, so help, TAB
 * completion and dispatch can never disagree.
 */
#include "shell.h"
#include "sync.h"

#include <string.h>

static const char *const dump_subs[] = {"arena",    "spans", "span",	    "bitmap", "mcache",
					"mcentral", "heap",  "sizeclasses", "runq",   "chan", NULL};
static const char *const set_subs[] = {"color", "json", "echo", "on", "off", NULL};
static const char *const init_subs[] = {"procs=",	   "arena=",	       "stack=",
					"seed=",	   "threads=on",       "threads=off",
					"harden=light",	   "harden=default",   "harden=paranoid",
					"quarantine=",	   NULL};
static const char *const alloc_subs[] = {"noscan", "zero", "align=", "as", NULL};
static const char *const trace_subs[] = {"start", "stop", NULL};
static const char *const export_subs[] = {"svg", NULL};
static const char *const spawn_subs[] = {"on",	   "alloc", "free",    "yield", "park",
					 "ready",  "spawn", "work",    "syscall",
					 "repeat", "exit",  "chan",    "send",  "recv",
					 "close",  "select", "lock",   "unlock", "wg",
					 "sleep",  "let",   "if",      "as",    NULL};
static const char *const wg_subs[] = {"add", "done", "wait", NULL};
static const char *const recv_subs[] = {"as", NULL};
static const char *const select_subs[] = {"recv", "send", "default", "as", NULL};

const sh_cmd sh_commands[] = {
	{"init",
	 "init [procs=N] [arena=SIZE] [stack=SIZE] [seed=N] [threads=on|off] "
	 "[harden=light|default|paranoid] [quarantine=N]",
	 "reset the runtime",
	 "Shut the runtime down and start it again with the given settings (the others keep "
	 "their values). Every value ($N), name and G is forgotten. harden picks the hardening "
	 "preset (light shows Go's own layout; default adds canaries, zero on free and a "
	 "quarantine of N objects per class).",
	 "init procs=4 arena=16M seed=7", init_subs, cmd_init},
	{"alloc", "alloc SIZE [noscan] [zero] [align=N] [as NAME]", "allocate an object",
	 "Allocate SIZE bytes (K/M/G suffixes) and print $K = ADDRESS with the size class, the "
	 "span and the slot. noscan marks it pointer-free: below 16 B it goes to the tiny "
	 "allocator; zero asks for zeroed memory; align=N (a power of two, alone) uses "
	 "aligned_alloc. as NAME binds a name to it.",
	 "alloc 24 as x", alloc_subs, cmd_alloc},
	{"calloc", "calloc COUNT SIZE [as NAME]", "allocate zeroed memory for COUNT objects",
	 "Like alloc, for COUNT*SIZE zeroed bytes; an overflowing product is an error.",
	 "calloc 10 24", alloc_subs, cmd_calloc},
	{"realloc", "realloc $K|NAME|ADDRESS SIZE [as NAME]", "resize an object",
	 "Resize the object; prints the new value, in place or moved. Its name moves along, or "
	 "the new value takes the one given.",
	 "realloc $1 200", NULL, cmd_realloc},
	{"free", "free $K|NAME|ADDRESS", "free an object",
	 "Free the object. gort checks every free: a double free, an interior or foreign "
	 "pointer prints an error and leaves the heap unchanged.",
	 "free $1", NULL, cmd_free},
	{"peek", "peek $K|NAME|ADDRESS [OFFSET [LENGTH]]", "show the bytes of an object",
	 "Print LENGTH bytes (default: the object's usable size, at most 256) from OFFSET "
	 "within the object's slot, in hex. Past the usable size lie the slack and, in the "
	 "default and paranoid presets, the canary. A freed large object cannot be read: its "
	 "pages fault.",
	 "peek $1 0 32", NULL, cmd_peek},
	{"poke", "poke $K|NAME|ADDRESS OFFSET BYTE", "write one byte into an object's slot",
	 "Write BYTE (0-255) at OFFSET within the object's slot, live or freed: a write past "
	 "the usable size damages the canary (heap overflow at free); one into a freed object "
	 "is a use after free, seen when the slot is reused or by check.",
	 "poke $1 24 65", NULL, cmd_poke},
	{"release", "release", "return idle memory to the OS",
	 "Give spans emptied by frees back to the heap and every free page run back to the OS "
	 "(madvise), and print how much was released. Spans a cache holds stay (see flush).",
	 "release", NULL, cmd_release},
	{"flush", "flush", "hand the shell thread's cached spans back to the centrals",
	 "gort_flush_caches: the current and owned spans of this thread's mcache and its tiny "
	 "block go back, and empty spans to the heap, so release can return them too.",
	 "flush", NULL, cmd_flush},
	{"stats", "stats", "memory statistics (Go's MemStats names)",
	 "Print gort_memstats with Go's runtime.MemStats field names.", "stats", NULL, cmd_stats},
	{"vals", "vals", "list the values $1, $2, ... and their names",
	 "Every object the session allocated, live or freed; a name a goroutine's body bound "
	 "is that G's own, written gN.NAME (free g1.w).", "vals", NULL, cmd_vals},
	{"spawn", "spawn [on pN] { BODY } | FUNC", "start a goroutine running BODY",
	 "BODY is ';'-separated steps run on the G's own stack: alloc SIZE [noscan] [as NAME], "
	 "free NAME, yield, park [REASON], ready gN, spawn [on pN] { ... } | FUNC, work N, "
	 "syscall MS, repeat N { ... }, exit; and the waiting steps chan, send, recv, close, "
	 "select, lock, unlock, wg, sleep, with let and if A [OP B] { ... } (help of each). The "
	 "new G goes to the runnext slot of P 0 (or pN) with a copy of the spawner's variables. "
	 "FUNC names a body given by func.",
	 "spawn { alloc 100 as x; yield; free x }", spawn_subs, cmd_spawn},
	{"func", "func NAME { BODY }", "name a goroutine body, for spawn NAME",
	 "Compile BODY (the steps of spawn) and bind it to NAME: spawn NAME at the prompt or in "
	 "another body starts a G running it. A body names the funcs defined before it, so "
	 "Gs that spawn one another need no braces inside braces. Redefining NAME leaves the "
	 "bodies compiled before with the old one. init forgets every func.",
	 "func worker { alloc 64 as w; yield; free w }", spawn_subs, cmd_func},
	{"step", "step [N] [on pK]", "make N scheduling decisions",
	 "Each step prints which P ran which G, where the G came from (runnext, local, global, "
	 "stolen from pJ), what it did, and how it stopped (yielded, parked, exited). on pK: "
	 "only P K looks for work.",
	 "step 3", NULL, cmd_step},
	{"run", "run [max=N]", "step until nothing can run",
	 "Step mode: step (printing each step) until no G is runnable, at most max steps "
	 "(default 10000). Threaded mode: let the Ms run until every G has exited or parked.",
	 "run", NULL, cmd_run},
	{"procs", "procs N", "change the number of Ps (GOMAXPROCS), keeping every G",
	 "Step mode: new Ps start empty with their own mcache; Ps that go hand their runnable Gs to "
	 "the head of the global queue (runnext first), their free Gs to the global list and their "
	 "mcache's spans to the centrals, as Go's procresize.",
	 "procs 4", NULL, cmd_procs},
	{"reseed", "reseed N", "reseed the scheduler's PRNG",
	 "Step mode: gort_reseed. Every choice the scheduler makes from here on (which P "
	 "looks first, the order it steals in) follows from N, so the same seed and the same "
	 "commands give the same run; init seed=N also starts the whole runtime over.",
	 "reseed 7", NULL, cmd_reseed},
	{"ready", "ready gN", "make a parked goroutine runnable",
	 "Put a parked G on the global queue (from the shell there is no current P).", "ready g2",
	 NULL, cmd_ready},
	{"chan", "chan NAME [CAP]", "make a channel of int64 values",
	 "Make a channel with room for CAP values (0, the default: unbuffered, every send meets a "
	 "receive) and bind NAME to it. In a body, NAME is the G's own: a G it spawns gets a copy, "
	 "so Gs made in a loop each keep their channel; made again, the channel is shown as "
	 "NAME.2, NAME.3, ... (dump chan, gs).",
	 "chan c 2", NULL, cmd_sync_op},
	{"send", "send CHAN VALUE", "send a number on a channel",
	 "Hand VALUE (a number or a variable) to a waiting receiver directly, or put it in the "
	 "buffer; if neither can be done, wait. In a body the G parks (chan send); at the prompt, "
	 "which is not a G, the scheduler steps (each step printed) until the send can go on, or "
	 "reports a deadlock.",
	 "send c 7", NULL, cmd_sync_op},
	{"recv", "recv CHAN [as NAME]", "receive a number from a channel",
	 "Take the next value: from the buffer, or straight from a waiting sender; if there is "
	 "none, wait (as send). A closed, drained channel gives 0. as NAME binds the value to a "
	 "variable of the G (the prompt's, at the prompt).",
	 "recv c as x", recv_subs, cmd_sync_op},
	{"close", "close CHAN", "close a channel, waking every waiter",
	 "Every waiting receiver gets 0, every waiting sender fails (send on closed channel); "
	 "values in the buffer can still be received. Closing twice is misuse.",
	 "close c", NULL, cmd_sync_op},
	{"select", "select { recv CHAN [as NAME]; send CHAN VALUE; default }",
	 "do one of several channel operations",
	 "Go's select: one of the cases that can go on, chosen at random (the scheduler's seeded "
	 "PRNG), is done. If none can: with default, nothing; without, wait for one (a body's G "
	 "parks on select; the prompt steps as for send).",
	 "select { recv a as x; send b 1; default }", select_subs, cmd_sync_op},
	{"lock", "lock MUTEX", "lock a mutex (made on first use)",
	 "Go's sync.Mutex, named: the first lock or unlock of a name makes it. A G that finds it "
	 "locked parks (sync.Mutex.Lock); the prompt steps until it is free.",
	 "lock m", NULL, cmd_sync_op},
	{"unlock", "unlock MUTEX", "unlock a mutex, waking a waiter",
	 "Unlocking an unlocked mutex is misuse. Any G (or the prompt) may unlock.", "unlock m",
	 NULL, cmd_sync_op},
	{"wg", "wg [NAME] add N | done | wait", "Go's sync.WaitGroup",
	 "A wait group called NAME (default wg), made on first use: add N adds to its counter, "
	 "done subtracts 1 (a negative counter is misuse), wait waits until it is 0 (a G parks on "
	 "sync.WaitGroup.Wait; the prompt steps).",
	 "wg add 2", wg_subs, cmd_sync_op},
	{"sleep", "sleep MS", "a goroutine sleeps (a body step)",
	 "In a body: park for MS milliseconds (at most 60000) on the P's timer heap. Step mode's "
	 "clock is virtual: when every G waits, it jumps to the next timer. The prompt refuses it "
	 "in step mode (its clock moves only while Gs sleep); threaded mode sleeps the thread.",
	 "spawn { sleep 10 }", NULL, cmd_sync_op},
	{"let", "let NAME = A [OP B]", "set a variable to a number",
	 "A and B are numbers or variables; OP is + - * / % or a comparison (== != < <= > >=, "
	 "giving 1 or 0). Variables belong to a G (or the prompt) and are copied into the Gs it "
	 "spawns. let NAME = CHAN copies a channel variable. A body may also say "
	 "if A [OP B] { ... }: the block runs when the value is not 0.",
	 "let n = 6 * 7", NULL, cmd_sync_op},
	{"gs", "gs", "list the goroutines",
	 "Every live G: id, status, wait reason (with the channel, mutex or wait group it waits "
	 "on, by name), the P it last ran on, bytes of stack in use, runs, the names its body "
	 "bound.", "gs",
	 NULL, cmd_gs},
	{"ps", "ps", "list the Ps",
	 "Every P: running if it runs a G, runnext, its local run queue in order, schedtick, "
	 "free Gs, its mcache.", "ps",
	 NULL, cmd_ps},
	{"ms", "ms", "list the Ms", "Every M: status, the P it holds, the G it runs.", "ms", NULL,
	 cmd_ms},
	{"schedtrace", "schedtrace", "Go's GODEBUG=schedtrace line",
	 "SCHED 0ms: gomaxprocs=... idleprocs=... threads=... runqueue=... [local queues]",
	 "schedtrace", NULL, cmd_schedtrace},
	{"scheddetail", "scheddetail", "Go's GODEBUG=scheddetail=1 lines",
	 "The schedtrace line plus one line per P and per G.", "scheddetail", NULL,
	 cmd_scheddetail},
	{"dump", "dump arena|spans|span|bitmap|mcache|mcentral|heap|sizeclasses|runq|chan ...",
	 "show the allocator's and scheduler's structures",
	 "dump arena [ADDRESS [LENGTH]]: one cell per page; dump spans [class=K]; dump span "
	 "ADDRESS; dump bitmap ADDRESS|$K: the span's slots and their 4 bits; dump mcache [pN]; "
	 "dump mcentral [CLASS]; dump heap: free page runs; dump sizeclasses; dump runq "
	 "[pN|global]; dump chan NAME: the channel as Go's hchan (its ring slot by slot, sendx, "
	 "recvx, the waiting receivers and senders).",
	 "dump bitmap $1", dump_subs, cmd_dump},
	{"export", "export svg FILE", "write the arena map as an SVG picture",
	 "Spans coloured and labelled, with a legend.", "export svg arena.svg", export_subs,
	 cmd_export},
	{"trace", "trace start FILE | trace stop", "record scheduler events for Perfetto",
	 "Write the scheduler's events as Chrome trace-event JSON, one track per P, loadable in "
	 "Perfetto or chrome://tracing.",
	 "trace start run.json", trace_subs, cmd_trace},
	{"check", "check", "verify every invariant of the heap and the scheduler",
	 "Run gort_check(): spans, bitmap, centrals, caches, run queues, G lists.", "check", NULL,
	 cmd_check},
	{"try", "try COMMAND ...", "run a command whose failure is expected",
	 "Run the command; if it fails, its error is printed but does not stop a batch or count "
	 "as a failure. For scripts and tours that show misuse.",
	 "try free $1", NULL, cmd_try},
	{"repeat", "repeat N { COMMANDS }", "run commands N times",
	 "Run the block N times, as if its lines were typed N times (nested repeats multiply; "
	 "10^6 rounds in all at most). The first round with a failing command ends it.",
	 "repeat 50 { spawn { yield } }", NULL, cmd_repeat},
	{"set", "set color|json|echo on|off", "change an output setting", "Turn a setting on or off.",
	 "set json on", set_subs, cmd_set},
	{"echo", "echo TEXT", "print TEXT", "Print the rest of the command.", "echo hello", NULL,
	 cmd_echo},
	{"source", "source FILE", "run the commands in FILE",
	 "Run a script; a relative FILE is taken from the folder of the file that sources it "
	 "(from the current folder at the prompt). Sources may nest up to 16 deep; an error in "
	 "one names the chain of sources that led to it.", "source examples/tour.gsh", NULL,
	 cmd_source},
	{"help", "help [COMMAND]", "list the commands, or explain one", "Usage, meaning, an example.",
	 "help dump", NULL, cmd_help},
	{"quit", "quit", "leave gortsh", "Also exit, or Ctrl-D.", "quit", NULL, cmd_quit},
	{"exit", "exit", "leave gortsh", "Also quit, or Ctrl-D.", "exit", NULL, cmd_quit},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const sh_cmd *sh_find_command(const char *name)
{
	for (const sh_cmd *c = sh_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cmd_help(sh_t *sh, sh_args *a)
{
	if (a->argc > 2)
		return sh_error(sh, "usage: help [COMMAND]");
	if (a->argc == 2) {
		const sh_cmd *c = sh_find_command(a->argv[1].text);
		if (!c)
			return sh_error(sh, "help: no command '%s' (try help)", a->argv[1].text);
		out(sh, "%susage:%s %s\n%s\nexample: %s\n", col(sh, SH_C_BOLD), col(sh, SH_C_RESET),
		    c->usage, c->help, c->example);
		js_begin(sh, "help");
		js_str(sh, "name", c->name);
		js_str(sh, "usage", c->usage);
		js_str(sh, "summary", c->summary);
		js_str(sh, "help", c->help);
		js_str(sh, "example", c->example);
		js_end(sh);
		return 0;
	}
	js_begin(sh, "help");
	js_array(sh, "commands");
	for (const sh_cmd *c = sh_commands; c->name; c++) {
		out(sh, "  %s%-12s%s %s\n", col(sh, SH_C_BOLD), c->name, col(sh, SH_C_RESET),
		    c->summary);
		js_object(sh, NULL);
		js_str(sh, "name", c->name);
		js_str(sh, "summary", c->summary);
		js_object_end(sh);
	}
	js_array_end(sh);
	js_end(sh);
	out(sh, "help COMMAND for its usage and an example; $N names a value, # starts a comment.\n");
	return 0;
}

int cmd_set(sh_t *sh, sh_args *a)
{
	if (a->argc != 3)
		return sh_error(sh, "usage: set color|json|echo on|off");
	const char *what = a->argv[1].text, *v = a->argv[2].text;
	bool on = strcmp(v, "on") == 0;
	if (!on && strcmp(v, "off") != 0)
		return sh_error(sh, "set: '%s' is not on or off", v);
	if (strcmp(what, "color") == 0)
		sh->color = on;
	else if (strcmp(what, "json") == 0)
		sh->json = on;
	else if (strcmp(what, "echo") == 0)
		sh->echo = on;
	else
		return sh_error(sh, "set: no setting '%s' (color, json, echo)", what);
	js_begin(sh, "set");
	js_str(sh, "name", what);
	js_bool(sh, "on", on);
	js_end(sh);
	return 0;
}

int cmd_echo(sh_t *sh, sh_args *a)
{
	js_begin(sh, "echo");
	char text[4096];
	size_t n = 0;
	text[0] = '\0';
	for (int i = 1; i < a->argc && n < sizeof text; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", i > 1 ? " " : "",
				      a->argv[i].text);
	out(sh, "%s\n", text);
	js_str(sh, "text", text);
	js_end(sh);
	return 0;
}

int cmd_source(sh_t *sh, sh_args *a)
{
	if (a->argc != 2)
		return sh_error(sh, "usage: source FILE");
	if (sh->depth >= SH_MAX_NESTING)
		return sh_error(sh, "source: nested more than %d deep", SH_MAX_NESTING);
	char buf[4096];
	return sh_run_file(sh, sh_source_path(sh, a->argv[1].text, buf, sizeof buf));
}

int cmd_check(sh_t *sh, sh_args *a)
{
	(void)a;
	bool broken = gort_check() != 0;
	if (sh_gort_error(sh) != 0 || broken) /* the report first: it says which */
		return sh->failed ? -1 : sh_error(sh, "check: an invariant does not hold");
	out(sh, "ok: every invariant holds\n");
	js_begin(sh, "check");
	js_bool(sh, "ok", true);
	js_end(sh);
	return 0;
}

int cmd_try(sh_t *sh, sh_args *a)
{
	if (a->argc < 2 || a->argv[1].kind != TOK_WORD)
		return sh_error(sh, "usage: try COMMAND ...");
	const sh_cmd *c = sh_find_command(a->argv[1].text);
	if (c && c->run == cmd_try)
		return sh_error(sh, "try: try inside try (one try already expects the failure)");
	if (!c)
		return sh_error(sh, "try: unknown command '%s'", a->argv[1].text);
	sh_args rest = {.argc = a->argc - 1};
	memcpy(rest.argv, a->argv + 1, (size_t)rest.argc * sizeof *rest.argv);
	if (c->run(sh, &rest) == 0 && !sh->failed)
		sh_gort_error(sh);
	sh->failed = false; /* expected: reported, not counted */
	sh->gort_error = false;
	return 0;
}

/* Rounds of the repeats running now, multiplied: nested repeats at the
 * prompt are bounded as a body's are, so no line can run for ever. */
#define PROMPT_REPEAT_MAX 1000000ull
static uint64_t repeat_rounds = 1;

static int repeat_rounds_of(sh_t *sh, const char *block, uint64_t n)
{
	for (uint64_t k = 0; k < n; k++) {
		if (sh_interrupted) {
			out(sh, "repeat: interrupted (Ctrl-C) after %llu of %llu rounds\n",
			    (unsigned long long)k, (unsigned long long)n);
			return 0;
		}
		unsigned before = sh->nerrors;
		int rc = sh_run_line(sh, block);
		if (sh->quit)
			return 0;
		if (rc != 0 || sh->nerrors != before)
			return sh_error(sh, "repeat: stopped in round %llu of %llu",
					(unsigned long long)k + 1, (unsigned long long)n);
	}
	return 0;
}

int cmd_repeat(sh_t *sh, sh_args *a)
{
	uint64_t n;
	if (a->argc != 3 || a->argv[2].kind != TOK_BLOCK || !parse_u64(a->argv[1].text, &n))
		return sh_error(sh, "usage: repeat N { COMMANDS }");
	if (n > PROMPT_REPEAT_MAX / repeat_rounds)
		return sh_error(sh, "repeat: at most %llu rounds in all (nested repeats multiply)",
				PROMPT_REPEAT_MAX);
	/* The block's text lives in the splitter's buffer of this line,
	 * which outlives the rounds; each round splits it anew. */
	uint64_t outer = repeat_rounds;
	repeat_rounds = outer * (n ? n : 1);
	int rc = repeat_rounds_of(sh, a->argv[2].text, n);
	repeat_rounds = outer;
	sh->failed = rc != 0; /* the last round's last command does not decide */
	return rc;
}

int cmd_quit(sh_t *sh, sh_args *a)
{
	(void)a;
	sh->quit = true;
	js_begin(sh, "quit");
	js_end(sh);
	return 0;
}
