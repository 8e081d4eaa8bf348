//! The reference peers (`scripts/setup` installs them) and how to run their scripts.
//!
//! A missing peer is a failure that says how to install it, never a skip.
//!
//! The functions here block: the tests are plain `#[test]` functions. The child processes are
//! managed on a small tokio runtime of their own (`peer_runtime`), apart from the runtimes
//! under test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// The runtime that starts, reads and reaps the peers' processes: one worker, shared by the
/// tests of a process, never the runtime under test.
pub(crate) fn peer_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("peer-processes")
            .enable_all()
            .build()
            .expect("build the peer-process runtime")
    })
}

/// The Chromium that the browser test drives.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives in the workspace")
        .to_path_buf()
}

/// `tests/interop`: the peer scripts and their `node_modules`.
pub(crate) fn interop_dir() -> PathBuf {
    workspace_root().join("tests/interop")
}

/// `tests/interop/node_modules`, asserting that the npm peers are installed.
pub fn node_modules() -> PathBuf {
    let dir = interop_dir().join("node_modules");
    for package in ["engine.io", "engine.io-client", "playwright-core"] {
        assert!(
            dir.join(package).join("package.json").is_file(),
            "node_modules missing ({}/{package}): run scripts/setup",
            dir.display()
        );
    }
    dir
}

/// The `node` executable, asserting that it is on `PATH`.
pub(crate) fn node() -> PathBuf {
    which("node").expect("node is not on PATH: install Node.js, then run scripts/setup")
}

/// The `python3` executable.
pub(crate) fn python3() -> PathBuf {
    which("python3").expect("python3 is not on PATH: install it, then run scripts/setup")
}

/// The `python3` executable, asserting that python-engineio, its sync client's transports and
/// aiohttp (for its async server) import.
pub(crate) async fn python() -> PathBuf {
    let python = python3();
    let check = "import engineio, requests, websocket, aiohttp";
    let output = run(&python, &["-c", check], Duration::from_secs(20)).await;
    assert!(
        output.status.success(),
        "python-engineio missing (`{check}` failed: {}): run scripts/setup",
        output.stderr.trim()
    );
    python
}

/// Chromium, asserting that it is installed.
pub fn chromium() -> PathBuf {
    let path = PathBuf::from(CHROMIUM);
    assert!(path.is_file(), "{CHROMIUM} missing: run scripts/setup");
    path
}

/// Runs `tests/interop/<script>` with Node and returns the JSON lines it printed.
pub fn run_node(script: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
    peer_runtime().block_on(run_node_async(script, args, timeout))
}

async fn run_node_async(script: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
    node_modules();
    let script = interop_dir().join(script);
    let mut full = vec![script.to_str().expect("UTF-8 path")];
    full.extend_from_slice(args);
    json_lines(&run_ok(&node(), &full, timeout).await)
}

/// Runs `tests/interop/<script>` with python3 and returns the JSON lines it printed. If the
/// script fails, checks first that python-engineio is installed (not before: the check
/// costs an interpreter start per test).
pub fn run_python(script: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
    peer_runtime().block_on(run_python_async(script, args, timeout))
}

async fn run_python_async(script: &str, args: &[&str], timeout: Duration) -> Vec<Value> {
    let python3 = python3();
    let script = interop_dir().join(script);
    let mut full = vec![script.to_str().expect("UTF-8 path")];
    full.extend_from_slice(args);
    let output = run(&python3, &full, timeout).await;
    if !output.status.success() {
        python().await;
    }
    json_lines(&check_ok(&python3, &full, output))
}

/// What a finished child printed.
#[derive(Debug)]
struct Output {
    /// How it exited.
    status: std::process::ExitStatus,
    /// Its standard output.
    stdout: String,
    /// Its standard error.
    stderr: String,
}

/// Runs `program` in `tests/interop`; fails unless it exits with 0 within `timeout`.
async fn run_ok(program: &Path, args: &[&str], timeout: Duration) -> String {
    check_ok(program, args, run(program, args, timeout).await)
}

/// Fails unless `output` is that of a successful run; returns its standard output. Its
/// standard error (`DEBUG=engine*` traces, say) goes to the test's, shown if the test fails.
fn check_ok(program: &Path, args: &[&str], output: Output) -> String {
    assert!(
        output.status.success(),
        "{} {args:?} failed ({}).\nstdout:\n{}\nstderr:\n{}",
        program.display(),
        output.status,
        output.stdout,
        output.stderr
    );
    if !output.stderr.is_empty() {
        eprintln!("{} stderr:\n{}", program.display(), output.stderr);
    }
    output.stdout
}

/// Runs `program` in `tests/interop`, killing it and failing (with what it printed) if it
/// has not exited within `timeout`.
async fn run(program: &Path, args: &[&str], timeout: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(interop_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdout = tokio::spawn(read_all(child.stdout.take().expect("piped")));
    let stderr = tokio::spawn(read_all(child.stderr.take().expect("piped")));
    let status = tokio::time::timeout(timeout, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    // The pipes close when the child exits (a grandchild could keep them open: bound it).
    let grace = Duration::from_secs(2);
    let stdout = tokio::time::timeout(grace, stdout)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let stderr = tokio::time::timeout(grace, stderr)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    match status {
        Ok(status) => Output {
            status: status.expect("wait for the child"),
            stdout,
            stderr,
        },
        Err(_) => panic!(
            "{} {args:?} did not finish within {timeout:?} (killed).\nstdout:\n{stdout}\nstderr:\n{stderr}",
            program.display()
        ),
    }
}

/// Reads a pipe to its end, lossily as UTF-8.
pub(crate) async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parses every line of `stdout` as JSON (blank lines aside).
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("peer printed a line that is not JSON ({e}): {line}"))
        })
        .collect()
}

/// The one result line whose `key` is `value`.
pub fn result<'a>(lines: &'a [Value], key: &str, value: &str) -> &'a Value {
    let mut found = lines.iter().filter(|line| line[key] == value);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no result with {key} = {value:?} in {lines:#?}"));
    assert!(
        found.next().is_none(),
        "several results with {key} = {value:?} in {lines:#?}"
    );
    first
}

/// Finds `name` in the directories of `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
