//! AWS credentials and region, from where the AWS CLI finds them.
//!
//! In order: the profile asked for (`--profile`, from the shared `credentials` file, then the
//! `config` file); the environment's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN`; the profile `AWS_PROFILE` names, or `default`, when it holds keys;
//! then `object_store`'s chain, which asks the web-identity token file, the container's
//! credentials endpoint and the instance metadata service. Files are
//! `$AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`) and `$AWS_CONFIG_FILE`
//! (default `~/.aws/config`, sections `[profile NAME]` and `[default]`). The region is
//! `AWS_REGION`, `AWS_DEFAULT_REGION`, or the profile's `region`.
//!
//! A profile with `role_arn` assumes that role (STS `AssumeRole`, with its `external_id` and
//! `role_session_name`) with the credentials of its `source_profile` (itself possibly a role,
//! up to five links) or, with `credential_source = Environment`, of the environment.
//! Not read: `credential_process` and SSO profiles, refused with that reason.

use crate::PostureError;
use object_store::aws::{AmazonS3Builder, AwsCredential, AwsCredentialProvider};
use object_store::StaticCredentialProvider;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Credentials, and the region they name if any.
pub struct Resolved {
    pub credentials: AwsCredentialProvider,
    pub region: Option<String>,
    /// Where they came from (`profile audit`, `environment`, `instance or container role`).
    pub source: String,
    /// Roles to assume, in order, starting from `credentials` (profiles with `role_arn`).
    pub assume: Vec<AssumeRole>,
}

/// A role a profile assumes (`role_arn`, `external_id`, `role_session_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

/// The settings of one profile, the credentials file's over the config file's.
pub type Profile = HashMap<String, String>;

/// Finds credentials; `env` reads an environment variable.
pub fn resolve(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, PostureError> {
    let env_region = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION"));
    if let Some(name) = profile {
        let p = load_profile(name, env)?.ok_or_else(|| {
            PostureError::Credentials(format!(
                "no profile {name:?} in the shared config or credentials file"
            ))
        })?;
        return from_profile(name, &p, env_region, env, 0);
    }
    if let (Some(key_id), Some(secret_key)) =
        (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
    {
        let credential = AwsCredential {
            key_id,
            secret_key,
            token: env("AWS_SESSION_TOKEN"),
        };
        return Ok(Resolved {
            credentials: Arc::new(StaticCredentialProvider::new(credential)),
            region: env_region,
            source: "environment".into(),
            assume: Vec::new(),
        });
    }
    let name = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    if let Some(p) = load_profile(&name, env)? {
        if p.contains_key("aws_access_key_id") {
            return from_profile(&name, &p, env_region, env, 0);
        }
    }
    // Web identity, container credentials, instance metadata: object_store's own chain.
    let store = AmazonS3Builder::from_env()
        .with_bucket_name("trailwatch-posture")
        .with_region(env_region.as_deref().unwrap_or("us-east-1"))
        .build()
        .map_err(|e| PostureError::Credentials(e.to_string()))?;
    Ok(Resolved {
        credentials: Arc::clone(store.credentials()),
        region: env_region,
        source: "instance or container role".into(),
        assume: Vec::new(),
    })
}

/// Profiles followed through `source_profile` at most.
const MAX_CHAIN: usize = 5;

fn from_profile(
    name: &str,
    p: &Profile,
    env_region: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<Resolved, PostureError> {
    let key = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    if let Some(role_arn) = key("role_arn") {
        return assumed(name, p, role_arn, env_region, env, depth);
    }
    let (Some(key_id), Some(secret_key)) = (key("aws_access_key_id"), key("aws_secret_access_key"))
    else {
        let how = ["credential_process", "sso_session", "sso_start_url"]
            .into_iter()
            .find(|k| p.contains_key(*k));
        return Err(PostureError::Credentials(match how {
            Some(k) => format!(
                "profile {name:?} uses {k}, which trailwatch does not read: export the credentials it gives (aws configure export-credentials --profile {name} --format env)"
            ),
            None => format!("profile {name:?} has no aws_access_key_id and aws_secret_access_key"),
        }));
    };
    let credential = AwsCredential {
        key_id,
        secret_key,
        token: key("aws_session_token"),
    };
    Ok(Resolved {
        credentials: Arc::new(StaticCredentialProvider::new(credential)),
        region: env_region.or_else(|| key("region")),
        source: format!("profile {name}"),
        assume: Vec::new(),
    })
}

/// A profile assuming `role_arn` with its `source_profile`'s credentials (or, with
/// `credential_source = Environment`, the environment's keys).
fn assumed(
    name: &str,
    p: &Profile,
    role_arn: String,
    env_region: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<Resolved, PostureError> {
    let key = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let mut base = match (key("source_profile"), key("credential_source").as_deref()) {
        (Some(_), _) if depth >= MAX_CHAIN => {
            return Err(PostureError::Credentials(format!(
                "profile {name:?}: more than {MAX_CHAIN} source_profile links"
            )))
        }
        (Some(source), _) => {
            let sp = load_profile(&source, env)?.ok_or_else(|| {
                PostureError::Credentials(format!(
                    "profile {name:?}: no source_profile {source:?}"
                ))
            })?;
            // The source's own role, if any, is assumed first.
            let mut sp = sp;
            if source == name {
                sp.remove("role_arn");
            }
            from_profile(&source, &sp, None, env, depth + 1)?
        }
        (None, Some("Environment")) => resolve(None, &|k: &str| {
            matches!(k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN")
                .then(|| env(k))
                .flatten()
        })?,
        (None, other) => {
            return Err(PostureError::Credentials(format!(
                "profile {name:?} has role_arn but {}: give it a source_profile (or credential_source = Environment)",
                match other {
                    Some(o) => format!("credential_source = {o}, which trailwatch does not read"),
                    None => "no source_profile".to_string(),
                }
            )))
        }
    };
    base.assume.push(AssumeRole {
        role_arn,
        external_id: key("external_id"),
        session_name: key("role_session_name").unwrap_or_else(|| "trailwatch-posture".into()),
    });
    Ok(Resolved {
        region: env_region.or_else(|| key("region")).or(base.region.take()),
        source: format!("profile {name} (assumed role)"),
        ..base
    })
}

fn home_file(env: &dyn Fn(&str) -> Option<String>, var: &str, name: &str) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".aws").join(name)))
}

/// Profile `name` from the shared files; `None` when neither has it.
pub fn load_profile(
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Profile>, PostureError> {
    let mut found: Option<Profile> = None;
    // The config file first: the credentials file's keys win.
    let files = [
        (home_file(env, "AWS_CONFIG_FILE", "config"), true),
        (
            home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            false,
        ),
    ];
    for (path, is_config) in files {
        let Some(path) = path else { continue };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(PostureError::ConfigFile {
                    file: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let sections = parse_ini(&text).map_err(|reason| PostureError::ConfigFile {
            file: path.display().to_string(),
            reason,
        })?;
        let wanted = if is_config && name != "default" {
            format!("profile {name}")
        } else {
            name.to_string()
        };
        if let Some(s) = sections.get(&wanted) {
            found.get_or_insert_with(Profile::new).extend(s.clone());
        }
    }
    Ok(found)
}

/// The sections of an INI file (`[name]`, `key = value`, `#`/`;` comments); keys lower-cased.
/// Indented lines (the config file's nested `s3 =` settings) are skipped.
fn parse_ini(text: &str) -> Result<HashMap<String, Profile>, String> {
    let mut out: HashMap<String, Profile> = HashMap::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| format!("line {}: a section header without `]`", n + 1))?;
            let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(section.clone()).or_default();
            current = Some(section);
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: neither a section nor key = value", n + 1))?;
        if let Some(section) = &current {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path, config: &str, credentials: &str) {
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("credentials"), credentials).unwrap();
    }

    fn env_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn profiles_merge_the_two_files() {
        let d = tempfile::tempdir().unwrap();
        files(
            d.path(),
            "[default]\nregion = us-east-1\n[profile audit]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 2\n",
            "# keys\n[audit]\naws_access_key_id = AKIAAUDIT\naws_secret_access_key = s3cr3t\naws_session_token = tok\n[default]\naws_access_key_id=AKIADEF\naws_secret_access_key=x\n",
        );
        let env = env_of(vec![
            (
                "AWS_CONFIG_FILE",
                d.path().join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.path().join("credentials").display().to_string(),
            ),
        ]);
        let p = load_profile("audit", &env).unwrap().unwrap();
        assert_eq!(p["region"], "eu-west-1");
        assert_eq!(p["aws_access_key_id"], "AKIAAUDIT");
        assert_eq!(p["aws_session_token"], "tok");
        let r = resolve(Some("audit"), &env).unwrap();
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.source, "profile audit");
        // Without --profile and without keys in the environment: the default profile.
        let r = resolve(None, &env).unwrap();
        assert_eq!(r.source, "profile default");
        assert!(matches!(
            resolve(Some("missing"), &env),
            Err(PostureError::Credentials(m)) if m.contains("no profile \"missing\"")
        ));
    }

    #[test]
    fn role_profiles_chain_to_their_source() {
        let d = tempfile::tempdir().unwrap();
        files(
            d.path(),
            "[profile audit]\nrole_arn = arn:aws:iam::111111111111:role/audit\nsource_profile = hub\nexternal_id = x-1\nregion = eu-west-1\n[profile hub]\nrole_arn = arn:aws:iam::222222222222:role/hub\nsource_profile = base\n[profile env]\nrole_arn = arn:aws:iam::333333333333:role/e\ncredential_source = Environment\n",
            "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n",
        );
        let env = env_of(vec![
            (
                "AWS_CONFIG_FILE",
                d.path().join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.path().join("credentials").display().to_string(),
            ),
            ("AWS_ACCESS_KEY_ID", "AKIAENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "e".into()),
        ]);
        let r = resolve(Some("audit"), &env).unwrap();
        let arns: Vec<&str> = r.assume.iter().map(|a| a.role_arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::222222222222:role/hub",
                "arn:aws:iam::111111111111:role/audit"
            ]
        );
        assert_eq!(r.assume[1].external_id.as_deref(), Some("x-1"));
        assert_eq!(r.assume[0].session_name, "trailwatch-posture");
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        let r = resolve(Some("env"), &env).unwrap();
        assert_eq!(r.assume.len(), 1);
        assert_eq!(r.source, "profile env (assumed role)");
    }

    #[test]
    fn the_environment_comes_before_the_default_profile() {
        let env = env_of(vec![
            ("AWS_ACCESS_KEY_ID", "AKIAENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "x".into()),
            ("AWS_DEFAULT_REGION", "ap-south-1".into()),
            ("HOME", "/nonexistent".into()),
        ]);
        let r = resolve(None, &env).unwrap();
        assert_eq!(r.source, "environment");
        assert_eq!(r.region.as_deref(), Some("ap-south-1"));
    }

    #[test]
    fn role_profiles_and_broken_files_are_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        files(d.path(), "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n", "[default\n");
        let env = env_of(vec![
            (
                "AWS_CONFIG_FILE",
                d.path().join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.path().join("missing").display().to_string(),
            ),
        ]);
        let Err(PostureError::Credentials(m)) = resolve(Some("ops"), &env) else {
            panic!("a role profile without its source's keys must be refused")
        };
        assert!(m.contains("no source_profile \"default\""), "{m}");
        let env = env_of(vec![
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                d.path().join("credentials").display().to_string(),
            ),
            ("HOME", "/nonexistent".into()),
        ]);
        assert!(matches!(
            resolve(Some("x"), &env),
            Err(PostureError::ConfigFile { reason, .. }) if reason.contains("line 1")
        ));
    }
}
