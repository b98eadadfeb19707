#!/usr/bin/env bash
# Installs the Debian packages FaceSeal needs, only those missing: `run` for the window from a source
# checkout (make run), `test` (the default) for the whole suite and the installers too (make test).
# On macOS there is nothing to install: the Keychain is the OS keychain (see README).
set -euo pipefail
[ "$(uname -s)" = "Linux" ] || exit 0
command -v dpkg-query >/dev/null || { echo "system-deps: not a Debian/Ubuntu system; install the packages in README.md by hand" >&2; exit 0; }

# What running FaceSeal from a source checkout needs (`make run`): a Secret Service for the keychain root,
# `python3 -m venv`, and the desktop libraries Qt's window loads.
run_packages=(
  dbus dbus-x11 gnome-keyring   # a real Secret Service for the keychain root
  python3-venv                  # `python3 -m venv` for .venv, with Debian's Python
  libicu-dev pkg-config g++     # PyICU (look-alike names, UTS #39) is built against the system's ICU
  python3-dev                   # and Python's headers (no wheel: a bare Debian 13 lacked Python.h); NumPy's build too
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0
)
# What the whole test suite and the installers need besides (`make test`, `make package`).
test_packages=(
  softhsm2 opensc               # a real PKCS#11 token for the HSM root
  swtpm swtpm-tools tpm2-tools libtss2-dev  # a software TPM 2.0 for the TPM root; tpm2-pytss builds against libtss2
  libtss2-tcti-tabrmd0          # the access broker's TPM transport, bundled with the TPM stack by `make package`
  xvfb xauth                    # a virtual screen for Qt
  binutils appstream            # PyInstaller (objdump), strip, ld and readelf for the bundle, metainfo validation
  patchelf                      # the bundle's search paths (RUNPATH) confined to itself (packaging/slim.py)
  gcc g++ libc6-dev             # the bundle's BLAS shim (packaging/linux/blas_shim.c); NumPy built without BLAS
  liblapack3 libblas3           # the system LAPACK the shim links, which the packages depend on
  icu-devtools                  # icupkg and genccode: the bundle's ICU data cut to what Qt needs
  rpm rpm2cpio cpio             # rpmbuild for the .rpm; rpm2cpio | cpio unpacks it in the tests
  debootstrap                   # make package-check: bare Debian roots the .deb is installed into
  minisign man-db               # signing SHA256SUMS; man -l checks the generated man page
  postgresql                    # a real PostgreSQL server for the collector's tests (initdb + pg_ctl)
  pamtester                     # face sign-in through a real PAM stack (tests/signin)
  libwrap0 openssh-client       # the library OpenSSH's server needs (scripts/test-sshd.sh unpacks it) and ssh
)
case "${1:-test}" in
  run) packages=("${run_packages[@]}") ;;
  test) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "system-deps: usage: scripts/system-deps.sh [run|test]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# sudo drops DEBIAN_FRONTEND from the environment: hand it over explicitly, or a package's question would wait.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
