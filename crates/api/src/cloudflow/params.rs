//! The parameters of one request: the query string and a form-encoded body, merged (the Python
//! SDK splits them; the Node client sends everything in the body).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::Value;

use super::error::CloudFlowError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn decode(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Self {
        let mut params = BTreeMap::new();
        if let Some(query) = query {
            params.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
        }
        let form = content_type.is_some_and(|c| {
            c.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
        if form {
            params.extend(form_urlencoded::parse(body).into_owned());
        }
        Params(params)
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// A parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<String, CloudFlowError> {
        self.optional(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CloudFlowError::missing(name))
    }

    /// A boolean in any case (`True`, `false`), as the SDKs send them.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, CloudFlowError> {
        match self.0.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v == "true" => Ok(Some(true)),
            Some(v) if v == "false" => Ok(Some(false)),
            Some(v) => Err(CloudFlowError::invalid(format!(
                "{name} must be true or false, not {v:?}"
            ))),
        }
    }

    /// An integer within `range`, `default` when absent.
    pub fn int_in(
        &self,
        name: &str,
        range: RangeInclusive<u64>,
        default: u64,
    ) -> Result<u64, CloudFlowError> {
        let Some(text) = self.0.get(name).filter(|v| !v.is_empty()) else {
            return Ok(default);
        };
        text.parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                CloudFlowError::invalid(format!(
                    "{name} must be an integer from {} to {}, not {text:?}",
                    range.start(),
                    range.end()
                ))
            })
    }

    /// A string whose length (in characters) is within `range`, if present.
    pub fn text_in(
        &self,
        name: &str,
        range: RangeInclusive<usize>,
    ) -> Result<Option<String>, CloudFlowError> {
        match self.optional(name) {
            Some(v) if !range.contains(&v.chars().count()) => {
                Err(CloudFlowError::invalid(format!(
                    "{name} must be {} to {} characters long",
                    range.start(),
                    range.end()
                )))
            }
            other => Ok(other),
        }
    }

    /// A JSON-encoded parameter (`Environment`, `RoutingConfigurations`).
    pub fn json(&self, name: &str) -> Result<Option<Value>, CloudFlowError> {
        match self.0.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(|e| CloudFlowError::invalid(format!("{name} is not valid JSON: {e}"))),
        }
    }

    /// An RFC 3339 time, in milliseconds since the epoch.
    pub fn time(&self, name: &str) -> Result<Option<i64>, CloudFlowError> {
        match self.0.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(text) => text
                .parse::<jiff::Timestamp>()
                .map(|t| Some(t.as_millisecond()))
                .map_err(|_| {
                    CloudFlowError::invalid(format!(
                        "{name} must be an RFC 3339 time, not {text:?}"
                    ))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_merge_and_decode() {
        let p = Params::decode(
            Some("Action=StopExecution&Timestamp=2024-01-01T00%3A00%3A00Z"),
            Some("application/x-www-form-urlencoded"),
            b"Cause=stop+by+user+%C3%A9&FlowName=f",
        );
        assert_eq!(p.optional("Action").as_deref(), Some("StopExecution"));
        assert_eq!(p.optional("Cause").as_deref(), Some("stop by user é"));
        assert_eq!(p.optional("FlowName").as_deref(), Some("f"));
        let json_body = Params::decode(None, Some("application/json"), b"FlowName=x");
        assert_eq!(json_body.optional("FlowName"), None);
    }

    #[test]
    fn typed_getters_refuse_bad_values() {
        let p = Params::decode(Some("B=True&N=70&J=%7B&T=soon&L="), None, b"");
        assert_eq!(p.bool("B").expect("bool"), Some(true));
        assert!(p.int_in("N", 0..=60, 0).is_err());
        assert_eq!(p.int_in("Missing", 1..=1000, 60).expect("default"), 60);
        assert!(p.json("J").is_err());
        assert!(p.time("T").is_err());
        assert_eq!(
            p.required("L").expect_err("empty").code.as_str(),
            "MissingRequiredParams"
        );
    }
}
