//! [`EntraTuning`]: what `[detection]` changes in the built-in Microsoft Entra ID rules — the
//! thresholds of the password-spray, brute-force and MFA-fatigue correlations, and a
//! break-glass rule for the accounts the site lists.

use trailwatch_baseline::DetectionConfig;

/// The site's Entra ID thresholds and emergency-access accounts (`[detection]` in
/// `trailwatch.toml`; the defaults are [`DetectionConfig::default`]'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraTuning {
    /// UPNs or object ids: any sign-in by one, any directory change it makes or undergoes,
    /// is a high alert. Empty: no such rule.
    pub break_glass_accounts: Vec<String>,
    /// Distinct users failing from one address …
    pub password_spray_users: u32,
    /// … within this many minutes.
    pub password_spray_minutes: u32,
    /// Failed passwords for one user …
    pub brute_force_failures: u32,
    /// … within this many minutes.
    pub brute_force_minutes: u32,
    /// MFA denials or failures for one user …
    pub mfa_fatigue_denials: u32,
    /// … within this many minutes.
    pub mfa_fatigue_minutes: u32,
}

impl Default for EntraTuning {
    fn default() -> Self {
        EntraTuning::from(&DetectionConfig::default())
    }
}

impl From<&DetectionConfig> for EntraTuning {
    fn from(d: &DetectionConfig) -> Self {
        EntraTuning {
            break_glass_accounts: d.break_glass_accounts.clone(),
            password_spray_users: d.password_spray_users,
            password_spray_minutes: d.password_spray_minutes,
            brute_force_failures: d.brute_force_failures,
            brute_force_minutes: d.brute_force_minutes,
            mfa_fatigue_denials: d.mfa_fatigue_denials,
            mfa_fatigue_minutes: d.mfa_fatigue_minutes,
        }
    }
}

/// The file name (under `rules/`) the generated break-glass rule is loaded as.
pub const BREAK_GLASS_RULE_FILE: &str = "builtin:entra/entra_break_glass_account_used.yml";

/// The id of the generated break-glass rule.
pub const BREAK_GLASS_RULE_ID: &str = "0c7d3a52-6e19-4f0b-9a7e-2d5b8c41f6a3";

/// Which threshold a tuned correlation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threshold {
    Spray,
    BruteForce,
    MfaFatigue,
}

/// The built-in correlation rules (by id) whose `condition` and `timespan` the thresholds
/// replace: the alerting correlations and the chain steps that repeat them.
const TUNED: [(&str, Threshold); 5] = [
    // entra_signin_password_spray and its chain step
    ("a92e4098-5eca-461c-9387-59f27db5b38a", Threshold::Spray),
    ("4e11cac3-fb25-4737-953b-3b0476c7a028", Threshold::Spray),
    // entra_signin_brute_force and its chain step
    (
        "c683499c-e68d-4584-bcb5-e7ddb4e1779b",
        Threshold::BruteForce,
    ),
    (
        "84b20017-ba1e-4926-b952-28dbfb918d82",
        Threshold::BruteForce,
    ),
    // entra_signin_mfa_fatigue
    (
        "e76d3b39-9c0a-4739-b80f-c5377ab0b3db",
        Threshold::MfaFatigue,
    ),
];

/// The number of built-in correlation rules the thresholds rewrite (for tests).
pub const TUNED_RULES: usize = TUNED.len();

impl EntraTuning {
    /// (count, minutes) of a threshold.
    fn threshold(&self, t: Threshold) -> (u32, u32) {
        match t {
            Threshold::Spray => (self.password_spray_users, self.password_spray_minutes),
            Threshold::BruteForce => (self.brute_force_failures, self.brute_force_minutes),
            Threshold::MfaFatigue => (self.mfa_fatigue_denials, self.mfa_fatigue_minutes),
        }
    }

    /// The text of a built-in rule file with this site's thresholds; `None` when the file
    /// holds none of the tuned rules (or one of them is not written the way this rewrites:
    /// one `timespan:` and one `gte:` line per document, which a test checks).
    pub(crate) fn retuned(&self, text: &str) -> Option<String> {
        if !TUNED.iter().any(|(id, _)| text.contains(id)) {
            return None;
        }
        let docs: Vec<String> = text
            .split("\n---\n")
            .map(|doc| self.retune_document(doc))
            .collect::<Option<Vec<_>>>()?;
        Some(docs.join("\n---\n"))
    }

    /// One YAML document: rewritten when it is a tuned rule, else as it is.
    fn retune_document(&self, doc: &str) -> Option<String> {
        let id_line = doc.lines().find_map(|l| l.strip_prefix("id: "));
        let tuned = TUNED
            .iter()
            .find(|(id, _)| id_line.is_some_and(|l| l.trim() == *id));
        let Some((_, which)) = tuned else {
            return Some(doc.to_string());
        };
        let (count, minutes) = self.threshold(*which);
        let doc = replace_single_line(doc, "  timespan: ", &format!("{minutes}m"))?;
        replace_single_line(&doc, "    gte: ", &count.to_string())
    }

    /// The break-glass rule for the listed accounts, or `None` when there are none.
    pub(crate) fn break_glass_rule(&self) -> Option<String> {
        let first = self.break_glass_accounts.first()?;
        let list = sigma_list(&self.break_glass_accounts);
        let description = serde_json::Value::String(format!(
            "An emergency-access (break-glass) account listed in [detection] break_glass_accounts ({}) signed in or tried to (success or failure), made a directory change, or had one made to it (its password, methods, roles or group memberships). These accounts are kept out of daily use and out of Conditional Access so that they work when nothing else does; any use outside a declared emergency means the account is being tested or abused. Confirm the emergency with its custodians; otherwise revoke the sessions, rotate the credentials and review what the account did.",
            self.break_glass_accounts.join(", ")
        ));
        let (positive, negative) = break_glass_examples(first);
        Some(format!(
            r#"title: Entra ID Break-Glass Account Used or Changed
id: {BREAK_GLASS_RULE_ID}
status: test
description: {description}
references:
- https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/security-emergency-access
author: trailwatch
tags:
- attack.initial-access
- attack.persistence
- attack.t1078.004
- attack.t1098
- cis.m365.2.2.1
logsource:
  product: azure
  service: signinlogs
detection:
  account_upn:
    UserPrincipalName:
{list}
  account_id:
    UserId:
{list}
  target_upn:
    TargetResources.userPrincipalName:
{list}
  target_id:
    TargetResources.id:
{list}
  condition: 1 of account_* or 1 of target_*
falsepositives:
- The custodians' scheduled test of the account (announce it)
level: high
tests:
  positive:
  - {positive}
  negative:
  - {negative}
"#,
        ))
    }
}

/// `  - "value"` lines of a Sigma value list: JSON strings (valid YAML whatever they hold),
/// with the Sigma wildcards `*` and `?` and the escape `\` escaped, so that each value matches
/// itself only (ASCII case ignored).
fn sigma_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| {
            let escaped: String = v
                .chars()
                .flat_map(|c| match c {
                    '*' | '?' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("    - {}", serde_json::Value::String(escaped))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Graph sign-in of the first listed account (as its UPN, or as its object id when it has
/// no `@`), and one of somebody else: the generated rule's own examples.
fn break_glass_examples(account: &str) -> (String, String) {
    let (upn, id) = if account.contains('@') {
        (account, "a1b2c3d4-0000-4000-8000-00000000bb01")
    } else {
        ("emergency-01@contoso.example", account)
    };
    let sign_in = |upn: &str, id: &str, event: &str| {
        serde_json::json!({
            "id": event,
            "createdDateTime": "2026-03-02T08:15:30Z",
            "userPrincipalName": upn,
            "userId": id,
            "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "appDisplayName": "Azure Portal",
            "ipAddress": "203.0.113.90",
            "clientAppUsed": "Browser",
            "isInteractive": true,
            "authenticationRequirement": "singleFactorAuthentication",
            "status": {"errorCode": 0},
            "location": {"city": "Lagos", "countryOrRegion": "NG"}
        })
        .to_string()
    };
    (
        sign_in(upn, id, "5f1e0c2a-bb01-4b6e-9c1d-202603020001"),
        sign_in(
            "global.admin@contoso.example",
            "a1b2c3d4-0000-4000-8000-000000000012",
            "5f1e0c2a-bb02-4b6e-9c1d-202603020002",
        ),
    )
}

/// `doc` with the value after `prefix` replaced on the only line that starts with it; `None`
/// when no line or several do.
fn replace_single_line(doc: &str, prefix: &str, value: &str) -> Option<String> {
    let mut found = 0;
    let lines: Vec<String> = doc
        .split('\n')
        .map(|l| match l.strip_prefix(prefix) {
            Some(_) => {
                found += 1;
                format!("{prefix}{value}")
            }
            None => l.to_string(),
        })
        .collect();
    (found == 1).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tuned_rule_is_a_builtin_rule_written_the_way_it_is_rewritten() {
        let tuning = EntraTuning {
            password_spray_users: 4,
            password_spray_minutes: 45,
            brute_force_failures: 7,
            brute_force_minutes: 50,
            mfa_fatigue_denials: 3,
            mfa_fatigue_minutes: 20,
            ..EntraTuning::default()
        };
        let mut rewritten = 0;
        for (name, text) in crate::builtin::files() {
            let Some(new) = tuning.retuned(text) else {
                assert!(
                    !TUNED.iter().any(|(id, _)| text.contains(id)),
                    "{name} holds a tuned rule that cannot be rewritten"
                );
                continue;
            };
            for (id, which) in TUNED.iter().filter(|(id, _)| text.contains(id)) {
                let doc = new
                    .split("\n---\n")
                    .find(|d| d.contains(&format!("id: {id}")))
                    .expect("the tuned document");
                let (count, minutes) = tuning.threshold(*which);
                assert!(
                    doc.contains(&format!("\n  timespan: {minutes}m\n")),
                    "{name}"
                );
                assert!(doc.contains(&format!("\n    gte: {count}\n")), "{name}");
                rewritten += 1;
            }
            // A chain's own window stays as written.
            if text.contains("type: temporal") {
                assert!(new.contains("  timespan: 1h\n"), "{name}");
            }
        }
        assert_eq!(rewritten, TUNED.len());
    }

    #[test]
    fn defaults_rewrite_nothing_and_no_accounts_make_no_rule() {
        let tuning = EntraTuning::default();
        for (_, text) in crate::builtin::files() {
            if let Some(new) = tuning.retuned(text) {
                assert_eq!(new, text);
            }
        }
        assert_eq!(tuning.break_glass_rule(), None);
    }

    #[test]
    fn break_glass_values_match_themselves_only() {
        let list = sigma_list(&["a*b@x".into(), r"c\d?".into()]);
        assert_eq!(list, "    - \"a\\\\*b@x\"\n    - \"c\\\\\\\\d\\\\?\"");
    }
}
