/*
 * address_limit.c — a program started under an address-space limit
 * (`ulimit -v`): it must start, and malloc must end in NULL with errno
 * ENOMEM at the limit, then work again once memory is freed.
 *
 * test_programs.sh runs it plainly and under the drop-in with the same
 * limit and compares the output, which names no count (the allocators'
 * overheads differ).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP ((size_t)64 << 20)
#define MAX_BLOCKS 4096

int main(void)
{
	static void *block[MAX_BLOCKS];
	size_t n = 0;
	errno = 0;
	while (n < MAX_BLOCKS && (block[n] = malloc(STEP)) != NULL) {
		memset(block[n], 1, 4096);
		n++;
	}
	int err = errno;
	printf("started; malloc ended in %s\n",
	       n == MAX_BLOCKS ? "no failure" : err == ENOMEM ? "NULL with ENOMEM" : "NULL, other errno");
	if (n == 0)
		return 1;
	free(block[--n]);
	void *again = malloc(STEP / 2);
	printf("after a free: %s\n", again ? "malloc works" : "malloc still fails");
	free(again);
	while (n > 0)
		free(block[--n]);
	return 0;
}
