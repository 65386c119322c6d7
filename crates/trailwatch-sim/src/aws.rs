//! AWS CloudTrail background generation and S3-layout file writing.

use crate::calls::{self, build, Api, Call};
use crate::org::{Account, Human, Org, RoleKind, REGIONS};
use crate::record::{
    denied_message, iam_user_identity, role_identity, service_identity, version_for, Rec,
};
use crate::util::{alnum, civil, iam_id, pick, rng_for, uuid, weekday};
use crate::{ProviderStats, SimError};
use fastrand::Rng;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub(crate) const SLOT: i64 = 300;

/// Share of the day's traffic per UTC hour (EU and US offices overlap in the afternoon).
const HOURS: [f64; 24] = [
    1.6, 1.3, 1.1, 1.0, 1.0, 1.2, 2.0, 3.4, 5.0, 6.0, 6.4, 6.5, 6.0, 6.5, 7.0, 7.2, 7.0, 6.0, 5.0,
    4.4, 4.0, 3.4, 2.8, 2.0,
];

/// Pre-rendered attack records keyed by (account index, region index, 5-minute slot).
pub(crate) type AttackMap = BTreeMap<(usize, usize, i64), Vec<(i64, String)>>;

pub(crate) struct AwsGen<'a> {
    pub org: &'a Org,
    pub seed: u64,
    pub events_per_day: u64,
    pub start: i64,
    pub days: u32,
    pub out: &'a Path,
    pub attacks: &'a AttackMap,
}

fn pick_api(rng: &mut Rng, list: &[(Api, f64)]) -> Api {
    let total: f64 = list.iter().map(|x| x.1).sum();
    let mut x = rng.f64() * total;
    for (a, w) in list {
        if x < *w {
            return *a;
        }
        x -= w;
    }
    list[list.len() - 1].0
}

/// Who makes a background call.
enum Actor<'a> {
    Console(usize, &'a Human),
    HumanCli(&'a Human),
    Cli(&'a crate::org::CliUser),
}

impl AwsGen<'_> {
    fn login_time(&self, acct_i: usize, h_i: usize, day: i64) -> i64 {
        let h = &self.org.accounts[acct_i].humans[h_i];
        let mut r = rng_for(self.seed, &[11, acct_i as u64, h_i as u64, day as u64]);
        day * 86_400 + (8 - h.tz) * 3600 + r.i64(0..7200)
    }

    fn works_on(&self, day: i64) -> bool {
        weekday(day * 86_400) < 5
    }

    /// The day whose console session covers `t`, if any.
    fn session_day(&self, acct_i: usize, h_i: usize, t: i64) -> Option<i64> {
        let d = t.div_euclid(86_400);
        for day in [d, d + 1] {
            if !self.works_on(day) {
                continue;
            }
            let l = self.login_time(acct_i, h_i, day);
            if t >= l && t < l + 8 * 3600 + 1800 {
                return Some(day);
            }
        }
        None
    }

    fn login_region(&self, acct_i: usize, h_i: usize, day: i64) -> &'static str {
        let h = &self.org.accounts[acct_i].humans[h_i];
        let mut r = rng_for(self.seed, &[12, acct_i as u64, h_i as u64, day as u64]);
        if r.f64() < 0.88 {
            "us-east-1"
        } else if (0..=2).contains(&h.tz) {
            "eu-west-1"
        } else {
            "us-west-2"
        }
    }

    fn human_ip<'h>(&self, h: &'h Human, acct_i: usize, h_i: usize, day: i64) -> &'h str {
        if derive_bit(self.seed, &[13, acct_i as u64, h_i as u64, day as u64], 5) {
            &h.home_ip
        } else {
            &h.office_ip
        }
    }

    fn console_key(&self, acct_i: usize, h_i: usize, day: i64) -> String {
        let mut r = rng_for(self.seed, &[14, acct_i as u64, h_i as u64, day as u64]);
        iam_id(&mut r, "ASIA", 16)
    }

    /// Session key and creation time of a role session covering `t` (sessions last an hour).
    fn role_session(&self, acct_i: usize, role_i: usize, t: i64) -> (String, i64, String) {
        let hour = t.div_euclid(3600);
        let mut r = rng_for(self.seed, &[15, acct_i as u64, role_i as u64, hour as u64]);
        let role = &self.org.accounts[acct_i].roles[role_i];
        let session = match role.kind {
            RoleKind::Ci => format!("GitHubActions-{}", r.u32(1_000_000_000..2_000_000_000)),
            RoleKind::Scanner => format!("cspm-scan-{}", r.u32(100_000..999_999)),
            _ => role.session.clone(),
        };
        (
            iam_id(&mut r, "ASIA", 16),
            hour * 3600 + r.i64(0..60),
            session,
        )
    }

    /// Generate one file's worth of background for (account, region, slot) plus its attacks.
    fn slot_records(
        &self,
        acct_i: usize,
        region_i: usize,
        slot: i64,
        n: u64,
        out: &mut Vec<(i64, String)>,
    ) {
        let acct = &self.org.accounts[acct_i];
        let region = REGIONS[region_i].0;
        let mut rng = rng_for(self.seed, &[2, acct_i as u64, region_i as u64, slot as u64]);
        let t0 = slot * SLOT;
        let mut buf = String::with_capacity(2048);
        let mut push = |rec: Rec, out: &mut Vec<(i64, String)>| {
            buf.clear();
            rec.render(&mut buf);
            out.push((rec.time, buf.clone()));
        };

        // Console sign-ins whose time falls in this slot.
        let day = t0.div_euclid(86_400);
        for (h_i, h) in acct.humans.iter().enumerate() {
            for d in [day, day + 1] {
                if !self.works_on(d) {
                    continue;
                }
                let l = self.login_time(acct_i, h_i, d);
                if l < t0 || l >= t0 + SLOT || self.login_region(acct_i, h_i, d) != region {
                    continue;
                }
                let ip = self.human_ip(h, acct_i, h_i, d).to_string();
                if rng.f64() < 0.03 {
                    let tf = (l - rng.i64(5..40)).max(t0);
                    push(
                        console_login(&mut rng, acct, h, region, tf, &ip, false),
                        out,
                    );
                }
                push(console_login(&mut rng, acct, h, region, l, &ip, true), out);
            }
        }

        // Occasional read-only storm from the CSPM scanner.
        if REGIONS[region_i].1 > 0.0 && rng.f64() < 0.0025 {
            let role_i = 0;
            let k = rng.u64(60..220);
            let start = t0 + rng.i64(0..120);
            for _ in 0..k {
                let t = (start + rng.i64(0..170)).min(t0 + SLOT - 1);
                let mut api = pick_api(&mut rng, calls::SCANNER_APIS);
                let call = self.regional(&mut rng, &mut api, calls::SCANNER_APIS, region, acct, t);
                push(
                    self.role_call(&mut rng, acct_i, role_i, region, t, call),
                    out,
                );
            }
        }

        let active: Vec<(usize, i64)> = acct
            .humans
            .iter()
            .enumerate()
            .filter_map(|(i, _)| self.session_day(acct_i, i, t0 + SLOT / 2).map(|d| (i, d)))
            .collect();
        let weights = [if active.is_empty() { 0.0 } else { 0.30 }, 0.12, 0.30, 0.28];
        let mut made = 0u64;
        while made < n {
            let t = t0 + rng.i64(0..SLOT);
            match crate::util::weighted(&mut rng, &weights) {
                0 => {
                    let (h_i, d) = *pick(&mut rng, &active);
                    let h = &acct.humans[h_i];
                    let actor = if h.uses_cli && rng.f64() < 0.35 {
                        Actor::HumanCli(h)
                    } else {
                        Actor::Console(h_i, h)
                    };
                    let list = if matches!(actor, Actor::HumanCli(_)) {
                        calls::HUMAN_CLI_APIS
                    } else {
                        calls::CONSOLE_APIS
                    };
                    let mut api = pick_api(&mut rng, list);
                    let call = self.regional(&mut rng, &mut api, list, region, acct, t);
                    push(
                        self.human_call(&mut rng, acct_i, d, actor, region, t, call),
                        out,
                    );
                    made += 1;
                }
                1 => {
                    let u = pick(&mut rng, &acct.clis);
                    let mut api = pick_api(&mut rng, calls::SVC_USER_APIS);
                    let call =
                        self.regional(&mut rng, &mut api, calls::SVC_USER_APIS, region, acct, t);
                    push(
                        self.human_call(&mut rng, acct_i, day, Actor::Cli(u), region, t, call),
                        out,
                    );
                    made += 1;
                }
                2 => {
                    let role_i = 1 + rng.usize(..acct.roles.len() - 1);
                    let role = &acct.roles[role_i];
                    if role.kind == RoleKind::Ci {
                        // A terraform plan/apply: a burst within about a minute.
                        let k = rng.u64(8..30).min(n - made).max(1);
                        let start = t0 + rng.i64(0..SLOT - 60);
                        for _ in 0..k {
                            let t = start + rng.i64(0..60);
                            let mut api = pick_api(&mut rng, calls::CI_APIS);
                            let call =
                                self.regional(&mut rng, &mut api, calls::CI_APIS, region, acct, t);
                            push(
                                self.role_call(&mut rng, acct_i, role_i, region, t, call),
                                out,
                            );
                        }
                        made += k;
                    } else {
                        let list = if role.kind == RoleKind::Lambda {
                            calls::LAMBDA_APIS
                        } else {
                            calls::EC2_APIS
                        };
                        let mut api = pick_api(&mut rng, list);
                        let call = self.regional(&mut rng, &mut api, list, region, acct, t);
                        push(
                            self.role_call(&mut rng, acct_i, role_i, region, t, call),
                            out,
                        );
                        made += 1;
                    }
                }
                _ => {
                    push(self.service_call(&mut rng, acct_i, region, t), out);
                    made += 1;
                }
            }
        }
    }

    /// Build a call that can be recorded in `region` (global calls only land in us-east-1).
    fn regional(
        &self,
        rng: &mut Rng,
        api: &mut Api,
        list: &[(Api, f64)],
        region: &str,
        acct: &Account,
        t: i64,
    ) -> Call {
        for _ in 0..4 {
            let c = build(*api, rng, acct, region, t);
            if !c.global || region == "us-east-1" {
                return c;
            }
            *api = pick_api(rng, list);
        }
        build(Api::DescribeInstances, rng, acct, region, t)
    }

    #[allow(clippy::too_many_arguments)]
    fn human_call(
        &self,
        rng: &mut Rng,
        acct_i: usize,
        day: i64,
        actor: Actor<'_>,
        region: &'static str,
        t: i64,
        call: Call,
    ) -> Rec {
        let acct = &self.org.accounts[acct_i];
        match actor {
            Actor::Console(h_i, h) => {
                let key = self.console_key(acct_i, h_i, day);
                let login = self.login_time(acct_i, h_i, day);
                let ident = iam_user_identity(
                    acct,
                    &h.user,
                    &h.principal_id,
                    Some(&key),
                    Some((login, true)),
                );
                let ua = match call.source {
                    "s3.amazonaws.com" => "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.226-192.879.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.422-b05 java/1.8.0_422 vendor/Oracle_Corporation cfg/retry-mode/standard]".to_string(),
                    "ec2.amazonaws.com" | "monitoring.amazonaws.com" if rng.bool() => "console.amazonaws.com".to_string(),
                    _ => h.browser.to_string(),
                };
                let ip = self.human_ip(h, acct_i, h_i, day).to_string();
                let arn = acct.user_arn(&h.user);
                let mut rec = finish(rng, acct, region, t, call, ident, ip, ua, &arn);
                rec.console = true;
                rec
            }
            Actor::HumanCli(h) => {
                let ident = iam_user_identity(acct, &h.user, &h.principal_id, Some(&h.key), None);
                let h_i = acct
                    .humans
                    .iter()
                    .position(|x| std::ptr::eq(x, h))
                    .unwrap_or(0);
                let ip = self.human_ip(h, acct_i, h_i, day).to_string();
                let arn = acct.user_arn(&h.user);
                finish(
                    rng,
                    acct,
                    region,
                    t,
                    call,
                    ident,
                    ip,
                    h.cli_ua.to_string(),
                    &arn,
                )
            }
            Actor::Cli(u) => {
                let ident = iam_user_identity(acct, &u.user, &u.principal_id, Some(&u.key), None);
                let arn = acct.user_arn(&u.user);
                finish(
                    rng,
                    acct,
                    region,
                    t,
                    call,
                    ident,
                    u.ip.clone(),
                    u.ua.to_string(),
                    &arn,
                )
            }
        }
    }

    fn role_call(
        &self,
        rng: &mut Rng,
        acct_i: usize,
        role_i: usize,
        region: &'static str,
        t: i64,
        call: Call,
    ) -> Rec {
        let acct = &self.org.accounts[acct_i];
        let role = &acct.roles[role_i];
        let (key, created, session) = self.role_session(acct_i, role_i, t);
        let ident = role_identity(
            &acct.id,
            &role.name,
            &role.role_id,
            &session,
            &key,
            created,
            role.kind == RoleKind::Ec2,
        );
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            acct.id, role.name, session
        );
        let mut rec = finish(
            rng,
            acct,
            region,
            t,
            call,
            ident,
            role.ip.clone(),
            role.ua.to_string(),
            &arn,
        );
        if role.kind == RoleKind::Ec2 && rec.source == "s3.amazonaws.com" {
            rec.vpce = Some(format!("vpce-0{}", &acct.vpc[5..21]));
        }
        rec
    }

    /// AWS services acting on the account's behalf.
    fn service_call(&self, rng: &mut Rng, acct_i: usize, region: &'static str, t: i64) -> Rec {
        let acct = &self.org.accounts[acct_i];
        let (invoked, mut call) = match rng.u8(0..10) {
            0..=2 => {
                let bucket = &acct.log_bucket;
                let (y, m, d) = civil(t.div_euclid(86_400));
                let key = format!(
                    "AWSLogs/{}/CloudTrail/{region}/{y}/{m:02}/{d:02}/{}_CloudTrail_{region}_{y}{m:02}{d:02}T{:02}{:02}Z_{}.json.gz",
                    acct.id, acct.id, (t / 3600) % 24, (t / 60) % 60 / 5 * 5, alnum(rng, 16)
                );
                let mut c = calls::s3_object(
                    rng,
                    acct,
                    region,
                    "PutObject",
                    bucket,
                    &key,
                    &[("x-amz-acl", "bucket-owner-full-control")],
                );
                c.resp = "{\"x-amz-server-side-encryption\":\"AES256\"}".into();
                ("cloudtrail.amazonaws.com", c)
            }
            3 => {
                let bucket = &acct.log_bucket;
                let mut c = build(Api::GetBucketAcl, rng, acct, region, t);
                c.req = format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.{region}.amazonaws.com\",\"acl\":\"\"}}");
                c.resources = Some(format!("[{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]", acct.id));
                ("cloudtrail.amazonaws.com", c)
            }
            4 => (
                "cloudtrail.amazonaws.com",
                build(Api::GenerateDataKey, rng, acct, region, t),
            ),
            5..=7 => {
                // A service assuming a workload role (Lambda cold start, EC2 credential refresh).
                let role_i = 1 + rng.usize(..acct.roles.len() - 1);
                let role = &acct.roles[role_i];
                let svc = match role.kind {
                    RoleKind::Ec2 => "ec2.amazonaws.com",
                    RoleKind::Lambda => "lambda.amazonaws.com",
                    _ => "codebuild.amazonaws.com",
                };
                let (key, created, session) = self.role_session(acct_i, role_i, t);
                let mut c = build(Api::GetCallerIdentity, rng, acct, region, t);
                c.name = "AssumeRole";
                c.global = false;
                let role_arn = format!("arn:aws:iam::{}:role/{}", acct.id, role.name);
                c.req = format!("{{\"roleArn\":\"{role_arn}\",\"roleSessionName\":\"{session}\",\"durationSeconds\":3600}}");
                c.resp = format!(
                    "{{\"credentials\":{{\"accessKeyId\":\"{key}\",\"sessionToken\":\"IQoJb3JpZ2luX2Vj{}\",\"expiration\":\"{}\"}},\"assumedRoleUser\":{{\"assumedRoleId\":\"{}:{session}\",\"arn\":\"arn:aws:sts::{}:assumed-role/{}/{session}\"}}}}",
                    alnum(rng, 340), crate::util::aws_long_date(created + 3600), role.role_id, acct.id, role.name
                );
                c.resources = Some(format!(
                    "[{{\"accountId\":\"{}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{role_arn}\"}}]",
                    acct.id
                ));
                (svc, c)
            }
            8 => (
                "config.amazonaws.com",
                build(Api::DescribeSecurityGroups, rng, acct, region, t),
            ),
            _ => (
                "autoscaling.amazonaws.com",
                build(Api::DescribeInstances, rng, acct, region, t),
            ),
        };
        call.global = false;
        let ident = service_identity(invoked);
        let mut rec = finish(
            rng,
            acct,
            region,
            t,
            call,
            ident,
            invoked.to_string(),
            invoked.to_string(),
            "",
        );
        rec.error = None;
        if rec.name != "GetBucketAcl" {
            rec.shared = Some(uuid(rng));
        }
        rec
    }

    /// Expected background records for (account, region, slot).
    fn slot_count(&self, rng: &mut Rng, acct_i: usize, region_i: usize, slot: i64) -> u64 {
        let t = slot * SLOT;
        let hour = ((t / 3600) % 24) as usize;
        let weekend = weekday(t) >= 5;
        let hsum: f64 = HOURS.iter().sum();
        let asum: f64 = self.org.accounts.iter().map(|a| a.weight).sum();
        let x = self.events_per_day as f64
            * if weekend { 0.45 } else { 1.0 }
            * (HOURS[hour] / hsum / 12.0)
            * (self.org.accounts[acct_i].weight / asum)
            * REGIONS[region_i].1;
        let base = x.floor();
        base as u64 + u64::from(rng.f64() < x - base)
    }

    /// Generate all AWS files, in parallel over hours of the window.
    pub(crate) fn run(&self, threads: usize) -> Result<ProviderStats, SimError> {
        let units = self.days as usize * 24;
        let next = AtomicUsize::new(0);
        let total = Mutex::new(ProviderStats::default());
        let first_err: Mutex<Option<SimError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..threads.max(1) {
                s.spawn(|| {
                    let mut stats = ProviderStats::default();
                    let mut dirs = HashSet::new();
                    let mut recs = Vec::new();
                    let mut body = Vec::new();
                    loop {
                        let u = next.fetch_add(1, Ordering::Relaxed);
                        if u >= units || first_err.lock().map(|e| e.is_some()).unwrap_or(true) {
                            break;
                        }
                        if let Err(e) = self.hour(u, &mut stats, &mut dirs, &mut recs, &mut body) {
                            if let Ok(mut slot) = first_err.lock() {
                                slot.get_or_insert(e);
                            }
                            break;
                        }
                    }
                    if let Ok(mut t) = total.lock() {
                        t.add(&stats);
                    }
                });
            }
        });
        if let Some(e) = first_err
            .into_inner()
            .map_err(|_| SimError::WorkerPanicked)?
        {
            return Err(e);
        }
        total.into_inner().map_err(|_| SimError::WorkerPanicked)
    }

    fn hour(
        &self,
        unit: usize,
        stats: &mut ProviderStats,
        dirs: &mut HashSet<PathBuf>,
        recs: &mut Vec<(i64, String)>,
        body: &mut Vec<u8>,
    ) -> Result<(), SimError> {
        let hour_start = self.start + unit as i64 * 3600;
        for acct_i in 0..self.org.accounts.len() {
            for (region_i, region) in REGIONS.iter().enumerate() {
                for s in 0..12 {
                    let slot = hour_start / SLOT + s;
                    let mut crng =
                        rng_for(self.seed, &[3, acct_i as u64, region_i as u64, slot as u64]);
                    let n = self.slot_count(&mut crng, acct_i, region_i, slot);
                    recs.clear();
                    if n > 0 || region.0 == "us-east-1" {
                        self.slot_records(acct_i, region_i, slot, n, recs);
                    }
                    if let Some(a) = self.attacks.get(&(acct_i, region_i, slot)) {
                        recs.extend(a.iter().cloned());
                    }
                    if recs.is_empty() {
                        continue;
                    }
                    recs.sort_by_key(|r| r.0);
                    self.write_file(acct_i, region_i, slot, recs, stats, dirs, body)?;
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_file(
        &self,
        acct_i: usize,
        region_i: usize,
        slot: i64,
        recs: &[(i64, String)],
        stats: &mut ProviderStats,
        dirs: &mut HashSet<PathBuf>,
        body: &mut Vec<u8>,
    ) -> Result<(), SimError> {
        let acct = &self.org.accounts[acct_i].id;
        let region = REGIONS[region_i].0;
        let t = slot * SLOT;
        let (y, m, d) = civil(t.div_euclid(86_400));
        let dir = self
            .out
            .join("AWSLogs")
            .join(acct)
            .join("CloudTrail")
            .join(region)
            .join(format!("{y:04}"))
            .join(format!("{m:02}"))
            .join(format!("{d:02}"));
        if !dirs.contains(&dir) {
            std::fs::create_dir_all(&dir).map_err(|e| SimError::io(&dir, e))?;
            dirs.insert(dir.clone());
        }
        let mut nrng = rng_for(self.seed, &[4, acct_i as u64, region_i as u64, slot as u64]);
        let name = format!(
            "{acct}_CloudTrail_{region}_{y:04}{m:02}{d:02}T{:02}{:02}Z_{}.json.gz",
            (t / 3600) % 24,
            (t / 60) % 60,
            alnum(&mut nrng, 16)
        );
        let path = dir.join(name);
        let mut raw_len = 0u64;
        body.clear();
        let mut gz = GzEncoder::new(std::mem::take(body), Compression::fast());
        let mut w = |bytes: &[u8]| -> Result<(), SimError> {
            raw_len += bytes.len() as u64;
            gz.write_all(bytes).map_err(|e| SimError::io(&path, e))
        };
        w(b"{\"Records\":[")?;
        for (i, (_, r)) in recs.iter().enumerate() {
            if i > 0 {
                w(b",")?;
            }
            w(r.as_bytes())?;
        }
        w(b"]}")?;
        let compressed = gz.finish().map_err(|e| SimError::io(&path, e))?;
        std::fs::write(&path, &compressed).map_err(|e| SimError::io(&path, e))?;
        stats.records += recs.len() as u64;
        stats.files += 1;
        stats.bytes_uncompressed += raw_len;
        stats.bytes_written += compressed.len() as u64;
        *body = compressed;
        Ok(())
    }
}

fn derive_bit(seed: u64, parts: &[u64], one_in: u64) -> bool {
    crate::util::derive(seed, parts).is_multiple_of(one_in)
}

/// Turn a call plus identity into a record, with the occasional realistic failure.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    rng: &mut Rng,
    acct: &Account,
    region: &'static str,
    t: i64,
    call: Call,
    identity: String,
    ip: String,
    ua: String,
    arn: &str,
) -> Rec {
    let region = if call.global { "us-east-1" } else { region };
    let mut error = None;
    let mut resp = call.resp;
    let x = rng.f64();
    if call.read_only && !call.data && x < 0.004 {
        error = Some(("ThrottlingException", "Rate exceeded".to_string()));
    } else if x < 0.011 && !arn.is_empty() {
        error = Some(if call.source == "ec2.amazonaws.com" {
            (
                "Client.UnauthorizedOperation",
                "You are not authorized to perform this operation.".to_string(),
            )
        } else {
            (
                "AccessDenied",
                denied_message(arn, call.source, call.name, &call.resource),
            )
        });
    } else if x < 0.016 && matches!(call.name, "GetRole" | "GetUser") {
        let what = if call.name == "GetRole" {
            "role"
        } else {
            "user"
        };
        let name = call
            .resource
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        error = Some((
            "NoSuchEntity",
            format!("The {what} with name {name} cannot be found."),
        ));
    }
    if error.is_some() {
        resp = "null".into();
    }
    Rec {
        time: t,
        version: version_for(call.source, call.data),
        identity,
        source: call.source,
        name: call.name,
        region,
        ip,
        ua,
        error,
        req: call.req,
        resp,
        additional: call.additional,
        request_id: calls::request_id(rng, call.source),
        event_id: uuid(rng),
        read_only: call.read_only,
        resources: call.resources,
        event_type: "AwsApiCall",
        management: !call.data,
        recipient: acct.id.clone(),
        shared: None,
        vpce: None,
        tls: true,
        console: false,
    }
}

pub(crate) fn console_login(
    rng: &mut Rng,
    acct: &Account,
    h: &Human,
    region: &'static str,
    t: i64,
    ip: &str,
    ok: bool,
) -> Rec {
    let ident = iam_user_identity(acct, &h.user, &h.principal_id, None, None);
    let mfa_arn = format!("arn:aws:iam::{}:mfa/{}", acct.id, h.user);
    console_login_rec(
        rng,
        acct,
        ident,
        region,
        t,
        ip,
        h.browser,
        ok,
        if ok { Some(&mfa_arn) } else { None },
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn console_login_rec(
    rng: &mut Rng,
    acct: &Account,
    ident: String,
    region: &'static str,
    t: i64,
    ip: &str,
    ua: &str,
    ok: bool,
    mfa: Option<&str>,
) -> Rec {
    let additional = crate::util::obj_string(|o| {
        o.str(
            "LoginTo",
            &format!("https://{region}.console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&region={region}&state=hashArgsFromTB_{region}_{}", crate::util::hex(rng, 16)),
        )
        .str("MobileVersion", "No");
        if let Some(m) = mfa {
            o.str("MFAIdentifier", m);
        }
        o.str("MFAUsed", if mfa.is_some() { "Yes" } else { "No" });
    });
    Rec {
        time: t,
        version: "1.09",
        identity: ident,
        source: "signin.amazonaws.com",
        name: "ConsoleLogin",
        region,
        ip: ip.to_string(),
        ua: ua.to_string(),
        error: if ok {
            None
        } else {
            Some(("", "Failed authentication".to_string()))
        },
        req: "null".into(),
        resp: format!(
            "{{\"ConsoleLogin\":\"{}\"}}",
            if ok { "Success" } else { "Failure" }
        ),
        additional: Some(additional),
        request_id: String::new(),
        event_id: uuid(rng),
        read_only: false,
        resources: None,
        event_type: "AwsConsoleSignIn",
        management: true,
        recipient: acct.id.clone(),
        shared: None,
        vpce: None,
        tls: true,
        console: false,
    }
}
