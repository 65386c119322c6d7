//! Event ids as 16 bytes: every CloudTrail `eventID` and Azure `eventDataId` is a canonical
//! lowercase UUID, and holding millions of them as text would dominate the memory of a hunt's
//! alerts and of the baselines' observations.

use crate::hex;

/// The 16 bytes of a canonical lowercase UUID (`8-4-4-4-12` hex digits); `None` for anything
/// else, including upper case (so that formatting gives back the same text).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    if b.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = b.iter().filter(|c| **c != b'-');
    for byte in out.iter_mut() {
        let hi = hex::digit_value(*nibbles.next()?)?;
        let lo = hex::digit_value(*nibbles.next()?)?;
        *byte = (hi << 4) | lo;
    }
    Some(out)
}

/// The canonical lowercase text of a UUID's 16 bytes.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, group) in [&u[..4], &u[4..6], &u[6..8], &u[8..10], &u[10..]]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            s.push('-');
        }
        hex::encode_into(&mut s, group);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_round_trip_and_other_ids_are_refused() {
        let id = "3038ebd2-c98a-4c65-9b6e-e22506292313";
        let u = parse_uuid(id).expect("a uuid");
        assert_eq!(format_uuid(&u), id);
        assert_eq!(parse_uuid(&id.to_uppercase()), None);
        assert_eq!(parse_uuid("3038ebd2c98a4c659b6ee22506292313"), None);
        assert_eq!(parse_uuid("3038ebd2-c98a-4c65-9b6e-e2250629231g"), None);
        assert_eq!(parse_uuid("3038ebd2-c98a-4c65-9b6e-e2250629231A"), None);
        assert_eq!(
            format_uuid(&[0xff; 16]),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
    }
}
