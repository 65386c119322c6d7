//! Plain HTTPS calls to Azure Resource Manager with a bearer token, and the token's request.
//!
//! Sent with `object_store`'s HTTP client (reqwest), as the AWS calls are: a dozen read-only
//! GETs cost far less than an Azure SDK. List answers are followed through `nextLink` only
//! while it stays on the management endpoint (the token is never sent elsewhere). Transport
//! errors, throttling and server errors are tried again twice.

use crate::client::CallError;
use crate::PostureError;
use bytes::Bytes;
use http::{Method, StatusCode};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;
use serde_json::Value;

/// The longest error text kept from an answer.
const MAX_DETAIL: usize = 300;
/// Pages of one list followed at most.
const MAX_PAGES: usize = 50;

/// The public cloud's management endpoint.
pub const MANAGEMENT: &str = "https://management.azure.com";

/// HTTP to Azure, on a current-thread runtime.
pub struct Http {
    client: HttpClient,
    runtime: tokio::runtime::Runtime,
}

impl Http {
    /// A client; `allow_http` for loopback test servers.
    pub fn new(allow_http: bool) -> Result<Http, PostureError> {
        let client = ReqwestConnector::default()
            .connect(&ClientOptions::new().with_allow_http(allow_http))
            .map_err(|e| PostureError::Http(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PostureError::Http(e.to_string()))?;
        Ok(Http { client, runtime })
    }

    /// Sends a request, tried again after transport errors, throttling and server errors.
    pub fn send(
        &self,
        operation: &str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), CallError> {
        crate::client::with_retries(
            operation,
            |r: &(StatusCode, Bytes)| r.0,
            || {
                self.runtime
                    .block_on(self.send_once(method.clone(), url, headers, body.clone()))
            },
        )
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), String> {
        let mut builder = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request: HttpRequest = builder
            .body(body.into())
            .map_err(|e| format!("request: {e}"))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}

/// Azure Resource Manager with one token.
pub struct Arm {
    http: Http,
    /// `scheme://host[:port]`, no trailing `/`.
    endpoint: String,
    authorization: String,
}

impl Arm {
    pub fn new(http: Http, endpoint: &str, token: &str) -> Arm {
        Arm {
            http,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            authorization: format!("Bearer {token}"),
        }
    }

    /// `GET {path}?api-version={api}`; `Ok(None)` on 404 (nothing of that kind exists).
    pub fn get(&self, path: &str, api: &str) -> Result<Option<Value>, CallError> {
        let operation = format!("GET {path}");
        let url = format!("{}{path}?api-version={api}", self.endpoint);
        self.get_url(&operation, &url, true)
    }

    /// A GET; a 404 is `Ok(None)` when `absent_ok`, else an error.
    fn get_url(
        &self,
        operation: &str,
        url: &str,
        absent_ok: bool,
    ) -> Result<Option<Value>, CallError> {
        let headers = [
            ("authorization", self.authorization.as_str()),
            ("accept", "application/json"),
        ];
        let (status, body) = self
            .http
            .send(operation, Method::GET, url, &headers, Bytes::new())?;
        if status == StatusCode::NOT_FOUND && absent_ok {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(arm_error(operation, status, &body));
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| CallError {
                operation: operation.to_string(),
                status: None,
                code: None,
                message: format!("the answer is not JSON: {e}"),
            })
    }

    /// Every item of a list (`value`, pages through `nextLink`). An empty list is `200` with
    /// no items; a 404 (`SubscriptionNotFound`, a provider not registered) is an error, never
    /// "nothing configured".
    pub fn list(&self, path: &str, api: &str) -> Result<Vec<Value>, CallError> {
        let operation = format!("GET {path}");
        let mut url = format!("{}{path}?api-version={api}", self.endpoint);
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = self.get_url(&operation, &url, false)? else {
                return Ok(items);
            };
            if let Some(v) = page.get("value").and_then(Value::as_array) {
                items.extend(v.iter().cloned());
            }
            match page.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    if !next.starts_with(&format!("{}/", self.endpoint)) {
                        return Err(CallError {
                            operation,
                            status: None,
                            code: None,
                            message: "nextLink leaves the management endpoint".into(),
                        });
                    }
                    url = next.to_string();
                }
                _ => return Ok(items),
            }
        }
        Ok(items)
    }
}

/// An ARM error answer: `{"error": {"code", "message"}}` (or the code and message at the top).
pub(crate) fn arm_error(operation: &str, status: StatusCode, body: &[u8]) -> CallError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let inner = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| inner.get(*n).and_then(Value::as_str))
            .map(|s| {
                s.lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_DETAIL)
            })
            .map(String::from_iter)
    };
    CallError {
        operation: operation.to_string(),
        status: Some(status.as_u16()),
        code: field(&["code", "error"]),
        message: field(&["message", "error_description"]).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_errors_name_the_call_code_and_message() {
        let e = arm_error(
            "GET /subscriptions/x/providers/Microsoft.Security/pricings",
            StatusCode::FORBIDDEN,
            br#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization\nmore"}}"#,
        );
        assert_eq!(
            e.to_string(),
            "GET /subscriptions/x/providers/Microsoft.Security/pricings: HTTP 403: AuthorizationFailed: The client 'x' does not have authorization"
        );
        let e = arm_error(
            "token",
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"}"#,
        );
        assert!(e.is("invalid_client"));
        assert_eq!(e.message, "AADSTS7000215: Invalid client secret");
    }
}
