// SPDX-License-Identifier: Apache-2.0
/* The jailer (being written). */
#include <stdio.h>

#include <petrel/jail.h>

int jailer_main(int argc, char **argv)
{
	fprintf(stderr, "petrel jail: not available yet\n");
	return 1;
}
