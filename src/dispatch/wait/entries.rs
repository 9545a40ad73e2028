//! A page of `GET .../actions/runs` (or one run), read entry by entry and reduced as it is
//! read: only the fields the wait uses are looked at, strings are borrowed from the page where
//! JSON allows it, and every other field is skipped without being stored. An entry that is not
//! an object, or whose `id` is not a u64 (2^64, -1, "7"), or whose used fields have the wrong
//! type, is handed on as [`Parsed::Malformed`], so the caller counts it and keeps the rest of
//! the page. Only JSON that does not parse at all (a cut body, garbage, nesting past
//! serde_json's depth limit of 128) makes the whole page unreadable.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// One run, as far as the wait reads it.
#[derive(Debug, Default, PartialEq)]
pub struct Entry<'a> {
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
pub enum Parsed<'a> {
    Run(Entry<'a>),
    Malformed,
}

/// What a page says besides its entries.
#[derive(Debug, Default, PartialEq)]
pub struct PageFacts {
    /// `total_count`, when it is a u64.
    pub total_count: Option<u64>,
    /// Elements of `workflow_runs`, malformed ones included.
    pub entries: usize,
}

/// Reads a runs page, handing each element of `workflow_runs` to `on_entry` as it is read.
pub fn read_page<'a>(
    body: &'a str,
    on_entry: &mut dyn FnMut(Parsed<'a>),
) -> Result<PageFacts, String> {
    let mut reader = serde_json::Deserializer::from_str(body);
    let facts = PageSeed { on_entry }
        .deserialize(&mut reader)
        .and_then(|facts| reader.end().map(|()| facts))
        .map_err(|e| format!("unexpected answer: {e}"))?;
    Ok(facts)
}

/// Reads the answer for one run (`GET .../actions/runs/{id}`).
pub fn read_run(body: &str) -> Result<Parsed<'_>, String> {
    serde_json::from_str(body).map_err(|e| format!("unexpected answer: {e}"))
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum PageField {
    TotalCount,
    WorkflowRuns,
    #[serde(other)]
    Other,
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

struct PageSeed<'f, 'a> {
    on_entry: &'f mut dyn FnMut(Parsed<'a>),
}

impl<'a> DeserializeSeed<'a> for PageSeed<'_, 'a> {
    type Value = PageFacts;
    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<PageFacts, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for PageSeed<'_, 'a> {
    type Value = PageFacts;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with `workflow_runs`")
    }
    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<PageFacts, M::Error> {
        let mut facts = PageFacts::default();
        let mut listed = false;
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::TotalCount => {
                    facts.total_count = match map.next_value::<Scalar<'a>>()? {
                        Scalar::Number(n) => Some(n),
                        _ => None,
                    }
                }
                PageField::WorkflowRuns if !listed => {
                    listed = true;
                    let seed = EntriesSeed {
                        on_entry: &mut *self.on_entry,
                    };
                    facts.entries = map.next_value_seed(seed)?;
                }
                // A second `workflow_runs` would make one page say two things.
                PageField::WorkflowRuns => return Err(de::Error::duplicate_field("workflow_runs")),
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !listed {
            return Err(de::Error::missing_field("workflow_runs"));
        }
        Ok(facts)
    }
}

struct EntriesSeed<'f, 'a> {
    on_entry: &'f mut dyn FnMut(Parsed<'a>),
}

impl<'a> DeserializeSeed<'a> for EntriesSeed<'_, 'a> {
    type Value = usize;
    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for EntriesSeed<'_, 'a> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of runs")
    }
    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<usize, S::Error> {
        let mut count = 0usize;
        while let Some(parsed) = seq.next_element::<Parsed<'a>>()? {
            count = count.saturating_add(1);
            (self.on_entry)(parsed);
        }
        Ok(count)
    }
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

    fn page(body: &str) -> (Result<PageFacts, String>, Vec<Option<u64>>, usize) {
        let mut ids = Vec::new();
        let mut malformed = 0;
        let facts = read_page(body, &mut |parsed| match parsed {
            Parsed::Run(entry) => ids.push(entry.id),
            Parsed::Malformed => malformed += 1,
        });
        (facts, ids, malformed)
    }

    #[test]
    fn an_entry_with_an_id_outside_u64_is_malformed_and_the_rest_of_the_page_is_kept() {
        let body = r#"{"total_count": 5, "workflow_runs": [
            {"id": 18446744073709551616, "status": "completed"},
            {"id": -1},
            {"id": "7"},
            {"id": 8, "status": 3},
            "not a run",
            {"id": 9, "display_title": "Rebuild for x", "repository": {"deep": [1, 2, {"a": null}]}},
            {"status": "queued"}
        ]}"#;
        let (facts, ids, malformed) = page(body);
        assert_eq!(
            facts,
            Ok(PageFacts {
                total_count: Some(5),
                entries: 7
            })
        );
        assert_eq!(ids, [Some(9), None]);
        assert_eq!(malformed, 5);
    }

    #[test]
    fn strings_without_escapes_are_borrowed_from_the_page() {
        let body = r#"{"workflow_runs": [{"id": 1, "display_title": "plain", "event": "a\"b"}]}"#;
        let mut seen = Vec::new();
        read_page(body, &mut |parsed| {
            if let Parsed::Run(entry) = parsed {
                seen.push((
                    matches!(entry.display_title, Some(Cow::Borrowed("plain"))),
                    entry.event.as_deref() == Some("a\"b"),
                ));
            }
        })
        .unwrap();
        assert_eq!(seen, [(true, true)]);
    }

    #[test]
    fn a_page_that_does_not_parse_or_has_no_list_is_unreadable() {
        for body in [
            r#"{"workflow_runs": [{"id": 1}"#,
            r#"{"total_count": 1}"#,
            r#"{"workflow_runs": 5}"#,
            r#"{"workflow_runs": []} trailing"#,
            r#"{"workflow_runs": [], "workflow_runs": [{"id": 1}]}"#,
            "[]",
        ] {
            assert!(page(body).0.is_err(), "{body}");
        }
        assert_eq!(
            page(r#"{"total_count": -1, "workflow_runs": []}"#).0,
            Ok(PageFacts::default())
        );
    }
}
