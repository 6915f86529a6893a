//! A map run's results written as AWS lays them out: under `{prefix}/{map run}/`, the
//! succeeded children's results in `SUCCEEDED_0.json`, the failed ones' in `FAILED_0.json`
//! (each written only when it has a result), and `manifest.json` naming them with their
//! sizes. The Map's result is `{"ResultWriterDetails": {"Bucket", "Key"}}`, the manifest's key.

use serde_json::{Value, json};
use sluice_ir::objects::{ChildResult, ResultOutput, ResultTransformation, ResultsRequest};

use super::folder::Folder;

pub(super) fn write(folder: &Folder, request: &ResultsRequest) -> Result<Value, String> {
    let prefix = request.prefix.trim_end_matches('/');
    let base = if prefix.is_empty() {
        request.run.clone()
    } else {
        format!("{prefix}/{}", request.run)
    };
    let mut files = json!({"SUCCEEDED": [], "FAILED": [], "PENDING": []});
    for (status, succeeded) in [("SUCCEEDED", true), ("FAILED", false)] {
        let records: Vec<Value> = request
            .results
            .iter()
            .filter(|result| result.succeeded == succeeded)
            .flat_map(|result| shaped(result, request.transformation))
            .collect();
        if records.is_empty() {
            continue;
        }
        let key = format!("{base}/{status}_0.json");
        let bytes = encode(&records, request.output);
        folder.write(&key, &bytes)?;
        if let Some(list) = files[status].as_array_mut() {
            list.push(json!({"Key": key, "Size": bytes.len()}));
        }
    }
    let manifest_key = format!("{base}/manifest.json");
    let manifest = json!({
        "DestinationBucket": request.bucket,
        "ResultFiles": files,
    });
    folder.write(&manifest_key, manifest.to_string().as_bytes())?;
    Ok(json!({
        "ResultWriterDetails": {"Bucket": request.bucket, "Key": manifest_key}
    }))
}

/// What the files hold of one child: its record (`NONE`, and a failed child always), its
/// output (`COMPACT`), or its output's elements when it is an array (`FLATTEN`).
fn shaped(result: &ChildResult, transformation: ResultTransformation) -> Vec<Value> {
    if result.succeeded {
        match (transformation, &result.value) {
            (ResultTransformation::Flatten, Value::Array(items)) => return items.clone(),
            (ResultTransformation::Compact | ResultTransformation::Flatten, value) => {
                return vec![value.clone()];
            }
            (ResultTransformation::None, _) => {}
        }
    }
    let mut record = json!({
        "Index": result.index,
        "Status": if result.succeeded { "SUCCEEDED" } else { "FAILED" },
    });
    if result.succeeded {
        record["Output"] = Value::String(result.value.to_string());
    } else {
        record["Error"] = result.value["Error"].clone();
        record["Cause"] = result.value["Cause"].clone();
    }
    vec![record]
}

fn encode(records: &[Value], output: ResultOutput) -> Vec<u8> {
    match output {
        ResultOutput::Json => Value::Array(records.to_vec()).to_string().into_bytes(),
        ResultOutput::JsonLines => records
            .iter()
            .flat_map(|record| {
                let mut line = record.to_string().into_bytes();
                line.push(b'\n');
                line
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(index: u32, succeeded: bool, value: Value) -> ChildResult {
        ChildResult {
            index,
            succeeded,
            value,
        }
    }

    #[test]
    fn results_go_under_the_prefix_and_run_with_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::open(dir.path()).unwrap();
        let request = ResultsRequest {
            bucket: "b".into(),
            prefix: "out/".into(),
            run: "r1".into(),
            output: ResultOutput::Json,
            transformation: ResultTransformation::None,
            results: vec![
                result(0, true, json!({"n": 1})),
                result(1, false, json!({"Error": "E", "Cause": "c"})),
            ],
        };
        let answer = write(&folder, &request).unwrap();
        assert_eq!(
            answer,
            json!({"ResultWriterDetails": {"Bucket": "b", "Key": "out/r1/manifest.json"}})
        );
        let read = |key: &str| -> Value {
            serde_json::from_slice(&std::fs::read(dir.path().join(key)).unwrap()).unwrap()
        };
        assert_eq!(
            read("out/r1/SUCCEEDED_0.json"),
            json!([{"Index": 0, "Status": "SUCCEEDED", "Output": "{\"n\":1}"}])
        );
        assert_eq!(
            read("out/r1/FAILED_0.json"),
            json!([{"Index": 1, "Status": "FAILED", "Error": "E", "Cause": "c"}])
        );
        let manifest = read("out/r1/manifest.json");
        assert_eq!(manifest["DestinationBucket"], "b");
        assert_eq!(
            manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
            "out/r1/SUCCEEDED_0.json"
        );
        assert_eq!(
            manifest["ResultFiles"]["FAILED"][0]["Key"],
            "out/r1/FAILED_0.json"
        );
    }

    #[test]
    fn compact_and_flatten_keep_outputs_alone() {
        let ok = result(0, true, json!([1, 2]));
        assert_eq!(shaped(&ok, ResultTransformation::Compact), [json!([1, 2])]);
        assert_eq!(
            shaped(&ok, ResultTransformation::Flatten),
            [json!(1), json!(2)]
        );
        let failed = result(1, false, json!({"Error": "E", "Cause": "c"}));
        assert_eq!(
            shaped(&failed, ResultTransformation::Flatten)[0]["Status"],
            "FAILED"
        );
        assert_eq!(
            encode(&[json!(1), json!({"a": 2})], ResultOutput::JsonLines),
            b"1\n{\"a\":2}\n"
        );
    }
}
