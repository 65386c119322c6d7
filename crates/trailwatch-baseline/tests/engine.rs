//! The engine on hand-made event streams: each detection fires on its pattern and stays quiet
//! on the near miss.

use trailwatch_baseline::{
    check_config, process, BaselineConfig, BaselineState, Collector, Config, Engine, Observation,
    Observations, ProcessOptions,
};
use trailwatch_model::{Alert, Provider, Severity};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Monday 2026-10-05 00:00 UTC.
const MONDAY: i64 = 1_791_158_400_000;

#[derive(Clone)]
struct E {
    t: i64,
    id: String,
    principal: String,
    ptype: &'static str,
    action: String,
    service: &'static str,
    region: &'static str,
    ip: String,
    ua: &'static str,
    key: Option<String>,
    read_only: Option<bool>,
    error: Option<&'static str>,
    data: bool,
    resource: Option<String>,
    detail: Option<String>,
    caller_account: Option<String>,
    mfa: Option<bool>,
}

fn e(t: i64, principal: &str, action: &str) -> E {
    E {
        t,
        id: String::new(),
        principal: principal.into(),
        ptype: "IAMUser",
        action: action.into(),
        service: "ec2.amazonaws.com",
        region: "us-east-1",
        ip: "198.51.100.7".into(),
        ua: "aws-cli/2.15.0 Python/3.11",
        key: None,
        read_only: Some(true),
        error: None,
        data: false,
        resource: None,
        detail: None,
        caller_account: None,
        mfa: None,
    }
}

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

fn observe(events: &[E]) -> Observations {
    let mut c = Collector::new(usize::MAX);
    for (n, x) in events.iter().enumerate() {
        let id = if x.id.is_empty() {
            format!("ev-{n:07}")
        } else {
            x.id.clone()
        };
        c.push(&Observation {
            time_ms: x.t,
            provider: Some(Provider::Aws),
            event_id: &id,
            account: Some("111122223333"),
            principal: &x.principal,
            principal_type: Some(x.ptype),
            caller_account: x.caller_account.as_deref(),
            access_key: x.key.as_deref(),
            mfa: x.mfa,
            source_ip: Some(&x.ip),
            user_agent: Some(x.ua),
            service: Some(x.service),
            action: &x.action,
            region: Some(x.region),
            read_only: x.read_only,
            error_code: x.error,
            data_event: x.data,
            resource: x.resource.as_deref(),
            detail: x.detail.as_deref(),
        });
    }
    Observations::merge(vec![c])
}

/// Two weeks of office-hours work: 30 calls an hour, 09:00–17:00 UTC on weekdays.
fn office_history(principal: &str) -> Vec<E> {
    let mut v = Vec::new();
    for day in 0..14 {
        if day % 7 >= 5 {
            continue;
        }
        for hour in 9..17 {
            for k in 0..30 {
                let t = MONDAY + day * DAY + hour * HOUR + k * 110_000;
                let mut x = e(
                    t,
                    principal,
                    if k % 3 == 0 {
                        "RunInstances"
                    } else {
                        "DescribeInstances"
                    },
                );
                x.read_only = Some(k % 3 != 0);
                v.push(x);
            }
        }
    }
    v
}

fn run(cfg: &BaselineConfig, events: &[E]) -> Vec<Alert> {
    let obs = observe(events);
    let mut engine = Engine::new(cfg, BaselineState::default(), HOUR).expect("config");
    engine.run(&obs);
    engine.take_alerts(&obs).alerts
}

fn of<'a>(alerts: &'a [Alert], rule: &str) -> Vec<&'a Alert> {
    alerts.iter().filter(|a| a.rule_id == rule).collect()
}

const AFTER: i64 = MONDAY + 15 * DAY; // a Tuesday, after the history

#[test]
fn off_hours_write_fires_and_reads_or_office_hours_do_not() {
    let cfg = BaselineConfig::default();
    let mut events = office_history(ALICE);
    let mut w = e(AFTER + 3 * HOUR, ALICE, "AuthorizeSecurityGroupIngress");
    w.read_only = Some(false);
    w.id = "night-write".into();
    events.push(w);
    let mut r = e(AFTER + 3 * HOUR + 60_000, ALICE, "DescribeInstances");
    r.id = "night-read".into();
    events.push(r);
    let mut day = e(AFTER + 11 * HOUR, ALICE, "RunInstances");
    day.read_only = Some(false);
    day.id = "day-write".into();
    events.push(day);
    let alerts = run(&cfg, &events);
    let off = of(&alerts, "tw-baseline-off-hours");
    assert_eq!(off.len(), 1, "{alerts:#?}");
    assert_eq!(off[0].event_ids, ["night-write"]);
    assert_eq!(off[0].severity, Severity::Medium);
    assert!(
        off[0].description.contains("Tue 03:00"),
        "{}",
        off[0].description
    );

    // Configured business hours cover the night write (a -08:00 office): no alert.
    let cfg = BaselineConfig {
        business_hours: Some("18:00-23:59".into()),
        utc_offset: "-08:00".into(),
        ..BaselineConfig::default()
    };
    let alerts = run(&cfg, &events);
    assert!(
        of(&alerts, "tw-baseline-off-hours").is_empty(),
        "{alerts:#?}"
    );
}

#[test]
fn working_hours_follow_a_named_time_zone_with_daylight_saving() {
    // A write at 03:00 UTC on Tuesday 2026-10-20: Monday 20:00 in Los Angeles (PDT, UTC-7),
    // but 19:00 at a fixed -08:00.
    let mut events = office_history(ALICE);
    let mut w = e(AFTER + 3 * HOUR, ALICE, "AuthorizeSecurityGroupIngress");
    w.read_only = Some(false);
    w.id = "night-write".into();
    events.push(w);
    let zoned = |business: &str, zone: Option<&str>, offset: &str| BaselineConfig {
        business_hours: Some(business.into()),
        time_zone: zone.map(str::to_string),
        utc_offset: offset.into(),
        ..BaselineConfig::default()
    };
    // Business hours from 19:30: inside in summer time, outside at the fixed winter offset.
    let la = zoned("19:30-23:59", Some("America/Los_Angeles"), "+00:00");
    assert!(of(&run(&la, &events), "tw-baseline-off-hours").is_empty());
    let fixed = zoned("19:30-23:59", None, "-08:00");
    assert_eq!(of(&run(&fixed, &events), "tw-baseline-off-hours").len(), 1);
    // Outside business hours, the alert gives the local time and the zone.
    let la = zoned("20:30-23:59", Some("America/Los_Angeles"), "+00:00");
    let alerts = run(&la, &events);
    let off = of(&alerts, "tw-baseline-off-hours");
    assert_eq!(off.len(), 1, "{alerts:#?}");
    assert!(
        off[0]
            .description
            .contains("Mon 20:00 (America/Los_Angeles, UTC-07:00)"),
        "{}",
        off[0].description
    );
    // A name that is not a zone is refused.
    let bad = zoned("09:00-17:00", Some("Mars/Olympus_Mons"), "+00:00");
    let Err(err) = Engine::new(&bad, BaselineState::default(), HOUR) else {
        panic!("accepted");
    };
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
}

#[test]
fn nothing_learned_fires_during_the_learning_period() {
    let cfg = BaselineConfig::default();
    // Three days of history only, then a night write from a new region and network.
    let mut events: Vec<E> = office_history(ALICE)
        .into_iter()
        .filter(|x| x.t < MONDAY + 3 * DAY)
        .collect();
    let mut w = e(MONDAY + 3 * DAY + 2 * HOUR, ALICE, "RunInstances");
    w.read_only = Some(false);
    w.region = "ap-south-2";
    w.ip = "203.0.113.9".into();
    events.push(w);
    let alerts = run(&cfg, &events);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn first_seen_region_network_agent_service() {
    let cfg = BaselineConfig::default();
    let mut events = office_history(ALICE);
    let mut x = e(AFTER + 10 * HOUR, ALICE, "ListBuckets");
    x.region = "ap-south-2";
    x.ip = "203.0.113.9".into();
    x.ua = "Boto3/1.34.70 Botocore/1.34.70 Pacu/1.6.0 (kali)";
    x.service = "s3.amazonaws.com";
    x.id = "odd".into();
    events.push(x);
    // The same odd values again: already seen, no second alert.
    let mut y = events.last().cloned().expect("pushed");
    y.t += 60_000;
    y.id = "odd2".into();
    events.push(y);
    let alerts = run(&cfg, &events);
    for (rule, needle) in [
        ("tw-baseline-new-region", "first region: ap-south-2"),
        (
            "tw-baseline-new-network",
            "first source network: 203.0.113.0/24",
        ),
        ("tw-baseline-new-user-agent", "boto3 (pacu)"),
        ("tw-baseline-new-service", "s3.amazonaws.com"),
        ("tw-baseline-new-api", "ListBuckets"),
    ] {
        let a = of(&alerts, rule);
        assert_eq!(a.len(), 1, "{rule}: {alerts:#?}");
        assert_eq!(a[0].event_ids, ["odd"], "{rule}");
        assert!(
            a[0].description.contains(needle),
            "{rule}: {}",
            a[0].description
        );
    }
}

/// Writes a MaxMind-format ASN database with PyPI's `mmdb-writer` (installed by `.ci/run`).
fn asn_database(path: &std::path::Path) {
    let script = format!(
        "from mmdb_writer import MMDBWriter, MmdbU32\n\
         from netaddr import IPSet\n\
         w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type='GeoLite2-ASN')\n\
         w.insert_network(IPSet(['198.51.100.0/24', '203.0.113.0/25']), {{'autonomous_system_number': MmdbU32(64500), 'autonomous_system_organization': 'HOME-ISP'}})\n\
         w.insert_network(IPSet(['192.0.2.0/24']), {{'autonomous_system_number': MmdbU32(64666), 'autonomous_system_organization': 'VPS\\x1b[31m-HOST'}})\n\
         w.to_db_file({:?})\n",
        path.display().to_string()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "mmdb-writer (pip install mmdb-writer==0.2.7): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn first_seen_network_is_an_autonomous_system_with_an_asn_database() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("asn.mmdb");
    asn_database(&db);
    let mut cfg = BaselineConfig {
        asn_database: Some(db.display().to_string()),
        ..BaselineConfig::default()
    };
    // History from 198.51.100.7 (AS64500). Later: another /24 of the same provider, an
    // unknown address, and a VPS provider.
    let mut events = office_history(ALICE);
    for (n, ip) in ["203.0.113.20", "100.64.1.1", "192.0.2.44"]
        .iter()
        .enumerate()
    {
        let mut x = e(
            AFTER + 10 * HOUR + n as i64 * HOUR,
            ALICE,
            "DescribeInstances",
        );
        x.ip = (*ip).into();
        x.id = format!("net-{n}");
        events.push(x);
    }
    let alerts = run(&cfg, &events);
    let nets = of(&alerts, "tw-baseline-new-network");
    let ids: Vec<&str> = nets
        .iter()
        .flat_map(|a| a.event_ids.iter().map(String::as_str))
        .collect();
    assert_eq!(ids, ["net-1", "net-2"], "{nets:#?}");
    // Both new networks are named: the VPS provider by its AS (its name made printable) and
    // the address the database does not know by its /24.
    let text: String = nets.iter().map(|a| a.description.as_str()).collect();
    assert!(text.contains("AS64666 VPS[31m-HOST"), "{text}");
    assert!(!text.contains('\x1b'));
    assert!(text.contains("100.64.1.0/24"), "{text}");
    assert!(!text.contains("AS64500"), "{text}");

    // Without the database the same provider's other /24 is new too.
    cfg.asn_database = None;
    let alerts = run(&cfg, &events);
    let ids: Vec<String> = of(&alerts, "tw-baseline-new-network")
        .iter()
        .flat_map(|a| a.event_ids.clone())
        .collect();
    assert_eq!(ids, ["net-0", "net-1", "net-2"]);

    // A database that is not one, or is missing, is refused with its name.
    let bad = tmp.path().join("not.mmdb");
    std::fs::write(&bad, "nothing").expect("write");
    for path in [bad, tmp.path().join("missing.mmdb")] {
        let cfg = BaselineConfig {
            asn_database: Some(path.display().to_string()),
            ..BaselineConfig::default()
        };
        let Err(err) = Engine::new(&cfg, BaselineState::default(), HOUR) else {
            panic!("{} accepted", path.display());
        };
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}

#[test]
fn volume_spike_per_principal_with_method_in_description() {
    let cfg = BaselineConfig::default();
    let mut events = office_history(ALICE);
    // A normal busy hour: no alert.
    for k in 0..60 {
        events.push(e(
            AFTER + 10 * HOUR + k * 50_000,
            ALICE,
            "DescribeInstances",
        ));
    }
    // 1,200 calls in one hour: a spike.
    for k in 0..1_200 {
        events.push(e(AFTER + 13 * HOUR + k * 2_900, ALICE, "DescribeInstances"));
    }
    let alerts = run(&cfg, &events);
    let v = of(&alerts, "tw-baseline-volume-principal");
    assert_eq!(v.len(), 1, "{alerts:#?}");
    assert!(
        v[0].first_seen.starts_with("2026-10-20T13:"),
        "{}",
        v[0].first_seen
    );
    assert!(v[0].count > 800 && v[0].count <= 1_200, "{}", v[0].count);
    for word in ["median", "robust", "MAD", "168 hours"] {
        assert!(v[0].description.contains(word), "{}", v[0].description);
    }
}

#[test]
fn delete_spike_on_one_bucket() {
    let cfg = BaselineConfig::default();
    let mut events = Vec::new();
    // A bucket with a few deletes an hour for ten days.
    for h in 0..240 {
        for k in 0..3 {
            let mut x = e(
                MONDAY + h * HOUR + k * 600_000,
                "arn:aws:iam::111122223333:role/etl",
                "DeleteObject",
            );
            x.data = true;
            x.read_only = Some(false);
            x.resource = Some("finance-data".into());
            events.push(x);
        }
    }
    for k in 0..500 {
        let mut x = e(
            MONDAY + 241 * HOUR + k * 5_000,
            "arn:aws:iam::111122223333:user/mallory",
            "DeleteObject",
        );
        x.data = true;
        x.read_only = Some(false);
        x.resource = Some("finance-data".into());
        events.push(x);
    }
    let alerts = run(&cfg, &events);
    let d = of(&alerts, "tw-baseline-volume-resource-delete");
    assert_eq!(d.len(), 1, "{alerts:#?}");
    assert_eq!(d[0].resources, ["finance-data"]);
    assert!(d[0].principal.contains("mallory"));
    assert_eq!(d[0].severity, Severity::High);
}

fn denied(t: i64, p: &str, ip: &str) -> E {
    let mut x = e(t, p, "ListBuckets");
    x.error = Some("AccessDenied");
    x.ip = ip.into();
    x
}

#[test]
fn denied_burst_from_principal_and_from_ip() {
    let cfg = BaselineConfig::default();
    let mut events: Vec<E> = (0..12)
        .map(|k| denied(MONDAY + k * 10_000, ALICE, "203.0.113.5"))
        .collect();
    // Nine denied calls by bob: under the threshold.
    events.extend((0..9).map(|k| denied(MONDAY + DAY + k * 10_000, "bob", "192.0.2.1")));
    // Twelve denied calls from one IP spread over four principals.
    events.extend((0..12).map(|k| {
        denied(
            MONDAY + 2 * DAY + k * 10_000,
            &format!("u{}", k % 4),
            "192.0.2.99",
        )
    }));
    let alerts = run(&cfg, &events);
    let p = of(&alerts, "tw-baseline-denied-burst");
    assert_eq!(p.len(), 1, "{alerts:#?}");
    assert_eq!(p[0].count, 12);
    assert_eq!(p[0].principal, ALICE);
    let ip = of(&alerts, "tw-baseline-denied-burst-ip");
    assert_eq!(ip.len(), 1, "{alerts:#?}");
    assert_eq!(ip[0].source_ips, ["192.0.2.99"]);
    assert_eq!(ip[0].count, 12);
}

#[test]
fn console_guessing_needs_failures_then_success() {
    let cfg = BaselineConfig::default();
    let mut events = Vec::new();
    for k in 0..4 {
        let mut x = e(MONDAY + k * 30_000, ALICE, "ConsoleLogin");
        x.error = Some("Failure");
        events.push(x);
    }
    let mut ok = e(MONDAY + 200_000, ALICE, "ConsoleLogin");
    ok.mfa = Some(false);
    events.push(ok);
    // Bob: one failure then a success (a typo).
    let mut x = e(MONDAY + DAY, "bob", "ConsoleLogin");
    x.error = Some("Failure");
    events.push(x);
    events.push(e(MONDAY + DAY + 20_000, "bob", "ConsoleLogin"));
    let alerts = run(&cfg, &events);
    let c = of(&alerts, "tw-baseline-console-guessing");
    assert_eq!(c.len(), 1, "{alerts:#?}");
    assert_eq!(c[0].count, 5);
    assert_eq!(c[0].principal, ALICE);
}

/// The SANS lab's shape: a few denied calls, a self-granted inline policy, a new key, the new
/// key's first use — one chain alert with all of them.
#[test]
fn recon_then_privilege_then_new_key_is_one_story() {
    let cfg = BaselineConfig::default();
    let t0 = MONDAY + 13 * HOUR;
    let mut events = Vec::new();
    for (k, code) in [
        "AccessDenied",
        "Client.UnauthorizedOperation",
        "AccessDenied",
        "AccessDenied",
    ]
    .iter()
    .enumerate()
    {
        let mut x = denied(t0 + k as i64 * 20_000, ALICE, "3.238.12.183");
        x.error = Some(code);
        x.id = format!("recon-{k}");
        x.key = Some("AKIAOLDKEY0000000001".into());
        events.push(x);
    }
    let mut put = e(t0 + 230_000, ALICE, "PutUserPolicy");
    put.read_only = Some(false);
    put.id = "put-policy".into();
    events.push(put);
    let mut ck = e(t0 + 460_000, ALICE, "CreateAccessKey");
    ck.read_only = Some(false);
    ck.id = "create-key".into();
    ck.detail = Some("AKIANEWKEY0000000002".into());
    events.push(ck);
    let mut used = e(t0 + 520_000, ALICE, "GetCallerIdentity");
    used.key = Some("AKIANEWKEY0000000002".into());
    used.id = "new-key-used".into();
    events.push(used);
    let alerts = run(&cfg, &events);
    let c = of(&alerts, "tw-chain-recon-privilege");
    assert_eq!(c.len(), 1, "{alerts:#?}");
    let ids: Vec<&str> = c[0].event_ids.iter().map(String::as_str).collect();
    for want in [
        "recon-0",
        "recon-3",
        "put-policy",
        "create-key",
        "new-key-used",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    assert_eq!(c[0].severity, Severity::Critical);

    // Privilege change without recon: no chain.
    let alerts = run(&cfg, &events[4..]);
    assert!(of(&alerts, "tw-chain-recon-privilege").is_empty());
}

#[test]
fn logging_off_then_write() {
    let cfg = BaselineConfig::default();
    let mut stop = e(MONDAY, ALICE, "StopLogging");
    stop.read_only = Some(false);
    stop.id = "stop".into();
    let mut w = e(MONDAY + 600_000, ALICE, "CreateUser");
    w.read_only = Some(false);
    w.id = "write".into();
    let read = e(MONDAY + 300_000, ALICE, "DescribeTrails");
    let alerts = run(&cfg, &[stop.clone(), read.clone(), w.clone()]);
    let c = of(&alerts, "tw-chain-logging-off-write");
    assert_eq!(c.len(), 1, "{alerts:#?}");
    assert_eq!(c[0].event_ids, ["stop", "write"]);
    // Only reads after: no chain; a write three hours later: no chain.
    let mut late = w;
    late.t = MONDAY + 3 * HOUR;
    let alerts = run(&cfg, &[stop, read, late]);
    assert!(
        of(&alerts, "tw-chain-logging-off-write").is_empty(),
        "{alerts:#?}"
    );
}

#[test]
fn role_trust_opened_then_assumed_from_that_account() {
    let cfg = BaselineConfig::default();
    let mut upd = e(MONDAY, ALICE, "UpdateAssumeRolePolicy");
    upd.read_only = Some(false);
    upd.resource = Some("ci-deploy".into());
    upd.detail = Some("111122223333,999988887777".into());
    upd.id = "trust".into();
    let mut assume = e(MONDAY + 300_000, "AIDAEXTERNAL", "AssumeRole");
    assume.ptype = "AWSAccount";
    assume.caller_account = Some("999988887777".into());
    assume.detail = Some("arn:aws:iam::111122223333:role/ci-deploy".into());
    assume.id = "assume".into();
    let alerts = run(&cfg, &[upd.clone(), assume.clone()]);
    let c = of(&alerts, "tw-chain-role-trust-assumed");
    assert_eq!(c.len(), 1, "{alerts:#?}");
    assert_eq!(c[0].event_ids, ["trust", "assume"]);
    // Assumed from another account: no chain.
    assume.caller_account = Some("444455556666".into());
    let alerts = run(&cfg, &[upd, assume]);
    assert!(of(&alerts, "tw-chain-role-trust-assumed").is_empty());
}

#[test]
fn new_key_then_mass_deletes() {
    let cfg = BaselineConfig::default();
    let mut events = office_history(ALICE);
    for x in events.iter_mut() {
        x.key = Some("AKIAOLDKEY0000000001".into());
    }
    let key = "AKIANEWKEY0000000002";
    let mut first = e(AFTER + 10 * HOUR, ALICE, "GetCallerIdentity");
    first.key = Some(key.into());
    first.id = "first-use".into();
    events.push(first);
    for k in 0..150 {
        let mut x = e(
            AFTER + 10 * HOUR + 60_000 + k * 1_000,
            ALICE,
            "DeleteObject",
        );
        x.key = Some(key.into());
        x.data = true;
        x.read_only = Some(false);
        x.resource = Some("backups".into());
        events.push(x);
    }
    let alerts = run(&cfg, &events);
    let c = of(&alerts, "tw-chain-new-key-mass-objects");
    assert_eq!(c.len(), 1, "{alerts:#?}");
    assert_eq!(c[0].event_ids[0], "first-use");
    assert_eq!(c[0].count, 1 + 150 - 99);
    assert_eq!(of(&alerts, "tw-baseline-new-access-key").len(), 1);

    // The same deletes with the old key: no chain.
    for x in events.iter_mut() {
        if x.key.as_deref() == Some(key) {
            x.key = Some("AKIAOLDKEY0000000001".into());
        }
    }
    let alerts = run(&cfg, &events);
    assert!(of(&alerts, "tw-chain-new-key-mass-objects").is_empty());
}

#[test]
fn state_survives_a_restart_and_is_not_learned_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("baselines.json");
    let cfg = BaselineConfig::default();
    let history = office_history(ALICE);
    let mut w = e(AFTER + 3 * HOUR, ALICE, "AuthorizeSecurityGroupIngress");
    w.read_only = Some(false);
    w.id = "night-write".into();

    // Run 1: the history only; saved.
    let obs = observe(&history);
    let mut engine =
        Engine::new(&cfg, BaselineState::load(&path).expect("empty"), HOUR).expect("cfg");
    engine.run(&obs);
    assert!(engine.take_alerts(&obs).alerts.is_empty());
    engine.into_state().save(&path).expect("save");

    // Run 2, a new process: the history again (overlapping input) plus the night write.
    let mut all = history.clone();
    all.push(w);
    let obs = observe(&all);
    let state = BaselineState::load(&path).expect("load");
    let labels: Vec<&str> = state
        .principals
        .iter()
        .map(|p| p.principal.as_str())
        .collect();
    assert_eq!(labels, [ALICE, "(account)"]);
    let mut engine = Engine::new(&cfg, state, HOUR).expect("cfg");
    engine.run(&obs);
    let report = engine.take_alerts(&obs);
    assert_eq!(report.already_learned, history.len() as u64);
    assert_eq!(report.replayed, 1);
    let off = of(&report.alerts, "tw-baseline-off-hours");
    assert_eq!(off.len(), 1, "{:#?}", report.alerts);
    let state = engine.into_state();
    assert_eq!(state.principals[0].events, history.len() as u64 + 1);
    assert_eq!(state.principals[1].events, history.len() as u64 + 1);

    // A corrupt file is an error, not an empty baseline.
    std::fs::write(&path, b"{not json").expect("write");
    assert!(BaselineState::load(&path).is_err());
}

#[test]
fn config_sections_parse_and_reject_typos() {
    let text = r#"
[store]
dir = "/var/lib/trailwatch"
[watch]
poll = "30s"

[baselines]
enabled = true
learning_days = 3
business_hours = "08:00-18:00"
business_days = ["mon", "tue", "wed", "thu", "fri"]
utc_offset = "+01:00"
denied_burst_count = 20

[[suppressions]]
rule = "tw-baseline-new-network"
principal = "arn:aws:iam::*:role/ci-*"
cidr = "10.0.0.0/8"
reason = "CI runners move between subnets"
expires = "2099-01-01"

[severity]
max_raise = 2
"#;
    let cfg: Config = check_config(text).expect("valid");
    assert!(cfg.baselines.enabled);
    assert_eq!(cfg.baselines.learning_days, 3);
    assert_eq!(cfg.baselines.denied_burst_count, 20);
    assert_eq!(cfg.baselines.volume_z, BaselineConfig::default().volume_z);
    assert_eq!(cfg.suppressions.len(), 1);
    assert_eq!(cfg.severity.max_raise, 2);

    for bad in [
        "[baselines]\nlerning_days = 3\n",
        "[severity]\nmax_rise = 1\n",
        "[[suppressions]]\nrule = \"x\"\nreason = \"r\"\nexpires = \"2099-01-01\"\nuser = \"x\"\n",
        "[[suppressions]]\nrule = \"x\"\nexpires = \"2099-01-01\"\n",
        "[[suppressions]]\nrule = \"x\"\nreason = \"r\"\nexpires = \"someday\"\n",
        "[[suppressions]]\ncidr = \"10.0.0.0/33\"\nreason = \"r\"\nexpires = \"2099-01-01\"\n",
        "[[suppressions]]\nreason = \"r\"\nexpires = \"2099-01-01\"\n",
        "[baselines]\nbusiness_hours = \"18:00-08:00\"\n",
        "[baselines]\nutc_offset = \"Europe/Paris\"\n",
        "[baselines]\ntime_zone = \"+01:00\"\n",
        "[baselines]\ndenied_burst_count = 0\n",
    ] {
        assert!(check_config(bad).is_err(), "accepted: {bad}");
    }
    // Only other sections: fine, defaults.
    let cfg = check_config("[[sinks]]\nkind = \"slack\"\n").expect("others ignored");
    assert_eq!(cfg, Config::default());
}

fn sigma_alert(rule: &str, principal: &str, ip: &str, first_ms: i64, ids: &[&str]) -> (Alert, i64) {
    (
        Alert {
            id: format!("{rule}-{principal}"),
            rule_id: rule.into(),
            title: format!("Title of {rule}"),
            severity: Severity::Medium,
            first_seen: trailwatch_baseline::engine::format_ms(first_ms),
            last_seen: trailwatch_baseline::engine::format_ms(first_ms),
            count: ids.len() as u64,
            event_ids: ids.iter().map(|s| s.to_string()).collect(),
            provider: Provider::Aws,
            account: Some("111122223333".into()),
            region: None,
            principal: principal.into(),
            source_ips: vec![ip.into()],
            actions: vec![],
            resources: vec![],
            tags: vec![],
            description: "d".into(),
        },
        first_ms,
    )
}

#[test]
fn suppressions_match_and_expired_ones_are_ignored() {
    let text = r#"
[[suppressions]]
rule = "rule-a"
cidr = "10.1.0.0/16"
reason = "scanner"
expires = "2099-01-01"

[[suppressions]]
principal = "*deploy*"
user_agent = "terraform"
reason = "terraform applies"
expires = "2099-01-01T00:00:00Z"

[[suppressions]]
account = "111122223333"
reason = "old exception"
expires = "2020-01-01"
"#;
    let cfg = check_config(text).expect("valid");
    let mut events = vec![
        e(MONDAY, "ci-deploy", "CreateRole"),
        e(MONDAY + 1000, "ci-deploy", "CreateRole"),
    ];
    events[0].id = "tf-1".into();
    events[0].ua = "Terraform/1.7.0 terraform-provider-aws/5.0";
    events[1].id = "cli-1".into();
    let obs = observe(&events);
    let alerts = vec![
        sigma_alert("rule-a", ALICE, "10.1.2.3", MONDAY, &["x"]), // suppressed (rule + cidr)
        sigma_alert("rule-a", ALICE, "10.2.2.3", MONDAY, &["y"]), // kept: outside the range
        sigma_alert("rule-b", ALICE, "10.1.2.3", MONDAY, &["z"]), // kept: other rule
        sigma_alert("rule-c", "ci-deploy", "1.2.3.4", MONDAY, &["tf-1"]), // suppressed (UA)
        sigma_alert("rule-c", "ci-deploy", "1.2.3.4", MONDAY, &["tf-1", "cli-1"]), // kept: one call not terraform
    ];
    let opts = ProcessOptions {
        baselines: false,
        chains: false,
        context: true,
        group_window_ms: HOUR,
        min_level: Severity::Low,
        now_ms: MONDAY,
    };
    let out = process(&cfg, &opts, &obs, BaselineState::default(), alerts).expect("process");
    let kept: Vec<(&str, &[String])> = out
        .alerts
        .iter()
        .map(|(a, _)| (a.rule_id.as_str(), &a.event_ids[..]))
        .collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert_eq!(out.suppressed.len(), 2, "the expired entry is not live");
    assert_eq!(out.suppressed[0].1, 1);
    assert_eq!(out.suppressed[1].1, 1);
}

#[test]
fn severity_raised_by_context_and_said_so() {
    let cfg = Config::default();
    let mut events = office_history(ALICE);
    // A console sign-in without MFA at 03:00 from a new network.
    let mut login = e(AFTER + 3 * HOUR, ALICE, "ConsoleLogin");
    login.mfa = Some(false);
    login.ip = "203.0.113.50".into();
    events.push(login);
    let obs = observe(&events);
    let alerts = vec![
        sigma_alert(
            "rule-x",
            ALICE,
            "203.0.113.50",
            AFTER + 3 * HOUR + 60_000,
            &["a"],
        ),
        sigma_alert(
            "rule-y",
            ALICE,
            "198.51.100.7",
            AFTER + 2 * DAY + 11 * HOUR,
            &["b"],
        ),
        sigma_alert(
            "rule-z",
            "arn:aws:iam::111122223333:root",
            "198.51.100.7",
            AFTER + 11 * HOUR,
            &["c"],
        ),
    ];
    let opts = ProcessOptions {
        baselines: false,
        chains: false,
        context: true,
        group_window_ms: HOUR,
        min_level: Severity::Low,
        now_ms: MONDAY,
    };
    let out = process(&cfg, &opts, &obs, BaselineState::default(), alerts).expect("process");
    let by = |r: &str| {
        out.alerts
            .iter()
            .find(|(a, _)| a.rule_id == r)
            .map(|(a, _)| a.clone())
            .expect("alert")
    };
    let x = by("rule-x");
    assert_eq!(x.severity, Severity::High, "max_raise 1: one level");
    for why in ["without MFA", "203.0.113.0/24", "usual hours"] {
        assert!(x.description.contains(why), "{}", x.description);
    }
    assert_eq!(by("rule-y").severity, Severity::Medium);
    let z = by("rule-z");
    assert_eq!(z.severity, Severity::High);
    assert!(z.description.contains("root user"));
    assert_eq!(out.raised, 2);
}

#[test]
fn the_example_configuration_is_valid_and_shows_the_defaults() {
    let path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../../trailwatch.example.toml");
    let text = std::fs::read_to_string(&path).expect("trailwatch.example.toml");
    let cfg = check_config(&text).expect("the example parses");
    assert_eq!(cfg.baselines, BaselineConfig::default());
    assert_eq!(cfg.severity, trailwatch_baseline::SeverityConfig::default());
    assert_eq!(cfg.suppressions.len(), 1);
    assert_eq!(
        cfg.detection,
        trailwatch_baseline::DetectionConfig::default()
    );
}

/// `[detection]`'s Entra keys: break-glass accounts and the sign-in thresholds, each checked.
#[test]
fn detection_reads_break_glass_accounts_and_entra_thresholds() {
    use trailwatch_baseline::DetectionConfig;
    let defaults = DetectionConfig::default();
    assert!(defaults.break_glass_accounts.is_empty());
    assert_eq!(
        (
            defaults.password_spray_users,
            defaults.password_spray_minutes,
            defaults.brute_force_failures,
            defaults.brute_force_minutes,
            defaults.mfa_fatigue_denials,
            defaults.mfa_fatigue_minutes
        ),
        (10, 30, 20, 30, 5, 10)
    );
    let text = r#"
[detection]
break_glass_accounts = ["bg-01@contoso.example", "0f1e2d3c-0000-4000-8000-0000000000aa"]
password_spray_users = 6
password_spray_minutes = 60
brute_force_failures = 12
mfa_fatigue_minutes = 15
"#;
    let cfg = check_config(text).expect("valid");
    assert_eq!(
        cfg.detection.break_glass_accounts,
        [
            "bg-01@contoso.example",
            "0f1e2d3c-0000-4000-8000-0000000000aa"
        ]
    );
    assert_eq!(cfg.detection.password_spray_users, 6);
    assert_eq!(cfg.detection.password_spray_minutes, 60);
    assert_eq!(cfg.detection.brute_force_failures, 12);
    assert_eq!(cfg.detection.brute_force_minutes, 30, "default kept");
    assert_eq!(cfg.detection.mfa_fatigue_denials, 5, "default kept");
    assert_eq!(cfg.detection.mfa_fatigue_minutes, 15);
    for (bad, says) in [
        (
            "[detection]\npassword_spray_users = 1\n",
            "password_spray_users",
        ),
        (
            "[detection]\nbrute_force_failures = 0\n",
            "brute_force_failures",
        ),
        (
            "[detection]\nmfa_fatigue_minutes = 0\n",
            "mfa_fatigue_minutes",
        ),
        (
            "[detection]\npassword_spray_minutes = 1441\n",
            "password_spray_minutes",
        ),
        (
            "[detection]\nbreak_glass_accounts = [\"\"]\n",
            "break_glass_accounts",
        ),
        (
            "[detection]\nbreak_glass_accounts = [\"a b@x\"]\n",
            "break_glass_accounts",
        ),
        (
            "[detection]\nbreak_glass_accounts = \"bg@x\"\n",
            "break_glass_accounts",
        ),
        (
            "[detection]\nbrute_force_failures = -3\n",
            "brute_force_failures",
        ),
        ("[detection]\nspray_users = 5\n", "spray_users"),
    ] {
        let e = check_config(bad).expect_err(bad).to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}
