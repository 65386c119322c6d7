//! S3 requests object_store's API cannot make, signed by object_store's own [`AwsAuthorizer`]
//! with the credentials its client resolved (environment, profile, instance metadata): a PUT
//! with Object Lock retention headers (`x-amz-object-lock-mode`,
//! `x-amz-object-lock-retain-until-date`) and a conditional create, and the deletion of one
//! version of an object (`?versionId=`), which Object Lock refuses while it is retained.
//! Used by the store on S3 ([`crate::Remote`]) and by trailwatch-watch's anchor bucket.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use object_store::aws::AwsCredentialProvider;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// Object Lock retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// A principal without `s3:BypassGovernanceRetention` can neither delete nor shorten it.
    Governance,
    /// Nobody, root included, can delete it before its date.
    Compliance,
}

impl LockMode {
    /// `GOVERNANCE` or `COMPLIANCE` (any case); the error names what was given.
    pub fn parse(s: &str) -> Result<LockMode, String> {
        match s.to_ascii_uppercase().as_str() {
            "GOVERNANCE" => Ok(LockMode::Governance),
            "COMPLIANCE" => Ok(LockMode::Compliance),
            _ => Err(format!("{s:?}: expected GOVERNANCE or COMPLIANCE")),
        }
    }

    /// The value of `x-amz-object-lock-mode`.
    pub fn header(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

/// Object Lock retention for a new object: the mode, and for how many days from its writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub mode: LockMode,
    /// At least 1.
    pub days: u32,
}

impl Retention {
    /// `x-amz-object-lock-retain-until-date` for an object written `now`.
    pub fn until(&self, now: DateTime<Utc>) -> String {
        (now + chrono::Duration::days(i64::from(self.days)))
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// A signed request's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// Sends a signed `request` and reads the whole answer (S3 and Azure alike).
    pub(crate) async fn of(client: &HttpClient, request: HttpRequest) -> Result<Answer, String> {
        let response = client.execute(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

impl Answer {
    /// `HTTP 403 AccessDenied: Access Denied` from an S3 error document, else `HTTP 403: <the
    /// first 300 characters of the body>`.
    pub fn detail(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let tag = |name: &str| {
            let open = format!("<{name}>");
            let start = text.find(&open)? + open.len();
            let len = text[start..].find(&format!("</{name}>"))?;
            Some(text[start..start + len].to_string())
        };
        match (tag("Code"), tag("Message")) {
            (Some(code), Some(message)) => format!("HTTP {} {code}: {message}", self.status),
            (Some(code), None) => format!("HTTP {} {code}", self.status),
            _ => {
                let short: String = text.chars().take(300).collect();
                format!("HTTP {}: {short}", self.status)
            }
        }
    }

    /// Whether the answer is a 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The signer of one bucket's raw requests.
pub struct SignedS3 {
    http: HttpClient,
    credentials: AwsCredentialProvider,
    region: String,
    /// The bucket's URL: an object is `<base>/<key>`.
    base: String,
}

impl SignedS3 {
    /// The signer for the bucket `builder` (already given its bucket, region, endpoint and
    /// allow_http) names, with the credentials of `store`, the client built from it. Path
    /// style under an endpoint, virtual-hosted on AWS; plain http only with `allow_http`.
    pub fn new(
        builder: &AmazonS3Builder,
        store: &AmazonS3,
        bucket: &str,
        allow_http: bool,
    ) -> Result<SignedS3, String> {
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".into());
        let base = match builder.get_config_value(&AmazonS3ConfigKey::Endpoint) {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        if !(base.starts_with("https://") || allow_http && base.starts_with("http://")) {
            return Err(format!(
                "endpoint {base:?}: only https (http when allowed in the configuration)"
            ));
        }
        let http = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(SignedS3 {
            http,
            credentials: Arc::clone(store.credentials()),
            region,
            base,
        })
    }

    /// PUTs `body` at `key` only if no object is there (`If-None-Match: *`; 412 when one
    /// is), with a SHA-256 checksum, the retention given and `extra` headers.
    pub async fn put_new(
        &self,
        key: &str,
        body: Bytes,
        content_type: &str,
        retention: Option<Retention>,
        extra: &[(&'static str, String)],
    ) -> Result<Answer, String> {
        let sha = Sha256::digest(&body);
        let mut headers: Vec<(&'static str, String)> = vec![
            ("content-type", content_type.to_string()),
            ("if-none-match", "*".to_string()),
            ("x-amz-sdk-checksum-algorithm", "SHA256".to_string()),
            (
                "x-amz-checksum-sha256",
                base64::engine::general_purpose::STANDARD.encode(sha),
            ),
        ];
        if let Some(r) = retention {
            headers.push(("x-amz-object-lock-mode", r.mode.header().to_string()));
            headers.push(("x-amz-object-lock-retain-until-date", r.until(Utc::now())));
        }
        headers.extend(extra.iter().cloned());
        self.send("PUT", key, None, &headers, body).await
    }

    /// DELETEs one version of `key` (on a bucket without versioning, the object).
    pub async fn delete_version(&self, key: &str, version: Option<&str>) -> Result<Answer, String> {
        let query =
            version.map(|v| format!("versionId={}", utf8_percent_encode(v, NON_ALPHANUMERIC)));
        self.send("DELETE", key, query.as_deref(), &[], Bytes::new())
            .await
    }

    /// Sends one signed request; `key` is sent as it is (callers keep keys to characters a
    /// URL path carries unescaped).
    pub async fn send(
        &self,
        method: &str,
        key: &str,
        query: Option<&str>,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<Answer, String> {
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| format!("credentials: {e}"))?;
        let sha = Sha256::digest(&body);
        let uri = match query {
            Some(q) => format!("{}/{key}?{q}", self.base),
            None => format!("{}/{key}", self.base),
        };
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let mut request: HttpRequest = builder.body(body.into()).map_err(|e| e.to_string())?;
        AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut request, Some(&sha));
        Answer::of(&self.http, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: http::HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn an_s3_error_is_said_by_its_code_and_message() {
        let denied = answer(
            403,
            "<?xml version=\"1.0\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>x</RequestId></Error>",
        );
        assert_eq!(denied.detail(), "HTTP 403 AccessDenied: Access Denied");
        assert_eq!(answer(500, "oops").detail(), "HTTP 500: oops");
        assert!(!denied.ok() && answer(204, "").ok());
    }

    #[test]
    fn lock_modes_parse_in_any_case() {
        assert_eq!(LockMode::parse("compliance"), Ok(LockMode::Compliance));
        assert_eq!(
            LockMode::parse("GOVERNANCE").map(LockMode::header),
            Ok("GOVERNANCE")
        );
        assert!(LockMode::parse("legal").unwrap_err().contains("\"legal\""));
        let r = Retention {
            mode: LockMode::Governance,
            days: 2,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(r.until(at), "2026-02-01T10:00:00Z");
    }
}
