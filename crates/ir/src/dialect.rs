//! Dialects: the API and definition language a flow was created with.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::{NameRuleViolation, check_aws_name_rule, check_name_rule};

/// Which vendor API created a flow, and so which language its definition is written in.
/// Stored with each flow as [`Dialect::as_str`]; the text is durable, never change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dialect {
    /// Alibaba CloudFlow: FDL, the `Type: StateMachine` form or the legacy `type: flow` steps.
    #[serde(rename = "cloudflow")]
    CloudFlow,
    /// Huawei FunctionGraph workflows v2: the `WorkflowCreateBody` JSON.
    #[serde(rename = "functiongraph-v2")]
    FunctionGraphV2,
    /// Huawei FunctionGraph legacy v1.0 `cloud_graphs`: `event-defs` and a `states` map.
    #[serde(rename = "functiongraph-v1")]
    FunctionGraphV1,
    /// Huawei DataArts Factory jobs: the `JobInfo` JSON.
    #[serde(rename = "dataarts")]
    DataArts,
    /// The Amazon States Language (JSON or YAML), run by `sluice run`.
    #[serde(rename = "asl")]
    Asl,
}

impl Dialect {
    pub const ALL: [Dialect; 5] = [
        Dialect::CloudFlow,
        Dialect::FunctionGraphV2,
        Dialect::FunctionGraphV1,
        Dialect::DataArts,
        Dialect::Asl,
    ];

    /// The stored name (`cloudflow`, `functiongraph-v2`, `functiongraph-v1`, `dataarts`, `asl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::CloudFlow => "cloudflow",
            Dialect::FunctionGraphV2 => "functiongraph-v2",
            Dialect::FunctionGraphV1 => "functiongraph-v1",
            Dialect::DataArts => "dataarts",
            Dialect::Asl => "asl",
        }
    }

    /// The dialect a stored name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Checks a flow's or execution's name by the dialect's rule: AWS's for state machines,
    /// CloudFlow's (which every other vendor's names fit) for the rest.
    pub fn check_name(self, name: &str) -> Result<(), NameRuleViolation> {
        match self {
            Dialect::Asl => check_aws_name_rule(name),
            _ => check_name_rule(name),
        }
    }

    /// How long the vendor keeps a finished execution and its history, where it says so; the
    /// default of `[retention]` (`docs/configuration.md`).
    pub fn documented_retention(self) -> std::time::Duration {
        const DAY: u64 = 86_400;
        let days = match self {
            // AWS Step Functions: an execution's history is kept 90 days after it closes.
            Dialect::Asl => 90,
            // DataArts Factory's instance monitoring shows the last six months.
            Dialect::DataArts => 180,
            // CloudFlow's and FunctionGraph's pages state no period (their limits pages list
            // none): AWS's, the longest of their peers'.
            Dialect::CloudFlow | Dialect::FunctionGraphV2 | Dialect::FunctionGraphV1 => 90,
        };
        std::time::Duration::from_secs(days * DAY)
    }

    /// The vendor's limits of one execution, where it documents them; the defaults of
    /// `[limits]` (`docs/configuration.md`).
    pub fn documented_limits(self) -> DocumentedLimits {
        match self {
            // AWS Step Functions quotas: 256 KiB of a state's or execution's input or output,
            // 25,000 events in an execution's history.
            Dialect::Asl => DocumentedLimits {
                max_payload_bytes: 256 * 1024,
                max_history_events: 25_000,
            },
            // CloudFlow's limits page: 64 KiB of state input or output, 5,000 events per
            // execution. The Huawei services document none: CloudFlow's, the stricter.
            Dialect::CloudFlow
            | Dialect::FunctionGraphV2
            | Dialect::FunctionGraphV1
            | Dialect::DataArts => DocumentedLimits {
                max_payload_bytes: 64 * 1024,
                max_history_events: 5_000,
            },
        }
    }

    /// Whether an execution's input may be any JSON value (AWS's), not only an object.
    pub fn takes_any_json_input(self) -> bool {
        self == Dialect::Asl
    }
}

/// See [`Dialect::documented_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentedLimits {
    /// A state's input or output, an execution's input or output.
    pub max_payload_bytes: usize,
    /// Events in one execution's history.
    pub max_history_events: u64,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_are_those_existing_databases_hold() {
        let names: Vec<&str> = Dialect::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "cloudflow",
                "functiongraph-v2",
                "functiongraph-v1",
                "dataarts",
                "asl"
            ]
        );
        for dialect in Dialect::ALL {
            assert_eq!(Dialect::parse(dialect.as_str()), Some(dialect));
            let json = serde_json::to_value(dialect).unwrap();
            assert_eq!(json, dialect.as_str());
        }
        assert_eq!(Dialect::parse("CloudFlow"), None);
    }
}
