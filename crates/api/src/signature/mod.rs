//! Request signing schemes the dialects verify.

pub mod alibaba;
pub mod huawei;
pub mod replay;

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
