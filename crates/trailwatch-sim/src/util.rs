//! Small building blocks: seeded randomness, ids, time formatting and a minimal JSON writer.

use fastrand::Rng;
use trailwatch_model::uuid::format_uuid;

/// splitmix64 finaliser: a good 64-bit mixer for deriving independent seeds.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derive a seed from a base seed and a list of components.
pub(crate) fn derive(seed: u64, parts: &[u64]) -> u64 {
    let mut h = mix(seed ^ 0x5EED_0F7A_1100_u64);
    for p in parts {
        h = mix(h ^ p.wrapping_mul(0x100_0000_01B3));
    }
    h
}

pub(crate) fn rng_for(seed: u64, parts: &[u64]) -> Rng {
    Rng::with_seed(derive(seed, parts))
}

pub(crate) fn pick<'a, T>(rng: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.usize(..xs.len())]
}

/// Pick an index by weight.
pub(crate) fn weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn from_set(rng: &mut Rng, set: &[u8], n: usize) -> String {
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        s.push(set[rng.usize(..set.len())] as char);
    }
    s
}

/// A random version-4 UUID, in canonical lowercase text.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    let a = rng.u64(..);
    let b = rng.u64(..);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format_uuid(&bytes)
}

/// `n` random lowercase hex digits.
pub(crate) fn hex(rng: &mut Rng, n: usize) -> String {
    from_set(rng, trailwatch_model::hex::DIGITS, n)
}
pub(crate) fn alnum(rng: &mut Rng, n: usize) -> String {
    from_set(rng, ALNUM, n)
}
pub(crate) fn upnum(rng: &mut Rng, n: usize) -> String {
    from_set(rng, UPNUM, n)
}
pub(crate) fn lower(rng: &mut Rng, n: usize) -> String {
    from_set(rng, &ALNUM[36..], n)
}
/// An IAM-style identifier: `prefix` + base32-ish upper characters (`AKIA…`, `AIDA…`, `AROA…`).
pub(crate) fn iam_id(rng: &mut Rng, prefix: &str, n: usize) -> String {
    let mut s = String::from(prefix);
    s.push_str(&from_set(rng, B32, n));
    s
}

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day of week, 0 = Monday.
pub(crate) fn weekday(secs: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    ((secs.div_euclid(86_400) + 3).rem_euclid(7)) as u32
}

/// `2026-10-01T12:34:56Z`
pub(crate) fn iso(secs: i64) -> String {
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        (t / 60) % 60,
        t % 60
    )
}

/// `2026-10-01T12:34:56.1234567Z` (Azure style, 7 fraction digits).
pub(crate) fn iso7(secs: i64, frac_100ns: u32) -> String {
    let s = iso(secs);
    format!("{}.{:07}Z", &s[..s.len() - 1], frac_100ns % 10_000_000)
}

/// `Oct 1, 2026, 12:34:56 PM` as IAM/STS responses print dates.
pub(crate) fn aws_long_date(secs: i64) -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    let h = t / 3600;
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!(
        "{} {d}, {y}, {h12}:{:02}:{:02} {ampm}",
        MON[(m - 1) as usize],
        (t / 60) % 60,
        t % 60
    )
}

/// Append `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A minimal streaming JSON object writer; field order is kept as written.
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }
    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        push_json_str(self.out, v);
        self
    }
    pub(crate) fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.out.push_str(v);
        self
    }
    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }
    pub(crate) fn num(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        self.out.push_str(&v.to_string());
        self
    }
    pub(crate) fn obj(&mut self, k: &str) -> Obj<'_> {
        self.key(k);
        Obj::new(self.out)
    }
    pub(crate) fn end(self) {
        self.out.push('}');
    }
}

/// Build a JSON object into a new string.
pub(crate) fn obj_string(f: impl FnOnce(&mut Obj<'_>)) -> String {
    let mut s = String::with_capacity(128);
    let mut o = Obj::new(&mut s);
    f(&mut o);
    o.end();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_and_weekday() {
        // 2026-10-01 is a Thursday.
        let secs = 20_727 * 86_400;
        assert_eq!(civil(20_727), (2026, 10, 1));
        assert_eq!(weekday(secs), 3);
        assert_eq!(iso(secs + 3661), "2026-10-01T01:01:01Z");
        assert_eq!(
            aws_long_date(secs + 13 * 3600 + 5),
            "Oct 1, 2026, 1:00:05 PM"
        );
    }

    #[test]
    fn json_writer_escapes() {
        let s = obj_string(|o| {
            o.str("a", "x\"y\\\n").num("n", 3);
            let mut inner = o.obj("o");
            inner.bool("b", true);
            inner.end();
        });
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], "x\"y\\\n");
        assert_eq!(v["o"]["b"], true);
    }
}
