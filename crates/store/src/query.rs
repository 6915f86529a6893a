//! Queries whose shape depends on their filter, built once for both backends: only the
//! conditions a filter sets go into the SQL, so each backend plans each shape on its own.

use crate::counts::{self, MINUTE_MS};
use crate::decode::{
    self, ALIAS_COLUMNS, Columns, EXECUTION_COLUMNS, FLOW_COLUMNS, FLOW_FROM, JOB_COLUMNS,
    SCHEDULE_COLUMNS, SUMMARY_COLUMNS,
};
use crate::encode::{prefix_successor, sql_limit, to_json};
use crate::{
    AliasRecord, CountsQuery, ExecutionCursor, ExecutionOrder, ExecutionQuery, FlowId, FlowName,
    FlowQuery, FlowSelection, JobKind, JobRecord, NameMatch, Page, Result, ScheduleRecord,
};

/// Whether the flow (the first placeholder) has an unfinished job that moves it; the kinds
/// are constants, written into the text.
pub(crate) fn busy_flow(backend: Backend) -> String {
    let kinds: Vec<String> = JobKind::moving_flow()
        .into_iter()
        .map(|kind| format!("'{kind}'"))
        .collect();
    let flow = match backend {
        Backend::Sqlite => "?1",
        Backend::Postgres => "$1",
    };
    format!(
        "SELECT 1 FROM jobs WHERE flow_id = {flow} AND status IN ('Pending', 'Running') \
         AND kind IN ({}) LIMIT 1",
        kinds.join(", ")
    )
}

/// Records a job, with the node that owns it on a store of several nodes.
pub(crate) fn insert_job(job: &JobRecord, owner: Option<&str>, backend: Backend) -> Result<Sql> {
    // In the order of `JOB_COLUMNS`.
    let mut values = vec![
        Arg::Text(job.id.0.clone()),
        Arg::Text(job.tenant.0.clone()),
        Arg::Text(job.kind.as_str().into()),
        Arg::Int(job.flow_id.0),
        Arg::Text(job.flow_name.0.clone()),
        Arg::Text(to_json(&job.filter, "a job filter")?),
        Arg::Text(job.status.as_str().into()),
        Arg::Int(job.total),
        Arg::Int(job.done),
        Arg::MaybeText(job.failure.clone()),
        Arg::Int(job.created_at),
        Arg::MaybeInt(job.finished_at),
        Arg::Int(job.already_completed),
        Arg::Int(job.failed),
    ];
    let mut columns = JOB_COLUMNS.to_string();
    if let Some(owner) = owner {
        columns.push_str(", owner");
        values.push(Arg::Text(owner.into()));
    }
    let mut sql = Sql::new(format!("INSERT INTO jobs ({columns}) VALUES ("), backend);
    for (i, value) in values.into_iter().enumerate() {
        sql.bind(if i == 0 { "" } else { ", " }, value);
    }
    sql.push(")");
    Ok(sql)
}

/// Replaces a job's status, counts, failure and finish time.
pub(crate) fn update_job(job: &JobRecord, backend: Backend) -> Sql {
    let mut sql = Sql::new("UPDATE jobs SET", backend);
    sql.text(" status = ", job.status.as_str())
        .int(", total = ", job.total)
        .int(", done = ", job.done)
        .int(", already_completed = ", job.already_completed)
        .int(", failed = ", job.failed)
        .bind(", failure = ", Arg::MaybeText(job.failure.clone()))
        .bind(", finished_at = ", Arg::MaybeInt(job.finished_at))
        .text(" WHERE id = ", &job.id.0);
    sql
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    /// NULL when absent.
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
}

/// Where the SQL of the two backends differs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// SQL text and the values of its placeholders, in order.
#[derive(Debug)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    backend: Backend,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>, backend: Backend) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
            backend,
        }
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends `sql`, then a placeholder bound to `arg`.
    pub(crate) fn bind(&mut self, sql: &str, arg: Arg) -> &mut Self {
        self.text.push_str(sql);
        self.args.push(arg);
        match self.backend {
            Backend::Postgres => self.text.push_str(&format!("${}", self.args.len())),
            Backend::Sqlite => self.text.push('?'),
        }
        self
    }

    pub(crate) fn text(&mut self, sql: &str, value: &str) -> &mut Self {
        self.bind(sql, Arg::Text(value.to_string()))
    }

    pub(crate) fn int(&mut self, sql: &str, value: i64) -> &mut Self {
        self.bind(sql, Arg::Int(value))
    }

    /// ` AND column` matches `name`.
    fn name_matches(&mut self, column: &str, name: &NameMatch) -> &mut Self {
        match name {
            NameMatch::Exact(exact) => self.text(&format!(" AND {column} = "), exact),
            NameMatch::Contains(part) => {
                let function = match self.backend {
                    Backend::Sqlite => "instr",
                    Backend::Postgres => "strpos",
                };
                self.text(&format!(" AND {function}({column}, "), part)
                    .push(") > 0")
            }
        }
    }

    /// ` AND column IN (…)`, nothing when `values` is empty.
    fn one_of(&mut self, column: &str, values: &[&str]) -> &mut Self {
        for (i, value) in values.iter().enumerate() {
            let before = if i == 0 {
                format!(" AND {column} IN (")
            } else {
                ", ".to_string()
            };
            self.text(&before, value);
        }
        if !values.is_empty() {
            self.push(")");
        }
        self
    }

    fn page(&mut self, limit: usize, skip: usize) -> &mut Self {
        self.int(" LIMIT ", sql_limit(limit))
            .int(" OFFSET ", sql_limit(skip))
    }
}

/// A table of rows named within their flow, read and deleted alike.
pub(crate) struct Named<T: 'static> {
    pub table: &'static str,
    pub columns: &'static str,
    /// What a row is, for errors.
    pub what: &'static str,
    pub decode: fn(&dyn Columns) -> Result<T>,
}

pub(crate) static ALIASES: Named<AliasRecord> = Named {
    table: "aliases",
    columns: ALIAS_COLUMNS,
    what: "alias",
    decode: decode::alias,
};

pub(crate) static SCHEDULES: Named<ScheduleRecord> = Named {
    table: "schedules",
    columns: SCHEDULE_COLUMNS,
    what: "schedule",
    decode: decode::schedule,
};

/// The rows of one flow in a [`Named`] table.
pub(crate) struct FlowRows<T: 'static> {
    pub table: &'static Named<T>,
    pub flow: FlowId,
}

impl<T> Named<T> {
    pub(crate) fn of(&'static self, flow: FlowId) -> FlowRows<T> {
        FlowRows { table: self, flow }
    }

    /// The row named `[2]` of flow `[1]`.
    pub(crate) fn get(&self, backend: Backend) -> String {
        let (t, c) = (self.table, self.columns);
        let (flow, name) = (backend.numbered(1), backend.numbered(2));
        format!("SELECT {c} FROM {t} WHERE flow_id = {flow} AND name = {name}")
    }

    /// Deletes the row named `[2]` of flow `[1]`.
    pub(crate) fn delete(&self, backend: Backend) -> String {
        let t = self.table;
        let (flow, name) = (backend.numbered(1), backend.numbered(2));
        format!("DELETE FROM {t} WHERE flow_id = {flow} AND name = {name}")
    }

    /// The rows of flow `[1]` by name after `[2]`, `[3]` of them less `[4]`.
    pub(crate) fn list(&self, backend: Backend) -> String {
        let (t, c) = (self.table, self.columns);
        let [flow, after, limit, skip] = [1, 2, 3, 4].map(|n| backend.numbered(n));
        format!(
            "SELECT {c} FROM {t} WHERE flow_id = {flow} AND name > {after} \
             ORDER BY name LIMIT {limit} OFFSET {skip}"
        )
    }
}

impl Backend {
    /// Placeholder `n` (from 1).
    fn numbered(self, n: usize) -> String {
        match self {
            Backend::Sqlite => format!("?{n}"),
            Backend::Postgres => format!("${n}"),
        }
    }
}

/// The live flows a query selects, by name.
pub(crate) fn flows(query: &FlowQuery, page: &Page<FlowName>, backend: Backend) -> Sql {
    let mut sql = flows_where(
        &format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM}"),
        query,
        backend,
    );
    if let Some(after) = &page.after {
        sql.text(" AND f.name > ", after.as_str());
    }
    sql.push(" ORDER BY f.name").page(page.limit, page.skip);
    sql
}

pub(crate) fn count_flows(query: &FlowQuery, backend: Backend) -> Sql {
    flows_where("SELECT COUNT(*) FROM flows f", query, backend)
}

fn flows_where(select: &str, query: &FlowQuery, backend: Backend) -> Sql {
    let mut sql = Sql::new(select, backend);
    sql.text(" WHERE f.tenant = ", query.tenant.as_str())
        .push(" AND NOT f.deleted");
    if let Some(name) = &query.name {
        sql.name_matches("f.name", name);
    }
    if let Some(mode) = query.mode {
        sql.text(" AND f.mode = ", mode.as_str());
    }
    if let Some(tag) = &query.tag {
        sql.text(" AND f.tag = ", tag);
    }
    sql
}

/// Full records of the executions a query selects, in its order.
pub(crate) fn executions(
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
    backend: Backend,
) -> Sql {
    listing(EXECUTION_COLUMNS, query, page, backend)
}

/// Summaries of the executions a query selects, in its order.
pub(crate) fn summaries(
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
    backend: Backend,
) -> Sql {
    listing(SUMMARY_COLUMNS, query, page, backend)
}

fn listing(
    columns: &str,
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
    backend: Backend,
) -> Sql {
    let mut sql = executions_where(&format!("SELECT {columns}"), query, Walk::InOrder, backend);
    match (query.order, &page.after) {
        (ExecutionOrder::Name, Some(after)) => {
            sql.text(" AND (e.name, e.id) > (", after.name.as_str())
                .int(", ", after.id.0)
                .push(")");
        }
        (ExecutionOrder::Newest, Some(after)) => {
            sql.int(" AND (e.listed_at, e.id) < (", after.listed_at)
                .int(", ", after.id.0)
                .push(")");
        }
        (_, None) => {}
    }
    sql.push(match query.order {
        ExecutionOrder::Name => " ORDER BY e.name, e.id",
        ExecutionOrder::Newest => " ORDER BY e.listed_at DESC, e.id DESC",
    })
    .page(page.limit, page.skip);
    sql
}

/// Which index a query of executions should walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// The one of its order, a page stopping it early: time bounds only filter (`+column`
    /// keeps a planner without statistics from taking the start index and sorting every
    /// execution in the range instead).
    InOrder,
    /// The start index: the rows counted are those of a partial minute.
    ByStart,
}

/// `select`, then the executions `query` selects (`e`, joined with their flow `f` when the
/// selection is by flow attributes).
fn executions_where(select: &str, query: &ExecutionQuery, walk: Walk, backend: Backend) -> Sql {
    let mut sql = Sql::new(select, backend);
    sql.push(" FROM executions e");
    if let FlowSelection::Live { .. } = query.flows {
        sql.push(" JOIN flows f ON f.id = e.flow_id");
    }
    sql.text(" WHERE e.tenant = ", query.tenant.as_str());
    match &query.flows {
        FlowSelection::Flow(flow) => {
            sql.int(" AND e.flow_id = ", flow.0);
        }
        FlowSelection::Live { name, tag } => {
            sql.push(" AND NOT f.deleted");
            if let Some(name) = name {
                sql.name_matches("e.flow_name", name);
            }
            if let Some(tag) = tag {
                sql.text(" AND e.tag = ", tag);
            }
        }
    }
    let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
    sql.one_of("e.status", &statuses);
    if let Some(prefix) = &query.name_prefix {
        sql.text(" AND e.name >= ", prefix);
        if let Some(end) = prefix_successor(prefix) {
            sql.text(" AND e.name < ", &end);
        }
    }
    let started = match walk {
        Walk::InOrder => "+e.started_at",
        Walk::ByStart => "e.started_at",
    };
    if let Some(from) = query.started_from {
        sql.int(&format!(" AND {started} >= "), from);
    }
    if let Some(to) = query.started_to {
        sql.int(&format!(" AND {started} <= "), to);
    }
    if query.latest_runs {
        sql.push(" AND NOT e.superseded");
    }
    match &query.map_run {
        Some(map_run) => sql.text(" AND e.map_run = ", map_run),
        None => sql.push(" AND e.map_run IS NULL"),
    };
    if let Some(redriven) = query.redriven {
        sql.push(if redriven {
            " AND e.redrive_count > 0"
        } else {
            " AND e.redrive_count = 0"
        });
    }
    if let Some(version) = query.started_as.version {
        sql.int(" AND e.run_version = ", version);
    }
    if let Some(alias) = &query.started_as.alias {
        sql.text(" AND e.run_alias = ", alias);
    }
    sql
}

/// The queries whose results add up to how many executions `query` selects: the kept counts
/// of the whole minutes of its time range, and a count of the execution rows started in the
/// partial minutes at its ends (all rows, with a name prefix: the counts know no names).
pub(crate) fn count_executions(query: &ExecutionQuery, backend: Backend) -> Vec<Sql> {
    let counting_rows = |from, to| {
        let edge = ExecutionQuery {
            started_from: from,
            started_to: to,
            ..query.clone()
        };
        executions_where("SELECT COUNT(*)", &edge, Walk::ByStart, backend)
    };
    if !query.counts_know_it() {
        return vec![counting_rows(query.started_from, query.started_to)];
    }
    let split = counts::split(query.started_from, query.started_to);
    let mut queries: Vec<Sql> = split
        .edges
        .iter()
        .map(|(from, to)| counting_rows(Some(*from), Some(*to)))
        .collect();
    if let Some((first, last)) = split.minutes {
        let mut kept = counts_where(
            "SELECT CAST(COALESCE(SUM(c.executions), 0) AS BIGINT)",
            query.tenant.as_str(),
            &query.flows,
            backend,
        );
        let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_str()).collect();
        kept.one_of("c.status", &statuses)
            .int(" AND c.minute >= ", first)
            .int(" AND c.minute <= ", last);
        if query.latest_runs {
            kept.push(" AND c.latest");
        }
        queries.push(kept);
    }
    queries
}

/// Per minute and status, the kept counts of the minutes `query` spans: minute, status,
/// executions, finished, duration.
pub(crate) fn minute_counts(query: &CountsQuery, backend: Backend) -> Sql {
    let mut sql = counts_where(
        "SELECT c.minute, c.status, CAST(SUM(c.executions) AS BIGINT), \
         CAST(SUM(c.finished) AS BIGINT), CAST(SUM(c.duration_ms) AS BIGINT)",
        query.tenant.as_str(),
        &query.flows,
        backend,
    );
    sql.int(" AND c.minute >= ", query.from.div_euclid(MINUTE_MS))
        .int(" AND c.minute <= ", query.to.div_euclid(MINUTE_MS))
        .push(" GROUP BY c.minute, c.status ORDER BY c.minute");
    sql
}

/// The counts rows of the flows selected (`c`, joined with their flow `f`).
fn counts_where(select: &str, tenant: &str, flows: &FlowSelection, backend: Backend) -> Sql {
    let mut sql = Sql::new(select, backend);
    sql.push(" FROM execution_counts c JOIN flows f ON f.id = c.flow_id")
        .text(" WHERE f.tenant = ", tenant);
    match flows {
        FlowSelection::Flow(flow) => {
            sql.int(" AND c.flow_id = ", flow.0);
        }
        FlowSelection::Live { name, tag } => {
            sql.push(" AND NOT f.deleted");
            if let Some(name) = name {
                sql.name_matches("f.name", name);
            }
            if let Some(tag) = tag {
                sql.text(" AND f.tag = ", tag);
            }
        }
    }
    sql
}
