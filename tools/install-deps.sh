#!/bin/sh
# Install what lgcore needs to build and test, from Debian/Ubuntu packages.
# Runs apt-get directly as root, through sudo otherwise.
set -e
# The readers the reader tests compare gcore's and lgcore's cores in:
# lldb-16 (bookworm also has lldb, 14, which conflicts with it: 16 is the
# newer, with python3-lldb-16 for its scripting), drgn, Delve with the Go
# toolchain that builds its target, the JDK for jhsdb and javac.  bindfs:
# a FUSE file system without O_TMPFILE, for tests/faults/no-tmpfile.sh.
# zstd and pv: lgcore -o - through a compressor and a slow reader.
# clang and libclang-rt-dev (libFuzzer, ASan, UBSan): make check-fuzz.
# bash-completion: the framework tests/integration/completion.sh loads
# completion/lgcore into.
pkgs="autoconf automake make gcc pkg-config libdw-dev libelf-dev libunwind-dev check
      elfutils gdb procps util-linux strace python3
      lldb-16 python3-lldb-16 python3-drgn delve golang-go openjdk-17-jdk-headless
      bindfs zstd pv bash-completion clang libclang-rt-dev"
if [ "$(id -u)" = 0 ]; then as_root=""; else as_root="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086
$as_root apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "install-deps: installed $(echo $pkgs | wc -w) packages"
