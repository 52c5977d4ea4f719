//! Servers that tests start on 127.0.0.1 and stop themselves: a free port, a spawned process
//! that is killed when dropped, and a bounded wait until it listens. Shared by the test suites
//! (`#[path]`-included).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `<repo>/.venv/bin/<name>` (installed by scripts/setup). Missing, it fails the test in CI and
/// skips it elsewhere, saying so.
pub fn venv_tool(repo: &Path, name: &str) -> Option<PathBuf> {
    let exe = repo.join(".venv/bin").join(name);
    if exe.exists() {
        return Some(exe);
    }
    assert!(std::env::var_os("CI").is_none(), "{} missing: run scripts/setup", exe.display());
    eprintln!("skipped: {} missing (run scripts/setup)", exe.display());
    None
}

/// A server process on 127.0.0.1, killed when dropped.
pub struct LoopbackServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl LoopbackServer {
    /// Runs `command` with `args(port)` appended and waits up to 30 s until the port accepts
    /// connections; `what` names the server in the panic if it does not.
    pub fn start(mut command: Command, args: impl FnOnce(u16) -> Vec<String>, what: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = command
            .args(args(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let server = LoopbackServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{what} did not listen on {port} within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
