//! A real S3-compatible server for tests: moto's `moto_server` (installed into the venv by
//! scripts/setup) on a free loopback port, killed when dropped. Shared by the ingest and
//! end-to-end suites (`#[path]`-included, next to `loopback.rs`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

use super::loopback::{LoopbackServer, venv_tool};

/// moto checks no signature, but an anonymous GET of a private object is refused: requests
/// carry the test credentials' (unsigned) authorization header.
const AUTHORIZATION: &str = "Authorization: AWS4-HMAC-SHA256 \
    Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

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

    /// The port it listens on.
    #[allow(dead_code)] // Only the end-to-end suite puts a proxy in front of it.
    pub fn port(&self) -> u16 {
        self.server.port
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

    /// The keys under `prefix` in `bucket`, sorted (one listing page: up to 1,000).
    #[allow(dead_code)] // Not every suite that includes this file lists.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let body = self.request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), &[]);
        let xml = String::from_utf8_lossy(&body);
        let mut keys: Vec<String> = xml
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }

    /// An object's bytes.
    #[allow(dead_code)] // Not every suite that includes this file reads objects back.
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.request("GET", &format!("/{bucket}/{key}"), &[])
    }

    /// Sends one request and returns the body of its 200 reply.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.server.port)).expect("connect to moto");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n{AUTHORIZATION}\r\nConnection: close\r\n\r\n",
            self.server.port,
            body.len()
        )
        .expect("send headers");
        s.write_all(body).expect("send body");
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).expect("reply");
        let head_end =
            reply.windows(4).position(|w| w == b"\r\n\r\n").map_or(reply.len(), |i| i + 4);
        let head = String::from_utf8_lossy(&reply[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {head}");
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
        reply.split_off(head_end)
    }
}
