#!/usr/bin/env bash
# Runs the cargo-fuzz targets of engineio-core (core/fuzz) and fails if any of them crashes.
#
# Usage (from anywhere in the repo):
#   scripts/fuzz.sh                      # every target from `cargo fuzz list`, 10 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # every target, 10 minutes each
#   scripts/fuzz.sh packet               # one target (or several: scripts/fuzz.sh packet payload)
#
# A crashing input is saved as core/fuzz/artifacts/<target>/crash-<hash>; replay it with
#   cd core/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/crash-<hash>
# and turn it into a unit test. The corpus grows in core/fuzz/corpus/<target> (not committed).
# The fuzz crate is its own workspace, built in core/fuzz/target.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../core/fuzz"

# cargo-fuzz passes nightly-only flags (-Zsanitizer=address); this lets a stable toolchain take them.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-10}"
if (($# > 0)); then
    targets=("$@")
else
    listed="$(cargo fuzz list)"
    mapfile -t targets <<<"$listed"
fi

failed=()
for target in "${targets[@]}"; do
    echo "==> fuzzing '${target}' for ${seconds}s"
    if ! cargo fuzz run "$target" -- -max_total_time="$seconds"; then
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz: crash or error in: ${failed[*]} (see core/fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${targets[*]}: ${seconds}s each, no crash"
