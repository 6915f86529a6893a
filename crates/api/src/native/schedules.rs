//! `GET /api/v1/schedules`: every schedule of the caller's flows (CloudFlow schedules and
//! DataArts job cron schedules alike) with its next firing times.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use sluice_service::{Service, UpcomingSchedule};
use utoipa::ToSchema;

use super::auth::{Action, auth};
use super::problem::Problem;
use super::wire::time;

/// Firing times listed per schedule.
const NEXT_FIRINGS: usize = 3;

/// A schedule and when it fires next.
#[derive(Debug, Serialize, ToSchema)]
pub struct Schedule {
    pub flow: String,
    pub name: String,
    /// The dialect of its flow: `cloudflow` schedules, `dataarts` job schedules.
    pub dialect: String,
    /// Its cron expression (six fields, seconds first), `@every` interval or window.
    pub expression: String,
    pub enabled: bool,
    /// The next firing times (RFC 3339), earliest first; none when disabled or exhausted.
    pub next_firings: Vec<String>,
}

/// All the schedules of the caller's flows.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulePage {
    pub schedules: Vec<Schedule>,
}

/// The caller's schedules, by flow and name.
#[utoipa::path(get, operation_id = "ListSchedules", path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, body = SchedulePage, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
) -> Result<Json<SchedulePage>, Problem> {
    let caller = auth(&service, &headers, Action::ListSchedules)?;
    let schedules = service.upcoming_schedules(&caller, NEXT_FIRINGS).await?;
    Ok(Json(SchedulePage {
        schedules: schedules.iter().map(Schedule::of).collect(),
    }))
}

impl Schedule {
    fn of(upcoming: &UpcomingSchedule) -> Self {
        let schedule = &upcoming.schedule;
        Schedule {
            flow: schedule.flow_name.to_string(),
            name: schedule.name.clone(),
            dialect: upcoming.dialect.as_str().to_string(),
            expression: schedule.cron.clone(),
            enabled: schedule.enabled,
            next_firings: upcoming.firings.iter().copied().map(time).collect(),
        }
    }
}
