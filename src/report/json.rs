//! The JSON report (`--output json`, `--report FILE`): the bytes `serde_json::to_writer_pretty`
//! writes for a [`Report`] (its derived `Serialize` is the reference; a test holds the two
//! equal), written in fewer, larger pieces. A 10,000-target report is 6 MB in about a million
//! pieces: each line's indentation is one write here, not one per level; a target's fields are
//! written in order, not through serde's `flatten` (a map of its own per target); and a body is
//! pretty-printed once for all the targets in a row that send the same bytes, not re-parsed
//! for each.

use super::{Entry, Planned, Report, TargetReport};
use crate::dispatch::Status;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::value::RawValue;
use std::io::{self, Write};

pub(super) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Through a buffer of a type serde_json knows, each piece is a copy, not a call through
    // `dyn Write`.
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut json = serde_json::Serializer::with_formatter(&mut out, Indented::default());
    let mut fields = json.serialize_struct("Report", 7)?;
    fields.serialize_field("format", &report.format)?;
    fields.serialize_field("source", &report.source)?;
    fields.serialize_field("version", &report.version)?;
    fields.serialize_field("dry_run", &report.dry_run)?;
    if let Some(pacing) = &report.pacing {
        fields.serialize_field("pacing", pacing)?;
    }
    fields.serialize_field("summary", &report.summary)?;
    fields.serialize_field("targets", &Targets(&report.targets))?;
    SerializeStruct::end(fields)?;
    writeln!(out)?;
    out.flush()
}

/// The targets, for [`Indented`] only: a body is handed to it pretty-printed (as at the top
/// level), and it indents each of the body's lines to where the body stands.
struct Targets<'a>(&'a [TargetReport]);

impl Serialize for Targets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        // The last body pretty-printed: targets in a row often send the same bytes.
        let mut last: Option<(&[u8], Box<RawValue>)> = None;
        for target in self.0 {
            let body = match &target.status {
                Entry::Planned(planned) if !planned.body.is_empty() => {
                    let bytes = &planned.body.0[..];
                    if last.as_ref().is_none_or(|(seen, _)| *seen != bytes) {
                        let pretty = serde_json::to_string_pretty(&planned.body)
                            .map_err(S::Error::custom)?;
                        let raw = RawValue::from_string(pretty).map_err(S::Error::custom)?;
                        last = Some((bytes, raw));
                    }
                    last.as_ref().map(|(_, raw)| &**raw)
                }
                _ => None,
            };
            seq.serialize_element(&Target { target, body })?;
        }
        seq.end()
    }
}

/// A target's fields in the order (and with the omissions) of `TargetReport`'s derived
/// `Serialize`, its `Entry`'s fields in place of the flattened `status`.
struct Target<'a> {
    target: &'a TargetReport,
    /// The body pretty-printed, when there is one.
    body: Option<&'a RawValue>,
}

impl Serialize for Target<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.target;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("target", &t.target)?;
        optional(&mut map, "dispatch_id", &t.dispatch_id)?;
        optional(&mut map, "fingerprint", &t.fingerprint)?;
        optional(&mut map, "tracking_id", &t.tracking_id)?;
        map.serialize_entry("kind", t.kind)?;
        map.serialize_entry("destination", &t.destination)?;
        optional(&mut map, "label", &t.label)?;
        optional(&mut map, "token_env", &t.token_env)?;
        match &t.status {
            Entry::Planned(planned) => planned_fields(&mut map, planned, self.body)?,
            Entry::Done(status) => status_fields(&mut map, status)?,
        }
        optional(&mut map, "note", &t.note)?;
        optional(&mut map, "attempts", &t.attempts)?;
        optional(&mut map, "duration_ms", &t.duration_ms)?;
        map.end()
    }
}

fn optional<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, value),
        None => Ok(()),
    }
}

fn planned_fields<M: SerializeMap>(
    map: &mut M,
    p: &Planned,
    body: Option<&RawValue>,
) -> Result<(), M::Error> {
    map.serialize_entry("outcome", p.outcome)?;
    map.serialize_entry("method", p.method)?;
    map.serialize_entry("url", &p.url)?;
    optional(map, "token_env", &p.token_env)?;
    map.serialize_entry("token_set", &p.token_set)?;
    optional(map, "github_app", &p.github_app)?;
    if !p.headers.is_empty() {
        map.serialize_entry("headers", &p.headers)?;
    }
    match body {
        Some(pretty) => map.serialize_entry("body", pretty)?,
        None => map.serialize_entry("body", &p.body)?,
    }
    if p.wait {
        map.serialize_entry("wait", &true)?;
    }
    Ok(())
}

/// [`Status`] as its derived `Serialize` writes it (tagged by `outcome`), without the map.
fn status_fields<M: SerializeMap>(map: &mut M, status: &Status) -> Result<(), M::Error> {
    match status {
        Status::Delivered { http_status, run } => {
            map.serialize_entry("outcome", "delivered")?;
            map.serialize_entry("http_status", http_status)?;
            optional(map, "run", run)
        }
        Status::Failed {
            http_status,
            reason,
            hint,
        } => {
            map.serialize_entry("outcome", "failed")?;
            optional(map, "http_status", http_status)?;
            map.serialize_entry("reason", reason)?;
            optional(map, "hint", hint)
        }
        Status::Skipped { reason } => {
            map.serialize_entry("outcome", "skipped")?;
            map.serialize_entry("reason", reason)
        }
        Status::NotSent { reason } => {
            map.serialize_entry("outcome", "not_sent")?;
            map.serialize_entry("reason", reason)
        }
    }
}

/// serde_json's `PrettyFormatter` with its two-space indent, but a new line and its
/// indentation are one write; and a raw fragment (a pretty-printed body) has each of its lines
/// indented to where it stands, as the value it encodes would have been.
#[derive(Default)]
struct Indented {
    depth: usize,
    has_value: bool,
}

/// A comma, a new line and the indentation of the deepest lines a report has, and more.
const LINE: [u8; 66] = {
    let mut line = [b' '; 66];
    line[0] = b',';
    line[1] = b'\n';
    line
};

impl Indented {
    /// A new line (after a comma when `comma`) indented to the current depth.
    fn new_line<W: ?Sized + Write>(&self, writer: &mut W, comma: bool) -> io::Result<()> {
        let from = usize::from(!comma);
        match LINE.get(from..2 + 2 * self.depth) {
            Some(line) => writer.write_all(line),
            None => {
                writer.write_all(&LINE[from..2])?;
                (0..self.depth).try_for_each(|_| writer.write_all(b"  "))
            }
        }
    }
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, false)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(writer, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer, false)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.new_line(writer, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_raw_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut lines = fragment.split('\n');
        if let Some(first) = lines.next() {
            writer.write_all(first.as_bytes())?;
        }
        for line in lines {
            self.new_line(writer, false)?;
            writer.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Body, Entry, Planned, Report, Summary, TargetReport};
    use crate::dispatch::{RunInfo, Status};

    fn target(name: &str, status: Entry) -> TargetReport {
        TargetReport {
            target: name.to_owned(),
            dispatch_id: None,
            fingerprint: None,
            tracking_id: None,
            kind: "webhook",
            destination: "hooks.example.com".to_owned(),
            label: None,
            token_env: None,
            status,
            note: None,
            attempts: None,
            duration_ms: None,
        }
    }

    fn planned(body: &Body) -> Planned {
        Planned {
            outcome: "planned",
            method: "POST",
            url: "https://hooks.example.com/x".to_owned(),
            token_env: None,
            token_set: false,
            github_app: None,
            headers: Vec::new(),
            body: body.clone(),
            wait: false,
        }
    }

    fn written(report: &Report) -> (String, String) {
        let mut fast = Vec::new();
        report.write_json(&mut fast).unwrap();
        let mut reference = serde_json::to_vec_pretty(report).unwrap();
        reference.push(b'\n');
        (
            String::from_utf8(fast).unwrap(),
            String::from_utf8(reference).unwrap(),
        )
    }

    #[test]
    fn writes_what_serde_json_writes_for_every_kind_of_entry_and_every_optional_field() {
        let body = |text: &str| Body(bytes::Bytes::from(text.as_bytes().to_vec()));
        let shared = body(
            r#"{"event_type":"e","client_payload":{"v":"1.2.3","n":[1,-2,2.5e-7,{}],"e":[]}}"#,
        );
        let odd = body(
            r#"{"s":"ünï \"q\" \n\t\u0001 \u00e9 \ud83d\ude00","deep":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"r":{"s":{"t":{"u":{"v":{"w":{"x":{"y":{"z":{"0":{"1":{"2":{"3":{"4":[null,true,1e300]}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}},"x":{}}"#,
        );
        let everything = TargetReport {
            dispatch_id: Some("d1".to_owned()),
            fingerprint: Some("f1".to_owned()),
            tracking_id: Some("t1".to_owned()),
            label: Some("POST".to_owned()),
            token_env: Some("TOKEN".to_owned()),
            note: Some("why: it changed\nand more".to_owned()),
            attempts: Some(3),
            duration_ms: Some(12),
            ..target(
                "all",
                Entry::Planned(Planned {
                    token_env: Some("TOKEN".to_owned()),
                    token_set: true,
                    github_app: Some("12 (key in $KEY)".to_owned()),
                    headers: vec![("X-A".to_owned(), "b".to_owned())],
                    wait: true,
                    ..planned(&odd)
                }),
            )
        };
        let run = RunInfo {
            id: Some(7),
            url: Some("u".to_owned()),
            html_url: Some("h".to_owned()),
            status: Some("completed".to_owned()),
            conclusion: Some("failure".to_owned()),
            note: Some("n".to_owned()),
            interrupted: true,
            not_waited: true,
        };
        let targets = vec![
            everything,
            target("p1", Entry::Planned(planned(&shared))),
            target("p2", Entry::Planned(planned(&shared))),
            target("p3", Entry::Planned(planned(&body(r#"{"a":1}"#)))),
            target("p4", Entry::Planned(planned(&shared))),
            target("none", Entry::Planned(planned(&Body::default()))),
            target("p5", Entry::Planned(planned(&shared))),
            target("empty", Entry::Planned(planned(&body("{}")))),
            target("list", Entry::Planned(planned(&body("[]")))),
            target("odd", Entry::Planned(planned(&odd))),
            target(
                "d1",
                Entry::Done(Status::Delivered {
                    http_status: 204,
                    run: Some(run),
                }),
            ),
            target(
                "d2",
                Entry::Done(Status::Delivered {
                    http_status: 204,
                    run: None,
                }),
            ),
            target(
                "f1",
                Entry::Done(Status::Failed {
                    http_status: Some(500),
                    reason: "boom".to_owned(),
                    hint: Some("retry".to_owned()),
                }),
            ),
            target(
                "f2",
                Entry::Done(Status::Failed {
                    http_status: None,
                    reason: "boom".to_owned(),
                    hint: None,
                }),
            ),
            target(
                "s",
                Entry::Done(Status::Skipped {
                    reason: "r".to_owned(),
                }),
            ),
            target(
                "n",
                Entry::Done(Status::NotSent {
                    reason: "r".to_owned(),
                }),
            ),
        ];
        let mut report = Report {
            format: crate::journal::FORMAT,
            source: "app".to_owned(),
            version: "1.2.3".to_owned(),
            dry_run: true,
            pacing: Some(crate::plan::Pacing {
                rate_limit: "80/min".to_owned(),
                requests: 16,
                identities: 2,
                expected_duration_ms: 60_000,
            }),
            summary: Summary {
                runs_not_waited: 1,
                interrupted: true,
                max_duration_reached: true,
                duration_ms: Some(5),
                read_requests: Some(2),
                ..Summary::default()
            },
            targets,
        };
        let (fast, reference) = written(&report);
        assert_eq!(fast, reference);
        report.targets.clear();
        report.pacing = None;
        report.summary = Summary::default();
        let (fast, reference) = written(&report);
        assert_eq!(fast, reference);
    }
}
