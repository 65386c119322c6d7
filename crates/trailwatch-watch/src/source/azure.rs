//! An Azure Blob container (`insights-activity-logs`): new blobs and appended `PT1H.json`
//! blobs, read incrementally.

use super::remote::{prefix_of, Remote};
use super::rest::Rest;
use super::{env, BuildSource, ObjectInfo, ObjectSource};
use crate::config::Coverage;
use bytes::Bytes;
use serde::Deserialize;
use std::ops::Range;
use std::sync::Arc;
use tokio::runtime::Runtime;
use trailwatch_model::Provider;

/// `kind = "azure"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureSourceConfig {
    pub account: String,
    pub container: String,
    #[serde(default)]
    pub prefix: String,
    /// Another endpoint, e.g. `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub allow_http: bool,
    /// Names the variable holding the storage account key; default from the environment
    /// (`AZURE_STORAGE_ACCOUNT_KEY`, …).
    #[serde(default)]
    pub access_key_env: Option<String>,
    #[serde(default)]
    pub coverage: Coverage,
}

impl BuildSource for AzureSourceConfig {
    fn validate(&self) -> Result<(), String> {
        if self.container.is_empty() {
            return Err("empty container".into());
        }
        Ok(())
    }

    fn secret_vars(&self) -> Vec<&str> {
        self.access_key_env.iter().map(String::as_str).collect()
    }

    fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    fn provider(&self) -> Provider {
        Provider::Azure
    }

    fn build(&self) -> Result<Box<dyn ObjectSource>, String> {
        let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_account(&self.account)
            .with_container_name(&self.container)
            .with_allow_http(self.allow_http);
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e.clone());
        }
        if let Some(var) = &self.access_key_env {
            b = b.with_access_key(env(var)?);
        }
        let store = b.clone().build().map_err(|e| e.to_string())?;
        Ok(Box::new(AzureSource(Remote {
            rest: Box::new(Rest::azure(
                &b,
                Arc::clone(store.credentials()),
                self.allow_http,
            )?),
            store: Arc::new(store),
            prefix: prefix_of(&self.prefix),
            scheme: format!("azure://{}/{}", self.account, self.container),
        })))
    }
}

/// A container; its blobs grow (hourly `PT1H.json` appends).
struct AzureSource(Remote);

impl ObjectSource for AzureSource {
    fn describe(&self, key: &str) -> String {
        self.0.describe(key)
    }

    fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, String> {
        self.0.list(rt)
    }

    fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        self.0.read(rt, key, range)
    }
}
