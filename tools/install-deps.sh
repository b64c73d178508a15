#!/bin/sh
# install-deps.sh - make sure what `make` and `make check` need is installed.
#
# Quiet when nothing is missing.  As root with apt-get, installs what is
# missing (retrying once after `apt-get update`); otherwise lists the
# packages to install and exits 1.

missing=""

need_pkg() {
	case " $missing " in
	*" $1 "*) ;;
	*) missing="${missing:+$missing }$1" ;;
	esac
}

have() {
	command -v "$1" >/dev/null 2>&1
}

have_module() {
	have pkg-config && pkg-config --exists "$1" 2>/dev/null
}

check() {
	missing=""
	have pkg-config || need_pkg pkg-config
	have_module fuse3 || need_pkg libfuse3-dev
	have_module libsodium || need_pkg libsodium-dev
	have_module libzstd || need_pkg libzstd-dev
	have fusermount3 || need_pkg fuse3
	have gcc || have cc || need_pkg gcc
	have make || need_pkg make
	have prove || need_pkg perl
	have git || need_pkg git
	have sqlite3 || need_pkg sqlite3
	have rsync || need_pkg rsync
	have xxd || have od || need_pkg coreutils
	have setpriv || need_pkg util-linux
	have timeout || need_pkg coreutils
}

check
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || ! have apt-get; then
	echo "install-deps: missing packages: $missing" >&2
	if have apt-get; then
		echo "install-deps: run as root: apt-get install $missing" >&2
	else
		echo "install-deps: install them with your system's package" \
		     "manager (names are Debian's)" >&2
	fi
	exit 1
fi

echo "install-deps: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # word splitting of the package list is wanted
if ! apt-get install -y --no-install-recommends $missing >/dev/null; then
	echo "install-deps: retrying after apt-get update" >&2
	apt-get update >/dev/null &&
	apt-get install -y --no-install-recommends $missing >/dev/null || {
		echo "install-deps: cannot install: $missing" >&2
		exit 1
	}
fi

check
if [ -n "$missing" ]; then
	echo "install-deps: still missing after install: $missing" >&2
	exit 1
fi
exit 0
