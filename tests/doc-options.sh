#!/bin/sh
# Every option lgcore --help lists is documented in the man page.
man="$top_srcdir/doc/lgcore.1"
missing=0
for opt in $("$top_builddir/src/lgcore" --help | grep -oE '(^| |\[)--?[a-z][a-z-]*' | tr -d ' [' | sort -u); do
	pat=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
	if ! grep -q -- "$pat" "$man"; then
		echo "option $opt is in --help but not in doc/lgcore.1"
		missing=1
	fi
done
[ "$("$top_builddir/src/lgcore" --version)" = "lgcore $(sed -n 's/^AC_INIT(\[lgcore\], \[\([^]]*\)\].*/\1/p' "$top_srcdir/configure.ac")" ] ||
	{ echo "lgcore --version does not match configure.ac"; missing=1; }
grep -q "lgcore $("$top_builddir/src/lgcore" --version | cut -d' ' -f2)" "$man" ||
	{ echo "doc/lgcore.1 names another version"; missing=1; }
exit $missing
