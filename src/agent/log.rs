//! The agent's log lines: one per reconcile and per notable event, as `key=value` text or as
//! one JSON object per line.

use std::sync::Arc;

use serde_json::Value;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-12-02T03:04:05Z reconcile result=drift trigger=interval changes=2 …`
    #[default]
    Text,
    /// `{"time":"…","event":"reconcile","result":"drift","trigger":"interval",…}`
    Json,
}

/// Where finished log lines go (the command writes them to stderr).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// One log line, without its newline.
pub fn line(
    format: LogFormat,
    time: jiff::Timestamp,
    event: &str,
    fields: &[(&str, Value)],
) -> String {
    let time = time.round(jiff::Unit::Millisecond).unwrap_or(time);
    match format {
        LogFormat::Json => {
            let mut object = serde_json::Map::new();
            object.insert("time".into(), time.to_string().into());
            object.insert("event".into(), event.into());
            for (key, value) in fields {
                object.insert((*key).to_owned(), value.clone());
            }
            crate::text::json_line(&Value::Object(object))
        }
        LogFormat::Text => {
            let mut out = format!("{time} {event}");
            for (key, value) in fields {
                let value = match value {
                    Value::Null => "-".to_owned(),
                    Value::String(text) => quoted(text),
                    other => other.to_string(),
                };
                out.push_str(&format!(" {key}={value}"));
            }
            out
        }
    }
}

/// A text value as it goes after `key=`: bare when it is one plain word, else quoted with its
/// line breaks and invisible characters escaped, so that one record stays one line and shows
/// what it holds.
fn quoted(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c));
    if plain {
        text.to_owned()
    } else {
        crate::text::json_line(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_line_in_either_format() {
        let time: jiff::Timestamp = "2026-12-02T03:04:05.123456Z".parse().unwrap();
        let fields = [
            ("result", Value::from("failed")),
            ("changes", Value::from(2)),
            ("revision", Value::Null),
            ("error", Value::from("cannot read\nthe \"file\"")),
        ];
        assert_eq!(
            line(LogFormat::Text, time, "reconcile", &fields),
            "2026-12-02T03:04:05.123Z reconcile result=failed changes=2 revision=- error=\"cannot read\\nthe \\\"file\\\"\""
        );
        let json: Value =
            serde_json::from_str(&line(LogFormat::Json, time, "reconcile", &fields)).unwrap();
        assert_eq!(json["event"], "reconcile");
        assert_eq!(json["changes"], 2);
        assert_eq!(json["error"], "cannot read\nthe \"file\"");
        assert_eq!(json["time"], "2026-12-02T03:04:05.123Z");
        let fields = [("key", Value::from("K001\u{200b}\u{202e}"))];
        assert_eq!(
            line(LogFormat::Text, time, "x", &fields),
            "2026-12-02T03:04:05.123Z x key=\"K001\\u200b\\u202e\""
        );
        assert!(line(LogFormat::Json, time, "x", &fields).contains(r#""key":"K001\u200b\u202e""#));
    }
}
