//! A management-API access token: a service principal's from the environment, else the Azure
//! CLI login's.
//!
//! With `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`: the client-credentials
//! grant, `POST {authority}/{tenant}/oauth2/v2.0/token` with the scope
//! `https://management.azure.com/.default`, where the authority is `AZURE_AUTHORITY_HOST`
//! (as the Azure SDKs read it; default `https://login.microsoftonline.com`). Otherwise the
//! `az` on `PATH`: `az account get-access-token --resource https://management.azure.com/ -o json`.

use super::arm::{arm_error, Http};
use crate::PostureError;
use bytes::Bytes;
use http::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

/// The public cloud's authority.
pub const AUTHORITY: &str = "https://login.microsoftonline.com";
const SCOPE: &str = "https://management.azure.com/.default";
const RESOURCE: &str = "https://management.azure.com/";

/// A token, and the tenant it is of when known.
pub struct Token {
    pub access_token: String,
    pub tenant: Option<String>,
    /// `service principal CLIENT_ID` or `Azure CLI login`.
    pub source: String,
}

/// A service principal's secret from the environment.
struct ServicePrincipal {
    tenant: String,
    client_id: String,
    secret: String,
    authority: String,
}

/// Gets a token; `env` reads an environment variable.
pub fn acquire(http: &Http, env: &dyn Fn(&str) -> Option<String>) -> Result<Token, PostureError> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    match (
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant), Some(client_id), Some(secret)) => {
            let authority = var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| AUTHORITY.into());
            client_credentials(
                http,
                &ServicePrincipal {
                    tenant,
                    client_id,
                    secret,
                    authority,
                },
            )
        }
        (None, None, None) => azure_cli(),
        _ => Err(PostureError::Credentials(
            "a service principal needs all of AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                .into(),
        )),
    }
}

/// A tenant id or domain name: it becomes a path segment of the token URL.
fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !t.starts_with('.')
}

fn client_credentials(http: &Http, sp: &ServicePrincipal) -> Result<Token, PostureError> {
    if !valid_tenant(&sp.tenant) {
        return Err(PostureError::Credentials(format!(
            "AZURE_TENANT_ID {:?} is not a tenant id or domain",
            trailwatch_escape::terminal(&sp.tenant)
        )));
    }
    let authority = sp.authority.trim_end_matches('/');
    if !(authority.starts_with("https://") || authority.starts_with("http://")) {
        return Err(PostureError::Credentials(format!(
            "AZURE_AUTHORITY_HOST {:?}: give an https:// URL",
            trailwatch_escape::terminal(authority)
        )));
    }
    let url = format!("{authority}/{}/oauth2/v2.0/token", sp.tenant);
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        enc(&sp.client_id),
        enc(&sp.secret),
        enc(SCOPE)
    );
    let operation = format!("POST {url}");
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let fail = |e: String| PostureError::Credentials(format!("service principal token: {e}"));
    let (status, answer) = http
        .send(&operation, Method::POST, &url, &headers, Bytes::from(body))
        .map_err(|e| fail(e.to_string()))?;
    if !status.is_success() {
        return Err(fail(arm_error(&operation, status, &answer).to_string()));
    }
    let v: Value = serde_json::from_slice(&answer)
        .map_err(|e| fail(format!("the answer is not JSON: {e}")))?;
    let access_token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("the answer has no access_token".into()))?;
    Ok(Token {
        access_token: access_token.to_string(),
        tenant: Some(sp.tenant.clone()),
        source: format!("service principal {}", sp.client_id),
    })
}

/// The Azure CLI's token (the `az` on `PATH`).
fn azure_cli() -> Result<Token, PostureError> {
    let fail = |e: String| {
        PostureError::Credentials(format!(
            "no AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, and the Azure CLI login: {e}"
        ))
    };
    let out = std::process::Command::new("az")
        .args([
            "account",
            "get-access-token",
            "--resource",
            RESOURCE,
            "-o",
            "json",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(format!("running az: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(fail(format!(
            "az account get-access-token failed ({}): {}",
            out.status,
            trailwatch_escape::terminal(first)
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("az account get-access-token: not JSON: {e}")))?;
    let access_token = v
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("az account get-access-token gave no accessToken".into()))?;
    Ok(Token {
        access_token: access_token.to_string(),
        tenant: v.get("tenant").and_then(Value::as_str).map(str::to_string),
        source: "Azure CLI login".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_path_segments_and_a_partial_principal_is_refused() {
        assert!(valid_tenant("8f2d3c4b-5a69-4e7f-8a1b-2c3d4e5f6a7b"));
        assert!(valid_tenant("contoso.onmicrosoft.com"));
        assert!(!valid_tenant("x/../y"));
        assert!(!valid_tenant("a?b"));
        let http = Http::new(true).unwrap();
        let env = |k: &str| (k == "AZURE_TENANT_ID").then(|| "t".to_string());
        assert!(matches!(
            acquire(&http, &env),
            Err(PostureError::Credentials(m)) if m.contains("needs all of")
        ));
    }
}
