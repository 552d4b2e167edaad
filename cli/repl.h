/*
 * repl.h — the interactive prompt (repl.c): GNU readline with history and
 * TAB completion by each command's grammar.
 */
#ifndef GORTSH_REPL_H
#define GORTSH_REPL_H

#include "shell.h"

/* Read and run lines until quit or end of input; returns the exit status. */
int repl_run(sh_t *sh);

#endif /* GORTSH_REPL_H */
