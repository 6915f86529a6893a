//! Schema migrations both backends run alike (each backend's `schema.rs` lists them in its
//! order, beside its own).

/// A job's counts of the executions it found already completed and failed to stop; the
/// indexes of newest-first listings of a tenant's executions (of every flow, of one status,
/// of one flow).
pub(crate) const JOB_COUNTS_AND_NEWEST: &str = "
ALTER TABLE jobs ADD COLUMN already_completed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failed BIGINT NOT NULL DEFAULT 0;
CREATE INDEX executions_newest ON executions (tenant, listed_at, id);
CREATE INDEX executions_newest_by_status ON executions (tenant, status, listed_at, id);
CREATE INDEX executions_newest_of_flow ON executions (flow_id, listed_at, id);
";

/// What an execution's start named (a published version, the alias that routed it there),
/// and its redrives: how many, the latest when.
pub(crate) const STARTED_AS_AND_REDRIVES: &str = "
ALTER TABLE executions ADD COLUMN run_version BIGINT;
ALTER TABLE executions ADD COLUMN run_alias TEXT;
ALTER TABLE executions ADD COLUMN redrive_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN redriven_at BIGINT;
";
