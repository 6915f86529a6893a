//! What a Step Functions request asks, typed: the action named by `X-Amz-Target`
//! (`AWSStepFunctions.<Action>`) and its JSON body as that action's input. Nothing is read
//! from the request after this. Each action names the permission a key needs
//! (`states:<Action>`, [`Action`]).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{Code, SfnError};
pub use super::tags::{TagResource, UntagResource};
pub use super::tasks::{SendTaskFailure, SendTaskHeartbeat, SendTaskSuccess};
use super::{activities, aliases, map_runs, redrive, test_state, versions};

/// The prefix of every action's `X-Amz-Target`.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// Listings: AWS's default page and its largest.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

#[derive(Debug, Clone, PartialEq, strum::EnumDiscriminants)]
#[strum_discriminants(name(Action), derive(strum::IntoStaticStr, strum::VariantArray))]
pub enum Call {
    #[strum_discriminants(strum(serialize = "states:CreateStateMachine"))]
    CreateStateMachine(CreateStateMachine),
    #[strum_discriminants(strum(serialize = "states:DescribeStateMachine"))]
    DescribeStateMachine(MachineRef),
    #[strum_discriminants(strum(serialize = "states:UpdateStateMachine"))]
    UpdateStateMachine(UpdateStateMachine),
    #[strum_discriminants(strum(serialize = "states:DeleteStateMachine"))]
    DeleteStateMachine(MachineRef),
    #[strum_discriminants(strum(serialize = "states:ListStateMachines"))]
    ListStateMachines(Paging),
    #[strum_discriminants(strum(serialize = "states:StartExecution"))]
    StartExecution(StartExecution),
    #[strum_discriminants(strum(serialize = "states:DescribeExecution"))]
    DescribeExecution(ExecutionRef),
    #[strum_discriminants(strum(serialize = "states:StopExecution"))]
    StopExecution(StopExecution),
    #[strum_discriminants(strum(serialize = "states:ListExecutions"))]
    ListExecutions(ListExecutions),
    #[strum_discriminants(strum(serialize = "states:GetExecutionHistory"))]
    GetExecutionHistory(GetExecutionHistory),
    #[strum_discriminants(strum(serialize = "states:DescribeStateMachineForExecution"))]
    DescribeStateMachineForExecution(ExecutionRef),
    #[strum_discriminants(strum(serialize = "states:ValidateStateMachineDefinition"))]
    ValidateStateMachineDefinition(ValidateDefinition),
    #[strum_discriminants(strum(serialize = "states:ListTagsForResource"))]
    ListTagsForResource(ResourceRef),
    #[strum_discriminants(strum(serialize = "states:TagResource"))]
    TagResource(TagResource),
    #[strum_discriminants(strum(serialize = "states:UntagResource"))]
    UntagResource(UntagResource),
    #[strum_discriminants(strum(serialize = "states:SendTaskSuccess"))]
    SendTaskSuccess(SendTaskSuccess),
    #[strum_discriminants(strum(serialize = "states:SendTaskFailure"))]
    SendTaskFailure(SendTaskFailure),
    #[strum_discriminants(strum(serialize = "states:SendTaskHeartbeat"))]
    SendTaskHeartbeat(SendTaskHeartbeat),
    #[strum_discriminants(strum(serialize = "states:StartSyncExecution"))]
    StartSyncExecution(StartExecution),
    #[strum_discriminants(strum(serialize = "states:PublishStateMachineVersion"))]
    PublishStateMachineVersion(versions::PublishVersion),
    #[strum_discriminants(strum(serialize = "states:ListStateMachineVersions"))]
    ListStateMachineVersions(versions::ListVersions),
    #[strum_discriminants(strum(serialize = "states:DeleteStateMachineVersion"))]
    DeleteStateMachineVersion(versions::VersionRef),
    #[strum_discriminants(strum(serialize = "states:CreateStateMachineAlias"))]
    CreateStateMachineAlias(aliases::CreateAlias),
    #[strum_discriminants(strum(serialize = "states:DescribeStateMachineAlias"))]
    DescribeStateMachineAlias(aliases::AliasRef),
    #[strum_discriminants(strum(serialize = "states:UpdateStateMachineAlias"))]
    UpdateStateMachineAlias(aliases::UpdateAlias),
    #[strum_discriminants(strum(serialize = "states:DeleteStateMachineAlias"))]
    DeleteStateMachineAlias(aliases::AliasRef),
    #[strum_discriminants(strum(serialize = "states:ListStateMachineAliases"))]
    ListStateMachineAliases(aliases::ListAliases),
    #[strum_discriminants(strum(serialize = "states:RedriveExecution"))]
    RedriveExecution(redrive::RedriveExecution),
    #[strum_discriminants(strum(serialize = "states:ListMapRuns"))]
    ListMapRuns(map_runs::ListMapRuns),
    #[strum_discriminants(strum(serialize = "states:DescribeMapRun"))]
    DescribeMapRun(map_runs::MapRunRef),
    #[strum_discriminants(strum(serialize = "states:UpdateMapRun"))]
    UpdateMapRun(map_runs::UpdateMapRun),
    #[strum_discriminants(strum(serialize = "states:CreateActivity"))]
    CreateActivity(activities::CreateActivity),
    #[strum_discriminants(strum(serialize = "states:DescribeActivity"))]
    DescribeActivity(activities::ActivityRef),
    #[strum_discriminants(strum(serialize = "states:ListActivities"))]
    ListActivities(Paging),
    #[strum_discriminants(strum(serialize = "states:DeleteActivity"))]
    DeleteActivity(activities::ActivityRef),
    #[strum_discriminants(strum(serialize = "states:GetActivityTask"))]
    GetActivityTask(activities::GetActivityTask),
    #[strum_discriminants(strum(serialize = "states:TestState"))]
    TestState(test_state::TestState),
}

impl Call {
    /// The permission a key needs for this call (`states:StartExecution`).
    pub fn permission(&self) -> &'static str {
        Action::from(self).into()
    }

    /// The call `X-Amz-Target` names, its input decoded from `body`.
    pub fn decode(target: &str, body: &[u8]) -> Result<Call, SfnError> {
        let unknown = || {
            SfnError::new(
                Code::UnknownOperationException,
                format!(
                    "The operation {} is not known or not supported by this server.",
                    crate::echo::bounded(target.to_string())
                ),
            )
        };
        let action = target.strip_prefix(TARGET_PREFIX).ok_or_else(unknown)?;
        let call = match action {
            "CreateStateMachine" => Call::CreateStateMachine(input(body)?),
            "DescribeStateMachine" => Call::DescribeStateMachine(input(body)?),
            "UpdateStateMachine" => Call::UpdateStateMachine(input(body)?),
            "DeleteStateMachine" => Call::DeleteStateMachine(input(body)?),
            "ListStateMachines" => Call::ListStateMachines(input(body)?),
            "StartExecution" => Call::StartExecution(input(body)?),
            "DescribeExecution" => Call::DescribeExecution(input(body)?),
            "StopExecution" => Call::StopExecution(input(body)?),
            "ListExecutions" => Call::ListExecutions(input(body)?),
            "GetExecutionHistory" => Call::GetExecutionHistory(input(body)?),
            "DescribeStateMachineForExecution" => {
                Call::DescribeStateMachineForExecution(input(body)?)
            }
            "ValidateStateMachineDefinition" => Call::ValidateStateMachineDefinition(input(body)?),
            "ListTagsForResource" => Call::ListTagsForResource(input(body)?),
            "TagResource" => Call::TagResource(input(body)?),
            "UntagResource" => Call::UntagResource(input(body)?),
            "SendTaskSuccess" => Call::SendTaskSuccess(input(body)?),
            "SendTaskFailure" => Call::SendTaskFailure(input(body)?),
            "SendTaskHeartbeat" => Call::SendTaskHeartbeat(input(body)?),
            "StartSyncExecution" => Call::StartSyncExecution(input(body)?),
            "PublishStateMachineVersion" => Call::PublishStateMachineVersion(input(body)?),
            "ListStateMachineVersions" => Call::ListStateMachineVersions(input(body)?),
            "DeleteStateMachineVersion" => Call::DeleteStateMachineVersion(input(body)?),
            "CreateStateMachineAlias" => Call::CreateStateMachineAlias(input(body)?),
            "DescribeStateMachineAlias" => Call::DescribeStateMachineAlias(input(body)?),
            "UpdateStateMachineAlias" => Call::UpdateStateMachineAlias(input(body)?),
            "DeleteStateMachineAlias" => Call::DeleteStateMachineAlias(input(body)?),
            "ListStateMachineAliases" => Call::ListStateMachineAliases(input(body)?),
            "RedriveExecution" => Call::RedriveExecution(input(body)?),
            "ListMapRuns" => Call::ListMapRuns(input(body)?),
            "DescribeMapRun" => Call::DescribeMapRun(input(body)?),
            "UpdateMapRun" => Call::UpdateMapRun(input(body)?),
            "CreateActivity" => Call::CreateActivity(input(body)?),
            "DescribeActivity" => Call::DescribeActivity(input(body)?),
            "ListActivities" => Call::ListActivities(input(body)?),
            "DeleteActivity" => Call::DeleteActivity(input(body)?),
            "GetActivityTask" => Call::GetActivityTask(input(body)?),
            "TestState" => Call::TestState(input(body)?),
            _ => return Err(unknown()),
        };
        Ok(call)
    }
}

/// An action's input: a JSON object (an empty body is `{}`), each member of its type; a
/// member this server does not know is refused, not ignored.
fn input<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, SfnError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    let value: T = serde_json::from_slice(body).map_err(|e| {
        SfnError::new(
            Code::SerializationException,
            format!("The request body is not this action's input: {e}"),
        )
    })?;
    value.validate()?;
    Ok(value)
}

/// The checks of an input beyond its JSON types: required members, ranges, members whose
/// feature this server does not have.
pub(super) trait Validate {
    fn validate(&self) -> Result<(), SfnError>;
}

pub(super) fn required<T>(value: &Option<T>, member: &str) -> Result<(), SfnError> {
    match value {
        Some(_) => Ok(()),
        None => Err(SfnError::missing(member)),
    }
}

/// A member naming a feature this server does not have: refused rather than ignored.
pub(super) fn not_supported(present: bool, member: &str, feature: &str) -> Result<(), SfnError> {
    if present {
        return Err(SfnError::validation(format!(
            "'{member}' is not supported by this server: {feature}"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MachineType {
    Standard,
    Express,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateStateMachine {
    pub name: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    #[serde(rename = "type")]
    pub machine_type: Option<MachineType>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub tags: Option<Vec<Tag>>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
    pub encryption_configuration: Option<Value>,
}

impl Validate for CreateStateMachine {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.name, "name")?;
        required(&self.definition, "definition")?;
        required(&self.role_arn, "roleArn")?;
        super::tags::check_tags(self.tags.as_deref().unwrap_or_default())?;
        versions::check_publish(self.publish, self.version_description.as_deref())?;
        unencrypted(&self.encryption_configuration)
    }
}

/// `encryptionConfiguration` of a create or an update: a feature this server does not
/// have, refused when asked for.
pub(super) fn unencrypted(encryption: &Option<Value>) -> Result<(), SfnError> {
    not_supported(
        encryption.is_some(),
        "encryptionConfiguration",
        "data is stored in the server's database, encrypted by its storage if at all",
    )
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MachineRef {
    pub state_machine_arn: Option<String>,
    /// `ALL_DATA` or `METADATA_ONLY`: every answer here holds all data.
    pub included_data: Option<String>,
}

impl Validate for MachineRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateStateMachine {
    pub state_machine_arn: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub publish: Option<bool>,
    pub version_description: Option<String>,
    pub encryption_configuration: Option<Value>,
}

impl Validate for UpdateStateMachine {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")?;
        versions::check_publish(self.publish, self.version_description.as_deref())?;
        unencrypted(&self.encryption_configuration)?;
        let changes = [
            self.definition.is_some(),
            self.role_arn.is_some(),
            self.logging_configuration.is_some(),
            self.tracing_configuration.is_some(),
        ];
        if !changes.contains(&true) {
            return Err(SfnError::validation(
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        Ok(())
    }
}

/// `maxResults` (0: the default page) and `nextToken` of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Paging {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

impl Paging {
    /// The page size asked for.
    pub fn limit(&self) -> usize {
        match self.max_results {
            None | Some(0) => DEFAULT_PAGE,
            Some(n) => usize::try_from(n).unwrap_or(DEFAULT_PAGE),
        }
    }
}

impl Validate for Paging {
    fn validate(&self) -> Result<(), SfnError> {
        match self.max_results {
            Some(n) if !(0..=MAX_PAGE as i64).contains(&n) => Err(SfnError::validation(format!(
                "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {MAX_PAGE} and greater than or equal to 0"
            ))),
            _ => match &self.next_token {
                Some(t) if t.is_empty() || t.len() > 1024 => Err(SfnError::new(
                    Code::InvalidToken,
                    "Invalid Token: the nextToken must be 1 to 1024 characters",
                )),
                _ => Ok(()),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartExecution {
    pub state_machine_arn: Option<String>,
    pub name: Option<String>,
    pub input: Option<String>,
    /// X-Ray tracing: accepted, nothing traced.
    pub trace_header: Option<String>,
}

impl Validate for StartExecution {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionRef {
    pub execution_arn: Option<String>,
    /// `ALL_DATA` or `METADATA_ONLY`: every answer here holds all data.
    pub included_data: Option<String>,
}

impl Validate for ExecutionRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.execution_arn, "executionArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopExecution {
    pub execution_arn: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Validate for StopExecution {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.execution_arn, "executionArn")?;
        check_error_and_cause(&self.error, &self.cause)
    }
}

/// AWS's limits of the error and cause a stop or a task failure gives: at most 256 and
/// 32768 characters.
pub(super) fn check_error_and_cause(
    error: &Option<String>,
    cause: &Option<String>,
) -> Result<(), SfnError> {
    let too_long =
        |text: &Option<String>, max: usize| text.as_ref().is_some_and(|t| t.chars().count() > max);
    if too_long(error, 256) || too_long(cause, 32768) {
        return Err(SfnError::validation(
            "The error must be at most 256 characters and the cause at most 32768",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusFilter {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListExecutions {
    pub state_machine_arn: Option<String>,
    pub status_filter: Option<StatusFilter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub map_run_arn: Option<String>,
    pub redrive_filter: Option<RedriveFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RedriveFilter {
    Redriven,
    NotRedriven,
}

impl ListExecutions {
    pub fn paging(&self) -> Paging {
        Paging {
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        }
    }
}

impl Validate for ListExecutions {
    /// A state machine's executions or a map run's children: exactly one of the two ARNs.
    fn validate(&self) -> Result<(), SfnError> {
        match (&self.state_machine_arn, &self.map_run_arn) {
            (None, None) => return Err(SfnError::missing("stateMachineArn")),
            (Some(_), Some(_)) => {
                return Err(SfnError::validation(
                    "Only one of stateMachineArn and mapRunArn can be specified",
                ));
            }
            _ => {}
        }
        self.paging().validate()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetExecutionHistory {
    pub execution_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    #[serde(default)]
    pub reverse_order: bool,
    /// Defaults to true; false leaves the input and output out of the event details.
    pub include_execution_data: Option<bool>,
}

impl GetExecutionHistory {
    pub fn paging(&self) -> Paging {
        Paging {
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        }
    }
}

impl Validate for GetExecutionHistory {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.execution_arn, "executionArn")?;
        self.paging().validate()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidateDefinition {
    pub definition: Option<String>,
    #[serde(rename = "type")]
    pub machine_type: Option<MachineType>,
    /// The least severity reported: `ERROR` (the default), or `WARNING` for warnings too.
    pub severity: Option<Severity>,
    pub max_results: Option<i64>,
}

impl Validate for ValidateDefinition {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.definition, "definition")?;
        match self.max_results {
            Some(n) if !(0..=100).contains(&n) => {
                Err(SfnError::validation("maxResults must be from 0 to 100"))
            }
            _ => Ok(()),
        }
    }
}

/// A diagnostic's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRef {
    pub resource_arn: Option<String>,
}

impl Validate for ResourceRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.resource_arn, "resourceArn")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn each_action_decodes_with_its_permission() {
        let call = Call::decode(
            "AWSStepFunctions.StartExecution",
            br#"{"stateMachineArn": "arn:aws:states:r:1:stateMachine:m", "input": "{}"}"#,
        )
        .unwrap();
        assert_eq!(call.permission(), "states:StartExecution");
        let call = Call::decode("AWSStepFunctions.ListStateMachines", b"").unwrap();
        assert_eq!(
            call,
            Call::ListStateMachines(Paging {
                max_results: None,
                next_token: None
            })
        );
    }

    #[test]
    fn bad_requests_get_awss_codes() {
        let cases: [(&str, &[u8], Code); 7] = [
            (
                "AWSStepFunctions.Nope",
                b"{}",
                Code::UnknownOperationException,
            ),
            (
                "Other.StartExecution",
                b"{}",
                Code::UnknownOperationException,
            ),
            (
                "AWSStepFunctions.StartExecution",
                b"{nope",
                Code::SerializationException,
            ),
            (
                "AWSStepFunctions.StartExecution",
                br#"{"stateMachineArn": 1}"#,
                Code::SerializationException,
            ),
            (
                "AWSStepFunctions.StartExecution",
                b"{}",
                Code::ValidationException,
            ),
            (
                "AWSStepFunctions.ListStateMachines",
                br#"{"maxResults": 1001}"#,
                Code::ValidationException,
            ),
            (
                "AWSStepFunctions.CreateStateMachine",
                br#"{"name": "m", "definition": "{}", "roleArn": "r", "versionDescription": "v"}"#,
                Code::ValidationException,
            ),
        ];
        for (target, body, code) in cases {
            let e = Call::decode(target, body).expect_err(target);
            assert_eq!(e.code, code, "{target} {}", String::from_utf8_lossy(body));
        }
    }

    proptest! {
        /// Whatever arrives, a call is decoded or refused with a client error; none panics.
        #[test]
        fn no_request_panics_the_decoder(
            action in 0..<Action as strum::VariantArray>::VARIANTS.len(),
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                "\\{(\"[a-zA-Z]{1,16}\": (\"[^\"]{0,8}\"|-?[0-9]{1,20}|\\[\\]|\\{\\}|null|true), ){0,4}\"x\": 1\\}"
                    .prop_map(String::into_bytes),
            ],
        ) {
            use strum::VariantArray;
            let name: &'static str = Action::VARIANTS[action].into();
            let target = format!("{TARGET_PREFIX}{}", name.trim_start_matches("states:"));
            if let Err(e) = Call::decode(&target, &body) {
                prop_assert_eq!(e.status(), 400);
            }
        }
    }
}
