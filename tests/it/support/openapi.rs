//! Checks recorded requests against GitHub's own OpenAPI description (the copy in
//! `tests/fixtures/github-api/`, so tests never need anything outside this repository).

use super::fake_github::Recorded;
use jsonschema::{Draft, Validator};
use serde_json::{json, Value};
use std::sync::OnceLock;

const DOCUMENT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/github-api/github-rest-dispatch.openapi.json"
);
/// The name the document is registered under; `$ref`s inside it resolve against this.
const DOCUMENT_URI: &str = "urn:github:rest-api-description";

pub const GITHUB_MEDIA_TYPE: &str = "application/vnd.github+json";
/// API versions GitHub accepts in `X-GitHub-Api-Version`; anything else is a 400.
pub const API_VERSIONS: &[&str] = &["2022-11-28", "2026-03-10"];

/// The OpenAPI document, read and parsed once per test binary.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let text = std::fs::read_to_string(DOCUMENT_PATH)
            .unwrap_or_else(|e| panic!("cannot read {DOCUMENT_PATH}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DOCUMENT_PATH} is not JSON: {e}"))
    })
}

/// One operation of the document, found by its `operationId`.
pub struct Operation {
    /// Lowercase, as the document keys it (`post`).
    pub method: String,
    /// Templated, e.g. `/repos/{owner}/{repo}/dispatches`.
    pub path: String,
    pub definition: &'static Value,
}

/// Panics, naming the known ids, when `operation_id` is not in the document.
pub fn operation(operation_id: &str) -> Operation {
    let paths = document()["paths"].as_object().into_iter().flatten();
    let mut known = Vec::new();
    for (path, item) in paths {
        for (method, definition) in item.as_object().into_iter().flatten() {
            match definition["operationId"].as_str() {
                Some(id) if id == operation_id => {
                    return Operation {
                        method: method.clone(),
                        path: path.clone(),
                        definition,
                    }
                }
                Some(id) => known.push(id),
                None => {}
            }
        }
    }
    panic!("no operation {operation_id:?} in the OpenAPI document; it has {known:?}")
}

/// A validator for the operation's `application/json` request body.
///
/// OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4 (`exclusiveMinimum` is a
/// boolean, `id` would be the identifier keyword), so the validator runs as draft 4. With
/// jsonschema 0.37 the whole document is registered as a resource under `DOCUMENT_URI` and the
/// root schema is a single `$ref` to the body schema by JSON pointer; `$ref`s inside it
/// (`#/components/schemas/..`) then resolve against the document, not against the tiny root.
/// Before registering, OpenAPI's `nullable: true` is rewritten into draft 4's
/// `type: [.., "null"]`, which is what it means.
pub fn request_body_validator(operation_id: &str) -> Validator {
    let operation = operation(operation_id);
    let pointer = format!(
        "/paths/{}/{}/requestBody/content/application~1json/schema",
        operation.path.replace('~', "~0").replace('/', "~1"),
        operation.method
    );
    assert!(
        document().pointer(&pointer).is_some(),
        "{operation_id} has no application/json request body schema"
    );
    // `{` and `}` are not allowed in a URI fragment; JSON pointers in fragments are
    // percent-decoded before use (RFC 6901 §6).
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    let root = json!({ "$ref": format!("{DOCUMENT_URI}#{fragment}") });
    let mut contents = document().clone();
    nullable_to_draft4(&mut contents);
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_resource(DOCUMENT_URI, Draft::Draft4.create_resource(contents))
        .build(&root)
        .unwrap_or_else(|e| panic!("cannot compile the {operation_id} request body schema: {e}"))
}

/// Every way `body` breaks the operation's request body schema, as `path: message` lines.
pub fn request_body_errors(operation_id: &str, body: &Value) -> Vec<String> {
    let validator = request_body_validator(operation_id);
    let errors = validator
        .iter_errors(body)
        .map(|e| format!("body{}: {e}", e.instance_path()))
        .collect();
    errors
}

pub fn assert_request_body_valid(operation_id: &str, body: &Value) {
    let errors = request_body_errors(operation_id, body);
    assert!(
        errors.is_empty(),
        "request body does not match {operation_id}:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}

/// The document's own `examples.default` request body for the operation.
pub fn example_request_body(operation_id: &str) -> Value {
    let operation = operation(operation_id);
    operation
        .definition
        .pointer("/requestBody/content/application~1json/examples/default/value")
        .cloned()
        .unwrap_or_else(|| panic!("{operation_id} has no default request body example"))
}

/// Whether `method path` (a concrete path, query allowed) is a call of the operation.
pub fn path_matches(operation_id: &str, method: &str, path: &str) -> bool {
    let operation = operation(operation_id);
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    let (mut want, mut have) = (operation.path.split('/'), path.split('/'));
    let segments_match = loop {
        match (want.next(), have.next()) {
            (None, None) => break true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    break false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => break false,
        }
    };
    segments_match && method.eq_ignore_ascii_case(&operation.method)
}

/// What is wrong with the headers GitHub requires of every REST call (empty when all is well):
/// `Accept: application/vnd.github+json`, a known `X-GitHub-Api-Version`, a `User-Agent`,
/// `Authorization: Bearer <token>`, and `Content-Type: application/json` on a body.
pub fn github_header_problems(request: &Recorded) -> Vec<String> {
    let mut problems = Vec::new();
    let accept = request.header("accept").unwrap_or("");
    if !accept.split(',').any(|m| m.trim() == GITHUB_MEDIA_TYPE) {
        problems.push(format!("accept is {accept:?}, want {GITHUB_MEDIA_TYPE:?}"));
    }
    match request.header("x-github-api-version") {
        Some(v) if API_VERSIONS.contains(&v) => {}
        other => problems.push(format!(
            "x-github-api-version is {other:?}, want one of {API_VERSIONS:?}"
        )),
    }
    if request
        .header("user-agent")
        .is_none_or(|ua| ua.trim().is_empty())
    {
        problems.push("user-agent is missing (GitHub rejects requests without one)".to_owned());
    }
    let authorization = request.header("authorization").unwrap_or("");
    let token = authorization.strip_prefix("Bearer ").unwrap_or("");
    if token.is_empty() || token.contains(char::is_whitespace) {
        problems.push("authorization is not `Bearer <token>`".to_owned());
    }
    let content_type = request.header("content-type").unwrap_or("");
    if !request.body.is_empty() && !content_type.starts_with("application/json") {
        problems.push(format!(
            "content-type is {content_type:?} on a body, want application/json"
        ));
    }
    problems
}

/// Panics listing every problem `github_header_problems` finds.
pub fn assert_github_headers(request: &Recorded) {
    let problems = github_header_problems(request);
    assert!(
        problems.is_empty(),
        "{} {} lacks GitHub's required headers:\n  {}",
        request.method,
        request.path,
        problems.join("\n  ")
    );
}

/// The whole contract for one recorded call: method and path, headers, and JSON body.
pub fn assert_request_matches(operation_id: &str, request: &Recorded) {
    assert!(
        path_matches(operation_id, &request.method, &request.path),
        "{} {} is not {operation_id} ({} {})",
        request.method,
        request.path,
        operation(operation_id).method.to_uppercase(),
        operation(operation_id).path
    );
    assert_github_headers(request);
    let has_body_schema = operation(operation_id)
        .definition
        .pointer("/requestBody/content/application~1json/schema")
        .is_some();
    if has_body_schema {
        assert_request_body_valid(operation_id, &request.body_json());
    }
}

/// OpenAPI 3.0 `nullable: true` becomes draft 4's `"null"` in `type` (and in `enum`).
fn nullable_to_draft4(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(ty)) = map.get("type") {
                    let types = json!([ty, "null"]);
                    map.insert("type".to_owned(), types);
                }
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    if !values.contains(&Value::Null) {
                        values.push(Value::Null);
                    }
                }
            }
            map.values_mut().for_each(nullable_to_draft4);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_to_draft4),
        _ => {}
    }
}
