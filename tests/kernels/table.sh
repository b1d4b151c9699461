#!/bin/sh
# table.sh RESULTS...: the boots' results (tests/kernels/*.results, written
# by boot.sh) as one table, a row per test and a column per boot.
[ $# -gt 0 ] || exit 0
awk '
	FNR == 1 { n++; col[n] = FILENAME; sub(/.*\//, "", col[n]); sub(/\.results$/, "", col[n]) }
	/^#/ { next }
	$1 == "info" { next }
	{ if (!($2 in seen)) { seen[$2] = 1; rows[++nr] = $2 } cell[$2, n] = $1 }
	END {
		printf "%-40s", "test"
		for (i = 1; i <= n; i++) printf " %-22s", col[i]
		printf "\n"
		for (r = 1; r <= nr; r++) {
			printf "%-40s", rows[r]
			for (i = 1; i <= n; i++) printf " %-22s", ((rows[r], i) in cell) ? cell[rows[r], i] : "-"
			printf "\n"
		}
	}' "$@" | { read -r head; echo "$head"; sort; }
