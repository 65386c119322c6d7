//! Property tests of the splitter: whatever the bytes, it ends without panicking, in bounded
//! memory, and everything it yields is a span of the input from a `{` to its closing bracket
//! (the splitter is a scanner: the parser after it rejects a `{]`); real objects come back whole.

use proptest::prelude::*;
use trailwatch_json::{Splitter, SplitterOptions};

/// Bytes with many of the characters the splitter's states turn on.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b"{}[]\",:\\ \n\r\tae0-".to_vec()),
    ];
    prop::collection::vec(byte, 0..400)
}

fn split_all(input: &[u8], max: usize) -> (Vec<Vec<u8>>, usize) {
    let opts = SplitterOptions {
        max_record_bytes: max,
        chunk_bytes: 7,
    };
    let mut s = Splitter::with_options(input, opts);
    let mut records = Vec::new();
    let mut errors = 0;
    let mut steps = 0;
    while let Some(r) = s.next_record() {
        steps += 1;
        assert!(steps <= input.len() + 2, "the splitter does not advance");
        match r {
            Ok(rec) => records.push(rec.to_vec()),
            Err(_) => errors += 1,
        }
    }
    (records, errors)
}

/// Found by `any_bytes_end_without_panic`: an object that ends in the last bytes read was
/// yielded although it passed the limit.
#[test]
fn a_record_completed_by_the_last_read_still_respects_the_limit() {
    let input = b"[{\"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\"[[}\0\"\0\0\"\0\0\0[\0\0\0\0\0}\0\0\0\0\0}\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0{\0\0}}";
    let (records, errors) = split_all(input, 64);
    assert!(records.iter().all(|r| r.len() <= 64), "{records:?}");
    assert!(errors > 0);
    let whole = b"{\"eventID\":\"1\",\"padding\":\"0123456789012345678901234567890123456789\"}";
    let (records, errors) = split_all(whole, 64);
    assert!(
        records.is_empty() && errors == 1,
        "over the limit by a few bytes"
    );
    let (records, errors) = split_all(whole, whole.len());
    assert_eq!((records.len(), errors), (1, 0), "exactly at the limit");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_end_without_panic(input in jsonish()) {
        let (records, _) = split_all(&input, 64);
        for r in records {
            prop_assert!(r.len() <= 64, "a record over the limit was yielded");
            prop_assert!(r.first() == Some(&b'{') && matches!(r.last(), Some(b'}' | b']')), "{:?}", String::from_utf8_lossy(&r));
            prop_assert!(input.windows(r.len()).any(|w| w == r.as_slice()), "not a span of the input");
        }
    }

    #[test]
    fn objects_come_back_in_every_wrapping(
        names in prop::collection::vec("[ -~\u{80}-\u{10ff}]{0,12}", 1..12),
        wrap in 0..3usize,
    ) {
        let objects: Vec<serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| serde_json::json!({"eventID": i.to_string(), "name": n, "nested": {"a": [n]}}))
            .collect();
        let texts: Vec<String> = objects.iter().map(|o| o.to_string()).collect();
        let input = match wrap {
            0 => format!("{{\"Records\": [{}]}}", texts.join(",\n ")),
            1 => format!("[{}]", texts.join(",")),
            _ => texts.join("\n"),
        };
        let (records, errors) = split_all(input.as_bytes(), 1 << 20);
        prop_assert_eq!(errors, 0);
        let back: Vec<serde_json::Value> = records
            .iter()
            .map(|r| serde_json::from_slice(r).expect("each record is JSON"))
            .collect();
        prop_assert_eq!(back, objects);
    }
}
