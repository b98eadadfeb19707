"""Cameras as people name them: an index, /dev/videoN or a stable link to it, or the name v4l2 gives it."""

from __future__ import annotations

import os
import stat

import pytest

from edge_core.biometrics import camera_index
from edge_core.biometrics.errors import CameraIndexInvalid
from tests.conftest import run_cli


def _sysfs(root, nodes: dict[int, str]):
    for index, name in nodes.items():
        (root / f"video{index}").mkdir(parents=True)
        (root / f"video{index}" / "name").write_text(name + "\n")
    return root


def test_an_index_or_a_v4l2_name(tmp_path) -> None:
    sysfs = _sysfs(tmp_path / "sys", {0: "Integrated Camera", 1: "Integrated Camera", 2: "C920 HD Pro Webcam"})
    assert camera_index("2", sysfs) == 2
    assert camera_index("C920 HD Pro Webcam", sysfs) == 2
    assert camera_index("Integrated Camera", sysfs) == 0, "the capture node, not the metadata node after it"
    with pytest.raises(CameraIndexInvalid, match="no camera is named 'Brio'; cameras here: C920 HD Pro Webcam, "
                                                 "Integrated Camera"):
        camera_index("Brio", sysfs)


@pytest.mark.skipif(os.geteuid() != 0, reason="a device node is made with mknod, which needs root (CI runs as root)")
def test_a_device_path_or_a_stable_link_to_it(tmp_path) -> None:
    dev = tmp_path / "dev"
    (dev / "v4l" / "by-id").mkdir(parents=True)
    os.mknod(dev / "video7", stat.S_IFCHR | 0o600, os.makedev(81, 7))
    link = dev / "v4l" / "by-id" / "usb-Logitech_C920-video-index0"
    link.symlink_to("../../video7")
    assert camera_index(str(dev / "video7"), dev=dev) == 7
    assert camera_index(str(link), dev=dev) == 7
    (dev / "video8").write_text("not a device")
    for wrong in (dev / "video8", dev / "video9", tmp_path):
        with pytest.raises(CameraIndexInvalid, match="is not a camera's device"):
            camera_index(str(wrong), dev=dev)


def test_the_command_line_says_which_camera_is_wrong_in_one_line(isolated) -> None:
    result = run_cli("verify", "alice", "--camera", "/dev/null")
    assert result.returncode == 2 and "/dev/null is not a camera's device" in result.stderr
    agent = run_cli("agent", "run", "--camera", "No Such Camera")
    assert agent.returncode == 2 and "no camera is named 'No Such Camera'" in agent.stderr
