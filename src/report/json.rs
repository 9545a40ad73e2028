//! The JSON report (`--output json`, `--report FILE`): the bytes `serde_json::to_writer_pretty`
//! writes for a [`Report`] (its derived `Serialize` is the reference; a test holds the two
//! equal), written faster. A 10,000-target report is 6 MB: the report and each target are
//! written here field by field (a string that needs no escape as it is; each line's
//! indentation in one write), the few nested values (pacing, summary, headers, a run) by
//! serde_json at their depth; and a body is pretty-printed once for all the targets in a row
//! that send the same bytes, not re-parsed for each.

use super::{Body, Entry, Planned, Report, TargetReport};
use crate::dispatch::Status;
use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

pub(super) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // Through a buffer of a type known here, each piece is a copy, not a call through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut fields = Object::begin(&mut out, 0)?;
    fields.value("format", &report.format)?;
    fields.string("source", &report.source)?;
    fields.string("version", &report.version)?;
    fields.value("dry_run", &report.dry_run)?;
    fields.optional("pacing", &report.pacing)?;
    fields.value("summary", &report.summary)?;
    fields.key("targets")?;
    targets(fields.out, fields.depth, &report.targets)?;
    fields.end()?;
    writeln!(out)?;
    out.flush()
}

/// The targets, an array that stands on a line indented `depth` levels.
fn targets<W: Write>(out: &mut W, depth: usize, targets: &[TargetReport]) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut last_body = LastBody::default();
    for (i, target) in targets.iter().enumerate() {
        new_line(out, depth + 1, i > 0)?;
        write_target(out, depth + 1, target, &mut last_body)?;
    }
    if !targets.is_empty() {
        new_line(out, depth, false)?;
    }
    out.write_all(b"]")
}

/// The last body written, as it was written: targets in a row often send the same bytes.
#[derive(Default)]
struct LastBody {
    bytes: bytes::Bytes,
    depth: usize,
    written: Vec<u8>,
}

impl LastBody {
    /// `body` as serde_json writes it at `depth`.
    fn write<W: Write>(&mut self, out: &mut W, depth: usize, body: &Body) -> io::Result<()> {
        if body.is_empty() {
            return out.write_all(b"null");
        }
        if self.bytes != body.0 || self.depth != depth {
            let pretty = serde_json::to_string_pretty(body)?;
            self.written.clear();
            indented(&mut self.written, depth, &pretty)?;
            self.bytes = body.0.clone();
            self.depth = depth;
        }
        out.write_all(&self.written)
    }
}

/// A target's fields in the order (and with the omissions) of `TargetReport`'s derived
/// `Serialize`, its `Entry`'s fields in place of the flattened `status`.
fn write_target<W: Write>(
    out: &mut W,
    depth: usize,
    t: &TargetReport,
    last_body: &mut LastBody,
) -> io::Result<()> {
    let mut fields = Object::begin(out, depth)?;
    fields.string("target", &t.target)?;
    fields.optional_string("dispatch_id", t.dispatch_id.as_deref())?;
    let fingerprint = t.fingerprint.map(|f| f.hex());
    fields.optional_string("fingerprint", fingerprint.as_deref())?;
    fields.optional_string("tracking_id", t.tracking_id.as_deref())?;
    fields.string("kind", t.kind)?;
    fields.string("destination", &t.destination)?;
    fields.optional_string("label", t.label.as_deref())?;
    fields.optional_string("token_env", t.token_env.as_deref())?;
    match &t.status {
        Entry::Planned(planned) => planned_fields(&mut fields, planned, last_body)?,
        Entry::Done(status) => status_fields(&mut fields, status)?,
    }
    fields.optional_string("note", t.note.as_deref())?;
    fields.optional("attempts", &t.attempts)?;
    fields.optional("duration_ms", &t.duration_ms)?;
    fields.end()
}

fn planned_fields<W: Write>(
    fields: &mut Object<'_, W>,
    p: &Planned,
    last_body: &mut LastBody,
) -> io::Result<()> {
    fields.string("outcome", p.outcome)?;
    fields.string("method", p.method)?;
    fields.string("url", &p.url)?;
    fields.optional_string("token_env", p.token_env.as_deref())?;
    fields.value("token_set", &p.token_set)?;
    fields.optional_string("github_app", p.github_app.as_deref())?;
    if !p.headers.is_empty() {
        fields.value("headers", &p.headers)?;
    }
    fields.key("body")?;
    last_body.write(fields.out, fields.depth, &p.body)?;
    if p.wait {
        fields.value("wait", &true)?;
    }
    Ok(())
}

/// [`Status`] as its derived `Serialize` writes it (tagged by `outcome`), without the braces.
fn status_fields<W: Write>(fields: &mut Object<'_, W>, status: &Status) -> io::Result<()> {
    match status {
        Status::Delivered { http_status, run } => {
            fields.string("outcome", "delivered")?;
            fields.value("http_status", http_status)?;
            fields.optional("run", run)
        }
        Status::Failed {
            http_status,
            reason,
            hint,
        } => {
            fields.string("outcome", "failed")?;
            fields.optional("http_status", http_status)?;
            fields.string("reason", reason)?;
            fields.optional_string("hint", hint.as_deref())
        }
        Status::Skipped { reason } => {
            fields.string("outcome", "skipped")?;
            fields.string("reason", reason)
        }
        Status::NotSent { reason } => {
            fields.string("outcome", "not_sent")?;
            fields.string("reason", reason)
        }
    }
}

/// An object being written, its keys on lines indented `depth` levels.
struct Object<'a, W: Write> {
    out: &'a mut W,
    depth: usize,
    empty: bool,
}

impl<'a, W: Write> Object<'a, W> {
    /// An object that stands on a line indented `depth` levels.
    fn begin(out: &'a mut W, depth: usize) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(Object {
            out,
            depth: depth + 1,
            empty: true,
        })
    }

    /// `key` is one of ours: nothing in it needs an escape.
    fn key(&mut self, key: &str) -> io::Result<()> {
        new_line(self.out, self.depth, !self.empty)?;
        self.empty = false;
        self.out.write_all(b"\"")?;
        self.out.write_all(key.as_bytes())?;
        self.out.write_all(b"\": ")
    }

    fn string(&mut self, key: &str, value: &str) -> io::Result<()> {
        self.key(key)?;
        string(self.out, value)
    }

    fn optional_string(&mut self, key: &str, value: Option<&str>) -> io::Result<()> {
        match value {
            Some(value) => self.string(key, value),
            None => Ok(()),
        }
    }

    /// Any value, as serde_json writes it at this depth.
    fn value<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> io::Result<()> {
        self.key(key)?;
        let at = Indented {
            depth: self.depth,
            has_value: false,
        };
        value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut *self.out,
            at,
        ))?;
        Ok(())
    }

    fn optional<T: Serialize>(&mut self, key: &str, value: &Option<T>) -> io::Result<()> {
        match value {
            Some(value) => self.value(key, value),
            None => Ok(()),
        }
    }

    fn end(self) -> io::Result<()> {
        if !self.empty {
            new_line(self.out, self.depth - 1, false)?;
        }
        self.out.write_all(b"}")
    }
}

/// A JSON string as serde_json writes it: as it is when nothing in it needs an escape.
fn string<W: Write>(out: &mut W, value: &str) -> io::Result<()> {
    // No early exit: the compiler checks many bytes at once.
    let plain = value.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.write_all(b"\"")?;
        out.write_all(value.as_bytes())?;
        out.write_all(b"\"")
    } else {
        serde_json::to_writer(out, value).map_err(io::Error::from)
    }
}

/// `pretty` (a value pretty-printed at the top level) as it is written at `depth`: each of its
/// lines after the first indented `depth` levels more.
fn indented<W: Write>(out: &mut W, depth: usize, pretty: &str) -> io::Result<()> {
    let mut lines = pretty.split('\n');
    if let Some(first) = lines.next() {
        out.write_all(first.as_bytes())?;
    }
    for line in lines {
        new_line(out, depth, false)?;
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A comma, a new line and the indentation of the deepest lines a report has, and more.
const LINE: [u8; 66] = {
    let mut line = [b' '; 66];
    line[0] = b',';
    line[1] = b'\n';
    line
};

/// A new line (after a comma when `comma`) indented `depth` levels of two spaces.
fn new_line<W: ?Sized + Write>(out: &mut W, depth: usize, comma: bool) -> io::Result<()> {
    let from = usize::from(!comma);
    match LINE.get(from..2 + 2 * depth) {
        Some(line) => out.write_all(line),
        None => {
            out.write_all(&LINE[from..2])?;
            (0..depth).try_for_each(|_| out.write_all(b"  "))
        }
    }
}

/// serde_json's `PrettyFormatter` with its two-space indent, starting `depth` levels in, each
/// new line and its indentation in one write.
struct Indented {
    depth: usize,
    has_value: bool,
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
            new_line(writer, self.depth, false)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        new_line(writer, self.depth, !first)
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
            new_line(writer, self.depth, false)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        new_line(writer, self.depth, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
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
            destination: format!("{name}.example.com/ü"),
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
            dispatch_id: Some(crate::plan::dispatch_id("s", "1.2.3", "all")),
            fingerprint: Some(crate::plan::fingerprint("POST", "https://x.test", b"")),
            tracking_id: Some("t1".to_owned()),
            label: Some("POST".into()),
            token_env: Some("TOKEN".into()),
            note: Some("why: it changed\nand more".to_owned()),
            attempts: Some(3),
            duration_ms: Some(12),
            ..target(
                "all",
                Entry::Planned(Planned {
                    token_env: Some("TOKEN".into()),
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
                    reason: "boom \"q\" \\ \u{7f} \u{1} ü \t".to_owned(),
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
            pacing: Some(crate::plan::PacingEstimate {
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
