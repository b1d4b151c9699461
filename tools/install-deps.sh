#!/bin/sh
# Install what lgcore needs to build and test, from Debian/Ubuntu packages.
# Runs apt-get directly as root, through sudo otherwise.
set -e
pkgs="autoconf automake make gcc pkg-config libdw-dev libelf-dev libunwind-dev check
      elfutils gdb procps util-linux strace python3"
if [ "$(id -u)" = 0 ]; then as_root=""; else as_root="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086
$as_root apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "install-deps: installed $(echo $pkgs | wc -w) packages"
