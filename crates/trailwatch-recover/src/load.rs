//! Reading events once, raw records kept, in time order.

use trailwatch_decode::{read_input, DecodeError, Input, ReadScratch};
use trailwatch_model::Event;

/// Every event of `inputs` in `[since_ms, until_ms]`, oldest first, each event id once.
pub fn load(
    inputs: &[Input],
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    on_error: &mut dyn FnMut(DecodeError),
) -> Vec<Event> {
    let mut scratch = ReadScratch::default();
    let mut events = Vec::new();
    for input in inputs {
        let mut on_record = |rec: &trailwatch_decode::Record<'_>| {
            let t = rec.time_ms();
            let keep = match t {
                Some(t) => since_ms.is_none_or(|s| t >= s) && until_ms.is_none_or(|u| t <= u),
                None => since_ms.is_none() && until_ms.is_none(),
            };
            if keep {
                events.push(rec.normalize());
            }
        };
        read_input(input, &mut scratch, &mut on_record, on_error);
    }
    events.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
    events.dedup_by(|b, a| a.event_id == b.event_id);
    events
}
