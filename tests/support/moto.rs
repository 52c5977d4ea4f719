//! A real S3-compatible server for tests: moto's `moto_server` (installed into the venv by
//! scripts/setup) on a free loopback port, killed when dropped. Shared by the ingest and
//! end-to-end suites (`#[path]`-included).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Moto {
    /// Starts moto from `<repo>/.venv`; `None` (after saying so) outside CI when the venv lacks it.
    pub fn start(repo: &Path) -> Option<Moto> {
        let exe = repo.join(".venv/bin/moto_server");
        if !exe.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{} missing: run scripts/setup",
                exe.display()
            );
            eprintln!("skipped: {} missing (run scripts/setup)", exe.display());
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on {port} within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS environment a user would set for this endpoint.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ]
    }

    /// Creates a bucket (path-style; moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) {
        self.request("PUT", &format!("/{bucket}"), &[]);
    }

    /// Uploads an object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.request("PUT", &format!("/{bucket}/{key}"), body);
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        )
        .expect("send headers");
        s.write_all(body).expect("send body");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "{method} {path}: {reply}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
