//! A real S3-compatible server for tests: moto's `moto_server` (installed into the venv by
//! scripts/setup) on a free loopback port, killed when dropped. Shared by the ingest and
//! end-to-end suites (`#[path]`-included, next to `loopback.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use super::loopback::{LoopbackServer, venv_tool};

/// A running moto server.
pub struct Moto {
    server: LoopbackServer,
}

impl Moto {
    /// Starts moto from `<repo>/.venv`; `None` (after saying so) outside CI when the venv lacks it.
    pub fn start(repo: &Path) -> Option<Moto> {
        let exe = venv_tool(repo, "moto_server")?;
        let args = |port: u16| vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()];
        Some(Moto { server: LoopbackServer::start(Command::new(exe), args, "moto_server") })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
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
        let mut s = TcpStream::connect(("127.0.0.1", self.server.port)).expect("connect to moto");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.server.port,
            body.len()
        )
        .expect("send headers");
        s.write_all(body).expect("send body");
        let mut reply = String::new();
        s.read_to_string(&mut reply).expect("reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "{method} {path}: {reply}");
    }
}
