//! The built-in Entra ID correlations (password spray, brute force, MFA fatigue and the chains
//! to a success), their thresholds from `[detection]`, and the break-glass rule, run as a hunt
//! over Microsoft Graph sign-ins and directory audits written for each case.

use trailwatch_baseline::DetectionConfig;
use trailwatch_detect::entra_tuning::{BREAK_GLASS_RULE_ID, TUNED_RULES};
use trailwatch_detect::{hunt, ruletest, EntraTuning, HuntOptions, PackTuning, RulePack};
use trailwatch_model::{Alert, Provider, Severity};

const SPRAY: &str = "a92e4098-5eca-461c-9387-59f27db5b38a";
const SPRAY_THEN_SUCCESS: &str = "6352602c-82cf-4cd7-9e18-453feafb02e4";
const BRUTE_FORCE: &str = "c683499c-e68d-4584-bcb5-e7ddb4e1779b";
const BRUTE_FORCE_THEN_SUCCESS: &str = "1d275115-597d-4a10-9a62-72c51e6b0af9";
const MFA_FATIGUE: &str = "e76d3b39-9c0a-4739-b80f-c5377ab0b3db";

const ATTACKER: &str = "203.0.113.66";
const OFFICE: &str = "198.51.100.10";
/// 2026-03-02T08:00:00Z
const T0: i64 = 1_772_438_400;

/// One Graph sign-in: `who` from `ip`, `at` seconds after [`T0`], with this error code (and
/// MFA details for the MFA codes).
fn sign_in(n: usize, who: &str, ip: &str, at: i64, code: u32) -> serde_json::Value {
    let time = chrono::DateTime::from_timestamp(T0 + at, 0)
        .expect("a valid time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let details = match code {
        500121 => serde_json::json!("MFA denied; user declined the authentication"),
        0 => serde_json::json!("MFA completed in Azure AD"),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "id": format!("5f1e0c2a-{n:04x}-4b6e-9c1d-202603020000"),
        "createdDateTime": time,
        "userPrincipalName": format!("{who}@contoso.example"),
        "userId": format!("a1b2c3d4-0000-4000-8000-{:012x}", who.len() * 1000 + who.bytes().map(usize::from).sum::<usize>()),
        "appId": "4765445b-32c6-49b0-83e6-1d93765276ca",
        "appDisplayName": "Office 365",
        "ipAddress": ip,
        "clientAppUsed": "Browser",
        "isInteractive": true,
        "authenticationRequirement": if code == 500121 || code == 0 { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "riskLevelDuringSignIn": "none",
        "status": {"errorCode": code, "additionalDetails": details},
        "location": {"city": "Lyon", "countryOrRegion": "FR"}
    })
}

/// A run of sign-ins being written.
#[derive(Default)]
struct Log {
    records: Vec<serde_json::Value>,
}

impl Log {
    fn add(&mut self, who: &str, ip: &str, at: i64, code: u32) -> &mut Self {
        let n = self.records.len();
        self.records.push(sign_in(n, who, ip, at, code));
        self
    }

    /// `users` distinct users failing with 50126 from `ip`, `gap` seconds apart from `start`.
    fn spray(&mut self, users: usize, ip: &str, start: i64, gap: i64) -> &mut Self {
        self.spray_from(0, users, ip, start, gap)
    }

    /// [`Log::spray`] over the users numbered from `first`.
    fn spray_from(
        &mut self,
        first: usize,
        users: usize,
        ip: &str,
        start: i64,
        gap: i64,
    ) -> &mut Self {
        for u in 0..users {
            let at = start + u as i64 * gap;
            self.add(&format!("user{:02}", first + u), ip, at, 50126);
        }
        self
    }

    /// `n` records of `code` for `who` from `ip`, `gap` seconds apart from `start`.
    fn repeat(
        &mut self,
        n: usize,
        who: &str,
        ip: &str,
        start: i64,
        gap: i64,
        code: u32,
    ) -> &mut Self {
        for i in 0..n {
            self.add(who, ip, start + i as i64 * gap, code);
        }
        self
    }

    fn push(&mut self, record: serde_json::Value) -> &mut Self {
        self.records.push(record);
        self
    }

    /// The alerts a hunt over these records raises with `pack`.
    fn hunt(&self, pack: &RulePack) -> Vec<Alert> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("signIns.json");
        let doc = serde_json::json!({ "value": self.records });
        std::fs::write(&path, doc.to_string()).expect("write");
        let (inputs, errors) = trailwatch_decode::expand_inputs(&[path]);
        assert!(errors.is_empty(), "{errors:?}");
        let report = hunt(
            &inputs,
            pack,
            &HuntOptions::default(),
            &|e| panic!("{e}"),
            &|_| {},
        );
        assert_eq!(report.stats.entra_records as usize, self.records.len());
        report.alerts()
    }
}

fn pack_with(detection: &DetectionConfig) -> RulePack {
    let pack = RulePack::load_configured(true, &[], Severity::Low, detection).expect("pack");
    assert!(pack.failures().is_empty(), "{:?}", pack.failures());
    pack
}

fn default_pack() -> RulePack {
    pack_with(&DetectionConfig::default())
}

/// (rule id, severity) of every alert from `rule_ids`.
fn fired<'a>(alerts: &'a [Alert], rule_id: &str) -> Vec<&'a Alert> {
    alerts.iter().filter(|a| a.rule_id == rule_id).collect()
}

/// Every alert at medium or above, as "rule id severity".
fn medium_or_above(alerts: &[Alert]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a.severity >= Severity::Medium)
        .map(|a| format!("{} {} {}", a.rule_id, a.severity, a.title))
        .collect()
}

#[test]
fn a_password_spray_needs_ten_users_in_half_an_hour_and_a_success_from_it_is_high() {
    let pack = default_pack();
    // Ten users, two minutes apart: a spray, medium, naming the address.
    let alerts = Log::default().spray(10, ATTACKER, 0, 120).hunt(&pack);
    let spray = fired(&alerts, SPRAY);
    assert_eq!(spray.len(), 1, "{alerts:#?}");
    assert_eq!(spray[0].severity, Severity::Medium);
    assert_eq!(spray[0].source_ips, [ATTACKER]);
    assert_eq!(spray[0].provider, Provider::Entra);
    assert_eq!(spray[0].count, 10);
    assert!(fired(&alerts, SPRAY_THEN_SUCCESS).is_empty());
    // Nine users, or ten spread over 40 minutes: nothing at all (single failures are silent).
    assert_eq!(Log::default().spray(9, ATTACKER, 0, 120).hunt(&pack), []);
    assert_eq!(Log::default().spray(10, ATTACKER, 0, 270).hunt(&pack), []);
    // A success from the spraying address afterwards: high, naming the account that fell.
    let alerts = Log::default()
        .spray(12, ATTACKER, 0, 90)
        .add("victim", ATTACKER, 12 * 90 + 300, 0)
        .hunt(&pack);
    let chain = fired(&alerts, SPRAY_THEN_SUCCESS);
    assert_eq!(chain.len(), 1, "{alerts:#?}");
    assert_eq!(chain[0].severity, Severity::High);
    assert!(
        chain[0].principal.contains("victim@contoso.example"),
        "{}",
        chain[0].principal
    );
    assert_eq!(fired(&alerts, SPRAY).len(), 1);
    // … also when the success came in the middle of the spray.
    let alerts = Log::default()
        .spray(6, ATTACKER, 0, 90)
        .add("victim", ATTACKER, 600, 0)
        .spray_from(6, 6, ATTACKER, 700, 90)
        .hunt(&pack);
    assert_eq!(fired(&alerts, SPRAY_THEN_SUCCESS).len(), 1, "{alerts:#?}");
    // A success from another address, or two hours later, is not the spray's.
    for (ip, at) in [(OFFICE, 12 * 90 + 300), (ATTACKER, 3 * 3600)] {
        let alerts = Log::default()
            .spray(12, ATTACKER, 0, 90)
            .add("victim", ip, at, 0)
            .hunt(&pack);
        assert!(
            fired(&alerts, SPRAY_THEN_SUCCESS).is_empty(),
            "{ip} {at}: {alerts:#?}"
        );
        assert_eq!(fired(&alerts, SPRAY).len(), 1);
    }
}

#[test]
fn a_brute_force_needs_twenty_failures_and_a_success_from_the_guessing_address_is_high() {
    let pack = default_pack();
    let alerts = Log::default()
        .repeat(20, "dana", ATTACKER, 0, 60, 50126)
        .hunt(&pack);
    let brute = fired(&alerts, BRUTE_FORCE);
    assert_eq!(brute.len(), 1, "{alerts:#?}");
    assert_eq!(brute[0].severity, Severity::Medium);
    assert!(brute[0].principal.contains("dana@contoso.example"));
    assert!(fired(&alerts, BRUTE_FORCE_THEN_SUCCESS).is_empty());
    // Lockouts (50053) count as failures; 19 do not make a brute force.
    let alerts = Log::default()
        .repeat(15, "dana", ATTACKER, 0, 60, 50126)
        .repeat(5, "dana", "203.0.113.67", 900, 60, 50053)
        .hunt(&pack);
    assert_eq!(fired(&alerts, BRUTE_FORCE).len(), 1, "{alerts:#?}");
    assert_eq!(
        Log::default()
            .repeat(19, "dana", ATTACKER, 0, 60, 50126)
            .hunt(&pack),
        []
    );
    // Then a success from the guessing address: high.
    let alerts = Log::default()
        .repeat(22, "dana", ATTACKER, 0, 60, 50126)
        .add("dana", ATTACKER, 22 * 60 + 120, 0)
        .hunt(&pack);
    let chain = fired(&alerts, BRUTE_FORCE_THEN_SUCCESS);
    assert_eq!(chain.len(), 1, "{alerts:#?}");
    assert_eq!(chain[0].severity, Severity::High);
    // The real user signing in from the office afterwards is not the attacker's success.
    let alerts = Log::default()
        .repeat(22, "dana", ATTACKER, 0, 60, 50126)
        .add("dana", OFFICE, 22 * 60 + 120, 0)
        .hunt(&pack);
    assert!(
        fired(&alerts, BRUTE_FORCE_THEN_SUCCESS).is_empty(),
        "{alerts:#?}"
    );
    assert_eq!(fired(&alerts, BRUTE_FORCE).len(), 1);
}

#[test]
fn mfa_fatigue_needs_five_denials_in_ten_minutes() {
    let pack = default_pack();
    let alerts = Log::default()
        .repeat(5, "frank", ATTACKER, 0, 90, 500121)
        .add("frank", ATTACKER, 600, 0)
        .hunt(&pack);
    let fatigue = fired(&alerts, MFA_FATIGUE);
    assert_eq!(fatigue.len(), 1, "{alerts:#?}");
    assert_eq!(fatigue[0].severity, Severity::High);
    assert!(fatigue[0].principal.contains("frank@contoso.example"));
    for (n, gap) in [(4, 90), (5, 200)] {
        let alerts = Log::default()
            .repeat(n, "frank", ATTACKER, 0, gap, 500121)
            .hunt(&pack);
        assert!(
            fired(&alerts, MFA_FATIGUE).is_empty(),
            "{n} {gap}: {alerts:#?}"
        );
    }
}

/// The everyday twins of the attacks above raise nothing at medium or above.
#[test]
fn benign_twins_stay_below_medium() {
    let pack = default_pack();
    let mut log = Log::default();
    // Two typos, then the right password with MFA.
    log.repeat(2, "grace", OFFICE, 0, 20, 50126)
        .add("grace", OFFICE, 60, 0);
    // Four colleagues behind the office address mistype once each, then sign in.
    for (i, who) in ["henry", "ines", "jules", "kim"].iter().enumerate() {
        let t = 3600 + i as i64 * 300;
        log.add(who, OFFICE, t, 50126).add(who, OFFICE, t + 30, 0);
    }
    // One unanswered prompt, then an approved one.
    log.add("frank", OFFICE, 7200, 500121)
        .add("frank", OFFICE, 7300, 0);
    let alerts = log.hunt(&pack);
    assert_eq!(medium_or_above(&alerts), Vec::<String>::new());
}

/// `[detection]` thresholds change what fires, in both directions.
#[test]
fn configured_thresholds_change_what_fires() {
    let five_users = Log::default()
        .spray(5, ATTACKER, 0, 60)
        .hunt(&default_pack());
    assert!(fired(&five_users, SPRAY).is_empty());
    let site = DetectionConfig {
        password_spray_users: 5,
        brute_force_failures: 8,
        brute_force_minutes: 60,
        mfa_fatigue_denials: 3,
        mfa_fatigue_minutes: 30,
        ..DetectionConfig::default()
    };
    let tuned = pack_with(&site);
    let alerts = Log::default()
        .spray(5, ATTACKER, 0, 60)
        .add("victim", ATTACKER, 600, 0)
        .hunt(&tuned);
    assert_eq!(fired(&alerts, SPRAY).len(), 1, "{alerts:#?}");
    assert_eq!(fired(&alerts, SPRAY_THEN_SUCCESS).len(), 1, "{alerts:#?}");
    // Eight failures over 49 minutes: a brute force for the site, not by default.
    let mut slow = Log::default();
    slow.repeat(8, "dana", ATTACKER, 0, 420, 50126)
        .add("dana", ATTACKER, 8 * 420, 0);
    let alerts = slow.hunt(&tuned);
    assert_eq!(fired(&alerts, BRUTE_FORCE).len(), 1, "{alerts:#?}");
    assert_eq!(
        fired(&alerts, BRUTE_FORCE_THEN_SUCCESS).len(),
        1,
        "{alerts:#?}"
    );
    assert!(fired(&slow.hunt(&default_pack()), BRUTE_FORCE).is_empty());
    // Three denials over 20 minutes.
    let mut denials = Log::default();
    denials.repeat(3, "frank", ATTACKER, 0, 600, 500121);
    assert_eq!(fired(&denials.hunt(&tuned), MFA_FATIGUE).len(), 1);
    assert!(fired(&denials.hunt(&default_pack()), MFA_FATIGUE).is_empty());
    // A stricter spray threshold silences the default's spray.
    let strict = pack_with(&DetectionConfig {
        password_spray_users: 15,
        ..DetectionConfig::default()
    });
    let mut ten = Log::default();
    ten.spray(10, ATTACKER, 0, 60);
    assert!(fired(&ten.hunt(&strict), SPRAY).is_empty());
    assert_eq!(fired(&ten.hunt(&default_pack()), SPRAY).len(), 1);
    assert_eq!(TUNED_RULES, 5);
}

fn reset_password_of(target_upn: &str, target_id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "Directory_4c3b2a19-bb10-4000-8000-000000000000_ABCDE_1",
        "category": "UserManagement",
        "result": "success",
        "resultReason": "",
        "activityDisplayName": "Reset user password",
        "activityDateTime": "2026-03-02T09:00:00Z",
        "loggedByService": "Core Directory",
        "operationType": "Update",
        "initiatedBy": {"user": {"id": "a1b2c3d4-0000-4000-8000-000000000006",
            "userPrincipalName": "mallory@contoso.example", "ipAddress": ATTACKER}},
        "targetResources": [{"id": target_id, "type": "User", "userPrincipalName": target_upn,
            "modifiedProperties": []}],
        "additionalDetails": []
    })
}

#[test]
fn break_glass_accounts_are_flagged_by_name_or_object_id_and_only_when_listed() {
    let with_bg = |accounts: &[&str]| {
        pack_with(&DetectionConfig {
            break_glass_accounts: accounts.iter().map(|a| a.to_string()).collect(),
            ..DetectionConfig::default()
        })
    };
    let none = default_pack();
    assert!(!none
        .report
        .rules
        .iter()
        .any(|r| r.id.as_deref() == Some(BREAK_GLASS_RULE_ID)));
    let mut log = Log::default();
    log.add("bg-01", ATTACKER, 0, 0)
        .add("bg-02", ATTACKER, 60, 50126)
        .add("dana", OFFICE, 120, 0)
        .push(reset_password_of(
            "bg-02@contoso.example",
            "0f1e2d3c-0000-4000-8000-0000000000aa",
        ));
    assert!(fired(&log.hunt(&none), BREAK_GLASS_RULE_ID).is_empty());
    let by_name = with_bg(&["BG-01@contoso.example", "bg-02@contoso.example"]);
    let alerts = log.hunt(&by_name);
    let mut who: Vec<(String, Severity)> = fired(&alerts, BREAK_GLASS_RULE_ID)
        .iter()
        .map(|a| (a.principal.clone(), a.severity))
        .collect();
    who.sort();
    assert_eq!(
        who,
        [
            ("bg-01@contoso.example".to_string(), Severity::High),
            ("bg-02@contoso.example".to_string(), Severity::High),
            ("mallory@contoso.example".to_string(), Severity::High),
        ],
        "{alerts:#?}"
    );
    // By object id: the audit's target only.
    let by_id = with_bg(&["0f1e2d3c-0000-4000-8000-0000000000aa"]);
    let alerts = log.hunt(&by_id);
    let hits = fired(&alerts, BREAK_GLASS_RULE_ID);
    assert_eq!(hits.len(), 1, "{alerts:#?}");
    assert_eq!(hits[0].principal, "mallory@contoso.example");
    // The generated rule carries examples, and they pass.
    let results = ruletest::run(&by_name.report.rules);
    let bg: Vec<_> = results
        .iter()
        .filter(|r| r.rule.id.as_deref() == Some(BREAK_GLASS_RULE_ID))
        .collect();
    assert_eq!(bg.len(), 2);
    assert!(
        bg.iter().all(|r| r.passed),
        "{:?}",
        bg.iter().map(|r| &r.detail).collect::<Vec<_>>()
    );
}

#[test]
fn the_entra_pack_is_routed_and_load_tuned_keeps_the_built_in_thresholds() {
    let pack = RulePack::load_tuned(true, &[], Severity::Informational, &PackTuning::default())
        .expect("pack");
    let entra: Vec<_> = pack
        .report
        .rules
        .iter()
        .filter(|r| r.path.to_string_lossy().starts_with("builtin:entra/"))
        .collect();
    assert!(entra.len() >= 30, "{} Entra rules", entra.len());
    assert!(
        pack.entra.len() >= entra.len(),
        "{} in the set",
        pack.entra.len()
    );
    for r in &entra {
        assert!(
            r.tags.iter().any(|t| t.starts_with("attack.t")),
            "{}",
            r.title
        );
        assert_eq!(r.author.as_deref(), Some("trailwatch"), "{}", r.title);
    }
    // Every attack family alerts at medium or above; the benign kinds at low.
    let level_of = |id: &str| {
        entra
            .iter()
            .find(|r| r.id.as_deref() == Some(id))
            .map(|r| r.level)
    };
    assert_eq!(level_of(SPRAY), Some(Severity::Medium));
    assert_eq!(level_of(SPRAY_THEN_SUCCESS), Some(Severity::High));
    assert_eq!(level_of(BRUTE_FORCE), Some(Severity::Medium));
    assert_eq!(level_of(BRUTE_FORCE_THEN_SUCCESS), Some(Severity::High));
    assert_eq!(level_of(MFA_FATIGUE), Some(Severity::High));
    assert_eq!(
        EntraTuning::default(),
        EntraTuning::from(&DetectionConfig::default())
    );
}
