//! The parameters of one request: the query string and a form-encoded body, merged. The Python
//! SDK splits them (common parameters in the query, business fields in the body); the Node
//! pop-core client puts everything in the body for POST (spec §1.2). The typed getters turn a
//! bad value into the CloudFlow error naming the parameter.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde_json::Value;
use sluice_service::views::Millis;

use super::error::CloudFlowError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    method: String,
    values: BTreeMap<String, String>,
}

impl Params {
    /// Merges the query and a form body (a body field wins over a query field of the same
    /// name). Never fails: bad percent-encoding or UTF-8 decodes lossily, and the signature
    /// check then refuses what the client did not mean to send.
    pub fn decode(
        method: &str,
        raw_query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Self {
        let mut values = BTreeMap::new();
        if let Some(query) = raw_query {
            values.extend(form_urlencoded::parse(query.as_bytes()).into_owned());
        }
        if is_form(content_type) {
            values.extend(form_urlencoded::parse(body).into_owned());
        }
        Params {
            method: method.to_string(),
            values,
        }
    }

    /// The HTTP method, which the signature covers.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Every parameter, `Signature` included: the signed set.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// The value as sent, possibly empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// The value if sent and not empty: SDKs that fill every field send `Name=` for "unset".
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.optional(name).filter(|v| !v.is_empty())
    }

    /// A parameter that must be present and non-empty (`MissingRequiredParams` otherwise).
    pub fn required(&self, name: &str) -> Result<String, CloudFlowError> {
        self.non_empty(name)
            .ok_or_else(|| CloudFlowError::missing(name))
    }

    /// A boolean in any case: the Python SDK sends `True`/`False`, others `true`/`false`.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, CloudFlowError> {
        let Some(text) = self.non_empty(name) else {
            return Ok(None);
        };
        if text.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if text.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(CloudFlowError::invalid(format!(
                "The parameter '{name}' must be true or false, not {text:?}."
            )))
        }
    }

    /// An integer within `range`, `default` when absent or empty.
    pub fn int_in(
        &self,
        name: &str,
        range: RangeInclusive<u64>,
        default: u64,
    ) -> Result<u64, CloudFlowError> {
        Ok(self.optional_int_in(name, range)?.unwrap_or(default))
    }

    /// An integer within `range`, if sent.
    pub fn optional_int_in(
        &self,
        name: &str,
        range: RangeInclusive<u64>,
    ) -> Result<Option<u64>, CloudFlowError> {
        let Some(text) = self.non_empty(name) else {
            return Ok(None);
        };
        match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(out_of_range(name, "an integer", &range, &text)),
        }
    }

    /// A number within `range`, if sent.
    pub fn optional_number_in(
        &self,
        name: &str,
        range: RangeInclusive<f64>,
    ) -> Result<Option<f64>, CloudFlowError> {
        let Some(text) = self.non_empty(name) else {
            return Ok(None);
        };
        match text.parse::<f64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(out_of_range(name, "a number", &range, &text)),
        }
    }

    /// A string whose length in characters is within `range`, if sent (the `Error` and
    /// `Cause` limits of spec §2.2). An empty value was sent, so it is checked too.
    pub fn len_in(
        &self,
        name: &str,
        range: RangeInclusive<usize>,
    ) -> Result<Option<String>, CloudFlowError> {
        self.optional(name)
            .map(|text| check_length(name, text, &range))
            .transpose()
    }

    /// A required string whose length in characters is within `range`.
    pub fn required_len_in(
        &self,
        name: &str,
        range: RangeInclusive<usize>,
    ) -> Result<String, CloudFlowError> {
        check_length(name, self.required(name)?, &range)
    }

    /// A parameter the SDKs send as a JSON string (`Environment`, `RoutingConfigurations`).
    pub fn json(&self, name: &str) -> Result<Option<Value>, CloudFlowError> {
        let Some(text) = self.non_empty(name) else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            CloudFlowError::invalid(format!("The parameter '{name}' is not valid JSON: {e}."))
        })
    }

    /// An RFC 3339 time (`2020-12-02T02:39:20.402Z`), in milliseconds since the epoch.
    pub fn time(&self, name: &str) -> Result<Option<Millis>, CloudFlowError> {
        let Some(text) = self.non_empty(name) else {
            return Ok(None);
        };
        text.parse::<jiff::Timestamp>()
            .map(|t| Some(t.as_millisecond()))
            .map_err(|_| {
                CloudFlowError::invalid(format!(
                    "The parameter '{name}' must be an RFC 3339 time like 2020-12-02T02:39:20.402Z, not {text:?}."
                ))
            })
    }
}

/// Form bodies are read whatever the method. A body without a content type is read as a form
/// too: every RPC client sends forms, and one that forgets the header still signed the fields.
fn is_form(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return true;
    };
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn check_length(
    name: &str,
    text: String,
    range: &RangeInclusive<usize>,
) -> Result<String, CloudFlowError> {
    if range.contains(&text.chars().count()) {
        return Ok(text);
    }
    Err(CloudFlowError::invalid(format!(
        "The parameter '{name}' must be {} to {} characters long.",
        range.start(),
        range.end()
    )))
}

fn out_of_range<T: std::fmt::Display>(
    name: &str,
    kind: &str,
    range: &RangeInclusive<T>,
    text: &str,
) -> CloudFlowError {
    CloudFlowError::invalid(format!(
        "The parameter '{name}' must be {kind} from {} to {}, not {text:?}.",
        range.start(),
        range.end()
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cloudflow::error::Code;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn query(text: &str) -> Params {
        Params::decode("GET", Some(text), None, b"")
    }

    #[test]
    fn query_and_form_merge_and_decode() {
        let p = Params::decode(
            "POST",
            Some("Action=StopExecution&Timestamp=2024-01-01T00%3A00%3A00Z"),
            FORM,
            b"Cause=stop+by+user+%C3%A9&FlowName=f",
        );
        assert_eq!(p.method(), "POST");
        assert_eq!(p.optional("Action").as_deref(), Some("StopExecution"));
        assert_eq!(
            p.optional("Timestamp").as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(p.optional("Cause").as_deref(), Some("stop by user é"));
        assert_eq!(p.optional("FlowName").as_deref(), Some("f"));
    }

    #[test]
    fn everything_in_the_body_works_like_pop_core_sends_it() {
        let p = Params::decode(
            "POST",
            None,
            Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
            b"Action=ListFlows&Version=2019-03-15",
        );
        assert_eq!(p.optional("Action").as_deref(), Some("ListFlows"));
        let unlabelled = Params::decode("POST", Some("/"), None, b"Action=ListFlows");
        assert_eq!(unlabelled.optional("Action").as_deref(), Some("ListFlows"));
    }

    #[test]
    fn other_bodies_are_not_parameters() {
        let json = Params::decode("POST", None, Some("application/json"), b"FlowName=x");
        assert_eq!(json.optional("FlowName"), None);
    }

    #[test]
    fn the_body_wins_over_the_query() {
        let p = Params::decode("POST", Some("Name=a"), FORM, b"Name=b");
        assert_eq!(p.optional("Name").as_deref(), Some("b"));
    }

    #[test]
    fn required_refuses_absent_and_empty() {
        let p = query("Empty=&Here=x");
        assert_eq!(p.required("Here").expect("present"), "x");
        for name in ["Empty", "Absent"] {
            let error = p.required(name).expect_err("missing");
            assert_eq!(error.code, Code::MissingRequiredParams);
            assert_eq!(
                error.message,
                format!("The HTTP query '{name}' must be specified.")
            );
        }
        assert_eq!(p.optional("Empty").as_deref(), Some(""));
        assert_eq!(p.non_empty("Empty"), None);
    }

    #[test]
    fn booleans_in_any_case() {
        let p = query("A=True&B=false&C=TRUE&D=yes&E=");
        assert_eq!(p.bool("A").expect("True"), Some(true));
        assert_eq!(p.bool("B").expect("false"), Some(false));
        assert_eq!(p.bool("C").expect("TRUE"), Some(true));
        assert_eq!(p.bool("E").expect("empty"), None);
        assert_eq!(p.bool("Absent").expect("absent"), None);
        assert_eq!(p.bool("D").expect_err("yes").code, Code::InvalidArgument);
    }

    #[test]
    fn integers_within_their_range() {
        let p = query("N=70&M=-1&X=ten&Ok=60&Big=99999999999999999999999");
        assert_eq!(p.int_in("Ok", 0..=60, 0).expect("in range"), 60);
        assert_eq!(p.int_in("Absent", 1..=1000, 60).expect("default"), 60);
        for name in ["N", "M", "X", "Big"] {
            let error = p.int_in(name, 0..=60, 0).expect_err("refused");
            assert_eq!(error.code, Code::InvalidArgument);
            assert!(
                error.message.contains(name) && error.message.contains("0 to 60"),
                "{}",
                error.message
            );
        }
        assert_eq!(p.optional_int_in("Absent", 0..=1).expect("absent"), None);
    }

    #[test]
    fn numbers_within_their_range() {
        let p = query("P=1.5&Q=101&R=NaN");
        assert_eq!(
            p.optional_number_in("P", 0.0..=100.0).expect("in range"),
            Some(1.5)
        );
        assert!(p.optional_number_in("Q", 0.0..=100.0).is_err());
        assert!(p.optional_number_in("R", 0.0..=100.0).is_err());
    }

    #[test]
    fn lengths_in_characters() {
        let p = Params::decode(
            "POST",
            None,
            FORM,
            format!("Long={}&Accent={}&Empty=", "x".repeat(129), "é".repeat(128)).as_bytes(),
        );
        assert!(p.len_in("Long", 1..=128).is_err());
        assert_eq!(
            p.len_in("Accent", 1..=128)
                .expect("128 characters")
                .map(|t| t.chars().count()),
            Some(128)
        );
        assert!(p.len_in("Empty", 1..=128).is_err());
        assert_eq!(p.len_in("Absent", 1..=128).expect("absent"), None);
        assert_eq!(
            p.required_len_in("Absent", 1..=128)
                .expect_err("absent")
                .code,
            Code::MissingRequiredParams
        );
        assert!(p.required_len_in("Long", 1..=128).is_err());
    }

    #[test]
    fn json_strings_decode() {
        let p = query("Env=%7B%22Variables%22%3A%5B%5D%7D&Bad=%7B&Empty=");
        assert_eq!(
            p.json("Env").expect("json"),
            Some(serde_json::json!({"Variables": []}))
        );
        assert_eq!(p.json("Bad").expect_err("bad").code, Code::InvalidArgument);
        assert_eq!(p.json("Empty").expect("empty"), None);
    }

    #[test]
    fn times_are_rfc_3339() {
        let p = query("T=2020-12-02T02%3A39%3A20.402Z&Bad=soon");
        assert_eq!(p.time("T").expect("time"), Some(1_606_876_760_402));
        assert_eq!(p.time("Bad").expect_err("bad").code, Code::InvalidArgument);
    }

    proptest! {
        #[test]
        fn any_bytes_decode(
            raw_query in ".{0,200}",
            content_type in proptest::option::of(".{0,40}"),
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let p = Params::decode("POST", Some(&raw_query), content_type.as_deref(), &body);
            for name in p.all().keys() {
                let _ = p.bool(name);
                let _ = p.int_in(name, 1..=1000, 60);
                let _ = p.optional_number_in(name, 0.0..=100.0);
                let _ = p.len_in(name, 1..=128);
                let _ = p.json(name);
                let _ = p.time(name);
            }
        }
    }
}
