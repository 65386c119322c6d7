//! Azure request and response bodies (JSON text inside `properties`) are readable by dotted
//! paths in every Activity Log shape, through the real reader.

use serde_json::json;
use trailwatch_decode::{read_bytes, ReadScratch};
use trailwatch_model::FieldPath;

/// The body an NSG rule write carries, as JSON text.
fn nsg_body() -> String {
    json!({"properties": {"protocol": "Tcp", "sourcePortRange": "*",
        "destinationPortRange": "3389", "sourceAddressPrefix": "*",
        "destinationAddressPrefixes": ["10.0.0.4", "10.0.0.5"], "access": "Allow",
        "priority": 100, "direction": "Inbound"}})
    .to_string()
}

/// Every value the record read from `doc` answers at each of `paths`, in order.
fn answers(doc: &serde_json::Value, paths: &[&str]) -> Vec<Vec<String>> {
    let text = serde_json::to_vec(doc).unwrap();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    read_bytes(
        &text,
        "example",
        &mut ReadScratch::default(),
        &mut |rec| {
            for p in paths {
                let mut vals = Vec::new();
                rec.fields().visit_field(&FieldPath::new(p), &mut |v| {
                    vals.push(v.as_text().into_owned());
                    false
                });
                out.push(vals);
            }
        },
        &mut |e| errors.push(e.reason),
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out.len(), paths.len(), "one record read");
    out
}

const OP: &str = "Microsoft.Network/networkSecurityGroups/securityRules/write";
const RID: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/open-rdp";

fn shapes() -> Vec<(&'static str, serde_json::Value)> {
    let body = nsg_body();
    vec![
        (
            "REST",
            json!({"eventTimestamp": "2024-01-02T03:04:05Z", "eventDataId": "e1",
                "operationName": {"value": OP, "localizedValue": "Create or Update Security Rule"},
                "status": {"value": "Succeeded"}, "caller": "eve@contoso.com", "resourceId": RID,
                "properties": {"statusCode": "Created", "responseBody": body}}),
        ),
        (
            "diagnostic",
            json!({"time": "2024-01-02T03:04:05Z", "resourceId": RID.to_uppercase(),
                "operationName": OP.to_uppercase(), "category": "Administrative",
                "resultType": "Start", "callerIpAddress": "198.51.100.4",
                "properties": {"requestbody": body, "eventCategory": "Administrative"}}),
        ),
        (
            "Log Analytics, Properties_d",
            json!({"TimeGenerated": "2024-01-02T03:04:05Z", "OperationNameValue": OP.to_uppercase(),
                "ActivityStatusValue": "Success", "Caller": "eve@contoso.com", "ResourceId": RID,
                "Properties_d": {"statusCode": "Created", "responseBody": body}}),
        ),
        (
            "Log Analytics, Properties as JSON text",
            json!({"TimeGenerated": "2024-01-02T03:04:05Z", "OperationNameValue": OP.to_uppercase(),
                "ActivityStatusValue": "Success", "Caller": "eve@contoso.com", "ResourceId": RID,
                "Properties": json!({"statusCode": "Created", "responseBody": body}).to_string()}),
        ),
    ]
}

#[test]
fn body_fields_answer_in_every_shape() {
    for (shape, doc) in shapes() {
        let body_key = if shape == "diagnostic" {
            "requestbody"
        } else {
            "responseBody"
        };
        let got = answers(
            &doc,
            &[
                &format!("properties.{body_key}.properties.sourceAddressPrefix"),
                &format!("properties.{body_key}.properties.destinationPortRange"),
                &format!("properties.{body_key}.properties.destinationAddressPrefixes"),
                &format!("properties.{body_key}.properties.priority"),
                &format!("properties.{body_key}.properties.missing"),
            ],
        );
        assert_eq!(got[0], ["*"], "{shape}");
        assert_eq!(got[1], ["3389"], "{shape}");
        assert_eq!(got[2], ["10.0.0.4", "10.0.0.5"], "{shape}");
        assert_eq!(got[3], ["100"], "{shape}");
        assert!(got[4].is_empty(), "{shape}");
    }
}

#[test]
fn the_body_string_itself_is_still_one_value() {
    for (shape, doc) in shapes() {
        let body_key = if shape == "diagnostic" {
            "requestbody"
        } else {
            "responseBody"
        };
        let got = answers(&doc, &[&format!("properties.{body_key}")]);
        assert_eq!(got[0], [nsg_body()], "{shape}");
    }
}
