//! Schedules: cron expressions that start executions, and the loop that fires them.
//!
//! CloudFlow's syntax (spec §7.3): six fields `Seconds Minutes Hours Day-of-month Month
//! Day-of-week` in UTC, an optional `CRON_TZ=<zone> ` prefix, or `@every <n>m|h`. The minimum
//! interval is one minute. sluice adds optional `FROM=<RFC 3339> ` and `UNTIL=<RFC 3339> `
//! prefixes bounding when the schedule fires (DataArts' `startTime` / `endTime`). The
//! execution of a tick is named after the tick, so starting it is idempotent, and the tick is
//! then claimed with a compare-and-set on the schedule's next fire time: it fires once however
//! many nodes run, and a node dying halfway leaves it to the others.

use std::sync::Arc;
use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sluice_engine::Millis;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::{Page, ScheduleRecord, ScheduleTick, StoreError};

use crate::executions::StartRequest;
use crate::flows::check_name;
use crate::{Caller, Result, Service, ServiceError};

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
    pub fn parse(expression: &str) -> std::result::Result<Self, String> {
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
fn window_bound(rest: &mut &str, prefix: &str) -> std::result::Result<Option<Millis>, String> {
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
    fn parse(expression: &str) -> std::result::Result<Self, String> {
        let expression = expression.trim();
        if let Some(every) = expression.strip_prefix("@every") {
            return parse_every(every.trim());
        }
        let (zone, pattern) = match expression.strip_prefix("CRON_TZ=") {
            Some(rest) => {
                let (name, pattern) = rest
                    .split_once(char::is_whitespace)
                    .ok_or("CRON_TZ= needs a zone and a pattern")?;
                let zone =
                    TimeZone::get(name).map_err(|e| format!("unknown time zone {name:?}: {e}"))?;
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

    fn check_min_interval(&self) -> std::result::Result<(), String> {
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

fn parse_every(text: &str) -> std::result::Result<Rule, String> {
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

/// A schedule to create or replace.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub flow: String,
    pub name: String,
    pub cron: String,
    pub payload: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

impl Service {
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        spec: ScheduleSpec,
    ) -> Result<ScheduleRecord> {
        let flow = self.flow(caller, &spec.flow).await?;
        check_name(&spec.name, "schedule name")?;
        let cadence = Cadence::parse(&spec.cron).map_err(ServiceError::InvalidArgument)?;
        let payload = self.checked_payload(spec.payload)?;
        let now = wall_clock_ms();
        let enabled = spec.enabled.unwrap_or(true);
        let record = ScheduleRecord {
            id: 0,
            tenant: caller.tenant.clone(),
            flow_id: flow.id,
            flow_name: flow.name.clone(),
            name: spec.name.clone(),
            cron: spec.cron,
            payload,
            description: spec.description.unwrap_or_default(),
            enabled,
            next_fire_at: enabled.then(|| cadence.next_after(now)).flatten(),
            created_at: now,
            modified_at: now,
        };
        match self.store.create_schedule(record).await {
            Err(StoreError::AlreadyExists(_)) => Err(ServiceError::Exists {
                kind: "schedule",
                name: spec.name,
            }),
            other => Ok(other?),
        }
    }

    pub async fn describe_schedule(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
    ) -> Result<ScheduleRecord> {
        let flow = self.flow(caller, flow).await?;
        self.store
            .get_schedule(flow.id, name)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                kind: "schedule",
                name: name.to_string(),
            })
    }

    /// Changes the given fields; a new expression or enabling recomputes the next fire time.
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        spec: ScheduleSpec,
    ) -> Result<ScheduleRecord> {
        let mut record = self
            .describe_schedule(caller, &spec.flow, &spec.name)
            .await?;
        if !spec.cron.is_empty() {
            Cadence::parse(&spec.cron).map_err(ServiceError::InvalidArgument)?;
            record.cron = spec.cron;
        }
        if spec.payload.is_some() {
            record.payload = self.checked_payload(spec.payload)?;
        }
        if let Some(description) = spec.description {
            record.description = description;
        }
        if let Some(enabled) = spec.enabled {
            record.enabled = enabled;
        }
        let now = wall_clock_ms();
        let cadence = Cadence::parse(&record.cron).map_err(ServiceError::InvalidArgument)?;
        record.next_fire_at = record.enabled.then(|| cadence.next_after(now)).flatten();
        record.modified_at = now;
        Ok(self.store.update_schedule(record).await?)
    }

    pub async fn delete_schedule(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        let record = self.describe_schedule(caller, flow, name).await?;
        Ok(self.store.delete_schedule(record.flow_id, name).await?)
    }

    pub async fn list_schedules(
        &self,
        caller: &Caller,
        flow: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ScheduleRecord>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(after.map(str::to_string), limit);
        Ok(self.store.list_schedules(flow.id, page).await?)
    }

    fn checked_payload(&self, payload: Option<String>) -> Result<String> {
        let payload = payload
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "{}".to_string());
        // It becomes each fired execution's input: the same size limit applies.
        let value = self.parse_json("the schedule payload", &payload)?;
        if !value.is_object() {
            return Err(ServiceError::InvalidArgument(
                "the schedule payload must be a JSON object".into(),
            ));
        }
        Ok(payload)
    }

    /// Fires due schedules until the service is dropped.
    pub fn start_scheduler(self: &Arc<Self>) {
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(service) = service.upgrade() {
                service.fire_due_schedules().await;
                drop(service);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    async fn fire_due_schedules(&self) {
        let now = wall_clock_ms();
        let due = match self.store.due_schedules(now).await {
            Ok(due) => due,
            Err(e) => return tracing::error!(error = %e, "loading due schedules failed"),
        };
        for schedule in due {
            if let Err(e) = self.fire(&schedule).await {
                tracing::warn!(schedule = %schedule.name, flow = %schedule.flow_name, error = %e, "a schedule could not start its execution");
            }
        }
    }

    /// Starts the tick's execution, then claims the tick. The execution is named after the
    /// tick, so every node may try the start and one execution results; a node that dies
    /// between the start and the claim leaves the tick to the next node, whose start finds the
    /// execution. A tick is fired exactly once.
    async fn fire(&self, schedule: &ScheduleRecord) -> Result<()> {
        let Some(fired) = schedule.next_fire_at else {
            return Ok(());
        };
        let caller = Caller::internal(schedule.tenant.clone());
        let request = StartRequest {
            flow: schedule.flow_name.to_string(),
            name: Some(format!("{}-{}", schedule.name, fired)),
            input: Some(schedule.payload.clone()),
        };
        let started = self.start_execution(&caller, request).await.map(drop);
        if matches!(started, Err(ServiceError::Internal(_))) {
            // The database failed: try the tick again on the next round.
            return started;
        }
        let next = Cadence::parse(&schedule.cron)
            .ok()
            .and_then(|c| c.next_after(fired.max(wall_clock_ms())));
        let tick = ScheduleTick {
            schedule: schedule.id,
            fired,
            next,
        };
        let claimed = self.store.claim_schedule_tick(tick).await?;
        match started {
            // Refused for good (flow closed, bad payload) or already started: the tick is over.
            Err(e) if claimed && !matches!(e, ServiceError::ExecutionExists { .. }) => Err(e),
            _ => Ok(()),
        }
    }
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
