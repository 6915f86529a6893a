//! A distributed Map's `ItemReader` (items in an OSS object, or a listing of objects),
//! `MaxItems` and `ResultWriter` (results to OSS), translated into the IR's item source and
//! result sink. Each field given literally, or as an expression with a `.$` key
//! (`Bucket.$: $Input.bucket`).

use serde_json::Value;
use sluice_ir::objects::{
    CsvDelimiter, CsvHeaders, ItemFormat, ResultOutput, ResultTransformation,
};
use sluice_ir::{Expr, ItemReader, Operand, ResultWriter};

use crate::doc::Node;
use crate::error::Problem;
use crate::expr::parse_cloudflow;
use crate::frontend::{Fields, csv_delimiter, csv_headers, expr_at, one_of};

const SOURCE_TYPES: &[&str] = &[
    "OSS_CSV",
    "OSS_JSON_LIST",
    "OSS_OBJECTS",
    "OSS_INVENTORY_FILES",
];
const READER_FIELDS: &[&str] = &["SourceType", "SourceParameters", "ReaderConfig"];
const SOURCE_FIELDS: &[&str] = &[
    "Bucket",
    "Bucket.$",
    "ObjectName",
    "ObjectName.$",
    "Prefix",
    "Prefix.$",
];
const READER_CONFIG_FIELDS: &[&str] = &["CSVHeaders", "CSVDelimiter", "MaxItems", "MaxItems.$"];
const WRITER_FIELDS: &[&str] = &["Parameters", "Bucket", "Bucket.$", "Prefix", "Prefix.$"];
const WRITER_PARAMETERS: &[&str] = &["Bucket", "Bucket.$", "Prefix", "Prefix.$"];
/// What a failed read or write fails the Map with (the pages name no error).
const READ_FAILED: &str = "FnF.ItemReaderFailed";
const WRITE_FAILED: &str = "FnF.ResultWriterFailed";

/// `ItemReader`, with the Map's `MaxItems` (which a `ReaderConfig.MaxItems` may give too).
pub(super) fn item_reader(node: &Node, map: &Fields<'_>) -> Result<ItemReader, Problem> {
    let fields = Fields::of(node, "an ItemReader")?;
    fields.allow_only(READER_FIELDS, "an ItemReader")?;
    let source_type = fields.require("SourceType", "an ItemReader")?;
    let kind = one_of(source_type, SOURCE_TYPES, "SourceType", "source types")?;
    let source = Fields::of(
        fields.require("SourceParameters", "an ItemReader")?,
        "the SourceParameters",
    )?;
    source.allow_only(SOURCE_FIELDS, "the SourceParameters")?;
    let config = match fields.get("ReaderConfig") {
        Some(node) => Some(Fields::of(node, "a ReaderConfig")?),
        None => None,
    };
    if let Some(config) = &config {
        config.allow_only(READER_CONFIG_FIELDS, "a ReaderConfig")?;
    }
    let bucket = required(&source, "Bucket", "the SourceParameters")?;
    let (format, key) = match kind {
        "OSS_CSV" => (
            csv_format(config.as_ref())?,
            Some(required(
                &source,
                "ObjectName",
                "the SourceParameters of OSS_CSV",
            )?),
        ),
        "OSS_JSON_LIST" => (
            ItemFormat::JsonArray,
            Some(required(
                &source,
                "ObjectName",
                "the SourceParameters of OSS_JSON_LIST",
            )?),
        ),
        "OSS_OBJECTS" => (ItemFormat::Listing, operand(&source, "Prefix")?),
        _ => {
            return Err(Problem::at(
                source_type.text_loc(),
                "SourceType OSS_INVENTORY_FILES (an OSS inventory's manifest) is not supported; \
                 list the objects with OSS_OBJECTS and a Prefix",
            ));
        }
    };
    let max_items = match (operand(map, "MaxItems")?, config.as_ref()) {
        (Some(max), _) => Some(max),
        (None, Some(config)) => operand(config, "MaxItems")?,
        (None, None) => None,
    };
    if let Some(Operand::Expr(Expr::Literal(value))) = &max_items
        && value.as_u64().is_none()
    {
        let node = map
            .get("MaxItems")
            .or_else(|| config.as_ref().and_then(|c| c.get("MaxItems")));
        return Err(Problem::at(
            node.map_or(fields.loc(), Node::text_loc),
            format!("MaxItems is a non-negative integer, found {value}"),
        ));
    }
    Ok(ItemReader {
        bucket,
        key,
        format,
        max_items,
        resource: kind.to_owned(),
        error: READ_FAILED.to_owned(),
    })
}

/// `ResultWriter`: `Parameters: {Bucket, Prefix}` (the `Bucket` and `Prefix` may stand in
/// the `ResultWriter` itself too).
pub(super) fn result_writer(node: &Node) -> Result<ResultWriter, Problem> {
    let fields = Fields::of(node, "a ResultWriter")?;
    fields.allow_only(WRITER_FIELDS, "a ResultWriter")?;
    let parameters = match fields.get("Parameters") {
        Some(node) => {
            let parameters = Fields::of(node, "the ResultWriter Parameters")?;
            parameters.allow_only(WRITER_PARAMETERS, "the ResultWriter Parameters")?;
            parameters
        }
        None => fields,
    };
    Ok(ResultWriter {
        bucket: required(&parameters, "Bucket", "a ResultWriter")?,
        prefix: operand(&parameters, "Prefix")?,
        output: ResultOutput::Json,
        transformation: ResultTransformation::None,
        resource: "OSS".to_owned(),
        error: WRITE_FAILED.to_owned(),
    })
}

fn csv_format(config: Option<&Fields<'_>>) -> Result<ItemFormat, Problem> {
    let headers = match config.and_then(|c| c.get("CSVHeaders")) {
        None => CsvHeaders::FirstRow,
        Some(node) => CsvHeaders::Given(csv_headers(node)?),
    };
    let delimiter = match config.and_then(|c| c.get("CSVDelimiter")) {
        None => CsvDelimiter::Comma,
        Some(node) => csv_delimiter(node)?,
    };
    Ok(ItemFormat::Csv { headers, delimiter })
}

fn required(fields: &Fields<'_>, key: &str, owner: &str) -> Result<Operand, Problem> {
    operand(fields, key)?.ok_or_else(|| {
        Problem::at(
            fields.loc(),
            format!("{owner} needs {key} (or {key}.$, an expression)"),
        )
    })
}

/// `key` given literally or `key.$` as an expression; not both.
fn operand(fields: &Fields<'_>, key: &str) -> Result<Option<Operand>, Problem> {
    let dynamic = format!("{key}.$");
    match (fields.get(key), fields.get(&dynamic)) {
        (Some(_), Some(node)) => Err(Problem::at(
            node.loc,
            format!("give {key} or {dynamic}, not both"),
        )),
        (Some(node), None) => {
            let value = node.to_json();
            if matches!(value, Value::Null | Value::Array(_) | Value::Object(_)) {
                return Err(node.expected("a string or a number"));
            }
            Ok(Some(Operand::Expr(Expr::Literal(value))))
        }
        (None, Some(node)) => Ok(Some(Operand::Expr(expr_at(node, parse_cloudflow)?))),
        (None, None) => Ok(None),
    }
}
