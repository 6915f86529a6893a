//! ARNs of state machines and executions: `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`,
//! `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`. The account is the tenant's; the
//! region is the one the request was signed for (a self-hosted server serves any region).
//! An ARN of another account names nothing of the caller's: it does not exist.

use super::error::{Code, SfnError};

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

    pub fn execution(&self, machine: &str, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:execution:{machine}:{name}",
            self.region, self.account
        )
    }

    /// An Express execution's ARN: its state machine, its name and the id of its run.
    pub fn express_execution(&self, machine: &str, name: &str, id: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:express:{machine}:{name}:{id}",
            self.region, self.account
        )
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
                "State machine versions and aliases are not supported by this server: use the state machine's own ARN.",
            )),
            _ => Err(invalid(arn)),
        }
    }

    /// The state machine name and execution name of an execution ARN.
    pub fn execution_names(&self, arn: &str) -> Result<(String, String), SfnError> {
        match self.parts(arn, "execution")?.as_slice() {
            [machine, name] => Ok((machine.to_string(), name.to_string())),
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
}
