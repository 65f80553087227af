//! logfmt / `key=value` lines → `norm_id=JsonEvent`, mapped exactly as JSON lines are (see [`super::json`]).
//!
//! Each pair is a leaf whose path is its key as written (`user.name=bob` matches the alias
//! `user.name`). A value that is a canonical integer becomes a number, any other a string. A
//! `labels=A,B` pair, when every part is one alphanumeric word, adds those labels as a JSON `labels`
//! array does. Pairs beyond 256 stay in `msg` only and the event gets label `Truncated`.

use std::borrow::Cow;

use logferry_parsers::kv;
use serde_json::Value as Json;

use super::json::{is_label, map_pairs, MAX_FIELDS};
use super::text::{canonical_int, lossy, lossy_cow};
use super::MapResult;
use crate::event::Event;

/// Maps one logfmt line; a line without any `key=value` pair, or with a broken quoted value, is an error.
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>) -> MapResult {
    let mut flat: Vec<(Cow<'a, str>, Json)> = Vec::new();
    let mut truncated = false;
    for pair in kv::pairs(line) {
        let pair = pair.map_err(|e| e.to_string())?;
        if flat.len() >= MAX_FIELDS {
            truncated = true;
            break;
        }
        let value = match canonical_int(pair.value).filter(|_| !pair.quoted) {
            Some(n) => Json::from(n),
            None if pair.quoted => Json::String(lossy_cow(kv::unescape(pair.value)).into_owned()),
            None => Json::String(lossy(pair.value).into_owned()),
        };
        flat.push((lossy(pair.key), value));
    }
    if flat.is_empty() {
        return Err("no key=value pair".into());
    }
    event.norm_id = "JsonEvent";
    event.app_name = "kv";
    event.label("Application");
    if truncated {
        event.label("Truncated");
    }
    if let Some(i) = flat.iter().position(|(key, _)| key == "labels") {
        if let Some(Json::String(labels)) = flat.get(i).map(|(_, v)| v) {
            if labels.split(',').all(is_label) {
                for label in labels.split(',') {
                    event.label(Cow::Owned(label.to_string()));
                }
                flat.remove(i);
            }
        }
    }
    map_pairs(&flat, event);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    fn event_of(line: &[u8]) -> (Event<'_>, MapResult) {
        let mut event = Event::new("host", "src");
        event.record = crate::normalise::text::RecordText::new(line);
        let result = map(line, &mut event);
        (event, result)
    }

    #[test]
    fn maps_like_json() {
        let (e, r) = event_of(
            br#"ts=2026-11-26T10:00:00Z level=warn msg="user logged in" user=bob duration=12ms status=200 requestId=007 labels=User,Login"#,
        );
        r.unwrap();
        assert_eq!(e.norm_id, "JsonEvent");
        assert_eq!(e.time.unix, 1_795_687_200);
        assert_eq!(e.severity, 4);
        let names: Vec<&str> = e.fields.iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "log_level",
                "message",
                "user",
                "status_code",
                "duration",
                "request_id"
            ]
        );
        assert_eq!(e.get("status_code"), Some(&Value::Int(200)));
        assert_eq!(e.get("request_id"), Some(&Value::Str(Cow::Borrowed("007"))));
        assert_eq!(e.labels.as_slice(), ["Application", "User", "Login"]);
    }

    #[test]
    fn quoted_numbers_stay_strings_and_bad_labels_stay_fields() {
        let (e, r) = event_of(br#"id="42" n=42 labels="not a label""#);
        r.unwrap();
        assert_eq!(e.get("id"), Some(&Value::Str(Cow::Borrowed("42"))));
        assert_eq!(e.get("n"), Some(&Value::Int(42)));
        assert_eq!(
            e.get("labels"),
            Some(&Value::Str(Cow::Borrowed("not a label")))
        );
    }

    #[test]
    fn rejects_lines_without_pairs_or_with_broken_quotes() {
        assert_eq!(
            event_of(b"just some text").1,
            Err("no key=value pair".into())
        );
        assert!(event_of(br#"a=1 msg="open"#)
            .1
            .unwrap_err()
            .contains("unterminated"));
    }

    #[test]
    fn too_many_pairs_are_truncated() {
        let line: String = (0..300).map(|i| format!("k{i}={i} ")).collect();
        let (e, r) = event_of(line.as_bytes());
        r.unwrap();
        assert_eq!(e.fields.len(), MAX_FIELDS);
        assert!(e.labels.iter().any(|l| l == "Truncated"));
    }
}
