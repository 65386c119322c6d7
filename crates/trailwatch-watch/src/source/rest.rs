//! Buckets and containers listed and read with plain REST requests, keys as exact strings.
//!
//! An object key is data. Whatever the writer of a log bucket names an object — `..` or `.`
//! segments, empty segments, a leading `/`, control characters — it is listed and read under
//! that exact name. The `object_store` crate refuses such keys (its `Path` is made for
//! file-system-like names), and one of them in a listing page fails the whole listing: one
//! object put by an intruder would switch the source off. So listings are made here, with S3
//! `ListObjectsV2` (`encoding-type=url`, so that keys holding characters XML cannot carry come
//! through) and Azure `List Blobs`; objects whose key `object_store` cannot name are read here
//! too, with ranged `GET`s. Requests are signed by `object_store`'s own authorizers with the
//! credentials the store resolved (as [`super::sqs`] does), and sent with its HTTP client.
//!
//! Not supported here: S3 Express One Zone buckets (their session credentials), server-side
//! encryption with customer keys.

use crate::source::ObjectInfo;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer, AwsCredentialProvider};
use object_store::azure::{
    AzureAuthorizer, AzureConfigKey, AzureCredentialProvider, MicrosoftAzureBuilder,
};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::ops::Range;
use std::time::Duration;
use trailwatch_model::percent::form_decode;

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, `/` kept: a key's path in a URL.
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Tries per request: transport errors, throttling and server errors are tried again.
const ATTEMPTS: u32 = 3;
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
/// Listing pages followed at most (a service answering the same token forever).
const MAX_PAGES: usize = 1_000_000;

/// The Azure Blob API version of the requests (the one `object_store` 0.13 speaks).
const AZURE_VERSION: &str = "2023-11-03";

enum Api {
    S3 {
        credentials: AwsCredentialProvider,
        region: String,
        signed: bool,
        sign_payload: bool,
        request_payer: bool,
    },
    Azure {
        credentials: AzureCredentialProvider,
        account: String,
        signed: bool,
    },
}

/// One bucket or container, spoken to directly.
pub(crate) struct Rest {
    http: HttpClient,
    /// The bucket's or container's URL, without a trailing `/`.
    base: String,
    api: Api,
}

/// An answer, read whole.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

fn truthy(v: Option<String>) -> bool {
    v.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "true" | "on" | "yes" | "y"
        )
    })
}

fn client(allow_http: bool) -> Result<HttpClient, String> {
    ReqwestConnector::default()
        .connect(&ClientOptions::new().with_allow_http(allow_http))
        .map_err(|e| format!("HTTP client: {e}"))
}

impl Rest {
    /// The bucket `b` names, as `AmazonS3Builder::build` finds its endpoint (path style unless
    /// virtual-hosted requests are asked for), with the credentials of the store built from `b`.
    pub(crate) fn s3(
        b: &AmazonS3Builder,
        credentials: AwsCredentialProvider,
        allow_http: bool,
    ) -> Result<Rest, String> {
        use AmazonS3ConfigKey as K;
        let bucket = b.get_config_value(&K::Bucket).ok_or("no bucket name")?;
        let region = b
            .get_config_value(&K::Region)
            .unwrap_or_else(|| "us-east-1".to_string());
        let endpoint = b
            .get_config_value(&K::S3Endpoint)
            .or_else(|| b.get_config_value(&K::Endpoint));
        let base = match (
            endpoint,
            truthy(b.get_config_value(&K::VirtualHostedStyleRequest)),
        ) {
            (Some(e), true) => e.trim_end_matches('/').to_string(),
            (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
            (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
            (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        };
        Ok(Rest {
            http: client(allow_http)?,
            base,
            api: Api::S3 {
                credentials,
                signed: !truthy(b.get_config_value(&K::SkipSignature)),
                sign_payload: !truthy(b.get_config_value(&K::UnsignedPayload)),
                request_payer: truthy(b.get_config_value(&K::RequestPayer)),
                region,
            },
        })
    }

    /// The container `b` names, as `MicrosoftAzureBuilder::build` finds its endpoint, with the
    /// credentials of the store built from `b`.
    pub(crate) fn azure(
        b: &MicrosoftAzureBuilder,
        credentials: AzureCredentialProvider,
        allow_http: bool,
    ) -> Result<Rest, String> {
        use AzureConfigKey as K;
        let container = b
            .get_config_value(&K::ContainerName)
            .ok_or("no container name")?;
        let emulator = truthy(b.get_config_value(&K::UseEmulator));
        let account = match b.get_config_value(&K::AccountName) {
            Some(a) => a,
            None if emulator => "devstoreaccount1".to_string(),
            None => return Err("no storage account name".into()),
        };
        let service = if emulator {
            let url = std::env::var("AZURITE_BLOB_STORAGE_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:10000".to_string());
            format!("{}/{account}", url.trim_end_matches('/'))
        } else if let Some(e) = b.get_config_value(&K::Endpoint) {
            e.trim_end_matches('/').to_string()
        } else if truthy(b.get_config_value(&K::UseFabricEndpoint)) {
            format!("https://{account}.blob.fabric.microsoft.com")
        } else {
            format!("https://{account}.blob.core.windows.net")
        };
        Ok(Rest {
            http: client(allow_http || emulator)?,
            base: format!("{service}/{}", utf8_percent_encode(&container, STRICT)),
            api: Api::Azure {
                credentials,
                signed: !truthy(b.get_config_value(&K::SkipSignature)),
                account,
            },
        })
    }

    /// Every object below `prefix` (a whole key prefix, `/` included when one is meant), each
    /// under its exact key.
    pub(crate) async fn list(&self, prefix: Option<&str>) -> Result<Vec<ObjectInfo>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, &str)> = match self.api {
                Api::S3 { .. } => vec![("list-type", "2"), ("encoding-type", "url")],
                Api::Azure { .. } => vec![("restype", "container"), ("comp", "list")],
            };
            if let Some(p) = prefix {
                query.push(("prefix", p));
            }
            if let Some(t) = &token {
                let name = match self.api {
                    Api::S3 { .. } => "continuation-token",
                    Api::Azure { .. } => "marker",
                };
                query.push((name, t));
            }
            let url = format!("{}?{}", self.base, query_string(&query));
            let reply = self.send(Method::GET, &url, None).await?;
            let body = success(reply, "listing")?.body;
            let (objects, next) = match self.api {
                Api::S3 { .. } => s3_page(&body)?,
                Api::Azure { .. } => azure_page(&body)?,
            };
            out.extend(objects);
            match next {
                Some(n) if token.as_ref() == Some(&n) => {
                    return Err("listing: the service answered the same page token twice".into())
                }
                Some(n) => token = Some(n),
                None => return Ok(out),
            }
        }
        Err(format!("listing: more than {MAX_PAGES} pages"))
    }

    /// The bytes of `range` of the object named exactly `key`.
    pub(crate) async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        let want = usize::try_from(range.end - range.start).map_err(|e| e.to_string())?;
        let reply = self
            .send(Method::GET, &self.object_url(key), Some(&range))
            .await?;
        let reply = success(reply, "GET")?;
        let body = if reply.status == StatusCode::PARTIAL_CONTENT {
            reply.body
        } else {
            // The whole object: the service ignored the range.
            let start = usize::try_from(range.start).map_err(|e| e.to_string())?;
            let end = start.saturating_add(want).min(reply.body.len());
            reply.body.slice(start.min(end)..end)
        };
        if body.len() != want {
            return Err(format!(
                "{} bytes at {} where {want} were listed",
                body.len(),
                range.start
            ));
        }
        Ok(body)
    }

    /// The object named exactly `key` as it is now; `None` when there is none.
    pub(crate) async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, String> {
        let reply = self.send(Method::HEAD, &self.object_url(key), None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let reply = success(reply, "HEAD")?;
        let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok());
        let size = header("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("HEAD: no Content-Length")?;
        let modified_ms = header("last-modified")
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map_or(0, |t| t.timestamp_millis());
        Ok(Some(object_info(
            key.to_string(),
            size,
            header("etag").map(str::to_string),
            modified_ms,
        )))
    }

    fn object_url(&self, key: &str) -> String {
        format!("{}/{}", self.base, key_path(key))
    }

    /// Sends a request, tried again after transport errors, throttling and server errors.
    async fn send(
        &self,
        method: Method,
        url: &str,
        range: Option<&Range<u64>>,
    ) -> Result<Reply, String> {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 1;
        loop {
            let result = self.send_once(method.clone(), url, range).await;
            let again = match &result {
                Ok(r) => r.status.is_server_error() || r.status == StatusCode::TOO_MANY_REQUESTS,
                Err(_) => true,
            };
            if !again || attempt >= ATTEMPTS {
                return result;
            }
            tokio::time::sleep(delay).await;
            delay *= 4;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        range: Option<&Range<u64>>,
    ) -> Result<Reply, String> {
        let mut builder = http::Request::builder().method(method).uri(url);
        if let Some(r) = range {
            builder = builder.header("range", format!("bytes={}-{}", r.start, r.end - 1));
        }
        let mut request: HttpRequest = builder
            .body(Bytes::new().into())
            .map_err(|e| format!("request: {e}"))?;
        self.sign(&mut request).await?;
        // The error of the HTTP client names no URL (it could carry a SAS token).
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn sign(&self, request: &mut HttpRequest) -> Result<(), String> {
        match &self.api {
            Api::S3 {
                credentials,
                region,
                signed,
                sign_payload,
                request_payer,
            } => {
                if *signed {
                    let c = credentials
                        .get_credential()
                        .await
                        .map_err(|e| format!("credentials: {e}"))?;
                    AwsAuthorizer::new(&c, "s3", region)
                        .with_sign_payload(*sign_payload)
                        .with_request_payer(*request_payer)
                        .authorize(request, None);
                }
            }
            Api::Azure {
                credentials,
                account,
                signed,
            } => {
                if *signed {
                    let c = credentials
                        .get_credential()
                        .await
                        .map_err(|e| format!("credentials: {e}"))?;
                    AzureAuthorizer::new(&c, account).authorize(request);
                } else {
                    let h = request.headers_mut();
                    h.insert(
                        "x-ms-version",
                        http::HeaderValue::from_static(AZURE_VERSION),
                    );
                }
            }
        }
        Ok(())
    }
}

/// `reply` when it is a success; else the status and the service's error code and message.
fn success(reply: Reply, what: &str) -> Result<Reply, String> {
    if reply.status.is_success() {
        return Ok(reply);
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "PascalCase")]
    struct ServiceError {
        code: Option<String>,
        message: Option<String>,
    }
    let e: ServiceError = std::str::from_utf8(&reply.body)
        .ok()
        .and_then(|s| quick_xml::de::from_str(s).ok())
        .unwrap_or_default();
    let detail: String = [e.code, e.message]
        .into_iter()
        .flatten()
        .map(|s| s.lines().next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(": ");
    let detail: String = detail.chars().take(300).collect();
    Err(if detail.is_empty() {
        format!("{what}: HTTP {}", reply.status)
    } else {
        format!("{what}: HTTP {}: {detail}", reply.status)
    })
}

/// `key` as the path of a URL. Dot segments would be resolved away by any URL parser (and
/// `%2E%2E` counts as one), so a key holding one has its `/` encoded too; both services
/// decode `%2F` to `/` in a key.
fn key_path(key: &str) -> String {
    let dot = key.split('/').any(|s| s == "." || s == "..");
    utf8_percent_encode(key, if dot { STRICT } else { PATH }).to_string()
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, STRICT)))
        .collect::<Vec<_>>()
        .join("&")
}

fn object_info(key: String, size: u64, e_tag: Option<String>, modified_ms: i64) -> ObjectInfo {
    ObjectInfo {
        key,
        size,
        version: e_tag.unwrap_or_else(|| format!("{size}-{modified_ms}")),
        identity: None,
        modified_ms,
    }
}

/// One page of a `ListObjectsV2` answer: its objects and the next page's token.
fn s3_page(body: &[u8]) -> Result<(Vec<ObjectInfo>, Option<String>), String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        #[serde(default)]
        contents: Vec<Object>,
        #[serde(default)]
        is_truncated: bool,
        next_continuation_token: Option<String>,
        encoding_type: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Object {
        key: String,
        size: u64,
        last_modified: String,
        #[serde(rename = "ETag")]
        e_tag: Option<String>,
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("listing: {e}"))?;
    let page: Page = quick_xml::de::from_str(text).map_err(|e| format!("listing: {e}"))?;
    let encoded = page.encoding_type.as_deref() == Some("url");
    let objects = page
        .contents
        .into_iter()
        .map(|o| {
            let modified_ms = chrono::DateTime::parse_from_rfc3339(&o.last_modified)
                .map_or(0, |t| t.timestamp_millis());
            let key = if encoded { form_decode(&o.key) } else { o.key };
            object_info(key, o.size, o.e_tag, modified_ms)
        })
        .collect();
    let next = page.next_continuation_token.filter(|t| !t.is_empty());
    if page.is_truncated && next.is_none() {
        return Err("listing: truncated without a continuation token".into());
    }
    Ok((objects, next))
}

/// One page of a `List Blobs` answer: its blobs (not the directories of a hierarchical
/// namespace) and the next page's marker.
fn azure_page(body: &[u8]) -> Result<(Vec<ObjectInfo>, Option<String>), String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        #[serde(default)]
        blobs: Blobs,
        next_marker: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Blobs {
        #[serde(rename = "Blob", default)]
        blob: Vec<Blob>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Blob {
        name: Name,
        properties: Properties,
    }
    /// `<Name Encoded="true">` holds a percent-encoded name (one XML cannot carry).
    #[derive(Deserialize)]
    struct Name {
        #[serde(rename = "@Encoded", default)]
        encoded: Option<String>,
        #[serde(rename = "$text", default)]
        text: String,
    }
    #[derive(Deserialize)]
    struct Properties {
        #[serde(rename = "Last-Modified")]
        last_modified: String,
        #[serde(rename = "Content-Length")]
        content_length: u64,
        #[serde(rename = "Etag")]
        e_tag: Option<String>,
        #[serde(rename = "ResourceType")]
        resource_type: Option<String>,
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("listing: {e}"))?;
    let page: Page = quick_xml::de::from_str(text).map_err(|e| format!("listing: {e}"))?;
    let objects = page
        .blobs
        .blob
        .into_iter()
        .filter(|b| b.properties.resource_type.as_deref() != Some("directory"))
        .map(|b| {
            let p = b.properties;
            let modified_ms = chrono::DateTime::parse_from_rfc2822(&p.last_modified)
                .map_or(0, |t| t.timestamp_millis());
            let key = match b.name.encoded.as_deref() {
                Some(e) if e.eq_ignore_ascii_case("true") => percent_decode_str(&b.name.text)
                    .decode_utf8_lossy()
                    .into_owned(),
                _ => b.name.text,
            };
            object_info(key, p.content_length, p.e_tag, modified_ms)
        })
        .collect();
    Ok((objects, page.next_marker.filter(|m| !m.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_dot_segments_keep_their_dots_in_the_url() {
        assert_eq!(key_path("AWSLogs/1/a b.json"), "AWSLogs/1/a%20b.json");
        assert_eq!(key_path("a/../x.json"), "a%2F..%2Fx.json");
        assert_eq!(key_path("a/./x"), "a%2F.%2Fx");
        assert_eq!(key_path("a..b/x"), "a..b/x");
        assert_eq!(key_path("a\u{1b}b/?#%+\\"), "a%1Bb/%3F%23%25%2B%5C");
        assert_eq!(key_path("/lead//x"), "/lead//x");
        assert_eq!(
            query_string(&[("prefix", "a b/"), ("t", "x+/=")]),
            "prefix=a%20b%2F&t=x%2B%2F%3D"
        );
    }

    #[test]
    fn s3_pages_give_exact_keys_and_the_next_token() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>
<Contents><Key>AWSLogs/1/CloudTrail/us-east-1/2024/05/01/../../x.json.gz</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>
<Contents><Key>a%1Bb+c%2Bd.json</Key><LastModified>2024-05-01T10:00:01.000Z</LastModified><ETag>"def"</ETag><Size>3</Size></Contents>
<NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>"#;
        let (objects, next) = s3_page(xml).expect("page");
        assert_eq!(next.as_deref(), Some("tok+/="));
        assert_eq!(
            objects[0].key,
            "AWSLogs/1/CloudTrail/us-east-1/2024/05/01/../../x.json.gz"
        );
        assert_eq!(objects[0].version, "\"abc\"");
        assert_eq!(objects[0].size, 12);
        assert_eq!(objects[0].modified_ms, 1_714_557_600_000);
        assert_eq!(objects[1].key, "a\u{1b}b c+d.json");
        let last = br#"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"#;
        assert_eq!(s3_page(last).expect("empty").0.len(), 0);
        let broken = br#"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"#;
        assert!(s3_page(broken).is_err());
    }

    #[test]
    fn azure_pages_decode_encoded_names_and_leave_directories() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="c"><Blobs>
<Blob><Name>a/b/../../x.json</Name><Properties><Last-Modified>Wed, 01 May 2024 10:00:00 GMT</Last-Modified><Etag>0x8D1</Etag><Content-Length>5</Content-Length></Properties></Blob>
<Blob><Name Encoded="true">a%1Bb.json</Name><Properties><Last-Modified>Wed, 01 May 2024 10:00:00 GMT</Last-Modified><Content-Length>7</Content-Length></Properties></Blob>
<Blob><Name>dir</Name><Properties><Last-Modified>Wed, 01 May 2024 10:00:00 GMT</Last-Modified><Content-Length>0</Content-Length><ResourceType>directory</ResourceType></Properties></Blob>
</Blobs><NextMarker>m1</NextMarker></EnumerationResults>"#;
        let (objects, next) = azure_page(xml).expect("page");
        assert_eq!(next.as_deref(), Some("m1"));
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["a/b/../../x.json", "a\u{1b}b.json"]);
        assert_eq!(objects[0].version, "0x8D1");
        assert_eq!(objects[1].version, format!("7-{}", 1_714_557_600_000_i64));
        let last = br#"<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>"#;
        assert_eq!(azure_page(last).expect("empty"), (Vec::new(), None));
    }

    #[test]
    fn service_errors_name_status_and_code() {
        let reply = Reply {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
            body: Bytes::from_static(
                b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
            ),
        };
        let e = success(reply, "listing").err().expect("an error");
        assert_eq!(
            e,
            "listing: HTTP 404 Not Found: NoSuchBucket: The specified bucket does not exist"
        );
    }
}
