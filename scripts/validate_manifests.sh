#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml offline against the Kubernetes API schemas
# (kubernetes-validate, from PyPI, in a virtual environment of its own). KEDA's
# ScaledObject is a custom resource without a bundled schema: it is reported and its
# names are checked against the code by `cargo test -p avad-worker`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/avad-kubernetes-validate"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q kubernetes-validate
fi
"$venv/bin/kubernetes-validate" --strict deploy/kubernetes/*.yaml
