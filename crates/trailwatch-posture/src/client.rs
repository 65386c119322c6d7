//! Plain signed calls to the AWS APIs the checks read.
//!
//! Requests are `http::Request`s signed with SigV4 by `object_store`'s [`AwsAuthorizer`] and
//! sent with its HTTP client, as `trailwatch-watch` reads SQS and S3: a client of a dozen
//! read-only calls costs far less than the AWS SDK's dependency tree on a two-core build.
//! Calls are made one at a time on a current-thread runtime; transport errors, throttling and
//! server errors are tried again twice.

use crate::PostureError;
use bytes::Bytes;
use http::{Method, StatusCode};
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use std::time::Duration;

/// Everything but RFC 3986's unreserved characters is percent-encoded (a bucket name in a path).
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);

/// The retry policy of every call of this crate (AWS and Azure alike): `once` is tried again
/// after a transport error, throttling (429) or a server error, at most [`ATTEMPTS`] times,
/// the delay growing fourfold from [`FIRST_RETRY_DELAY`]. A transport error that outlasts the
/// attempts becomes the `CallError` of `operation`.
pub(crate) fn with_retries<T>(
    operation: &str,
    status: impl Fn(&T) -> StatusCode,
    mut once: impl FnMut() -> Result<T, String>,
) -> Result<T, CallError> {
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt = 1;
    loop {
        let result = once();
        let again = match &result {
            Ok(r) => {
                let s = status(r);
                s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS
            }
            Err(_) => true,
        };
        if !again || attempt >= ATTEMPTS {
            return result.map_err(|message| CallError {
                operation: operation.to_string(),
                status: None,
                code: None,
                message,
            });
        }
        std::thread::sleep(delay);
        delay *= 4;
        attempt += 1;
    }
}
/// The longest error text kept from an answer.
const MAX_DETAIL: usize = 300;

/// A call that did not answer with success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// `cloudtrail:GetTrailStatus`, `s3:GetBucketPolicy`.
    pub operation: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The service's error code (`AccessDenied`, `NoSuchBucketPolicy`).
    pub code: Option<String>,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.operation, self.describe())
    }
}

impl std::error::Error for CallError {}

impl CallError {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("HTTP {s}"));
        }
        if let Some(c) = &self.code {
            parts.push(c.clone());
        }
        if !self.message.is_empty() {
            parts.push(self.message.clone());
        }
        parts.join(": ")
    }

    /// Whether the service said this code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: Bytes,
}

/// The AWS APIs of one account, with one set of credentials.
pub struct Aws {
    http: HttpClient,
    credentials: AwsCredentialProvider,
    /// Every call goes here when set (`scheme://host[:port]`, no trailing `/`).
    endpoint: Option<String>,
    runtime: tokio::runtime::Runtime,
}

impl Aws {
    /// A client; `endpoint` overrides every service's URL.
    pub fn new(
        credentials: AwsCredentialProvider,
        endpoint: Option<&str>,
    ) -> Result<Aws, PostureError> {
        let endpoint = match endpoint {
            None => None,
            Some(e) if e.starts_with("https://") || e.starts_with("http://") => {
                Some(e.trim_end_matches('/').to_string())
            }
            Some(e) => return Err(PostureError::Endpoint(e.to_string())),
        };
        let allow_http = endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://"));
        let http = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))
            .map_err(|e| PostureError::Http(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PostureError::Http(e.to_string()))?;
        Ok(Aws {
            http,
            credentials,
            endpoint,
            runtime,
        })
    }

    fn base(&self, service: &str, region: &str) -> String {
        match &self.endpoint {
            Some(e) => e.clone(),
            None => format!("https://{service}.{region}.amazonaws.com"),
        }
    }

    /// A CloudTrail action (JSON 1.1 protocol) in `region`.
    pub fn cloudtrail(&self, region: &str, action: &str, body: &Value) -> Result<Value, CallError> {
        self.json_call(
            "cloudtrail",
            region,
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            action,
            body,
        )
    }

    /// An action of a JSON 1.1 protocol service (`X-Amz-Target: {prefix}.{action}`).
    pub fn json_call(
        &self,
        service: &str,
        region: &str,
        prefix: &str,
        action: &str,
        body: &Value,
    ) -> Result<Value, CallError> {
        let operation = format!("{service}:{action}");
        let url = format!("{}/", self.base(service, region));
        let target = format!("{prefix}.{action}");
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let reply = self.send(
            &operation,
            service,
            region,
            Method::POST,
            &url,
            &headers,
            Bytes::from(body.to_string()),
        )?;
        let reply = success(reply, &operation)?;
        if reply.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&reply.body).map_err(|e| CallError {
            operation,
            status: None,
            code: None,
            message: format!("the answer is not JSON: {e}"),
        })
    }

    /// An action of a query-protocol service (form-encoded `params`); the XML answer.
    pub fn query_call(
        &self,
        service: &str,
        region: &str,
        operation: &str,
        params: &[(&str, &str)],
    ) -> Result<String, CallError> {
        let url = format!("{}/", self.base(service, region));
        let body: Vec<String> = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, STRICT),
                    utf8_percent_encode(v, STRICT)
                )
            })
            .collect();
        let reply = self.send(
            operation,
            service,
            region,
            Method::POST,
            &url,
            &[("content-type", "application/x-www-form-urlencoded")],
            Bytes::from(body.join("&")),
        )?;
        let reply = success(reply, operation)?;
        Ok(String::from_utf8_lossy(&reply.body).into_owned())
    }

    /// `GET /{bucket}?{sub}` on S3 in `region` (path-style); `Ok(None)` when the service
    /// answers the error `absent` (nothing of that kind is configured).
    pub fn s3_get(
        &self,
        bucket: &str,
        region: &str,
        sub: &str,
        operation: &str,
        absent: Option<&str>,
    ) -> Result<Option<Bytes>, CallError> {
        let url = format!(
            "{}/{}?{sub}",
            self.base("s3", region),
            utf8_percent_encode(bucket, STRICT)
        );
        let operation = format!("s3:{operation}");
        let reply = self.send(
            &operation,
            "s3",
            region,
            Method::GET,
            &url,
            &[],
            Bytes::new(),
        )?;
        match success(reply, &operation) {
            Ok(r) => Ok(Some(r.body)),
            Err(e) if absent.is_some_and(|a| e.is(a)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET {path}` of a REST-JSON service (GuardDuty) in `region`.
    pub fn rest_json(
        &self,
        service: &str,
        region: &str,
        path: &str,
        operation: &str,
    ) -> Result<Value, CallError> {
        let url = format!("{}{path}", self.base(service, region));
        let reply = self.send(
            operation,
            service,
            region,
            Method::GET,
            &url,
            &[],
            Bytes::new(),
        )?;
        let reply = success(reply, operation)?;
        serde_json::from_slice(&reply.body).map_err(|e| CallError {
            operation: operation.to_string(),
            status: None,
            code: None,
            message: format!("the answer is not JSON: {e}"),
        })
    }

    /// Temporary credentials of `role` (STS `AssumeRole`).
    pub fn assume_role(
        &self,
        region: &str,
        role: &crate::creds::AssumeRole,
    ) -> Result<object_store::aws::AwsCredential, CallError> {
        let operation = "sts:AssumeRole";
        let mut params = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", role.role_arn.as_str()),
            ("RoleSessionName", role.session_name.as_str()),
        ];
        if let Some(x) = &role.external_id {
            params.push(("ExternalId", x.as_str()));
        }
        let text = self.query_call("sts", region, operation, &params)?;
        let field = |name: &str| {
            element_text(&text, name)
                .filter(|v| !v.is_empty())
                .ok_or(CallError {
                    operation: operation.to_string(),
                    status: None,
                    code: None,
                    message: format!("the answer has no {name}"),
                })
        };
        Ok(object_store::aws::AwsCredential {
            key_id: field("AccessKeyId")?,
            secret_key: field("SecretAccessKey")?,
            token: Some(field("SessionToken")?),
        })
    }

    /// The account's S3 public access block (S3 Control `GetPublicAccessBlock`); `Ok(None)`
    /// when none is set. `account` must be 12 digits (it names the host).
    pub fn account_public_access_block(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Option<Bytes>, CallError> {
        let operation = "s3:GetAccountPublicAccessBlock";
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CallError {
                operation: operation.to_string(),
                status: None,
                code: None,
                message: format!("{account:?} is not an account id"),
            });
        }
        let base = match &self.endpoint {
            Some(e) => e.clone(),
            None => format!("https://{account}.s3-control.{region}.amazonaws.com"),
        };
        let url = format!("{base}/v20180820/configuration/publicAccessBlock");
        let headers = [("x-amz-account-id", account)];
        let reply = self.send(
            operation,
            "s3",
            region,
            Method::GET,
            &url,
            &headers,
            Bytes::new(),
        )?;
        match success(reply, operation) {
            Ok(r) => Ok(Some(r.body)),
            Err(e) if e.is("NoSuchPublicAccessBlockConfiguration") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The account the credentials belong to (STS `GetCallerIdentity`).
    pub fn account(&self, region: &str) -> Result<String, CallError> {
        let operation = "sts:GetCallerIdentity";
        let params = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")];
        let text = self.query_call("sts", region, operation, &params)?;
        element_text(&text, "Account")
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(CallError {
                operation: operation.to_string(),
                status: None,
                code: None,
                message: "the answer names no 12-digit account".into(),
            })
    }

    /// Sends a request, tried again after transport errors, throttling and server errors.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        operation: &str,
        service: &str,
        region: &str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, CallError> {
        with_retries(
            operation,
            |r: &Reply| r.status,
            || {
                self.runtime.block_on(self.send_once(
                    service,
                    region,
                    method.clone(),
                    url,
                    headers,
                    body.clone(),
                ))
            },
        )
    }

    async fn send_once(
        &self,
        service: &str,
        region: &str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Reply, String> {
        let mut builder = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut request: HttpRequest = builder
            .body(body.into())
            .map_err(|e| format!("request: {e}"))?;
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| format!("credentials: {e}"))?;
        AwsAuthorizer::new(&credential, service, region).authorize(&mut request, None);
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Reply { status, body })
    }
}

/// `reply` when it is a success; else the status with the service's error code and message
/// (JSON `__type`/`message` or XML `<Code>`/`<Message>`).
fn success(reply: Reply, operation: &str) -> Result<Reply, CallError> {
    if reply.status.is_success() {
        return Ok(reply);
    }
    let text = String::from_utf8_lossy(&reply.body);
    let (code, message) = match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            let field = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| v.get(*n).and_then(Value::as_str))
                    .map(str::to_string)
            };
            // `__type` may be `com.amazonaws…#AccessDeniedException`.
            let code = field(&["__type", "code", "Code"])
                .map(|c| c.rsplit('#').next().unwrap_or_default().to_string());
            (code, field(&["message", "Message"]))
        }
        Err(_) => (element_text(&text, "Code"), element_text(&text, "Message")),
    };
    let message: String = message
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_DETAIL)
        .collect();
    Err(CallError {
        operation: operation.to_string(),
        status: Some(reply.status.as_u16()),
        code: code.map(|c| c.chars().take(100).collect()),
        message,
    })
}

/// The text of the first `<name …>…</name>` in `xml`, entities decoded; `""` for `<name/>`.
pub(crate) fn element_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}");
    let mut from = 0;
    loop {
        let at = xml[from..].find(&open)? + from + open.len();
        let rest = &xml[at..];
        // `<name>`, `<name attr…>` or `<name/>`; not `<nameSuffix>`.
        if rest.starts_with(['>', ' ', '\t', '\n', '\r', '/']) {
            let tag_end = rest.find('>')?;
            if rest[..tag_end].ends_with('/') {
                return Some(String::new());
            }
            let start = at + tag_end + 1;
            let end = xml[start..].find(&format!("</{name}>"))? + start;
            return Some(unescape_xml(&xml[start..end]));
        }
        from = at;
    }
}

fn unescape_xml(s: &str) -> String {
    quick_xml::escape::unescape(s)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn error_codes_are_read_from_json_and_xml() {
        let e = success(
            reply(
                400,
                r#"{"__type":"com.amazonaws.x#TrailNotFoundException","message":"no"}"#,
            ),
            "cloudtrail:GetTrailStatus",
        )
        .unwrap_err();
        assert!(e.is("TrailNotFoundException"));
        assert_eq!(
            e.to_string(),
            "cloudtrail:GetTrailStatus: HTTP 400: TrailNotFoundException: no"
        );
        let e = success(
            reply(
                403,
                "<Error><Code>AccessDenied</Code><Message>Access &amp; denied</Message></Error>",
            ),
            "s3:GetBucketAcl",
        )
        .unwrap_err();
        assert!(e.is("AccessDenied"));
        assert_eq!(e.message, "Access & denied");
        let xml = r#"<?xml version="1.0"?><LocationConstraintX>no</LocationConstraintX><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#;
        assert_eq!(
            element_text(xml, "LocationConstraint").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            element_text("<LocationConstraint/>", "LocationConstraint").as_deref(),
            Some("")
        );
        let e = success(reply(500, ""), "x").unwrap_err();
        assert_eq!(e.to_string(), "x: HTTP 500");
    }
}
