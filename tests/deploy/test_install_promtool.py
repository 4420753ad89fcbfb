"""``deploy/install-promtool.sh`` run against stand-ins of apt-get and systemctl.

Debian's ``prometheus`` package would start a server on :9090 during the install and enable it
at every boot. The stand-in apt-get plays the package's maintainer scripts: it asks the
policy-rc.d whether it may start the service, and records the answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "deploy" / "install-promtool.sh"

APT_GET = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
if [ "$1" = install ]; then
    "$INTEGRA_POLICY_RC_D" prometheus.service start
    echo "policy-rc.d answered $?" >> "$LOG"
    for tool in promtool prometheus; do
        printf '#!/bin/sh\\necho "%s, version 0"\\n' "$tool" > "$BIN/$tool"
        chmod 0755 "$BIN/$tool"
    done
fi
"""
RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "$LOG"\n'


def run_install(tmp_path: Path, *, init: str, policy: str | None = None) -> list[str]:
    """Run the script as root with ``init`` (``systemctl`` or ``update-rc.d``) on PATH; what
    the stand-ins recorded."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    log.touch()
    scripts = {"apt-get": APT_GET, init: RECORDER, "id": "#!/bin/sh\necho 0\n"}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    for tool in ("env", "tee", "chmod", "rm", "head", "basename"):
        real = shutil.which(tool)
        assert real is not None, tool
        (bin_dir / tool).symlink_to(real)
    policy_file = tmp_path / "policy-rc.d"
    if policy is not None:
        policy_file.write_text(policy, encoding="utf-8")
        policy_file.chmod(0o755)
    env = {
        "PATH": str(bin_dir),
        "LOG": str(log),
        "BIN": str(bin_dir),
        "INTEGRA_POLICY_RC_D": str(policy_file),
        "HOME": os.environ.get("HOME", "/root"),
    }
    done = subprocess.run(
        [shutil.which("sh") or "/bin/sh", str(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return log.read_text(encoding="utf-8").splitlines()


def test_under_systemd_nothing_starts_and_the_unit_ends_disabled(tmp_path: Path) -> None:
    calls = run_install(tmp_path, init="systemctl")
    assert calls == [
        "apt-get update",
        "apt-get install -y --no-install-recommends prometheus",
        "policy-rc.d answered 101",  # the maintainer scripts may not start the server
        "systemctl disable --now prometheus.service",
    ]
    assert not (tmp_path / "policy-rc.d").exists()  # the script's own policy is gone


def test_under_sysv_init_the_service_is_disabled(tmp_path: Path) -> None:
    calls = run_install(tmp_path, init="update-rc.d")
    assert "policy-rc.d answered 101" in calls
    assert calls[-1] == "update-rc.d prometheus disable"
    assert not (tmp_path / "policy-rc.d").exists()


@pytest.mark.parametrize("answer", [101, 0])
def test_a_policy_of_the_host_is_left_as_it_was(tmp_path: Path, answer: int) -> None:
    policy = f"#!/bin/sh\nexit {answer}\n"
    calls = run_install(tmp_path, init="systemctl", policy=policy)
    assert (tmp_path / "policy-rc.d").read_text(encoding="utf-8") == policy
    # Whatever the host's policy let start, the unit is stopped and disabled afterwards.
    assert f"policy-rc.d answered {answer}" in calls
    assert calls[-1] == "systemctl disable --now prometheus.service"


def test_the_script_itself_never_starts_a_service() -> None:
    lines = SCRIPT.read_text(encoding="utf-8").splitlines()
    code = "\n".join(line.split("#", 1)[0] for line in lines if not line.lstrip().startswith("#"))
    for start in ("systemctl start", "systemctl enable", "service prometheus", "invoke-rc.d"):
        assert start not in code
