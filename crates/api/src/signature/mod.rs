//! Request signing schemes the dialects verify, and the canonical forms they share.

pub mod alibaba;
pub mod aws;
pub mod huawei;
pub mod replay;

use axum::http::HeaderMap;

/// A request as received, as a verifier reads it: the raw path and query (percent-encoded as
/// sent), the headers and the body bytes.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// RFC 3986: everything but `A–Z a–z 0–9 - _ . ~` as `%XX` of its UTF-8 bytes (so a space is
/// `%20`, never `+`). Both vendors' signers encode this way.
pub fn rfc3986(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

/// The query's `(name, value)` pairs, decoded, in the order the signers sort them. A dialect
/// reads the query in this order too, so that requests with one signature mean one thing
/// (whatever the order their repeated parameters were sent in).
pub fn sorted_query(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    pairs.sort();
    pairs
}

/// The canonical query of Huawei's and AWS's signers: the sorted pairs, each side RFC 3986-encoded.
pub(crate) fn canonical_query(query: &str) -> String {
    sorted_query(query)
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
}
