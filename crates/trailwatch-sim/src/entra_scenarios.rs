//! Microsoft Entra ID attack scenarios (sign-in and audit logs), each with a benign twin.
//!
//! Attacks come from `203.0.113.x` (documentation range) in countries the organisation has no
//! office in, except where the real attack happens in the victim's own browser (an illicit
//! consent grant). Twins are the routine versions: a mistyped password, a shared office address
//! with a few typos, an unanswered MFA prompt, a modern mail client, the office's second egress
//! address, a low and dismissed risk, the Global Administrator's own portal sign-in, a secret
//! rotation, an admin consent to an internal app, a non-privileged role, the security team's
//! planned policy edit, a helpdesk password reset, a partner invited from the office.

use crate::entra::{
    audit_id, modified, render_audit, render_signin, resource_of, target, target_user, App, Audit,
    Directory, Geo, Initiator, Line, Mfa, Person, Risk, SignIn, AZURE_PORTAL, EXCHANGE, GRAPH,
    GRAPH_CLI, NO_RISK, OFFICE_CLIENT, OFFICE_HOME, OUTLOOK, SHAREPOINT,
};
use crate::org::ORG;
use crate::util::{iso, rng_for, uuid};
use crate::{AzureLog, BenignTwin, Scenario};
use fastrand::Rng;
use serde_json::json;
use trailwatch_model::Provider;

/// Every Entra family with a scenario.
pub(crate) const FAMILIES: &[&str] = &[
    "entra.password_spray",
    "entra.brute_force",
    "entra.mfa_fatigue",
    "entra.legacy_auth",
    "entra.new_country",
    "entra.risky_signin",
    "entra.break_glass",
    "entra.app_credentials_added",
    "entra.consent_granted",
    "entra.privileged_role_member_added",
    "entra.conditional_access_changed",
    "entra.auth_method_changed",
    "entra.guest_invited",
];

/// Where the attackers are (no office there).
const ATTACKER_GEO: &[Geo] = &[
    Geo {
        city: "Bucharest",
        state: "Bucuresti",
        country: "RO",
        lat: 44.43,
        lon: 26.10,
        asn: 64496,
    },
    Geo {
        city: "Hanoi",
        state: "Ha Noi",
        country: "VN",
        lat: 21.03,
        lon: 105.85,
        asn: 64497,
    },
    Geo {
        city: "Lagos",
        state: "Lagos",
        country: "NG",
        lat: 6.45,
        lon: 3.39,
        asn: 64498,
    },
    Geo {
        city: "Frankfurt am Main",
        state: "Hessen",
        country: "DE",
        lat: 50.11,
        lon: 8.68,
        asn: 64499,
    },
    Geo {
        city: "Sao Paulo",
        state: "Sao Paulo",
        country: "BR",
        lat: -23.55,
        lon: -46.63,
        asn: 64500,
    },
    Geo {
        city: "Zurich",
        state: "Zurich",
        country: "CH",
        lat: 47.37,
        lon: 8.54,
        asn: 64501,
    },
];

const ATTACKER_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SCRIPT_UA: &str = "python-requests/2.31.0";

/// A scenario or twin being written.
pub(crate) struct Ctx<'a> {
    dir: &'a Directory,
    rng: Rng,
    k: usize,
    t: i64,
    /// Start of the twin's working day (UTC midnight plus a few hours of jitter).
    day: i64,
    /// Last second records may be placed at.
    limit: i64,
    geo: Geo,
    ip: String,
    principal: String,
    ua: String,
    lines: Vec<Line>,
    ids: Vec<String>,
    calls: Vec<String>,
    targets: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// Act as the attacker of scenario `k`: its address and country.
    fn attacker(&mut self) {
        self.geo = ATTACKER_GEO[self.k % ATTACKER_GEO.len()];
        self.ip = format!("203.0.113.{}", 10 + (self.k * 17) % 240);
        self.ua = ATTACKER_UA.to_string();
    }

    /// Act as `p` at work: from the office, at 09:00–16:00 of their time on the twin's day.
    fn at_work(&mut self, p: &Person) {
        self.geo = p.geo();
        self.ip = p.office_ip.clone();
        self.ua = p.ua.to_string();
        self.principal = p.upn.clone();
        self.t = (self.day + (9 - p.tz) * 3600).min(self.limit);
    }

    fn next(&mut self, lo: i64, hi: i64) {
        self.t += self.rng.i64(lo..hi);
    }

    fn call(&mut self, name: &str) {
        if !self.calls.iter().any(|c| c == name) {
            self.calls.push(name.to_string());
        }
    }

    /// An interactive sign-in of `who` from the current address, not yet pushed.
    fn signin(&mut self, who: &'a Person, app: App, error: u32, mfa: Mfa) -> SignIn<'a> {
        SignIn {
            who,
            t: self.t,
            frac: self.rng.u32(..10_000_000),
            interactive: true,
            app,
            resource: resource_of(app),
            ip: self.ip.clone(),
            geo: self.geo,
            client_app: if app == OFFICE_HOME || app == AZURE_PORTAL {
                "Browser"
            } else {
                "Mobile Apps and Desktop clients"
            },
            user_agent: self.ua.clone(),
            error,
            mfa,
            risk: NO_RISK,
            own_device: false,
            correlation: uuid(&mut self.rng),
            id: uuid(&mut self.rng),
        }
    }

    fn push_signin(&mut self, s: &SignIn<'_>) {
        self.lines.push(render_signin(self.dir, s));
        self.ids.push(s.id.clone());
        self.call("Sign-in activity");
    }

    /// A directory change by `by`, 20–90 s after the previous record.
    #[allow(clippy::too_many_arguments)]
    fn audit(
        &mut self,
        by: Initiator<'a>,
        activity: &'static str,
        category: &'static str,
        service: &'static str,
        operation_type: &'static str,
        targets: Vec<serde_json::Value>,
        details: Vec<(&'static str, String)>,
        reason: &str,
    ) {
        self.next(20, 90);
        let correlation = uuid(&mut self.rng);
        let a = Audit {
            t: self.t,
            frac: self.rng.u32(..10_000_000),
            activity,
            category,
            service,
            operation_type,
            by,
            targets,
            details,
            result_reason: reason.to_string(),
            id: audit_id(&mut self.rng, &correlation),
            correlation,
        };
        self.lines.push(render_audit(self.dir, &a));
        self.ids.push(a.id.clone());
        self.call(activity);
    }

    /// Initiator: the user `p` from the current address.
    fn by(&self, p: &'a Person) -> Initiator<'a> {
        Initiator::User(p, self.ip.clone())
    }

    /// The victim of sign-in scenario `k` (a different ordinary employee for each).
    fn victim(&self) -> &'a Person {
        let staff = self.dir.staff();
        &staff[2 + self.k % (staff.len() - 2)]
    }

    /// An ordinary employee for twin `k`, from the other end of the staff list.
    fn colleague(&self) -> &'a Person {
        let staff = self.dir.staff();
        &staff[staff.len() - 1 - self.k % (staff.len() - 2)]
    }

    /// An administrator account the attacker of scenario `k` has taken over.
    fn compromised_admin(&self) -> &'a Person {
        let a = &self.dir.attacked_admins;
        &self.dir.people[a[self.k % a.len()]]
    }

    /// A routine administrator: 0 the Global Administrator, 1 security, 2 platform.
    fn routine_admin(&self, n: usize) -> &'a Person {
        let a = &self.dir.routine_admins;
        &self.dir.people[a[n % a.len()]]
    }
}

// --- sign-in scenarios --------------------------------------------------------------------------

fn password_spray(c: &mut Ctx<'_>) {
    c.attacker();
    c.ua = SCRIPT_UA.to_string();
    let dir = c.dir;
    let winner = c.victim();
    let mut tried = Vec::new();
    for p in dir.staff().iter().skip(2) {
        if tried.len() == 14 {
            break;
        }
        if p.upn != winner.upn {
            tried.push(p);
        }
    }
    for p in tried {
        c.next(40, 100);
        let s = c.signin(p, OFFICE_CLIENT, 50126, Mfa::None);
        c.push_signin(&s);
        c.targets.push(p.upn.clone());
    }
    c.next(40, 100);
    let s = c.signin(winner, OFFICE_CLIENT, 0, Mfa::None);
    c.push_signin(&s);
    c.principal = winner.upn.clone();
}

fn password_spray_twin(c: &mut Ctx<'_>) {
    // Morning typos behind the office's shared address: a few people, once each.
    let dir = c.dir;
    let first = c.colleague();
    c.at_work(first);
    let same: Vec<&Person> = dir
        .staff()
        .iter()
        .filter(|p| p.office_ip == first.office_ip)
        .take(4)
        .collect();
    for p in same {
        c.next(60, 400);
        c.ua = p.ua.to_string();
        let s = c.signin(p, OFFICE_HOME, 50126, Mfa::None);
        c.push_signin(&s);
        c.next(8, 40);
        let mut ok = c.signin(p, OFFICE_HOME, 0, Mfa::Done("Mobile app notification"));
        ok.own_device = true;
        c.push_signin(&ok);
        c.targets.push(p.upn.clone());
    }
}

fn brute_force(c: &mut Ctx<'_>) {
    c.attacker();
    let v = c.victim();
    c.principal = v.upn.clone();
    for i in 0..25 {
        c.next(25, 60);
        let code = if i >= 10 && i % 5 == 0 { 50053 } else { 50126 };
        let s = c.signin(v, OFFICE_HOME, code, Mfa::None);
        c.push_signin(&s);
    }
    c.next(30, 90);
    let s = c.signin(v, OFFICE_HOME, 0, Mfa::None);
    c.push_signin(&s);
}

fn brute_force_twin(c: &mut Ctx<'_>) {
    let p = c.colleague();
    c.at_work(p);
    for _ in 0..2 {
        c.next(5, 30);
        let mut s = c.signin(p, OFFICE_HOME, 50126, Mfa::None);
        s.own_device = true;
        c.push_signin(&s);
    }
    c.next(5, 30);
    let mut s = c.signin(p, OFFICE_HOME, 0, Mfa::Done("Mobile app notification"));
    s.own_device = true;
    c.push_signin(&s);
}

fn mfa_fatigue(c: &mut Ctx<'_>) {
    c.attacker();
    let v = c.victim();
    c.principal = v.upn.clone();
    let corr = uuid(&mut c.rng);
    for i in 0..7 {
        c.next(50, 80);
        let detail = if i % 3 == 2 {
            "MFA denied; user did not respond to mobile app notification"
        } else {
            "MFA denied; user declined the authentication"
        };
        let mut s = c.signin(v, OFFICE_HOME, 500121, Mfa::Failed(detail));
        s.correlation = corr.clone();
        c.push_signin(&s);
    }
    c.next(40, 80);
    let s = c.signin(v, OFFICE_HOME, 0, Mfa::Done("Mobile app notification"));
    c.push_signin(&s);
}

fn mfa_fatigue_twin(c: &mut Ctx<'_>) {
    let p = c.colleague();
    c.at_work(p);
    let mut s = c.signin(
        p,
        OFFICE_HOME,
        500121,
        Mfa::Failed("MFA denied; user did not respond to mobile app notification"),
    );
    s.own_device = true;
    c.push_signin(&s);
    c.next(40, 120);
    let mut s = c.signin(p, OFFICE_HOME, 0, Mfa::Done("Mobile app notification"));
    s.own_device = true;
    c.push_signin(&s);
}

fn legacy_auth(c: &mut Ctx<'_>) {
    c.attacker();
    c.ua = "BAV2ROPC".to_string();
    let v = c.victim();
    c.principal = v.upn.clone();
    for client in ["IMAP4", "Authenticated SMTP"] {
        c.next(30, 300);
        let mut s = c.signin(v, EXCHANGE, 0, Mfa::None);
        s.client_app = client;
        c.push_signin(&s);
    }
}

fn legacy_auth_twin(c: &mut Ctx<'_>) {
    let p = c.colleague();
    c.at_work(p);
    let mut s = c.signin(p, OUTLOOK, 0, Mfa::Claim);
    s.own_device = true;
    s.user_agent =
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)".into();
    c.push_signin(&s);
}

fn new_country(c: &mut Ctx<'_>) {
    c.attacker();
    let v = c.victim();
    c.principal = v.upn.clone();
    // A session token replayed (adversary in the middle): MFA satisfied by the stolen claim.
    for app in [OFFICE_HOME, SHAREPOINT] {
        c.next(20, 200);
        let s = c.signin(v, app, 0, Mfa::Claim);
        c.push_signin(&s);
    }
}

fn new_country_twin(c: &mut Ctx<'_>) {
    // The office's other egress address: same city, same country, same device.
    let p = c.colleague();
    c.at_work(p);
    let (net, last) = p
        .office_ip
        .rsplit_once('.')
        .unwrap_or((p.office_ip.as_str(), "10"));
    c.ip = format!("{net}.{}", if last == "11" { 12 } else { 11 });
    let mut s = c.signin(p, OFFICE_HOME, 0, Mfa::Claim);
    s.own_device = true;
    c.push_signin(&s);
}

fn risky(c: &mut Ctx<'_>) {
    c.attacker();
    c.ua = "Mozilla/5.0 (Windows NT 10.0; rv:115.0) Gecko/20100101 Firefox/115.0".into();
    let v = c.victim();
    c.principal = v.upn.clone();
    c.next(5, 30);
    let mut s = c.signin(v, OFFICE_HOME, 0, Mfa::None);
    s.risk = Risk {
        level: "high",
        state: "atRisk",
        detail: "none",
        events: &["anonymizedIPAddress", "unfamiliarFeatures"],
    };
    c.push_signin(&s);
}

fn risky_twin(c: &mut Ctx<'_>) {
    let p = c.colleague();
    c.at_work(p);
    let mut s = c.signin(p, OFFICE_HOME, 0, Mfa::Done("Mobile app notification"));
    s.own_device = true;
    s.risk = Risk {
        level: "low",
        state: "dismissed",
        detail: "aiConfirmedSigninSafe",
        events: &["unfamiliarFeatures"],
    };
    c.push_signin(&s);
}

fn break_glass(c: &mut Ctx<'_>) {
    c.attacker();
    let dir = c.dir;
    let bg = &dir.break_glass[0];
    c.principal = bg.upn.clone();
    for app in [AZURE_PORTAL, GRAPH_CLI] {
        c.next(30, 240);
        let s = c.signin(bg, app, 0, Mfa::None);
        c.push_signin(&s);
    }
}

fn break_glass_twin(c: &mut Ctx<'_>) {
    let ga = c.routine_admin(0);
    c.at_work(ga);
    let mut s = c.signin(ga, AZURE_PORTAL, 0, Mfa::Done("Mobile app notification"));
    s.own_device = true;
    c.push_signin(&s);
}

// --- audit scenarios ----------------------------------------------------------------------------

fn key(rng: &mut Rng, kind: &str, name: &str) -> String {
    format!(
        "[KeyIdentifier={},KeyType={kind},KeyUsage=Verify,DisplayName={name}]",
        uuid(rng)
    )
}

/// A JSON list of strings, as text.
fn list<S: AsRef<str>>(keys: &[S]) -> String {
    let v: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&v).unwrap_or_default()
}

fn app_credentials(c: &mut Ctx<'_>) {
    c.attacker();
    let who = c.compromised_admin();
    c.principal = who.upn.clone();
    let dir = c.dir;
    let sp = &dir.sps[1 % dir.sps.len()];
    let app_object = uuid(&mut c.rng);
    let old = key(&mut c.rng, "Password", "terraform-ci");
    let added = key(&mut c.rng, "Password", "sync");
    let props = vec![
        modified(
            "KeyDescription",
            Some(&list(&[&old])),
            Some(&list(&[&old, &added])),
        ),
        modified(
            "Included Updated Properties",
            None,
            Some("\"KeyDescription\""),
        ),
    ];
    let by = c.by(who);
    c.audit(
        by,
        "Update application – Certificates and secrets management ",
        "ApplicationManagement",
        "Core Directory",
        "Update",
        vec![target("Application", &app_object, sp.name, props)],
        vec![],
        "",
    );
    let cert = key(&mut c.rng, "AsymmetricX509Cert", "CN=sync");
    let props = vec![
        modified("KeyDescription", Some("[]"), Some(&list(&[&cert]))),
        modified(
            "Included Updated Properties",
            None,
            Some("\"KeyDescription\""),
        ),
    ];
    let by = c.by(who);
    c.audit(
        by,
        "Add service principal credentials",
        "ApplicationManagement",
        "Core Directory",
        "Update",
        vec![target("ServicePrincipal", &sp.object_id, sp.name, props)],
        vec![],
        "",
    );
    c.targets.push(sp.name.to_string());
}

fn app_credentials_twin(c: &mut Ctx<'_>) {
    // The owner rotates the backup automation's secret: one key replaced by another.
    let owner = c.routine_admin(2);
    c.at_work(owner);
    let dir = c.dir;
    let sp = &dir.sps[3 % dir.sps.len()];
    let app_object = uuid(&mut c.rng);
    let old = key(&mut c.rng, "Password", "backup-2026-q3");
    let new = key(&mut c.rng, "Password", "backup-2026-q4");
    let props = vec![
        modified("KeyDescription", Some(&list(&[&old])), Some(&list(&[&new]))),
        modified(
            "Included Updated Properties",
            None,
            Some("\"KeyDescription\""),
        ),
    ];
    let by = c.by(owner);
    c.audit(
        by,
        "Update application – Certificates and secrets management ",
        "ApplicationManagement",
        "Core Directory",
        "Update",
        vec![target("Application", &app_object, sp.name, props)],
        vec![],
        "",
    );
    c.targets.push(sp.name.to_string());
}

fn consent_records<'a>(
    c: &mut Ctx<'a>,
    who: &'a Person,
    app: (&str, &str),
    scope: &str,
    admin: bool,
) {
    let sp = uuid(&mut c.rng);
    let graph_sp = uuid(&mut c.rng);
    let consent_type = if admin { "AllPrincipals" } else { "Principal" };
    let flag = if admin { "\"True\"" } else { "\"False\"" };
    let grant = format!(
        "[] => [[Id: {}, ClientId: {sp}, PrincipalId: {}, ResourceId: {graph_sp}, ConsentType: {consent_type}, Scope: {scope}]]; ",
        uuid(&mut c.rng),
        if admin { "" } else { who.object_id.as_str() }
    );
    let by = c.by(who);
    let perm = vec![
        modified(
            "DelegatedPermissionGrant.Scope",
            Some("\"\""),
            Some(&format!("\"{scope}\"")),
        ),
        modified(
            "DelegatedPermissionGrant.ConsentType",
            Some("\"\""),
            Some(&format!("\"{consent_type}\"")),
        ),
        modified(
            "ServicePrincipal.ObjectID",
            None,
            Some(&format!("\"{sp}\"")),
        ),
    ];
    c.audit(
        by,
        "Add delegated permission grant",
        "ApplicationManagement",
        "Core Directory",
        "Assign",
        vec![target("ServicePrincipal", &graph_sp, GRAPH.0, perm)],
        vec![],
        "",
    );
    let props = vec![
        modified("ConsentContext.IsAdminConsent", None, Some(flag)),
        modified("ConsentContext.IsAppOnly", None, Some("\"False\"")),
        modified("ConsentContext.OnBehalfOfAll", None, Some(flag)),
        modified(
            "ConsentContext.Tags",
            None,
            Some("\"WindowsAzureActiveDirectoryIntegratedApp\""),
        ),
        modified(
            "ConsentAction.Permissions",
            None,
            Some(&format!("\"{grant}\"")),
        ),
        modified(
            "TargetId.ServicePrincipalNames",
            None,
            Some(&format!("\"{}\"", app.1)),
        ),
    ];
    let by = c.by(who);
    let ua = c.ua.clone();
    c.audit(
        by,
        "Consent to application",
        "ApplicationManagement",
        "Core Directory",
        "Assign",
        vec![target("ServicePrincipal", &sp, app.0, props)],
        vec![("User-Agent", ua), ("AppId", app.1.to_string())],
        "",
    );
    c.targets.push(app.0.to_string());
}

fn consent(c: &mut Ctx<'_>) {
    // Illicit consent: the victim clicks "Accept" in their own browser, from their own address.
    let v = c.victim();
    c.geo = v.geo();
    c.ip = v.home_ip.clone();
    c.ua = v.ua.to_string();
    c.principal = v.upn.clone();
    let app_id = uuid(&mut c.rng);
    let sp = uuid(&mut c.rng);
    let props = vec![
        modified("AccountEnabled", None, Some("[true]")),
        modified("AppPrincipalId", None, Some(&format!("[\"{app_id}\"]"))),
        modified("DisplayName", None, Some("[\"Mail Backup Pro\"]")),
        modified(
            "AppOwnerOrganizationId",
            None,
            Some(&format!("[\"{}\"]", uuid(&mut c.rng))),
        ),
    ];
    let by = c.by(v);
    c.audit(
        by,
        "Add service principal",
        "ApplicationManagement",
        "Core Directory",
        "Add",
        vec![target("ServicePrincipal", &sp, "Mail Backup Pro", props)],
        vec![],
        "",
    );
    consent_records(
        c,
        v,
        ("Mail Backup Pro", &app_id),
        "Mail.Read Mail.Send Files.ReadWrite.All offline_access User.Read",
        false,
    );
}

fn consent_twin(c: &mut Ctx<'_>) {
    let ga = c.routine_admin(0);
    c.at_work(ga);
    let app_id = uuid(&mut c.rng);
    consent_records(
        c,
        ga,
        (&format!("{ORG}-intranet"), &app_id),
        "User.Read",
        true,
    );
}

fn role_member<'a>(c: &mut Ctx<'a>, by: &'a Person, who: (&str, &str), role: (&str, &str, &str)) {
    let role_object = uuid(&mut c.rng);
    let props = vec![
        modified("Role.ObjectID", None, Some(&format!("\"{role_object}\""))),
        modified("Role.DisplayName", None, Some(&format!("\"{}\"", role.0))),
        modified("Role.TemplateId", None, Some(&format!("\"{}\"", role.1))),
        modified(
            "Role.WellKnownObjectName",
            None,
            Some(&format!("\"{}\"", role.2)),
        ),
    ];
    let user = json!({"id": who.0, "displayName": null, "type": "User", "userPrincipalName": who.1,
        "modifiedProperties": props, "administrativeUnits": []});
    let by = c.by(by);
    c.audit(
        by,
        "Add member to role",
        "RoleManagement",
        "Core Directory",
        "Assign",
        vec![user, target("Role", &role_object, role.0, vec![])],
        vec![],
        "",
    );
    c.targets.push(who.1.to_string());
}

fn global_admin_added(c: &mut Ctx<'_>) {
    c.attacker();
    let who = c.compromised_admin();
    c.principal = who.upn.clone();
    let new_id = uuid(&mut c.rng);
    let upn = format!("svc-sync-admin@{ORG}.com");
    let props = vec![
        modified("AccountEnabled", None, Some("[true]")),
        modified("DisplayName", None, Some("[\"svc-sync-admin\"]")),
        modified("UserPrincipalName", None, Some(&format!("[\"{upn}\"]"))),
        modified("UserType", None, Some("[\"Member\"]")),
    ];
    let user = json!({"id": new_id, "displayName": null, "type": "User", "userPrincipalName": upn,
        "modifiedProperties": props, "administrativeUnits": []});
    let by = c.by(who);
    c.audit(
        by,
        "Add user",
        "UserManagement",
        "Core Directory",
        "Add",
        vec![user],
        vec![],
        "",
    );
    role_member(
        c,
        who,
        (&new_id, &upn),
        (
            "Global Administrator",
            "62e90394-69f5-4237-9190-012177145e10",
            "TenantAdmins",
        ),
    );
}

fn global_admin_twin(c: &mut Ctx<'_>) {
    let ga = c.routine_admin(0);
    c.at_work(ga);
    let p = c.colleague();
    role_member(
        c,
        ga,
        (&p.object_id, &p.upn),
        (
            "Reports Reader",
            "4a5d8f65-41da-4de4-8968-e035b65339cf",
            "ReportsReader",
        ),
    );
}

fn ca_policy(dir: &Directory, i: usize, state: &str, exclude: &[&str], groups: &[&str]) -> String {
    let mut excluded: Vec<String> = dir
        .break_glass
        .iter()
        .map(|p| p.object_id.clone())
        .collect();
    excluded.extend(exclude.iter().map(|s| s.to_string()));
    let grant = if i == 0 { "mfa" } else { "block" };
    let apps = if i == 0 {
        json!(["all"])
    } else {
        json!(["exchangeActiveSync", "other"])
    };
    json!({"id": dir.ca_policies[i].1, "displayName": dir.ca_policies[i].0, "state": state,
        "conditions": {"applications": {"includeApplications": ["All"]}, "clientAppTypes": apps,
            "users": {"includeUsers": ["All"], "excludeUsers": excluded, "includeGroups": groups, "excludeGroups": []}},
        "grantControls": {"operator": "OR", "builtInControls": [grant]}})
    .to_string()
}

fn conditional_access(c: &mut Ctx<'_>) {
    c.attacker();
    let who = c.compromised_admin();
    c.principal = who.upn.clone();
    let dir = c.dir;
    let old = ca_policy(dir, 0, "enabled", &[], &[]);
    let new = ca_policy(dir, 0, "disabled", &[who.object_id.as_str()], &[]);
    let by = c.by(who);
    c.audit(
        by,
        "Update conditional access policy",
        "Policy",
        "Conditional Access",
        "Update",
        vec![target(
            "Policy",
            &dir.ca_policies[0].1,
            dir.ca_policies[0].0,
            vec![modified("ConditionalAccessPolicy", Some(&old), Some(&new))],
        )],
        vec![],
        "",
    );
    let old = ca_policy(dir, 1, "enabled", &[], &[]);
    let by = c.by(who);
    c.audit(
        by,
        "Delete conditional access policy",
        "Policy",
        "Conditional Access",
        "Delete",
        vec![target(
            "Policy",
            &dir.ca_policies[1].1,
            dir.ca_policies[1].0,
            vec![modified("ConditionalAccessPolicy", Some(&old), None)],
        )],
        vec![],
        "",
    );
}

fn conditional_access_twin(c: &mut Ctx<'_>) {
    // The security team's planned change: a new group brought under the MFA policy, still on.
    let sec = c.routine_admin(1);
    c.at_work(sec);
    let dir = c.dir;
    let group = uuid(&mut c.rng);
    let old = ca_policy(dir, 0, "enabled", &[], &[]);
    let new = ca_policy(dir, 0, "enabled", &[], &[group.as_str()]);
    let by = c.by(sec);
    c.audit(
        by,
        "Update conditional access policy",
        "Policy",
        "Conditional Access",
        "Update",
        vec![target(
            "Policy",
            &dir.ca_policies[0].1,
            dir.ca_policies[0].0,
            vec![modified("ConditionalAccessPolicy", Some(&old), Some(&new))],
        )],
        vec![("Change ticket", "SEC-3107".to_string())],
        "",
    );
}

fn auth_method(c: &mut Ctx<'_>) {
    c.attacker();
    let v = c.victim();
    c.principal = v.upn.clone();
    let by = c.by(v);
    c.audit(
        by,
        "User started security info registration",
        "UserManagement",
        "Authentication Methods",
        "Add",
        vec![target_user(v, vec![])],
        vec![],
        "User started the registration for Authenticator App with Notification and Code",
    );
    let by = c.by(v);
    c.audit(
        by,
        "User registered security info",
        "UserManagement",
        "Authentication Methods",
        "Add",
        vec![target_user(v, vec![])],
        vec![],
        "User registered Authenticator App with Notification and Code",
    );
}

fn auth_method_twin(c: &mut Ctx<'_>) {
    // The helpdesk resets a colleague's password and registers their new phone, from the office.
    let dir = c.dir;
    let hd = &dir.people[dir.helpdesk()];
    c.at_work(hd);
    let p = c.colleague();
    let by = c.by(hd);
    c.audit(
        by,
        "Reset user password",
        "UserManagement",
        "Core Directory",
        "Update",
        vec![target_user(p, vec![])],
        vec![],
        "",
    );
    let by = c.by(hd);
    c.audit(
        by,
        "Admin registered security info",
        "UserManagement",
        "Authentication Methods",
        "Add",
        vec![target_user(p, vec![])],
        vec![],
        "Admin registered mobile phone for user",
    );
    c.targets.push(p.upn.clone());
}

fn guest_records<'a>(c: &mut Ctx<'a>, by: &'a Person, email: &str, name: &str) {
    let gid = uuid(&mut c.rng);
    let upn = format!("{}#EXT#@{ORG}.onmicrosoft.com", email.replace('@', "_"));
    let guest = json!({"id": gid, "displayName": name, "type": "User", "userPrincipalName": upn,
        "modifiedProperties": [], "administrativeUnits": []});
    let who = c.by(by);
    c.audit(
        who,
        "Invite external user",
        "UserManagement",
        "Invited Users",
        "Add",
        vec![guest],
        vec![("invitedUserEmailAddress", email.to_string())],
        "",
    );
    let props = vec![
        modified("AccountEnabled", None, Some("[true]")),
        modified("UserType", None, Some("[\"Guest\"]")),
        modified("UserPrincipalName", None, Some(&format!("[\"{upn}\"]"))),
    ];
    let user = json!({"id": gid, "displayName": null, "type": "User", "userPrincipalName": upn,
        "modifiedProperties": props, "administrativeUnits": []});
    let who = c.by(by);
    c.audit(
        who,
        "Add user",
        "UserManagement",
        "Core Directory",
        "Add",
        vec![user],
        vec![],
        "",
    );
    c.targets.push(email.to_string());
}

fn guest_invited(c: &mut Ctx<'_>) {
    c.attacker();
    let v = c.victim();
    c.principal = v.upn.clone();
    guest_records(c, v, "it.support.desk@proton.me", "IT Support");
}

fn guest_invited_twin(c: &mut Ctx<'_>) {
    let dir = c.dir;
    let pm = &dir.staff()[1];
    c.at_work(pm);
    guest_records(
        c,
        pm,
        "j.martin@northwind-logistics.example",
        "Julie Martin (Northwind)",
    );
}

type Steps = fn(&mut Ctx<'_>);

struct Recipe {
    name: &'static str,
    technique: &'static str,
    description: &'static str,
    log: AzureLog,
    family: &'static str,
    /// Placed after 60 % of the window: the detection needs the user's history first.
    late: bool,
    attack: Steps,
    twin_description: &'static str,
    twin: Steps,
}

const RECIPES: &[Recipe] = &[
    Recipe { name: "entra_password_spray", technique: "T1110.003", log: AzureLog::Signin, family: "entra.password_spray", late: false,
        description: "One address tries one password on 14 users (50126) within about 20 minutes, then signs in as a 15th.",
        attack: password_spray, twin_description: "Up to four people behind the office's shared address mistype their password once each, then sign in.", twin: password_spray_twin },
    Recipe { name: "entra_brute_force", technique: "T1110.001", log: AzureLog::Signin, family: "entra.brute_force", late: false,
        description: "25 failed sign-ins (50126, some 50053 lockouts) on one user in about 20 minutes, then a single-factor success.",
        attack: brute_force, twin_description: "A user mistypes their password twice, then signs in with MFA from the office.", twin: brute_force_twin },
    Recipe { name: "entra_mfa_fatigue", technique: "T1621", log: AzureLog::Signin, family: "entra.mfa_fatigue", late: false,
        description: "Correct password, then 7 push notifications denied or ignored (500121) in about 8 minutes, then one approved.",
        attack: mfa_fatigue, twin_description: "A user misses one MFA prompt and approves the next.", twin: mfa_fatigue_twin },
    Recipe { name: "entra_legacy_authentication", technique: "T1078.004", log: AzureLog::Signin, family: "entra.legacy_auth", late: false,
        description: "IMAP4 and authenticated SMTP sign-ins (basic authentication, BAV2ROPC) from an outside address.",
        attack: legacy_auth, twin_description: "A user's Outlook desktop client signs in with modern authentication.", twin: legacy_auth_twin },
    Recipe { name: "entra_sign_in_new_country", technique: "T1078.004", log: AzureLog::Signin, family: "entra.new_country", late: true,
        description: "A user's session used from Brazil, a country the user (and the organisation) never signed in from.",
        attack: new_country, twin_description: "A user signs in through the office's other egress address (same city and country).", twin: new_country_twin },
    Recipe { name: "entra_risky_sign_in", technique: "T1078.004", log: AzureLog::Signin, family: "entra.risky_signin", late: true,
        description: "A successful single-factor sign-in with high risk (anonymized IP, unfamiliar features).",
        attack: risky, twin_description: "A sign-in with low risk that Identity Protection dismissed, MFA done.", twin: risky_twin },
    Recipe { name: "entra_break_glass_used", technique: "T1078.004", log: AzureLog::Signin, family: "entra.break_glass", late: false,
        description: "The emergency-access account signs in to the Azure portal and Microsoft Graph from an outside address.",
        attack: break_glass, twin_description: "The Global Administrator signs in to the portal from the office with MFA.", twin: break_glass_twin },
    Recipe { name: "entra_app_credentials_added", technique: "T1098.001", log: AzureLog::Audit, family: "entra.app_credentials_added", late: false,
        description: "A second secret added to an automation application and a certificate to its service principal.",
        attack: app_credentials, twin_description: "The owner rotates the backup automation's secret (one key replaced by another).", twin: app_credentials_twin },
    Recipe { name: "entra_consent_granted", technique: "T1528", log: AzureLog::Audit, family: "entra.consent_granted", late: false,
        description: "A user consents to an outside multi-tenant app asking for mail, files and offline access.",
        attack: consent, twin_description: "The Global Administrator gives admin consent to the internal intranet app for User.Read.", twin: consent_twin },
    Recipe { name: "entra_global_admin_added", technique: "T1098.003", log: AzureLog::Audit, family: "entra.privileged_role_member_added", late: false,
        description: "A new account created and made Global Administrator.",
        attack: global_admin_added, twin_description: "The Global Administrator adds a colleague to Reports Reader.", twin: global_admin_twin },
    Recipe { name: "entra_conditional_access_weakened", technique: "T1556.009", log: AzureLog::Audit, family: "entra.conditional_access_changed", late: false,
        description: "The MFA policy disabled (and the attacker excluded), the legacy-authentication block deleted.",
        attack: conditional_access, twin_description: "The security team brings a new group under the MFA policy (planned change, policy stays on).", twin: conditional_access_twin },
    Recipe { name: "entra_auth_method_registered", technique: "T1098.005", log: AzureLog::Audit, family: "entra.auth_method_changed", late: false,
        description: "An authenticator app registered on a user's account from an outside address.",
        attack: auth_method, twin_description: "The helpdesk resets a colleague's password and registers their phone.", twin: auth_method_twin },
    Recipe { name: "entra_guest_invited", technique: "T1136.003", log: AzureLog::Audit, family: "entra.guest_invited", late: false,
        description: "A guest with a free mail address invited from an outside address.",
        attack: guest_invited, twin_description: "A project manager invites a partner's employee from the office.", twin: guest_invited_twin },
];

/// What the Entra scenarios add.
pub(crate) struct Built {
    pub lines: Vec<Line>,
    pub scenarios: Vec<Scenario>,
    pub twins: Vec<BenignTwin>,
}

fn ctx<'a>(dir: &'a Directory, seed: u64, salt: u64, k: usize, t: i64, limit: i64) -> Ctx<'a> {
    Ctx {
        dir,
        rng: rng_for(seed, &[salt, k as u64]),
        k,
        t,
        day: t,
        limit,
        geo: ATTACKER_GEO[0],
        ip: String::new(),
        principal: String::new(),
        ua: String::new(),
        lines: Vec::new(),
        ids: Vec::new(),
        calls: Vec::new(),
        targets: Vec::new(),
    }
}

/// The scenarios (with `attacks`) and every twin.
pub(crate) fn build(dir: &Directory, seed: u64, attacks: bool, start: i64, days: u32) -> Built {
    let window = days as i64 * 86_400;
    let limit = start + window - 3600;
    let times = crate::scenario_times(seed, 5, RECIPES.len(), start, window);
    let twin_days = crate::twin_days(seed, 5, RECIPES.len(), start, days);
    let mut out = Built {
        lines: Vec::new(),
        scenarios: Vec::new(),
        twins: Vec::new(),
    };
    for (k, r) in RECIPES.iter().enumerate() {
        let id = format!(
            "entra-{:02}-{}",
            k + 1,
            r.name.trim_start_matches("entra_").replace('_', "-")
        );
        if attacks {
            let t = if r.late {
                times[k].max(start + window * 6 / 10)
            } else {
                times[k]
            };
            let mut c = ctx(dir, seed, 80, k, t.min(limit), limit);
            (r.attack)(&mut c);
            out.scenarios.push(scenario(dir, &id, r, &c));
            out.lines.append(&mut c.lines);
        }
        let mut c = ctx(dir, seed, 81, k, twin_days[k], limit);
        (r.twin)(&mut c);
        out.twins.push(twin(dir, &id, r, &c));
        out.lines.append(&mut c.lines);
    }
    out
}

fn bounds(c: &Ctx<'_>) -> (String, String) {
    let lo = c.lines.iter().map(|l| l.t).min().unwrap_or(c.t);
    let hi = c.lines.iter().map(|l| l.t).max().unwrap_or(c.t);
    (iso(lo), iso(hi + 1))
}

fn scenario(dir: &Directory, id: &str, r: &Recipe, c: &Ctx<'_>) -> Scenario {
    let (start, end) = bounds(c);
    Scenario {
        id: id.to_string(),
        name: r.name.to_string(),
        provider: Provider::Entra,
        technique: r.technique.to_string(),
        description: r.description.to_string(),
        account: dir.tenant_id.clone(),
        region: c.geo.country.to_string(),
        principal: c.principal.clone(),
        access_key: None,
        source_ip: c.ip.clone(),
        user_agent: c.ua.clone(),
        start,
        end,
        event_ids: c.ids.clone(),
        api_calls: c.calls.clone(),
        event_count: c.lines.len(),
        log: Some(r.log),
        families: vec![r.family.to_string()],
        twin: Some(format!("{id}-benign")),
        targets: c.targets.clone(),
    }
}

fn twin(dir: &Directory, id: &str, r: &Recipe, c: &Ctx<'_>) -> BenignTwin {
    let (start, end) = bounds(c);
    BenignTwin {
        id: format!("{id}-benign"),
        name: format!("{}_benign", r.name),
        twin_of: id.to_string(),
        provider: Provider::Entra,
        log: r.log,
        families: vec![r.family.to_string()],
        description: r.twin_description.to_string(),
        account: dir.tenant_id.clone(),
        region: c.geo.country.to_string(),
        principal: c.principal.clone(),
        source_ip: c.ip.clone(),
        start,
        end,
        event_ids: c.ids.clone(),
        api_calls: c.calls.clone(),
        event_count: c.lines.len(),
        targets: c.targets.clone(),
    }
}
