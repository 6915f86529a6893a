//! When a schedule fires: the cron expression of a schedule, parsed.
//!
//! CloudFlow's syntax (spec §7.3): six fields `Seconds Minutes Hours Day-of-month Month
//! Day-of-week` in UTC, an optional `CRON_TZ=<zone> ` prefix (an IANA name, or a POSIX TZ
//! string such as `GMT-8` for a fixed offset), or `@every <n>m|h`. The minimum interval is one
//! minute. sluice adds optional `FROM=<RFC 3339> ` and `UNTIL=<RFC 3339> `
//! prefixes bounding when the schedule fires (DataArts' `startTime` / `endTime`).

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sluice_engine::Millis;

use crate::durable::wall_clock_ms;

const MIN_INTERVAL_MS: Millis = 60_000;

/// When a schedule fires: a rule, within an optional window.
#[derive(Debug, Clone)]
pub struct Cadence {
    rule: Rule,
    /// No tick before this instant, none after that one.
    from: Option<Millis>,
    until: Option<Millis>,
}

#[derive(Debug, Clone)]
enum Rule {
    Cron { cron: Box<Cron>, zone: TimeZone },
    Every { interval_ms: Millis },
}

impl Cadence {
    pub fn parse(expression: &str) -> Result<Self, String> {
        let mut rest = expression.trim();
        let from = window_bound(&mut rest, "FROM=")?;
        let until = window_bound(&mut rest, "UNTIL=")?;
        let cadence = Cadence {
            rule: Rule::parse(rest)?,
            from,
            until,
        };
        cadence.rule.check_min_interval()?;
        Ok(cadence)
    }

    /// The first fire time strictly after `after`, within the window.
    pub fn next_after(&self, after: Millis) -> Option<Millis> {
        let after = match self.from {
            Some(from) => after.max(from - 1),
            None => after,
        };
        self.rule
            .next_after(after)
            .filter(|next| self.until.is_none_or(|until| *next <= until))
    }
}

/// Takes `PREFIX<RFC 3339> ` off the front of `rest`, if it is there.
fn window_bound(rest: &mut &str, prefix: &str) -> Result<Option<Millis>, String> {
    let Some(tail) = rest.strip_prefix(prefix) else {
        return Ok(None);
    };
    let (instant, remainder) = tail
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("{prefix} needs an instant and a pattern"))?;
    let at: Timestamp = instant
        .parse()
        .map_err(|e| format!("{prefix}{instant:?} is not an RFC 3339 instant: {e}"))?;
    *rest = remainder.trim_start();
    Ok(Some(at.as_millisecond()))
}

impl Rule {
    fn parse(expression: &str) -> Result<Self, String> {
        let expression = expression.trim();
        if let Some(every) = expression.strip_prefix("@every") {
            return parse_every(every.trim());
        }
        let (zone, pattern) = match expression.strip_prefix("CRON_TZ=") {
            Some(rest) => {
                let (name, pattern) = rest
                    .split_once(char::is_whitespace)
                    .ok_or("CRON_TZ= needs a zone and a pattern")?;
                let zone = TimeZone::get(name)
                    .or_else(|_| TimeZone::posix(name))
                    .map_err(|e| format!("unknown time zone {name:?}: {e}"))?;
                (zone, pattern.trim())
            }
            None => (TimeZone::UTC, expression),
        };
        if pattern.split_whitespace().count() != 6 {
            return Err(format!(
                "{pattern:?} has {} fields; a schedule needs six: seconds minutes hours day-of-month month day-of-week",
                pattern.split_whitespace().count()
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .build()
            .parse(pattern)
            .map_err(|e| format!("{pattern:?} is not a valid cron expression: {e}"))?;
        Ok(Rule::Cron {
            cron: Box::new(cron),
            zone,
        })
    }

    fn next_after(&self, after: Millis) -> Option<Millis> {
        match self {
            Rule::Every { interval_ms } => Some(after + interval_ms),
            Rule::Cron { cron, zone } => {
                let start = Timestamp::from_millisecond(after)
                    .ok()?
                    .to_zoned(zone.clone());
                let next = cron.find_next_occurrence(&start, false).ok()?;
                Some(next.timestamp().as_millisecond())
            }
        }
    }

    fn check_min_interval(&self) -> Result<(), String> {
        let first = self
            .next_after(wall_clock_ms())
            .ok_or("the expression never fires")?;
        let second = self
            .next_after(first)
            .ok_or("the expression fires only once")?;
        if second - first < MIN_INTERVAL_MS {
            return Err("a schedule may fire at most once a minute".into());
        }
        Ok(())
    }
}

fn parse_every(text: &str) -> Result<Rule, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: Millis = number
        .parse()
        .map_err(|_| format!("@every {text:?}: expected a number and a unit, e.g. @every 5m"))?;
    let unit_ms = match unit {
        "m" => 60_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "@every {text:?}: the unit must be m (minutes) or h (hours)"
            ));
        }
    };
    let interval_ms = n
        .checked_mul(unit_ms)
        .filter(|ms| *ms >= MIN_INTERVAL_MS)
        .ok_or("@every: at least 1m")?;
    Ok(Rule::Every { interval_ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    #[test]
    fn six_field_cron_in_utc() {
        let c = Cadence::parse("0 */5 * * * *").expect("valid");
        assert_eq!(c.next_after(T0), Some(T0 + 5 * 60_000));
    }

    #[test]
    fn a_window_bounds_the_ticks() {
        let c = Cadence::parse("FROM=2026-01-01T01:00:00Z UNTIL=2026-01-01T03:00:00Z 0 0 * * * *")
            .expect("valid");
        assert_eq!(
            c.next_after(T0),
            Some(T0 + 3_600_000),
            "nothing before FROM"
        );
        assert_eq!(c.next_after(T0 + 3_600_000), Some(T0 + 7_200_000));
        assert_eq!(
            c.next_after(T0 + 7_200_000),
            Some(T0 + 10_800_000),
            "UNTIL is inclusive"
        );
        assert_eq!(c.next_after(T0 + 10_800_000), None, "nothing after UNTIL");
        assert!(Cadence::parse("FROM=yesterday 0 0 * * * *").is_err());
    }

    #[test]
    fn quartz_question_marks_and_posix_zones() {
        let c = Cadence::parse("CRON_TZ=Etc/GMT-8 0 0 2 * * ?").expect("valid");
        // 02:00 at UTC+8 is 18:00 UTC the day before.
        assert_eq!(c.next_after(T0), Some(T0 + 18 * 3_600_000));
        // The same zone as a POSIX TZ string, and a half-hour one (02:00 at UTC+5:30).
        let c = Cadence::parse("CRON_TZ=GMT-08:00 0 0 2 * * ?").expect("valid");
        assert_eq!(c.next_after(T0), Some(T0 + 18 * 3_600_000));
        let c = Cadence::parse("CRON_TZ=GMT-5:30 0 0 2 * * ?").expect("valid");
        assert_eq!(c.next_after(T0), Some(T0 + 20 * 3_600_000 + 1_800_000));
        assert!(Cadence::parse("CRON_TZ=Mars/Olympus 0 0 2 * * ?").is_err());
    }

    #[test]
    fn cron_in_a_time_zone() {
        // Midnight in Shanghai is 16:00 UTC the day before.
        let c = Cadence::parse("CRON_TZ=Asia/Shanghai 0 0 0 * * *").expect("valid");
        assert_eq!(c.next_after(T0), Some(T0 + 16 * 3_600_000));
    }

    #[test]
    fn every_minutes_and_hours() {
        let c = Cadence::parse("@every 5m").expect("valid");
        assert_eq!(c.next_after(T0), Some(T0 + 300_000));
        assert!(Cadence::parse("@every 2h").is_ok());
    }

    #[test]
    fn bad_expressions_are_refused_with_reasons() {
        assert!(Cadence::parse("* * * * *").unwrap_err().contains("six"));
        assert!(
            Cadence::parse("*/10 * * * * *")
                .unwrap_err()
                .contains("once a minute")
        );
        assert!(Cadence::parse("@every 30s").unwrap_err().contains("unit"));
        assert!(
            Cadence::parse("CRON_TZ=Mars/Base 0 0 0 * * *")
                .unwrap_err()
                .contains("time zone")
        );
        assert!(Cadence::parse("0 0 0 32 * *").is_err());
    }
}
