//! CloudFlow definitions: the current `Type: StateMachine` form ([`fdl`]) and the legacy
//! Serverless Workflow `type: flow` steps form ([`legacy`]), both compiled to a [`Flow`].
//!
//! This module holds what the two forms share and no other language does: form detection and
//! Function Compute ARNs. The toolkit both are built from (arena, fields, names, retry rules)
//! is every language's, in `crate::frontend`.

mod fdl;
mod legacy;
mod objects;

use sluice_ir::{Flow, FunctionRef, Invocation, TaskTarget};

use crate::doc::{Node, NodeKind, parse_document};
use crate::error::{DefinitionError, Problem};

/// Parses a CloudFlow definition in either form into a [`Flow`].
///
/// The form is chosen by the top-level keys: `Type: StateMachine` selects the current form;
/// `type: flow`, or `version` with `steps`, the legacy one.
pub fn parse(text: &str) -> Result<Flow, DefinitionError> {
    let root = parse_document(text)?;
    match detect_form(&root)? {
        Form::StateMachine => fdl::compile(&root),
        Form::Legacy => legacy::compile(&root),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    StateMachine,
    Legacy,
}

const ACCEPTED_FORMS: &str = "accepted forms: CloudFlow (`Type: StateMachine`, `SpecVersion: v1`, \
`StartAt`, `States`) or legacy Serverless Workflow (`version: v1`, `type: flow`, `steps`)";

fn detect_form(root: &Node) -> Result<Form, Problem> {
    let NodeKind::Map(_) = &root.kind else {
        return Err(Problem::at(
            root.loc,
            format!(
                "a flow definition must be a map, found {}; {ACCEPTED_FORMS}",
                root.kind_name()
            ),
        ));
    };
    if let Some(ty) = root.get("Type") {
        return match &ty.kind {
            NodeKind::String(s) if s == "StateMachine" => Ok(Form::StateMachine),
            _ => Err(Problem::at(
                ty.loc,
                format!("`Type` must be `StateMachine`; {ACCEPTED_FORMS}"),
            )),
        };
    }
    if let Some(ty) = root.get("type") {
        return match &ty.kind {
            NodeKind::String(s) if s == "flow" => Ok(Form::Legacy),
            _ => Err(Problem::at(
                ty.loc,
                format!("`type` must be `flow`; {ACCEPTED_FORMS}"),
            )),
        };
    }
    if root.get("version").is_some() && root.get("steps").is_some() {
        return Ok(Form::Legacy);
    }
    Err(Problem::at(
        root.loc,
        format!("unrecognized flow definition; {ACCEPTED_FORMS}"),
    ))
}

// ---------------------------------------------------------------------------------------------
// Function Compute ARNs

pub(crate) const FUNCTION_ARN_SHAPE: &str =
    "acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}";

/// Parses a Function Compute function ARN. `Ok(None)` when `arn` is not an FC ARN at all;
/// an error when it starts like one but is malformed.
pub(crate) fn function_ref(arn: &str) -> Result<Option<FunctionRef>, String> {
    let Some(rest) = arn.strip_prefix("acs:fc:") else {
        return Ok(None);
    };
    let malformed = || format!("malformed function ARN {arn:?}; expected {FUNCTION_ARN_SHAPE}");
    let mut parts = rest.splitn(3, ':');
    let (Some(_region), Some(_account), Some(resource)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let ["services", service, "functions", function] = segments.as_slice() else {
        return Err(malformed());
    };
    let (service, qualifier) = match service.split_once('.') {
        Some((s, q)) => (s, Some(q)),
        None => (*service, None),
    };
    if service.is_empty() || function.is_empty() || qualifier.is_some_and(str::is_empty) {
        return Err(malformed());
    }
    Ok(Some(FunctionRef {
        service: service.to_string(),
        qualifier: qualifier.map(str::to_string),
        function: function.to_string(),
        invocation: Invocation::Sync,
    }))
}

/// How CloudFlow's history names a task's target (`TaskScheduled`'s `resource`): a function by
/// its ARN without region and account, any other action by its name.
pub(crate) fn resource_name(target: &TaskTarget) -> String {
    match target {
        TaskTarget::Function(f) => match &f.qualifier {
            Some(q) => format!(
                "acs:fc:::services/{}.{}/functions/{}",
                f.service, q, f.function
            ),
            None => format!("acs:fc:::services/{}/functions/{}", f.service, f.function),
        },
        // CloudFlow has no activities nor nested executions; the arms are for the IR's
        // completeness.
        TaskTarget::Action(name) | TaskTarget::Activity(name) => name.clone(),
        TaskTarget::Execution(_) => "states:startExecution".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns() {
        let f = function_ref("acs:fc:::services/svc.LATEST/functions/fn")
            .unwrap()
            .unwrap();
        assert_eq!(f.service, "svc");
        assert_eq!(f.qualifier.as_deref(), Some("LATEST"));
        assert_eq!(f.function, "fn");
        let f = function_ref("acs:fc:{region}:{account}:services/s/functions/f")
            .unwrap()
            .unwrap();
        assert_eq!(f.qualifier, None);
        assert!(function_ref("acs:mns:x").unwrap().is_none());
        assert!(function_ref("acs:fc:::services/s/functions/").is_err());
        assert!(function_ref("acs:fc:::functions/f").is_err());
        assert!(function_ref("acs:fc:::services/.q/functions/f").is_err());
    }

    #[test]
    fn history_names_functions_by_arn_without_region_or_account() {
        let arn = "acs:fc:cn-hangzhou:123:services/svc.LATEST/functions/fn";
        let function = TaskTarget::Function(function_ref(arn).unwrap().unwrap());
        assert_eq!(
            resource_name(&function),
            "acs:fc:::services/svc.LATEST/functions/fn"
        );
        let action = TaskTarget::Action("HTTP:Request".into());
        assert_eq!(resource_name(&action), "HTTP:Request");
    }
}
