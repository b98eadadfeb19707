"""The .deb and the .rpm, each unpacked as its package manager would, run from there (conftest.py builds
them once). Every test runs for both: they are one tree packed twice."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_core import __version__
from edge_core.biometrics import default_pack_name, pack_info
from tests.conftest import SHARED
from tests.packaging.conftest import Installed

pytestmark = pytest.mark.slow

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def _run(installed: Installed, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    from check import run_installed

    return run_installed(installed.program, tmp_path / "home", *args, extra_env=env)


def _asks_consent() -> bool:
    """The bundled default pack's notice asks for consent: it counts only once this user accepted it."""
    return pack_info(default_pack_name()).requires_consent


def _accept_bundled(installed: Installed, tmp_path: Path) -> None:
    """What a user does on first start: accept the bundled pack's notice (nothing is downloaded or copied)."""
    if installed.bundled_models and _asks_consent():
        accepted = _run(installed, tmp_path, "models", "install", default_pack_name(), "--accept-licence", "--json")
        assert accepted.returncode == 0, accepted.stderr


def test_version_names_the_model_pack_and_the_key_libraries(installed: Installed, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    first, *rest = result.stdout.strip().splitlines()
    assert first == f"faceseal {__version__}"
    fields = dict(line.split(": ", 1) for line in rest)
    assert set(fields) == {"model pack", "cryptography", "onnxruntime", "opencv", "PySide6", "sqlcipher3", "SQLCipher",
                           "tpm2-pytss"}  # the TPM root's binding ships (issue 29)
    assert "not found" not in fields.values(), fields  # the libraries' metadata ships in the bundle
    assert fields["SQLCipher"].split()[0].count(".") == 2, fields["SQLCipher"]
    expected = "bundled" if installed.bundled_models and not _asks_consent() else "not installed"
    assert fields["model pack"].startswith(f"{default_pack_name()} ") and fields["model pack"].endswith(f"({expected})")
    if installed.bundled_models and _asks_consent():
        _accept_bundled(installed, tmp_path)
        after = _run(installed, tmp_path, "--version")
        assert "model pack: " in after.stdout and after.stdout.split("model pack: ")[1].splitlines()[0].endswith(
            "(bundled)"), after.stdout


def test_self_test_passes_from_the_installed_tree(installed: Installed, tmp_path: Path) -> None:
    _accept_bundled(installed, tmp_path)
    result = _run(installed, tmp_path, "self-test", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["result"] == "passed" and report["frozen"] is True
    assert report["checks"]["vault"]["sealed_and_reopened"] is True
    assert report["checks"]["window"] | {"qt_messages": []} == {
        "status": "ok", "platform": "offscreen", "title": "FaceSeal", "visible": True, "session": "open",
        "qt_messages": []}
    models = report["checks"]["models"]
    if installed.bundled_models:
        assert models["status"] == "ok", models
        assert Path(models["location"]).is_relative_to(installed.root / "opt" / "faceseal")
        assert models["faces"] == 1 and models["embedding_size"] == pack_info(default_pack_name()).embedding_size
    else:
        assert models["status"] == "skipped"
    assert not (tmp_path / "home" / "faceseal").exists(), "the self-test wrote into the user's data directory"


def test_both_detectors_run_in_the_bundle(installed: Installed, tmp_path: Path) -> None:
    """YuNet runs in OpenCV's dnn module, SCRFD in onnxruntime: installed into the installed program,
    each pack finds the face of a real photo and embeds it, with nothing from the source tree."""
    models, photo = SHARED / "models", SHARED / "faces" / "deepface" / "img1.jpg"
    if not (models.is_dir() and photo.is_file()):
        pytest.skip(f"{models} or {photo} is absent")
    for pack in ("open", "scrfd"):
        install = _run(installed, tmp_path, "models", "install", pack, "--from", str(models), "--accept-licence")
        assert install.returncode == 0, install.stderr
        result = _run(installed, tmp_path, "embed", str(photo), "--pack", pack, "--json")
        assert result.returncode == 0, (pack, result.stderr)
        faces = json.loads(result.stdout)["faces"]
        assert len(faces) == 1 and len(faces[0]["embedding"]) == 128, pack


def test_a_video_enrols_and_a_photo_verifies_in_the_bundle(installed: Installed, tmp_path: Path) -> None:
    """FFmpeg (with the codec stubs in place), the face alignment on the bundle's NumPy and the vault, end to end."""
    if not installed.bundled_models:
        pytest.skip("built without models")
    from tests.app.media import write_video

    person = sorted(_people(tmp_path / "people", 1).iterdir())[0]
    photos = sorted(person.iterdir())
    _accept_bundled(installed, tmp_path)
    video = write_video(photos[:2], tmp_path / "clip.avi")
    enrolled = _run(installed, tmp_path, "enroll", "--consent", "ann", "--video", str(video), "--json")
    assert enrolled.returncode == 0, enrolled.stderr
    assert json.loads(enrolled.stdout)["samples"] >= 2
    verified = _run(installed, tmp_path, "verify", "ann", "--image", str(photos[2]), "--json")  # not in the video
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["match"] is True


def test_a_look_alike_name_is_refused_in_the_bundle(installed: Installed, tmp_path: Path) -> None:
    """PyICU's spoof checker on the bundle's one ICU (Qt's calls bridged to it) with its data cut down: a Cyrillic
    soft sign for a "b" is still seen, as from the source tree (tests/vault)."""
    samples = np.random.default_rng(5).normal(size=(4, 32)).astype(np.float32)
    np.save(tmp_path / "brad.npy", samples[:2])
    np.save(tmp_path / "other.npy", samples[2:])
    assert _run(installed, tmp_path, "enroll", "--consent", "brad", "--embedding", str(tmp_path / "brad.npy"),
                "--json").returncode == 0
    refused = _run(installed, tmp_path, "enroll", "--consent", "\u042crad", "--embedding", str(tmp_path / "other.npy"))
    assert refused.returncode == 1 and "can be mistaken for 'brad'" in refused.stderr, refused.stderr
    assert _run(installed, tmp_path, "enroll", "--consent", "zoe", "--embedding", str(tmp_path / "other.npy"),
                "--json").returncode == 0


def test_the_root_key_moves_into_an_hsm_from_the_bundle(installed: Installed, tmp_path: Path, softhsm) -> None:
    """python-pkcs11 loads the token's module from the installed tree; the vault opens only through the token."""
    samples = tmp_path / "samples.npy"
    vectors = np.random.default_rng(3).normal(size=(2, 32)).astype(np.float32)
    np.save(samples, vectors)
    np.save(tmp_path / "probe.npy", vectors[0])
    hsm = {"FACESEAL_HSM_PIN": softhsm.pin, "SOFTHSM2_CONF": str(softhsm.conf)}
    assert _run(installed, tmp_path, "enroll", "--consent", "ann", "--embedding", str(samples), "--json").returncode == 0
    moved = _run(installed, tmp_path, "key", "move-to-hsm", "--module", softhsm.module, "--token", softhsm.token,
                 "--json", **hsm)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["root_store"] == "pkcs11" and len(softhsm.objects()) == 1
    verified = _run(installed, tmp_path, "verify", "ann", "--embedding", str(tmp_path / "probe.npy"), "--json", **hsm)
    assert verified.returncode == 0 and json.loads(verified.stdout)["match"] is True, verified.stderr
    refused = _run(installed, tmp_path, "verify", "ann", "--embedding", str(tmp_path / "probe.npy"),
                   **(hsm | {"FACESEAL_HSM_PIN": "999999"}))
    assert refused.returncode != 0 and "refused the PIN" in refused.stderr and refused.stderr.count("\n") == 1


def test_the_root_key_moves_into_the_tpm_from_the_bundle(installed: Installed, tmp_path: Path, swtpm) -> None:
    """tpm2-pytss ships with the TPM stack it was built against and that stack's transport modules: the root moves
    into a real software TPM and the vault opens only through it, with the bundle's libtss2 files, never the
    system's (this machine has them too: a .deb built on Debian 12 must not load Debian 13's, whose ABI changed)."""
    samples = tmp_path / "samples.npy"
    vectors = np.random.default_rng(5).normal(size=(2, 32)).astype(np.float32)
    np.save(samples, vectors)
    np.save(tmp_path / "probe.npy", vectors[0])
    tpm = {"FACESEAL_TPM_TCTI": swtpm.tcti}
    assert _run(installed, tmp_path, "enroll", "ann", "--consent", "--embedding", str(samples), "--json").returncode == 0
    moved = _run(installed, tmp_path, "key", "move-to-tpm", "--json", **tpm)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["root_store"] == "tpm" and len(swtpm.persistent()) == 1
    verified = _run(installed, tmp_path, "verify", "ann", "--embedding", str(tmp_path / "probe.npy"), "--json", **tpm)
    assert verified.returncode == 0 and json.loads(verified.stdout)["match"] is True, verified.stderr
    traced = _run(installed, tmp_path, "status", "--json", **tpm, LD_DEBUG="files")
    assert traced.returncode == 0 and json.loads(traced.stdout)["root_key"]["store"] == "tpm", traced.stderr[-2000:]
    loaded = set(re.findall(r"(/\S*libtss2-[\w-]+\.so[.\d]*)", traced.stderr))
    internal = installed.root / "opt" / "faceseal" / "_internal"
    assert internal / "libtss2-tcti-swtpm.so.0" in {Path(path) for path in loaded}, loaded  # opened by name
    assert {Path(path).parent for path in loaded} == {internal}, loaded
    swtpm.tool("tpm2_clear")
    refused = _run(installed, tmp_path, "verify", "ann", "--embedding", str(tmp_path / "probe.npy"), **tpm)
    assert "the TPM no longer holds the root key" in refused.stderr and refused.stderr.count("\n") == 1


def test_package_check_moves_the_root_into_its_software_tpm(installed: Installed, tmp_path: Path) -> None:
    """What ``make package-check`` runs in the bare Debian roots (check.root_into_tpm, with its own swtpm), here on
    the unpacked tree: it passes, and it refuses a tree whose TPM stack is not the bundle's."""
    from check import CheckError, root_into_tpm

    start = lambda *args, **env: _run(installed, tmp_path, *args, **env)  # noqa: E731
    said = root_into_tpm(start, "faceseal", str(installed.root / "opt" / "faceseal" / "_internal"))
    assert said.startswith("the root moved into a software TPM"), said
    with pytest.raises(CheckError, match="a TPM stack other than the bundle's"):
        root_into_tpm(lambda *args, **env: _run(installed, tmp_path / "again", *args, **env), "faceseal",
                      "/usr/lib/x86_64-linux-gnu")


def _people(folder: Path, count: int) -> Path:
    """One sub-folder per person (links to the labelled photos): the first ``count`` people with 3+ photos."""
    with open(SHARED / "faces" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    people = sorted({r["identity"] for r in rows if sum(x["identity"] == r["identity"] for x in rows) >= 3})[:count]
    for row in rows:
        if row["identity"] in people:
            (folder / row["identity"]).mkdir(parents=True, exist_ok=True)
            (folder / row["identity"] / row["file"].replace("/", "_")).symlink_to(SHARED / "faces" / row["file"])
    return folder


def test_calibrate_draws_the_det_curve_from_the_installed_tree(installed: Installed, tmp_path: Path) -> None:
    """matplotlib's Agg canvas and Pillow's PNG writer are in the bundle (and nothing else of them is needed)."""
    if not (installed.bundled_models and (SHARED / "faces" / "labels.csv").is_file()):
        pytest.skip("needs the bundled pack and the labelled photos of ../shared/faces")
    import cv2

    _accept_bundled(installed, tmp_path)
    det = tmp_path / "out.png"
    result = _run(installed, tmp_path, "calibrate", str(_people(tmp_path / "photos", 4)), "--det", str(det), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["people"] == 4 and report["det_curve"] == str(det) and report["genuine_pairs"] > 0
    assert result.stderr.strip() == "", result.stderr  # no "findfont: ... not found" for a font left out
    assert _png_size(det) == (640, 480)
    image = cv2.imread(str(det))
    curve = np.all(np.abs(image.astype(int) - (180, 119, 31)) < 8, axis=2)  # matplotlib's first colour, #1f77b4
    assert curve.sum() > 200, "the PNG holds no DET curve"
    dark = np.all(image < 90, axis=2)  # axis labels, ticks and the title
    assert dark[:, :90].sum() > 300 and dark[400:].sum() > 300, "the DET PNG has no axis labels"


def test_model_licence_texts_ship_with_the_bundled_pack(installed: Installed) -> None:
    """Apache-2.0 section 4 (MediaPipe conversions) and MIT: each bundled model file's licence text
    is in the package's doc folder, the very text the models folder keeps, and the copyright file names it."""
    if not installed.bundled_models:
        pytest.skip(f"{SHARED / 'models'} is absent, so no pack was bundled")
    doc = installed.root / "usr" / "share" / "doc" / "faceseal"
    copyright_text = (doc / "copyright").read_text()
    for spec in pack_info(default_pack_name()).files:
        paragraph = copyright_text.split(f"/{spec.name}\n", 1)[1].split("\n\n", 1)[0]
        text_name = paragraph.split("/usr/share/doc/faceseal/models/", 1)[1].split()[0]
        shipped = doc / "models" / text_name
        assert shipped.read_bytes() == (SHARED / "models" / "licenses" / text_name).read_bytes(), spec.name
        if "mediapipe" in spec.name:
            assert "Apache License" in shipped.read_text() and "Apache-2.0" in paragraph


def test_bundled_pack_is_listed_as_installed(installed: Installed, tmp_path: Path) -> None:
    if not installed.bundled_models:
        pytest.skip(f"{SHARED / 'models'} is absent, so no pack was bundled")
    def states() -> dict[str, bool]:
        result = _run(installed, tmp_path, "models", "list", "--json")
        assert result.returncode == 0, result.stderr
        return {pack["name"]: pack["installed"] for pack in json.loads(result.stdout)}

    if _asks_consent():
        assert set(states().values()) == {False}, "the installer never accepts a licence notice for the user"
        _accept_bundled(installed, tmp_path)
    listed = states()
    assert listed.pop(default_pack_name()) is True and set(listed.values()) == {False}  # only what was bundled


def test_bad_input_is_one_line_and_an_exit_code(installed: Installed, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "models", "install", "open", "--from", str(tmp_path / "nowhere"))
    assert result.returncode == 5  # a model problem (README's exit codes)
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_desktop_entry_icons_metainfo_and_launcher_are_in_place(installed: Installed) -> None:
    share = installed.root / "usr" / "share"
    desktop = (share / "applications" / "faceseal.desktop").read_text()
    assert "\nExec=faceseal\n" in desktop and "\nIcon=faceseal\n" in desktop
    for size in ICON_SIZES:
        png = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "faceseal.png"
        assert _png_size(png) == (size, size), png
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "faceseal.svg").is_file()
    metainfo = share / "metainfo" / "faceseal.metainfo.xml"
    assert f'<release version="{__version__}"' in metainfo.read_text()
    if shutil.which("appstreamcli"):
        check = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    launcher = installed.root / "usr" / "bin" / "faceseal"
    assert os.access(launcher, os.X_OK)
    assert launcher.read_text().splitlines()[-1] == 'exec /opt/faceseal/faceseal "$@"'


def test_man_page_is_installed_and_renders(installed: Installed) -> None:
    page = installed.root / "usr" / "share" / "man" / "man1" / "faceseal.1.gz"
    text = gzip.decompress(page.read_bytes()).decode()
    assert text.startswith(".TH FACESEAL 1 ") and f'"faceseal {__version__}"' in text
    rendered = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                              env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
    assert rendered.returncode == 0 and "faceseal self-test" in rendered.stdout


def test_bundle_leaves_out_unused_parts_and_ships_no_photo(installed: Installed) -> None:
    internal = installed.root / "opt" / "faceseal" / "_internal"
    names = {p.name for p in internal.rglob("*")}
    for unused in ("libQt6WebEngineCore.so.6", "libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6Multimedia.so.6",
                   "libQt63DCore.so.6", "libgtk-3.so.0", "QtNetwork.abi3.so", "libQt6Network.so.6",
                   "scipy", "skimage", "insightface", "onnx",
                   "libcrypto.so.3", "libglib-2.0.so.0", "libstdc++.so.6"):  # the system's, kept patched by it
        assert unused not in names
    for unused in ("_tkagg.", "_avif.",  # matplotlib without its Tk backend, Pillow without AVIF
                   "DejaVuSerif.ttf", "sample_data", "pdfcorefonts"):
        assert not [name for name in names if name.startswith(unused)], unused
    for codec in ("libaom-", "libvpx-"):  # the stubs in place of the AV1 and VP8/VP9 codec libraries
        assert all(p.stat().st_size < 100_000 for p in internal.rglob(f"{codec}*")), codec
    for system in ("libreadline.so.8", "libtinfo.so.6",  # the system's (Depends, Requires)
                   # what the bundled TPM stack's FAPI and its access-broker transport name, and what those load
                   "libcurl.so.4", "libjson-c.so.5", "libgio-2.0.so.0", "libgobject-2.0.so.0", "libmount.so.1"):
        assert system not in names
    assert not [name for name in names if name.startswith(("libldap", "libgnutls", "libssh2", "libnghttp2"))]
    assert not [name for name in names if name == "RECORD" or name.startswith(("_qhull.", "_tri."))]
    icu = [p for p in internal.rglob("libicu*.so.*") if p.stat().st_size > 100_000]
    assert len({p.name.split(".so.")[1] for p in icu}) == 1, "two ICU releases: Qt's was not bridged to PyICU's"
    assert next(p for p in icu if p.name.startswith("libicudata")).stat().st_size < 5_000_000, "ICU data not cut"
    faces = SHARED / "faces"
    if faces.is_dir():
        photos = {_sha256(p) for p in faces.rglob("*") if p.is_file()}
        shipped = [p for p in internal.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        assert not [p for p in shipped if _sha256(p) in photos]


def test_every_file_the_loader_maps_declares_a_stack_that_is_not_executable(installed: Installed) -> None:
    """What glibc 2.41 (Debian 13, Fedora 42) asks of every library it loads: the build's own check, on what the
    package installs (it would refuse a library without GNU_STACK: test_stack_check.py)."""
    from stack_check import check_stacks

    assert check_stacks(installed.root / "opt" / "faceseal") > 100  # Python, Qt, OpenCV, ...: all of them read


def test_no_file_searches_for_libraries_outside_the_installed_tree(installed: Installed) -> None:
    """No RUNPATH of the build machine (its pyenv folder) in what the package installs: the build's own check, on the
    installed tree (it refuses such a file: test_runpath.py)."""
    from runpath_check import check_runpaths

    assert check_runpaths(installed.root / "opt" / "faceseal") > 100


def test_the_bundle_carries_no_blas_and_opencv_finds_the_systems(installed: Installed) -> None:
    """NumPy built without OpenBLAS, OpenCV's OpenBLAS replaced by the shim onto the system's LAPACK."""
    internal = installed.root / "opt" / "faceseal" / "_internal"
    assert not (internal / "numpy.libs").exists()
    blas = [p for p in internal.rglob("*blas*") if p.is_file()]
    assert [p.name for p in blas] == [p.name for p in internal.rglob("libopenblas*")], "one BLAS-named file: the shim"
    assert all(p.stat().st_size < 100_000 for p in blas)
    cv2 = internal / "cv2" / "cv2.abi3.so"
    resolved = subprocess.run(["ldd", str(cv2)], capture_output=True, text=True,
                              env=dict(os.environ, LD_LIBRARY_PATH=str(internal))).stdout
    for soname in ("liblapack.so.3", "libblas.so.3"):
        assert re.search(rf"^\s*{re.escape(soname)} => /(usr/)?lib", resolved, re.M), resolved
    assert "not found" not in resolved
    needed = subprocess.run(["readelf", "-d", str(next(internal.rglob("_multiarray_umath.*.so")))],
                            capture_output=True, text=True, check=True).stdout
    assert "blas" not in needed.lower() and "lapack" not in needed.lower()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_the_pam_helper_and_the_agent_unit_ship_with_the_packages(installed: Installed, tmp_path: Path) -> None:
    """/usr/bin/faceseal-pam runs the bundle's PAM helper (no agent here: exit 1, not a word, the password next);
    the agent's systemd user unit runs `faceseal agent run`, which the bundle knows."""
    helper = installed.root / "usr" / "bin" / "faceseal-pam"
    assert os.access(helper, os.X_OK)
    assert helper.read_text().splitlines()[-1] == 'exec /opt/faceseal/faceseal pam-helper "$@"'
    env = {"PAM_TYPE": "auth", "PAM_USER": "root", "PAM_SERVICE": "sudo", "PATH": "/usr/bin:/bin"}
    asked = subprocess.run([str(installed.program), "pam-helper", "--runtime-base", str(tmp_path)], env=env,
                           capture_output=True, text=True, timeout=120)
    assert (asked.returncode, asked.stdout, asked.stderr) == (1, "", "")
    unit = (installed.root / "usr" / "lib" / "systemd" / "user" / "faceseal-agent.service").read_text()
    assert "\nExecStart=/usr/bin/faceseal agent run\n" in unit and "WantedBy=default.target" in unit
    known = _run(installed, tmp_path, "agent", "run", "--help")
    assert known.returncode == 0 and "--camera" in known.stdout
