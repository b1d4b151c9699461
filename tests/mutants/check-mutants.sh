#!/bin/bash
# make check-mutants: the tests cannot pass with a broken lgcore.
#
# Runs every test script given (make passes $(TESTS); programs are left
# out) once with LGCORE pointing at each mutant of lgcore-mutant:
#   exit1              exits 1 for everything
#   exit1-but-version  exits 1 for everything but --version and --help
#   wrong-byte         real cores, but with a byte flipped in every memory
#                      region the target declared
# and requires every test that runs lgcore to FAIL: exit 1, or 99 (the
# tool under test is broken).  A pass, a skip, a time-out or any other
# exit is a failure of this check.  Under wrong-byte the mutant must also
# have damaged at least one core in the run (the test wrote one and still
# looked at it).  Under the exit mutants it must have been run at all (a
# test that ran another lgcore than $LGCORE would otherwise escape).
#
# Exceptions, each with its reason, are the two lists below.  Tests that
# never run lgcore are run under exit1 only, where they must pass or skip
# as usual and must not have run it.  Tests expected to fail with the real
# lgcore (LG_XFAIL_TESTS, make's XFAIL_TESTS: a known bug) prove nothing
# here and are not run.
#
# Prints a table (test x mutant) and exits 1 unless every cell is as
# required.  Logs: $top_builddir/tests/mutants.log.d/MUTANT/TEST.{log,calls}.
# LG_MUTANT_JOBS tests run at a time (default 2).
set -u
: "${top_builddir:?run through make check-mutants}" "${top_srcdir:?run through make check-mutants}"
jobs=${LG_MUTANT_JOBS:-2}
mutants="exit1 exit1-but-version wrong-byte"

# Tests that never run lgcore: the cores they read come from elsewhere.
declare -A never=(
	[lcorecheck-corpus]="reads the stored corpus cores"
	[lcorecheck-gcore]="diffs gcore's cores"
	[lcorecheck-kernel]="diffs a kernel core with gcore's"
	[lcorecheck-mutate]="reads damaged gcore cores"
	[lcorecheck-fuzz-regressions]="reads the fuzzer's stored inputs"
)
# Tests that run lgcore but are not expected to catch some mutants.
declare -A exempt=(
	[doc-options]="exit1-but-version wrong-byte: reads only --help and --version, which that mutant answers truly, and writes no core"
	[completion]="exit1-but-version wrong-byte: runs only lgcore --help, which that mutant answers truly, and writes no core"
	[probe]="wrong-byte: checks what --probe says against the tracker the dumps' --stats name, not the cores' bytes (the other tests do)"
)

real=$top_builddir/src/lgcore
[ -x "$real" ] || { echo "check-mutants: $real not built" >&2; exit 99; }
command -v python3 >/dev/null || { echo "check-mutants: python3 is needed to damage cores" >&2; exit 99; }
command -v timeout >/dev/null || { echo "check-mutants: timeout (coreutils) not found" >&2; exit 99; }

# The mutant and its helper where any user can run them (not-permitted.sh
# runs lgcore as nobody, and skips when it cannot).
bin=$(mktemp -d "${TMPDIR:-/tmp}/lgcore-mutants.XXXXXX") || exit 99
trap 'rm -rf "$bin"' EXIT
trap 'exit 99' HUP INT TERM
cp "$top_srcdir/tests/mutants/lgcore-mutant" "$top_srcdir/tests/integration/corrupt-core.py" "$bin/" &&
	chmod 755 "$bin" "$bin/lgcore-mutant" "$bin/corrupt-core.py" || exit 99
logs=$top_builddir/tests/mutants.log.d
rm -rf "$logs"
for m in $mutants; do mkdir -p "$logs/$m" || exit 99; done

tests=()
for t in "$@"; do
	case $t in *.sh) tests+=("$t");; esac
done
[ ${#tests[@]} -gt 0 ] || { echo "check-mutants: no test scripts given" >&2; exit 99; }

name() { basename "$1" .sh; }
xfail() {	# TEST: expected to fail with the real lgcore?
	case " ${LG_XFAIL_TESTS:-} " in *" $1 "*) return 0;; esac
	return 1
}
exempt_from() {	# TEST MUTANT: is TEST exempt from MUTANT?
	local e=${exempt[$1]:-}
	case " ${e%%:*} " in *" $2 "*) return 0;; esac
	return 1
}

run() {		# MUTANT TEST
	local m=$1 t=$2 n
	n=$(name "$t")
	: >"$logs/$m/$n.calls"
	chmod 666 "$logs/$m/$n.calls"
	LGCORE=$bin/lgcore-mutant LG_MUTANT=$m LG_MUTANT_LGCORE=$real \
		LG_MUTANT_LOG=$logs/$m/$n.calls LG_CORRUPT_CORE=$bin/corrupt-core.py \
		timeout -k 10 900 "$top_srcdir/$t" >"$logs/$m/$n.log" 2>&1 </dev/null
	echo $? >"$logs/$m/$n.rc"
}

start=$(date +%s)
running=0
for m in $mutants; do
	for t in "${tests[@]}"; do
		n=$(name "$t")
		xfail "$t" && continue
		if [ -n "${never[$n]:-}" ]; then
			[ "$m" = exit1 ] || continue
		elif exempt_from "$n" "$m"; then
			continue
		fi
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		run "$m" "$t" &
		running=$((running + 1))
	done
done
wait
elapsed=$(($(date +%s) - start))

# verdict MUTANT TEST: prints the cell; returns 1 unless as required.
verdict() {
	local m=$1 t=$2 n rc calls runs damaged
	n=$(name "$t")
	if xfail "$t"; then
		echo "xfail: not run"; return 0
	fi
	if [ -n "${never[$n]:-}" ] && [ "$m" != exit1 ]; then
		echo "-"; return 0
	fi
	if exempt_from "$n" "$m"; then
		echo "exempt"; return 0
	fi
	rc=$(cat "$logs/$m/$n.rc" 2>/dev/null) calls=$logs/$m/$n.calls
	runs=$(grep -c '^run ' "$calls" 2>/dev/null) damaged=$(grep -c '^damaged ' "$calls" 2>/dev/null)
	if [ -n "${never[$n]:-}" ]; then
		case $rc in
		0|77) [ "$runs" = 0 ] && { echo "ran no lgcore ($rc)"; return 0; }
			echo "RAN LGCORE $runs times"; return 1;;
		*) echo "EXIT $rc"; return 1;;
		esac
	fi
	case $rc in
	1|99) ;;
	0) echo "PASSED"; return 1;;
	77) echo "SKIPPED"; return 1;;
	124|137) echo "TIMED OUT"; return 1;;
	*) echo "EXIT $rc"; return 1;;
	esac
	if [ "$runs" = 0 ]; then
		echo "exit $rc, MUTANT NEVER RUN"; return 1
	fi
	if grep -q '^could not damage ' "$calls"; then
		echo "exit $rc, MUTANT FAILED"; return 1
	fi
	if [ "$m" = wrong-byte ]; then
		[ "$damaged" -gt 0 ] || { echo "exit $rc, NO CORE DAMAGED"; return 1; }
		echo "failed ($rc), $damaged bytes"
	else
		echo "failed ($rc)"
	fi
	return 0
}

bad=0
printf '%-30s' test
for m in $mutants; do printf ' | %-22s' "$m"; done
echo
for t in "${tests[@]}"; do
	n=$(name "$t")
	printf '%-30s' "$n"
	for m in $mutants; do
		cell=$(verdict "$m" "$t") || bad=$((bad + 1))
		printf ' | %-22s' "$cell"
	done
	echo
done
for n in "${!never[@]}"; do echo "never runs lgcore: $n: ${never[$n]}"; done | sort
for n in "${!exempt[@]}"; do echo "exempt: $n from ${exempt[$n]}"; done | sort
for t in ${LG_XFAIL_TESTS:-}; do echo "expected to fail with the real lgcore, not run: $(name "$t")"; done
echo "check-mutants: ${#tests[@]} tests, $elapsed s; logs in $logs"
if [ "$bad" != 0 ]; then
	echo "check-mutants: FAILED: $bad cells are not as required (see the logs)"
	exit 1
fi
echo "check-mutants: ok: every test that runs lgcore fails with each mutant"
exit 0
