//! An object's bytes (or a listing) made into items: CSV rows as objects of their header's
//! names, a JSON array's elements, a JSON Lines object's lines, a listing's objects.

use serde_json::{Map, Value, json};
use sluice_ir::objects::{CsvHeaders, ItemFormat, ItemsRequest};

use super::folder::Folder;
use super::{MAX_ITEMS, MAX_OBJECT_BYTES};

pub(super) fn read(folder: &Folder, request: &ItemsRequest) -> Result<Value, String> {
    // `MaxItems` reads the first items only; without it, an object of more items than the
    // server's bound is refused rather than cut short.
    let limit = request
        .max_items
        .and_then(|max| usize::try_from(max).ok())
        .map_or(MAX_ITEMS, |max| max.min(MAX_ITEMS));
    let bounded = request.max_items.is_some();
    let key = &request.key;
    let items = match &request.format {
        ItemFormat::Listing => folder
            .list(key, MAX_ITEMS)?
            .into_iter()
            .take(limit)
            .map(|object| {
                json!({
                    "Key": object.key,
                    "Size": object.size,
                    "LastModified": object.modified,
                    "StorageClass": "STANDARD",
                })
            })
            .collect(),
        format => {
            let bytes = folder.read(key, MAX_OBJECT_BYTES)?;
            let items =
                parse(format, &bytes, limit + 1).map_err(|e| format!("object {key:?}: {e}"))?;
            if items.len() > limit && !bounded {
                return Err(format!(
                    "object {key:?} holds more than the {MAX_ITEMS} items a read may make; give MaxItems"
                ));
            }
            items.into_iter().take(limit).collect()
        }
    };
    Ok(Value::Array(items))
}

/// At most `limit` items of `bytes`.
fn parse(format: &ItemFormat, bytes: &[u8], limit: usize) -> Result<Vec<Value>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match format {
        ItemFormat::JsonArray => match serde_json::from_slice(bytes) {
            Ok(Value::Array(items)) => Ok(items.into_iter().take(limit).collect()),
            Ok(_) => Err("it is JSON but not an array".into()),
            Err(e) => Err(format!("it is not JSON: {e}")),
        },
        ItemFormat::JsonLines => bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.trim_ascii().is_empty())
            .take(limit)
            .map(|(at, line)| {
                serde_json::from_slice(line)
                    .map_err(|e| format!("line {} is not JSON: {e}", at + 1))
            })
            .collect(),
        ItemFormat::Csv { headers, delimiter } => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter.byte())
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut rows = reader.records();
            let names: Vec<String> = match headers {
                CsvHeaders::Given(names) => names.clone(),
                CsvHeaders::FirstRow => match rows.next() {
                    Some(row) => row
                        .map_err(|e| format!("its header row is not CSV: {e}"))?
                        .iter()
                        .map(str::to_owned)
                        .collect(),
                    None => return Ok(Vec::new()),
                },
            };
            rows.take(limit)
                .map(|row| {
                    let row = row.map_err(|e| format!("it is not CSV: {e}"))?;
                    if row.len() > names.len() {
                        let line = row.position().map_or(0, csv::Position::line);
                        return Err(format!(
                            "row {line} has {} fields, more than the {} headers",
                            row.len(),
                            names.len()
                        ));
                    }
                    let item: Map<String, Value> = names
                        .iter()
                        .zip(row.iter())
                        .map(|(name, field)| (name.clone(), Value::String(field.to_owned())))
                        .collect();
                    Ok(Value::Object(item))
                })
                .collect()
        }
        ItemFormat::Listing => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_ir::objects::CsvDelimiter;

    use super::*;

    fn csv(headers: CsvHeaders, delimiter: CsvDelimiter) -> ItemFormat {
        ItemFormat::Csv { headers, delimiter }
    }

    #[test]
    fn csv_rows_are_objects_of_their_headers() {
        let text = b"\xEF\xBB\xBFname,count\n\"a, b\",1\nc,2\n";
        let items = parse(&csv(CsvHeaders::FirstRow, CsvDelimiter::Comma), text, 10).unwrap();
        assert_eq!(
            items,
            [
                json!({"name": "a, b", "count": "1"}),
                json!({"name": "c", "count": "2"})
            ]
        );
        let given = CsvHeaders::Given(vec!["x".into(), "y".into()]);
        let items = parse(&csv(given.clone(), CsvDelimiter::Pipe), b"1|2\n3|4\n", 1).unwrap();
        assert_eq!(items, [json!({"x": "1", "y": "2"})]);
        let error = parse(&csv(given, CsvDelimiter::Comma), b"1,2,3\n", 10).unwrap_err();
        assert!(error.contains("more than the 2 headers"), "{error}");
    }

    #[test]
    fn json_and_json_lines() {
        assert_eq!(
            parse(&ItemFormat::JsonArray, b"[1, {\"a\": 2}]", 10).unwrap(),
            [json!(1), json!({"a": 2})]
        );
        assert!(parse(&ItemFormat::JsonArray, b"{}", 10).is_err());
        assert_eq!(
            parse(&ItemFormat::JsonLines, b"{\"a\": 1}\n\n[2]\n", 10).unwrap(),
            [json!({"a": 1}), json!([2])]
        );
        let error = parse(&ItemFormat::JsonLines, b"1\nnope\n", 10).unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }
}
