//! The made-up organisation ("Acmeflux"): accounts, subscriptions, people, workloads and their
//! stable attributes (keys, IP addresses, user agents, time zones). Derived only from the seed.

use crate::util::{alnum, hex, iam_id, lower, pick, rng_for, uuid};
use fastrand::Rng;

pub(crate) const ORG: &str = "acmeflux";

/// Regions with their share of regional background traffic. Zero-weight regions only ever see
/// attack traffic (they are the "unusual" regions).
pub(crate) const REGIONS: &[(&str, f64)] = &[
    ("us-east-1", 0.38),
    ("eu-west-1", 0.30),
    ("us-west-2", 0.17),
    ("eu-central-1", 0.06),
    ("ap-southeast-2", 0.04),
    ("ap-northeast-1", 0.03),
    ("ca-central-1", 0.02),
    ("sa-east-1", 0.0),
    ("ap-south-1", 0.0),
    ("ap-northeast-3", 0.0),
];

pub(crate) fn region_index(name: &str) -> usize {
    REGIONS.iter().position(|(r, _)| *r == name).unwrap_or(0)
}

pub(crate) const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kavya",
    "liam", "maria", "noah", "olga", "pedro", "quinn", "rania", "sven", "tara", "umar", "vera",
    "wei", "ximena", "yusuf", "zoe", "anika", "bruno", "chloe", "diego",
];
pub(crate) const LAST: &[&str] = &[
    "schmidt",
    "okafor",
    "tanaka",
    "novak",
    "garcia",
    "müller",
    "haddad",
    "lindqvist",
    "rossi",
    "kowalski",
    "nguyen",
    "obrien",
    "patel",
    "silva",
    "dubois",
    "jensen",
    "kim",
    "moreau",
];

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
];

const CLI_UAS: &[&str] = &[
    "aws-cli/2.17.52 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source",
    "aws-cli/2.18.4 md/awscrt#0.21.5 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24",
    "aws-cli/2.15.30 Python/3.11.8 Windows/10 exe/AMD64 prompt/off",
    "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.5.0-1025-aws md/arch#x86_64 lang/python#3.11.10 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36",
    "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.162",
    "aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/s3#1.61.0",
];

pub(crate) const TERRAFORM_UA: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.7 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.0 ua/2.1 os/linux lang/go#1.22.7 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.179.2";
pub(crate) const LAMBDA_UA: &str = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.226-236.876.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.145";
pub(crate) const SSM_AGENT_UA: &str =
    "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) amazon-ssm-agent/3.3.987.0";
pub(crate) const SCANNER_UA: &str = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.15.0-1068-azure md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#adaptive Botocore/1.35.10 cspm-collector/4.2";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum RoleKind {
    Ci,
    Lambda,
    Ec2,
    Scanner,
}

pub(crate) struct Human {
    pub user: String,
    pub principal_id: String,
    pub key: String,
    pub tz: i64,
    pub office_ip: String,
    pub home_ip: String,
    pub browser: &'static str,
    pub cli_ua: &'static str,
    pub uses_cli: bool,
}

pub(crate) struct CliUser {
    pub user: String,
    pub principal_id: String,
    pub key: String,
    pub ip: String,
    pub ua: &'static str,
}

pub(crate) struct Role {
    pub name: String,
    pub role_id: String,
    pub kind: RoleKind,
    /// Session name stem (function name, instance id, pipeline name).
    pub session: String,
    pub ip: String,
    pub ua: &'static str,
}

pub(crate) struct Account {
    pub id: String,
    pub weight: f64,
    pub humans: Vec<Human>,
    pub clis: Vec<CliUser>,
    pub roles: Vec<Role>,
    pub buckets: Vec<String>,
    pub log_bucket: String,
    pub kms_key: String,
    pub secrets: Vec<String>,
    pub tables: Vec<String>,
    pub functions: Vec<String>,
    pub instances: Vec<String>,
    pub vpc: String,
    pub sgs: Vec<String>,
    pub subnets: Vec<String>,
    pub route_table: String,
    pub igw: String,
    pub nacl: String,
    pub snapshot: String,
    pub ami: String,
    pub trail: String,
    pub detector: String,
    pub flow_log: String,
}

impl Account {
    pub(crate) fn user_arn(&self, user: &str) -> String {
        format!("arn:aws:iam::{}:user/{}", self.id, user)
    }
}

pub(crate) struct AzUser {
    pub upn: String,
    pub name: String,
    pub object_id: String,
    pub ip: String,
    pub role: &'static str,
}

pub(crate) struct AzApp {
    /// Display name of the application (and of its service principal).
    pub name: &'static str,
    pub app_id: String,
    pub object_id: String,
    pub ip: String,
}

pub(crate) struct Subscription {
    pub id: String,
    pub groups: Vec<(String, &'static str)>,
    pub vms: Vec<(usize, String)>,
    pub storage: Vec<(usize, String)>,
    pub nsgs: Vec<(usize, String)>,
    pub vaults: Vec<(usize, String)>,
}

pub(crate) struct Org {
    pub accounts: Vec<Account>,
    pub external_account: String,
    pub tenant_id: String,
    pub mgmt_group: String,
    pub subs: Vec<Subscription>,
    pub az_users: Vec<AzUser>,
    pub az_apps: Vec<AzApp>,
}

pub(crate) const OFFICE_NETS: &[(&str, i64)] = &[
    ("84.17.46", 1),   // Amsterdam office
    ("62.210.118", 1), // Paris office
    ("73.162.88", -5), // New York office
    ("98.207.14", -8), // San Francisco office
    ("49.205.77", 5),  // Bengaluru office
    ("126.78.190", 9), // Tokyo office
];
/// Index in [`OFFICE_NETS`] of the office an address belongs to (0 when none).
pub(crate) fn office_of(ip: &str) -> usize {
    OFFICE_NETS
        .iter()
        .position(|(net, _)| {
            ip.strip_prefix(net)
                .is_some_and(|rest| rest.starts_with('.'))
        })
        .unwrap_or(0)
}

pub(crate) const HOME_NETS: &[&str] = &[
    "86.245", "92.184", "71.190", "24.5", "81.154", "109.190", "176.149", "67.180",
];

pub(crate) fn ip_in(rng: &mut Rng, prefix: &str) -> String {
    let parts = prefix.split('.').count();
    let mut s = prefix.to_string();
    for _ in parts..4 {
        s.push('.');
        s.push_str(&rng.u8(2..=250).to_string());
    }
    s
}

fn aws_public_ip(rng: &mut Rng) -> String {
    let first = *pick(rng, &[3u8, 18, 34, 35, 44, 52, 54]);
    format!(
        "{first}.{}.{}.{}",
        rng.u8(1..=250),
        rng.u8(1..=250),
        rng.u8(2..=250)
    )
}

fn account_id(rng: &mut Rng) -> String {
    format!("{}{:011}", rng.u8(1..=9), rng.u64(0..100_000_000_000))
}

impl Org {
    pub(crate) fn new(seed: u64, accounts: usize, principals: usize) -> Org {
        let mut rng = rng_for(seed, &[1]);
        let accounts = accounts.max(1);
        let per_acct = principals.max(8).div_ceil(accounts);
        let aliases = ["prod", "staging", "data", "shared", "sandbox", "security"];
        let mut used_names = std::collections::HashSet::new();
        let mut out = Vec::new();
        for a in 0..accounts {
            let id = account_id(&mut rng);
            let weight = if a == 0 { 1.0 } else { 0.6 / a as f64 };
            let n_h = (per_acct * 45 / 100).max(2);
            let n_c = (per_acct * 15 / 100).max(1);
            let n_r = per_acct.saturating_sub(n_h + n_c).max(3);
            let mut humans = Vec::new();
            for _ in 0..n_h {
                let mut user;
                loop {
                    user = format!("{}.{}", pick(&mut rng, FIRST), pick(&mut rng, LAST));
                    if used_names.insert(user.clone()) {
                        break;
                    }
                    if used_names.len() > FIRST.len() * LAST.len() - 4 {
                        user = format!("{user}{}", rng.u16(..));
                        break;
                    }
                }
                let (net, tz) = *pick(&mut rng, OFFICE_NETS);
                humans.push(Human {
                    user,
                    principal_id: iam_id(&mut rng, "AIDA", 17),
                    key: iam_id(&mut rng, "AKIA", 16),
                    tz,
                    office_ip: ip_in(&mut rng, net),
                    home_ip: {
                        let p = *pick(&mut rng, HOME_NETS);
                        ip_in(&mut rng, p)
                    },
                    browser: BROWSERS[rng.usize(..BROWSERS.len())],
                    cli_ua: CLI_UAS[rng.usize(..3)],
                    uses_cli: rng.f64() < 0.5,
                });
            }
            let svc = [
                "svc-backup",
                "svc-reporting",
                "svc-etl",
                "svc-legacy-deploy",
                "svc-monitoring",
                "svc-billing-export",
            ];
            let clis = (0..n_c)
                .map(|i| CliUser {
                    user: if i < svc.len() {
                        svc[i].to_string()
                    } else {
                        format!("svc-batch-{i}")
                    },
                    principal_id: iam_id(&mut rng, "AIDA", 17),
                    key: iam_id(&mut rng, "AKIA", 16),
                    ip: aws_public_ip(&mut rng),
                    ua: CLI_UAS[3 + rng.usize(..CLI_UAS.len() - 3)],
                })
                .collect();
            let functions: Vec<String> = [
                "orders-ingest",
                "invoice-render",
                "thumbnailer",
                "audit-forwarder",
                "nightly-report",
                "webhook-relay",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let mut roles = vec![Role {
                name: "cspm-readonly-audit".into(),
                role_id: iam_id(&mut rng, "AROA", 17),
                kind: RoleKind::Scanner,
                session: "cspm-scan".into(),
                ip: ip_in(&mut rng, "35.196"),
                ua: SCANNER_UA,
            }];
            for i in 0..n_r.saturating_sub(1) {
                let kind = match i % 4 {
                    0 => RoleKind::Ci,
                    1 | 3 => RoleKind::Lambda,
                    _ => RoleKind::Ec2,
                };
                let role = match kind {
                    RoleKind::Ci => Role {
                        name: if i == 0 {
                            "github-actions-terraform".into()
                        } else {
                            format!("ci-deploy-{i}")
                        },
                        role_id: iam_id(&mut rng, "AROA", 17),
                        kind,
                        session: format!("GitHubActions-{}", rng.u32(1_000_000..9_999_999)),
                        ip: {
                            let p = *pick(&mut rng, &["4.175", "20.57", "172.200"]);
                            ip_in(&mut rng, p)
                        },
                        ua: TERRAFORM_UA,
                    },
                    RoleKind::Lambda => {
                        let f = functions[(i / 2) % functions.len()].clone();
                        Role {
                            name: format!("{f}-role-{}", lower(&mut rng, 8)),
                            role_id: iam_id(&mut rng, "AROA", 17),
                            kind,
                            session: f,
                            ip: aws_public_ip(&mut rng),
                            ua: LAMBDA_UA,
                        }
                    }
                    _ => Role {
                        name: pick(
                            &mut rng,
                            &[
                                "app-server-instance-role",
                                "batch-worker-role",
                                "bastion-role",
                                "jenkins-agent-role",
                            ],
                        )
                        .to_string(),
                        role_id: iam_id(&mut rng, "AROA", 17),
                        kind,
                        session: format!("i-0{}", hex(&mut rng, 16)),
                        ip: format!("10.{}.{}.{}", a * 16 + 2, rng.u8(0..=40), rng.u8(4..=250)),
                        ua: SSM_AGENT_UA,
                    },
                };
                roles.push(role);
            }
            let env = aliases[a % aliases.len()];
            out.push(Account {
                weight,
                humans,
                clis,
                roles,
                buckets: ["assets", "invoices", "data-lake", "backups", "tfstate"]
                    .iter()
                    .map(|b| format!("{ORG}-{env}-{b}-{}", &id[8..]))
                    .collect(),
                log_bucket: format!("{ORG}-org-cloudtrail-{}", &id[6..]),
                kms_key: uuid(&mut rng),
                secrets: [
                    "prod/db/postgres-master",
                    "prod/stripe/api-key",
                    "prod/sendgrid",
                    "ci/github-token",
                    "prod/redis/auth",
                    "analytics/snowflake",
                    "prod/jwt-signing",
                    "partner/sftp",
                    "prod/okta-scim",
                    "legacy/oracle",
                    "prod/datadog",
                    "prod/pagerduty",
                ]
                .iter()
                .map(|s| format!("{s}-{}", alnum(&mut rng, 6)))
                .collect(),
                tables: vec![
                    "orders".into(),
                    "sessions".into(),
                    "terraform-locks".into(),
                    "feature-flags".into(),
                ],
                functions,
                instances: (0..8)
                    .map(|_| format!("i-0{}", hex(&mut rng, 16)))
                    .collect(),
                vpc: format!("vpc-0{}", hex(&mut rng, 16)),
                sgs: (0..5)
                    .map(|_| format!("sg-0{}", hex(&mut rng, 16)))
                    .collect(),
                subnets: (0..4)
                    .map(|_| format!("subnet-0{}", hex(&mut rng, 16)))
                    .collect(),
                route_table: format!("rtb-0{}", hex(&mut rng, 16)),
                igw: format!("igw-0{}", hex(&mut rng, 16)),
                nacl: format!("acl-0{}", hex(&mut rng, 16)),
                snapshot: format!("snap-0{}", hex(&mut rng, 16)),
                ami: format!("ami-0{}", hex(&mut rng, 16)),
                trail: format!("{ORG}-org-trail"),
                detector: hex(&mut rng, 32),
                flow_log: format!("fl-0{}", hex(&mut rng, 16)),
                id,
            });
        }
        let external_account = account_id(&mut rng);

        // Azure side.
        let tenant_id = uuid(&mut rng);
        let mgmt_group = format!("mg-{ORG}-platform");
        let groups_spec: &[(&str, &str)] = &[
            ("rg-web-prod", "westeurope"),
            ("rg-data-prod", "westeurope"),
            ("rg-aks-prod", "northeurope"),
            ("rg-shared-services", "eastus"),
            ("rg-dev-sandbox", "eastus2"),
        ];
        let subs = (0..accounts)
            .map(|_| {
                let groups: Vec<(String, &'static str)> = groups_spec
                    .iter()
                    .map(|(g, l)| (g.to_string(), *l))
                    .collect();
                Subscription {
                    id: uuid(&mut rng),
                    vms: (0..6)
                        .map(|i| {
                            (
                                i % 5,
                                format!(
                                    "vm-{}-{:02}",
                                    ["web", "etl", "aks", "jump", "dev"][i % 5],
                                    i + 1
                                ),
                            )
                        })
                        .collect(),
                    storage: (0..3)
                        .map(|i| {
                            (
                                i % 5,
                                format!(
                                    "st{ORG}{}{}",
                                    ["web", "data", "logs"][i],
                                    lower(&mut rng, 4)
                                ),
                            )
                        })
                        .collect(),
                    nsgs: (0..3)
                        .map(|i| (i, format!("nsg-{}", ["web", "data", "aks"][i])))
                        .collect(),
                    vaults: (0..2)
                        .map(|i| {
                            (
                                i,
                                format!("kv-{ORG}-{}-{}", ["web", "data"][i], lower(&mut rng, 3)),
                            )
                        })
                        .collect(),
                    groups,
                }
            })
            .collect();
        let roles_az = [
            "Contributor",
            "Reader",
            "Virtual Machine Contributor",
            "Owner",
            "Storage Account Contributor",
        ];
        let az_users = (0..(principals / 4).max(4))
            .map(|i| {
                let f = FIRST[(i * 7 + 3) % FIRST.len()];
                let l = LAST[(i * 5 + 1) % LAST.len()];
                let (net, _) = *pick(&mut rng, OFFICE_NETS);
                AzUser {
                    upn: format!("{f}.{}@{ORG}.com", l.replace('ü', "ue")),
                    name: format!(
                        "{}{} {}{}",
                        f[..1].to_uppercase(),
                        &f[1..],
                        l[..1].to_uppercase(),
                        &l[1..]
                    ),
                    object_id: uuid(&mut rng),
                    ip: ip_in(&mut rng, net),
                    role: roles_az[i % 3],
                }
            })
            .collect();
        let az_apps = [
            "github-actions-deploy",
            "terraform-platform",
            "aks-cluster-autoscaler",
            "backup-automation",
        ]
        .iter()
        .map(|name| AzApp {
            name,
            app_id: uuid(&mut rng),
            object_id: uuid(&mut rng),
            ip: {
                let p = *pick(&mut rng, &["20.61", "40.74", "52.142"]);
                ip_in(&mut rng, p)
            },
        })
        .collect();
        Org {
            accounts: out,
            external_account,
            tenant_id,
            mgmt_group,
            subs,
            az_users,
            az_apps,
        }
    }
}
