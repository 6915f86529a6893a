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

/// Retention: a child execution's root (the top-level execution it is purged with; none for
/// the children written before there were roots, which are purged on their own), and the
/// index a purge walks, oldest finished first.
pub(crate) const ROOTS_AND_FINISHED: &str = "
ALTER TABLE executions ADD COLUMN root_id BIGINT;
CREATE INDEX executions_by_root ON executions (root_id) WHERE root_id IS NOT NULL;
CREATE INDEX executions_finished ON executions (stopped_at)
    WHERE stopped_at IS NOT NULL AND root_id IS NULL;
";

/// Step Functions activities, and the activity a task row waits in (its queue index). The
/// table's name column is declared by each backend (`COLLATE "C"` on PostgreSQL).
macro_rules! activities_schema {
    ($name:literal) => {
        concat!(
            "CREATE TABLE activities (
    tenant ",
            $name,
            " NOT NULL,
    name ",
            $name,
            " NOT NULL,
    created_at BIGINT NOT NULL,
    tags TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
ALTER TABLE tasks ADD COLUMN activity TEXT;
CREATE INDEX tasks_by_activity ON tasks (activity, execution_id, op) WHERE activity IS NOT NULL;
"
        )
    };
}
pub(crate) use activities_schema;

/// What an execution's start named (a published version, the alias that routed it there),
/// and its redrives: how many, the latest when.
pub(crate) const STARTED_AS_AND_REDRIVES: &str = "
ALTER TABLE executions ADD COLUMN run_version BIGINT;
ALTER TABLE executions ADD COLUMN run_alias TEXT;
ALTER TABLE executions ADD COLUMN redrive_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN redriven_at BIGINT;
";

/// The test case of a mock configuration an execution runs under (Step Functions Local's
/// `stateMachineArn#TestCase`), kept so that a node taking the execution over mocks alike.
pub(crate) const TEST_CASE: &str = "
ALTER TABLE executions ADD COLUMN run_test_case TEXT;
";

/// No table changes: from this version on, the history rows of `ExecutionStarted` and
/// `ExecutionSucceeded` may leave out the payloads the execution's row holds
/// (`crate::payloads`). The number is what changes, so that an older sluice refuses the
/// database rather than read those events without their input and output.
pub(crate) const PAYLOADS_ONCE: &str = "";
