use super::*;

const SUB: &str = "/subscriptions/5d22beda-5051-4d08-89eb-a56f372e8890";

#[test]
fn azure_resource_ids_fit_and_crafted_ones_do_not() {
    let g = Grammar::AzureResourceId;
    for ok in [
        SUB.to_string(),
        format!("{SUB}/resourceGroups/rg-prod(1)"),
        format!("{SUB}/resourcegroups/wela/providers/Microsoft.Compute/virtualMachines/vm-1"),
        format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v/providers/Microsoft.Authorization/roleAssignments/r1"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv/secrets/s"),
    ] {
        assert!(g.fits(&ok), "{ok}");
    }
    for bad in [
        format!("{SUB}/resourceGroups/victim?api-version=2021-04-01&x=/providers/Microsoft.Authorization/roleDefinitions/r"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v#frag"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/.."),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/a b"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v%2F.."),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v\u{202e}"),
        format!("{SUB}/resourceGroups/g/providers/Microsoft.Compute/virtualMachines"),
        "/subscriptions/1/resourceGroups/g".to_string(),
        "https://evil/subscriptions".to_string(),
        String::new(),
    ] {
        assert!(!g.fits(&bad), "{bad}");
    }
}

#[test]
fn aws_identifiers_follow_their_grammar() {
    assert!(Grammar::IamName.fits("svc+deploy=1,a.b@c-d_e"));
    assert!(!Grammar::IamName.fits("x'; rm -rf /"));
    assert!(!Grammar::IamName.fits(&"a".repeat(65)));
    assert!(Grammar::Arn.fits("arn:aws:iam::aws:policy/AdministratorAccess"));
    assert!(Grammar::Arn.fits("arn:aws-us-gov:iam::123456789012:policy/p/path/x"));
    assert!(!Grammar::Arn.fits("arn:aws:iam::123456789012:policy/x y"));
    assert!(Grammar::Ec2Id("sg").fits("sg-0123456789abcdef0"));
    assert!(!Grammar::Ec2Id("sg").fits("sg-0123;id"));
    assert!(!Grammar::Ec2Id("sg").fits("i-0123456789abcdef0"));
    assert!(Grammar::AwsRegion.fits("us-gov-west-1"));
    assert!(!Grammar::AwsRegion.fits("us-east-1 --endpoint-url http://evil"));
    assert!(Grammar::Cidr.fits("0.0.0.0/0") && Grammar::Cidr.fits("::/0"));
    assert!(!Grammar::Cidr.fits("10.0.0.0/33"));
    assert!(
        Grammar::RuleNumber.fits("100")
            && !Grammar::RuleNumber.fits("0")
            && !Grammar::RuleNumber.fits("40000")
    );
    assert!(
        Grammar::LambdaFunction.fits("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST")
    );
    assert!(Grammar::KmsKey.fits("1234abcd-12ab-34cd-56ef-1234567890ab"));
    assert!(Grammar::KmsKey.fits("alias/my/key"));
    assert!(Grammar::AzureUri.fits(&format!(
        "https://management.azure.com{SUB}/resourceGroups/g?api-version=2022-04-01"
    )));
    assert!(!Grammar::AzureUri.fits(&format!(
        "https://management.azure.com{SUB}/resourceGroups/g?api-version=2022-04-01&x=1"
    )));
    assert!(Grammar::AzureUri
        .fits("https://graph.microsoft.com/v1.0/users/a.b%40c.com/revokeSignInSessions"));
    // The tenant's Entra ID diagnostic settings (posture's fix), one setting name only.
    let aadiam = "https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings";
    assert!(Grammar::AzureUri.fits(&format!("{aadiam}/to-siem?api-version=2017-04-01")));
    for bad in ["../x", "a/b", "a?b=1", "..", ""] {
        assert!(
            !Grammar::AzureUri.fits(&format!("{aadiam}/{bad}?api-version=2017-04-01")),
            "{bad}"
        );
    }
    assert!(Grammar::Text.fits("{\"Version\":\"2012-10-17\"}") && !Grammar::Text.fits("a\x1bb"));
}

/// Flags that only ever carry a fixed value of ours (`Cmd::opt`, `Cmd::flag`, `az(&[…])`).
const LITERAL_ONLY: [&str; 14] = [
    "--account-enabled",
    "--all",
    "--cert",
    "--egress",
    "--enable",
    "--ingress",
    "--is-multi-region-trail",
    "--key",
    "--method",
    "--offset",
    "--public-access-block-configuration",
    "--set",
    "--versioning-configuration",
    "--yes",
];

/// Every flag in the sources has a grammar or only carries fixed values: a new flag without
/// one would have its steps refused.
#[test]
fn every_flag_in_the_sources_has_a_grammar() {
    let sources = [
        include_str!("../plan.rs"),
        include_str!("../azure.rs"),
        include_str!("../entra.rs"),
        include_str!("../data.rs"),
        include_str!("../cmd.rs"),
    ];
    let flag = regex(r#""(--[a-z0-9-]+)""#);
    let mut n = 0;
    for src in sources {
        for c in flag.captures_iter(src) {
            n += 1;
            let f = &c[1];
            assert!(
                Grammar::of_flag(f).is_some() || LITERAL_ONLY.contains(&f),
                "{f} has no grammar"
            );
            assert!(
                !(Grammar::of_flag(f).is_some() && LITERAL_ONLY.contains(&f)),
                "{f} twice"
            );
        }
    }
    assert!(n > 100, "only {n} flags found: the pattern is stale");
}

#[test]
fn the_first_unfit_value_is_named() {
    let c = Cmd::aws("iam", "delete-user").arg("--user-name", "x'; rm -rf /");
    let why = first_unfit(&c).expect("refused");
    assert!(
        why.contains("--user-name") && why.contains("IAM name"),
        "{why}"
    );
    let ok = Cmd::aws("iam", "delete-user")
        .arg("--user-name", "mallory")
        .region(Some("us-east-1"));
    assert_eq!(first_unfit(&ok), None);
    let hidden = Cmd::aws("iam", "delete-user").arg("--user-name", "a\x1b[2Jb");
    assert!(first_unfit(&hidden).expect("refused").contains("\\x1b"));
}

#[test]
fn graph_uris_of_object_ids_fit_and_crafted_ones_do_not() {
    let g = Grammar::AzureUri;
    let role = "0f1e2d3c-0000-4000-8000-0000000000ff";
    let member = "a1b2c3d4-0000-4000-8000-000000000006";
    for ok in [
        format!("https://graph.microsoft.com/v1.0/directoryRoles/{role}/members/{member}/$ref"),
        format!("https://graph.microsoft.com/v1.0/directoryRoles(roleTemplateId='{role}')/members/{member}/$ref"),
        format!("https://graph.microsoft.com/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{member}'"),
        "https://graph.microsoft.com/v1.0/oauth2PermissionGrants/l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk".to_string(),
        format!("https://graph.microsoft.com/v1.0/users/{member}?$select=accountEnabled,lastPasswordChangeDateTime"),
        format!("https://graph.microsoft.com/v1.0/identity/conditionalAccess/policies/{role}"),
    ] {
        assert!(g.fits(&ok), "{ok}");
    }
    for bad in [
        format!("https://graph.microsoft.com/v1.0/directoryRoles/{role}/members/x'$(id)/$ref"),
        format!("https://graph.microsoft.com/v1.0/directoryRoles/{role}/members/../../users/{member}"),
        format!("https://graph.microsoft.com/v1.0/users/{member}?$select=x&$top=1"),
        "https://graph.microsoft.com/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'x'%20or%20true".to_string(),
        format!("https://graph.microsoft.com/v1.0/users/{member}#frag"),
        "https://graph.microsoft.com/v1.0/users/a b".to_string(),
        "https://graph.microsoft.com.evil/v1.0/users/x".to_string(),
        "https://graph.microsoft.com/v1.0/users/x\n".to_string(),
    ] {
        assert!(!g.fits(&bad), "{bad}");
    }
}
