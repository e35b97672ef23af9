"""What a newcomer types: `make run` serves this machine only and says what it installs; the commands the
messages suggest exist; mmrec is installed into the venv so its commands work from any folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make_n(*args: str) -> str:
    """What `make` would run (dry run, nothing executed), as if the venv did not exist yet."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", "-B", "VENV=/nonexistent-venv", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_dashboard_listens_on_this_machine_only_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    run = [line for line in make_n("run").splitlines() if "streamlit run" in line][0]
    assert "--server.address 127.0.0.1" in run and "serverAddress" not in run


def test_a_classroom_is_served_on_request_without_asking_an_outside_service():
    run = [line for line in make_n("run", "HOST=0.0.0.0", "PUBLIC_HOST=10.0.0.5").splitlines()
           if "streamlit run" in line][0]
    # with a wildcard address and no browser.serverAddress, headless Streamlit looks up its public IP
    assert "--server.address 0.0.0.0" in run and "--browser.serverAddress 10.0.0.5" in run


@pytest.mark.parametrize("target", ["run", "test"])
def test_make_installs_mmrec_into_the_venv_and_says_what_each_install_step_is(target):
    lines = make_n(target).splitlines()
    installs = [i for i, line in enumerate(lines) if re.search(r"-m pip install", line)]
    assert any("-e . --no-deps --no-build-isolation" in lines[i] for i in installs), lines
    for i in installs:  # one line before each install step: what, and roughly how long
        before = "\n".join(lines[max(0, i - 3):i])
        assert re.search(r"echo .*(second|minute)", before), (lines[i], before)


def test_pyproject_declares_an_offline_build_and_the_mmrec_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["mmrec"] == "mmrec_core.cli:main"
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"


def test_the_offline_build_makes_a_wheel_with_the_mmrec_command(tmp_path):
    pytest.importorskip("setuptools")
    src = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "mmrec_core", src / "mmrec_core", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import zipfile

    (wheel,) = tmp_path.glob("mmrec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert entry and "mmrec = mmrec_core.cli:main" in zipfile.ZipFile(wheel).read(entry[0]).decode()
    assert "mmrec_core/cli.py" in names


def test_messages_suggest_commands_the_pinned_packages_install():
    old = "huggingface" + "-cli"  # not installed by huggingface_hub 1.x+; `hf` is
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    mentions = [p for p in tracked if (ROOT / p).is_file() and p.endswith((".py", ".md", ".toml", "Makefile"))
                and old in (ROOT / p).read_text(errors="ignore")]
    assert not mentions
    from mmrec_core.encoders.hub import unavailable_message

    assert "`hf download openai/clip-vit-base-patch32`" in unavailable_message("openai/clip-vit-base-patch32")
    assert (Path(sys.executable).parent / "hf").exists()  # the command the message names is in the venv
