//! Detection semantics: values, wildcards, modifiers, conditions.

mod common;
use common::{ev, rule, try_rule};
use serde_json::json;

#[test]
fn plain_values_case_insensitive_and_cased() {
    let r = rule("sel:\n  eventName: CreateUser\ncondition: sel");
    assert!(r.matches(&ev(json!({"eventName": "CreateUser"}))));
    assert!(r.matches(&ev(json!({"eventName": "createuser"}))));
    assert!(!r.matches(&ev(json!({"eventName": "CreateUsers"}))));
    assert!(!r.matches(&ev(json!({"other": "CreateUser"}))));
    let r = rule("sel:\n  eventName|cased: CreateUser\ncondition: sel");
    assert!(r.matches(&ev(json!({"eventName": "CreateUser"}))));
    assert!(!r.matches(&ev(json!({"eventName": "createuser"}))));
    // Non-ASCII values fold too.
    let r = rule("sel:\n  name: ÄRGER\ncondition: sel");
    assert!(r.matches(&ev(json!({"name": "ärger"}))));
}

#[test]
fn value_lists_are_or_and_all_is_and() {
    let r = rule("sel:\n  eventName:\n    - A\n    - B\ncondition: sel");
    assert!(r.matches(&ev(json!({"eventName": "a"}))));
    assert!(r.matches(&ev(json!({"eventName": "B"}))));
    assert!(!r.matches(&ev(json!({"eventName": "C"}))));
    let r = rule("sel:\n  ua|contains|all:\n    - boto\n    - linux\ncondition: sel");
    assert!(r.matches(&ev(json!({"ua": "Boto3/1.2 Linux/5"}))));
    assert!(!r.matches(&ev(json!({"ua": "Boto3/1.2 Windows"}))));
}

#[test]
fn map_is_and_list_of_maps_is_or() {
    let r = rule("sel:\n  a: 1\n  b: x\ncondition: sel");
    assert!(r.matches(&ev(json!({"a": 1, "b": "x"}))));
    assert!(!r.matches(&ev(json!({"a": 1, "b": "y"}))));
    let r = rule("sel:\n  - a: 1\n  - b: x\ncondition: sel");
    assert!(r.matches(&ev(json!({"a": 2, "b": "x"}))));
    assert!(r.matches(&ev(json!({"a": 1}))));
    assert!(!r.matches(&ev(json!({"a": 2, "b": "y"}))));
}

#[test]
fn wildcards_and_escapes() {
    let r = rule("sel:\n  f: 'Get*Policy'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "GetBucketPolicy"}))));
    assert!(r.matches(&ev(json!({"f": "getpolicy"}))));
    assert!(!r.matches(&ev(json!({"f": "GetBucketPolicyStatus"}))));
    let r = rule("sel:\n  f: 'a?c'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "abc"}))));
    assert!(!r.matches(&ev(json!({"f": "ac"}))));
    let r = rule("sel:\n  f: 'a\\*c'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "a*c"}))));
    assert!(!r.matches(&ev(json!({"f": "abc"}))));
    let r = rule("sel:\n  f: 'a\\?c'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "a?c"}))));
    assert!(!r.matches(&ev(json!({"f": "abc"}))));
    let r = rule("sel:\n  f: 'a\\\\*'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "a\\bcd"}))));
    assert!(!r.matches(&ev(json!({"f": "abcd"}))));
    let r = rule("sel:\n  f: '*'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": ""}))));
    assert!(!r.matches(&ev(json!({"g": "x"}))));
}

#[test]
fn contains_startswith_endswith() {
    let r = rule("sel:\n  f|contains: Admin\ncondition: sel");
    assert!(r.matches(&ev(
        json!({"f": "arn:aws:iam::1:policy/AdministratorAccess"})
    )));
    assert!(r.matches(&ev(json!({"f": "xxADMINxx"}))));
    assert!(!r.matches(&ev(json!({"f": "adm"}))));
    let r = rule("sel:\n  f|startswith: arn:aws:iam\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "ARN:AWS:IAM::1:user/x"}))));
    assert!(!r.matches(&ev(json!({"f": "x arn:aws:iam"}))));
    let r = rule("sel:\n  f|endswith: .amazonaws.com\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "iam.AMAZONAWS.com"}))));
    assert!(!r.matches(&ev(json!({"f": "amazonaws.com.evil"}))));
    let r = rule("sel:\n  f|contains|cased: Admin\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "xAdminx"}))));
    assert!(!r.matches(&ev(json!({"f": "xadminx"}))));
    // contains with inner wildcard
    let r = rule("sel:\n  f|contains: 'a*z'\ncondition: sel");
    assert!(r.matches(&ev(json!({"f": "--a--z--"}))));
    assert!(!r.matches(&ev(json!({"f": "--z--a--"}))));
}

#[test]
fn null_and_empty() {
    let r = rule("sel:\n  errorCode: null\ncondition: sel");
    assert!(r.matches(&ev(json!({"eventName": "x"}))));
    assert!(r.matches(&ev(json!({"errorCode": null}))));
    assert!(!r.matches(&ev(json!({"errorCode": "AccessDenied"}))));
    assert!(!r.matches(&ev(json!({"errorCode": ""}))));
    let r = rule("sel:\n  errorCode: ''\ncondition: sel");
    assert!(r.matches(&ev(json!({"errorCode": ""}))));
    assert!(!r.matches(&ev(json!({}))));
    assert!(!r.matches(&ev(json!({"errorCode": null}))));
    assert!(!r.matches(&ev(json!({"errorCode": "x"}))));
    let r = rule("sel:\n  errorCode:\n    - null\n    - AccessDenied\ncondition: sel");
    assert!(r.matches(&ev(json!({}))));
    assert!(r.matches(&ev(json!({"errorCode": "accessdenied"}))));
    assert!(!r.matches(&ev(json!({"errorCode": "Other"}))));
}

#[test]
fn numbers_and_booleans_compare_as_text() {
    let r = rule("sel:\n  readOnly: false\ncondition: sel");
    assert!(r.matches(&ev(json!({"readOnly": false}))));
    assert!(r.matches(&ev(json!({"readOnly": "false"}))));
    assert!(!r.matches(&ev(json!({"readOnly": true}))));
    let r = rule("sel:\n  port: 22\ncondition: sel");
    assert!(r.matches(&ev(json!({"port": 22}))));
    assert!(r.matches(&ev(json!({"port": "22"}))));
    assert!(!r.matches(&ev(json!({"port": 220}))));
    // A number value is literal, never a wildcard pattern.
    let r = rule("sel:\n  v: 1.08\ncondition: sel");
    assert!(r.matches(&ev(json!({"v": "1.08"}))));
    assert!(!r.matches(&ev(json!({"v": "1x08"}))));
}

#[test]
fn exists() {
    let r = rule("sel:\n  errorCode|exists: true\ncondition: sel");
    assert!(r.matches(&ev(json!({"errorCode": "AccessDenied"}))));
    assert!(r.matches(&ev(json!({"errorCode": ""}))));
    assert!(!r.matches(&ev(json!({"errorCode": null}))));
    assert!(!r.matches(&ev(json!({}))));
    let r = rule("sel:\n  errorCode|exists: false\ncondition: sel");
    assert!(r.matches(&ev(json!({}))));
    assert!(!r.matches(&ev(json!({"errorCode": "x"}))));
    assert!(try_rule("sel:\n  errorCode|exists: maybe\ncondition: sel").is_err());
}

#[test]
fn regex_and_flags() {
    let r = rule("sel:\n  arn|re: '.+:assumed-role/aws:.+'\ncondition: sel");
    assert!(r.matches(&ev(json!({"arn": "arn:aws:sts::1:assumed-role/aws:x/y"}))));
    assert!(!r.matches(&ev(json!({"arn": "arn:aws:sts::1:ASSUMED-ROLE/aws:x/y"}))));
    let r = rule("sel:\n  arn|re|i: '^ARN:AWS'\ncondition: sel");
    assert!(r.matches(&ev(json!({"arn": "arn:aws:iam"}))));
    let r = rule("sel:\n  t|re|m: '^b$'\ncondition: sel");
    assert!(r.matches(&ev(json!({"t": "a\nb\nc"}))));
    let r = rule("sel:\n  t|re: '^b$'\ncondition: sel");
    assert!(!r.matches(&ev(json!({"t": "a\nb\nc"}))));
    let r = rule("sel:\n  t|re|s: 'a.b'\ncondition: sel");
    assert!(r.matches(&ev(json!({"t": "a\nb"}))));
    let r = rule("sel:\n  t|re: 'a.b'\ncondition: sel");
    assert!(!r.matches(&ev(json!({"t": "a\nb"}))));
    let e = try_rule("sel:\n  t|re: 'a(b'\ncondition: sel")
        .err()
        .unwrap_or_default();
    assert!(e.contains("invalid regular expression"), "{e}");
    assert!(try_rule("sel:\n  t|i: x\ncondition: sel").is_err());
}

#[test]
fn cidr_v4_and_v6() {
    let r = rule("sel:\n  ip|cidr:\n    - 10.0.0.0/8\n    - '2001:db8::/32'\ncondition: sel");
    assert!(r.matches(&ev(json!({"ip": "10.1.2.3"}))));
    assert!(!r.matches(&ev(json!({"ip": "11.1.2.3"}))));
    assert!(r.matches(&ev(json!({"ip": "2001:db8::1"}))));
    assert!(!r.matches(&ev(json!({"ip": "2001:db9::1"}))));
    assert!(!r.matches(&ev(json!({"ip": "cloudtrail.amazonaws.com"}))));
    assert!(!r.matches(&ev(json!({}))));
    let e = try_rule("sel:\n  ip|cidr: 300.0.0.0/8\ncondition: sel")
        .err()
        .unwrap_or_default();
    assert!(e.contains("not a CIDR"), "{e}");
}

#[test]
fn base64_and_base64offset_and_wide() {
    // "echo hello" base64 is ZWNobyBoZWxsbw==
    let r = rule("sel:\n  cmd|base64: echo hello\ncondition: sel");
    assert!(r.matches(&ev(json!({"cmd": "ZWNobyBoZWxsbw=="}))));
    assert!(!r.matches(&ev(json!({"cmd": "echo hello"}))));
    let r = rule("sel:\n  cmd|base64|contains: hello\ncondition: sel");
    assert!(r.matches(&ev(json!({"cmd": "xxaGVsbG8=yy"}))));
    // base64offset finds the value at any offset of a larger encoded text.
    let r = rule("sel:\n  cmd|base64offset|contains: echo hello\ncondition: sel");
    for prefix in ["", "x", "xx", "xxx "] {
        let text = format!("{prefix}echo hello world");
        let enc = b64(text.as_bytes());
        assert!(
            r.matches(&ev(json!({ "cmd": enc }))),
            "offset {}",
            prefix.len()
        );
    }
    assert!(!r.matches(&ev(json!({"cmd": b64(b"echo goodbye")}))));
    // UTF-16LE then base64offset.
    let r = rule("sel:\n  cmd|wide|base64offset|contains: ping\ncondition: sel");
    let wide: Vec<u8> = "run ping now"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert!(r.matches(&ev(json!({ "cmd": b64(&wide) }))));
    assert!(!r.matches(&ev(json!({ "cmd": b64(b"run ping now") }))));
    let r = rule("sel:\n  cmd|utf16be|base64: ab\ncondition: sel");
    assert!(r.matches(&ev(json!({ "cmd": b64(&[0, b'a', 0, b'b']) }))));
    let r = rule("sel:\n  cmd|utf16|base64: ab\ncondition: sel");
    assert!(r.matches(&ev(json!({ "cmd": b64(&[0xFF, 0xFE, b'a', 0, b'b', 0]) }))));
    assert!(try_rule("sel:\n  cmd|base64: 'a*'\ncondition: sel").is_err());
}

fn b64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn windash() {
    let r = rule("sel:\n  cmd|windash|contains: ' -encodedcommand'\ncondition: sel");
    for d in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        let cmd = format!("powershell {d}EncodedCommand abc");
        assert!(r.matches(&ev(json!({ "cmd": cmd }))), "{d}");
    }
    assert!(!r.matches(&ev(json!({"cmd": "powershell +encodedcommand"}))));
}

#[test]
fn numeric_comparisons() {
    let cases = [
        ("gt", 5, false),
        ("gt", 6, true),
        ("gte", 5, true),
        ("gte", 4, false),
        ("lt", 5, false),
        ("lt", 4, true),
        ("lte", 5, true),
        ("lte", 6, false),
    ];
    for (op, v, want) in cases {
        let r = rule(&format!("sel:\n  n|{op}: 5\ncondition: sel"));
        assert_eq!(r.matches(&ev(json!({ "n": v }))), want, "{v} {op} 5");
        assert_eq!(
            r.matches(&ev(json!({ "n": v.to_string() }))),
            want,
            "'{v}' {op} 5"
        );
    }
    let r = rule("sel:\n  n|gte: 1.5\ncondition: sel");
    assert!(r.matches(&ev(json!({"n": 1.5}))));
    assert!(!r.matches(&ev(json!({"n": "abc"}))));
    assert!(!r.matches(&ev(json!({}))));
    assert!(try_rule("sel:\n  n|gt: abc\ncondition: sel").is_err());
}

#[test]
fn fieldref() {
    let r = rule("sel:\n  userIdentity.arn|fieldref: requestParameters.userName\ncondition: sel");
    assert!(r.matches(&ev(
        json!({"userIdentity": {"arn": "Bob"}, "requestParameters": {"userName": "bob"}})
    )));
    assert!(!r.matches(&ev(
        json!({"userIdentity": {"arn": "Bob"}, "requestParameters": {"userName": "alice"}})
    )));
    assert!(!r.matches(&ev(json!({"userIdentity": {"arn": "Bob"}}))));
    let r = rule("sel:\n  a|fieldref|endswith: b\ncondition: sel");
    assert!(r.matches(&ev(json!({"a": "arn:user/bob", "b": "BOB"}))));
    assert!(!r.matches(&ev(json!({"a": "arn:user/bobby", "b": "bob"}))));
    let r = rule("sel:\n  a|fieldref|cased: b\ncondition: sel");
    assert!(!r.matches(&ev(json!({"a": "Bob", "b": "bob"}))));
}

#[test]
fn modifier_errors() {
    let e = try_rule("sel:\n  x|foo: 1\ncondition: sel")
        .err()
        .unwrap_or_default();
    assert_eq!(e, "unknown modifier 'foo' on field 'x'");
    let e = try_rule("sel:\n  x|expand: '%p%'\ncondition: sel")
        .err()
        .unwrap_or_default();
    assert!(e.contains("expand"), "{e}");
    assert!(try_rule("sel:\n  x|re|contains: a\ncondition: sel").is_err());
    assert!(try_rule("sel:\n  x|cidr|gt: 1\ncondition: sel").is_err());
    assert!(try_rule("sel:\n  x: []\ncondition: sel").is_err());
    assert!(try_rule("sel:\n  x:\n    a: 1\ncondition: sel").is_err());
}

#[test]
fn arrays_in_events() {
    let r = rule("sel:\n  resources.ARN|endswith: ':secret'\ncondition: sel");
    let e = ev(json!({"resources": [{"ARN": "arn:a"}, {"ARN": "arn:b:secret"}]}));
    assert!(r.matches(&e));
    assert!(!r.matches(&ev(json!({"resources": [{"ARN": "arn:a"}]}))));
    let r = rule("sel:\n  tags: prod\ncondition: sel");
    assert!(r.matches(&ev(json!({"tags": ["dev", "prod"]}))));
    // `not` over arrays: no element may match.
    let r = rule("sel:\n  tags: prod\ncondition: not sel");
    assert!(!r.matches(&ev(json!({"tags": ["dev", "prod"]}))));
    assert!(r.matches(&ev(json!({"tags": ["dev"]}))));
}

#[test]
fn dotted_keys() {
    let r = rule(
        "sel:\n  claims.http://schemas.microsoft.com/claims/authnmethodsreferences|contains: mfa\ncondition: sel",
    );
    let e = ev(
        json!({"claims": {"http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa"}}),
    );
    assert!(r.matches(&e));
}

#[test]
fn composite_values() {
    // Equality never matches an object; contains may look inside it.
    let r = rule("sel:\n  requestParameters|contains: secret\ncondition: sel");
    assert!(r.matches(&ev(json!({"requestParameters": {"name": "my-secret"}}))));
    let r = rule("sel:\n  requestParameters: '{}'\ncondition: sel");
    assert!(!r.matches(&ev(json!({"requestParameters": {}}))));
}

#[test]
fn keywords() {
    let r =
        rule("keywords:\n  - Microsoft.Authorization/roleAssignments/write\ncondition: keywords");
    assert!(r.matches(&ev(
        json!({"a": {"b": ["x", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"]}})
    )));
    assert!(r.matches(&ev(
        json!({"a": "prefix microsoft.authorization/roleassignments/write suffix"})
    )));
    assert!(!r.matches(&ev(
        json!({"a": "Microsoft.Authorization/roleAssignments/read"})
    )));
    let r = rule("keywords: 'break-glass'\ncondition: keywords");
    assert!(r.matches(&ev(json!({"x": 1, "y": "image-policy.k8s.io/break-glass"}))));
    let r = rule("keywords:\n  '|re': 'ab+c'\ncondition: keywords");
    assert!(r.matches(&ev(json!({"x": "zzabbbc"}))));
    assert!(!r.matches(&ev(json!({"x": "ac"}))));
}

#[test]
fn conditions() {
    let det = "sel_a:\n  a: 1\nsel_b:\n  b: 1\nfilter_x:\n  x: 1\nfilter_y:\n  y: 1\n";
    let check = |cond: &str, cases: &[(serde_json::Value, bool)]| {
        let r = rule(&format!("{det}condition: {cond}"));
        for (v, want) in cases {
            assert_eq!(r.matches(&ev(v.clone())), *want, "{cond} on {v}");
        }
    };
    check(
        "sel_a and not sel_b",
        &[(json!({"a":1}), true), (json!({"a":1,"b":1}), false)],
    );
    check(
        "sel_a or sel_b and filter_x",
        &[
            (json!({"a":1}), true),
            (json!({"b":1}), false),
            (json!({"b":1,"x":1}), true),
        ],
    );
    check(
        "(sel_a or sel_b) and filter_x",
        &[(json!({"a":1}), false), (json!({"a":1,"x":1}), true)],
    );
    check(
        "not sel_a and not sel_b",
        &[(json!({}), true), (json!({"b":1}), false)],
    );
    check(
        "not (sel_a or sel_b)",
        &[(json!({}), true), (json!({"a":1}), false)],
    );
    check(
        "1 of sel_*",
        &[(json!({"b":1}), true), (json!({"x":1}), false)],
    );
    check("any of sel_*", &[(json!({"a":1}), true)]);
    check(
        "all of sel_*",
        &[(json!({"a":1}), false), (json!({"a":1,"b":1}), true)],
    );
    check(
        "sel_a and not 1 of filter_*",
        &[(json!({"a":1}), true), (json!({"a":1,"y":1}), false)],
    );
    check("1 of them", &[(json!({"y":1}), true), (json!({}), false)]);
    check(
        "all of them",
        &[
            (json!({"a":1,"b":1,"x":1}), false),
            (json!({"a":1,"b":1,"x":1,"y":1}), true),
        ],
    );
    check("sel_a AND NOT sel_b", &[(json!({"a":1}), true)]);
    // A list of conditions is an OR.
    let r = rule(&format!(
        "{det}condition:\n  - sel_a and filter_x\n  - sel_b"
    ));
    assert!(r.matches(&ev(json!({"b":1}))));
    assert!(r.matches(&ev(json!({"a":1,"x":1}))));
    assert!(!r.matches(&ev(json!({"a":1}))));
}

#[test]
fn condition_errors() {
    let e = try_rule("sel:\n  a: 1\ncondition: sel and sel2")
        .err()
        .unwrap_or_default();
    assert_eq!(e, "condition references undefined identifier 'sel2'");
    let e = try_rule("sel:\n  a: 1\ncondition: sel and (")
        .err()
        .unwrap_or_default();
    assert!(e.starts_with("condition syntax error"), "{e}");
    let e = try_rule("sel:\n  a: 1").err().unwrap_or_default();
    assert!(e.contains("detection.condition"), "{e}");
    let e = try_rule("sel:\n  a: 1\ncondition: sel | count() > 5")
        .err()
        .unwrap_or_default();
    assert!(e.contains("aggregation"), "{e}");
}
