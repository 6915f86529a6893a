//! The times the wire formats write, one format string per wire format, all in UTC.

use sluice_service::views::Millis;

/// CloudFlow and FunctionGraph v1.0: `2019-01-01T01:01:01.001Z`.
pub const MILLIS_Z: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";
/// FunctionGraph v2: `2019-01-01T01:01:01Z`.
pub const SECONDS_Z: &str = "%Y-%m-%dT%H:%M:%SZ";
/// GES: `2019-01-01T01:01:01`, no zone suffix.
pub const SECONDS: &str = "%Y-%m-%dT%H:%M:%S";

/// `ms` (epoch milliseconds) in `format`; empty if it is no time.
pub fn utc(ms: Millis, format: &str) -> String {
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
        assert_eq!(utc(ms, MILLIS_Z), "2019-01-01T01:01:01.001Z");
        assert_eq!(utc(ms, SECONDS_Z), "2019-01-01T01:01:01Z");
        assert_eq!(utc(ms, SECONDS), "2019-01-01T01:01:01");
        assert_eq!(utc(i64::MAX, SECONDS), "");
    }
}
