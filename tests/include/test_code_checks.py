"""The code checks of the test command (scripts/lint) really fail, and the tree holds no machine paths.

The lint tests run scripts/lint on a temporary copy of the project (with mypy's cache copied, so
mypy re-reads only the copied package): the clean copy passes, then one injected fault makes it fail
and names the file. ~10 s together on a warm cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["include", "dags", "plugins", "scripts", "ruff.toml", "mypy.ini"]


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory):
    """A copy of the checked code; fails the module if the clean copy itself does not pass."""
    base = tmp_path_factory.mktemp("lint-copy")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, base / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, base / name)
    if (ROOT / ".mypy_cache").is_dir():  # third-party analysis (Airflow) reused: seconds instead of minutes
        shutil.copytree(ROOT / ".mypy_cache", base / ".mypy_cache")
    result = _lint(base)
    assert result.returncode == 0, f"the unmodified copy must pass:\n{result.stdout}\n{result.stderr}"
    return base


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", str(root / "scripts" / "lint")], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def copy(clean_copy, tmp_path):
    target = tmp_path / "project"
    shutil.copytree(clean_copy, target, symlinks=True)
    return target


def test_an_unformatted_file_fails_the_checks(copy):
    module = copy / "include" / "stellar_lineage" / "badly_formatted.py"
    module.write_text("x = {  'a':1,\n 'b' : 2 }\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "badly_formatted.py" in result.stdout + result.stderr


def test_a_type_error_in_include_fails_the_checks(copy):
    module = copy / "include" / "stellar_lineage" / "badly_typed.py"  # formatted and lint-clean, wrong type
    module.write_text(
        "from include.stellar_lineage.records import utcnow\n\n\ndef year() -> int:\n    return utcnow()\n"
    )
    result = _lint(copy)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "badly_typed.py:5" in out and "Incompatible return value type" in out


# An absolute path of a development machine (a home directory, this project's /work checkouts) in a
# committed file: cite reference notes by name instead (e.g. reference/hubble_graph.md). Temporary
# directories (/tmp/...) are generic, e.g. mktemp templates in scripts, and are allowed.
MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(?:work|home|root|Users)/[\w.-]+")


def _tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / p for p in out.decode().split("\0") if p]
    return [f for f in files if f.is_file() and f.suffix not in {".png", ".svg", ".ico", ".db"}]


def test_no_absolute_machine_paths_in_the_tree():
    hits = []
    for path in _tracked_text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in MACHINE_PATH.finditer(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {m.group(0)}")
    assert not hits, "absolute machine paths (cite reference docs by name):\n" + "\n".join(hits)


def test_the_path_check_catches_a_machine_path():
    root = "/"  # built up so this file does not contain what it looks for
    assert MACHINE_PATH.search(f"see {root}work/shared/reference/hubble_graph.md")
    assert MACHINE_PATH.search(f"# cf. {root}home/dev/notes.txt")
    assert not MACHINE_PATH.search("GET /accounts/{id}/payments and reference/hubble_graph.md")
    assert not MACHINE_PATH.search("https://horizon.stellar.org/accounts")
    assert not MACHINE_PATH.search('mktemp -d "/tmp/run-cluster-pg.XXXXXX"')


def test_the_test_command_and_the_pre_commit_hook_run_the_checks():
    test_command = (ROOT / "scripts" / "test").read_text()
    assert "bash scripts/lint" in test_command.split("python -m pytest")[0]  # before any test runs
    assert "entry: bash scripts/lint" in (ROOT / ".pre-commit-config.yaml").read_text()


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))
    return {pkg.strip().lower(): version.strip() for pkg, version in pairs}


def test_runtime_and_dev_requirements_are_apart_and_locked():
    runtime, dev, lock = _pins("requirements.txt"), _pins("requirements-dev.txt"), _pins("constraints.txt")
    assert not {"pytest", "ruff", "mypy"} & runtime.keys(), "test tools belong in requirements-dev.txt"
    for pkg, version in {**runtime, **dev}.items():
        assert lock.get(pkg) == version, f"{pkg}=={version} is not what constraints.txt locks ({lock.get(pkg)})"


def test_the_docker_image_check_wants_the_locked_airflow():
    dockerfile = (ROOT / "Dockerfile").read_text()
    airflow = _pins("requirements.txt")["apache-airflow"]
    assert f"v == '{airflow}'" in dockerfile, "the Dockerfile's version check must match the lock"
    assert "ARG ASTRO_RUNTIME=3.3-" in dockerfile  # a runtime of the Airflow 3.3 line
    # The tag's Python flavour is the one the build check wants (Runtime 3.3 ships 3.12-3.14, no 3.11).
    flavour = re.search(r"^ARG ASTRO_RUNTIME=3\.3-\d+-python-3\.(\d+)$", dockerfile, re.M)
    assert flavour and int(flavour[1]) >= 12, "pin a Python flavour Runtime 3.3 ships (3.12-3.14)"
    assert f"py == (3, {flavour[1]})" in dockerfile, "the Dockerfile's Python check must match the tag"
