//! Queries whose shape depends on their filter, built once for both backends: only the
//! conditions a filter sets go into the SQL, so each backend plans each shape on its own.

use crate::encode::{prefix_successor, sql_limit};
use crate::{ExecutionFilter, ExecutionName, FlowId};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// How a backend spells its placeholders.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placeholders {
    /// `$1`, `$2`, … (PostgreSQL).
    Numbered,
    /// `?` each (SQLite).
    Anonymous,
}

/// SQL text and the values of its placeholders, in order.
#[derive(Debug)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    placeholders: Placeholders,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>, placeholders: Placeholders) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
            placeholders,
        }
    }

    /// Appends `sql` and then a placeholder bound to `arg`.
    pub(crate) fn bind(&mut self, sql: &str, arg: Arg) -> &mut Self {
        self.text.push_str(sql);
        self.args.push(arg);
        match self.placeholders {
            Placeholders::Numbered => self.text.push_str(&format!("${}", self.args.len())),
            Placeholders::Anonymous => self.text.push('?'),
        }
        self
    }
}

/// The executions of a flow a filter selects, in name order after `after` (the name range of
/// a prefix walks the `(flow_id, name)` index in order).
pub(crate) fn executions_by_name(
    columns: &str,
    flow: FlowId,
    filter: &ExecutionFilter,
    after: Option<&ExecutionName>,
    limit: usize,
    placeholders: Placeholders,
) -> Sql {
    let mut sql = Sql::new(format!("SELECT {columns} FROM executions"), placeholders);
    sql.bind(" WHERE flow_id = ", Arg::Int(flow.0));
    if let Some(after) = after {
        sql.bind(" AND name > ", Arg::Text(after.0.clone()));
    }
    if let Some(status) = filter.status {
        sql.bind(" AND status = ", Arg::Text(status.as_str().into()));
    }
    if let Some(prefix) = &filter.name_prefix {
        sql.bind(" AND name >= ", Arg::Text(prefix.clone()));
        if let Some(end) = prefix_successor(prefix) {
            sql.bind(" AND name < ", Arg::Text(end));
        }
    }
    if let Some(from) = filter.started_from {
        sql.bind(" AND started_at >= ", Arg::Int(from));
    }
    if let Some(to) = filter.started_to {
        sql.bind(" AND started_at <= ", Arg::Int(to));
    }
    sql.bind(" ORDER BY name LIMIT ", Arg::Int(sql_limit(limit)));
    sql
}
