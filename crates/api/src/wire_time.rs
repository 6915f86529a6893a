//! The times the wire formats write, one function per wire format, all in UTC; a dialect
//! imports its own as `time`.

use sluice_service::views::Millis;

/// CloudFlow and FunctionGraph v1.0: `2019-01-01T01:01:01.001Z`.
pub fn millis_z(ms: Millis) -> String {
    utc(ms, "%Y-%m-%dT%H:%M:%S%.3fZ")
}

/// FunctionGraph v2: `2019-01-01T01:01:01Z`.
pub fn seconds_z(ms: Millis) -> String {
    utc(ms, "%Y-%m-%dT%H:%M:%SZ")
}

/// GES: `2019-01-01T01:01:01`, no zone suffix.
pub fn seconds(ms: Millis) -> String {
    utc(ms, "%Y-%m-%dT%H:%M:%S")
}

/// `ms` (epoch milliseconds) in `format`; empty if it is no time.
fn utc(ms: Millis, format: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime(format).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wire_format_writes_its_own_shape() {
        let ms = 1_546_304_461_001;
        assert_eq!(millis_z(ms), "2019-01-01T01:01:01.001Z");
        assert_eq!(seconds_z(ms), "2019-01-01T01:01:01Z");
        assert_eq!(seconds(ms), "2019-01-01T01:01:01");
        assert_eq!(seconds(i64::MAX), "");
    }
}
