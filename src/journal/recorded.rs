//! A journal line or a report read back field by field: only the fields `--resume` and
//! `--retry-failed` use are kept, and everything else in the line is skipped as it is parsed,
//! never built into a tree. A 60 MB list of numbers in an unknown field costs nothing beyond
//! the file's own bytes (a `serde_json::Value` of it took 5 GB). Whatever is quoted back in an
//! error is server-grade text: the file may come from another job, or from anyone.

use super::{Ended, FORMAT};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The `format` field as found: the number this orchestrator reads, or what was there instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    Ours,
    Other(String),
}

impl Format {
    /// `Err` with what was found instead, unless the format is [`FORMAT`].
    pub(crate) fn ours(&self) -> Result<(), &str> {
        match self {
            Format::Ours => Ok(()),
            Format::Other(other) => Err(other),
        }
    }
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Format, D::Error> {
        deserializer.deserialize_any(FormatVisitor)
    }
}

struct FormatVisitor;

impl<'de> Visitor<'de> for FormatVisitor {
    type Value = Format;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a format number")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Format, E> {
        Ok(if n == u64::from(FORMAT) {
            Format::Ours
        } else {
            Format::Other(n.to_string())
        })
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Format, E> {
        Ok(Format::Other(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Format, E> {
        Ok(Format::Other(n.to_string()))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Format, E> {
        Ok(Format::Other(b.to_string()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Format, E> {
        Ok(Format::Other(format!(
            "\"{}\"",
            crate::untrusted::one_line(s, 40)
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Format, E> {
        Ok(Format::Other("null".to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Format, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Format::Other("a list".to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Format, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Format::Other("a mapping".to_owned()))
    }
}

/// One journal line: every field optional here, required by [`ReadLine::record`] by its kind.
/// Unknown fields are skipped by serde without being kept.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReadLine {
    pub(crate) format: Option<Format>,
    pub(crate) record: Option<String>,
    source: Option<String>,
    version: Option<String>,
    tag: Option<String>,
    dispatch_id: Option<String>,
    target: Option<String>,
    fingerprint: Option<String>,
    outcome: Option<String>,
}

/// What a journal line records, each field it needs present.
pub(crate) enum Recorded {
    Run {
        source: String,
        version: String,
        tag: Option<String>,
    },
    Sending {
        dispatch_id: String,
        target: String,
    },
    Outcome {
        dispatch_id: String,
        fingerprint: String,
        outcome: Ended,
    },
}

impl ReadLine {
    pub(crate) fn parse(text: &str) -> Result<ReadLine, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Whether this line starts a run (a resumed run appends after a torn line).
    pub(crate) fn starts_a_run(&self) -> bool {
        self.record.as_deref() == Some("run")
    }

    /// The record, or why the line is not one (its words neutralized: the file is untrusted).
    pub(crate) fn record(self) -> Result<Recorded, String> {
        let missing = |field: &str| format!("it is not a journal record (missing field `{field}`)");
        let need = |value: Option<String>, field: &str| value.ok_or_else(|| missing(field));
        match self.record.as_deref() {
            Some("run") => Ok(Recorded::Run {
                source: need(self.source, "source")?,
                version: need(self.version, "version")?,
                tag: self.tag,
            }),
            Some("sending") => Ok(Recorded::Sending {
                dispatch_id: need(self.dispatch_id, "dispatch_id")?,
                target: need(self.target, "target")?,
            }),
            Some("outcome") => {
                let outcome = need(self.outcome, "outcome")?;
                Ok(Recorded::Outcome {
                    dispatch_id: need(self.dispatch_id, "dispatch_id")?,
                    fingerprint: need(self.fingerprint, "fingerprint")?,
                    outcome: Ended::from_word(&outcome).ok_or_else(|| {
                        format!(
                            "it is not a journal record (the outcome `{}` is not one of delivered, failed, skipped, not_sent)",
                            crate::untrusted::one_line(&outcome, 40)
                        )
                    })?,
                })
            }
            Some(other) => Err(format!(
                "it is not a journal record (the record `{}` is not one of run, sending, outcome)",
                crate::untrusted::one_line(other, 40)
            )),
            None => Err(missing("record")),
        }
    }
}
