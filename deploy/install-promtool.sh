#!/bin/sh
# Install promtool and the prometheus server (both from Debian's `prometheus` package) unless
# they are already on PATH. Idempotent: does nothing when both are present. Runs apt-get
# directly as root, through sudo otherwise. `make tools` (part of `make test`) runs this before
# pytest: tests/deploy/test_prometheus_rules.py needs promtool, and
# tests/deploy/test_prometheus_e2e.py starts a real prometheus server.
set -eu

have_both() {
    command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1
}

if have_both; then
    promtool --version 2>&1 | head -n 1
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-promtool.sh: not root and sudo is not available; install the Debian" \
        "'prometheus' package (it provides /usr/bin/promtool and /usr/bin/prometheus)" >&2
    exit 1
fi

# Only the binaries are wanted (promtool, and prometheus for tests that start their own server
# on a free port): the package's service must neither start now nor at the next boot. A
# policy-rc.d that denies every start (exit 101, Debian's convention: invoke-rc.d and
# deb-systemd-invoke obey it) holds while apt runs, unless the host has one of its own; it is
# removed however the script ends. Afterwards the unit is disabled (and stopped, should it have
# started), whatever state the package left it in, so the host is as it was apart from the
# package. INTEGRA_POLICY_RC_D only moves that file for tests/deploy/test_install_promtool.py.
POLICY=${INTEGRA_POLICY_RC_D:-/usr/sbin/policy-rc.d}
OWN_POLICY=""
if [ ! -e "$POLICY" ]; then
    OWN_POLICY="$POLICY"
    trap '$SUDO rm -f "$OWN_POLICY"' EXIT
    trap 'exit 130' HUP INT TERM # exit, so that the EXIT trap removes the policy
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 0755 "$POLICY"
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
if [ -n "$OWN_POLICY" ]; then
    $SUDO rm -f "$OWN_POLICY"
fi
if command -v systemctl >/dev/null 2>&1; then
    # Works without a running systemd too (it only removes the symlinks then).
    $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null 2>&1; then
    $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true # SysV init: no S links
fi

if ! have_both; then
    echo "install-promtool.sh: 'prometheus' installed but promtool or prometheus is not on" \
        "PATH" >&2
    exit 1
fi
promtool --version 2>&1 | head -n 1
prometheus --version 2>&1 | head -n 1
