//! Schedules: create, describe, update, delete and list them. Their cron expressions are
//! parsed by [`Cadence`]; the runtime's scheduler fires them, starting each tick's execution
//! through this service ([`TickStarter`]), so a fired execution passes the checks of any start.

use std::sync::Arc;

use sluice_engine::Millis;
use sluice_ir::Dialect;
use sluice_runtime::durable::wall_clock_ms;
use sluice_runtime::scheduler::{Cadence, StartFailure, TickStarter, start_scheduler};
use sluice_store::{Page, ScheduleRecord, StoreError};

use crate::executions::{StartRequest, parse_json};
use crate::flows::check_name;
use crate::views::{ScheduleView, views};
use crate::{Caller, Result, Service, ServiceError};

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

/// A schedule and when it fires next.
#[derive(Debug, Clone)]
pub struct UpcomingSchedule {
    pub schedule: ScheduleRecord,
    /// The dialect of its flow.
    pub dialect: Dialect,
    /// Its next firing times, earliest first; empty when it is disabled or exhausted.
    pub firings: Vec<Millis>,
}

/// The scheduler's next firing of `schedule`, then the ones its expression gives after it.
fn next_firings(schedule: &ScheduleRecord, count: usize) -> Vec<Millis> {
    let Some(first) = schedule.next_fire_at.filter(|_| schedule.enabled) else {
        return Vec::new();
    };
    let Ok(cadence) = Cadence::parse(&schedule.cron) else {
        return vec![first];
    };
    std::iter::successors(Some(first), |at| cadence.next_after(*at))
        .take(count)
        .collect()
}

impl Service {
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        spec: ScheduleSpec,
    ) -> Result<ScheduleView> {
        let flow = self.flow(caller, &spec.flow).await?;
        check_name(&spec.name, "schedule name")?;
        let cadence = Cadence::parse(&spec.cron).map_err(ServiceError::InvalidArgument)?;
        let payload = self.checked_payload(flow.dialect, spec.payload)?;
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
            other => Ok(other?.into()),
        }
    }

    pub async fn describe_schedule(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
    ) -> Result<ScheduleView> {
        Ok(self.schedule(caller, flow, name).await?.into())
    }

    async fn schedule(&self, caller: &Caller, flow: &str, name: &str) -> Result<ScheduleRecord> {
        let flow = self.flow(caller, flow).await?;
        self.store
            .get_schedule(flow.id, name)
            .await?
            .ok_or_else(|| no_schedule(name))
    }

    /// Changes the given fields; a new expression or enabling recomputes the next fire time.
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        spec: ScheduleSpec,
    ) -> Result<ScheduleView> {
        let mut record = self.schedule(caller, &spec.flow, &spec.name).await?;
        if !spec.cron.is_empty() {
            Cadence::parse(&spec.cron).map_err(ServiceError::InvalidArgument)?;
            record.cron = spec.cron;
        }
        if spec.payload.is_some() {
            let dialect = self.flow(caller, &spec.flow).await?.dialect;
            record.payload = self.checked_payload(dialect, spec.payload)?;
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
        match self.store.update_schedule(record).await {
            Err(StoreError::NotFound(_)) => Err(no_schedule(&spec.name)),
            other => Ok(other?.into()),
        }
    }

    pub async fn delete_schedule(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        let record = self.schedule(caller, flow, name).await?;
        match self.store.delete_schedule(record.flow_id, name).await {
            Err(StoreError::NotFound(_)) => Err(no_schedule(name)),
            other => Ok(other?),
        }
    }

    /// Updates the schedule, or creates it if the flow has none of that name (DataArts'
    /// "start scheduling"): of concurrent calls each succeeds and one schedule results.
    pub async fn put_schedule(&self, caller: &Caller, spec: ScheduleSpec) -> Result<ScheduleView> {
        loop {
            match self.update_schedule(caller, spec.clone()).await {
                Err(ServiceError::NotFound {
                    kind: "schedule", ..
                }) => {}
                other => return other,
            }
            match self.create_schedule(caller, spec.clone()).await {
                // Created by a concurrent call meanwhile: update that one.
                Err(ServiceError::Exists {
                    kind: "schedule", ..
                }) => continue,
                other => return other,
            }
        }
    }

    /// Deletes the schedule if there is one (DataArts' "stop scheduling"); of concurrent calls
    /// each succeeds.
    pub async fn remove_schedule(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        match self.delete_schedule(caller, flow, name).await {
            Err(ServiceError::NotFound {
                kind: "schedule", ..
            }) => Ok(()),
            other => other,
        }
    }

    pub async fn list_schedules(
        &self,
        caller: &Caller,
        flow: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ScheduleView>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(after.map(str::to_string), limit);
        Ok(views(self.store.list_schedules(flow.id, page).await?))
    }

    /// Every schedule of the caller's flows (CloudFlow schedules, DataArts job cron schedules),
    /// by flow, each with its next `count` firing times.
    pub async fn upcoming_schedules(
        &self,
        caller: &Caller,
        count: usize,
    ) -> Result<Vec<UpcomingSchedule>> {
        const PAGE: usize = 1000;
        let mut all = Vec::new();
        let mut after_flow: Option<String> = None;
        loop {
            let flows = self.list_flows(caller, after_flow.as_deref(), PAGE).await?;
            after_flow = flows.last().map(|f| f.name.to_string());
            for flow in &flows {
                let mut after: Option<String> = None;
                loop {
                    let page = self
                        .store
                        .list_schedules(flow.id, Page::after(after.take(), PAGE))
                        .await?;
                    after = page.last().map(|s| s.name.clone());
                    let last = page.len() < PAGE;
                    all.extend(page.into_iter().map(|schedule| UpcomingSchedule {
                        firings: next_firings(&schedule, count),
                        dialect: flow.dialect,
                        schedule,
                    }));
                    if last {
                        break;
                    }
                }
            }
            if flows.len() < PAGE {
                return Ok(all);
            }
        }
    }

    fn checked_payload(&self, dialect: Dialect, payload: Option<String>) -> Result<String> {
        let payload = payload
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "{}".to_string());
        // It becomes each fired execution's input: the same size limit applies.
        let limit = self.limits.payload_bytes(dialect);
        let value = parse_json("the schedule payload", &payload, limit)?;
        if !value.is_object() {
            return Err(ServiceError::InvalidArgument(
                "the schedule payload must be a JSON object".into(),
            ));
        }
        Ok(payload)
    }

    /// Fires due schedules until the service is dropped.
    pub fn start_scheduler(self: &Arc<Self>) {
        start_scheduler(self.store.clone(), Arc::downgrade(self));
    }
}

impl TickStarter for Service {
    type Error = ServiceError;

    async fn start_tick(
        &self,
        schedule: &ScheduleRecord,
        execution: String,
    ) -> std::result::Result<(), StartFailure<ServiceError>> {
        let caller = Caller::internal(schedule.tenant.clone());
        let request = StartRequest {
            flow: schedule.flow_name.to_string(),
            name: Some(execution),
            input: Some(schedule.payload.clone()),
            qualifier: None,
            context_ids: None,
            test_case: None,
        };
        match self.start_execution(&caller, request).await {
            Ok(_) | Err(ServiceError::ExecutionExists { .. }) => Ok(()),
            Err(e @ ServiceError::Internal(_)) => Err(StartFailure::Transient(e)),
            Err(e) => Err(StartFailure::Refused(e)),
        }
    }
}

fn no_schedule(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "schedule",
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use sluice_store::{FlowId, FlowName, TenantId};

    use super::*;

    fn schedule(cron: &str, enabled: bool, next_fire_at: Option<Millis>) -> ScheduleRecord {
        ScheduleRecord {
            id: 1,
            tenant: TenantId::new("t"),
            flow_id: FlowId(1),
            flow_name: FlowName::new("f"),
            name: "s".into(),
            cron: cron.into(),
            payload: "{}".into(),
            description: String::new(),
            enabled,
            next_fire_at,
            created_at: 0,
            modified_at: 0,
        }
    }

    #[test]
    fn the_next_firings_start_at_the_scheduled_one_and_follow_the_expression() {
        let first = 1_800_000_000_000;
        let hourly = schedule("0 0 * * * *", true, Some(first));
        let firings = next_firings(&hourly, 3);
        assert_eq!(firings.len(), 3);
        assert_eq!(firings[0], first);
        assert!(firings.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(firings[2] - firings[1], 3_600_000);
        assert!(next_firings(&schedule("0 0 * * * *", false, Some(first)), 3).is_empty());
        assert!(next_firings(&schedule("@every 1m", true, None), 3).is_empty());
    }
}
