//! The fields each state type takes under each query language (specification, "State Types"
//! table of common fields; "JSONata" for the fields it adds and removes).

use sluice_ir::QueryLanguage;

use crate::doc::Node;
use crate::error::Problem;
use crate::frontend::one_of;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

/// Which of `Next`/`End` a state type takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transition {
    /// Exactly one of `Next` and `End: true`.
    NextOrEnd,
    /// Neither: Choice (its rules decide), Succeed and Fail (they end their scope).
    None,
}

const TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];

impl StateType {
    pub(super) fn of(node: &Node) -> Result<StateType, Problem> {
        Ok(match one_of(node, TYPES, "state Type", "state types")? {
            "Pass" => StateType::Pass,
            "Task" => StateType::Task,
            "Choice" => StateType::Choice,
            "Wait" => StateType::Wait,
            "Succeed" => StateType::Succeed,
            "Fail" => StateType::Fail,
            "Parallel" => StateType::Parallel,
            _ => StateType::Map,
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }

    pub(super) fn transition(self) -> Transition {
        match self {
            StateType::Choice | StateType::Succeed | StateType::Fail => Transition::None,
            _ => Transition::NextOrEnd,
        }
    }

    /// Whether the state produces a result that `ResultPath`/`ResultSelector` apply to.
    pub(super) fn has_result(self) -> bool {
        matches!(
            self,
            StateType::Pass | StateType::Task | StateType::Parallel | StateType::Map
        )
    }

    fn has_recovery(self) -> bool {
        matches!(self, StateType::Task | StateType::Parallel | StateType::Map)
    }
}

/// The fields a state of type `ty` may have under `query`.
pub(super) fn allowed_fields(ty: StateType, query: QueryLanguage) -> Vec<&'static str> {
    let jsonpath = query == QueryLanguage::JsonPath;
    let mut allowed = vec!["Type", "Comment", "QueryLanguage"];
    if ty.transition() == Transition::NextOrEnd {
        allowed.extend(["Next", "End"]);
    }
    if ty != StateType::Fail {
        allowed.extend(if jsonpath {
            &["InputPath", "OutputPath"][..]
        } else {
            &["Output"][..]
        });
    }
    if !matches!(ty, StateType::Succeed | StateType::Fail) {
        allowed.push("Assign");
    }
    if jsonpath && ty.has_result() {
        allowed.push("ResultPath");
    }
    if jsonpath && matches!(ty, StateType::Task | StateType::Parallel | StateType::Map) {
        allowed.push("ResultSelector");
    }
    if matches!(ty, StateType::Pass | StateType::Task | StateType::Parallel) {
        allowed.push(if jsonpath { "Parameters" } else { "Arguments" });
    }
    if ty.has_recovery() {
        allowed.extend(["Retry", "Catch"]);
    }
    allowed.extend(specific_fields(ty, jsonpath));
    allowed
}

fn specific_fields(ty: StateType, jsonpath: bool) -> &'static [&'static str] {
    match (ty, jsonpath) {
        (StateType::Pass, true) => &["Result"],
        (StateType::Task, true) => &[
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        (StateType::Task, false) => &[
            "Resource",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Credentials",
        ],
        (StateType::Choice, _) => &["Choices", "Default"],
        (StateType::Wait, true) => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        (StateType::Wait, false) => &["Seconds", "Timestamp"],
        (StateType::Fail, true) => &["Error", "ErrorPath", "Cause", "CausePath"],
        (StateType::Fail, false) => &["Error", "Cause"],
        (StateType::Parallel, _) => &["Branches"],
        (StateType::Map, true) => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
        ],
        (StateType::Map, false) => &[
            "ItemProcessor",
            "Iterator",
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailurePercentage",
            "ToleratedFailureCount",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
        ],
        _ => &[],
    }
}

/// Fields of a Map that only the DISTRIBUTED mode has.
pub(super) const DISTRIBUTED_MAP_FIELDS: &[&str] = &["ItemReader", "ItemBatcher", "ResultWriter"];
