use std::fs;
use std::path::Path;

use chrono::{TimeZone, Utc};
use ed25519_dalek::SigningKey;

use crate::*;
use trailwatch_model::hex;

/// The key the tests' stores are signed with (held outside the store, as every key is).
fn test_key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

fn data_file(store: &Path, rel: &str, contents: &[u8]) {
    let path = store.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Writes a data file and commits it.
fn commit(ledger: &mut Ledger, rel: &str, contents: &[u8]) -> Link {
    data_file(ledger.store(), rel, contents);
    let d = hash_file(&ledger.store().join(rel)).unwrap();
    let t = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    ledger
        .append_commit(
            rel,
            &d.sha256,
            d.bytes,
            3,
            t,
            t + chrono::Duration::hours(1),
        )
        .unwrap()
}

fn rel(i: usize) -> String {
    format!("provider=aws/dt=2024-05-0{}/part-{i}.parquet", 1 + i % 3)
}

/// A store with `n` committed files.
fn store(n: usize) -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), test_key()).unwrap();
    for i in 0..n {
        commit(&mut ledger, &rel(i), format!("file {i} bytes").as_bytes());
    }
    (dir, ledger)
}

fn ledger_path(store: &Path) -> std::path::PathBuf {
    store.join(LEDGER_DIR).join(LEDGER_FILE)
}

fn lines(store: &Path) -> Vec<String> {
    fs::read_to_string(ledger_path(store))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(store: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(ledger_path(store), text).unwrap();
}

fn problems(store: &Path) -> Vec<Problem> {
    verify(store).unwrap().problems
}

#[test]
fn create_commit_reopen_verify() {
    let (dir, ledger) = store(5);
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.links, report.commits, report.files_checked),
        (5, 5, 5)
    );
    assert_eq!(report.head, ledger.head());
    assert_eq!(report.head.seq, 5);
    assert!(report.to_string().starts_with("ok: 5 links"));
    let key = ledger.public_key_hex();
    drop(ledger);

    let mut ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    assert_eq!(ledger.public_key_hex(), key);
    assert_eq!(ledger.head().seq, 5);
    assert!(ledger.live(&rel(2)).is_some());
    for i in 5..8 {
        commit(&mut ledger, &rel(i), b"more");
    }
    assert!(
        Ledger::create(dir.path(), test_key()).is_err(),
        "create over an existing ledger"
    );
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.files_checked, 8);
    assert_eq!(report.head, ledger.head());
    assert!(verify_with_public_key(dir.path(), &key).unwrap().is_ok());
    let pub_file = fs::read_to_string(dir.path().join(LEDGER_DIR).join(PUBLIC_KEY_FILE)).unwrap();
    assert_eq!(pub_file.trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The store holds the public key only; a key file written for it is the owner's alone.
        let names: Vec<_> = fs::read_dir(dir.path().join(LEDGER_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            !names.contains(&LEGACY_SECRET_KEY_FILE.to_string()),
            "{names:?}"
        );
        let keys = tempfile::tempdir().unwrap();
        let key_file = keys.path().join("keys").join("k.key");
        write_key_file(&key_file, &test_key()).unwrap();
        let m = fs::metadata(&key_file).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            read_key_file(&key_file).unwrap().as_bytes(),
            test_key().as_bytes()
        );
        assert!(
            write_key_file(&key_file, &test_key()).is_err(),
            "never replaced"
        );
        fs::set_permissions(&key_file, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_key_file(&key_file),
            Err(LedgerError::BadKey { .. })
        ));
    }
    assert!(matches!(
        ledger.append_commit("../x.parquet", &[0; 32], 1, 1, Utc::now(), Utc::now()),
        Err(LedgerError::BadPath(_))
    ));
}

#[test]
fn modified_byte_is_named() {
    let (dir, _l) = store(5);
    let path = dir.path().join(rel(3));
    let mut bytes = fs::read(&path).unwrap();
    bytes[2] ^= 1;
    fs::write(&path, bytes).unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileModified {
            path: rel(3),
            seq: 4
        }]
    );
}

#[test]
fn truncated_and_appended_files() {
    let (dir, _l) = store(5);
    let path = dir.path().join(rel(1));
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileTruncated {
            path: rel(1),
            seq: 2,
            expected: len,
            actual: len - 3
        }]
    );
    fs::write(&path, b"file 1 bytes and more").unwrap();
    let p = problems(dir.path());
    assert!(
        matches!(&p[..], [Problem::FileExtended { path, seq: 2, .. }] if *path == rel(1)),
        "{p:?}"
    );
}

#[test]
fn deletion_vs_retention() {
    let (dir, mut ledger) = store(5);
    fs::remove_file(dir.path().join(rel(0))).unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileMissing {
            path: rel(0),
            seq: 1
        }]
    );

    // The same deletion, recorded by retention first.
    let committed = ledger.live(&rel(0)).unwrap().clone();
    let removed = Removed {
        path: rel(0),
        sha256: committed.sha256.clone().unwrap(),
        day: "2024-05-01".into(),
    };
    ledger
        .append_retention(vec![removed.clone()], "keep 400d")
        .unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.removed_by_retention, report.retentions), (1, 1));
    assert_eq!(report.files_checked, 4);
    // Retention of a file that is not live is refused.
    assert!(matches!(
        ledger.append_retention(vec![removed], "again"),
        Err(LedgerError::NotLive(_))
    ));
    // Still OK after reopening (the live set is rebuilt from the ledger).
    let ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    assert!(ledger.live(&rel(0)).is_none());
    assert_eq!(ledger.live_files().count(), 4);
}

#[test]
fn inserted_data_file() {
    let (dir, _l) = store(3);
    data_file(dir.path(), "provider=aws/dt=2024-05-09/evil.parquet", b"x");
    data_file(dir.path(), "provider=aws/dt=2024-05-09/notes.txt", b"x");
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileInserted {
            path: "provider=aws/dt=2024-05-09/evil.parquet".into()
        }]
    );
    // The pattern is a parameter.
    let opts = VerifyOptions {
        data_pattern: "*.txt".into(),
        ..VerifyOptions::default()
    };
    assert_eq!(
        verify_with(dir.path(), &opts).unwrap().problems,
        vec![Problem::FileInserted {
            path: "provider=aws/dt=2024-05-09/notes.txt".into()
        }]
    );
}

#[test]
fn edited_ledger_field_fails_signature() {
    let (dir, _l) = store(5);
    let mut l = lines(dir.path());
    assert!(l[2].contains("\"records\":3"));
    l[2] = l[2].replace("\"records\":3", "\"records\":4");
    write_lines(dir.path(), &l);
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::BadSignature { seq: 3, line: 3 }],
        "{report}"
    );
    assert!(report
        .to_string()
        .contains("link 3 (line 3): bad signature"));
}

#[test]
fn removed_reordered_duplicated_lines() {
    let (dir, _l) = store(5);
    let orig = lines(dir.path());

    let mut l = orig.clone();
    l.remove(2);
    write_lines(dir.path(), &l);
    assert_eq!(
        problems(dir.path()),
        vec![
            Problem::LinksRemoved { after: 2, next: 4 },
            // The file it committed is no longer named by any link.
            Problem::FileInserted { path: rel(2) },
        ]
    );

    let mut l = orig.clone();
    l.swap(1, 2);
    write_lines(dir.path(), &l);
    assert_eq!(
        problems(dir.path()),
        vec![Problem::Reordered {
            seq: 2,
            line: 3,
            after: 3
        }]
    );

    let mut l = orig.clone();
    l.insert(4, orig[1].clone());
    write_lines(dir.path(), &l);
    assert_eq!(
        problems(dir.path()),
        vec![Problem::DuplicateLink { seq: 2, line: 5 }]
    );
}

/// Re-signs every link with `key`, re-chaining them, as a forger with their own key would.
fn forge_all(store: &Path, key: &SigningKey, edit: impl Fn(&mut Link)) {
    let mut prev = GENESIS.to_string();
    let mut out = Vec::new();
    for line in lines(store) {
        let mut link = Link::parse(&line).unwrap();
        edit(&mut link);
        link.prev = prev;
        link.sign(key);
        let line = link.to_line();
        prev = line_hash(line.as_bytes());
        out.push(line);
    }
    write_lines(store, &out);
}

#[test]
fn forged_key_fails() {
    let (dir, ledger) = store(4);
    let original = ledger.public_key_hex();
    drop(ledger);
    let forger = SigningKey::from_bytes(&[7u8; 32]);
    let key_dir = dir.path().join(LEDGER_DIR);

    // A new secret key, signing.pub untouched: every re-signed link fails.
    assert!(matches!(
        Ledger::open_signing(dir.path(), forger.clone()),
        Err(LedgerError::KeyMismatch(_))
    ));
    forge_all(dir.path(), &forger, |l| {
        if l.seq == 2 {
            l.records = Some(99);
        }
    });
    let p = problems(dir.path());
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(p.iter().all(|p| matches!(p, Problem::BadSignature { .. })));

    // Both keys replaced: self-consistent, so only the pinned key catches it.
    let forged_pub = hex::encode(forger.verifying_key().as_bytes());
    fs::write(key_dir.join(PUBLIC_KEY_FILE), &forged_pub).unwrap();
    assert!(verify(dir.path()).unwrap().is_ok());
    let report = verify_with_public_key(dir.path(), &original).unwrap();
    assert!(!report.is_ok());
    assert_eq!(
        report.problems[0],
        Problem::PublicKeyMismatch {
            found: Some(forged_pub)
        }
    );
    let bad = report
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::BadSignature { .. }))
        .count();
    assert_eq!(bad, 4, "{report}");
}

#[test]
fn torn_tail_vs_garbage_line() {
    let (dir, ledger) = store(3);
    let head = ledger.head();
    drop(ledger);
    let mut text = fs::read_to_string(ledger_path(dir.path())).unwrap();
    let last = lines(dir.path())[2].clone();
    text.push_str(&last[..last.len() / 2]);
    fs::write(ledger_path(dir.path()), &text).unwrap();

    let p = problems(dir.path());
    assert!(matches!(&p[..], [Problem::TornTail { .. }]), "{p:?}");
    let mut ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    let torn = ledger.torn_tail().unwrap();
    assert_eq!(torn.bytes, (last.len() / 2) as u64);
    assert_eq!(ledger.head(), head);
    assert!(matches!(
        ledger.append_commit("x.parquet", &[0; 32], 0, 0, Utc::now(), Utc::now()),
        Err(LedgerError::TornTail { .. })
    ));
    assert_eq!(ledger.repair().unwrap(), torn.bytes);
    assert!(verify(dir.path()).unwrap().is_ok());
    commit(&mut ledger, "after-repair.parquet", b"ok");
    assert!(verify(dir.path()).unwrap().is_ok());
    drop(ledger);

    // A complete garbage line in the middle is tampering, not a torn write.
    let mut l = lines(dir.path());
    l.insert(1, "{\"seq\":2,\"kind\":\"comm".into());
    write_lines(dir.path(), &l);
    let p = problems(dir.path());
    assert!(
        matches!(&p[..], [Problem::Unparsable { line: 2, .. }]),
        "{p:?}"
    );
    assert!(matches!(
        Ledger::open_signing(dir.path(), test_key()),
        Err(LedgerError::Corrupt { line: 2, .. })
    ));
}

#[test]
fn truncated_ledger_against_head() {
    let (dir, ledger) = store(5);
    let head = ledger.head();
    let recorded: Head = head.to_string().parse().unwrap();
    assert_eq!(recorded, head);
    assert!(verify_against(dir.path(), &head).unwrap().is_ok());
    drop(ledger);
    let mut l = lines(dir.path());
    l.truncate(3);
    write_lines(dir.path(), &l);
    let report = verify_against(dir.path(), &head).unwrap();
    assert!(
        report.problems.contains(&Problem::LedgerTruncated {
            head_seq: 5,
            last_seq: 3
        }),
        "{report}"
    );
    // Without the head, the files the cut links named show up as inserted, nothing in the chain.
    let p = problems(dir.path());
    assert_eq!(
        p,
        vec![
            Problem::FileInserted { path: rel(3) },
            Problem::FileInserted { path: rel(4) }
        ]
    );
}

/// Moves a file no link names into quarantine and records the move.
fn quarantine(ledger: &mut Ledger, from: &str, to: &str) -> Link {
    let store = ledger.store().to_path_buf();
    let d = hash_file(&store.join(from)).unwrap();
    fs::create_dir_all(store.join(to).parent().unwrap()).unwrap();
    fs::rename(store.join(from), store.join(to)).unwrap();
    let moved = Quarantined {
        from: from.into(),
        to: to.into(),
        sha256: d.sha256_hex(),
        bytes: d.bytes,
    };
    ledger
        .append_quarantine(vec![moved], "interrupted write")
        .unwrap()
}

#[test]
fn quarantined_files_are_named_and_checked() {
    let (dir, mut ledger) = store(3);
    let from = "provider=aws/dt=2024-05-09/part-9.parquet";
    data_file(dir.path(), from, b"left by a crash");
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileInserted { path: from.into() }]
    );
    let to = "_quarantine/x/provider=aws/dt=2024-05-09/part-9.parquet";
    let link = quarantine(&mut ledger, from, to);
    assert_eq!((link.seq, link.kind), (4, LinkKind::Quarantine));
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (
            report.quarantines,
            report.files_quarantined,
            report.files_checked
        ),
        (1, 1, 3)
    );
    assert!(report.to_string().contains("1 in quarantine"), "{report}");
    // Reopened: the same last link, the same live files.
    let reopened = Ledger::open_signing(dir.path(), test_key()).unwrap();
    assert_eq!(reopened.last_link(), Some(&link));
    assert_eq!(reopened.live_files().count(), 3);
    assert_eq!(reopened.head(), ledger.head());

    // A quarantined file changed, then gone, is named.
    fs::write(dir.path().join(to), b"left by a crasH").unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::QuarantinedModified {
            path: to.into(),
            seq: 4
        }]
    );
    fs::remove_file(dir.path().join(to)).unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::QuarantinedMissing {
            path: to.into(),
            seq: 4
        }]
    );
}

#[test]
fn a_quarantine_is_refused_for_live_files_odd_paths_and_nothing() {
    let (_dir, mut ledger) = store(2);
    let sha = ledger.live(&rel(0)).unwrap().sha256.clone().unwrap();
    let q = |from: &str, to: &str, sha256: &str| Quarantined {
        from: from.into(),
        to: to.into(),
        sha256: sha256.into(),
        bytes: 1,
    };
    let refused =
        |ledger: &mut Ledger, q: Quarantined| ledger.append_quarantine(vec![q], "r").unwrap_err();
    assert!(matches!(
        refused(&mut ledger, q(&rel(0), "_quarantine/y", &sha)),
        LedgerError::QuarantineLive(_)
    ));
    assert!(matches!(
        refused(&mut ledger, q("a", &rel(1), &sha)),
        LedgerError::QuarantineLive(_)
    ));
    for (from, to) in [
        ("../x", "_quarantine/y"),
        ("a", "_ledger/ledger.jsonl"),
        ("a", "/y"),
    ] {
        assert!(
            matches!(
                refused(&mut ledger, q(from, to, &sha)),
                LedgerError::BadPath(_)
            ),
            "{from} -> {to}"
        );
    }
    assert!(matches!(
        refused(&mut ledger, q("a", "_quarantine/y", "xyz")),
        LedgerError::BadHash(_)
    ));
    assert!(matches!(
        ledger.append_quarantine(Vec::new(), "r"),
        Err(LedgerError::NothingQuarantined)
    ));
    assert_eq!(ledger.head().seq, 2, "nothing appended");
    // The ledger file itself may be named as where a torn line was (it is not a data file).
    let torn = q(
        &format!("{LEDGER_DIR}/{LEDGER_FILE}"),
        "_quarantine/t/torn",
        &sha,
    );
    assert!(ledger.append_quarantine(vec![torn], "torn line").is_ok());
}

#[test]
fn a_forged_quarantine_of_a_committed_file_is_named() {
    let (dir, ledger) = store(2);
    let live = ledger.live(&rel(1)).unwrap().clone();
    let head = ledger.head();
    drop(ledger);
    // A forger holding the store's key signs a link "moving" a committed file aside.
    let key = test_key();
    let to = "_quarantine/z/part.parquet";
    let mut link = Link {
        seq: 3,
        kind: LinkKind::Quarantine,
        path: None,
        sha256: None,
        bytes: None,
        records: None,
        ids_digest: None,
        first_time: None,
        last_time: None,
        removed: Vec::new(),
        quarantined: vec![Quarantined {
            from: rel(1),
            to: to.into(),
            sha256: live.sha256.clone().unwrap(),
            bytes: live.bytes.unwrap(),
        }],
        replaced: Vec::new(),
        written: Vec::new(),
        floor_days: None,
        reason: Some("interrupted write".into()),
        prev: head.hash,
        at: "2024-05-02T00:00:00Z".into(),
        sig: String::new(),
    };
    link.sign(&key);
    let mut l = lines(dir.path());
    l.push(link.to_line());
    write_lines(dir.path(), &l);
    fs::create_dir_all(dir.path().join("_quarantine/z")).unwrap();
    fs::rename(dir.path().join(rel(1)), dir.path().join(to)).unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![
            Problem::QuarantineOfLive {
                seq: 3,
                path: rel(1)
            },
            Problem::FileMissing {
                path: rel(1),
                seq: 2
            }
        ]
    );
}

#[test]
fn a_link_of_one_kind_with_another_kinds_fields_does_not_parse() {
    let base = r#""prev":"00","at":"2024-05-01T00:00:00Z""#;
    let q = r#""quarantined":[{"from":"a","to":"_quarantine/a","sha256":"00","bytes":1}]"#;
    let r = r#""removed":[{"path":"a","sha256":"00","day":"2024-05-01"}]"#;
    for bad in [
        format!(r#"{{"seq":1,"kind":"quarantine","reason":"x",{base}}}"#),
        format!(r#"{{"seq":1,"kind":"quarantine",{q},{base}}}"#),
        format!(r#"{{"seq":1,"kind":"quarantine",{r},{q},"reason":"x",{base}}}"#),
        format!(r#"{{"seq":1,"kind":"retention",{r},{q},"reason":"x",{base}}}"#),
    ] {
        assert!(Link::parse(&bad).is_err(), "{bad}");
    }
    let good = format!(r#"{{"seq":1,"kind":"quarantine",{q},"reason":"x",{base}}}"#);
    assert_eq!(Link::parse(&good).unwrap().quarantined.len(), 1);
}

#[test]
fn torn_tail_bytes_are_what_a_repair_cuts() {
    let (dir, ledger) = store(2);
    drop(ledger);
    let before = fs::read(ledger_path(dir.path())).unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(ledger_path(dir.path()))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":3,\"ki").unwrap();
    drop(f);
    let mut ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    assert_eq!(
        ledger.torn_tail_bytes().unwrap().as_deref(),
        Some(&b"{\"seq\":3,\"ki"[..])
    );
    assert_eq!(ledger.repair().unwrap(), 12);
    assert_eq!(ledger.torn_tail_bytes().unwrap(), None);
    assert_eq!(fs::read(ledger_path(dir.path())).unwrap(), before);
}

/// A ledger written by the code before quarantine links existed (commit 90d0980, key seed
/// `[7; 32]`): two commits and a retention, as they were written then.
const LEDGER_BEFORE_QUARANTINE: [&str; 3] = [
    r#"{"seq":1,"kind":"commit","path":"provider=aws/dt=2024-05-01/part-00000001-a.parquet","sha256":"bf41cf94047f1a3443ca654a235bc8f830f7997da9b6f3b2b041a866bc6e3b6f","bytes":10,"records":3,"first_time":"2024-05-01T00:00:00Z","last_time":"2024-05-01T01:00:00Z","prev":"0000000000000000000000000000000000000000000000000000000000000000","at":"2026-12-02T01:00:52.311903955Z","sig":"af59bd2ab013c33208f531ccb7b75aa7d642d693cfb723fd5903b538c0303025251da913552c37a9accfa0e80d14a413a2c998b506540631585434b3c01a3108"}"#,
    r#"{"seq":2,"kind":"commit","path":"provider=aws/dt=2024-05-02/part-00000002-b.parquet","sha256":"54811cbc6c86311729b0a33e26c89087881b36b9ca3217d15cb5196e35f9a7e3","bytes":11,"records":3,"first_time":"2024-05-01T00:00:00Z","last_time":"2024-05-01T01:00:00Z","prev":"a42205644a050e051a8a2255a7c9a2690b9a23431e69ba34f52b08ef92f96998","at":"2026-12-02T01:00:52.312978461Z","sig":"6f4cee7a6314603bc889aea972cdc1b11261c5aad82fabad492ed954b6f9fe625e9cae8fd4a97835ee03e3860199fb895e24018399323fb1b8ea8401dcb78e09"}"#,
    r#"{"seq":3,"kind":"retention","removed":[{"path":"provider=aws/dt=2024-05-01/part-00000001-a.parquet","sha256":"bf41cf94047f1a3443ca654a235bc8f830f7997da9b6f3b2b041a866bc6e3b6f","day":"2024-05-01"}],"reason":"keep 400d","prev":"844b93e96fe17878fe374cb576111102e210feca34d53a1479b9efaf74645b19","at":"2026-12-02T01:00:52.315870417Z","sig":"d058f9f0ea7029cbf5287e29a8f488d8e46bcbd6eb9ff15fe030560f77abf6d84d06785564828b3a6fcafdb6ef95f3b7d5d3bb31b0f11828f4af9afe244a5405"}"#,
];

#[test]
fn a_ledger_written_before_quarantine_links_still_verifies_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::create(dir.path(), SigningKey::from_bytes(&[7u8; 32])).unwrap();
    assert_eq!(
        ledger.public_key_hex(),
        "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
    );
    drop(ledger);
    let old: Vec<String> = LEDGER_BEFORE_QUARANTINE
        .iter()
        .map(|l| l.to_string())
        .collect();
    write_lines(dir.path(), &old);
    data_file(
        dir.path(),
        "provider=aws/dt=2024-05-02/part-00000002-b.parquet",
        b"second file",
    );
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (
            report.links,
            report.commits,
            report.retentions,
            report.removed_by_retention
        ),
        (3, 2, 1, 1)
    );
    // Each old line is still its link's canonical form: parsed and written again, unchanged.
    for line in &old {
        assert_eq!(&Link::parse(line).unwrap().to_line(), line);
    }
    // Today's code appends a quarantine link after them; everything verifies.
    let mut ledger = Ledger::open_signing(dir.path(), SigningKey::from_bytes(&[7u8; 32])).unwrap();
    data_file(
        dir.path(),
        "provider=aws/dt=2024-05-03/part-3.parquet",
        b"crash",
    );
    quarantine(
        &mut ledger,
        "provider=aws/dt=2024-05-03/part-3.parquet",
        "_quarantine/q/part-3.parquet",
    );
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.links, report.quarantines), (4, 1));
    assert_eq!(lines(dir.path())[..3], old[..]);
    // And a compaction link.
    let second = "provider=aws/dt=2024-05-02/part-00000002-b.parquet";
    let new_rel = "provider=aws/dt=2024-05-02/part-00000005-c.parquet";
    data_file(dir.path(), new_rel, b"second file, compacted");
    let d = hash_file(&dir.path().join(new_rel)).unwrap();
    let ids: IdDigest = ["x", "y", "z"].into_iter().collect();
    let replaced = Replaced {
        path: second.into(),
        sha256: ledger.live(second).unwrap().sha256.clone().unwrap(),
    };
    let written = Written {
        path: new_rel.into(),
        sha256: d.sha256_hex(),
        bytes: d.bytes,
        records: 3,
        first_time: "2024-05-01T00:00:00Z".into(),
        last_time: "2024-05-01T01:00:00Z".into(),
        ids_digest: ids.to_string(),
    };
    ledger
        .append_compaction(vec![replaced], vec![written], ids, "compaction")
        .unwrap();
    fs::remove_file(dir.path().join(second)).unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.links, report.compactions), (5, 1));
    assert_eq!(lines(dir.path())[..3], old[..]);
}

/// The id digest the compaction tests give each committed file (3 records each): ids
/// `<i>-0`, `<i>-1`, `<i>-2`.
fn ids_of(files: &[usize]) -> IdDigest {
    let ids: Vec<String> = files
        .iter()
        .flat_map(|i| (0..3).map(move |k| format!("{i}-{k}")))
        .collect();
    ids.iter().map(String::as_str).collect()
}

/// What a compaction of the committed files `files` into `new_rel` names.
fn compaction_of(ledger: &Ledger, files: &[usize], new_rel: &str) -> (Vec<Replaced>, Written) {
    data_file(ledger.store(), new_rel, b"the rows of them all");
    let d = hash_file(&ledger.store().join(new_rel)).unwrap();
    let replaced = files
        .iter()
        .map(|&i| Replaced {
            path: rel(i),
            sha256: ledger.live(&rel(i)).unwrap().sha256.clone().unwrap(),
        })
        .collect();
    let written = Written {
        path: new_rel.to_string(),
        sha256: d.sha256_hex(),
        bytes: d.bytes,
        records: 3 * files.len() as u64,
        first_time: "2024-05-01T00:00:00Z".into(),
        last_time: "2024-05-01T01:00:00Z".into(),
        ids_digest: ids_of(files).to_string(),
    };
    (replaced, written)
}

const COMPACTED: &str = "provider=aws/dt=2024-05-01/part-c.parquet";

#[test]
fn a_compaction_replaces_files_and_verifies_across_reopen() {
    let (dir, mut ledger) = store(6);
    // Files 0 and 3 are the day 2024-05-01.
    let (replaced, written) = compaction_of(&ledger, &[0, 3], COMPACTED);
    let link = ledger
        .append_compaction(
            replaced,
            vec![written.clone()],
            ids_of(&[0, 3]),
            "compaction",
        )
        .unwrap();
    assert_eq!(
        (link.kind, link.seq, link.records),
        (LinkKind::Compaction, 7, Some(6))
    );
    // Before the replaced files are removed: present, but replaced.
    let p = problems(dir.path());
    assert_eq!(
        p,
        vec![
            Problem::ReplacedButPresent {
                path: rel(0),
                seq: 7
            },
            Problem::ReplacedButPresent {
                path: rel(3),
                seq: 7
            }
        ]
    );
    assert!(
        p[0].to_string()
            .contains("replaced by compaction at link 7"),
        "{}",
        p[0]
    );
    fs::remove_file(dir.path().join(rel(0))).unwrap();
    fs::remove_file(dir.path().join(rel(3))).unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.compactions, report.replaced_by_compaction), (1, 2));
    assert_eq!(report.files_checked, 5);
    assert!(report.summary().contains("1 compaction), "), "{report}");
    for l in [
        &ledger,
        &Ledger::open_signing(dir.path(), test_key()).unwrap(),
    ] {
        let view = l.live(COMPACTED).unwrap();
        assert_eq!(
            (view.kind, view.seq, view.records),
            (LinkKind::Compaction, 7, Some(6))
        );
        assert_eq!(view.sha256.as_deref(), Some(written.sha256.as_str()));
        assert_eq!(
            view.ids_digest.as_deref(),
            Some(written.ids_digest.as_str())
        );
        assert!(l.live(&rel(0)).is_none() && l.live(&rel(3)).is_none());
        assert_eq!(l.live_files().count(), 5);
    }
    assert_eq!(ledger.read_link(7).unwrap(), Some(link));
    assert_eq!(ledger.read_link(8).unwrap(), None);
    // The compacted file can itself be compacted, with more; then modified: named.
    let mut ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    let second = "provider=aws/dt=2024-05-01/part-d.parquet";
    let (mut replaced, mut written2) = compaction_of(&ledger, &[1], second);
    replaced.push(Replaced {
        path: COMPACTED.into(),
        sha256: written.sha256.clone(),
    });
    written2.records = 9;
    written2.ids_digest = ids_of(&[0, 1, 3]).to_string();
    ledger
        .append_compaction(replaced, vec![written2], ids_of(&[0, 1, 3]), "compaction")
        .unwrap();
    fs::remove_file(dir.path().join(rel(1))).unwrap();
    fs::remove_file(dir.path().join(COMPACTED)).unwrap();
    assert!(verify(dir.path()).unwrap().is_ok());
    fs::write(dir.path().join(second), b"the rows of them alL").unwrap();
    assert_eq!(
        problems(dir.path()),
        vec![Problem::FileModified {
            path: second.into(),
            seq: 8
        }]
    );
}

#[test]
fn a_compaction_that_does_not_add_up_is_refused() {
    let (dir, mut ledger) = store(6);
    let (replaced, written) = compaction_of(&ledger, &[0, 3], COMPACTED);
    let ids = ids_of(&[0, 3]);
    let try_append = |ledger: &mut Ledger, r: Vec<Replaced>, w: Vec<Written>, ids| {
        ledger.append_compaction(r, w, ids, "compaction")
    };
    assert!(matches!(
        try_append(&mut ledger, Vec::new(), vec![written.clone()], ids),
        Err(LedgerError::NothingCompacted)
    ));
    assert!(matches!(
        try_append(&mut ledger, replaced.clone(), Vec::new(), ids),
        Err(LedgerError::NothingCompacted)
    ));
    let mut wrong_hash = replaced.clone();
    wrong_hash[1].sha256 = "00".repeat(32);
    assert!(matches!(
        try_append(&mut ledger, wrong_hash, vec![written.clone()], ids),
        Err(LedgerError::NotLive(p)) if p == rel(3)
    ));
    let mut onto_live = written.clone();
    onto_live.path = rel(1);
    assert!(matches!(
        try_append(&mut ledger, replaced.clone(), vec![onto_live], ids),
        Err(LedgerError::CompactionOverLive(p)) if p == rel(1)
    ));
    let mut fewer = written.clone();
    fewer.records = 5;
    assert!(matches!(
        try_append(&mut ledger, replaced.clone(), vec![fewer], ids),
        Err(LedgerError::CompactionUnbalanced(_))
    ));
    // One id short (and another in its place): the digest differs.
    let other: IdDigest = ["0-0", "0-1", "0-2", "3-0", "3-1", "3-X"]
        .into_iter()
        .collect();
    let mut other_ids = written.clone();
    other_ids.ids_digest = other.to_string();
    assert!(matches!(
        try_append(&mut ledger, replaced.clone(), vec![other_ids], ids),
        Err(LedgerError::CompactionUnbalanced(_))
    ));
    assert!(matches!(
        try_append(&mut ledger, replaced, vec![written], other),
        Err(LedgerError::CompactionUnbalanced(_))
    ));
    assert_eq!(ledger.head().seq, 6, "nothing appended");
    assert!(verify(dir.path())
        .unwrap()
        .problems
        .iter()
        .all(|p| matches!(p, Problem::FileInserted { path } if path == COMPACTED)));
}

/// A forger holding the store's key signs compaction links: what they claim is checked
/// against the chain all the same.
#[test]
fn a_forged_compaction_link_is_named() {
    let (dir, mut ledger) = store(6);
    let (replaced, written) = compaction_of(&ledger, &[0, 3], COMPACTED);
    ledger
        .append_compaction(replaced, vec![written], ids_of(&[0, 3]), "compaction")
        .unwrap();
    fs::remove_file(dir.path().join(rel(0))).unwrap();
    fs::remove_file(dir.path().join(rel(3))).unwrap();
    drop(ledger);
    let key = test_key();
    let original = lines(dir.path());
    // Without the key: any edit of the replaced list breaks the signature.
    let mut edited = original.clone();
    let mut link = Link::parse(&edited[6]).unwrap();
    link.replaced.pop();
    edited[6] = link.to_line();
    write_lines(dir.path(), &edited);
    let p = problems(dir.path());
    assert!(
        p.contains(&Problem::BadSignature { seq: 7, line: 7 }),
        "{p:?}"
    );
    // With it: a replaced file dropped from the list stays live, so it is missing, and the
    // rows no longer add up.
    write_lines(dir.path(), &original);
    forge_all(dir.path(), &key, |l| {
        if l.kind == LinkKind::Compaction {
            l.replaced.pop();
        }
    });
    let p = problems(dir.path());
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::CompactionUnbalanced { seq: 7, .. })),
        "{p:?}"
    );
    assert!(
        p.contains(&Problem::FileMissing {
            path: rel(3),
            seq: 4
        }),
        "{p:?}"
    );
    // A replaced file named with another hash, and a file written over a live one.
    write_lines(dir.path(), &original);
    forge_all(dir.path(), &key, |l| {
        if l.kind == LinkKind::Compaction {
            l.replaced[0].sha256 = "11".repeat(32);
            l.written[0].path = rel(1);
        }
    });
    let p = problems(dir.path());
    for want in [
        Problem::CompactionMismatch {
            seq: 7,
            path: rel(0),
        },
        Problem::CompactionOverLive {
            seq: 7,
            path: rel(1),
        },
        Problem::FileMissing {
            path: rel(0),
            seq: 1,
        },
        Problem::FileInserted {
            path: COMPACTED.into(),
        },
    ] {
        assert!(p.contains(&want), "{want:?} in {p:?}");
    }
    // The link removed altogether: the compacted file is planted, the replaced ones missing.
    write_lines(dir.path(), &original[..6]);
    let p = problems(dir.path());
    assert_eq!(
        p,
        vec![
            Problem::FileMissing {
                path: rel(0),
                seq: 1
            },
            Problem::FileMissing {
                path: rel(3),
                seq: 4
            },
            Problem::FileInserted {
                path: COMPACTED.into()
            },
        ]
    );
}

#[test]
fn a_compaction_link_needs_its_fields_and_other_kinds_refuse_them() {
    let base = r#""prev":"00","at":"2024-05-01T00:00:00Z""#;
    let r = r#""replaced":[{"path":"a","sha256":"00"}]"#;
    let w = r#""written":[{"path":"b","sha256":"00","bytes":1,"records":1,"first_time":"t","last_time":"t","ids_digest":"00"}]"#;
    let commit =
        r#""path":"a","sha256":"00","bytes":1,"records":1,"first_time":"t","last_time":"t""#;
    let counts = r#""records":1,"ids_digest":"00""#;
    for bad in [
        format!(r#"{{"seq":1,"kind":"compaction",{counts},{r},"reason":"x",{base}}}"#),
        format!(r#"{{"seq":1,"kind":"compaction",{counts},{w},"reason":"x",{base}}}"#),
        format!(r#"{{"seq":1,"kind":"compaction",{r},{w},"reason":"x",{base}}}"#),
        format!(r#"{{"seq":1,"kind":"compaction",{counts},{r},{w},{base}}}"#),
        format!(r#"{{"seq":1,"kind":"commit",{commit},{r},{base}}}"#),
        format!(
            r#"{{"seq":1,"kind":"retention","removed":[{{"path":"a","sha256":"00","day":"d"}}],{w},"reason":"x",{base}}}"#
        ),
    ] {
        assert!(Link::parse(&bad).is_err(), "{bad}");
    }
    let good = format!(r#"{{"seq":1,"kind":"compaction",{counts},{r},{w},"reason":"x",{base}}}"#);
    let link = Link::parse(&good).unwrap();
    assert_eq!((link.replaced.len(), link.written.len()), (1, 1));
    assert_eq!(link.to_line(), good, "canonical");
}

#[test]
fn a_reader_needs_no_key_and_cannot_append() {
    let (dir, ledger) = store(2);
    let key = ledger.public_key_hex();
    drop(ledger);
    let mut reader = Ledger::open(dir.path()).unwrap();
    assert!(!reader.can_sign());
    assert_eq!(reader.public_key_hex(), key);
    assert_eq!(reader.head().seq, 2);
    data_file(dir.path(), &rel(5), b"x");
    let d = hash_file(&dir.path().join(rel(5))).unwrap();
    assert!(matches!(
        reader.append_commit(&rel(5), &d.sha256, d.bytes, 1, Utc::now(), Utc::now()),
        Err(LedgerError::NoSigningKey(_))
    ));
    fs::remove_file(dir.path().join(rel(5))).unwrap();
    assert_eq!(lines(dir.path()).len(), 2, "nothing appended");
    assert!(verify_with_public_key(dir.path(), &key).unwrap().is_ok());
}

#[test]
fn a_secret_key_left_in_the_store_fails_verify() {
    let (dir, _ledger) = store(1);
    let legacy = dir.path().join(LEDGER_DIR).join(LEGACY_SECRET_KEY_FILE);
    fs::write(&legacy, format!("{}\n", hex::encode(test_key().as_bytes()))).unwrap();
    let p = problems(dir.path());
    assert_eq!(p, vec![Problem::SecretKeyInStore]);
    assert!(p[0].to_string().contains("trailwatch key migrate"));
    fs::remove_file(&legacy).unwrap();
    assert!(problems(dir.path()).is_empty());
}

#[test]
fn fingerprints_and_store_ids_name_a_key() {
    let k = test_key().verifying_key();
    let f = fingerprint(&k);
    assert!(f.starts_with("SHA256:") && f.len() == 7 + 64, "{f}");
    assert_eq!(store_id(&k).len(), 16);
    assert!(f[7..].starts_with(&store_id(&k)));
    let other = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    assert_ne!(fingerprint(&other), f);
}

/// Commits a file of day `day` (for retention tests) and returns its Removed entry.
fn commit_day(ledger: &mut Ledger, day: &str, i: usize) -> Removed {
    let rel = format!("provider=aws/dt={day}/part-{i}.parquet");
    let link = commit(ledger, &rel, format!("day {day} {i}").as_bytes());
    Removed {
        path: rel,
        sha256: link.sha256.unwrap(),
        day: day.to_string(),
    }
}

#[test]
fn verify_lists_retention_and_flags_a_deletion_that_broke_the_floor() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(dir.path(), test_key()).unwrap();
    assert_eq!(ledger.retention_floor(), DEFAULT_RETENTION_FLOOR_DAYS);
    let old = commit_day(&mut ledger, "2020-01-01", 0);
    let today = Utc::now().date_naive();
    let recent_day = (today - chrono::Days::new(10))
        .format("%Y-%m-%d")
        .to_string();
    let recent = commit_day(&mut ledger, &recent_day, 1);
    // Within the floor: a day six years old.
    ledger
        .append_retention(vec![old.clone()], "keep 400d")
        .unwrap();
    fs::remove_file(dir.path().join(&old.path)).unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.retention_log.len(), 1);
    assert!(report.retention_log[0].broke.is_empty());
    assert!(
        report
            .to_string()
            .contains("removed 1 days (2020-01-01), 1 files; floor 365 days: within the floor"),
        "{report}"
    );
    // Someone holding the key deletes a ten-day-old day past the command's check: named.
    ledger
        .append_retention(vec![recent.clone()], "keep 1d")
        .unwrap();
    fs::remove_file(dir.path().join(&recent.path)).unwrap();
    let report = verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::FloorBroken {
            seq: 4,
            at: report.retention_log[1].at.clone(),
            floor_days: 365,
            days: vec![recent_day.clone()],
        }]
    );
    assert!(report.to_string().contains("broke the floor"), "{report}");
    // A lowered floor is a signed link, listed; the same deletion under it is within it.
    let dir2 = tempfile::tempdir().unwrap();
    let mut l2 = Ledger::create(dir2.path(), test_key()).unwrap();
    let r = commit_day(&mut l2, &recent_day, 0);
    l2.append_floor(7, "test: a week").unwrap();
    assert_eq!(l2.retention_floor(), 7);
    l2.append_retention(vec![r.clone()], "keep 7d").unwrap();
    fs::remove_file(dir2.path().join(&r.path)).unwrap();
    let report = verify(dir2.path()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.floor_days, 7);
    let text = report.to_string();
    assert!(text.contains("retention floor: link 2 at"), "{text}");
    assert!(
        text.contains("lowered from 365 to 7 days (test: a week)"),
        "{text}"
    );
    assert_eq!(Ledger::open(dir2.path()).unwrap().retention_floor(), 7);
    // A floor link's days cannot be edited without the key.
    let mut lines = lines(dir2.path());
    lines[1] = lines[1].replace("\"floor_days\":7", "\"floor_days\":1");
    write_lines(dir2.path(), &lines);
    assert!(problems(dir2.path())
        .iter()
        .any(|p| matches!(p, Problem::BadSignature { seq: 2, .. })));
}

fn verify_anchored(store: &Path, anchors: &Path) -> VerifyReport {
    verify_with(
        store,
        &VerifyOptions {
            anchors: Some(anchors.to_path_buf()),
            ..VerifyOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn anchors_name_truncation_rollback_forks_and_forgeries() {
    let (dir, mut ledger) = store(2);
    let outside = tempfile::tempdir().unwrap();
    let anchors = outside.path().join("anchors.jsonl");
    let first = ledger.publish_head(&anchors).unwrap();
    assert!(first.signature_ok(&ledger.public_key()));
    let backup = lines(dir.path());
    commit(&mut ledger, &rel(2), b"two");
    commit(&mut ledger, &rel(3), b"three");
    ledger.publish_head(&anchors).unwrap();
    let report = verify_anchored(dir.path(), &anchors);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.anchors_checked, Some(2));

    // The tail cut: link 4 and its file gone; link 3 was never a published head.
    let full = lines(dir.path());
    write_lines(dir.path(), &full[..3]);
    fs::remove_file(dir.path().join(rel(3))).unwrap();
    assert!(
        problems(dir.path()).is_empty(),
        "nothing inside the store shows it"
    );
    let p = verify_anchored(dir.path(), &anchors).problems;
    assert!(
        matches!(
            p.as_slice(),
            [Problem::AnchorTruncated {
                last_seq: 3,
                newest_seq: 4,
                ..
            }]
        ),
        "{p:?}"
    );
    // Back to the state of the first published head: a rollback.
    write_lines(dir.path(), &backup);
    fs::remove_file(dir.path().join(rel(2))).unwrap();
    let p = verify_anchored(dir.path(), &anchors).problems;
    assert!(
        matches!(
            p.as_slice(),
            [Problem::RolledBack {
                seq: 2,
                newest_seq: 4,
                ..
            }]
        ),
        "{p:?}"
    );
    assert!(p[0].to_string().starts_with("rolled back"));
    // The older copy goes on differently: two heads for link 4.
    drop(ledger);
    let mut ledger = Ledger::open_signing(dir.path(), test_key()).unwrap();
    commit(&mut ledger, &rel(5), b"other two");
    commit(&mut ledger, &rel(6), b"other three");
    ledger.publish_head(&anchors).unwrap();
    let p = verify_anchored(dir.path(), &anchors).problems;
    assert!(
        p.iter().any(|p| matches!(
            p,
            Problem::AnchorFork {
                seq: 4,
                lines: (2, 3),
                ..
            }
        )),
        "{p:?}"
    );
    assert!(
        p.iter().any(|p| matches!(
            p,
            Problem::AnchorDiverged {
                seq: 4,
                line: 2,
                ..
            }
        )),
        "{p:?}"
    );
    // An anchor line forged by another key, and a line that is no anchor.
    let forged = Anchor::sign(&ledger.head(), &SigningKey::from_bytes(&[3u8; 32]));
    append_anchor(&anchors, &forged).unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&anchors).unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":1}\n").unwrap();
    let p = verify_anchored(dir.path(), &anchors).problems;
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::AnchorBadSignature { line: 4, .. })),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::AnchorUnreadable { line: 5, .. })),
        "{p:?}"
    );
}

#[test]
fn write_once_storage_may_keep_superseded_files_with_their_hash() {
    let (dir, mut ledger) = store(6);
    let committed = ledger.live(&rel(1)).unwrap().clone();
    ledger
        .append_retention(
            vec![Removed {
                path: rel(1),
                sha256: committed.sha256.clone().unwrap(),
                day: "2024-05-02".into(),
            }],
            "keep 1d",
        )
        .unwrap();
    let (replaced, written) = compaction_of(&ledger, &[0, 3], COMPACTED);
    ledger
        .append_compaction(replaced, vec![written], ids_of(&[0, 3]), "compaction")
        .unwrap();
    // Locally, every superseded file still there is a problem.
    let plain = verify(dir.path()).unwrap();
    assert_eq!(plain.problems.len(), 3, "{plain}");
    assert!(plain.kept.is_empty());
    // On write-once storage they are accepted and listed, each by what superseded it.
    let opts = VerifyOptions {
        superseded_may_remain: true,
        ..VerifyOptions::default()
    };
    let report = verify_with(dir.path(), &opts).unwrap();
    assert!(report.is_ok(), "{report}");
    let kept: Vec<(&str, u64, &str)> = report
        .kept
        .iter()
        .map(|k| (k.path.as_str(), k.seq, k.by))
        .collect();
    assert_eq!(
        kept,
        vec![
            (rel(0).as_str(), 8, "compaction"),
            (rel(3).as_str(), 8, "compaction"),
            (rel(1).as_str(), 7, "retention")
        ]
    );
    assert!(report.to_string().contains(&format!(
        "kept: {} (superseded by retention at link 7, still stored",
        rel(1)
    )));
    // Kept, but not what its link recorded: still a problem.
    fs::write(dir.path().join(rel(1)), b"rewritten").unwrap();
    let report = verify_with(dir.path(), &opts).unwrap();
    assert_eq!(
        report.problems,
        vec![Problem::RemovedButPresent {
            path: rel(1),
            seq: 7
        }]
    );
}
