//! The admin key: held, sent, never shown.

use std::fmt;

/// An AdminKey. It can change every license an ISV has sold, so it is never shown: `Debug` and
/// `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminKey(String);

impl AdminKey {
    pub fn new(key: impl Into<String>) -> Self {
        AdminKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey(<redacted>)")
    }
}

impl fmt::Display for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What an answer shows in place of the key.
pub const REDACTED: &str = "<the admin key>";

impl AdminKey {
    /// `body` (an answer from the server, JSON or not) with every occurrence of the key replaced
    /// by [`REDACTED`]: written as it is, and inside JSON strings written with escapes (`\u0041`),
    /// where a plain search does not see it. A server that echoes the key in an error message or
    /// a field would otherwise have it printed and saved in plans. Keys too short to be
    /// recognised (under 8 bytes) are not looked for.
    pub(super) fn redact(&self, body: Vec<u8>) -> Vec<u8> {
        let key = self.0.as_bytes();
        if key.len() < 8 {
            return body;
        }
        let has_escapes = memchr::memchr(b'\\', &body).is_some();
        if !has_escapes && find(&body, key).is_none() {
            return body;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut at = 0;
        // Where the key is next written as it is; looked for again only once passed, so the
        // whole answer is read once.
        let mut next_key = find(&body, key);
        while at < body.len() {
            if next_key.is_some_and(|k| k < at) {
                next_key = find(&body[at..], key).map(|k| k + at);
            }
            let next_string = if has_escapes {
                body[at..].iter().position(|&b| b == b'"').map(|s| s + at)
            } else {
                None
            };
            match (next_key, next_string) {
                (Some(k), string) if string.is_none_or(|s| k < s) => {
                    out.extend_from_slice(&body[at..k]);
                    out.extend_from_slice(REDACTED.as_bytes());
                    at = k + key.len();
                }
                (_, Some(start)) => {
                    out.extend_from_slice(&body[at..start]);
                    let token = &body[start..start + string_len(&body[start..])];
                    let decoded = if token.contains(&b'\\') {
                        serde_json::from_slice::<String>(token).ok()
                    } else {
                        None
                    };
                    match decoded {
                        Some(text) if text.contains(&self.0) => {
                            let clean = text.replace(&self.0, REDACTED);
                            out.extend_from_slice(&serde_json::to_vec(&clean).unwrap_or_default());
                        }
                        _ if next_key.is_some_and(|k| k < start + token.len()) => {
                            out.extend_from_slice(&redact_raw(token, key));
                        }
                        _ => out.extend_from_slice(token),
                    }
                    at = start + token.len();
                }
                _ => {
                    out.extend_from_slice(&body[at..]);
                    at = body.len();
                }
            }
        }
        out
    }
}

fn redact_raw(bytes: &[u8], key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = find(rest, key) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(REDACTED.as_bytes());
        rest = &rest[at + key.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The length of the JSON string token `bytes` opens with (its quotes included), or of all of
/// `bytes` when it does not end.
fn string_len(bytes: &[u8]) -> usize {
    let mut at = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// Every answer is searched, so this is the vectorised search, not a byte-by-byte loop: on a
/// large listing the plain loop was a visible part of reading.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_redacted_however_the_answer_writes_it() {
        let key = AdminKey::new("sk-live-4d3c2b1a-canary");
        let redact = |text: &str| String::from_utf8(key.redact(text.as_bytes().to_vec())).unwrap();
        assert_eq!(
            redact(r#"{"message": "key sk-live-4d3c2b1a-canary is wrong"}"#),
            r#"{"message": "key <the admin key> is wrong"}"#
        );
        assert_eq!(
            redact(r#"{"name": "sk-live-4d3c2b1a-\u0063anary", "a": "\"x"}"#),
            r#"{"name": "<the admin key>", "a": "\"x"}"#
        );
        assert_eq!(
            redact("plain sk-live-4d3c2b1a-canary and sk-live-4d3c2b1a-canary"),
            "plain <the admin key> and <the admin key>"
        );
        let untouched = r#"[{"name": "M\u00fcller"}, "unterminated \"#;
        assert_eq!(redact(untouched), untouched);
        assert_eq!(
            AdminKey::new("short").redact(b"short".to_vec()),
            b"short".to_vec()
        );
    }
}
