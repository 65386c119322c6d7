//! Azure request and response bodies decide severity: an NSG rule opening an administrative
//! port range to the internet is high; an administrator's rule for HTTPS from the office is not.

use trailwatch_decode::expand_inputs;
use trailwatch_detect::{hunt, HuntOptions, RulePack};
use trailwatch_model::Severity;

/// A finished NSG rule write in the diagnostic (upper-case) shape; `body` is the rule as the
/// service answered it.
fn nsg_rule_write(who: &str, minute: u32, body: &str) -> String {
    let body = serde_json::Value::String(body.to_string());
    format!(
        r#"{{"time":"2026-11-20T10:{minute:02}:07.441Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/SECURITYRULES/R{minute}","operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.Created","durationMs":"1873","callerIpAddress":"198.51.100.23","correlationId":"c-{minute}","identity":{{"authorization":{{"action":"Microsoft.Network/networkSecurityGroups/securityRules/write","evidence":{{"role":"Owner","principalId":"1f2e3d4c5b6a47988796a5b4c3d2e1f{minute}","principalType":"User"}}}},"claims":{{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"{who}"}}}},"level":"Information","location":"westeurope","properties":{{"statusCode":"Created","responseBody":{body}}}}}"#
    )
}

#[test]
fn an_nsg_rule_opening_rdp_range_to_the_internet_is_high_and_the_routine_rule_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let open = r#"{"name":"tmp","properties":{"protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"3380-3390","sourceAddressPrefix":"Internet","destinationAddressPrefix":"*","access":"Allow","priority":110,"direction":"Inbound"}}"#;
    let routine = r#"{"name":"https","properties":{"protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"443","sourceAddressPrefix":"203.0.113.0/24","destinationAddressPrefix":"*","access":"Allow","priority":120,"direction":"Inbound"}}"#;
    let lines = [
        nsg_rule_write("mallory@contoso.com", 10, open),
        nsg_rule_write("netadmin@contoso.com", 11, routine),
    ];
    let file = dir.path().join("PT1H.json");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let (inputs, errors) = expand_inputs(&[file]);
    assert!(errors.is_empty(), "{errors:?}");
    let pack = RulePack::load(true, &[], Severity::Low).expect("built-in rules");
    let report = hunt(
        &inputs,
        &pack,
        &HuntOptions::default(),
        &|e| panic!("{e}"),
        &|_| {},
    );
    let alerts: Vec<_> = report.alerts.iter().map(|p| p.to_alert()).collect();
    let worst = |who: &str| {
        alerts
            .iter()
            .filter(|a| a.principal == who)
            .map(|a| a.severity)
            .max()
    };
    assert!(
        worst("mallory@contoso.com") >= Some(Severity::High),
        "{alerts:#?}"
    );
    let raised = alerts
        .iter()
        .find(|a| a.principal == "mallory@contoso.com" && a.severity >= Severity::High)
        .expect("a high alert");
    assert!(
        raised.description.contains("3389") || raised.title.contains("Internet"),
        "the alert says why: {raised:#?}"
    );
    assert!(
        worst("netadmin@contoso.com") < Some(Severity::Medium),
        "{alerts:#?}"
    );
}
