//! Where a store is: a local directory, `s3://bucket/prefix` or `az://container/prefix`.

use std::fmt;

/// Which object storage a remote store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    S3,
    Azure,
}

/// A store on object storage: the cloud, the bucket (S3) or container (Azure), and the prefix
/// every object of the store is under (without surrounding slashes; may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub cloud: Cloud,
    pub bucket: String,
    pub prefix: String,
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.cloud {
            Cloud::S3 => "s3",
            Cloud::Azure => "az",
        };
        match self.prefix.as_str() {
            "" => write!(f, "{scheme}://{}", self.bucket),
            p => write!(f, "{scheme}://{}/{p}", self.bucket),
        }
    }
}

impl StoreUrl {
    /// `s3://…` or `az://…` as a store location; `None` for anything else (a local path).
    pub fn parse(text: &str) -> Option<Result<StoreUrl, String>> {
        if text.starts_with("s3://") {
            Some(parse_s3_url(text).map(|(bucket, prefix)| StoreUrl {
                cloud: Cloud::S3,
                bucket,
                prefix,
            }))
        } else if text.starts_with("az://") {
            Some(parse_az_url(text).map(|(bucket, prefix)| StoreUrl {
                cloud: Cloud::Azure,
                bucket,
                prefix,
            }))
        } else {
            None
        }
    }

    /// The key of `rel` (a `/`-separated path inside the store) in the bucket.
    pub fn key(&self, rel: &str) -> String {
        match self.prefix.as_str() {
            "" => rel.to_string(),
            p => format!("{p}/{rel}"),
        }
    }

    /// A file name for this location: the URL with everything but letters, digits, `-`, `_`
    /// and `.` replaced by `_` (the default working copy's folder name).
    pub fn sanitised(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// The characters a prefix may hold: those a URL path carries unescaped, so that keys are
/// sent as they are.
fn prefix_ok(url: &str, prefix: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()/".contains(c);
    if !prefix.chars().all(ok) || prefix.split('/').any(|s| s == "." || s == "..") {
        return Err(format!(
            "{url:?}: the prefix may hold only letters, digits, / and -_.!~*'()"
        ));
    }
    Ok(prefix.trim_matches('/').to_string())
}

/// `s3://bucket/prefix` → (bucket, prefix without surrounding slashes).
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url:?}: expected s3://bucket/prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if bucket.is_empty() || !bucket.chars().all(bucket_ok) {
        return Err(format!("{url:?}: not a bucket name"));
    }
    Ok((bucket.to_string(), prefix_ok(url, prefix)?))
}

/// `az://container/prefix` → (container, prefix without surrounding slashes). A container
/// name is 3 to 63 lower-case letters, digits and single hyphens, starting with a letter or
/// digit.
pub fn parse_az_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("az://")
        .ok_or_else(|| format!("{url:?}: expected az://container/prefix"))?;
    let (container, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let char_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let name_ok = (3..=63).contains(&container.len())
        && container.chars().all(char_ok)
        && !container.starts_with('-')
        && !container.ends_with('-')
        && !container.contains("--");
    if !name_ok {
        return Err(format!("{url:?}: not a container name"));
    }
    Ok((container.to_string(), prefix_ok(url, prefix)?))
}

/// A path inside the store that is safe to create below a folder: relative, no `.`/`..`
/// (object keys and ledger lines come from the bucket, which others may write).
pub(crate) fn safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_store_are_safe() {
        assert!(safe_relative("provider=aws/dt=2026-12-01/part-1.parquet"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\..\\b",
        ] {
            assert!(!safe_relative(bad), "{bad:?}");
        }
    }

    #[test]
    fn urls_parse_and_paths_do_not() {
        let s3 = StoreUrl::parse("s3://audit-logs/trail/store/")
            .unwrap()
            .unwrap();
        assert_eq!((s3.cloud, s3.bucket.as_str()), (Cloud::S3, "audit-logs"));
        assert_eq!(s3.prefix, "trail/store");
        assert_eq!(s3.key("_lease"), "trail/store/_lease");
        assert_eq!(s3.to_string(), "s3://audit-logs/trail/store");
        assert_eq!(s3.sanitised(), "s3___audit-logs_trail_store");
        let az = StoreUrl::parse("az://logs").unwrap().unwrap();
        assert_eq!((az.cloud, az.prefix.as_str()), (Cloud::Azure, ""));
        assert_eq!(az.key("_lease"), "_lease");
        assert!(StoreUrl::parse("./trailwatch-data").is_none());
        assert!(StoreUrl::parse("/var/s3://x").is_none());
        for bad in [
            "s3://",
            "s3://Bad_Bucket/x",
            "s3://b/a/../c",
            "s3://b/a b",
            "az://ab",
            "az://a--b",
            "az://-ab/x",
            "az://logs/x?y",
        ] {
            let e = StoreUrl::parse(bad).unwrap().unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }
}
