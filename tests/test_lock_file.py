"""The locks agree with pyproject.toml: a dependency change without ``make lock`` fails here.

``requirements.lock`` (runtime + dev; ``make`` and CI install it) and
``requirements-runtime.lock`` (runtime only; the image installs it) are read as text, no
network: every entry is an exact, hashed pin, every direct dependency of pyproject.toml is
pinned at a version its bounds allow, the locks name no direct dependency pyproject.toml no
longer has, and the runtime lock pins what the full lock pins.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
MAKEFILE = ROOT / "Makefile"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
DEV = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]
#: How uv's ``# via`` annotation names pyproject.toml itself (a direct dependency).
DIRECT = f"{PROJECT['name']} (pyproject.toml)"


@dataclass
class Pin:
    """One entry of a lock: ``name==version [; marker]``, its hashes and ``# via`` lines."""

    requirement: Requirement
    hashes: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def version(self) -> Version:
        (spec,) = self.requirement.specifier
        return Version(spec.version)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.name, str(self.requirement.specifier), str(self.requirement.marker or "")


def read_lock(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    in_via = False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip().removesuffix("\\").strip()
        if not stripped or (line.startswith("#") and not pins):
            continue
        if not line[0].isspace():
            assert not line.startswith(("-", "#")), f"{path.name}: unexpected line {line!r}"
            pins.append(Pin(Requirement(stripped)))
            in_via = False
        elif stripped.startswith("--hash="):
            pins[-1].hashes.add(stripped.removeprefix("--hash="))
        elif stripped.startswith("# via"):
            rest = stripped.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                pins[-1].via.add(rest)
        elif in_via and stripped.startswith("#"):
            pins[-1].via.add(stripped.removeprefix("#").strip())
    assert pins, f"{path.name} pins nothing"
    return pins


LOCKS = {LOCK.name: (LOCK, RUNTIME + DEV), RUNTIME_LOCK.name: (RUNTIME_LOCK, RUNTIME)}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_entry_is_an_exact_pin_with_hashes(lock: str) -> None:
    for pin in read_lock(LOCKS[lock][0]):
        specifiers = list(pin.requirement.specifier)
        assert len(specifiers) == 1, pin.requirement
        assert specifiers[0].operator == "==", pin.requirement
        assert "*" not in specifiers[0].version, pin.requirement
        assert not pin.requirement.extras, f"{pin.requirement}: pip checks no extras of a pin"
        assert pin.hashes, f"{pin.requirement}: --require-hashes needs its hashes"
        assert all(h.startswith("sha256:") for h in pin.hashes), pin.requirement


@pytest.mark.parametrize(
    ("lock", "requirement"),
    [(lock, str(r)) for lock, (_, requirements) in LOCKS.items() for r in requirements],
)
def test_every_direct_dependency_is_pinned_within_its_bounds(lock: str, requirement: str) -> None:
    wanted = Requirement(requirement)
    pins = [p for p in read_lock(LOCKS[lock][0]) if p.name == canonicalize_name(wanted.name)]
    assert pins, f"{lock} does not pin {wanted.name}: run `make lock`"
    for pin in pins:
        assert wanted.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {pin.requirement}, pyproject.toml wants {wanted}: run `make lock`"
        )
        assert DIRECT in pin.via, f"{lock}: {pin.name} is not marked as a direct dependency"


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_names_no_direct_dependency_pyproject_no_longer_has(lock: str) -> None:
    path, requirements = LOCKS[lock]
    direct = {pin.name for pin in read_lock(path) if DIRECT in pin.via}
    assert direct == {canonicalize_name(r.name) for r in requirements}, "run `make lock`"


def test_the_runtime_lock_pins_the_versions_and_hashes_of_the_full_lock() -> None:
    full = {pin.key: pin for pin in read_lock(LOCK)}
    for pin in read_lock(RUNTIME_LOCK):
        assert pin.key in full, f"{pin.requirement} is not in {LOCK.name}: run `make lock`"
        assert pin.hashes == full[pin.key].hashes, pin.requirement


def test_the_runtime_lock_leaves_out_the_dev_only_dependencies() -> None:
    runtime = {pin.name for pin in read_lock(RUNTIME_LOCK)}
    dev_only = {canonicalize_name(r.name) for r in DEV} - {
        canonicalize_name(r.name) for r in RUNTIME
    }
    for pin in read_lock(RUNTIME_LOCK):
        if pin.name in dev_only:
            # Only as a dependency of a runtime package (pyyaml of uvicorn[standard], …).
            assert pin.via - {DIRECT, f"-c {LOCK.name}"} <= runtime, pin.name
            assert pin.via - {DIRECT, f"-c {LOCK.name}"}, pin.name
    assert {"pytest", "mypy", "ruff", "uv", "secantusdb"}.isdisjoint(runtime)


def make_variable(name: str) -> str:
    """A ``NAME = value`` of the Makefile, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", MAKEFILE.read_text(encoding="utf-8"))
    values: list[str] = re.findall(rf"^{name}\s*\??=\s*(.*)$", text, flags=re.MULTILINE)
    (value,) = values
    return value.strip()


def make_recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target (its ``target: prerequisites`` line first)."""
    text = re.sub(r"\\\n\s*", " ", MAKEFILE.read_text(encoding="utf-8"))
    lines = text.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith(f"{target}:")]
    recipe = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_lock_compiles_both_locks_from_pypi_with_hashes_for_python_3_11() -> None:
    options = shlex.split(make_variable("LOCK_OPTIONS"))
    assert options[options.index("--index-url") + 1] == "https://pypi.org/simple"
    assert {"--no-config", "--universal", "--generate-hashes"} <= set(options)
    minimum = re.fullmatch(r">=\s*(\d+\.\d+)", PROJECT["requires-python"])
    assert minimum, PROJECT["requires-python"]
    assert options[options.index("--python-version") + 1] == minimum.group(1)
    recipe = make_recipe("lock")[1:]
    full = [line for line in recipe if f"-o {LOCK.name}" in line]
    runtime = [line for line in recipe if f"-o {RUNTIME_LOCK.name}" in line]
    assert len(full) == len(runtime) == 1, recipe
    assert "--extra dev" in full[0]
    assert "--extra" not in runtime[0]
    assert f"--constraint {LOCK.name}" in runtime[0], "the image runs the versions CI tested"
    assert recipe.index(full[0]) < recipe.index(runtime[0])
    for text in (LOCK, RUNTIME_LOCK):
        assert "#    make lock\n" in text.read_text(encoding="utf-8").split("\n\n")[0]


def test_make_installs_the_lock_then_integra_without_dependencies() -> None:
    stamp, *recipe = make_recipe("$(STAMP)")
    assert LOCK.name in stamp.split(":", 1)[1].split(), "the stamp must depend on the lock"
    assert "pyproject.toml" in stamp.split(":", 1)[1].split()
    installs = [line for line in recipe if " install " in line and "--upgrade pip" not in line]
    assert installs == [
        f"$(VENV)/bin/pip install --quiet --require-hashes -r {LOCK.name}",
        "$(VENV)/bin/pip install --quiet --no-deps -e .",
    ]


#: In every venv, beside the lock: the installer itself and the project (``-e .``).
_NOT_LOCKED = {canonicalize_name(n) for n in ("pip", "setuptools", "wheel", PROJECT["name"])}


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    # What ``pip freeze`` lists, read from the running interpreter's own environment: a
    # fresh clone's ``make`` installs the lock and nothing else, at exactly its versions.
    installed = {
        canonicalize_name(d.metadata["Name"]): Version(d.version)
        for d in importlib.metadata.distributions()
    }
    locked = {
        pin.name: pin.version
        for pin in read_lock(LOCK)
        if pin.requirement.marker is None or pin.requirement.marker.evaluate()  # this platform
    }
    assert {n: v for n, v in installed.items() if n not in _NOT_LOCKED} == locked
