//! The watch publishes the store's signed head after each step: to the anchor file outside the
//! store, and through the sinks `[store] anchor_sinks` names, once per head.

use std::fs;
use std::path::{Path, PathBuf};

use trailwatch_ledger::{Anchor, VerifyOptions};
use trailwatch_model::Alert;
use trailwatch_sink::{AlertState, Outbox};
use trailwatch_store::Store;
use trailwatch_watch::{outbox_path, Config, Watcher};

fn stratus(rel: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/stratus-red-team")
        .join(rel)
}

fn sent_anchors(jsonl: &Path) -> Vec<Anchor> {
    let text = fs::read_to_string(jsonl).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Alert>(l).expect("alert line"))
        .filter(|a| a.rule_id == "trailwatch-store-anchor")
        .map(|a| serde_json::from_str(&a.description).expect("an anchor line"))
        .collect()
}

#[test]
fn each_step_publishes_its_signed_head_to_the_file_and_the_sinks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, inbox) = (tmp.path().join("store"), tmp.path().join("inbox"));
    let (key, anchors) = (
        tmp.path().join("audit.key"),
        tmp.path().join("anchors.jsonl"),
    );
    let jsonl = tmp.path().join("siem.jsonl");
    fs::create_dir_all(&inbox).expect("inbox");
    let text = format!(
        "[store]\ndir = {store:?}\nsigning_key = {key:?}\nanchors = {anchors:?}\nanchor_sinks = [\"siem\"]\n\
         [[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {inbox:?}\n\
         [[sinks]]\nname = \"siem\"\nkind = \"jsonl\"\npath = {jsonl:?}\nmin_severity = \"critical\"\n"
    );
    let cfg = Config::parse(&text).expect("config");
    let bad = text.replace("anchor_sinks = [\"siem\"]", "anchor_sinks = [\"nowhere\"]");
    let e = Config::parse(&bad).expect_err("an unknown sink");
    assert!(e.contains("nowhere"), "{e}");

    let mut w = Watcher::from_config(&cfg).expect("watcher");
    for (i, file) in [
        "exfiltration/ExfiltrateAMIBySharingIt.json",
        "discovery/DownloadEC2InstanceUserData.json",
    ]
    .iter()
    .enumerate()
    {
        fs::copy(stratus(file), inbox.join(format!("{i}.json"))).expect("copy");
        let r = w.poll().expect("poll");
        assert_eq!(r.objects, 1);
    }
    assert_eq!(w.poll().expect("an empty poll").objects, 0);
    drop(w);

    // The file and the sink got the same two heads, each once, signed by the store's key.
    let in_file: Vec<Anchor> = fs::read_to_string(&anchors)
        .expect("anchor file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("anchor"))
        .collect();
    let sent = sent_anchors(&jsonl);
    assert_eq!(in_file.len(), 2, "{in_file:?}");
    assert_eq!(sent, in_file, "a critical-only sink still gets every head");
    let s = Store::open_read(&store).expect("store");
    let public = s.ledger().public_key();
    assert!(sent.iter().all(|a| a.signature_ok(&public)));
    assert_eq!(sent[1].seq, s.ledger().head().seq);
    assert_eq!(sent[1].head(), s.ledger().head());
    let report = s
        .verify_with(&VerifyOptions {
            anchors: Some(anchors.clone()),
            ..VerifyOptions::default()
        })
        .expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.ledger.anchors_checked, Some(2));
    // A record for the receivers, not an open incident (the files' own detections are).
    let outbox = Outbox::open(outbox_path(&store)).expect("outbox");
    let anchors_in = |state| {
        outbox
            .list(Some(state))
            .expect("list")
            .iter()
            .filter(|r| r.alert.rule_id == "trailwatch-store-anchor")
            .count()
    };
    assert_eq!(anchors_in(AlertState::Open), 0);
    assert_eq!(anchors_in(AlertState::Resolved), 2);
}
