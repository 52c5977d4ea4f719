//! Reading candles over the S3 protocol from a real S3-compatible server on loopback:
//! moto's `moto_server` (installed by scripts/setup), started and stopped by the test.

#[path = "../../../tests/support/loopback.rs"]
mod loopback;
#[path = "../../../tests/support/moto.rs"]
mod moto;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moto::Moto;
use quantsweep_ingest::{LoadOptions, StorageOptions, load, load_source};

/// The same settings as `Moto::env`, given as `data.storage` options instead.
fn storage(moto: &Moto) -> StorageOptions {
    moto.env().into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()
}

fn repo_file(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

#[test]
fn candles_load_from_an_s3_compatible_server() {
    let Some(moto) = Moto::start(&repo_file("")) else { return };
    moto.create_bucket("quantsweep");
    let csv = repo_file("datasets/eth-usdt-1d.csv");
    moto.put("quantsweep", "daily/eth.csv", &std::fs::read(&csv).expect("bundled data"));

    let local = load(&csv, &LoadOptions::default()).expect("local load");
    let remote =
        load_source("s3://quantsweep/daily/eth.csv", &LoadOptions::default(), &storage(&moto))
            .expect("S3 load");
    assert_eq!(local.0, remote.0);
    assert_eq!(remote.1.format.to_string(), "crypto_data_download");
    assert_eq!(remote.1.source, Path::new("s3://quantsweep/daily/eth.csv"));

    // Binary formats go through the same path; Parquet written by our own table writer's
    // library (arrow) from the candles.
    let batch = local.0.to_record_batch().expect("batch");
    let mut parquet = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut parquet, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    moto.put("quantsweep", "daily/eth.parquet", &parquet);
    let (from_parquet, report) =
        load_source("s3://quantsweep/daily/eth.parquet", &LoadOptions::default(), &storage(&moto))
            .expect("parquet over S3");
    assert_eq!(report.format.to_string(), "parquet");
    assert_eq!(from_parquet, local.0);

    // A missing object is one clear error naming the URL.
    let err =
        load_source("s3://quantsweep/daily/none.csv", &LoadOptions::default(), &storage(&moto))
            .expect_err("missing object");
    let msg = err.to_string();
    assert!(msg.starts_with("s3://quantsweep/daily/none.csv: "), "{msg}");
    assert!(!msg.contains("testing"), "credentials must not appear in errors: {msg}");

    // A server that went away: bounded retries, then an error (not a hang).
    let storage = storage(&moto);
    drop(moto);
    let started = Instant::now();
    let err = load_source("s3://quantsweep/daily/eth.csv", &LoadOptions::default(), &storage)
        .expect_err("server stopped");
    assert!(err.to_string().starts_with("s3://quantsweep/daily/eth.csv: "), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "gave up after {:?}", started.elapsed());
}
