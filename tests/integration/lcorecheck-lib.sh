# Sourced by the lcorecheck-*.sh tests: common setup and helpers.
# Exit 77 = skip (automake), with the reason on stderr.
: "${top_builddir:=.}" "${top_srcdir:=.}"
LCORECHECK="$top_builddir/src/lcorecheck"
CT="$top_builddir/tests/check-targets/ct_threads"
: "${GCORE:=$(command -v gcore)}"
: "${EU_STACK:=$(command -v eu-stack)}"

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lcorecheck-test.XXXXXX") || exit 99
TARGET_PID=
cleanup() {
	[ -n "$TARGET_PID" ] && kill -KILL "$TARGET_PID" 2>/dev/null
	[ -n "$OLD_PATTERN" ] && echo "$OLD_PATTERN" > /proc/sys/kernel/core_pattern
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

# Start the test target and wait until all its threads block.
start_target() {	# [single]
	"$CT" "$@" > "$TMP/ready" &
	TARGET_PID=$!
	for i in $(seq 100); do
		grep -q '^ready' "$TMP/ready" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "test target did not start"
}

# run EXPECTED_STATUS lcorecheck ARGS...: output in $TMP/out
run() {
	want=$1; shift
	"$LCORECHECK" "$@" > "$TMP/out" 2> "$TMP/err"
	st=$?
	if [ "$st" != "$want" ]; then
		cat "$TMP/out" "$TMP/err" >&2
		fail "lcorecheck $* exited $st, want $want"
	fi
}

# expect_check STATUS ID-REGEX: the report has such a line.
expect_check() {
	grep -Eq "^$1 +$2 " "$TMP/out" || { cat "$TMP/out" >&2; fail "no '$1 $2' line"; }
}

# The libdwfl backtrace section of the report in eu-stack's layout.
dwfl_frames() {
	sed -n '/^backtrace .* libdwfl:/,/^$/p' "$1" | grep -E '^(TID|#)'
}

# eu-stack's frames for CORE (extra args: -e EXE).
eu_frames() {
	"$EU_STACK" --core="$@" 2>/dev/null | grep -E '^(TID|#)'
}

need_python() { command -v python3 >/dev/null || skip "python3 is needed to mutate cores"; }
