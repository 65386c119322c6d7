//! Whether the bucket or container keeps what is written to it: S3 Object Lock
//! (`GetObjectLockConfiguration`, `GET /?object-lock`) or an Azure container's immutability
//! policy and legal hold (`Get Container Properties`, `GET /<container>?restype=container`:
//! the headers `x-ms-has-immutability-policy`, `x-ms-has-legal-hold` and
//! `x-ms-immutable-storage-with-versioning-enabled`). A writer warns when the storage keeps
//! nothing (whoever holds the writer's credentials could then delete the store's objects);
//! `stats` says what it found. The answers are parsed here, apart from the requests, so
//! that the parsing is tested on responses as the services' API references document them.

use std::sync::Arc;

use object_store::azure::{
    AzureAuthorizer, AzureConfigKey, AzureCredentialProvider, MicrosoftAzureBuilder,
};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;

use crate::signed::Answer;

/// What the storage keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// `Some(true)`: objects are write-once (Object Lock enabled; an immutability policy or a
    /// legal hold, or version-level immutability); `Some(false)`: the service says they are
    /// not; `None`: it did not say.
    pub write_once: Option<bool>,
    /// What the service said, in a few words.
    pub detail: String,
}

/// A tag's text in an XML document (the first one).
fn tag<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + len].trim())
}

/// The answer to S3's `GetObjectLockConfiguration`: 200 with an
/// `ObjectLockConfiguration` document, or 404 `ObjectLockConfigurationNotFoundError` for a
/// bucket without Object Lock.
pub fn parse_s3_object_lock(status: u16, body: &[u8]) -> Protection {
    let text = String::from_utf8_lossy(body);
    if status == 404 && text.contains("ObjectLockConfigurationNotFoundError") {
        return Protection {
            write_once: Some(false),
            detail: "Object Lock not enabled on the bucket".into(),
        };
    }
    if !(200..300).contains(&status) {
        return Protection {
            write_once: None,
            detail: format!("GetObjectLockConfiguration: HTTP {status}"),
        };
    }
    let enabled = tag(&text, "ObjectLockEnabled") == Some("Enabled");
    let default = match (tag(&text, "Mode"), tag(&text, "Days"), tag(&text, "Years")) {
        (Some(m), Some(d), _) => format!("; default retention {m} {d} days"),
        (Some(m), None, Some(y)) => format!("; default retention {m} {y} years"),
        _ => "; no default retention".into(),
    };
    Protection {
        write_once: Some(enabled),
        detail: if enabled {
            format!("Object Lock enabled{default}")
        } else {
            "Object Lock not enabled on the bucket".into()
        },
    }
}

/// The answer to Azure's `Get Container Properties` (its headers).
pub fn parse_azure_container(status: u16, headers: &http::HeaderMap) -> Protection {
    if !(200..300).contains(&status) {
        return Protection {
            write_once: None,
            detail: format!("Get Container Properties: HTTP {status}"),
        };
    }
    let flag = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    let policy = flag("x-ms-has-immutability-policy");
    let hold = flag("x-ms-has-legal-hold");
    let versioned = flag("x-ms-immutable-storage-with-versioning-enabled");
    let said = [policy, hold, versioned];
    let write_once = if said.contains(&Some(true)) {
        Some(true)
    } else if said.iter().any(Option::is_some) {
        Some(false)
    } else {
        None
    };
    let word = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not said",
    };
    Protection {
        write_once,
        detail: format!(
            "immutability policy {}, legal hold {}, version-level immutability {}",
            word(policy),
            word(hold),
            word(versioned)
        ),
    }
}

/// The signer of an Azure container's own requests (its properties).
pub(crate) struct SignedAzure {
    http: HttpClient,
    credentials: AzureCredentialProvider,
    account: String,
    /// `<service>/<container>`.
    base: String,
}

impl SignedAzure {
    /// For the container `b` names, with the credentials of the store built from it: the
    /// service is the configured endpoint, the emulator's, or the account's.
    pub(crate) fn new(
        b: &MicrosoftAzureBuilder,
        credentials: AzureCredentialProvider,
        allow_http: bool,
    ) -> Result<SignedAzure, String> {
        let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let container = b
            .get_config_value(&AzureConfigKey::ContainerName)
            .ok_or("no container name")?;
        let emulator = truthy(b.get_config_value(&AzureConfigKey::UseEmulator));
        let account = match b.get_config_value(&AzureConfigKey::AccountName) {
            Some(a) => a,
            None if emulator => "devstoreaccount1".to_string(),
            None => return Err("no storage account name (AZURE_STORAGE_ACCOUNT_NAME)".into()),
        };
        let service = match b.get_config_value(&AzureConfigKey::Endpoint) {
            Some(e) => e.trim_end_matches('/').to_string(),
            None if emulator => format!("http://127.0.0.1:10000/{account}"),
            None => format!("https://{account}.blob.core.windows.net"),
        };
        let http = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http || emulator))
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(SignedAzure {
            http,
            credentials: Arc::clone(&credentials),
            account,
            base: format!("{service}/{container}"),
        })
    }

    /// `Get Container Properties`.
    pub(crate) async fn container_properties(&self) -> Result<Answer, String> {
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| format!("credentials: {e}"))?;
        let mut request: HttpRequest = http::Request::builder()
            .method("GET")
            .uri(format!("{}?restype=container", self.base))
            .body(bytes::Bytes::new().into())
            .map_err(|e| e.to_string())?;
        AzureAuthorizer::new(&credential, &self.account).authorize(&mut request);
        Answer::of(&self.http, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers as `Get Container Properties` answers them (Microsoft's REST API reference:
    /// Blob service, Get Container Properties, response headers, version 2023-11-03).
    fn container_headers(policy: &str, hold: &str, versioning: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in [
            ("x-ms-meta-owner", "audit"),
            ("etag", "\"0x8CAE6A2D7E0E4F0\""),
            ("last-modified", "Mon, 02 Dec 2026 10:00:00 GMT"),
            ("x-ms-lease-status", "unlocked"),
            ("x-ms-lease-state", "available"),
            ("x-ms-blob-public-access", "container"),
            ("x-ms-has-immutability-policy", policy),
            ("x-ms-has-legal-hold", hold),
            ("x-ms-default-encryption-scope", "$account-encryption-key"),
            ("x-ms-deny-encryption-scope-override", "false"),
            ("x-ms-request-id", "7f8bd3f2-601e-0077-1e4b-44d1c8000000"),
            ("x-ms-version", "2023-11-03"),
            ("date", "Mon, 02 Dec 2026 10:00:01 GMT"),
        ] {
            h.insert(k, http::HeaderValue::from_str(v).unwrap());
        }
        if let Some(v) = versioning {
            h.insert(
                "x-ms-immutable-storage-with-versioning-enabled",
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn azure_immutability_is_read_from_the_container_properties() {
        let locked = parse_azure_container(200, &container_headers("true", "false", None));
        assert_eq!(locked.write_once, Some(true));
        assert_eq!(
            locked.detail,
            "immutability policy yes, legal hold no, version-level immutability not said"
        );
        let held = parse_azure_container(200, &container_headers("false", "true", Some("false")));
        assert_eq!(held.write_once, Some(true));
        let worm = parse_azure_container(200, &container_headers("false", "false", Some("true")));
        assert_eq!(worm.write_once, Some(true));
        let open = parse_azure_container(200, &container_headers("false", "false", Some("false")));
        assert_eq!(open.write_once, Some(false));
        assert_eq!(
            open.detail,
            "immutability policy no, legal hold no, version-level immutability no"
        );
        // A service that does not say (an older version, an emulator) is not taken for either.
        assert_eq!(
            parse_azure_container(200, &http::HeaderMap::new()).write_once,
            None
        );
        let denied = parse_azure_container(403, &container_headers("true", "true", None));
        assert_eq!(denied.write_once, None);
        assert!(denied.detail.contains("HTTP 403"), "{}", denied.detail);
    }

    #[test]
    fn s3_object_lock_is_read_from_the_bucket_configuration() {
        // GetObjectLockConfiguration response syntax (Amazon S3 API reference).
        let with_default = br#"<?xml version="1.0" encoding="UTF-8"?>
<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
   <ObjectLockEnabled>Enabled</ObjectLockEnabled>
   <Rule>
      <DefaultRetention>
         <Days>400</Days>
         <Mode>COMPLIANCE</Mode>
      </DefaultRetention>
   </Rule>
</ObjectLockConfiguration>"#;
        let p = parse_s3_object_lock(200, with_default);
        assert_eq!(p.write_once, Some(true));
        assert_eq!(
            p.detail,
            "Object Lock enabled; default retention COMPLIANCE 400 days"
        );
        let bare = br#"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"#;
        assert_eq!(
            parse_s3_object_lock(200, bare).detail,
            "Object Lock enabled; no default retention"
        );
        let none = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>Object Lock configuration does not exist for this bucket</Message><BucketName>audit</BucketName></Error>"#;
        assert_eq!(parse_s3_object_lock(404, none).write_once, Some(false));
        let denied = br#"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"#;
        assert_eq!(parse_s3_object_lock(403, denied).write_once, None);
    }
}
