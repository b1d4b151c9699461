# LG_WARN_ADD(FLAG, [VARIABLE = LG_WARN_CFLAGS])
# -----------------------------------------------
# Append FLAG to VARIABLE (AC_SUBSTed) if the C compiler accepts it without
# a diagnostic, as gnulib's gl_WARN_ADD does: a compiler that lacks a
# warning builds anyway, without it.  The probe runs with -Werror, since
# clang only warns about options it does not know.  For -Wno-X the probe
# asks for -WX, since GCC accepts any -Wno-X it does not know silently
# (and then names it in the first unrelated warning).
AC_DEFUN([LG_WARN_ADD],
[AS_VAR_PUSHDEF([lg_Warn], [lg_cv_warn_$1])dnl
m4_pushdef([lg_positive], m4_bpatsubst([$1], [^-Wno-], [-W]))dnl
AC_CACHE_CHECK([whether $CC accepts $1], [lg_Warn],
  [lg_save_CFLAGS=$CFLAGS
   CFLAGS="$CFLAGS -Werror lg_positive"
   AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[]], [[]])],
     [AS_VAR_SET([lg_Warn], [yes])], [AS_VAR_SET([lg_Warn], [no])])
   CFLAGS=$lg_save_CFLAGS])
AS_VAR_IF([lg_Warn], [yes],
  [m4_default([$2], [LG_WARN_CFLAGS])="$m4_default([$2], [LG_WARN_CFLAGS]) $1"])
AC_SUBST(m4_default([$2], [LG_WARN_CFLAGS]))dnl
m4_popdef([lg_positive])dnl
AS_VAR_POPDEF([lg_Warn])dnl
])
