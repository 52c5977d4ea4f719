//! Where candle bytes come from: a local path, or a URL read through `object_store`.
//!
//! Each cloud reads its usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`), and the
//! pipeline's `data.storage` keys (object_store's config keys: `aws_endpoint`, `aws_region`,
//! `aws_allow_http`, ...) override them. Credentials must be given explicitly, or
//! `skip_signature: true` for public data: without them object_store would ask a cloud
//! metadata service (169.254.169.254) for instance credentials, and we never send a request
//! there on a user's behalf.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::memory::InMemory;
use object_store::{
    BackoffConfig, ClientConfigKey, ClientOptions, ObjectStore, ObjectStoreExt, ObjectStoreScheme,
    RetryConfig,
};
use url::Url;

use crate::{Candles, IngestError, LoadOptions, LoadReport, parse};

/// Builder keys (object_store's names) for a source, e.g. `aws_endpoint`, `aws_region`.
pub type StorageOptions = BTreeMap<String, String>;

/// The process's `memory://` store: embedders and tests put objects in it, then read them
/// back as `memory:///path`.
pub fn memory_store() -> Arc<InMemory> {
    static STORE: OnceLock<Arc<InMemory>> = OnceLock::new();
    Arc::clone(STORE.get_or_init(|| Arc::new(InMemory::new())))
}

/// Reads, validates and repairs the candles at `source`: a local path, `file://`,
/// `memory://`, `s3://`, `gs://`, `az://` (and `abfs://`, `adl://`), `http://` or `https://`.
pub fn load_source(
    source: &str,
    options: &LoadOptions,
    storage: &StorageOptions,
) -> Result<(Candles, LoadReport), IngestError> {
    if !source.contains("://") {
        return crate::load(source, options);
    }
    let bytes = fetch(source, storage)?;
    parse(bytes, Path::new(source), options)
}

/// A cloud builder from the environment and the URL, with bounded timeouts (as config keys,
/// so that user settings such as `aws_allow_http` are kept), then the pipeline's
/// `data.storage` options. The builders share no trait, hence a macro.
macro_rules! configured {
    ($builder:ident, $key:ident, $url:expr, $storage:expr, $cloud:literal, $err:expr) => {{
        let mut b = $builder::from_env()
            .with_url($url)
            .with_config($key::Client(ClientConfigKey::ConnectTimeout), "10s")
            .with_config($key::Client(ClientConfigKey::Timeout), "120s");
        for (k, v) in $storage {
            let key: $key = k
                .parse()
                .map_err(|_| $err(format!("data.storage: unknown {} option `{k}`", $cloud)))?;
            b = b.with_config(key, v);
        }
        b
    }};
}

/// The bytes of the object at `url`.
pub fn fetch(source: &str, storage: &StorageOptions) -> Result<Vec<u8>, IngestError> {
    let err = |message: String| IngestError::ObjectStore { url: source.to_owned(), message };
    let (store, path) = match open_store(source, storage)? {
        Located::Local(file) => {
            return std::fs::read(&file).map_err(|error| IngestError::Io { path: file, error });
        }
        Located::Store(store, path) => (store, path),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err(format!("cannot start an async runtime: {e}")))?;
    runtime
        .block_on(async {
            let got = store.get(&path).await?;
            got.bytes().await
        })
        .map(|b| b.to_vec())
        .map_err(|e| err(e.to_string()))
}

/// Where a URL points: a local path (`file://`), or an object store and the object's path in
/// it.
pub enum Located {
    /// A `file://` URL's path.
    Local(std::path::PathBuf),
    /// The store (with its credentials, timeouts and bounded retries) and the path in it.
    Store(Arc<dyn ObjectStore>, object_store::path::Path),
}

/// The object store behind `source` (`s3://`, `gs://`, `az://`, `memory://`, `http(s)://`),
/// configured from the environment and then `storage` (object_store's key names). Clouds
/// without credentials fail here, before any request.
pub fn open_store(source: &str, storage: &StorageOptions) -> Result<Located, IngestError> {
    let err = |message: String| IngestError::ObjectStore { url: source.to_owned(), message };
    let url = Url::parse(source).map_err(|e| err(format!("not a valid URL: {e}")))?;
    let (scheme, path) = ObjectStoreScheme::parse(&url).map_err(|e| err(e.to_string()))?;
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::Local => {
            let file = url.to_file_path().map_err(|()| err("not a local file path".into()))?;
            return Ok(Located::Local(file));
        }
        ObjectStoreScheme::Memory => memory_store(),
        ObjectStoreScheme::AmazonS3 => {
            let b = configured!(AmazonS3Builder, AmazonS3ConfigKey, source, storage, "S3", err);
            let has = |k| b.get_config_value(&k).is_some_and(|v| !v.is_empty());
            let flag = |k| b.get_config_value(&k).is_some_and(|v| truthy(&v));
            let signed =
                has(AmazonS3ConfigKey::AccessKeyId) && has(AmazonS3ConfigKey::SecretAccessKey);
            if !(flag(AmazonS3ConfigKey::SkipSignature) || signed) {
                return Err(missing_credentials(
                    source,
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                ));
            }
            Arc::new(b.with_retry(retry()).build().map_err(|e| err(e.to_string()))?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            let b = configured!(
                GoogleCloudStorageBuilder,
                GoogleConfigKey,
                source,
                storage,
                "GCS",
                err
            );
            let has = |k| b.get_config_value(&k).is_some_and(|v| !v.is_empty());
            let flag = |k| b.get_config_value(&k).is_some_and(|v| truthy(&v));
            let signed = [
                GoogleConfigKey::ServiceAccount,
                GoogleConfigKey::ServiceAccountKey,
                GoogleConfigKey::ApplicationCredentials,
            ]
            .into_iter()
            .any(has);
            if !(flag(GoogleConfigKey::SkipSignature) || signed) {
                return Err(missing_credentials(
                    source,
                    "GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY or GOOGLE_APPLICATION_CREDENTIALS",
                ));
            }
            Arc::new(b.with_retry(retry()).build().map_err(|e| err(e.to_string()))?)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            let b =
                configured!(MicrosoftAzureBuilder, AzureConfigKey, source, storage, "Azure", err);
            let has = |k| b.get_config_value(&k).is_some_and(|v| !v.is_empty());
            let flag = |k| b.get_config_value(&k).is_some_and(|v| truthy(&v));
            let signed = [
                AzureConfigKey::AccessKey,
                AzureConfigKey::SasKey,
                AzureConfigKey::Token,
                AzureConfigKey::ClientSecret,
            ]
            .into_iter()
            .any(has);
            if !(flag(AzureConfigKey::SkipSignature) || flag(AzureConfigKey::UseEmulator) || signed)
            {
                return Err(missing_credentials(
                    source,
                    "AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_TOKEN or a client secret",
                ));
            }
            Arc::new(b.with_retry(retry()).build().map_err(|e| err(e.to_string()))?)
        }
        ObjectStoreScheme::Http => {
            // The store is rooted at the server; the object is the URL's path.
            let mut root = url.clone();
            root.set_path("");
            root.set_query(None);
            Arc::new(
                HttpBuilder::new()
                    .with_url(root.as_str())
                    .with_client_options(client().with_allow_http(true))
                    .with_retry(retry())
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            )
        }
        other => return Err(err(format!("unsupported URL scheme ({other:?})"))),
    };
    Ok(Located::Store(store, path))
}

fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

fn missing_credentials(source: &str, what: &str) -> IngestError {
    IngestError::ObjectStore {
        url: source.to_owned(),
        message: format!(
            "no credentials: set {what} (environment variables, or data.storage keys for data), or skip_signature: true for public data"
        ),
    }
}

/// Bounded time per request: a source that does not answer fails the load, it does not hang.
/// (The clouds get the same bounds as config keys, so that user and environment settings such
/// as `aws_allow_http` are kept.)
fn client() -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(120))
}

/// A few retries with backoff, bounded in total.
fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::path::Path as StorePath;

    #[test]
    fn memory_store_round_trip() {
        let text = "Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,0.5,1.5\n";
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(
            memory_store().put(&StorePath::from("t/a.csv"), text.as_bytes().to_vec().into()),
        )
        .expect("put");
        let (c, r) =
            load_source("memory:///t/a.csv", &LoadOptions::default(), &StorageOptions::new())
                .expect("loads from memory");
        assert_eq!(c.len(), 2);
        assert_eq!(r.source, Path::new("memory:///t/a.csv"));
        let err =
            load_source("memory:///t/none.csv", &LoadOptions::default(), &StorageOptions::new())
                .expect_err("missing object");
        assert!(err.to_string().starts_with("memory:///t/none.csv: "), "{err}");
    }

    #[test]
    fn clouds_without_credentials_fail_before_any_request() {
        // Any request would go to the internet or a metadata service; these return at once.
        let mut storage = StorageOptions::new();
        storage.insert("aws_access_key_id".into(), String::new());
        storage.insert("aws_secret_access_key".into(), String::new());
        for url in ["s3://bucket/eth.csv", "gs://bucket/eth.csv", "az://container/eth.csv"] {
            let opts = if url.starts_with("s3") { storage.clone() } else { StorageOptions::new() };
            let err = fetch(url, &opts).expect_err("no credentials");
            assert!(err.to_string().contains("no credentials"), "{url}: {err}");
        }
    }

    #[test]
    fn bad_urls_and_options_are_named() {
        let err = fetch("s3://bucket/x.csv", &[("aws_endpiont".into(), "x".into())].into())
            .expect_err("typo");
        assert!(err.to_string().contains("unknown S3 option `aws_endpiont`"), "{err}");
        let err = fetch("ftp://host/x.csv", &StorageOptions::new()).expect_err("scheme");
        assert!(err.to_string().starts_with("ftp://host/x.csv: "), "{err}");
    }
}
