//! Reading candles over HTTP from a real web server on loopback (Python's http.server from
//! the venv scripts/setup creates, serving the bundled datasets folder).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quantsweep_ingest::{LoadOptions, StorageOptions, load, load_source};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn candles_load_from_a_web_server() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = repo.join(".venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing: run scripts/setup",
            python.display()
        );
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let child = Command::new(python)
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(repo.join("datasets"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("http.server starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}/eth-usdt-1d.csv");
    let (remote, report) =
        load_source(&url, &LoadOptions::default(), &StorageOptions::new()).expect("over HTTP");
    let (local, _) =
        load(repo.join("datasets/eth-usdt-1d.csv"), &LoadOptions::default()).expect("local");
    assert_eq!(remote, local);
    assert_eq!(report.format.to_string(), "crypto_data_download");
    let missing = format!("http://127.0.0.1:{port}/none.csv");
    let err =
        load_source(&missing, &LoadOptions::default(), &StorageOptions::new()).expect_err("404");
    assert!(err.to_string().starts_with(&format!("{missing}: ")), "{err}");
    drop(server);
}
