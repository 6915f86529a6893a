//! ARNs of state machines and executions: `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`,
//! `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`, map runs
//! `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID` and their children
//! `…:execution:MACHINE/LABEL:NAME`, activities
//! `arn:aws:states:REGION:ACCOUNT:activity:NAME`. The account is the tenant's; the
//! region is the one the request was signed for (a self-hosted server serves any region).
//! An ARN of another account names nothing of the caller's: it does not exist.

use sluice_service::ContextIds;

use super::error::{Code, SfnError};

/// Which ARN resource an execution is named under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionKind {
    Standard,
    Express,
}

/// The parts every ARN of one request shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arns {
    region: String,
    account: String,
    key_id: String,
}

impl Arns {
    pub fn new(region: &str, account: &str, key_id: &str) -> Self {
        Arns {
            region: region.into(),
            account: account.into(),
            key_id: key_id.into(),
        }
    }

    /// The region the request was signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn machine(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.region, self.account
        )
    }

    /// A published version of a state machine: `…:stateMachine:NAME:VERSION`.
    pub fn version(&self, machine: &str, version: i64) -> String {
        format!("{}:{version}", self.machine(machine))
    }

    /// An alias of a state machine: `…:stateMachine:NAME:ALIAS`.
    pub fn alias(&self, machine: &str, alias: &str) -> String {
        format!("{}:{alias}", self.machine(machine))
    }

    /// The state machine name of a state machine ARN and its qualifier, if it has one: a
    /// version number or an alias name (an alias name is never all digits).
    pub fn qualified(&self, arn: &str) -> Result<(String, Option<String>), SfnError> {
        match self.parts(arn, "stateMachine")?.as_slice() {
            [name] => Ok((name.to_string(), None)),
            [name, qualifier] => Ok((name.to_string(), Some(qualifier.to_string()))),
            _ => Err(invalid(arn)),
        }
    }

    /// The state machine name and version number of a version ARN.
    pub fn version_of(&self, arn: &str) -> Result<(String, i64), SfnError> {
        match self.qualified(arn)? {
            (name, Some(q)) if q.bytes().all(|b| b.is_ascii_digit()) => {
                let number = q.parse().map_err(|_| invalid(arn))?;
                Ok((name, number))
            }
            _ => Err(invalid(arn)),
        }
    }

    /// The state machine name and alias name of an alias ARN.
    pub fn alias_of(&self, arn: &str) -> Result<(String, String), SfnError> {
        match self.qualified(arn)? {
            (name, Some(q)) if !q.bytes().all(|b| b.is_ascii_digit()) => Ok((name, q)),
            _ => Err(invalid(arn)),
        }
    }

    pub fn execution(&self, machine: &str, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:execution:{machine}:{name}",
            self.region, self.account
        )
    }

    /// What a definition reads as `$$.Execution.Id` (the execution's ARN: the prefix and its
    /// name) and `$$.StateMachine.Id` (the state machine's ARN).
    pub fn context_ids(&self, machine: &str, kind: ExecutionKind) -> ContextIds {
        let resource = match kind {
            ExecutionKind::Standard => "execution",
            // An Express execution's name is its given name and the id of its run.
            ExecutionKind::Express => "express",
        };
        ContextIds {
            execution_prefix: format!(
                "arn:aws:states:{}:{}:{resource}:{machine}:",
                self.region, self.account
            ),
            flow: self.machine(machine),
        }
    }

    /// A distributed Map's run: `…:mapRun:MACHINE/LABEL:ID`, `LABEL` the Map's `Label` (its
    /// state name without one), `ID` the run's name.
    pub fn map_run(&self, machine: &str, label: &str, id: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:mapRun:{machine}/{label}:{id}",
            self.region, self.account
        )
    }

    /// A map run's child execution: `…:execution:MACHINE/LABEL:NAME`.
    pub fn child_execution(&self, machine: &str, label: &str, name: &str) -> String {
        self.execution(&format!("{machine}/{label}"), name)
    }

    /// The state machine name, label and run name of a map run ARN. A label may hold `:`
    /// (not `/`), so the run is the last part and the machine what comes before the `/`.
    pub fn map_run_of(&self, arn: &str) -> Result<(String, String, String), SfnError> {
        let rest = self.parts(arn, "mapRun")?.join(":");
        let (path, id) = rest.rsplit_once(':').ok_or_else(|| invalid(arn))?;
        match path.split_once('/') {
            Some((machine, label)) if !machine.is_empty() && !label.is_empty() => {
                Ok((machine.into(), label.into(), id.into()))
            }
            _ => Err(invalid(arn)),
        }
    }

    /// An Express execution's ARN: its state machine, its name and the id of its run.
    pub fn express_execution(&self, machine: &str, name: &str, id: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:express:{machine}:{name}:{id}",
            self.region, self.account
        )
    }

    pub fn activity(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:activity:{name}",
            self.region, self.account
        )
    }

    /// The activity name of an activity ARN.
    pub fn activity_name(&self, arn: &str) -> Result<String, SfnError> {
        match self.parts(arn, "activity")?.as_slice() {
            [name] => Ok(name.to_string()),
            _ => Err(invalid(arn)),
        }
    }

    /// Who is calling, as AWS names the user in `AccessDeniedException`.
    pub fn caller(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account, self.key_id)
    }

    /// The state machine name of a state machine ARN.
    pub fn machine_name(&self, arn: &str) -> Result<String, SfnError> {
        match self.parts(arn, "stateMachine")?.as_slice() {
            [name] => Ok(name.to_string()),
            [_, _] => Err(SfnError::validation(
                "This action takes the state machine's own ARN, not a version's or an alias's.",
            )),
            _ => Err(invalid(arn)),
        }
    }

    /// The state machine name and execution name of an execution ARN (of a map run's child
    /// too: its `MACHINE/LABEL` names the machine, whose execution it is).
    pub fn execution_names(&self, arn: &str) -> Result<(String, String), SfnError> {
        match self.parts(arn, "execution")?.as_slice() {
            [machine, name] => {
                let machine = machine.split_once('/').map_or(*machine, |(m, _)| m);
                Ok((machine.to_string(), name.to_string()))
            }
            _ => Err(invalid(arn)),
        }
    }

    /// The resource parts after `…:ACCOUNT:KIND:` of an ARN of this account; an ARN of
    /// another account is the resource kind's does-not-exist.
    fn parts<'a>(&self, arn: &'a str, kind: &str) -> Result<Vec<&'a str>, SfnError> {
        let all: Vec<&str> = arn.split(':').collect();
        match all.as_slice() {
            ["arn", partition, "states", region, account, k, rest @ ..]
                if partition.starts_with("aws")
                    && !region.is_empty()
                    && *k == kind
                    && !rest.is_empty()
                    && rest.iter().all(|p| !p.is_empty()) =>
            {
                if *account != self.account {
                    return Err(foreign(kind, arn));
                }
                Ok(rest.to_vec())
            }
            _ => Err(invalid(arn)),
        }
    }
}

fn invalid(arn: &str) -> SfnError {
    SfnError::new(
        Code::InvalidArn,
        format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
    )
}

fn foreign(kind: &str, arn: &str) -> SfnError {
    match kind {
        "execution" => SfnError::new(
            Code::ExecutionDoesNotExist,
            format!("Execution Does Not Exist: '{arn}'"),
        ),
        "mapRun" => SfnError::new(
            Code::ResourceNotFound,
            format!("Resource Not Found: '{arn}'"),
        ),
        "activity" => SfnError::new(
            Code::ActivityDoesNotExist,
            format!("Activity Does Not Exist: '{arn}'"),
        ),
        _ => SfnError::new(
            Code::StateMachineDoesNotExist,
            format!("State Machine Does Not Exist: '{arn}'"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip_in_any_region() {
        let arns = Arns::new("ap-south-2", "123456789012", "k");
        let machine = arns.machine("orders");
        assert_eq!(
            machine,
            "arn:aws:states:ap-south-2:123456789012:stateMachine:orders"
        );
        assert_eq!(arns.machine_name(&machine).unwrap(), "orders");
        let other_region = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
        assert_eq!(
            arns.execution_names(other_region).unwrap(),
            ("orders".to_string(), "run-1".to_string())
        );
    }

    #[test]
    fn bad_and_foreign_arns_are_refused() {
        let arns = Arns::new("us-east-1", "123456789012", "k");
        for bad in [
            "",
            "orders",
            "arn:aws:states:us-east-1:123456789012:stateMachine:",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "arn:aws:states:us-east-1:123456789012:execution:orders:run-1",
        ] {
            assert_eq!(
                arns.machine_name(bad).unwrap_err().code,
                Code::InvalidArn,
                "{bad}"
            );
        }
        let foreign = "arn:aws:states:us-east-1:999999999999:stateMachine:orders";
        assert_eq!(
            arns.machine_name(foreign).unwrap_err().code,
            Code::StateMachineDoesNotExist
        );
        let foreign = "arn:aws:states:us-east-1:999999999999:execution:orders:e";
        assert_eq!(
            arns.execution_names(foreign).unwrap_err().code,
            Code::ExecutionDoesNotExist
        );
        let qualified = "arn:aws:states:us-east-1:123456789012:stateMachine:orders:1";
        assert_eq!(
            arns.machine_name(qualified).unwrap_err().code,
            Code::ValidationException
        );
    }

    #[test]
    fn map_runs_and_their_children_are_named_by_machine_and_label() {
        let arns = Arns::new("us-east-1", "123456789012", "k");
        let run = arns.map_run("orders", "Ship", "0af1");
        assert_eq!(
            run,
            "arn:aws:states:us-east-1:123456789012:mapRun:orders/Ship:0af1"
        );
        assert_eq!(
            arns.map_run_of(&run).unwrap(),
            ("orders".into(), "Ship".into(), "0af1".into())
        );
        let odd = arns.map_run("orders", "a:b", "0af1");
        assert_eq!(arns.map_run_of(&odd).unwrap().1, "a:b");
        let child = arns.child_execution("orders", "Ship", "0af1-3");
        assert_eq!(
            child,
            "arn:aws:states:us-east-1:123456789012:execution:orders/Ship:0af1-3"
        );
        assert_eq!(
            arns.execution_names(&child).unwrap(),
            ("orders".into(), "0af1-3".into())
        );
        for bad in [
            "arn:aws:states:us-east-1:123456789012:mapRun:orders:0af1",
            "arn:aws:states:us-east-1:123456789012:mapRun:/Ship:0af1",
            "arn:aws:states:us-east-1:123456789012:mapRun:orders/Ship",
            "arn:aws:states:us-east-1:123456789012:execution:orders:e",
        ] {
            assert_eq!(
                arns.map_run_of(bad).unwrap_err().code,
                Code::InvalidArn,
                "{bad}"
            );
        }
        let foreign = "arn:aws:states:us-east-1:999999999999:mapRun:orders/Ship:0af1";
        assert_eq!(
            arns.map_run_of(foreign).unwrap_err().code,
            Code::ResourceNotFound
        );
    }

    #[test]
    fn versions_and_aliases_qualify_a_state_machine_arn() {
        let arns = Arns::new("us-east-1", "123456789012", "k");
        let version = arns.version("orders", 7);
        assert_eq!(
            version,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders:7"
        );
        assert_eq!(arns.version_of(&version).unwrap(), ("orders".into(), 7));
        let alias = arns.alias("orders", "prod");
        assert_eq!(
            arns.alias_of(&alias).unwrap(),
            ("orders".into(), "prod".into())
        );
        assert_eq!(
            arns.qualified(&arns.machine("orders")).unwrap(),
            ("orders".into(), None)
        );
        assert_eq!(
            arns.qualified(&alias).unwrap(),
            ("orders".into(), Some("prod".into()))
        );
        for wrong in [
            arns.machine("orders"),
            alias.clone(),
            format!("{}:99999999999999999999", arns.machine("orders")),
        ] {
            assert_eq!(
                arns.version_of(&wrong).unwrap_err().code,
                Code::InvalidArn,
                "{wrong}"
            );
        }
        assert_eq!(arns.alias_of(&version).unwrap_err().code, Code::InvalidArn);
        assert_eq!(
            arns.qualified(&format!("{alias}:extra")).unwrap_err().code,
            Code::InvalidArn
        );
    }
}
