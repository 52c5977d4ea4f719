//! Reading candles over HTTP from a real web server on loopback (Python's http.server from
//! the venv scripts/setup creates, serving the bundled datasets folder).

#[path = "../../../tests/support/loopback.rs"]
mod loopback;

use std::path::Path;
use std::process::Command;

use loopback::LoopbackServer;
use quantsweep_ingest::{LoadOptions, StorageOptions, load, load_source};

#[test]
fn candles_load_from_a_web_server() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Some(python) = loopback::venv_tool(&repo, "python") else { return };
    let mut command = Command::new(python);
    command
        .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
        .arg(repo.join("datasets"));
    let server = LoopbackServer::start(command, |port| vec![port.to_string()], "http.server");
    let port = server.port;
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
