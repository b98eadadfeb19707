#!/usr/bin/env bash
# OpenSSH's server for the test of face sign-in inside an SSH session (tests/signin/test_ssh.py), unpacked from
# Debian's package into a cache and never installed: installing openssh-server would start an SSH server on the
# developer's machine. The test runs it as an unprivileged user, on 127.0.0.1, for the test's length only.
set -euo pipefail
[ "$(uname -s)" = "Linux" ] || exit 0
command -v apt-get >/dev/null || exit 0
dest="${XDG_CACHE_HOME:-$HOME/.cache}/faceseal/openssh-server"
[ -x "$dest/usr/sbin/sshd" ] && exit 0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"  # apt's download user (_apt) writes here when it can
if ! (cd "$work" && apt-get download -qq openssh-server >/dev/null 2>&1); then
  echo "test-sshd: could not download Debian's openssh-server package (apt-get download openssh-server)" >&2
  exit 1
fi
dpkg-deb -x "$work"/openssh-server_*.deb "$work/root"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$work/root" "$dest"
