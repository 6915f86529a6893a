//! Retry rules: each language spells the fields its own way ([`RetrySyntax`]); the rule built
//! and its limits are the same.

use sluice_ir::Retrier;

use super::{Fields, one_of};
use crate::doc::{Node, NodeKind};
use crate::error::Problem;

/// The longest retry interval or backoff, in seconds (documented limit: one day).
pub(crate) const MAX_RETRY_INTERVAL_SECS: i64 = 86_400;

/// How one form spells the fields of a retry rule.
pub(crate) struct RetrySyntax {
    /// `None` when the error names come from an enclosing entry (`OnErrors`).
    pub errors: Option<&'static str>,
    pub max_attempts: &'static str,
    pub interval: &'static str,
    pub backoff_rate: &'static str,
    pub max_backoff: Option<&'static str>,
    /// Fields accepted and ignored (`Description`).
    pub ignored: &'static [&'static str],
    /// How the rule is called in messages.
    pub owner: &'static str,
    /// The backoff rate of a rule that gives none.
    pub default_backoff_rate: f64,
    /// The field choosing full jitter (`JitterStrategy`: `FULL` or `NONE`), if the form has one.
    pub jitter: Option<&'static str>,
}

impl RetrySyntax {
    fn allowed(&self) -> Vec<&'static str> {
        let mut allowed: Vec<&'static str> = self.errors.into_iter().collect();
        allowed.extend([self.max_attempts, self.interval, self.backoff_rate]);
        allowed.extend(self.max_backoff);
        allowed.extend(self.jitter);
        allowed.extend(self.ignored);
        allowed
    }
}

/// Attempts after the first when a rule does not say.
pub(crate) const DEFAULT_MAX_ATTEMPTS: i64 = 3;
/// Seconds before the first retry when a rule does not say.
pub(crate) const DEFAULT_INTERVAL_SECS: i64 = 1;
/// Growth of the interval per retry when a rule does not say (a fixed interval).
pub(crate) const DEFAULT_BACKOFF_RATE: f64 = 1.0;

/// Builds a [`Retrier`]; `inherited_errors` are used when the syntax has no errors field.
pub(crate) fn build_retrier(
    node: &Node,
    syntax: &RetrySyntax,
    inherited_errors: &[String],
) -> Result<Retrier, Problem> {
    let fields = Fields::of(node, syntax.owner)?;
    fields.allow_only(&syntax.allowed(), syntax.owner)?;
    let errors = match syntax.errors {
        Some(key) => error_names(fields.require(key, syntax.owner)?)?,
        None => inherited_errors.to_vec(),
    };
    let max_attempts = fields
        .optional_int(syntax.max_attempts, 0, i64::from(u32::MAX))?
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let interval = fields
        .optional_int(syntax.interval, 0, MAX_RETRY_INTERVAL_SECS)?
        .unwrap_or(DEFAULT_INTERVAL_SECS);
    let max_backoff = match syntax.max_backoff {
        Some(key) => fields.optional_int(key, 0, MAX_RETRY_INTERVAL_SECS)?,
        None => None,
    };
    let backoff_rate = backoff_rate(fields.get(syntax.backoff_rate), syntax.default_backoff_rate)?;
    let full_jitter = match syntax.jitter.and_then(|key| fields.get(key)) {
        Some(node) => one_of(node, &["FULL", "NONE"], "JitterStrategy", "strategies")? == "FULL",
        None => false,
    };
    Ok(Retrier {
        errors,
        max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
        interval_secs: u64::try_from(interval).unwrap_or(0),
        backoff_rate,
        max_backoff_secs: max_backoff.and_then(|v| u64::try_from(v).ok()),
        full_jitter,
    })
}

fn backoff_rate(node: Option<&Node>, default: f64) -> Result<f64, Problem> {
    let Some(node) = node else {
        return Ok(default);
    };
    let rate = node.as_f64()?;
    if rate >= 1.0 && rate.is_finite() {
        Ok(rate)
    } else {
        Err(Problem::at(
            node.loc,
            format!("the backoff rate must be at least 1, found {rate}"),
        ))
    }
}

/// Error names of a retry or catch rule: a non-empty list of strings (or one string).
pub(crate) fn error_names(node: &Node) -> Result<Vec<String>, Problem> {
    let names: Vec<String> = match &node.kind {
        NodeKind::String(s) => vec![s.clone()],
        NodeKind::Seq(items) => items
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Result<_, _>>()?,
        _ => return Err(node.expected("a list of error names")),
    };
    if names.is_empty() {
        return Err(Problem::at(
            node.loc,
            "the list of error names is empty; use [\"FnF.ALL\"] to match every error",
        ));
    }
    Ok(names)
}
