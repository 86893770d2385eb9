#!/usr/bin/env bash
# stats: read numbers (one per line) on stdin, print "min median p90 n".
sort -n | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "- - - 0"; exit }
	m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	p = int(0.9 * NR + 0.999); if (p < 1) p = 1; if (p > NR) p = NR
	# %.10g: a median of 1048937.5 stays a plain number (print gives 1.04894e+06)
	printf "%.10g %.10g %.10g %d\n", v[1], m, v[p], NR }'
