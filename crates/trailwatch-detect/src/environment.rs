//! Which Azure resources belong to a non-production environment: by the name of their
//! resource group, where Azure's naming convention (the Cloud Adoption Framework's
//! `rg-<workload>-<environment>`) puts the environment. An alert whose every event acted in
//! such a group is one level less severe than its rule says (never below low, never from
//! critical, never when a call's content confirmed or raised it, never for credential access,
//! execution, collection, exfiltration, persistence or privilege escalation: see
//! `crate::group`): tearing down a pull-request environment is routine, the same deletion in
//! production is not.
//!
//! The group's name is split at `-`, `_` and `.`; a part equal to one of the configured names
//! (`[organization] non_production`, default [`DEFAULT_NON_PRODUCTION`]) or a pull-request
//! number (`pr1234`) marks it. A group with a part `prod` or `production` is production
//! whatever else it says. AWS environments are accounts, not names: AWS alerts are not lowered.

use trailwatch_decode::azure::resource_id_part;

/// Name parts that mark a non-production resource group unless configured otherwise.
pub const DEFAULT_NON_PRODUCTION: &[&str] = &[
    "dev",
    "devtest",
    "test",
    "testing",
    "qa",
    "sandbox",
    "sbx",
    "lab",
    "poc",
    "demo",
    "tmp",
    "temp",
    "ephemeral",
    "scratch",
];

/// Parts that mark production whatever else the name says.
const PRODUCTION: &[&str] = &["prod", "production", "prd", "live"];

/// The non-production naming of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environments {
    /// Lower-case name parts.
    names: Vec<String>,
}

impl Default for Environments {
    fn default() -> Self {
        Environments::new(DEFAULT_NON_PRODUCTION.iter().copied())
    }
}

impl Environments {
    /// The naming given by `names` (name parts, any case); none: nothing is non-production.
    pub fn new<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Environments {
            names: names
                .into_iter()
                .map(|n| n.as_ref().trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// The resource group of an Azure resource id when its name marks a non-production
    /// environment.
    pub fn non_production_group<'r>(&self, resource_id: &'r str) -> Option<&'r str> {
        if self.names.is_empty() {
            return None;
        }
        let group = resource_id_part(resource_id, "resourceGroups")?;
        let parts: Vec<String> = group
            .split(['-', '_', '.'])
            .map(str::to_ascii_lowercase)
            .collect();
        if parts.iter().any(|p| PRODUCTION.contains(&p.as_str())) {
            return None;
        }
        parts
            .iter()
            .any(|p| self.names.contains(p) || is_pull_request(p))
            .then_some(group)
    }

    /// When every one of `resources` (Azure resource ids) is in a non-production group: the
    /// first such group. `None` when any is not, or there are none.
    pub fn all_non_production<'r>(&self, resources: &'r [String]) -> Option<&'r str> {
        let mut first = None;
        for r in resources {
            let g = self.non_production_group(r)?;
            first.get_or_insert(g);
        }
        first
    }
}

/// `pr` followed by digits: a pull request's environment.
fn is_pull_request(part: &str) -> bool {
    part.len() > 2 && part.starts_with("pr") && part[2..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/8f2d3c4b-5a69-4e7f-8a1b-2c3d4e5f6a7b";

    #[test]
    fn groups_named_for_development_are_non_production() {
        let e = Environments::default();
        let id = format!(
            "{SUB}/resourceGroups/rg-dev-sandbox/providers/Microsoft.Network/virtualNetworks/v"
        );
        assert_eq!(e.non_production_group(&id), Some("rg-dev-sandbox"));
        let upper = format!("{SUB}/RESOURCEGROUPS/RG-APP-TEST/PROVIDERS/X/Y").to_uppercase();
        assert_eq!(e.non_production_group(&upper), Some("RG-APP-TEST"));
        let pr = format!("{SUB}/resourceGroups/rg-dev-pr1523");
        assert_eq!(e.non_production_group(&pr), Some("rg-dev-pr1523"));
        let pr_only = format!("{SUB}/resourceGroups/web_pr77/providers/a/b");
        assert_eq!(e.non_production_group(&pr_only), Some("web_pr77"));
    }

    #[test]
    fn production_and_unmarked_groups_are_not() {
        let e = Environments::default();
        for g in [
            "rg-web-prod",
            "rg-dev-prod",
            "rg-shared-services",
            "developers",
            "rg-pr",
            "rg-latest",
        ] {
            let id = format!("{SUB}/resourceGroups/{g}/providers/a/b");
            assert_eq!(e.non_production_group(&id), None, "{g}");
        }
        // Subscription-scope resources have no group.
        let sub_scope = format!("{SUB}/providers/Microsoft.Authorization/locks/l");
        assert_eq!(e.non_production_group(&sub_scope), None);
        // Disabled by an empty list.
        let dev = format!("{SUB}/resourceGroups/rg-dev/providers/a/b");
        assert_eq!(
            Environments::new(Vec::<String>::new()).non_production_group(&dev),
            None
        );
        // Configured names replace the defaults.
        let e = Environments::new(["Staging"]);
        assert_eq!(e.non_production_group(&dev), None);
        let stg = format!("{SUB}/resourceGroups/rg-app-staging/providers/a/b");
        assert_eq!(e.non_production_group(&stg), Some("rg-app-staging"));
    }

    #[test]
    fn all_resources_must_be_non_production() {
        let e = Environments::default();
        let dev = format!("{SUB}/resourceGroups/rg-dev/providers/a/b");
        let prod = format!("{SUB}/resourceGroups/rg-prod/providers/a/b");
        assert_eq!(
            e.all_non_production(std::slice::from_ref(&dev)),
            Some("rg-dev")
        );
        assert_eq!(e.all_non_production(&[dev, prod]), None);
        assert_eq!(e.all_non_production(&[]), None);
    }
}
