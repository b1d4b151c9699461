#!/bin/bash
# Every option lgcore --help lists is documented in the man page, and
# lgcore --version names the version of configure.ac, as the man page does.
. "${top_srcdir:-$(dirname "$0")/..}/tests/integration/lib.sh"
lg_need_lgcore
man="$top_srcdir/doc/lgcore.1"
"$LGCORE" --help >"$T/help" || lg_fail "lgcore --help exited $?"
opts=$(grep -oE '(^| |\[)--?[a-z][a-z-]*' "$T/help" | tr -d ' [' | sort -u)
# Without options found, the loop below would check nothing.
[ "$(echo "$opts" | grep -c .)" -ge 10 ] || lg_fail "lgcore --help lists only: $(echo $opts)"
for opt in $opts; do
	pat=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	grep -q -- "$pat" "$man" || lg_fail "option $opt is in --help but not in doc/lgcore.1"
done
version=$(sed -n 's/^AC_INIT(\[lgcore\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")
[ -n "$version" ] || lg_hard "no version in configure.ac's AC_INIT"
[ "$("$LGCORE" --version)" = "lgcore $version" ] || lg_fail "lgcore --version does not match configure.ac ($version)"
grep -q "lgcore $version" "$man" || lg_fail "doc/lgcore.1 names another version than $version"
lg_done
