#!/bin/sh
# make check-fuzz: replay every regression input once, then fuzz
# lcorecheck's reader and validator (tests/fuzz/fuzz-core, libFuzzer with
# ASan and UBSan) from the seeds for FUZZ_SECONDS (default 180).  A crash,
# a sanitizer report, a leak, an input taking more than FUZZ_TIMEOUT
# seconds (default 10) or more than 2 GiB fails the run; the offending
# input is kept as tests/fuzz/crash-* (or leak-, timeout-, oom-) in the
# build directory, to be added to tests/fuzz/regressions/ with its fix.
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"
FZ=$top_builddir/tests/fuzz/fuzz-core
S=$top_srcdir/tests/fuzz
secs=${FUZZ_SECONDS:-180}
tmo=${FUZZ_TIMEOUT:-10}
[ -x "$FZ" ] || { echo "check-fuzz: $FZ not built" >&2; exit 1; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/seeds" "$dir/corpus" "$dir/regressions" "$dir/art" || exit 1
# Seeds and regressions are stored gzipped: real cores are mostly zeros.
for f in "$S"/seeds/*.gz; do
	gzip -dc "$f" > "$dir/seeds/$(basename "$f" .gz)" || exit 1
done
for f in "$S"/regressions/*.gz; do
	[ -e "$f" ] || continue
	gzip -dc "$f" > "$dir/regressions/$(basename "$f" .gz)" || exit 1
done
[ -n "$(ls "$dir/seeds")" ] || { echo "check-fuzz: no seeds in $S/seeds" >&2; exit 1; }
opts="-timeout=$tmo -rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix=$dir/art/"
fail=0
keep() {
	for a in "$dir"/art/*; do
		[ -e "$a" ] || continue
		cp "$a" "$top_builddir/tests/fuzz/" && echo "check-fuzz: kept $top_builddir/tests/fuzz/$(basename "$a")" >&2
	done
}
# Each regression input alone, then the seeds: none may fail.
# shellcheck disable=SC2086
if ! "$FZ" $opts $(ls -d "$dir"/regressions/* "$dir"/seeds/* 2>/dev/null) > "$dir/replay.log" 2>&1; then
	tail -n 40 "$dir/replay.log" >&2
	echo "check-fuzz: FAIL: a regression input or a seed fails" >&2
	keep
	exit 1
fi
echo "check-fuzz: $(ls "$dir/regressions" | wc -l) regression inputs and $(ls "$dir/seeds" | wc -l) seeds replayed"
# shellcheck disable=SC2086
"$FZ" $opts -max_total_time="$secs" -print_final_stats=1 "$dir/corpus" "$dir/seeds" \
	> "$dir/fuzz.log" 2>&1 || fail=1
grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done|#[0-9]+.*DONE' "$dir/fuzz.log"
if [ $fail = 1 ] || ls "$dir/art" | grep -q .; then
	tail -n 60 "$dir/fuzz.log" >&2
	echo "check-fuzz: FAIL: the fuzzer found a crash, a leak or a hang (see above)" >&2
	keep
	exit 1
fi
echo "check-fuzz: PASS: ${secs} s, $(ls "$dir/corpus" | wc -l) new inputs, no crash, leak or hang"
