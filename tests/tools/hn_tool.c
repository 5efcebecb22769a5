/*
 * hn_tool: controld/hostnet.c from the command line, for
 * tests/integration/controld_hostnet.sh (run it in a network namespace).
 *
 *	hn_tool bridge BR CIDR		hn_bridge
 *	hn_tool tap BR NAME SECONDS	hn_tap, print "tap NAME fd N", hold
 *					the tap for SECONDS, exit
 *
 * Exit 0 on success, 1 when the call fails (its message on stderr), 2 on
 * bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controld.h"

static void
usage(void)
{
	fprintf(stderr, "usage: hn_tool bridge BR CIDR\n"
	    "       hn_tool tap BR NAME SECONDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char err[256], *end;
	long secs;
	int fd;

	if (argc == 4 && strcmp(argv[1], "bridge") == 0) {
		if (hn_bridge(argv[2], argv[3], err, sizeof(err)) == -1) {
			fprintf(stderr, "hn_tool: %s\n", err);
			return 1;
		}
		printf("bridge %s %s\n", argv[2], argv[3]);
		return 0;
	}
	if (argc != 5 || strcmp(argv[1], "tap") != 0)
		usage();
	secs = strtol(argv[4], &end, 10);
	if (*argv[4] == '\0' || *end != '\0' || secs < 0 || secs > 3600)
		usage();
	if ((fd = hn_tap(argv[2], argv[3], err, sizeof(err))) == -1) {
		fprintf(stderr, "hn_tool: %s\n", err);
		return 1;
	}
	printf("tap %s fd %d\n", argv[3], fd);
	fflush(stdout);
	sleep((unsigned int)secs);
	close(fd);
	return 0;
}
