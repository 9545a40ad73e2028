//! A JSON diff of two request bodies: the paths whose values differ, with both values, so a
//! reviewer reads `client_payload.channel: "stable" → "beta"` instead of a text diff.

use serde::Serialize;
use serde_json::Value;

/// One value that differs: added (`before` is `None`), removed (`after` is `None`) or changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ValueChange {
    /// `client_payload.channel`, `inputs.list[2]`, `client_payload["a.b"]`; empty for the
    /// whole body.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Every path at which `after` differs from `before`, in `before`'s key order and then the
/// keys only `after` has.
pub(super) fn changes(before: &Value, after: &Value) -> Vec<ValueChange> {
    let mut out = Vec::new();
    walk(String::new(), before, after, &mut out);
    out
}

fn walk(path: String, before: &Value, after: &Value, out: &mut Vec<ValueChange>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, old) in b {
                let child = key_path(&path, key);
                match a.get(key) {
                    Some(new) => walk(child, old, new, out),
                    None => out.push(removed(child, old)),
                }
            }
            for (key, new) in a.iter().filter(|(key, _)| !b.contains_key(*key)) {
                out.push(added(key_path(&path, key), new));
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for i in 0..b.len().max(a.len()) {
                let child = format!("{path}[{i}]");
                match (b.get(i), a.get(i)) {
                    (Some(old), Some(new)) => walk(child, old, new, out),
                    (Some(old), None) => out.push(removed(child, old)),
                    (None, Some(new)) => out.push(added(child, new)),
                    (None, None) => {}
                }
            }
        }
        _ if before == after => {}
        _ => out.push(ValueChange {
            path,
            before: Some(before.clone()),
            after: Some(after.clone()),
        }),
    }
}

fn added(path: String, value: &Value) -> ValueChange {
    ValueChange {
        path,
        before: None,
        after: Some(value.clone()),
    }
}

fn removed(path: String, value: &Value) -> ValueChange {
    ValueChange {
        path,
        before: Some(value.clone()),
        after: None,
    }
}

/// `parent.key` for a plain key, `parent["a.b"]` for any other.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (plain, parent.is_empty()) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!(
            "{parent}[{}]",
            serde_json::to_string(key).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_paths_that_differ_are_listed_with_both_values() {
        let before = json!({"event_type": "e", "client_payload": {"channel": "stable", "old": 1, "same": [1, 2]}});
        let after = json!({"event_type": "e", "client_payload": {"channel": "beta", "same": [1, 2], "new": {"a": true}}});
        assert_eq!(
            changes(&before, &after),
            [
                ValueChange {
                    path: "client_payload.channel".into(),
                    before: Some(json!("stable")),
                    after: Some(json!("beta"))
                },
                ValueChange {
                    path: "client_payload.old".into(),
                    before: Some(json!(1)),
                    after: None
                },
                ValueChange {
                    path: "client_payload.new".into(),
                    before: None,
                    after: Some(json!({"a": true}))
                },
            ]
        );
    }

    #[test]
    fn lists_compare_by_position_and_odd_keys_are_quoted() {
        let found = changes(&json!({"a.b": [1, 2]}), &json!({"a.b": [1, 3, 4]}));
        let paths: Vec<&str> = found.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, [r#"["a.b"][1]"#, r#"["a.b"][2]"#]);
        assert!(changes(&json!({"x": null}), &json!({"x": null})).is_empty());
        assert_eq!(changes(&json!(1), &json!("1"))[0].path, "");
    }
}
