//! The CSV fields both item readers share (CloudFlow's `ReaderConfig` spells them as AWS's).

use sluice_ir::objects::CsvDelimiter;

use super::one_of;
use crate::doc::Node;
use crate::error::Problem;

/// `CSVDelimiter`: `COMMA` (the default), `PIPE`, `SEMICOLON`, `SPACE` or `TAB`.
pub(crate) fn csv_delimiter(node: &Node) -> Result<CsvDelimiter, Problem> {
    let word = one_of(
        node,
        &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
        "CSVDelimiter",
        "delimiters",
    )?;
    Ok(match word {
        "PIPE" => CsvDelimiter::Pipe,
        "SEMICOLON" => CsvDelimiter::Semicolon,
        "SPACE" => CsvDelimiter::Space,
        "TAB" => CsvDelimiter::Tab,
        _ => CsvDelimiter::Comma,
    })
}

/// `CSVHeaders`: the column names, at least one.
pub(crate) fn csv_headers(node: &Node) -> Result<Vec<String>, Problem> {
    let names = node
        .as_seq()
        .map_err(|_| node.expected("a list of column names"))?
        .iter()
        .map(|name| name.as_str().map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        return Err(Problem::at(
            node.loc,
            "CSVHeaders names at least one column",
        ));
    }
    Ok(names)
}
