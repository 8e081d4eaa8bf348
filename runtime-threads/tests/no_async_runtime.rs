//! The blocking crate's dependency tree holds no async runtime.
//!
//! The same check by hand (and for CI):
//!
//! ```text
//! cargo tree -p engineio-runtime-threads -e normal --prefix none --offline \
//!     | grep -E '^(tokio|async-std|smol|async-io|async-executor|async-global-executor|futures-executor) '
//! ```
//!
//! must print nothing.

use std::process::Command;

/// Crates that are, or start, an async runtime.
const RUNTIMES: [&str; 7] = [
    "tokio",
    "async-std",
    "smol",
    "async-io",
    "async-executor",
    "async-global-executor",
    "futures-executor",
];

#[test]
fn the_dependency_tree_holds_no_async_runtime() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut crates = Vec::new();
    for features in [&["--all-features"][..], &["--no-default-features"][..]] {
        let output = Command::new(&cargo)
            .args(["tree", "-p", "engineio-runtime-threads", "-e", "normal"])
            .args(["--prefix", "none", "--offline", "--manifest-path", manifest])
            .args(features)
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tree = String::from_utf8(output.stdout).expect("UTF-8 output");
        crates.extend(
            tree.lines()
                .filter_map(|line| line.split_whitespace().next())
                .map(str::to_owned),
        );
    }
    for runtime in RUNTIMES {
        assert!(
            !crates.iter().any(|name| name == runtime),
            "{runtime} is in the dependency tree of engineio-runtime-threads"
        );
    }
    for expected in ["engineio-core", "tungstenite", "httparse", "rustls"] {
        assert!(
            crates.iter().any(|name| name == expected),
            "{expected} is missing: is the tree read right?"
        );
    }
}
