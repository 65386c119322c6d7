//! The splitter against every container shape, chunk boundaries and broken input.

use std::io::{self, Read};
use trailwatch_json::{Raw, SplitError, Splitter, SplitterOptions};

/// A reader that hands out at most `n` bytes a call, to put chunk edges everywhere.
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let k = self.n.min(out.len()).min(self.data.len());
        out[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

fn split_with(data: &[u8], n: usize, opts: SplitterOptions) -> (Vec<String>, Vec<String>) {
    let mut s = Splitter::with_options(Trickle { data, n }, opts);
    let (mut recs, mut errs) = (Vec::new(), Vec::new());
    while let Some(r) = s.next_record() {
        match r {
            Ok(b) => recs.push(String::from_utf8(b.to_vec()).unwrap()),
            Err(e) => errs.push(e.to_string()),
        }
    }
    (recs, errs)
}

fn split(data: &[u8]) -> (Vec<String>, Vec<String>) {
    split_with(data, 1 << 20, SplitterOptions::default())
}

fn names(recs: &[String]) -> Vec<String> {
    recs.iter()
        .map(|r| {
            Raw::new(r.as_bytes())
                .str_at(&["n"])
                .map(|s| s.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn every_container_shape_yields_its_elements() {
    for key in ["Records", "Events", "value", "records"] {
        let doc = format!(
            r#"{{"{key}": [{{"n":"a"}}, {{"n":"b","x":{{"y":[1,2]}}}}], "nextLink": null}}"#
        );
        let (recs, errs) = split(doc.as_bytes());
        assert!(errs.is_empty(), "{key}: {errs:?}");
        assert_eq!(names(&recs), ["a", "b"], "{key}");
    }
    let (recs, errs) = split(br#"[{"n":"a"},{"n":"b"}]"#);
    assert!(errs.is_empty());
    assert_eq!(names(&recs), ["a", "b"]);
}

#[test]
fn container_key_after_other_keys_and_empty_files() {
    let (recs, errs) = split(br#"{"NextToken":"t","other":{"a":[1]},"Events":[{"n":"a"}]}"#);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(names(&recs), ["a"]);
    for empty in [&b""[..], b"   \n", b"{\"Records\":[]}", b"[]"] {
        let (recs, errs) = split(empty);
        assert!(recs.is_empty() && errs.is_empty());
    }
}

#[test]
fn lone_objects_and_json_lines_are_records() {
    let (recs, errs) = split(b"{\"n\":\"a\"}\n{\"n\":\"b\"}\r\n\n{\"n\":\"c\"}");
    assert!(errs.is_empty());
    assert_eq!(names(&recs), ["a", "b", "c"]);
    // A digest file: an object whose only array is not a container.
    let (recs, _) = split(br#"{"digestStartTime":"x","logFiles":[{"s3Object":"o"}]}"#);
    assert_eq!(recs.len(), 1);
    // A pretty-printed single object spans lines and is still one record.
    let (recs, errs) = split(b"{\n  \"n\": \"a\",\n  \"d\": {\n    \"k\": 1\n  }\n}\n");
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(names(&recs), ["a"]);
}

#[test]
fn every_chunk_size_gives_the_same_records() {
    let mut doc = String::from(r#"{"Records":["#);
    for i in 0..50 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            r#"{{"n":"r{i}","s":"q\"}}{{[\\","a":[{{"b":"]"}}],"u":"\u00e9"}}"#
        ));
    }
    doc.push_str("]}");
    let (want, errs) = split(doc.as_bytes());
    assert!(errs.is_empty());
    assert_eq!(want.len(), 50);
    for n in [1, 2, 3, 7, 64, 1000] {
        let opts = SplitterOptions {
            chunk_bytes: 16,
            ..Default::default()
        };
        let (got, errs) = split_with(doc.as_bytes(), n, opts);
        assert!(errs.is_empty(), "n={n}: {errs:?}");
        assert_eq!(got, want, "n={n}");
    }
}

#[test]
fn garbage_line_in_json_lines_costs_only_that_line() {
    let data = b"{\"n\":\"a\"}\nthis is not json\n{\"n\":\"b\"}\n{\"n\":\"c\", \"broken\": \"x\n{\"n\":\"d\"}\n";
    let (recs, errs) = split(data);
    assert_eq!(names(&recs), ["a", "b", "d"]);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].contains("not JSON"), "{}", errs[0]);
    assert!(errs[1].contains("line ends inside"), "{}", errs[1]);
}

#[test]
fn truncated_container_keeps_the_records_before_the_cut() {
    let (recs, errs) = split(br#"{"Records":[{"n":"a"},{"n":"b"},{"n":"c","x":"#);
    assert_eq!(names(&recs), ["a", "b"]);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("truncated"), "{}", errs[0]);
}

#[test]
fn oversized_records_are_skipped_and_the_rest_kept() {
    let big = "x".repeat(5000);
    let doc = format!(r#"{{"Records":[{{"n":"a"}},{{"n":"big","pad":"{big}"}},{{"n":"c"}}]}}"#);
    let opts = SplitterOptions {
        max_record_bytes: 1000,
        chunk_bytes: 64,
    };
    let (recs, errs) = split_with(doc.as_bytes(), 100, opts);
    assert_eq!(names(&recs), ["a", "c"]);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("larger than 1000"), "{}", errs[0]);

    let lines = format!("{{\"n\":\"a\"}}\n{{\"n\":\"big\",\"pad\":\"{big}\"}}\n{{\"n\":\"c\"}}\n");
    let (recs, errs) = split_with(lines.as_bytes(), 100, opts);
    assert_eq!(names(&recs), ["a", "c"], "{errs:?}");
    assert_eq!(errs.len(), 1);
}

#[test]
fn a_huge_single_line_streams_in_small_memory() {
    // 200k records in one line: memory stays at the chunk size, not the file size.
    struct Gen {
        i: usize,
        n: usize,
        pending: Vec<u8>,
    }
    impl Read for Gen {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            while self.pending.len() < out.len() && self.i <= self.n {
                if self.i == 0 {
                    self.pending.extend_from_slice(b"{\"Records\":[");
                } else {
                    if self.i > 1 {
                        self.pending.push(b',');
                    }
                    self.pending.extend_from_slice(
                        format!("{{\"n\":\"{}\",\"p\":\"{}\"}}", self.i, "y".repeat(200))
                            .as_bytes(),
                    );
                    if self.i == self.n {
                        self.pending.extend_from_slice(b"]}");
                    }
                }
                self.i += 1;
            }
            let k = out.len().min(self.pending.len());
            out[..k].copy_from_slice(&self.pending[..k]);
            self.pending.drain(..k);
            Ok(k)
        }
    }
    let mut s = Splitter::new(Gen {
        i: 0,
        n: 200_000,
        pending: Vec::new(),
    });
    let mut count = 0u64;
    while let Some(r) = s.next_record() {
        r.unwrap();
        count += 1;
    }
    assert_eq!(count, 200_000);
    assert!(s.bytes_read() > 40_000_000);
}

#[test]
fn errors_are_fatal_only_when_the_stream_cannot_go_on() {
    let e = SplitError::Truncated { offset: 1 };
    assert!(e.is_fatal());
    assert!(!SplitError::NotAnObject { offset: 1 }.is_fatal());
    let (recs, errs) = split(br#"[{"n":"a"}, 42, "s", {"n":"b"}]"#);
    assert_eq!(names(&recs), ["a", "b"]);
    assert_eq!(errs.len(), 2);
}

#[test]
fn input_ending_inside_any_value_is_truncated_not_a_hang() {
    let full = br#"{"a": "text", "b": 12345, "c": {"d": [1, 2]}, "e": true}"#;
    for cut in 1..full.len() {
        for chunk in [1, 7, 4096] {
            let opts = SplitterOptions {
                chunk_bytes: 16,
                ..Default::default()
            };
            let (recs, errs) = split_with(&full[..cut], chunk, opts);
            assert!(recs.is_empty(), "cut {cut}");
            assert_eq!(errs.len(), 1, "cut {cut} chunk {chunk}: {errs:?}");
            assert!(errs[0].contains("truncated"), "cut {cut}: {}", errs[0]);
        }
    }
    let (recs, errs) = split(full);
    assert_eq!(recs.len(), 1);
    assert!(errs.is_empty());
}

#[test]
fn any_byte_soup_terminates_and_reads_everything() {
    // Deterministic pseudo-random inputs built from JSON-ish pieces and noise.
    let pieces: [&[u8]; 14] = [
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"\\",
        b":",
        b",",
        b"\n",
        b"x",
        b"\"k\":",
        b"{\"Records\":[",
        b"123",
        b" ",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 40) as usize;
        let mut input = Vec::new();
        for _ in 0..len {
            input.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
        }
        let chunk = 1 + (next() % 9) as usize;
        let mut s = Splitter::with_options(
            Trickle {
                data: &input,
                n: chunk,
            },
            SplitterOptions {
                chunk_bytes: 8,
                max_record_bytes: 64,
            },
        );
        let mut steps = 0;
        while s.next_record().is_some() {
            steps += 1;
            assert!(
                steps <= input.len() + 2,
                "no progress on {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

/// A reader of `head`, then `fill` repeated until `total` bytes, then `tail`.
struct Bomb {
    head: &'static [u8],
    fill: u8,
    total: usize,
    tail: &'static [u8],
    at: usize,
}

impl Read for Bomb {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut k = 0;
        while k < out.len() {
            let i = self.at;
            let b = if i < self.head.len() {
                self.head[i]
            } else if i < self.total {
                self.fill
            } else if i - self.total < self.tail.len() {
                self.tail[i - self.total]
            } else {
                break;
            };
            out[k] = b;
            k += 1;
            self.at += 1;
        }
        Ok(k)
    }
}

/// An attacker's `[[[[…` that never closes, as a record container's element or a bare array's:
/// skipped as it streams, in memory bounded by the record limit, and reported, not gathered
/// whole (it used to hold the whole input: gigabytes for a 5 MB gzip).
#[test]
fn an_unclosed_nesting_bomb_is_skipped_in_bounded_memory() {
    let opts = SplitterOptions {
        max_record_bytes: 1 << 20,
        chunk_bytes: 64 << 10,
    };
    for head in [&b"{\"Records\":[{\"n\":\"a\"},"[..], b"[{\"n\":\"a\"},"] {
        let bomb = Bomb {
            head,
            fill: b'[',
            total: 64 << 20,
            tail: b"",
            at: 0,
        };
        let mut s = Splitter::with_options(bomb, opts);
        let (mut recs, mut errs) = (0, Vec::new());
        while let Some(r) = s.next_record() {
            match r {
                Ok(_) => recs += 1,
                Err(e) => errs.push(e.to_string()),
            }
        }
        assert_eq!(recs, 1, "the record before the bomb is read");
        assert!(errs.iter().any(|e| e.contains("not an object")), "{errs:?}");
        assert!(s.bytes_read() >= 64 << 20);
        let held = s.into_buffer().capacity();
        assert!(held < 4 << 20, "held {held} bytes");
    }
    // A closed nesting bomb is one element skipped; the records after it are read.
    let bomb = Bomb {
        head: b"{\"Records\":[[[[[[[[",
        fill: b']',
        total: 19 + 7,
        tail: b",{\"n\":\"after\"}]}",
        at: 0,
    };
    let mut s = Splitter::with_options(bomb, opts);
    let mut names_read = Vec::new();
    while let Some(r) = s.next_record() {
        if let Ok(b) = r {
            names_read.push(String::from_utf8_lossy(b).into_owned());
        }
    }
    assert_eq!(names_read.len(), 1, "{names_read:?}");
    assert!(names_read[0].contains("after"));
    // An unending string element: refused at the record limit, not gathered whole.
    let bomb = Bomb {
        head: b"{\"Records\":[\"",
        fill: b'x',
        total: 32 << 20,
        tail: b"",
        at: 0,
    };
    let mut s = Splitter::with_options(bomb, opts);
    let mut errs = Vec::new();
    while let Some(r) = s.next_record() {
        if let Err(e) = r {
            errs.push(e.to_string());
        }
    }
    assert!(errs.iter().any(|e| e.contains("larger than")), "{errs:?}");
    let held = s.into_buffer().capacity();
    assert!(held < 4 << 20, "held {held} bytes");
}
