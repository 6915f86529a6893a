//! Items and results kept in a bucket: a distributed Map's item source (CloudFlow
//! `ItemReader` on OSS, the Amazon States Language's `ItemReader` on S3) and result sink
//! (`ResultWriter`), as every language translates them, and the requests the engine hands the
//! runtime to read and write them. Reading and writing objects is IO: the engine asks for it
//! as a task call of one of [`crate::actions`]' object actions, the runtime answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asl::AslValue;
use crate::expr::Expr;

/// A value the engine reads when the state runs: a CloudFlow expression (a literal is
/// `Expr::Literal`) or an ASL field (literal, `….$` path or JSONata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    Expr(Expr),
    Asl(AslValue),
}

/// Where a distributed Map reads its items instead of from its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemReader {
    pub bucket: Operand,
    /// The object's key (`ObjectName`, `Key`), or of a listing the prefix (`Prefix`; `None`:
    /// every object of the bucket).
    pub key: Option<Operand>,
    pub format: ItemFormat,
    /// `MaxItems` / `MaxItemsPath`: at most this many items are read (`None`: all of them,
    /// up to the server's bound).
    pub max_items: Option<Operand>,
    /// How history events name the read (`arn:aws:states:::s3:getObject`, `OSS_CSV`).
    pub resource: String,
    /// The error a failed read fails the Map with, as the language names it
    /// (`States.ItemReaderFailed`).
    pub error: String,
}

/// How an object's bytes become items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ItemFormat {
    /// A row per item, an object of the header names to the row's text fields.
    Csv {
        headers: CsvHeaders,
        delimiter: CsvDelimiter,
    },
    /// The object is one JSON array; each element an item.
    JsonArray,
    /// A JSON value per line (JSON Lines).
    JsonLines,
    /// No object is read: an item per object whose key starts with the prefix, its metadata
    /// (`Key`, `Size`, `LastModified`, `Etag`, `StorageClass`).
    Listing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsvHeaders {
    /// The first row names the columns.
    FirstRow,
    /// The definition names them; every row is data.
    Given(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsvDelimiter {
    Comma,
    Pipe,
    Semicolon,
    Space,
    Tab,
}

impl CsvDelimiter {
    pub fn byte(self) -> u8 {
        match self {
            CsvDelimiter::Comma => b',',
            CsvDelimiter::Pipe => b'|',
            CsvDelimiter::Semicolon => b';',
            CsvDelimiter::Space => b' ',
            CsvDelimiter::Tab => b'\t',
        }
    }
}

/// Where a distributed Map writes its children's results; the Map's result is then where
/// they went (`{"ResultWriterDetails": {"Bucket", "Key"}}`), not the results themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultWriter {
    pub bucket: Operand,
    /// Prepended to every key written (`None`: the bucket's root).
    pub prefix: Option<Operand>,
    pub output: ResultOutput,
    pub transformation: ResultTransformation,
    /// How history events name the write (`arn:aws:states:::s3:putObject`, `OSS`).
    pub resource: String,
    /// The error a failed write fails the Map with (`States.ResultWriterFailed`).
    pub error: String,
}

/// How the result files hold the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultOutput {
    /// One JSON array per file.
    Json,
    /// One JSON value per line.
    JsonLines,
}

/// What each result of the files is (AWS's `WriterConfig.Transformation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResultTransformation {
    /// A record per child: its index, status and output (or error and cause).
    None,
    /// The children's outputs alone (a failed child's record stays whole).
    Compact,
    /// As `Compact`, an output that is an array spliced in element by element.
    Flatten,
}

/// What the runtime is asked to read ([`crate::actions::READ_ITEMS`]'s call body); its answer
/// is the array of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemsRequest {
    pub bucket: String,
    #[serde(default)]
    pub key: String,
    pub format: ItemFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
}

/// What the runtime is asked to write ([`crate::actions::WRITE_RESULTS`]'s call body); its
/// answer is the Map's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsRequest {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// The map run's name: the folder under the prefix the files go to.
    pub run: String,
    pub output: ResultOutput,
    pub transformation: ResultTransformation,
    pub results: Vec<ChildResult>,
}

/// One child's end, in index order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildResult {
    pub index: u32,
    pub succeeded: bool,
    /// The output, or a failed child's `{"Error", "Cause"}`.
    pub value: Value,
}
