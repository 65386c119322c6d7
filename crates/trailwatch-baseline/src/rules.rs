//! The alerts this crate raises: ids, titles, levels, ATT&CK tags and what each means.
//!
//! Baselines (`tw-baseline-*`) and the chains that need state Sigma cannot hold
//! (`tw-chain-*`: a threshold over denied calls followed by a privilege change, a key created
//! then used, an external account named in a policy then seen as a caller) are code; the chains
//! Sigma's `temporal_ordered` correlation can express over one shared field live in `rules/`.

use trailwatch_model::Severity;

/// One built-in baseline or chain rule.
#[derive(Debug)]
pub struct RuleDef {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub tags: &'static [&'static str],
    pub description: &'static str,
    /// What a first-seen rule is about ("service", "region", …).
    pub noun: &'static str,
}

macro_rules! rule {
    ($name:ident, $id:literal, $title:literal, $sev:ident, [$($tag:literal),*], $noun:literal, $desc:literal) => {
        pub static $name: RuleDef = RuleDef {
            id: $id,
            title: $title,
            severity: Severity::$sev,
            tags: &[$($tag),*],
            description: $desc,
            noun: $noun,
        };
    };
}

rule!(OFF_HOURS, "tw-baseline-off-hours", "Activity Outside the Principal's Usual Hours", Medium,
    ["attack.initial-access", "attack.t1078.004", "trailwatch.baseline"], "",
    "A write, sign-in or data access at an hour of the week when this principal is rarely active (learned from its own history, hour before and after included), outside the configured business hours.");
rule!(VOLUME_PRINCIPAL, "tw-baseline-volume-principal", "Call Volume Spike for One Principal", Medium,
    ["attack.collection", "attack.t1530", "trailwatch.baseline"], "",
    "The principal's calls in one hour are far above its usual hourly volume. Method: robust z-score of the hour's count against the rolling window of its previous hourly counts.");
rule!(VOLUME_RESOURCE_READ, "tw-baseline-volume-resource-read", "Data Read Spike on One Resource", High,
    ["attack.exfiltration", "attack.collection", "attack.t1530", "trailwatch.baseline"], "",
    "Reads of one bucket, table or vault in one hour are far above their usual hourly volume. Method: robust z-score of the hour's count against the rolling window of its previous hourly counts.");
rule!(VOLUME_RESOURCE_DELETE, "tw-baseline-volume-resource-delete", "Data Delete Spike on One Resource", High,
    ["attack.impact", "attack.t1485", "attack.t1486", "trailwatch.baseline"], "",
    "Deletes in one bucket, table or vault in one hour are far above their usual hourly volume (ransomware and destruction delete in bulk). Method: robust z-score of the hour's count against the rolling window of its previous hourly counts.");
rule!(VOLUME_RESOURCE_WRITE, "tw-baseline-volume-resource-write", "Data Write Spike on One Resource", Medium,
    ["attack.impact", "attack.t1486", "trailwatch.baseline"], "",
    "Writes to one bucket, table or vault in one hour are far above their usual hourly volume (objects rewritten in bulk). Method: robust z-score of the hour's count against the rolling window of its previous hourly counts.");
rule!(
    NEW_SERVICE,
    "tw-baseline-new-service",
    "Principal Uses a Service for the First Time",
    Low,
    ["attack.discovery", "trailwatch.baseline"],
    "service",
    "After its learning period, the principal called a cloud service it had never called before."
);
rule!(NEW_API, "tw-baseline-new-api", "Principal Calls an API for the First Time", Informational,
    ["attack.discovery", "trailwatch.baseline"], "API",
    "After its learning period, the principal successfully called an API it had never called before.");
rule!(NEW_REGION, "tw-baseline-new-region", "Principal Active in a New Region", Low,
    ["attack.defense-evasion", "attack.t1535", "trailwatch.baseline"], "region",
    "After its learning period, the principal worked in a region it had never used (unused regions hide resources and cryptominers); medium when nobody in the account had used the region either, low otherwise.");
rule!(NEW_NETWORK, "tw-baseline-new-network", "Principal Seen From a New Network", Low,
    ["attack.initial-access", "attack.t1078.004", "trailwatch.baseline"], "source network",
    "After its learning period, the principal's calls came from a /24 (IPv4) or /64 (IPv6) network, or with [baselines] asn_database an autonomous system, it had never used.");
rule!(NEW_AGENT, "tw-baseline-new-user-agent", "Principal Uses a New User-Agent Family", Low,
    ["attack.initial-access", "attack.t1078.004", "trailwatch.baseline"], "user-agent family",
    "After its learning period, the principal's calls came from a client family (aws-cli, boto3, browser, terraform, …) it had never used; attack-tool markers (Pacu, Kali) are named.");
rule!(NEW_KEY, "tw-baseline-new-access-key", "New Long-Term Access Key First Used", Low,
    ["attack.persistence", "attack.t1098.001", "trailwatch.baseline"], "access key",
    "After its learning period, the principal used a long-term access key (AKIA…) never seen before.");
rule!(DENIED_BURST, "tw-baseline-denied-burst", "Burst of Denied Calls From One Principal", Medium,
    ["attack.discovery", "attack.t1580", "attack.t1526", "trailwatch.baseline"], "",
    "Many AccessDenied / UnauthorizedOperation errors from one principal within minutes: permission enumeration with stolen credentials.");
rule!(DENIED_BURST_IP, "tw-baseline-denied-burst-ip", "Burst of Denied Calls From One IP Across Principals", Medium,
    ["attack.discovery", "attack.t1580", "trailwatch.baseline"], "",
    "Many denied calls within minutes from one source IP for two or more principals: enumeration with several stolen credentials.");
rule!(CONSOLE_GUESSING, "tw-baseline-console-guessing", "Failed Console Sign-Ins Then a Success", High,
    ["attack.credential-access", "attack.t1110", "attack.initial-access", "attack.t1078.004", "trailwatch.baseline"], "",
    "Several failed console sign-ins for one user within minutes, then a successful one: the password was guessed or sprayed.");
rule!(CHAIN_RECON_PRIVILEGE, "tw-chain-recon-privilege", "Chain: Enumeration Then Privilege Change", Critical,
    ["attack.discovery", "attack.privilege-escalation", "attack.persistence", "attack.t1098", "attack.t1098.001", "trailwatch.chain"], "",
    "One story: denied calls while the principal mapped its permissions, then a privilege grant or new access key by the same principal (and the new key's first use, when seen).");
rule!(CHAIN_LOGGING_OFF_WRITE, "tw-chain-logging-off-write", "Chain: Logging Disabled Then Changes Made", Critical,
    ["attack.defense-impairment", "attack.t1685.002", "attack.t1562.008", "trailwatch.chain"], "",
    "One story: a principal stopped or deleted logging or monitoring, then made changes while blind spots were open.");
rule!(CHAIN_ROLE_TRUST_ASSUMED, "tw-chain-role-trust-assumed", "Chain: Role Trust Opened to Another Account Then Assumed From It", Critical,
    ["attack.persistence", "attack.t1098.003", "attack.lateral-movement", "trailwatch.chain"], "",
    "One story: a role's trust policy was changed to trust an external account, and that account then assumed the role.");
rule!(CHAIN_NEW_KEY_MASS_OBJECTS, "tw-chain-new-key-mass-objects", "Chain: New Access Key Then Mass Object Reads or Deletes", Critical,
    ["attack.exfiltration", "attack.impact", "attack.t1530", "attack.t1485", "attack.t1486", "trailwatch.chain"], "",
    "One story: a long-term access key used for the first time, then used for a mass of object reads or deletes (exfiltration or ransomware).");
rule!(CHAIN_INSTANCE_CREDENTIALS_ELSEWHERE, "tw-chain-instance-credentials-elsewhere", "Chain: EC2 Instance Credentials Used From Another Address", High,
    ["attack.credential-access", "attack.t1552.005", "attack.defense-evasion", "attack.t1078.004", "trailwatch.chain"], "",
    "One story: an instance's role session (named after the instance, i-…) made calls from the instance's address, and the same session was then used from another address: its credentials were taken from the instance metadata service and used elsewhere.");

/// Every rule of this crate.
pub static ALL: &[&RuleDef] = &[
    &OFF_HOURS,
    &VOLUME_PRINCIPAL,
    &VOLUME_RESOURCE_READ,
    &VOLUME_RESOURCE_DELETE,
    &VOLUME_RESOURCE_WRITE,
    &NEW_SERVICE,
    &NEW_API,
    &NEW_REGION,
    &NEW_NETWORK,
    &NEW_AGENT,
    &NEW_KEY,
    &DENIED_BURST,
    &DENIED_BURST_IP,
    &CONSOLE_GUESSING,
    &CHAIN_RECON_PRIVILEGE,
    &CHAIN_LOGGING_OFF_WRITE,
    &CHAIN_ROLE_TRUST_ASSUMED,
    &CHAIN_NEW_KEY_MASS_OBJECTS,
    &CHAIN_INSTANCE_CREDENTIALS_ELSEWHERE,
];
