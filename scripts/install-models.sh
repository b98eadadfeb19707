#!/usr/bin/env bash
# `make models`: install the default model pack unless it is installed already. Its licence notice is asked at
# the terminal (never accepted for the person); without a terminal it is shown as a notice (not an error) and
# left unaccepted. Declined, or with no terminal, the `open` pack (no notice to accept) is installed instead and
# stands in for the default (edge_core/ops/packs.py): the last line says which pack is now in use.
#
# Usage: scripts/install-models.sh BIN [FOLDER]   (BIN: the venv's bin; FOLDER: install from it, offline)
set -u
bin=$1
from=()
[ -n "${2:-}" ] && from=(--from "$2")

# A path made absolute and quoted for the shell: the advice below is pasted into a terminal, anywhere.
absolute() { printf '%q' "$("$bin/python" -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$1")"; }

# The names of the packs whose field $1 is true in `faceseal models list --json`, one a line.
packs() {
    "$bin/faceseal" models list --json | "$bin/python" -c \
        'import json, sys; print("\n".join(p["name"] for p in json.load(sys.stdin) if p[sys.argv[1]]))' "$1"
}
installed() { packs installed | grep -qx "$1"; }

pack=$("$bin/python" -c 'from edge_core.biometrics import default_pack_name; print(default_pack_name())')
installed "$pack" && exit 0
asks=$("$bin/python" -c 'import sys; from edge_core.biometrics import pack_info
info = pack_info(sys.argv[1]); print(info.licence_notice if info.requires_consent else "")' "$pack")
if [ -t 0 ] || [ -z "$asks" ]; then
    "$bin/faceseal" models install "$pack" "${from[@]}" && exit 0
else
    echo "make models: the default pack '$pack' asks you to accept its licence notice, and there is no terminal to ask at:"
    echo "  $asks"
    # No pack downloads yet (its face-mesh files have no address): the advice names the folder it comes from.
    folder=DIR_OR_ZIP
    [ -n "${2:-}" ] && folder=$(absolute "$2")
    echo "make models: not accepted; to accept it, run '$(absolute "$bin")/faceseal models install $pack --from $folder' at a terminal"
fi
if ! installed open; then
    "$bin/faceseal" models install open "${from[@]}" >/dev/null ||
        { echo "make models: no model pack installed; FaceSeal will offer to install one"; exit 0; }
    echo "make models: installed the 'open' pack instead of $pack"
fi
echo "make models: '$(packs in_use)' is now in use ('faceseal models use PACK' or Settings choose another)"
