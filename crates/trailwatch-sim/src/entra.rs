//! Microsoft Entra ID sign-in and audit logs: the tenant's directory (people, break-glass
//! accounts, service principals), their background activity, and the writer for the tenant
//! diagnostic setting's storage layout (`insights-logs-<category>/tenantId=<tid>/y=…/m=…/d=…/
//! h=…/m=00/PT1H.json`, one JSON object per line, fields as in the Azure Monitor schema of each
//! category).
//!
//! Background: the organisation's people sign in on working days from their office (sometimes
//! from home), interactively to Microsoft 365 and, for the Azure administrators, to the portal;
//! their clients refresh tokens non-interactively through the day; a few ordinary failures (a
//! mistyped password, the MFA and keep-me-signed-in interrupts, an expired session). The
//! automation service principals sign in to Azure Resource Manager. Routine directory audits:
//! profile updates, group membership, device updates, self-service password changes, app
//! assignments. Never in the background: break-glass sign-ins, legacy protocols, risky
//! sign-ins, attacker ranges, role or consent or credential or conditional access changes,
//! security info registration, guest invitations.

use crate::org::{office_of, Org, FIRST, LAST, OFFICE_NETS, ORG};
use crate::util::{civil, iso7, pick, rng_for, upnum, uuid, weekday, weighted};
use crate::{BenignTwin, EntraTenant, ProviderStats, Scenario, SimError, SimOptions};
use fastrand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A place an address is located at, as sign-in logs report it.
#[derive(Clone, Copy)]
pub(crate) struct Geo {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub asn: u32,
}

/// Offices, in `OFFICE_NETS` order, with the home-broadband prefix of their staff.
const OFFICE_GEO: &[(Geo, &str)] = &[
    (
        Geo {
            city: "Amsterdam",
            state: "Noord-Holland",
            country: "NL",
            lat: 52.37,
            lon: 4.89,
            asn: 60781,
        },
        "86.88",
    ),
    (
        Geo {
            city: "Paris",
            state: "Paris",
            country: "FR",
            lat: 48.86,
            lon: 2.35,
            asn: 12876,
        },
        "92.184",
    ),
    (
        Geo {
            city: "New York",
            state: "New York",
            country: "US",
            lat: 40.71,
            lon: -74.01,
            asn: 7922,
        },
        "71.190",
    ),
    (
        Geo {
            city: "San Francisco",
            state: "California",
            country: "US",
            lat: 37.77,
            lon: -122.42,
            asn: 7018,
        },
        "24.5",
    ),
    (
        Geo {
            city: "Bengaluru",
            state: "Karnataka",
            country: "IN",
            lat: 12.97,
            lon: 77.59,
            asn: 24560,
        },
        "117.200",
    ),
    (
        Geo {
            city: "Tokyo",
            state: "Tokyo",
            country: "JP",
            lat: 35.68,
            lon: 139.69,
            asn: 17676,
        },
        "126.15",
    ),
];

/// Where Azure-hosted automation signs in from.
const AZURE_DC: Geo = Geo {
    city: "Boydton",
    state: "Virginia",
    country: "US",
    lat: 36.67,
    lon: -78.39,
    asn: 8075,
};

/// An application as sign-in logs name it.
pub(crate) type App = (&'static str, &'static str);

pub(crate) const OFFICE_HOME: App = ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca");
pub(crate) const TEAMS: App = ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264");
pub(crate) const OUTLOOK: App = ("Microsoft Outlook", "5d661950-3475-41cd-a2c3-d671a3162bc1");
pub(crate) const ONEDRIVE: App = (
    "OneDrive SyncEngine",
    "ab9b8c07-8f02-4f72-87fa-80105867a763",
);
pub(crate) const AZURE_PORTAL: App = ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c");
pub(crate) const AZURE_CLI: App = (
    "Microsoft Azure CLI",
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
);
pub(crate) const OFFICE_CLIENT: App = ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c");
pub(crate) const GRAPH_CLI: App = (
    "Microsoft Graph Command Line Tools",
    "14d82eec-204b-4c2f-b7e8-296a70dab67e",
);
pub(crate) const EXCHANGE: App = (
    "Office 365 Exchange Online",
    "00000002-0000-0ff1-ce00-000000000000",
);
pub(crate) const SHAREPOINT: App = (
    "Office 365 SharePoint Online",
    "00000003-0000-0ff1-ce00-000000000000",
);
pub(crate) const GRAPH: App = ("Microsoft Graph", "00000003-0000-0000-c000-000000000000");
pub(crate) const ARM: App = (
    "Windows Azure Service Management API",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
);

const DEVICES: &[(&str, &str, &str)] = &[
    ("Windows10", "Edge 130.0.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0"),
    ("Windows10", "Chrome 130.0.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"),
    ("MacOs", "Safari 17.6", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15"),
    ("MacOs", "Chrome 130.0.0", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"),
];

/// One person of the directory.
pub(crate) struct Person {
    pub upn: String,
    pub name: String,
    pub object_id: String,
    pub office: usize,
    /// Hours east of UTC.
    pub tz: i64,
    pub office_ip: String,
    pub home_ip: String,
    pub os: &'static str,
    pub browser: &'static str,
    pub ua: &'static str,
    pub device_id: String,
    pub device_name: String,
    /// One of the Azure administrators (`org.az_users`).
    pub admin: bool,
}

impl Person {
    pub(crate) fn geo(&self) -> Geo {
        OFFICE_GEO[self.office].0
    }
}

/// A service principal of the organisation (the automation of `org.az_apps`).
pub(crate) struct ServicePrincipal {
    pub name: &'static str,
    pub app_id: String,
    pub object_id: String,
    pub ip: String,
    pub credential: &'static str,
    pub key_id: String,
}

/// The tenant's directory.
pub(crate) struct Directory {
    pub tenant_id: String,
    pub people: Vec<Person>,
    /// How many of `people` (the first ones) are the Azure administrators.
    pub admins: usize,
    /// Indices (in `people`) of the administrators who do the routine work: never the victims
    /// of an attack scenario.
    pub routine_admins: Vec<usize>,
    /// Indices (in `people`) of the administrators whose accounts the attack scenarios use.
    pub attacked_admins: Vec<usize>,
    pub break_glass: Vec<Person>,
    pub sps: Vec<ServicePrincipal>,
    /// Conditional access policies: (display name, id).
    pub ca_policies: Vec<(&'static str, String)>,
}

impl Directory {
    /// The directory of `org`: its Azure administrators first (same UPN and object id as in the
    /// Activity Log), then `principals × 4` people in all (40 to 1,000).
    pub(crate) fn new(org: &Org, seed: u64, principals: usize) -> Directory {
        let mut rng = rng_for(seed, &[70]);
        let mut people: Vec<Person> = org
            .az_users
            .iter()
            .map(|u| {
                let office = office_of(&u.ip);
                person(
                    &mut rng,
                    &u.upn,
                    &u.name,
                    &u.object_id,
                    office,
                    Some(&u.ip),
                    true,
                )
            })
            .collect();
        let admins = people.len();
        let total = (principals * 4).clamp(40, 1000).max(admins + 30);
        let mut taken: std::collections::HashSet<String> =
            people.iter().map(|p| p.upn.clone()).collect();
        while people.len() < total {
            let f = *pick(&mut rng, FIRST);
            let l = pick(&mut rng, LAST).replace('ü', "ue");
            let mut upn = format!("{f}.{l}@{ORG}.com");
            if !taken.insert(upn.clone()) {
                upn = format!("{f}.{l}{}@{ORG}.com", people.len());
                taken.insert(upn.clone());
            }
            let name = format!("{} {}", title(f), title(&l));
            let office = rng.usize(..OFFICE_NETS.len());
            let oid = uuid(&mut rng);
            people.push(person(&mut rng, &upn, &name, &oid, office, None, false));
        }
        let break_glass = (1..=2)
            .map(|i| {
                let upn = format!("bg-admin-0{i}@{ORG}.onmicrosoft.com");
                let oid = uuid(&mut rng);
                person(
                    &mut rng,
                    &upn,
                    &format!("Emergency Access 0{i}"),
                    &oid,
                    0,
                    None,
                    false,
                )
            })
            .collect();
        let sps = org
            .az_apps
            .iter()
            .map(|a| ServicePrincipal {
                name: a.name,
                app_id: a.app_id.clone(),
                object_id: a.object_id.clone(),
                ip: a.ip.clone(),
                credential: if a.name.starts_with("github") {
                    "federatedIdentityCredential"
                } else {
                    "clientSecret"
                },
                key_id: uuid(&mut rng),
            })
            .collect();
        let ca_policies = vec![
            ("Require MFA for all users", uuid(&mut rng)),
            ("Block legacy authentication", uuid(&mut rng)),
        ];
        Directory {
            tenant_id: org.tenant_id.clone(),
            people,
            admins,
            routine_admins: crate::azure_families::admin_users(org),
            attacked_admins: crate::azure_families::attack_users(org),
            break_glass,
            sps,
            ca_policies,
        }
    }

    pub(crate) fn resource_id(&self) -> String {
        format!("/tenants/{}/providers/Microsoft.aadiam", self.tenant_id)
    }

    /// People who are not Azure administrators.
    pub(crate) fn staff(&self) -> &[Person] {
        &self.people[self.admins..]
    }

    /// Index of the helpdesk agent (the first person who is not an administrator).
    pub(crate) fn helpdesk(&self) -> usize {
        self.admins
    }

    /// Who makes routine directory changes: the routine administrators and the helpdesk.
    pub(crate) fn it_staff(&self) -> Vec<usize> {
        let mut v = self.routine_admins.clone();
        v.push(self.helpdesk());
        v
    }
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn person(
    rng: &mut Rng,
    upn: &str,
    name: &str,
    object_id: &str,
    office: usize,
    office_ip: Option<&str>,
    admin: bool,
) -> Person {
    let (net, tz) = OFFICE_NETS[office];
    let (os, browser, ua) = *pick(rng, DEVICES);
    let office_ip = office_ip
        .map(str::to_string)
        .unwrap_or_else(|| format!("{net}.{}", 10 + rng.u8(0..2)));
    let home = OFFICE_GEO[office].1;
    let home_ip = crate::org::ip_in(rng, home);
    let initials: String = name
        .split(' ')
        .filter_map(|w| w.chars().next())
        .collect::<String>()
        .to_uppercase();
    Person {
        upn: upn.to_string(),
        name: name.to_string(),
        object_id: object_id.to_string(),
        office,
        tz,
        office_ip,
        home_ip,
        os,
        browser,
        ua,
        device_id: uuid(rng),
        device_name: format!("LT-{initials}-{}", upnum(rng, 5)),
        admin,
    }
}

/// The four containers of a tenant diagnostic setting the simulator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Container {
    SignIn,
    NonInteractive,
    ServicePrincipal,
    Audit,
}

impl Container {
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Container::SignIn => "insights-logs-signinlogs",
            Container::NonInteractive => "insights-logs-noninteractiveusersigninlogs",
            Container::ServicePrincipal => "insights-logs-serviceprincipalsigninlogs",
            Container::Audit => "insights-logs-auditlogs",
        }
    }

    fn category(self) -> &'static str {
        match self {
            Container::SignIn => "SignInLogs",
            Container::NonInteractive => "NonInteractiveUserSignInLogs",
            Container::ServicePrincipal => "ServicePrincipalSignInLogs",
            Container::Audit => "AuditLogs",
        }
    }
}

/// One rendered record.
pub(crate) struct Line {
    pub container: Container,
    pub t: i64,
    pub frac: u32,
    pub json: String,
}

/// Risk as Identity Protection reports it during a sign-in.
#[derive(Clone, Copy)]
pub(crate) struct Risk {
    pub level: &'static str,
    pub state: &'static str,
    pub detail: &'static str,
    pub events: &'static [&'static str],
}

pub(crate) const NO_RISK: Risk = Risk {
    level: "none",
    state: "none",
    detail: "none",
    events: &[],
};

/// How the second factor went.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mfa {
    /// Single-factor sign-in (no MFA required or asked).
    None,
    /// MFA satisfied by the claim in the token (earlier MFA).
    Claim,
    /// MFA done now with this method.
    Done(&'static str),
    /// MFA asked and not completed: the detail (`MFA denied; user declined the authentication`).
    Failed(&'static str),
}

/// A user sign-in.
pub(crate) struct SignIn<'a> {
    pub who: &'a Person,
    pub t: i64,
    pub frac: u32,
    pub interactive: bool,
    pub app: App,
    pub resource: App,
    pub ip: String,
    pub geo: Geo,
    pub client_app: &'static str,
    pub user_agent: String,
    pub error: u32,
    pub mfa: Mfa,
    pub risk: Risk,
    /// The user's own compliant device (false: an unknown browser).
    pub own_device: bool,
    pub correlation: String,
    pub id: String,
}

impl<'a> SignIn<'a> {
    /// A successful sign-in of `who` from their office with their own device and an MFA claim.
    pub(crate) fn usual(who: &'a Person, t: i64, rng: &mut Rng, app: App) -> SignIn<'a> {
        SignIn {
            who,
            t,
            frac: rng.u32(..10_000_000),
            interactive: true,
            app,
            resource: resource_of(app),
            ip: who.office_ip.clone(),
            geo: who.geo(),
            client_app: client_of(app),
            user_agent: who.ua.to_string(),
            error: 0,
            mfa: Mfa::Claim,
            risk: NO_RISK,
            own_device: true,
            correlation: uuid(rng),
            id: uuid(rng),
        }
    }
}

/// The resource an application's sign-in is for.
pub(crate) fn resource_of(app: App) -> App {
    match app.0 {
        "Azure Portal" | "Microsoft Azure CLI" => ARM,
        "Microsoft Teams" | "Microsoft Graph Command Line Tools" | "OfficeHome" => GRAPH,
        "OneDrive SyncEngine" | "Office 365 SharePoint Online" => SHAREPOINT,
        _ => EXCHANGE,
    }
}

fn client_of(app: App) -> &'static str {
    match app.0 {
        "OfficeHome" | "Azure Portal" => "Browser",
        _ => "Mobile Apps and Desktop clients",
    }
}

/// The failure reason Entra ID gives for an error code.
pub(crate) fn failure_reason(code: u32) -> &'static str {
    match code {
        0 => "",
        50126 => "Error validating credentials due to invalid username or password.",
        50053 => "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
        50074 => "Strong Authentication is required.",
        50140 => "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
        500121 => "Authentication failed during strong authentication request.",
        50173 => "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
        70044 => "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
        _ => "Other.",
    }
}

fn created(t: i64, frac: u32) -> String {
    iso7(t, frac).replace('Z', "+00:00")
}

fn auth_details(s: &SignIn<'_>, t: &str) -> Vec<Value> {
    let pwd_ok = s.error != 50126 && s.error != 50053;
    let mut v = Vec::new();
    if s.interactive && s.mfa != Mfa::Claim {
        v.push(json!({"authenticationStepDateTime": t, "authenticationMethod": "Password", "succeeded": pwd_ok,
            "authenticationStepResultDetail": if pwd_ok { "Correct password" } else { "Invalid username or password or Invalid on-premise username or password." },
            "authenticationStepRequirement": "Primary authentication"}));
    }
    match s.mfa {
        Mfa::Claim => v.push(json!({"authenticationStepDateTime": t, "authenticationMethod": "Previously satisfied", "succeeded": true,
            "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token", "authenticationStepRequirement": "Primary authentication"})),
        Mfa::Done(m) => v.push(json!({"authenticationStepDateTime": t, "authenticationMethod": m, "succeeded": true,
            "authenticationStepResultDetail": "MFA successfully completed", "authenticationStepRequirement": "Multifactor authentication"})),
        Mfa::Failed(d) => v.push(json!({"authenticationStepDateTime": t, "authenticationMethod": "Mobile app notification", "succeeded": false,
            "authenticationStepResultDetail": d, "authenticationStepRequirement": "Multifactor authentication"})),
        Mfa::None => {}
    }
    v
}

fn ca_applied(dir: &Directory, s: &SignIn<'_>) -> (&'static str, Vec<Value>) {
    if !s.interactive && s.mfa == Mfa::Claim {
        return ("notApplied", Vec::new());
    }
    let mfa_result = match (s.mfa, s.error) {
        (Mfa::None, _) => "notApplied",
        (_, 50074) | (Mfa::Failed(_), _) => "failure",
        _ => "success",
    };
    let pol = |i: usize, controls: &str, result: &str| {
        json!({"id": dir.ca_policies[i].1, "displayName": dir.ca_policies[i].0, "enforcedGrantControls": [controls],
            "enforcedSessionControls": [], "result": result})
    };
    // The legacy-authentication block never applies to modern clients; the legacy sign-ins
    // of the scenarios are by users it excludes.
    let v = vec![pol(0, "Mfa", mfa_result), pol(1, "Block", "notApplied")];
    let status = if mfa_result == "success" {
        "success"
    } else if mfa_result == "failure" {
        "failure"
    } else {
        "notApplied"
    };
    (status, v)
}

/// Render a user sign-in in the diagnostic-setting shape.
pub(crate) fn render_signin(dir: &Directory, s: &SignIn<'_>) -> Line {
    let t = created(s.t, s.frac);
    let reason = failure_reason(s.error);
    let multi = !matches!(s.mfa, Mfa::None);
    let (ca_status, ca) = ca_applied(dir, s);
    let mut status = json!({"errorCode": s.error});
    if s.error != 0 {
        status["failureReason"] = json!(reason);
    }
    status["additionalDetails"] = json!(match (s.error, s.mfa) {
        (0, Mfa::Claim) => "MFA requirement satisfied by claim in the token",
        (0, Mfa::Done(_)) => "MFA completed in Azure AD",
        (50074, _) => "MFA required in Azure AD",
        (_, Mfa::Failed(d)) => d,
        _ => "",
    });
    let device = if s.own_device {
        json!({"deviceId": s.who.device_id, "displayName": s.who.device_name, "operatingSystem": s.who.os,
            "browser": s.who.browser, "isCompliant": true, "isManaged": true, "trustType": "Azure AD joined"})
    } else {
        json!({"deviceId": "", "displayName": "", "operatingSystem": guess_os(&s.user_agent),
            "browser": guess_browser(&s.user_agent), "isCompliant": false, "isManaged": false, "trustType": ""})
    };
    let mut props = json!({
        "id": s.id, "createdDateTime": t, "userDisplayName": s.who.name, "userPrincipalName": s.who.upn,
        "userId": s.who.object_id, "appId": s.app.1, "appDisplayName": s.app.0, "ipAddress": s.ip,
        "status": status, "clientAppUsed": s.client_app, "userAgent": s.user_agent, "deviceDetail": device,
        "location": {"city": s.geo.city, "state": s.geo.state, "countryOrRegion": s.geo.country,
            "geoCoordinates": {"latitude": s.geo.lat, "longitude": s.geo.lon}},
        "correlationId": s.correlation, "conditionalAccessStatus": ca_status, "appliedConditionalAccessPolicies": ca,
    });
    let more = json!({
        "originalRequestId": s.id, "isInteractive": s.interactive, "tokenIssuerName": "", "tokenIssuerType": "AzureAD",
        "processingTimeInMilliseconds": 90 + (s.frac % 400), "riskDetail": s.risk.detail,
        "riskLevelAggregated": s.risk.level, "riskLevelDuringSignIn": s.risk.level, "riskState": s.risk.state,
        "riskEventTypes": s.risk.events, "riskEventTypes_v2": s.risk.events,
        "resourceDisplayName": s.resource.0, "resourceId": s.resource.1, "resourceTenantId": dir.tenant_id,
        "homeTenantId": dir.tenant_id, "authenticationDetails": auth_details(s, &t), "authenticationRequirementPolicies": [],
        "authenticationRequirement": if multi { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "userType": "Member", "signInIdentifier": s.who.upn, "servicePrincipalId": "", "flaggedForReview": false,
        "isTenantRestricted": false, "autonomousSystemNumber": s.geo.asn, "crossTenantAccessType": "none",
        "authenticationProtocol": if matches!(s.user_agent.as_str(), "BAV2ROPC") || s.user_agent.starts_with("python-requests") { "ropc" } else { "none" },
        "incomingTokenType": if s.interactive { "none" } else { "primaryRefreshToken" },
        "signInEventTypes": [if s.interactive { "interactiveUser" } else { "nonInteractiveUser" }],
    });
    if let (Value::Object(p), Value::Object(m)) = (&mut props, more) {
        p.extend(m);
    }
    if let Mfa::Done(m) = s.mfa {
        props["mfaDetail"] = json!({"authMethod": m, "authDetail": null});
    }
    let container = if s.interactive {
        Container::SignIn
    } else {
        Container::NonInteractive
    };
    let v = json!({
        "time": iso7(s.t, s.frac), "resourceId": dir.resource_id(), "operationName": "Sign-in activity",
        "operationVersion": "1.0", "category": container.category(), "tenantId": dir.tenant_id,
        "resultType": s.error.to_string(), "resultSignature": "None", "resultDescription": reason,
        "durationMs": 0, "callerIpAddress": s.ip, "correlationId": s.correlation, "identity": s.who.name,
        "Level": 4, "location": s.geo.country, "properties": props,
    });
    Line {
        container,
        t: s.t,
        frac: s.frac,
        json: v.to_string(),
    }
}

fn guess_os(ua: &str) -> &'static str {
    if ua.contains("Windows") {
        "Windows10"
    } else if ua.contains("Mac OS") {
        "MacOs"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    }
}

fn guess_browser(ua: &str) -> &'static str {
    if ua.contains("Firefox") {
        "Firefox 115.0"
    } else if ua.contains("Chrome") {
        "Chrome 130.0.0"
    } else if ua.is_empty() {
        ""
    } else {
        "Rich Client 4.61.0"
    }
}

/// Render a service principal's sign-in to Azure Resource Manager.
fn render_sp_signin(dir: &Directory, sp: &ServicePrincipal, t: i64, rng: &mut Rng) -> Line {
    let frac = rng.u32(..10_000_000);
    let id = uuid(rng);
    let corr = uuid(rng);
    let g = AZURE_DC;
    let props = json!({
        "id": id, "createdDateTime": created(t, frac), "appId": sp.app_id, "appDisplayName": sp.name,
        "servicePrincipalId": sp.object_id, "servicePrincipalName": sp.name, "ipAddress": sp.ip,
        "location": {"city": g.city, "state": g.state, "countryOrRegion": g.country,
            "geoCoordinates": {"latitude": g.lat, "longitude": g.lon}},
        "resourceDisplayName": ARM.0, "resourceId": ARM.1, "resourceTenantId": dir.tenant_id,
        "homeTenantId": dir.tenant_id, "status": {"errorCode": 0}, "correlationId": corr,
        "conditionalAccessStatus": "notApplied", "clientCredentialType": sp.credential,
        "servicePrincipalCredentialKeyId": sp.key_id, "isInteractive": false,
        "signInEventTypes": ["servicePrincipal"], "riskDetail": "none", "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none", "riskState": "none", "autonomousSystemNumber": g.asn,
    });
    let v = json!({
        "time": iso7(t, frac), "resourceId": dir.resource_id(), "operationName": "Sign-in activity",
        "operationVersion": "1.0", "category": Container::ServicePrincipal.category(), "tenantId": dir.tenant_id,
        "resultType": "0", "resultSignature": "None", "resultDescription": "", "durationMs": 0,
        "callerIpAddress": sp.ip, "correlationId": corr, "identity": sp.name, "Level": 4,
        "location": g.country, "properties": props,
    });
    Line {
        container: Container::ServicePrincipal,
        t,
        frac,
        json: v.to_string(),
    }
}

/// Who initiated a directory change.
pub(crate) enum Initiator<'a> {
    User(&'a Person, String),
    App(&'static str, String),
}

/// One directory audit record.
pub(crate) struct Audit<'a> {
    pub t: i64,
    pub frac: u32,
    pub activity: &'static str,
    pub category: &'static str,
    pub service: &'static str,
    pub operation_type: &'static str,
    pub by: Initiator<'a>,
    pub targets: Vec<Value>,
    pub details: Vec<(&'static str, String)>,
    pub result_reason: String,
    pub correlation: String,
    pub id: String,
}

/// A new audit record id in the directory's style.
pub(crate) fn audit_id(rng: &mut Rng, correlation: &str) -> String {
    format!(
        "Directory_{correlation}_{}_{}",
        upnum(rng, 5),
        rng.u32(10_000_000..99_999_999)
    )
}

/// A `targetResources` entry for a user.
pub(crate) fn target_user(p: &Person, modified: Vec<Value>) -> Value {
    json!({"id": p.object_id, "displayName": null, "type": "User", "userPrincipalName": p.upn,
        "modifiedProperties": modified, "administrativeUnits": []})
}

/// A `targetResources` entry for anything else.
pub(crate) fn target(kind: &str, id: &str, name: &str, modified: Vec<Value>) -> Value {
    json!({"id": id, "displayName": name, "type": kind, "modifiedProperties": modified, "administrativeUnits": []})
}

/// One `modifiedProperties` entry (values are JSON text, as the service writes them).
pub(crate) fn modified(name: &str, old: Option<&str>, new: Option<&str>) -> Value {
    json!({"displayName": name, "oldValue": old, "newValue": new})
}

/// Render a directory audit in the diagnostic-setting shape.
pub(crate) fn render_audit(dir: &Directory, a: &Audit<'_>) -> Line {
    let (initiated, identity, ip) = match &a.by {
        Initiator::User(p, ip) => (
            json!({"user": {"id": p.object_id, "displayName": null, "userPrincipalName": p.upn, "ipAddress": ip, "roles": []}}),
            p.upn.clone(),
            ip.clone(),
        ),
        Initiator::App(name, sp_id) => (
            json!({"app": {"appId": null, "displayName": name, "servicePrincipalId": sp_id, "servicePrincipalName": null}}),
            name.to_string(),
            "<null>".to_string(),
        ),
    };
    let details: Vec<Value> = a
        .details
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let t = created(a.t, a.frac);
    let props = json!({
        "id": a.id, "category": a.category, "correlationId": a.correlation, "result": "success",
        "resultReason": a.result_reason, "activityDisplayName": a.activity, "activityDateTime": t,
        "loggedByService": a.service, "operationType": a.operation_type, "initiatedBy": initiated,
        "targetResources": a.targets, "additionalDetails": details,
    });
    let v = json!({
        "time": iso7(a.t, a.frac), "resourceId": dir.resource_id(), "operationName": a.activity,
        "operationVersion": "1.0", "category": "AuditLogs", "tenantId": dir.tenant_id,
        "resultSignature": "None", "durationMs": 0, "callerIpAddress": ip, "correlationId": a.correlation,
        "identity": identity, "Level": 4, "properties": props,
    });
    Line {
        container: Container::Audit,
        t: a.t,
        frac: a.frac,
        json: v.to_string(),
    }
}

// --- background ---------------------------------------------------------------------------------

/// Interactive sign-in of `p` at `t`, preceded now and then by an ordinary failure or interrupt.
fn interactive(dir: &Directory, p: &Person, t: i64, ip: &str, rng: &mut Rng, out: &mut Vec<Line>) {
    let app = if p.admin && rng.f64() < 0.35 {
        *pick(rng, &[AZURE_PORTAL, AZURE_PORTAL, AZURE_CLI])
    } else {
        *pick(rng, &[OFFICE_HOME, OFFICE_HOME, TEAMS, OUTLOOK])
    };
    let mut s = SignIn::usual(p, t, rng, app);
    s.ip = ip.to_string();
    let hiccup = weighted(rng, &[0.84, 0.02, 0.08, 0.04, 0.02]);
    match hiccup {
        1 => {
            // A mistyped password, then the right one.
            s.error = 50126;
            s.mfa = Mfa::None;
            out.push(render_signin(dir, &s));
            s.t += rng.i64(8..40);
            s.error = 0;
            s.mfa = Mfa::Done("Mobile app notification");
        }
        2 => {
            // The MFA interrupt, then MFA done.
            s.error = 50074;
            s.mfa = Mfa::None;
            out.push(render_signin(dir, &s));
            s.t += rng.i64(10..45);
            s.error = 0;
            let methods = ["Mobile app notification", "OATH verification code"];
            let method = methods[rng.usize(..methods.len())];
            s.mfa = Mfa::Done(method);
        }
        3 => {
            s.error = 50140;
            out.push(render_signin(dir, &s));
            s.t += rng.i64(3..15);
            s.error = 0;
        }
        4 => s.mfa = Mfa::Done("Windows Hello for Business"),
        _ => {}
    }
    s.frac = rng.u32(..10_000_000);
    s.id = uuid(rng);
    out.push(render_signin(dir, &s));
}

/// Token refreshes of `p`'s desktop clients through the working day.
fn refreshes(
    dir: &Directory,
    p: &Person,
    from: i64,
    hours: i64,
    ip: &str,
    rng: &mut Rng,
    out: &mut Vec<Line>,
) {
    for h in 0..hours {
        if rng.f64() > 0.75 {
            continue;
        }
        let app = *pick(rng, &[TEAMS, OUTLOOK, ONEDRIVE]);
        let mut s = SignIn::usual(p, from + h * 3600 + rng.i64(0..3600), rng, app);
        s.interactive = false;
        s.ip = ip.to_string();
        if rng.f64() < 0.015 {
            s.error = *pick(rng, &[50173, 70044]);
            out.push(render_signin(dir, &s));
            s.t += rng.i64(1..5);
            s.error = 0;
            s.id = uuid(rng);
        }
        out.push(render_signin(dir, &s));
    }
}

/// One person's day.
fn person_day(
    dir: &Directory,
    p: &Person,
    day: i64,
    weekend: bool,
    rng: &mut Rng,
    out: &mut Vec<Line>,
) {
    if rng.f64() > if weekend { 0.1 } else { 0.93 } {
        return;
    }
    let remote = weekend || rng.f64() < 0.2;
    let ip = if remote {
        p.home_ip.clone()
    } else {
        p.office_ip.clone()
    };
    // Local 08:00–09:40 start, in UTC.
    let t0 = day + (8 - p.tz) * 3600 + rng.i64(0..6000);
    interactive(dir, p, t0, &ip, rng, out);
    let hours = if weekend { 2 } else { rng.i64(6..10) };
    refreshes(dir, p, t0 + 600, hours, &ip, rng, out);
    if !weekend && rng.f64() < 0.45 {
        interactive(dir, p, t0 + rng.i64(4 * 3600..6 * 3600), &ip, rng, out);
    }
}

const GROUPS: &[&str] = &[
    "sg-engineering",
    "sg-finance",
    "sg-sales",
    "sg-vpn-users",
    "sg-all-staff",
    "sg-m365-e5",
];

/// What a directory change is: activity, category, logging service, operation type.
type ChangeKind = (&'static str, &'static str, &'static str, &'static str);

/// A routine change: its kind, who made it and what it touched.
type Change<'a> = (ChangeKind, Initiator<'a>, Vec<Value>);

fn group_change<'a>(
    rng: &mut Rng,
    by: Initiator<'a>,
    subject: &'a Person,
    add: bool,
) -> Change<'a> {
    let g = *pick(rng, GROUPS);
    let gid = uuid(rng);
    let props = vec![
        modified("Group.ObjectID", None, Some(&format!("\"{gid}\""))),
        modified("Group.DisplayName", None, Some(&format!("\"{g}\""))),
    ];
    let kind = if add {
        (
            "Add member to group",
            "GroupManagement",
            "Core Directory",
            "Assign",
        )
    } else {
        (
            "Remove member from group",
            "GroupManagement",
            "Core Directory",
            "Unassign",
        )
    };
    (
        kind,
        by,
        vec![
            target_user(subject, props),
            target("Group", &gid, g, vec![]),
        ],
    )
}

/// One routine change made by `actor` (an administrator or the helpdesk) about `subject`.
fn routine_change<'a>(rng: &mut Rng, actor: &'a Person, subject: &'a Person) -> Change<'a> {
    let by = Initiator::User(actor, actor.office_ip.clone());
    match weighted(rng, &[4.0, 3.0, 1.0, 4.0, 1.0, 1.0]) {
        0 => {
            let field = *pick(
                rng,
                &["JobTitle", "Department", "Manager", "TelephoneNumber"],
            );
            let props = vec![
                modified(field, Some("[]"), Some("[\"updated\"]")),
                modified(
                    "Included Updated Properties",
                    None,
                    Some(&format!("\"{field}\"")),
                ),
            ];
            (
                ("Update user", "UserManagement", "Core Directory", "Update"),
                by,
                vec![target_user(subject, props)],
            )
        }
        1 => group_change(rng, by, subject, true),
        2 => group_change(rng, by, subject, false),
        3 => {
            let seen = vec![modified(
                "ApproximateLastLogonTimestamp",
                None,
                Some("\"updated\""),
            )];
            let dev = target("Device", &subject.device_id, &subject.device_name, seen);
            let drs = Initiator::App("Device Registration Service", uuid(rng));
            (
                ("Update device", "Device", "Core Directory", "Update"),
                drs,
                vec![dev],
            )
        }
        4 => {
            let own = Initiator::User(subject, subject.office_ip.clone());
            let kind = (
                "Change password (self-service)",
                "UserManagement",
                "Self-service Password Management",
                "Update",
            );
            (kind, own, vec![target_user(subject, vec![])])
        }
        _ => {
            let role = vec![modified("AppRole.Value", None, Some("\"User\""))];
            let app = target("ServicePrincipal", &uuid(rng), "Workday", role);
            let kind = (
                "Add app role assignment grant to user",
                "ApplicationManagement",
                "Core Directory",
                "Assign",
            );
            (kind, by, vec![target_user(subject, vec![]), app])
        }
    }
}

/// Routine directory changes of one day, in the working hours of whoever makes them.
fn audits_day(dir: &Directory, day: i64, weekend: bool, rng: &mut Rng, out: &mut Vec<Line>) {
    let n = if weekend {
        rng.usize(0..4)
    } else {
        22 + rng.usize(0..16)
    };
    let it = dir.it_staff();
    for _ in 0..n {
        let actor = &dir.people[*pick(rng, &it)];
        let t = day + (8 - actor.tz) * 3600 + rng.i64(0..9 * 3600);
        let subject = pick(rng, dir.staff());
        let correlation = uuid(rng);
        let ((activity, category, service, operation_type), by, targets) =
            routine_change(rng, actor, subject);
        let a = Audit {
            t,
            frac: rng.u32(..10_000_000),
            activity,
            category,
            service,
            operation_type,
            by,
            targets,
            details: Vec::new(),
            result_reason: String::new(),
            id: audit_id(rng, &correlation),
            correlation,
        };
        out.push(render_audit(dir, &a));
    }
}

/// The automation's sign-ins of one day: Terraform and backup around the clock, the deploy
/// pipeline during working hours.
fn sp_day(dir: &Directory, day: i64, weekend: bool, rng: &mut Rng, out: &mut Vec<Line>) {
    for sp in &dir.sps {
        for h in 0..24 {
            let working = (7..19).contains(&h) && !weekend;
            let p = if sp.name.starts_with("github") && !working {
                0.0
            } else if working {
                0.8
            } else {
                0.3
            };
            if rng.f64() < p {
                out.push(render_sp_signin(
                    dir,
                    sp,
                    day + h * 3600 + rng.i64(0..3600),
                    rng,
                ));
            }
        }
    }
}

/// Background of one day (00:00 UTC `day`), every record inside it.
fn background_day(dir: &Directory, seed: u64, day: i64) -> Vec<Line> {
    let weekend = weekday(day) >= 5;
    let mut out = Vec::new();
    for (i, p) in dir.people.iter().enumerate() {
        let mut rng = rng_for(seed, &[72, day as u64, i as u64]);
        person_day(dir, p, day, weekend, &mut rng, &mut out);
    }
    let mut rng = rng_for(seed, &[73, day as u64]);
    sp_day(dir, day, weekend, &mut rng, &mut out);
    audits_day(dir, day, weekend, &mut rng, &mut out);
    out.retain(|l| l.t >= day && l.t < day + 86_400);
    out
}

/// What [`run`] wrote.
pub(crate) struct EntraOut {
    pub stats: ProviderStats,
    pub records: BTreeMap<String, u64>,
    pub tenant: EntraTenant,
    pub scenarios: Vec<Scenario>,
    pub twins: Vec<BenignTwin>,
}

/// Write the Entra ID logs of the window: background, the scenarios (with attacks) and the
/// benign twins.
pub(crate) fn run(org: &Org, opts: &SimOptions, start: i64) -> Result<EntraOut, SimError> {
    let dir = Directory::new(org, opts.seed, opts.principals);
    let built = crate::entra_scenarios::build(&dir, opts.seed, opts.attacks, start, opts.days);
    let mut injected: BTreeMap<i64, Vec<Line>> = BTreeMap::new();
    let last_day = opts.days as i64 - 1;
    for l in built.lines {
        let d = ((l.t - start).div_euclid(86_400)).clamp(0, last_day);
        injected.entry(d).or_default().push(l);
    }
    let mut stats = ProviderStats::default();
    let mut records: BTreeMap<String, u64> = BTreeMap::new();
    for d in 0..opts.days as i64 {
        let day = start + d * 86_400;
        let mut lines = background_day(&dir, opts.seed, day);
        lines.extend(injected.remove(&d).unwrap_or_default());
        write_day(&dir, &opts.out, lines, &mut stats, &mut records)?;
    }
    Ok(EntraOut {
        stats,
        records,
        tenant: EntraTenant {
            tenant_id: dir.tenant_id.clone(),
            domain: format!("{ORG}.com"),
            break_glass_accounts: dir.break_glass.iter().map(|p| p.upn.clone()).collect(),
            users: dir.people.len(),
        },
        scenarios: built.scenarios,
        twins: built.twins,
    })
}

/// Group a day's lines into hourly blobs per container and write them.
fn write_day(
    dir: &Directory,
    out: &Path,
    lines: Vec<Line>,
    stats: &mut ProviderStats,
    records: &mut BTreeMap<String, u64>,
) -> Result<(), SimError> {
    let mut blobs: BTreeMap<(Container, i64), Vec<Line>> = BTreeMap::new();
    for l in lines {
        blobs
            .entry((l.container, l.t.div_euclid(3600)))
            .or_default()
            .push(l);
    }
    for ((container, hour), mut ls) in blobs {
        ls.sort_by_key(|l| (l.t, l.frac));
        let (y, m, d) = civil((hour * 3600).div_euclid(86_400));
        let h = hour.rem_euclid(24);
        let folder = out
            .join(container.dir())
            .join(format!("tenantId={}", dir.tenant_id))
            .join(format!("y={y:04}"))
            .join(format!("m={m:02}"))
            .join(format!("d={d:02}"))
            .join(format!("h={h:02}"))
            .join("m=00");
        std::fs::create_dir_all(&folder).map_err(|e| SimError::io(&folder, e))?;
        let path = folder.join("PT1H.json");
        let mut body = String::with_capacity(ls.len() * 2200);
        for l in &ls {
            body.push_str(&l.json);
            body.push('\n');
        }
        std::fs::write(&path, body.as_bytes()).map_err(|e| SimError::io(&path, e))?;
        *records.entry(container.dir().to_string()).or_default() += ls.len() as u64;
        stats.records += ls.len() as u64;
        stats.files += 1;
        stats.bytes_uncompressed += body.len() as u64;
        stats.bytes_written += body.len() as u64;
    }
    Ok(())
}
