//! Data plumbing shared by the states: merging, sizes, and `$Context`.

use std::io;

use serde_json::{Map, Value, json};
use sluice_ir::TaskError;

/// Legacy default input: the scope's input and local merged, local winning.
pub(crate) fn merged(input: &Value, local: &Value) -> Value {
    match (input, local) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(out)
        }
        (_, Value::Object(b)) if !b.is_empty() => local.clone(),
        _ => input.clone(),
    }
}

/// Legacy: a state's output is merged into the scope's local. Outputs that are not objects
/// have no keys to merge and leave local as it is.
pub(crate) fn merge_into(local: &mut Value, output: Value) {
    if let Value::Object(out) = output {
        match local {
            Value::Object(l) => l.extend(out),
            _ => *local = Value::Object(out),
        }
    }
}

/// The serialized size of a value, without allocating it.
pub(crate) fn json_size(value: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value to an infallible sink cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The legacy error object seen as `$local` in `errorMappings`.
pub(crate) fn legacy_error_value(error: &TaskError) -> Value {
    json!({ "error": error.code.as_str(), "cause": error.detail })
}

/// What `$Context.Current` describes.
pub(crate) struct Current<'a> {
    pub name: &'a str,
    pub input: &'a Value,
    pub output: Option<&'a Value>,
    pub error: Option<&'a TaskError>,
    pub retry_count: u32,
    pub token: Option<&'a str>,
}

pub(crate) fn context_value(
    execution_name: &str,
    execution_input: Option<&Value>,
    role_arn: Option<&str>,
    current: &Current<'_>,
) -> Value {
    let mut cur = Map::new();
    cur.insert("Name".into(), current.name.into());
    cur.insert("Input".into(), current.input.clone());
    if let Some(output) = current.output {
        cur.insert("Output".into(), output.clone());
    }
    if let Some(error) = current.error {
        cur.insert("Error".into(), error.to_value());
    }
    cur.insert("RetryCount".into(), current.retry_count.into());
    if let Some(token) = current.token {
        cur.insert("TaskToken".into(), token.into());
    }
    json!({
        "Execution": {
            "Name": execution_name,
            "Input": execution_input.cloned().unwrap_or(Value::Null),
            "RoleArn": role_arn.unwrap_or(""),
        },
        "Current": Value::Object(cur),
    })
}
