//! Stats and retention of an open store.

use std::collections::BTreeMap;
use std::fs;

use arrow::array::AsArray;
use chrono::NaiveDate;
use trailwatch_ledger::Removed;

use crate::schema::{column_index, COL_ACCOUNT, COL_REGION};
use crate::store::{sync_dir, Store, StoreError};
use crate::write::read_columns;

/// One day of one provider.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub events: u64,
    pub bytes: u64,
    pub files: u64,
}

/// What a store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    /// Bytes of the data files.
    pub bytes: u64,
    pub files: u64,
    /// First and last event time (RFC 3339, as the ledger records them).
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// Events per provider (`aws`, `azure`).
    pub per_provider: BTreeMap<String, u64>,
    /// Events per (provider, account), `-` for none.
    pub per_account: BTreeMap<(String, String), u64>,
    /// Events per (provider, region), `-` for none.
    pub per_region: BTreeMap<(String, String), u64>,
    /// Per (day `YYYY-MM-DD`, provider).
    pub per_day: BTreeMap<(String, String), DayStats>,
    /// The ledger's Ed25519 public key (hex): pin it elsewhere to verify against.
    pub public_key: String,
    /// Its fingerprint (`SHA256:<hex>`).
    pub fingerprint: String,
    /// Ledger links.
    pub ledger_seq: u64,
    /// The retention floor in force (days): retention never keeps less.
    pub retention_floor_days: u32,
}

/// What retention removed (or would remove, on a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Days kept from (inclusive): days before it are removed.
    pub cutoff: String,
    pub dry_run: bool,
    /// Days removed, with their files' relative paths.
    pub days: BTreeMap<String, Vec<String>>,
    pub files: u64,
    pub events: u64,
    pub bytes: u64,
    /// The retention link's seq (none on a dry run or when nothing was old enough).
    pub ledger_seq: Option<u64>,
}

/// `provider=aws/dt=2024-01-31/part-….parquet` → ("aws", "2024-01-31").
fn partition_of(rel: &str) -> (String, String) {
    let mut provider = String::new();
    let mut day = String::new();
    for seg in rel.split('/') {
        if let Some(p) = seg.strip_prefix("provider=") {
            provider = p.to_string();
        } else if let Some(d) = seg.strip_prefix("dt=") {
            day = d.to_string();
        }
    }
    (provider, day)
}

impl Store {
    /// Counts from the ledger (events, bytes, files, time range, per day) and from the files'
    /// `account` and `region` columns.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut s = Stats {
            public_key: self.ledger.public_key_hex(),
            fingerprint: trailwatch_ledger::fingerprint(&self.ledger.public_key()),
            ledger_seq: self.ledger.head().seq,
            retention_floor_days: self.ledger.retention_floor(),
            ..Stats::default()
        };
        let cols = [
            column_index(COL_ACCOUNT).expect("column"),
            column_index(COL_REGION).expect("column"),
        ];
        for rel in self.files() {
            let link = self.ledger.live(&rel).expect("live");
            let (provider, day) = partition_of(&rel);
            let events = link.records.unwrap_or(0);
            let bytes = link.bytes.unwrap_or(0);
            s.events += events;
            s.bytes += bytes;
            s.files += 1;
            if let Some(t) = &link.first_time {
                if s.first_time.as_ref().is_none_or(|f| t < f) {
                    s.first_time = Some(t.clone());
                }
            }
            if let Some(t) = &link.last_time {
                if s.last_time.as_ref().is_none_or(|l| t > l) {
                    s.last_time = Some(t.clone());
                }
            }
            *s.per_provider.entry(provider.clone()).or_default() += events;
            let d = s.per_day.entry((day, provider.clone())).or_default();
            d.events += events;
            d.bytes += bytes;
            d.files += 1;
            let mut accounts: BTreeMap<String, u64> = BTreeMap::new();
            let mut regions: BTreeMap<String, u64> = BTreeMap::new();
            read_columns(&self.dir.join(&rel), &cols, |batch| {
                let a = batch.column(0).as_string::<i32>();
                let r = batch.column(1).as_string::<i32>();
                for v in a.iter() {
                    *accounts.entry(v.unwrap_or("-").to_string()).or_default() += 1;
                }
                for v in r.iter() {
                    *regions.entry(v.unwrap_or("-").to_string()).or_default() += 1;
                }
            })?;
            for (k, n) in accounts {
                *s.per_account.entry((provider.clone(), k)).or_default() += n;
            }
            for (k, n) in regions {
                *s.per_region.entry((provider.clone(), k)).or_default() += n;
            }
        }
        Ok(s)
    }

    /// Sets the retention floor to `days` (lowering it too): a floor link, signed with the
    /// store's key (the writer's), then published. Returns the floor it replaced and the link.
    pub fn set_retention_floor(
        &mut self,
        days: u32,
        reason: &str,
    ) -> Result<(u32, trailwatch_ledger::Link), StoreError> {
        self.check_writable()?;
        let before = self.ledger.retention_floor();
        let link = self.ledger.append_floor(days, reason)?;
        self.publish_head()?;
        Ok((before, link))
    }

    /// `Err` unless deleting the days before `cutoff` keeps the retention floor: `keep_days` is
    /// at least the floor, and, on the clock the retention link will carry (the time verify
    /// judges it by), no day younger than the floor goes (a reference day in the future does
    /// not walk around it).
    fn check_floor(&self, keep_days: u32, cutoff: NaiveDate) -> Result<(), StoreError> {
        let floor = self.ledger.retention_floor();
        if keep_days < floor {
            return Err(StoreError::RetentionRefused(format!(
                "keeping {keep_days} days is below the store's retention floor of {floor} days (lowering the floor is a signed, reported event: trailwatch retention --set-floor)"
            )));
        }
        let kept_from = chrono::Utc::now().date_naive() - chrono::Days::new(u64::from(floor));
        if cutoff > kept_from {
            return Err(StoreError::RetentionRefused(format!(
                "the cut-off {cutoff} is after {kept_from}, today's limit of the {floor}-day floor (a reference time in the future?)"
            )));
        }
        Ok(())
    }

    /// Deletes whole days (UTC) before `today - keep_days`: the retention link first, then the
    /// files, then the head is published. Refused, deleting nothing, below the retention floor
    /// (see `check_floor`). A dry run deletes nothing and writes nothing. `today` is the
    /// caller's reference day (the command line resolves it once, from the clock or `--now`);
    /// the floor is also checked against the clock the retention link carries.
    pub fn retention(
        &mut self,
        keep_days: u32,
        dry_run: bool,
        today: NaiveDate,
    ) -> Result<RetentionReport, StoreError> {
        if !dry_run {
            self.check_writable()?;
        }
        let cutoff = today - chrono::Days::new(u64::from(keep_days));
        self.check_floor(keep_days, cutoff)?;
        let cutoff_s = cutoff.format("%Y-%m-%d").to_string();
        let mut report = RetentionReport {
            cutoff: cutoff_s.clone(),
            dry_run,
            ..RetentionReport::default()
        };
        let mut removed = Vec::new();
        for rel in self.files() {
            let (_, day) = partition_of(&rel);
            if day.as_str() >= cutoff_s.as_str() {
                continue;
            }
            let link = self.ledger.live(&rel).expect("live");
            report.files += 1;
            report.events += link.records.unwrap_or(0);
            report.bytes += link.bytes.unwrap_or(0);
            report
                .days
                .entry(day.clone())
                .or_default()
                .push(rel.clone());
            removed.push(Removed {
                path: rel.clone(),
                sha256: link.sha256.clone().unwrap_or_default(),
                day,
            });
        }
        if dry_run || removed.is_empty() {
            return Ok(report);
        }
        let link = self
            .ledger
            .append_retention(removed.clone(), &format!("keep {keep_days}d"))?;
        report.ledger_seq = Some(link.seq);
        self.forget_ids();
        for r in &removed {
            let abs = self.dir.join(&r.path);
            match fs::remove_file(&abs) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(&abs)(e)),
            }
            let day_dir = abs.parent().expect("partition").to_path_buf();
            sync_dir(&day_dir)?;
            // An emptied day's directory goes too.
            if fs::read_dir(&day_dir).is_ok_and(|mut d| d.next().is_none()) {
                let _ = fs::remove_dir(&day_dir);
                if let Some(p) = day_dir.parent() {
                    sync_dir(p)?;
                }
            }
        }
        self.publish_head()?;
        Ok(report)
    }
}
