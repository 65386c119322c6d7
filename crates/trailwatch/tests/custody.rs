//! Evidence an auditor accepts (issue 18), end to end with the real binary: the signing key
//! never lives in the store, verify checks against a pinned public key and against the signed
//! heads published outside the store (anchors), and retention keeps its floor. Each test names
//! the attack it catches.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::{Signer, SigningKey};
use trailwatch_ledger::{line_hash, Link};

fn stratus(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/stratus-red-team")
        .join(rel)
}

/// One user's machine: a home of its own (the signing key goes to its configuration
/// directory), and a store in it.
struct Home {
    dir: tempfile::TempDir,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    fn key_dir(&self) -> PathBuf {
        self.path("config/trailwatch/keys")
    }

    fn tw(&self, args: &[&OsStr]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env_remove("TRAILWATCH_STORE")
            .args(args)
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `args` on `store`, expecting exit code `code`.
    fn run(&self, code: i32, store: &Path, args: &[&str]) -> Out {
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.extend([OsStr::new("--store"), store.as_os_str()]);
        let out = self.tw(&all);
        assert_eq!(
            out.code, code,
            "trailwatch {args:?}\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out
    }

    fn ingest(&self, store: &Path, input: &str) -> Out {
        let path = stratus(input);
        self.run(0, store, &["ingest", path.to_str().unwrap()])
    }

    /// The store's public key, as `stats` prints it.
    fn public_key(&self, store: &Path) -> String {
        let out = self.run(0, store, &["stats", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["public_key"].as_str().unwrap().to_string()
    }

    /// The anchor file next to the key, the only one of this home.
    fn anchors(&self) -> PathBuf {
        let found: Vec<PathBuf> = fs::read_dir(self.key_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".anchors.jsonl"))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        found[0].clone()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn ledger_lines(store: &Path) -> Vec<String> {
    fs::read_to_string(store.join("_ledger/ledger.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_ledger(store: &Path, lines: &[String]) {
    fs::write(store.join("_ledger/ledger.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// What an insider with write access to the store does: re-signs every link with a key of
/// their own (the store's is not there to take), each after `edit`, re-chained, and puts the
/// new public key in the store.
fn resign_with_fresh_key(store: &Path, edit: impl Fn(&mut Link)) -> String {
    let key = SigningKey::from_bytes(&[0x5a; 32]);
    let mut prev = trailwatch_ledger::GENESIS.to_string();
    let mut out = Vec::new();
    for line in ledger_lines(store) {
        let mut link = Link::parse(&line).unwrap();
        edit(&mut link);
        link.prev = prev;
        link.sig = String::new();
        let mut signed = b"trailwatch-ledger v1\n".to_vec();
        signed.extend_from_slice(link.to_line().as_bytes());
        link.sig = trailwatch_model::hex::encode(&key.sign(&signed).to_bytes());
        let line = link.to_line();
        prev = line_hash(line.as_bytes());
        out.push(line);
    }
    write_ledger(store, &out);
    let public = trailwatch_model::hex::encode(key.verifying_key().as_bytes());
    fs::write(store.join("_ledger/signing.pub"), format!("{public}\n")).unwrap();
    public
}

/// Caught: rewrite + re-sign without the key. The store holds no private key (a copy of the
/// whole directory has none), so an insider who edits a Parquet file must re-sign the chain
/// with a key of their own — which the pinned public key refuses.
#[test]
fn rewrite_and_resign_is_impossible_without_the_key_in_the_store() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "credential_access");
    // The key: in the configuration directory, owner-only, named by the store id.
    let keys: Vec<PathBuf> = files(&home.key_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&keys[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let seed = fs::read_to_string(&keys[0]).unwrap().trim().to_string();
    let seed_bytes = trailwatch_model::hex::decode(&seed).unwrap();
    // A copy of the store directory holds no private key, in any file.
    let copy = home.path("copy");
    copy_dir(&store, &copy);
    for f in files(&copy) {
        let bytes = fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&seed), "{} holds the key", f.display());
        assert!(
            !bytes.windows(32).any(|w| w == seed_bytes.as_slice()),
            "{} holds the key's bytes",
            f.display()
        );
        assert!(!f.to_string_lossy().ends_with(".key"), "{}", f.display());
    }
    // stats prints the public key and its fingerprint.
    let pinned = home.public_key(&store);
    let stats = home.run(0, &store, &["stats"]);
    assert!(
        stats
            .stdout
            .contains(&format!("public key {pinned} (fingerprint SHA256:")),
        "{}",
        stats.stdout
    );

    // The insider edits a data file of the copy (its events replaced by another file's) and
    // re-chains with a fresh key: self-consistent, so an unpinned verify passes ...
    let data: Vec<PathBuf> = files(&copy)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    assert!(data.len() >= 2);
    let (victim, donor) = (&data[0], &data[1]);
    fs::copy(donor, victim).unwrap();
    let rel = |p: &Path| {
        p.strip_prefix(&copy)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/")
    };
    let (victim_rel, donor_rel) = (rel(victim), rel(donor));
    let lines = ledger_lines(&copy);
    let donor_link = lines
        .iter()
        .map(|l| Link::parse(l).unwrap())
        .find(|l| l.path.as_deref() == Some(donor_rel.as_str()))
        .unwrap();
    let forged = resign_with_fresh_key(&copy, |l| {
        if l.path.as_deref() == Some(victim_rel.as_str()) {
            l.sha256.clone_from(&donor_link.sha256);
            l.bytes = donor_link.bytes;
            l.records = donor_link.records;
        }
    });
    let out = home.run(0, &copy, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    // ... and the pinned key (hex, a file, or the configuration's) catches it.
    let out = home.run(1, &copy, &["verify", "--public-key", &pinned]);
    assert!(
        out.stdout
            .contains(&format!("signing.pub ({forged}) is not the pinned key")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("bad signature: edited or forged"),
        "{}",
        out.stdout
    );
    let pin_file = home.path("pinned.pub");
    fs::write(&pin_file, format!("{pinned}\n")).unwrap();
    home.run(
        1,
        &copy,
        &["verify", "--public-key", pin_file.to_str().unwrap()],
    );
    let config = home.path("auditor.toml");
    fs::write(&config, format!("[store]\npublic_key = {pinned:?}\n")).unwrap();
    home.run(1, &copy, &["verify", "--config", config.to_str().unwrap()]);
    // The real store passes against the same pin.
    let out = home.run(0, &store, &["verify", "--public-key", &pinned]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
}

/// Readers need no private key; the writer does, and finds it only where it lives.
#[test]
fn readers_work_without_the_private_key_and_the_writer_needs_it() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "exfiltration");
    let pinned = home.public_key(&store);
    let elsewhere = Home::new(); // another user: no key at all
    let out = elsewhere.run(0, &store, &["verify", "--public-key", &pinned]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    elsewhere.run(0, &store, &["stats"]);
    elsewhere.run(0, &store, &["sql", "SELECT count(*) FROM events"]);
    let path = stratus("discovery");
    let out = elsewhere.run(1, &store, &["ingest", path.to_str().unwrap()]);
    assert!(
        out.stderr.contains("no signing key there"),
        "{}",
        out.stderr
    );
    // A key file given in the configuration: created there on first ingest, mode 0600.
    let key_file = home.path("secrets/audit.key");
    let config = home.path("trailwatch.toml");
    let other = home.path("other-store");
    fs::write(
        &config,
        format!("[store]\ndir = {other:?}\nsigning_key = {key_file:?}\n"),
    )
    .unwrap();
    let input = stratus("exfiltration");
    let out = home.tw(&[
        "ingest".as_ref(),
        input.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(key_file.is_file() && other.join("_ledger/signing.pub").is_file());
    // A key inside the store is refused.
    let inside = home.path("inside.toml");
    let store_key = store.join("keys/k.key");
    fs::write(&inside, format!("[store]\nsigning_key = {store_key:?}\n")).unwrap();
    let mut args: Vec<&OsStr> = vec!["ingest".as_ref(), input.as_os_str()];
    args.extend([
        OsStr::new("--config"),
        inside.as_os_str(),
        OsStr::new("--store"),
        store.as_os_str(),
    ]);
    let out = home.tw(&args);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("inside the store"), "{}", out.stderr);
    assert!(!store_key.exists());
}

/// Caught: a store rebuilt from scratch with a new key (the evidence left out) passes on its
/// own, and fails against the key pinned before.
#[test]
fn a_store_rebuilt_with_a_new_key_fails_against_the_pinned_key() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "defense_evasion");
    home.ingest(&store, "exfiltration");
    let pinned = home.public_key(&store);
    let config = home.path("auditor.toml");
    fs::write(&config, format!("[store]\npublic_key = {pinned:?}\n")).unwrap();
    home.run(0, &store, &["verify", "--config", config.to_str().unwrap()]);
    // Rebuilt without the defence-evasion trail, by someone without the key.
    fs::remove_dir_all(&store).unwrap();
    let insider = Home::new();
    insider.ingest(&store, "exfiltration");
    let out = insider.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    let out = home.run(1, &store, &["verify", "--config", config.to_str().unwrap()]);
    assert!(
        out.stdout.contains("is not the pinned key"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.starts_with("ledger: signing.pub"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("FAILED"), "{}", out.stdout);
}

/// A store written before the key moved out (its key in `_ledger/signing.key`) is not
/// trusted: verify fails and the writer refuses it until `trailwatch key migrate` moves the
/// key out; then both work, with the same public key.
#[test]
fn a_key_left_in_an_old_store_is_refused_until_migrated() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "exfiltration");
    let pinned = home.public_key(&store);
    // The layout older versions wrote: the key inside, none in the configuration.
    let key = files(&home.key_dir())
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "key"))
        .unwrap();
    fs::rename(&key, store.join("_ledger/signing.key")).unwrap();
    let out = home.run(1, &store, &["verify"]);
    assert!(
        out.stdout.contains("private signing key inside the store"),
        "{}",
        out.stdout
    );
    let input = stratus("discovery");
    let out = home.run(1, &store, &["ingest", input.to_str().unwrap()]);
    assert!(
        out.stderr.contains("trailwatch key migrate"),
        "{}",
        out.stderr
    );
    let out = home.run(0, &store, &["key", "migrate"]);
    assert!(out.stdout.contains(&pinned), "{}", out.stdout);
    assert!(!store.join("_ledger/signing.key").exists());
    assert!(key.is_file(), "back in the configuration directory");
    home.ingest(&store, "discovery");
    let out = home.run(0, &store, &["verify", "--public-key", &pinned]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
}

/// Caught by the anchors: the newest files cut together with the ledger's tail, which nothing
/// inside the store shows.
#[test]
fn anchors_catch_tail_truncation() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "exfiltration");
    // One run, four days: four links, one published head at its end.
    home.ingest(&store, "credential_access");
    let anchors = home.anchors();
    let a = anchors.to_str().unwrap();
    home.run(0, &store, &["verify", "--anchors", a]);
    let mut lines = ledger_lines(&store);
    let last = Link::parse(&lines.pop().unwrap()).unwrap();
    fs::remove_file(store.join(last.path.unwrap())).unwrap();
    write_ledger(&store, &lines);
    let out = home.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    let out = home.run(1, &store, &["verify", "--anchors", a]);
    let want = format!(
        "truncated: the ledger ends at link {}, but link {} was published as its head",
        last.seq - 1,
        last.seq
    );
    assert!(out.stdout.contains(&want), "{}", out.stdout);
}

/// Caught by the anchors: the store replaced by an older copy of itself.
#[test]
fn anchors_catch_a_rollback_to_an_older_copy() {
    let home = Home::new();
    let store = home.store();
    let anchors = home.path("siem/anchors.jsonl");
    let config = home.path("trailwatch.toml");
    fs::write(&config, format!("[store]\nanchors = {anchors:?}\n")).unwrap();
    let c = config.to_str().unwrap();
    let input = stratus("exfiltration");
    let out = home.run(
        0,
        &store,
        &["ingest", input.to_str().unwrap(), "--config", c],
    );
    assert!(
        out.stderr.contains("signed head 1 published to"),
        "{}",
        out.stderr
    );
    let backup = home.path("backup");
    copy_dir(&store, &backup);
    let input = stratus("discovery");
    home.run(
        0,
        &store,
        &["ingest", input.to_str().unwrap(), "--config", c],
    );
    home.run(0, &store, &["verify", "--config", c]);
    fs::remove_dir_all(&store).unwrap();
    copy_dir(&backup, &store);
    let out = home.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    // Anchors the writer could take back (inside the store) are refused.
    let inside = home.path("inside.toml");
    let in_store = store.join("anchors.jsonl");
    fs::write(&inside, format!("[store]\nanchors = {in_store:?}\n")).unwrap();
    let input = stratus("impact");
    let ins = inside.to_str().unwrap();
    let out = home.run(
        1,
        &store,
        &["ingest", input.to_str().unwrap(), "--config", ins],
    );
    assert!(out.stderr.contains("inside the store"), "{}", out.stderr);
    assert!(!in_store.exists());
    let out = home.run(1, &store, &["verify", "--config", c]);
    assert!(
        out.stdout.contains("rolled back: the store is at link 1")
            && out.stdout.contains("but it had gone on to link 2"),
        "{}",
        out.stdout
    );
}

/// Caught by the anchors: an older copy of the store that went on differently (two heads for
/// one link).
#[test]
fn anchors_catch_a_fork() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "exfiltration");
    let backup = home.path("backup");
    copy_dir(&store, &backup);
    home.ingest(&store, "discovery");
    fs::remove_dir_all(&store).unwrap();
    copy_dir(&backup, &store);
    // One file of one day, as the run it replaces: link 2 again, another one.
    home.ingest(&store, "impact/InvokeBedrockModel.json");
    let anchors = home.anchors();
    let out = home.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    let out = home.run(
        1,
        &store,
        &["verify", "--anchors", anchors.to_str().unwrap()],
    );
    assert!(
        out.stdout
            .contains("fork at link 2: two different heads were published for it"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("fork: link 2 is not the head published at"),
        "{}",
        out.stdout
    );
}

/// Caught: retention below the floor is refused, and nothing is deleted; lowering the floor
/// needs the key and is a signed link verify lists with every deletion.
#[test]
fn retention_below_the_floor_is_refused_and_nothing_deleted() {
    let home = Home::new();
    let store = home.store();
    home.ingest(&store, "credential_access");
    let before: Vec<(PathBuf, Vec<u8>)> = files(&store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    let links = ledger_lines(&store).len();
    let out = home.run(
        1,
        &store,
        &["retention", "--keep", "1d", "--now", "2024-10-20"],
    );
    assert!(
        out.stderr.contains("retention refused, nothing deleted")
            && out
                .stderr
                .contains("below the store's retention floor of 365 days"),
        "{}",
        out.stderr
    );
    // A reference time in the future does not walk around it.
    home.run(
        1,
        &store,
        &["retention", "--keep", "400d", "--now", "2099-01-01"],
    );
    home.run(
        1,
        &store,
        &[
            "retention",
            "--keep",
            "30d",
            "--dry-run",
            "--now",
            "2024-10-20",
        ],
    );
    for (path, bytes) in &before {
        assert_eq!(&fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    assert_eq!(ledger_lines(&store).len(), links, "nothing recorded");
    // Lowering the floor needs the key ...
    let other = Home::new();
    let out = other.run(1, &store, &["retention", "--set-floor", "30d"]);
    assert!(
        out.stderr.contains("no signing key there"),
        "{}",
        out.stderr
    );
    // ... and is a signed link, reported.
    let out = home.run(
        0,
        &store,
        &[
            "retention",
            "--set-floor",
            "30d",
            "--reason",
            "sandbox account",
        ],
    );
    assert!(
        out.stdout
            .contains("retention floor lowered from 365 to 30 days (sandbox account)"),
        "{}",
        out.stdout
    );
    let out = home.run(
        0,
        &store,
        &["retention", "--keep", "30d", "--now", "2024-08-31"],
    );
    assert!(out.stdout.contains("removed 2 days"), "{}", out.stdout);
    let out = home.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("lowered from 365 to 30 days (sandbox account)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("(keep 30d): removed 2 days (2024-07-30, 2024-07-31)")
            && out.stdout.contains("floor 30 days: within the floor"),
        "{}",
        out.stdout
    );
}

/// Caught: a day deleted together with its ledger links: in the middle of the chain by the
/// chain itself, at its end by the anchors.
#[test]
fn a_day_deleted_with_its_links_is_caught() {
    let home = Home::new();
    let store = home.store();
    // One run: a link per day, 2024-07-30 … 2024-08-02, oldest first.
    home.ingest(&store, "credential_access");
    let anchors = home.anchors();
    let a = anchors.to_str().unwrap();
    let drop_day = |day: &str| {
        let lines = ledger_lines(&store);
        let kept: Vec<String> = lines
            .iter()
            .filter(|l| {
                let link = Link::parse(l).unwrap();
                !link.path.is_some_and(|p| p.contains(&format!("dt={day}/")))
            })
            .cloned()
            .collect();
        assert_eq!(kept.len() + 1, lines.len());
        fs::remove_dir_all(store.join(format!("provider=aws/dt={day}"))).unwrap();
        write_ledger(&store, &kept);
    };
    drop_day("2024-07-31");
    let out = home.run(1, &store, &["verify"]);
    assert!(
        out.stdout
            .contains("link 2: removed (seq gap between 1 and 3)"),
        "{}",
        out.stdout
    );
    // The newest day with the last link: only the published head shows it.
    let whole = home.path("whole");
    fs::remove_dir_all(&store).unwrap();
    let fresh = Home::new();
    fresh.ingest(&whole, "credential_access");
    fs::rename(&whole, &store).unwrap();
    let fresh_anchors = fresh.anchors();
    drop_day("2024-08-02");
    let out = fresh.run(0, &store, &["verify"]);
    assert!(out.stdout.starts_with("ok:"), "{}", out.stdout);
    let out = fresh.run(
        1,
        &store,
        &["verify", "--anchors", fresh_anchors.to_str().unwrap()],
    );
    assert!(
        out.stdout
            .contains("truncated: the ledger ends at link 3, but link 4"),
        "{}",
        out.stdout
    );
    // The first home's anchors belong to another store: not signed by its key.
    let out = fresh.run(1, &store, &["verify", "--anchors", a]);
    assert!(
        out.stdout.contains("not signed by this store's key"),
        "{}",
        out.stdout
    );
}
