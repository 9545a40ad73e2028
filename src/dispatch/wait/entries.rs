//! One run (`GET .../actions/runs/{id}`) as the wait reads it: only the fields it uses are
//! looked at, strings are borrowed from the answer where JSON allows it, and every other field
//! is skipped without being stored. An answer that is not an object, or whose `id` is not a
//! u64, or whose used fields have the wrong type, is [`Parsed::Malformed`]. A page of the runs
//! list is read by `github::list` (see `ListedRun` in `wait.rs`); [`Entry`] is what both give
//! the watches.

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// One run, as far as the wait reads it.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Entry<'a> {
    /// `None` when the entry has no `id` (or `null`): a list entry without one is malformed,
    /// the answer for one run's own URL is that run.
    pub id: Option<u64>,
    pub status: Option<Cow<'a, str>>,
    pub conclusion: Option<Cow<'a, str>>,
    pub html_url: Option<Cow<'a, str>>,
    pub display_title: Option<Cow<'a, str>>,
    pub event: Option<Cow<'a, str>>,
}

/// One element of `workflow_runs`.
#[derive(Debug, PartialEq)]
pub(super) enum Parsed<'a> {
    Run(Entry<'a>),
    Malformed,
}

/// Reads the answer for one run (`GET .../actions/runs/{id}`).
pub(super) fn read_run(body: &str) -> Result<Parsed<'_>, String> {
    serde_json::from_str(body).map_err(|e| format!("unexpected answer: {e}"))
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum RunField {
    Id,
    Status,
    Conclusion,
    HtmlUrl,
    DisplayTitle,
    Event,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Parsed<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Parsed<'a>, D::Error> {
        deserializer.deserialize_any(ParsedVisitor(std::marker::PhantomData))
    }
}

struct ParsedVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ParsedVisitor<'a> {
    type Value = Parsed<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a run")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Parsed<'a>, M::Error> {
        let mut entry = Entry::default();
        let mut malformed = false;
        while let Some(field) = map.next_key::<RunField>()? {
            let slot = match field {
                RunField::Id => {
                    match map.next_value::<Scalar<'a>>()? {
                        Scalar::Number(n) => entry.id = Some(n),
                        Scalar::Null => entry.id = None,
                        Scalar::Text(_) | Scalar::Other => malformed = true,
                    }
                    continue;
                }
                RunField::Status => &mut entry.status,
                RunField::Conclusion => &mut entry.conclusion,
                RunField::HtmlUrl => &mut entry.html_url,
                RunField::DisplayTitle => &mut entry.display_title,
                RunField::Event => &mut entry.event,
                RunField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            match map.next_value::<Scalar<'a>>()? {
                Scalar::Text(text) => *slot = Some(text),
                Scalar::Null => *slot = None,
                Scalar::Number(_) | Scalar::Other => malformed = true,
            }
        }
        Ok(if malformed {
            Parsed::Malformed
        } else {
            Parsed::Run(entry)
        })
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Parsed<'a>, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Parsed::Malformed)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
    fn visit_str<E>(self, _: &str) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
    fn visit_unit<E>(self) -> Result<Parsed<'a>, E> {
        Ok(Parsed::Malformed)
    }
}

/// A field's value, whatever its JSON type, without failing the entry: the entry decides what
/// a wrong type means. Containers are skipped, not stored.
enum Scalar<'a> {
    Number(u64),
    Text(Cow<'a, str>),
    Null,
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar<'a>, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_u64<E>(self, n: u64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Number(n))
    }
    // Negative, fractional, or past u64 (serde_json reads 2^64 as a float).
    fn visit_i64<E>(self, _: i64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Other)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Other)
    }
    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Text(Cow::Borrowed(text)))
    }
    fn visit_str<E>(self, text: &str) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Text(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E>(self, text: String) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Text(Cow::Owned(text)))
    }
    fn visit_unit<E>(self) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar<'a>, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Scalar<'a>, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Scalar<'a>, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_is_read_with_only_the_fields_the_wait_uses() {
        let body = r#"{"id": 7, "status": "completed", "conclusion": "success", "html_url": "https://github.com/o/r/actions/runs/7", "display_title": "t", "event": "workflow_dispatch", "head_commit": {"message": "x"}}"#;
        let Ok(Parsed::Run(entry)) = read_run(body) else {
            panic!("not read");
        };
        assert_eq!(entry.id, Some(7));
        assert_eq!(entry.conclusion.as_deref(), Some("success"));
        assert!(
            matches!(entry.status, Some(Cow::Borrowed(_))),
            "borrowed from the body"
        );
        assert_eq!(
            read_run(r#"{"id": 18446744073709551616}"#),
            Ok(Parsed::Malformed)
        );
        assert!(read_run(r#"{"id": 1"#).is_err());
    }
}
