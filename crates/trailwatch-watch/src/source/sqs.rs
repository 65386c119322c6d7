//! S3 event notifications through an SQS queue: which objects landed, without listing the
//! bucket.
//!
//! The queue is read with SQS's JSON protocol, signed with SigV4 by `object_store`'s own
//! [`AwsAuthorizer`] and sent with its HTTP client, using the credentials the bucket's store
//! resolved (environment, profile, instance metadata, web identity). A hand-written client of
//! two calls costs less than the AWS SDK's dependency tree on a two-core build, and shares one
//! credential chain with the bucket.
//!
//! Three message shapes are understood, bare or wrapped in an SNS `Notification` envelope:
//! S3 event notifications (`Records[].s3.object.key`, URL-encoded), CloudTrail's own SNS
//! notification (`s3Bucket`, `s3ObjectKey[]`) and EventBridge `Object Created` events. S3's
//! `s3:TestEvent` and messages about other buckets name no object of ours.

use bytes::Bytes;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::ClientOptions;
use serde_json::{json, Value};
use trailwatch_model::percent::form_decode;

/// Messages asked for per receive call (SQS allows at most 10).
const BATCH: usize = 10;

/// One received message: the object keys it names in our bucket, and its receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub keys: Vec<String>,
    pub receipt: String,
}

/// An SQS queue carrying notifications for one bucket.
pub struct Queue {
    http: HttpClient,
    credentials: AwsCredentialProvider,
    region: String,
    /// `scheme://host[:port]/`: JSON-protocol calls go to the service root.
    endpoint: String,
    url: String,
    /// Seconds a received message stays invisible to other readers.
    visibility_timeout: u32,
}

impl Queue {
    /// A queue at `url`; `region` is used for signing (default: read from the URL's host,
    /// `sqs.<region>.amazonaws.com`).
    pub fn new(
        url: &str,
        region: Option<&str>,
        allow_http: bool,
        credentials: AwsCredentialProvider,
    ) -> Result<Queue, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("queue URL {url:?} has no scheme"))?;
        if scheme != "https" && !(scheme == "http" && allow_http) {
            return Err(format!(
                "queue URL {url:?}: only https (http with allow_http = true)"
            ));
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err(format!("queue URL {url:?} has no host"));
        }
        let region = match region {
            Some(r) => r.to_string(),
            None => region_of_host(host)
                .ok_or_else(|| format!("queue URL {url:?}: set the source's region"))?,
        };
        let options = ClientOptions::new().with_allow_http(allow_http);
        let http = ReqwestConnector::default()
            .connect(&options)
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Queue {
            http,
            credentials,
            region,
            endpoint: format!("{scheme}://{host}/"),
            url: url.to_string(),
            visibility_timeout: 300,
        })
    }

    /// Receives up to `max` messages (in calls of ten, until the queue answers none) and
    /// reads the keys in `bucket` each one names.
    pub async fn receive(&self, bucket: &str, max: usize) -> Result<Vec<Notice>, String> {
        let mut out = Vec::new();
        while out.len() < max {
            let answer = self
                .call(
                    "ReceiveMessage",
                    json!({
                        "QueueUrl": self.url,
                        "MaxNumberOfMessages": BATCH.min(max - out.len()),
                        "VisibilityTimeout": self.visibility_timeout,
                        "WaitTimeSeconds": 0,
                    }),
                )
                .await?;
            let messages = answer
                .get("Messages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let Some(receipt) = m.get("ReceiptHandle").and_then(Value::as_str) else {
                    continue;
                };
                let body = m.get("Body").and_then(Value::as_str).unwrap_or_default();
                out.push(Notice {
                    keys: keys_in_message(body, bucket),
                    receipt: receipt.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Deletes messages whose objects are stored and checkpointed (ten per call).
    pub async fn delete(&self, receipts: &[String]) -> Result<(), String> {
        for chunk in receipts.chunks(BATCH) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| json!({"Id": i.to_string(), "ReceiptHandle": r}))
                .collect();
            let answer = self
                .call(
                    "DeleteMessageBatch",
                    json!({"QueueUrl": self.url, "Entries": entries}),
                )
                .await?;
            if let Some(failed) = answer.get("Failed").and_then(Value::as_array) {
                if !failed.is_empty() {
                    return Err(format!("{} messages not deleted: {failed:?}", failed.len()));
                }
            }
        }
        Ok(())
    }

    async fn call(&self, action: &str, body: Value) -> Result<Value, String> {
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| format!("credentials: {e}"))?;
        let mut request: HttpRequest = http::Request::builder()
            .method("POST")
            .uri(&self.endpoint)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .body(Bytes::from(body.to_string()).into())
            .map_err(|e| format!("{action}: {e}"))?;
        AwsAuthorizer::new(&credential, "sqs", &self.region).authorize(&mut request, None);
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| format!("{action}: {e}"))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(format!(
                "{action}: HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{action}: answer is not JSON: {e}"))
    }
}

/// `sqs.eu-west-1.amazonaws.com` → `eu-west-1`.
fn region_of_host(host: &str) -> Option<String> {
    let rest = host.strip_prefix("sqs.")?;
    let region = rest.split('.').next()?;
    (!region.is_empty() && rest.contains(".amazonaws.com")).then(|| region.to_string())
}

/// The object keys in `bucket` a notification names; none for a test event, another bucket's
/// object, or a body that is not a notification.
pub fn keys_in_message(body: &str, bucket: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect_keys(&v, bucket, &mut out, 0);
    out.sort();
    out.dedup();
    out
}

fn collect_keys(v: &Value, bucket: &str, out: &mut Vec<String>, depth: u8) {
    let str_at = |v: &Value, path: &[&str]| -> Option<String> {
        path.iter()
            .try_fold(v, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    // SNS envelope: the notification is a JSON string in `Message`.
    if let Some(inner) = v.get("Message").and_then(Value::as_str) {
        if depth < 2 {
            if let Ok(inner) = serde_json::from_str::<Value>(inner) {
                collect_keys(&inner, bucket, out, depth + 1);
            }
        }
        return;
    }
    // S3 event notification.
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        for r in records {
            let created = str_at(r, &["eventName"]).is_some_and(|n| n.starts_with("ObjectCreated"));
            if created && str_at(r, &["s3", "bucket", "name"]).as_deref() == Some(bucket) {
                if let Some(k) = str_at(r, &["s3", "object", "key"]) {
                    out.push(form_decode(&k));
                }
            }
        }
        return;
    }
    // CloudTrail's SNS notification of a delivered log file.
    if let Some(keys) = v.get("s3ObjectKey").and_then(Value::as_array) {
        if str_at(v, &["s3Bucket"]).as_deref() == Some(bucket) {
            out.extend(keys.iter().filter_map(Value::as_str).map(str::to_string));
        }
        return;
    }
    // EventBridge `Object Created` (keys are not URL-encoded there).
    if str_at(v, &["detail-type"]).as_deref() == Some("Object Created")
        && str_at(v, &["detail", "bucket", "name"]).as_deref() == Some(bucket)
    {
        if let Some(k) = str_at(v, &["detail", "object", "key"]) {
            out.push(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notification_shape_names_its_keys() {
        let s3 = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/CloudTrail/us-east-1/2026/11/23/a+b%3Dc.json.gz","size":5}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"trail"},"object":{"key":"gone"}}},
            {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"other"},"object":{"key":"x"}}}]}"#;
        assert_eq!(
            keys_in_message(s3, "trail"),
            ["AWSLogs/1/CloudTrail/us-east-1/2026/11/23/a b=c.json.gz"]
        );
        let sns = json!({"Type": "Notification", "Message": s3}).to_string();
        assert_eq!(keys_in_message(&sns, "trail").len(), 1);
        let ct = r#"{"s3Bucket":"trail","s3ObjectKey":["k1","k2"]}"#;
        assert_eq!(keys_in_message(ct, "trail"), ["k1", "k2"]);
        assert!(keys_in_message(ct, "other").is_empty());
        let eb = r#"{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"trail"},"object":{"key":"a+b"}}}"#;
        assert_eq!(keys_in_message(eb, "trail"), ["a+b"]);
        for none in [r#"{"Event":"s3:TestEvent"}"#, "not json", "[]", "{}"] {
            assert!(keys_in_message(none, "trail").is_empty(), "{none}");
        }
    }

    #[test]
    fn the_region_is_read_from_an_aws_host() {
        assert_eq!(
            region_of_host("sqs.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_host("127.0.0.1:5000"), None);
    }
}
