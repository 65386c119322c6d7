//! The secrets of a configuration: the values of the environment variables its `*_env` keys
//! name, registered with `trailwatch_sink::secret` so that no log line, error or stored
//! delivery error shows them.

use crate::config::Config;

/// Variables the cloud clients read credentials from by themselves (no `*_env` key names
/// them): their values are secrets too.
const CREDENTIAL_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
];

/// The names of the variables holding `config`'s secrets: every `*_env` key (sources, sinks,
/// the metrics endpoint's token, the store's signing key) and the cloud clients' own credential variables.
pub fn secret_vars(config: &Config) -> Vec<String> {
    let mut vars: Vec<String> = CREDENTIAL_VARS.iter().map(|v| v.to_string()).collect();
    vars.extend(config.store.signing_key_env.iter().cloned());
    for s in &config.sources {
        vars.extend(s.kind.config().secret_vars().into_iter().map(String::from));
    }
    for s in &config.sinks {
        vars.extend(s.kind.secret_vars().into_iter().map(String::from));
    }
    vars.sort();
    vars.dedup();
    vars
}

/// Registers the value of every variable of [`secret_vars`] that is set for redaction
/// (`trailwatch_sink::secret::redact`). Returns how many were set.
pub fn register_secrets(config: &Config) -> usize {
    let mut set = 0;
    for var in secret_vars(config) {
        if let Ok(value) = std::env::var(&var) {
            trailwatch_sink::secret::register(&value);
            set += 1;
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_env_key_of_sources_and_sinks_is_a_secret() {
        let toml = r#"
[metrics]
listen = "127.0.0.1:9464"
[[sources]]
name = "s3"
kind = "s3"
bucket = "b"
secret_access_key_env = "S3_SECRET"
[[sources]]
name = "az"
kind = "azure"
account = "a"
container = "c"
access_key_env = "AZ_KEY"
[[sources]]
name = "local"
kind = "local"
path = "/tmp/x"
[[sinks]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:1/"
secret_env = "HOOK_SECRET"
[[sinks]]
name = "slack"
kind = "slack"
url_env = "SLACK_URL"
[[sinks]]
name = "mail"
kind = "smtp"
host = "127.0.0.1"
username = "u"
password_env = "SMTP_PASSWORD"
from = "a@example.com"
to = ["b@example.com"]
"#;
        let config = Config::parse(toml).expect("config");
        let vars = secret_vars(&config);
        for v in [
            "S3_SECRET",
            "AZ_KEY",
            "HOOK_SECRET",
            "SLACK_URL",
            "SMTP_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            assert!(vars.iter().any(|x| x == v), "{v} missing from {vars:?}");
        }
    }
}
