//! A job's `schedule.cron` as a sluice cadence: its times and time zones in the forms DataArts
//! documents, checked when the job is written.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;
use sluice_service::Cadence;

use super::{JobError, JobInfoFields, JobResult, ScheduleFields};

/// The cadence of a stored job's `schedule.cron`, if it has one.
pub(super) fn cadence_of(document: &Value) -> JobResult<Option<String>> {
    let fields = JobInfoFields::deserialize(document)
        .map_err(|e| JobError::InvalidSchedule(e.to_string()))?;
    match &fields.schedule {
        Some(schedule) => cadence(schedule),
        None => Ok(None),
    }
}

/// The sluice cadence of `schedule.cron` (`FROM=`/`UNTIL=` from `startTime` / `endTime`,
/// `CRON_TZ=` from `expressionTimeZone`), checked as the scheduler will read it. A `CRON`
/// schedule needs an expression; any other type without a `cron` has no cadence.
pub(super) fn cadence(schedule: &ScheduleFields) -> JobResult<Option<String>> {
    let expression = schedule.cron.as_ref().and_then(|c| c.expression.as_deref());
    let (Some(cron), Some(expression)) = (&schedule.cron, expression) else {
        return match schedule.kind.as_deref() {
            Some("CRON") => Err(JobError::InvalidSchedule(
                "schedule.cron.expression is required".into(),
            )),
            _ => Ok(None),
        };
    };
    let mut cadence = String::new();
    for (field, text, prefix) in [
        ("startTime", &cron.start_time, "FROM="),
        ("endTime", &cron.end_time, "UNTIL="),
    ] {
        if let Some(text) = text {
            let at = dataarts_time(field, text)?;
            cadence.push_str(&format!("{prefix}{at} "));
        }
    }
    if let Some(zone) = &cron.expression_time_zone {
        cadence.push_str(&format!("CRON_TZ={} ", time_zone(zone)?));
    }
    cadence.push_str(expression);
    Cadence::parse(&cadence).map_err(JobError::InvalidSchedule)?;
    Ok(Some(cadence))
}

/// `yyyy-MM-dd'T'HH:mm:ssZ`, the zone `+08`, `+0800`, `+08:00` or `Z`.
fn dataarts_time(field: &str, text: &str) -> JobResult<Timestamp> {
    text.parse().map_err(|_| {
        JobError::InvalidSchedule(format!(
            "{field} {text:?} is not a time like 2018-10-22T23:59:59+08"
        ))
    })
}

/// `expressionTimeZone` as a zone the scheduler reads: an IANA name as it is, and the
/// `GMT+8` / `GMT+08:00` / `UTC-3:30` forms as the POSIX zone of that offset (whose sign
/// POSIX writes the other way round: `GMT+8` is `GMT-8`).
fn time_zone(zone: &str) -> JobResult<String> {
    let invalid = || {
        JobError::InvalidSchedule(format!(
            "expressionTimeZone {zone:?} is neither a zone name like Asia/Shanghai nor an offset like GMT+08:00"
        ))
    };
    if TimeZone::get(zone).is_ok() {
        return Ok(zone.to_string());
    }
    let offset = zone
        .strip_prefix("GMT")
        .or_else(|| zone.strip_prefix("UTC"))
        .ok_or_else(invalid)?;
    let posix = if let Some(east) = offset.strip_prefix('+') {
        format!("GMT-{east}")
    } else if let Some(west) = offset.strip_prefix('-') {
        format!("GMT+{west}")
    } else {
        return Err(invalid());
    };
    match TimeZone::posix(&posix) {
        Ok(_) => Ok(posix),
        Err(_) => Err(invalid()),
    }
}
