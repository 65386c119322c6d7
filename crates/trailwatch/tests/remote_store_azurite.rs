//! The store on Azure Blob Storage (issue 18, part 4), end to end with the real binary against
//! Azurite (npm `azurite`, installed by `.ci/test`; missing, the test fails): `--store
//! az://container/prefix` ingests exactly once, answers `sql` as a local store of the same
//! files does, verifies over the URL as a local copy does, and says what the container's
//! immutability settings are (Azurite answers none set; the parsing of a container with a
//! policy or a legal hold is tested in trailwatch-remote on recorded API responses).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../trailwatch-watch/tests/common/mod.rs"]
mod watch_common;
use watch_common::{Azurite, AZURITE_KEY};

fn stratus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/aws/stratus-red-team")
}

fn tw(home: &Path, azurite: &Azurite, code: i32, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1")
        .env("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY)
        .env("AZURE_STORAGE_ENDPOINT", &azurite.endpoint)
        .env("AZURE_ALLOW_HTTP", "true")
        .env_remove("TRAILWATCH_STORE")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "trailwatch {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace("\r\n", "\n")
}

const COUNTS: &str = "SELECT provider, dt, action, count(*) AS n, count(DISTINCT event_id) AS ids FROM events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

#[test]
fn az_store_ingests_exactly_once_answers_and_verifies_as_a_local_store() {
    let azurite = Azurite::start();
    azurite.python("svc.create_container('audit')");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let url = "az://audit/org/trail";
    let data = stratus();
    let data = data.to_str().unwrap();
    let first = text(&tw(h, &azurite, 0, &["ingest", data, "--store", url]).stderr);
    assert!(first.contains("250 new events stored"), "{first}");
    assert!(
        first.contains("pushed to az://audit/org/trail: 8 objects"),
        "{first}"
    );
    // The container keeps nothing: the writer says so.
    assert!(
        first.contains("warning: az://audit/org/trail: immutability policy no, legal hold no"),
        "{first}"
    );
    let again = text(&tw(h, &azurite, 0, &["ingest", data, "--store", url]).stderr);
    assert!(again.contains("0 new events stored"), "{again}");

    let local = h.join("local-store");
    tw(
        h,
        &azurite,
        0,
        &["ingest", data, "--store", local.to_str().unwrap()],
    );
    let sql = |store: &str| {
        text(
            &tw(
                h,
                &azurite,
                0,
                &["sql", COUNTS, "--store", store, "--format", "csv"],
            )
            .stdout,
        )
    };
    assert_eq!(sql(url), sql(local.to_str().unwrap()));

    let stats = text(&tw(h, &azurite, 0, &["stats", "--store", url]).stdout);
    assert!(stats.starts_with("250 events in 5 files"), "{stats}");
    assert!(
        stats.contains(
            "storage: az://audit/org/trail: NOT write-once (immutability policy no, legal hold no"
        ),
        "{stats}"
    );

    // verify over az:// equals verify of a copy, intact and with a planted blob.
    let working = h.join("cache/trailwatch/stores/az___audit_org_trail");
    let copy = h.join("copy");
    for e in walkdir::WalkDir::new(&working) {
        let e = e.unwrap();
        let dest = copy.join(e.path().strip_prefix(&working).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
    let copy_s = copy.to_str().unwrap();
    let ok_remote = text(&tw(h, &azurite, 0, &["verify", "--store", url]).stdout);
    assert_eq!(
        ok_remote,
        text(&tw(h, &azurite, 0, &["verify", "--store", copy_s]).stdout)
    );
    assert!(ok_remote.starts_with("ok: 5 links"), "{ok_remote}");
    let planted = "provider=aws/dt=2024-07-30/part-00000042-0000000000000000.parquet";
    fs::write(copy.join(planted), b"not parquet").unwrap();
    azurite.python(&format!(
        "svc.get_blob_client('audit', 'org/trail/{planted}').upload_blob(b'not parquet')"
    ));
    let bad_remote = text(&tw(h, &azurite, 1, &["verify", "--store", url]).stdout);
    assert_eq!(
        bad_remote,
        text(&tw(h, &azurite, 1, &["verify", "--store", copy_s]).stdout)
    );
    assert!(
        bad_remote.contains(&format!("{planted}: planted")),
        "{bad_remote}"
    );
}
