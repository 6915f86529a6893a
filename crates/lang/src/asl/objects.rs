//! A DISTRIBUTED Map's `ItemReader` (`s3:getObject` with a `ReaderConfig.InputType`, or
//! `s3:listObjectsV2`), `ItemBatcher` and `ResultWriter` (`s3:putObject`), translated into the IR's item
//! source and result sink. Their `Parameters` (JSONPath: a field or its `.$` path) or
//! `Arguments` (JSONata: a field or a `{% … %}` expression) name the bucket and key.

use sluice_ir::objects::{CsvHeaders, ItemFormat, ResultOutput, ResultTransformation};
use sluice_ir::{AslValue, ItemBatcher, ItemReader, Operand, QueryLanguage, ResultWriter};

use super::data::{Values, reference_path};
use crate::doc::Node;
use crate::error::Problem;
use crate::frontend::{
    Fields, ITEM_BATCHER_FIELDS, csv_delimiter, csv_headers, item_batcher as batcher, one_of,
};

const READER_FIELDS: &[&str] = &["Resource", "ReaderConfig", "Parameters", "Arguments"];
const READER_CONFIG_FIELDS: &[&str] = &[
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "MaxItems",
    "MaxItemsPath",
];
const WRITER_FIELDS: &[&str] = &["Resource", "Parameters", "Arguments", "WriterConfig"];
/// `VersionId` is taken and not used: a folder keeps one version of each object.
const READER_PARAMETERS: &[&str] = &[
    "Bucket",
    "Bucket.$",
    "Key",
    "Key.$",
    "Prefix",
    "Prefix.$",
    "VersionId",
    "VersionId.$",
];
const WRITER_PARAMETERS: &[&str] = &["Bucket", "Bucket.$", "Prefix", "Prefix.$"];
/// AWS's bound on `MaxItems`.
const MAX_ITEMS: i64 = 100_000_000;
const GET_OBJECT: &str = ":states:::s3:getObject";
const LIST_OBJECTS: &str = ":states:::s3:listObjectsV2";
const PUT_OBJECT: &str = ":states:::s3:putObject";

pub(super) fn item_reader(node: &Node, query: QueryLanguage) -> Result<ItemReader, Problem> {
    let fields = Fields::of(node, "an ItemReader")?;
    fields.allow_only(READER_FIELDS, "an ItemReader")?;
    let resource = fields.require("Resource", "an ItemReader")?;
    let arn = resource.as_str()?;
    let parameters = parameters(&fields, query, "an ItemReader", READER_PARAMETERS)?;
    let config = match fields.get("ReaderConfig") {
        Some(node) => Some(Values {
            fields: Fields::of(node, "a ReaderConfig")?,
            query,
        }),
        None => None,
    };
    if let Some(config) = &config {
        config
            .fields
            .allow_only(READER_CONFIG_FIELDS, "a ReaderConfig")?;
    }
    let bucket = parameter(&parameters, "Bucket")?.ok_or_else(|| {
        Problem::at(
            parameters.fields.loc(),
            "the ItemReader's parameters need Bucket",
        )
    })?;
    let (format, key) = if arn.starts_with("arn:") && arn.ends_with(LIST_OBJECTS) {
        (ItemFormat::Listing, parameter(&parameters, "Prefix")?)
    } else if arn.starts_with("arn:") && arn.ends_with(GET_OBJECT) {
        let key = parameter(&parameters, "Key")?.ok_or_else(|| {
            Problem::at(
                parameters.fields.loc(),
                "s3:getObject's parameters need Key",
            )
        })?;
        (input_type(config.as_ref(), fields.loc())?, Some(key))
    } else {
        return Err(Problem::at(
            resource.text_loc(),
            format!(
                "unsupported ItemReader Resource {arn:?}; the readers are \
                 arn:aws:states:::s3:getObject and arn:aws:states:::s3:listObjectsV2"
            ),
        ));
    };
    let max_items = match &config {
        Some(config) => {
            let number = config.number("MaxItems", 0, MAX_ITEMS)?;
            match (number.literal, number.dynamic) {
                (Some(max), _) => Some(Operand::Asl(AslValue::Literal(max.into()))),
                (None, dynamic) => dynamic.map(Operand::Asl),
            }
        }
        None => None,
    };
    Ok(ItemReader {
        bucket,
        key,
        format,
        max_items,
        resource: arn.to_owned(),
        error: "States.ItemReaderFailed".to_owned(),
    })
}

pub(super) fn result_writer(node: &Node, query: QueryLanguage) -> Result<ResultWriter, Problem> {
    let fields = Fields::of(node, "a ResultWriter")?;
    fields.allow_only(WRITER_FIELDS, "a ResultWriter")?;
    let Some(resource) = fields.get("Resource") else {
        return Err(Problem::at(
            fields.loc(),
            "a ResultWriter without Resource (WriterConfig alone, shaping the state's output) \
             is not supported; give Resource arn:aws:states:::s3:putObject and its Parameters",
        ));
    };
    let arn = resource.as_str()?;
    if !(arn.starts_with("arn:") && arn.ends_with(PUT_OBJECT)) {
        return Err(Problem::at(
            resource.text_loc(),
            format!(
                "unsupported ResultWriter Resource {arn:?}; the writer is arn:aws:states:::s3:putObject"
            ),
        ));
    }
    let parameters = parameters(&fields, query, "a ResultWriter", WRITER_PARAMETERS)?;
    let bucket = parameter(&parameters, "Bucket")?.ok_or_else(|| {
        Problem::at(
            parameters.fields.loc(),
            "the ResultWriter's parameters need Bucket",
        )
    })?;
    let (mut output, mut transformation) = (ResultOutput::Json, ResultTransformation::None);
    if let Some(node) = fields.get("WriterConfig") {
        let config = Fields::of(node, "a WriterConfig")?;
        config.allow_only(&["OutputType", "Transformation"], "a WriterConfig")?;
        if let Some(node) = config.get("OutputType")
            && one_of(node, &["JSON", "JSONL"], "OutputType", "output types")? == "JSONL"
        {
            output = ResultOutput::JsonLines;
        }
        if let Some(node) = config.get("Transformation") {
            transformation = match one_of(
                node,
                &["NONE", "COMPACT", "FLATTEN"],
                "Transformation",
                "transformations",
            )? {
                "COMPACT" => ResultTransformation::Compact,
                "FLATTEN" => ResultTransformation::Flatten,
                _ => ResultTransformation::None,
            };
        }
    }
    Ok(ResultWriter {
        bucket,
        prefix: parameter(&parameters, "Prefix")?,
        output,
        transformation,
        resource: arn.to_owned(),
        error: "States.ResultWriterFailed".to_owned(),
    })
}

/// `ItemBatcher` with its bounds and `BatchInput` given literally; their `…Path` and JSONata
/// forms, and a `BatchInput` reading the input, are refused.
pub(super) fn item_batcher(node: &Node) -> Result<ItemBatcher, Problem> {
    let fields = Fields::of(node, "an ItemBatcher")?;
    let dynamic = ["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"];
    let mut allowed = ITEM_BATCHER_FIELDS.to_vec();
    allowed.extend(dynamic);
    fields.allow_only(&allowed, "an ItemBatcher")?;
    let read_at_run_time = dynamic
        .iter()
        .filter_map(|key| fields.get(key))
        .chain(
            fields
                .get("BatchInput")
                .filter(|n| reads_input(&n.to_json())),
        )
        .chain(
            ["MaxItemsPerBatch", "MaxInputBytesPerBatch"]
                .iter()
                .filter_map(|key| fields.get(key))
                .filter(|n| n.as_str().is_ok()),
        )
        .next();
    if let Some(node) = read_at_run_time {
        return Err(Problem::at(
            node.loc,
            "an ItemBatcher read from the input (a …Path, a .$ field or JSONata) is not supported; give its values literally",
        ));
    }
    batcher(node, &fields)
}

/// Whether a JSON value holds a `.$` key or a `{% … %}` string.
fn reads_input(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.ends_with(".$") || reads_input(value)),
        serde_json::Value::Array(items) => items.iter().any(reads_input),
        serde_json::Value::String(text) => text.starts_with("{%"),
        _ => false,
    }
}

/// `ReaderConfig.InputType` (with the CSV fields); PARQUET and MANIFEST are refused.
fn input_type(config: Option<&Values<'_>>, at: crate::doc::Loc) -> Result<ItemFormat, Problem> {
    let Some(config) = config else {
        return Err(Problem::at(
            at,
            "an s3:getObject ItemReader needs ReaderConfig with its InputType",
        ));
    };
    let node = config.fields.require("InputType", "a ReaderConfig")?;
    let kind = one_of(
        node,
        &["CSV", "JSON", "JSONL", "MANIFEST", "PARQUET"],
        "InputType",
        "input types",
    )?;
    match kind {
        "JSON" => Ok(ItemFormat::JsonArray),
        "JSONL" => Ok(ItemFormat::JsonLines),
        "CSV" => {
            let location = match config.fields.get("CSVHeaderLocation") {
                Some(node) => one_of(
                    node,
                    &["FIRST_ROW", "GIVEN"],
                    "CSVHeaderLocation",
                    "header locations",
                )?,
                None => "FIRST_ROW",
            };
            let headers = match (location, config.fields.get("CSVHeaders")) {
                ("GIVEN", Some(node)) => CsvHeaders::Given(csv_headers(node)?),
                ("GIVEN", None) => {
                    return Err(Problem::at(
                        config.fields.loc(),
                        "CSVHeaderLocation GIVEN needs CSVHeaders",
                    ));
                }
                (_, Some(node)) => {
                    return Err(Problem::at(
                        node.loc,
                        "CSVHeaders belongs to CSVHeaderLocation GIVEN",
                    ));
                }
                (_, None) => CsvHeaders::FirstRow,
            };
            let delimiter = match config.fields.get("CSVDelimiter") {
                Some(node) => csv_delimiter(node)?,
                None => sluice_ir::objects::CsvDelimiter::Comma,
            };
            Ok(ItemFormat::Csv { headers, delimiter })
        }
        other => Err(Problem::at(
            node.text_loc(),
            format!(
                "InputType {other} is not supported; the input types read are CSV, JSON and JSONL"
            ),
        )),
    }
}

/// `Parameters` (JSONPath) or `Arguments` (JSONata), by the query language.
fn parameters<'a>(
    fields: &Fields<'a>,
    query: QueryLanguage,
    owner: &str,
    allowed: &[&str],
) -> Result<Values<'a>, Problem> {
    let (key, wrong) = match query {
        QueryLanguage::JsonPath => ("Parameters", "Arguments"),
        QueryLanguage::Jsonata => ("Arguments", "Parameters"),
    };
    if let Some(node) = fields.get(wrong) {
        return Err(Problem::at(
            node.loc,
            format!("{owner} takes {key} under this query language, not {wrong}"),
        ));
    }
    let node = fields.require(key, owner)?;
    let what = format!("the {key} of {owner}");
    let parameters = Fields::of(node, &what)?;
    parameters.allow_only(allowed, &what)?;
    Ok(Values {
        fields: parameters,
        query,
    })
}

/// A parameter: literal, its `.$` path (JSONPath) or a `{% … %}` expression (JSONata).
fn parameter(parameters: &Values<'_>, key: &str) -> Result<Option<Operand>, Problem> {
    let path_key = format!("{key}.$");
    let fields = &parameters.fields;
    match (fields.get(key), fields.get(&path_key)) {
        (Some(_), Some(node)) => Err(Problem::at(
            node.loc,
            format!("give {key} or {path_key}, not both"),
        )),
        (None, Some(node)) if parameters.query == QueryLanguage::JsonPath => {
            Ok(Some(Operand::Asl(AslValue::Path(reference_path(node)?))))
        }
        (Some(node), None) => Ok(Some(Operand::Asl(match parameters.jsonata(node, key)? {
            Some(template) => AslValue::Jsonata(template),
            None => AslValue::Literal(node.as_str()?.into()),
        }))),
        _ => Ok(None),
    }
}
