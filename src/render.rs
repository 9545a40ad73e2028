//! Handlebars templates: compiled once when the configuration is loaded, rendered per release.
//!
//! Payloads are YAML structure whose string leaves are templates, and each leaf renders to a
//! JSON string, so no rendered value can break the JSON around it. The registry is strict (an
//! unknown variable is an error, not an empty string), does not HTML-escape, and has no helper
//! that reads files or the environment: templates see only the context built here.

pub mod env;
mod explain;
mod guard;
mod helpers;

pub use guard::Traits;
pub use helpers::HELPERS;

use crate::release::{CiContext, Release};
use explain::Explained;
use handlebars::{Context, Handlebars};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// How much template work one command may do, in units of about one template byte rendered:
/// each render costs [`RENDER_WEIGHT`] plus the template's size, and a template with
/// `{{#each}}` counts [`EACH_WEIGHT`] times its size. A 10,000-target fan-out with ten distinct
/// templates per target uses about a third of it to validate; past it a file is refused
/// rather than left to burn CI time (about two seconds of rendering).
pub const MAX_RENDER_WORK: u64 = 300_000_000;
/// The fixed cost of one render (context lookup, output buffer), in template bytes.
pub const RENDER_WEIGHT: u64 = 256;
/// How many times an `{{#each}}` template counts: about the most items it can walk in the
/// context (the release context has 13 keys, `ci` 9).
pub const EACH_WEIGHT: u64 = 16;

/// Rendered strings longer than this are refused: GitHub's largest body is 64 KB, and the cap
/// keeps a runaway template (`{{#each}}` over something big) from using unbounded memory.
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;

/// A string that may be a template. Strings without `{{` are kept as they are, which is both
/// faster and spares users from escaping text that is not meant as a template.
#[derive(Debug, Clone)]
pub enum Text {
    /// Shared: a request's event type is often one of these, sent by thousands of targets.
    Literal(Arc<str>),
    Template {
        /// The compiled template in [`Templates`], shared by every leaf with the same source.
        id: usize,
        /// This leaf's key path, for messages: in the file, or in its target for a target's
        /// templates (the planner puts the target's path in front), so that targets with the
        /// same payload share its compiled form.
        path: String,
    },
}

/// The structure of a payload, with its string leaves compiled.
#[derive(Debug, Clone)]
pub enum PayloadTemplate {
    /// Numbers, booleans and nulls are sent exactly as written.
    Value(Value),
    Text(Text),
    Map(Vec<(String, PayloadTemplate)>),
    List(Vec<PayloadTemplate>),
}

/// All templates of one configuration, each distinct source compiled and registered once.
pub struct Templates {
    registry: Handlebars<'static>,
    budget: guard::Budget,
    /// Registered template ids by source text.
    compiled: std::collections::HashMap<String, usize>,
    /// Each registered template's name in the registry, by id.
    names: Vec<String>,
    /// What each registered template's cost and output depend on, by id.
    traits: Vec<(Traits, u64)>,
    /// The last map [`Templates::payload_map`] compiled without a problem, by its path and the
    /// map as written: a fan-out repeats one payload for thousands of targets.
    last_map: Option<LastMap>,
    /// The last literal [`Templates::text`] kept, shared with the next one alike.
    last_literal: Option<Arc<str>>,
    /// The environment variables the file lets templates read (its `env:` list).
    env_names: Vec<String>,
}

/// See [`Templates::last_map`].
struct LastMap {
    path: String,
    entries: Vec<(String, Value)>,
    compiled: Arc<PayloadTemplate>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut registry);
        Templates {
            registry,
            budget: guard::Budget::default(),
            compiled: std::collections::HashMap::new(),
            names: Vec::new(),
            traits: Vec::new(),
            last_map: None,
            last_literal: None,
            env_names: Vec::new(),
        }
    }
}

/// Why a template failed, with its position inside the template when known.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateProblem {
    /// The template's key path.
    pub name: String,
    pub message: String,
    /// What to do about it, for this kind of problem; `None` where the caller knows best
    /// (the template's size and nesting limits).
    pub help: Option<String>,
}

/// Whether two maps are written alike: the same keys in the same order, and the same values
/// to the bit (`Map`'s `==` ignores key order, and `-0.0 == 0.0`), so a map that shares
/// another's compiled form sends what its own target wrote.
fn same_map<'a>(
    a: impl ExactSizeIterator<Item = (&'a String, &'a Value)>,
    b: impl ExactSizeIterator<Item = (&'a String, &'a Value)>,
) -> bool {
    a.len() == b.len()
        && a.zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
}

fn pairs(entries: &[(String, Value)]) -> impl ExactSizeIterator<Item = (&String, &Value)> {
    entries.iter().map(|(k, v)| (k, v))
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => same_map(a.iter(), b.iter()),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) if a.is_f64() || b.is_f64() => {
                a.is_f64() == b.is_f64() && x.to_bits() == y.to_bits()
            }
            _ => a == b,
        },
        _ => a == b,
    }
}

impl Templates {
    /// Lets templates read the variables in `names` as `{{env.NAME}}` (the file's `env:`),
    /// refusing names that look like a secret's; problems go to `out`.
    pub fn allow_env(&mut self, names: Vec<String>, out: &mut Vec<crate::diagnostic::Diagnostic>) {
        if names.len() > env::MAX_ENV {
            out.push(crate::diagnostic::Diagnostic::error(
                crate::diagnostic::Code::Limit,
                "env",
                format!(
                    "env lists {} variables; at most {} may be listed",
                    names.len(),
                    env::MAX_ENV
                ),
            ));
            return;
        }
        for (index, name) in names.into_iter().enumerate() {
            match env::name_problem(index, &name) {
                Some(problem) => out.push(problem),
                None if self.env_names.contains(&name) => {}
                None => self.env_names.push(name),
            }
        }
    }

    /// The variables templates may read as `{{env.NAME}}`, in the file's order.
    pub fn env_names(&self) -> &[String] {
        &self.env_names
    }

    /// Compiles `source` under `name` (its key path) when it contains template syntax.
    pub fn text(&mut self, name: &str, source: &str) -> Result<Text, TemplateProblem> {
        if !source.contains("{{") {
            return Ok(Text::Literal(self.literal(source)));
        }
        let problem = |message| TemplateProblem {
            name: name.to_owned(),
            message,
            help: None,
        };
        // A fan-out repeats the same few templates across many targets: compile each source
        // once (compiling is most of the cost of loading, and the compiled form most of its
        // memory).
        if let Some(&id) = self.compiled.get(source) {
            return Ok(Text::Template {
                id,
                path: name.to_owned(),
            });
        }
        self.budget.take(source).map_err(problem)?;
        let template = handlebars::Template::compile(source).map_err(|err| {
            let why = explain::syntax(source, &err);
            TemplateProblem {
                name: name.to_owned(),
                message: why.message,
                help: Some(why.help),
            }
        })?;
        let traits = guard::check(&template).map_err(problem)?;
        let factor = if traits.each { EACH_WEIGHT } else { 1 };
        let weight = (source.len() as u64)
            .saturating_mul(factor)
            .saturating_add(RENDER_WEIGHT);
        // Registered by a number, not by the key path: two paths can be spelt alike (the key
        // `a.b` and the key `b` inside `a`), and a second registration would replace the first.
        let id = self.names.len();
        let registered = id.to_string();
        self.registry.register_template(&registered, template);
        self.names.push(registered);
        self.traits.push((traits, weight));
        self.compiled.insert(source.to_owned(), id);
        Ok(Text::Template {
            id,
            path: name.to_owned(),
        })
    }

    /// `source` as a literal: the one before it again when they are alike (a fan-out gives
    /// thousands of targets the same event type).
    fn literal(&mut self, source: &str) -> Arc<str> {
        match &self.last_literal {
            Some(last) if **last == *source => Arc::clone(last),
            _ => Arc::clone(self.last_literal.insert(source.into())),
        }
    }

    /// Compiles every string leaf of a payload; problems in all leaves are returned together.
    pub fn payload(
        &mut self,
        path: &str,
        value: &Value,
        problems: &mut Vec<TemplateProblem>,
    ) -> PayloadTemplate {
        match value {
            Value::String(s) => match self.text(path, s) {
                Ok(text) => PayloadTemplate::Text(text),
                Err(problem) => {
                    problems.push(problem);
                    PayloadTemplate::Value(Value::Null)
                }
            },
            Value::Object(map) => PayloadTemplate::Map(
                map.iter()
                    .map(|(k, v)| {
                        let child = crate::diagnostic::join(path, k);
                        (k.clone(), self.payload(&child, v, problems))
                    })
                    .collect(),
            ),
            Value::Array(items) => PayloadTemplate::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.payload(&format!("{path}[{i}]"), v, problems))
                    .collect(),
            ),
            other => PayloadTemplate::Value(other.clone()),
        }
    }

    /// [`Templates::payload`] for a map's entries in order, such as a target's
    /// `client_payload` as read; a map the same as the one before it, at the same path, shares
    /// its compiled form.
    pub fn payload_map(
        &mut self,
        path: &str,
        map: &[(String, Value)],
        problems: &mut Vec<TemplateProblem>,
    ) -> Arc<PayloadTemplate> {
        if let Some(last) = &self.last_map {
            if last.path == path && same_map(pairs(&last.entries), pairs(map)) {
                return Arc::clone(&last.compiled);
            }
        }
        let before = problems.len();
        let compiled = Arc::new(PayloadTemplate::Map(
            map.iter()
                .map(|(k, v)| {
                    let child = crate::diagnostic::join(path, k);
                    (k.clone(), self.payload(&child, v, problems))
                })
                .collect(),
        ));
        // A map with a problem is compiled again, so each use reports it.
        if problems.len() == before {
            self.last_map = Some(LastMap {
                path: path.to_owned(),
                entries: map.to_vec(),
                compiled: Arc::clone(&compiled),
            });
        }
        compiled
    }

    /// Whether any template of `payload` may read what differs from one target to the next
    /// (see [`Traits::reads_target`]).
    pub fn reads_target(&self, payload: &PayloadTemplate) -> bool {
        payload.texts().into_iter().any(|text| match text {
            Text::Literal(_) => false,
            Text::Template { id, .. } => self.traits.get(*id).is_none_or(|(t, _)| t.reads_target),
        })
    }

    /// A template as written and as compiled, for reading which variables it uses (`check`
    /// and `receiver` list the event types a template can render). `None` for a literal.
    pub fn source_of(&self, text: &Text) -> Option<(&str, &handlebars::Template)> {
        let Text::Template { id, .. } = text else {
            return None;
        };
        let compiled = self.registry.get_template(self.names.get(*id)?)?;
        // Looked up by value: only `check` and `receiver` ask, once per target they read.
        let source = self.compiled.iter().find(|(_, i)| **i == *id)?.0;
        Some((source, compiled))
    }

    /// Whether rendering `text` can depend on the values in the context beyond their length
    /// (see [`Traits::reads_values`]).
    pub fn reads_values(&self, text: &Text) -> bool {
        match text {
            Text::Literal(_) => false,
            Text::Template { id, .. } => self.traits.get(*id).is_none_or(|(t, _)| t.reads_values),
        }
    }

    /// Renders `text` for the context `memo` was made for: each distinct template once, charged
    /// to the command's work budget.
    pub fn render_text(&self, text: &Text, memo: &mut Memo) -> Result<String, TemplateProblem> {
        let (id, name) = match text {
            Text::Literal(s) => return Ok(s.to_string()),
            Text::Template { id, path } => (*id, path),
        };
        let problem = |why: Explained| TemplateProblem {
            name: name.clone(),
            message: why.message,
            help: Some(why.help),
        };
        let (traits, weight) = self
            .traits
            .get(id)
            .map_or((None, RENDER_WEIGHT), |(traits, weight)| {
                (Some(traits), *weight)
            });
        // Rendered alike for every target of the release, or only for this one.
        let per_release = traits.is_some_and(|t| !t.reads_target);
        if let Some(done) = memo.renders(per_release).get(&id) {
            return done.clone().map_err(problem);
        }
        memo.work.used = memo.work.used.saturating_add(weight);
        if memo.work.used > memo.work.limit {
            memo.work.exhausted = true;
            return Err(problem(Explained {
                message: format!("rendering stopped: the templates ask for more than {MAX_RENDER_WORK} units of work (see the README's limits)"),
                help: "render fewer or simpler templates: a template that reads nothing of the target renders once per release, the others once per target".into(),
            }));
        }
        let done = self.render_once(id, memo.current());
        memo.renders(per_release).insert(id, done.clone());
        done.map_err(problem)
    }

    /// [`Templates::render_text`], shared rather than copied when `text` is a literal.
    pub fn render_shared(&self, text: &Text, memo: &mut Memo) -> Result<Arc<str>, TemplateProblem> {
        match text {
            Text::Literal(s) => Ok(Arc::clone(s)),
            Text::Template { .. } => self.render_text(text, memo).map(Arc::from),
        }
    }

    fn render_once(&self, id: usize, ctx: &Context) -> Result<String, Explained> {
        let name = self.names.get(id).map_or("", String::as_str);
        // Rendering stops as soon as the output is too big, rather than after.
        let mut out = guard::Bounded::new(MAX_RENDERED_BYTES);
        let rendered = self
            .registry
            .render_with_context_to_write(name, ctx, &mut out);
        if out.overflowed() {
            return Err(Explained {
                message: format!(
                    "renders to more than the {MAX_RENDERED_BYTES} bytes a payload can hold"
                ),
                help: "keep rendered values small: send a reference (a version, a URL), not the content".into(),
            });
        }
        rendered.map_err(|err| explain::render(&err, ctx.data(), &self.env_names))?;
        Ok(out.into_string())
    }

    /// Renders a payload; every failing leaf is reported, not just the first.
    pub fn render_payload(
        &self,
        payload: &PayloadTemplate,
        memo: &mut Memo,
        problems: &mut Vec<TemplateProblem>,
    ) -> Value {
        match payload {
            PayloadTemplate::Value(v) => v.clone(),
            PayloadTemplate::Text(text) => match self.render_text(text, memo) {
                Ok(s) => Value::String(s),
                Err(problem) => {
                    problems.push(problem);
                    Value::Null
                }
            },
            PayloadTemplate::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), self.render_payload(v, memo, problems)))
                    .collect::<Map<_, _>>(),
            ),
            PayloadTemplate::List(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_payload(v, memo, problems))
                    .collect(),
            ),
        }
    }
}

impl PayloadTemplate {
    /// Every string leaf, templates and literals.
    pub fn texts(&self) -> Vec<&Text> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match node {
                PayloadTemplate::Value(_) => {}
                PayloadTemplate::Text(text) => out.push(text),
                PayloadTemplate::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
                PayloadTemplate::List(items) => stack.extend(items),
            }
        }
        out
    }
}

/// How much template work a command has done, across every plan it builds.
#[derive(Debug)]
pub struct Work {
    used: u64,
    limit: u64,
    exhausted: bool,
}

impl Default for Work {
    fn default() -> Self {
        Work::limited(MAX_RENDER_WORK)
    }
}

impl Work {
    /// A budget of `limit` units instead of [`MAX_RENDER_WORK`].
    pub fn limited(limit: u64) -> Work {
        Work {
            used: 0,
            limit,
            exhausted: false,
        }
    }

    /// Whether a render was refused because the budget ran out.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// Units used so far.
    pub fn used(&self) -> u64 {
        self.used
    }
}

/// One context's renders: a payload that repeats a template (a YAML alias, a list) renders it
/// once, and a template that reads nothing of the target ([`Traits::reads_target`]) renders
/// once for every target of the release.
pub struct Memo<'w> {
    ctx: Context,
    rendered: std::collections::HashMap<usize, Result<String, Explained>>,
    release: std::collections::HashMap<usize, Result<String, Explained>>,
    work: &'w mut Work,
    /// The target [`Memo::set_target`] last named. It enters the context only when a template
    /// that reads it renders: most fan-outs render nothing of the target.
    target: [String; 4],
    dispatch_id: String,
    /// `ctx` does not hold `target` yet.
    stale: bool,
    /// The last body encoded from a payload that reads nothing of its target, and the text
    /// rendered beside it (a repository_dispatch's event type): see [`Memo::body_of`].
    last_body: Option<(Arc<PayloadTemplate>, String, bytes::Bytes)>,
}

impl<'w> Memo<'w> {
    /// For the release's part of the context; [`Memo::set_target`] adds each target's.
    pub fn new(release: Map<String, Value>, work: &'w mut Work) -> Memo<'w> {
        Memo {
            ctx: Context::from(Value::Object(release)),
            rendered: std::collections::HashMap::new(),
            release: std::collections::HashMap::new(),
            work,
            target: Default::default(),
            dispatch_id: String::new(),
            stale: false,
            last_body: None,
        }
    }

    /// The body [`Memo::keep_body`] kept for `payload` and `beside`: targets that share a
    /// payload reading nothing of the target send the same bytes, encoded once.
    pub fn body_of(&self, payload: &Arc<PayloadTemplate>, beside: &str) -> Option<bytes::Bytes> {
        let (kept, kept_beside, body) = self.last_body.as_ref()?;
        (Arc::ptr_eq(kept, payload) && kept_beside == beside).then(|| body.clone())
    }

    /// Keeps `body`, encoded from `payload` (which must read nothing of the target, see
    /// [`Templates::reads_target`]) and `beside`, for the next target.
    pub fn keep_body(&mut self, payload: &Arc<PayloadTemplate>, beside: &str, body: &bytes::Bytes) {
        self.last_body = Some((Arc::clone(payload), beside.to_owned(), body.clone()));
    }

    /// Points the context at another target (see [`set_target`]); what was rendered for the
    /// previous one is forgotten.
    pub fn set_target(&mut self, target: &RepoVars<'_>, dispatch_id: &str) {
        let parts = [target.name, target.repository, target.owner, target.repo];
        for (kept, part) in self.target.iter_mut().zip(parts) {
            kept.clear();
            kept.push_str(part);
        }
        self.dispatch_id.clear();
        self.dispatch_id.push_str(dispatch_id);
        self.stale = true;
        self.rendered.clear();
    }

    /// What was rendered once for the whole release, or for this target only.
    fn renders(&mut self, per_release: bool) -> &mut HashMap<usize, Result<String, Explained>> {
        if per_release {
            &mut self.release
        } else {
            &mut self.rendered
        }
    }

    /// The target's `{{dispatch_id}}`.
    pub fn dispatch_id(&self) -> &str {
        &self.dispatch_id
    }

    /// The release's part of the context (`vars`, `ci`, `source`, the version).
    pub fn release_data(&self) -> &Value {
        self.ctx.data()
    }

    /// The whole context, the target's part included.
    fn current(&mut self) -> &Context {
        if self.stale {
            let [name, repository, owner, repo] = &self.target;
            let vars = RepoVars {
                name,
                repository,
                owner,
                repo,
            };
            set_target(&mut self.ctx, &vars, &self.dispatch_id);
            self.stale = false;
        }
        &self.ctx
    }

    pub fn work(&self) -> &Work {
        self.work
    }
}

/// The variables a template can use, for error messages and the README.
pub const VARIABLES: &[&str] = &[
    "source.name",
    "source.repository",
    "source.owner",
    "source.repo",
    "target.name",
    "target.repository",
    "target.owner",
    "target.repo",
    "version",
    "tag",
    "ref",
    "major",
    "minor",
    "patch",
    "prerelease",
    "build",
    "is_prerelease",
    "dispatch_id",
    "vars.<key>",
    "ci.sha",
    "ci.run_id",
    "ci.run_attempt",
    "ci.run_url",
    "ci.server_url",
    "ci.repository",
    "ci.ref",
    "ci.actor",
    "ci.workflow",
];

/// A repository as seen by templates.
pub struct RepoVars<'a> {
    pub name: &'a str,
    pub repository: &'a str,
    pub owner: &'a str,
    pub repo: &'a str,
}

impl RepoVars<'_> {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "repository": self.repository,
            "owner": self.owner,
            "repo": self.repo,
        })
    }
}

/// The part of the context shared by every target of one release.
pub fn release_context(release: &Release, source: &RepoVars<'_>) -> Map<String, Value> {
    let version = &release.version;
    let mut ctx = Map::new();
    ctx.insert("source".into(), source.to_json());
    ctx.insert("version".into(), json!(version.text));
    ctx.insert("tag".into(), json!(version.tag));
    ctx.insert("ref".into(), json!(version.given));
    ctx.insert("is_prerelease".into(), json!(version.is_prerelease()));
    if let Some(v) = &version.semver {
        ctx.insert("major".into(), json!(v.major));
        ctx.insert("minor".into(), json!(v.minor));
        ctx.insert("patch".into(), json!(v.patch));
        ctx.insert("prerelease".into(), json!(v.pre.as_str()));
        ctx.insert("build".into(), json!(v.build.as_str()));
    }
    ctx.insert("vars".into(), json!(release.vars));
    ctx.insert("ci".into(), ci_json(&release.ci));
    ctx
}

fn ci_json(ci: &CiContext) -> Value {
    serde_json::to_value(ci).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Points a context at another target, without copying the
/// release's part again (a fan-out renders thousands of targets from one release).
pub fn set_target(ctx: &mut Context, target: &RepoVars<'_>, dispatch_id: &str) {
    if let Value::Object(map) = ctx.data_mut() {
        map.insert("target".into(), target.to_json());
        map.insert("dispatch_id".into(), json!(dispatch_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Version;

    fn ctx(version: &str) -> (Map<String, Value>, RepoVars<'static>) {
        let release = Release {
            source: "app".into(),
            version: Version::parse(version).unwrap(),
            vars: [("env".to_owned(), "prod".to_owned())]
                .into_iter()
                .collect(),
            ci: CiContext::default(),
            changes: None,
        };
        let source = RepoVars {
            name: "app",
            repository: "o/app",
            owner: "o",
            repo: "app",
        };
        let target = RepoVars {
            name: "web",
            repository: "o/web",
            owner: "o",
            repo: "web",
        };
        (release_context(&release, &source), target)
    }

    fn render(payload: Value, version: &str) -> (Value, Vec<TemplateProblem>) {
        let mut templates = Templates::default();
        let mut problems = Vec::new();
        let compiled = templates.payload("p", &payload, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let mut work = Work::default();
        let (release, target) = ctx(version);
        let mut memo = Memo::new(release, &mut work);
        memo.set_target(&target, "0123456789abcdef");
        let out = templates.render_payload(&compiled, &mut memo, &mut problems);
        (out, problems)
    }

    #[test]
    fn what_reads_no_target_renders_once_per_release_and_the_rest_once_per_target() {
        let mut templates = Templates::default();
        let mut problems = Vec::new();
        let payload =
            json!({"r": "{{source.name}}@{{version}}", "t": "{{target.name}}:{{dispatch_id}}"});
        let compiled = templates.payload("p", &payload, &mut problems);
        let mut work = Work::default();
        let (release, _) = ctx("1.0.0");
        let mut memo = Memo::new(release, &mut work);
        let mut outs = Vec::new();
        for (name, id) in [("web", "1111"), ("docs", "2222"), ("api", "3333")] {
            let target = RepoVars {
                name,
                repository: "o/x",
                owner: "o",
                repo: "x",
            };
            memo.set_target(&target, id);
            assert_eq!(memo.dispatch_id(), id);
            outs.push(templates.render_payload(&compiled, &mut memo, &mut problems));
        }
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            outs,
            [
                json!({"r": "app@1.0.0", "t": "web:1111"}),
                json!({"r": "app@1.0.0", "t": "docs:2222"}),
                json!({"r": "app@1.0.0", "t": "api:3333"}),
            ]
        );
        // Four renders: the release's template once, the target's once per target.
        assert_eq!(work.used(), 4 * RENDER_WEIGHT + weight_of(&payload));
    }

    /// The bytes of every template in `payload`, as [`Templates::text`] weighs them beyond
    /// [`RENDER_WEIGHT`]: once for the release's, three times for the target's.
    fn weight_of(payload: &Value) -> u64 {
        let r = payload["r"].as_str().unwrap().len() as u64;
        let t = payload["t"].as_str().unwrap().len() as u64;
        r + 3 * t
    }

    #[test]
    fn renders_leaves_as_strings_and_keeps_other_values() {
        let (out, problems) = render(
            json!({"v": "{{version}}", "m": "{{major}}.{{minor}}", "n": 3, "b": true,
                   "nested": {"list": ["{{source.name}}->{{target.repository}}", "{{vars.env}}"]}}),
            "v2.5.0",
        );
        assert!(problems.is_empty());
        assert_eq!(
            out,
            json!({"v": "2.5.0", "m": "2.5", "n": 3, "b": true,
                   "nested": {"list": ["app->o/web", "prod"]}})
        );
    }

    #[test]
    fn values_that_look_like_json_or_html_stay_plain_strings() {
        let (out, _) = render(json!({"x": "{{vars.env}}\"}<b>&"}), "1.0.0");
        assert_eq!(out, json!({"x": "prod\"}<b>&"}));
    }

    #[test]
    fn an_unknown_variable_is_an_error_naming_the_template() {
        let (_, problems) = render(json!({"x": "{{versoin}}"}), "1.0.0");
        assert_eq!(problems[0].name, "p.x");
        assert!(problems[0].message.contains("versoin"), "{problems:?}");
    }

    #[test]
    fn semver_parts_are_missing_for_non_semver_versions() {
        let (_, problems) = render(json!({"x": "{{major}}"}), "2024.05");
        assert_eq!(
            problems[0].message,
            "template uses `major`, which exists only for semver versions (`1.2.3`), and `2024.05` is not one"
        );
        assert_eq!(problems[0].help.as_deref(), Some("use `{{version}}` for the version as given, or send this target only semver releases with a `when.version` condition (e.g. `when: { version: \">=1.0.0\" }`)"));
    }

    /// The message and help of the one problem rendering `source` for `1.0.0`.
    fn problem(source: &str) -> (String, String) {
        let (_, mut problems) = render(json!({ "x": source }), "1.0.0");
        let p = problems.remove(0);
        (p.message, p.help.unwrap_or_default())
    }

    #[test]
    fn a_missing_ci_value_names_the_variable_it_is_read_from() {
        let (message, help) = problem("{{ci.sha}}");
        assert_eq!(
            message,
            "template uses `ci.sha`, which is read from GITHUB_SHA, and that is not set here"
        );
        assert!(
            help.contains("`run --dry-run`, which shows a placeholder"),
            "{help}"
        );
        let (message, _) = problem("{{ci.run_url}}");
        assert!(message.contains("GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID"));
    }

    #[test]
    fn a_missing_var_says_how_to_pass_it_or_default_it() {
        assert_eq!(
            problem("{{vars.channel}}"),
            (
                "template uses `vars.channel`, and no `--set channel=…` gave it a value".into(),
                "pass `--set channel=VALUE`, or give it a default: `{{default vars.channel \"stable\"}}`".into()
            )
        );
    }

    #[test]
    fn a_misspelt_helper_gets_the_closest_and_the_list() {
        let (message, help) = problem("{{uper version}}");
        assert_eq!(
            message,
            "template calls `uper`, which is not a helper; did you mean `upper`?"
        );
        assert!(help.starts_with("the helpers are `if`"), "{help}");
        let (message, _) = problem("{{replace version \".\"}}");
        assert!(message.contains("`replace` takes 3 values"), "{message}");
    }

    #[test]
    fn the_string_helpers_render_and_keep_strict_mode() {
        let (out, problems) = render(
            json!({"x": "{{default vars.channel \"stable\"}} {{default vars.env \"x\"}} {{upper version}} {{lower \"AB\"}} [{{trim \" x \"}}] {{replace version \".\" \"_\"}} {{json vars}}",
                   "y": "{{#if (eq (lower vars.env) \"prod\")}}p{{/if}}"}),
            "1.2.3-RC.1",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            out,
            json!({"x": "stable prod 1.2.3-RC.1 ab [x] 1_2_3-RC_1 {\"env\":\"prod\"}", "y": "p"})
        );
        let (message, _) = problem("{{upper vars.nope}}");
        assert!(message.contains("`vars.nope`"), "{message}");
    }

    #[test]
    fn parse_errors_say_what_was_expected_in_template_terms() {
        let compile = |source: &str| Templates::default().text("t", source).unwrap_err().message;
        assert_eq!(
            compile("{{#if x}}…{{/if}"),
            "template does not compile: expected a `}}` to close `{{/if` (line 1, col 11)"
        );
        assert_eq!(
            compile("{{#if x}}unclosed"),
            "template does not compile: unclosed `{{#if}}` block opened at line 1, col 1; end it with `{{/if}}`"
        );
        assert_eq!(
            compile("{{#if x}}{{#each y}}{{/if}}"),
            "template does not compile: `{{/if}}` at line 1, col 21 closes `{{#each}}`, opened at line 1, col 10; close it with `{{/each}}` first"
        );
        assert_eq!(
            compile("a{{/if}}"),
            "template does not compile: `{{/if}}` at line 1, col 2 closes a block that was never opened"
        );
        assert!(!compile("{{{version}}").contains("trailing_tilde"));
    }

    #[test]
    fn templates_cannot_read_the_environment() {
        // A variable every test process has (setting one here would race the other tests).
        let name = std::env::vars()
            .map(|(name, _)| name)
            .find(|n| {
                n.starts_with(|c: char| c.is_ascii_uppercase())
                    && n.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .expect("the test process has a variable such as PATH");
        for source in [format!("{{{{env.{name}}}}}"), format!("{{{{{name}}}}}")] {
            let (_, problems) = render(json!({ "x": source }), "1.0.0");
            assert_eq!(problems.len(), 1, "{source}");
        }
    }

    #[test]
    fn a_template_that_does_not_compile_is_reported() {
        let mut templates = Templates::default();
        let err = templates.text("t", "{{#if x}}unclosed").unwrap_err();
        assert_eq!(err.name, "t");
        assert!(err.message.contains("does not compile"));
    }

    /// Every Handlebars construct the guard allows, and some it refuses: rendered for two
    /// targets with one memo, each must come out as a render for that target alone would.
    #[test]
    fn a_memo_shared_by_targets_renders_each_as_a_fresh_one_would() {
        let id = r#""dispatch_id""#;
        let sources = [
            "{{target.name}}".to_owned(),
            format!("{{{{(lookup this {id})}}}}"),
            format!("{{{{{{(lookup this {id})}}}}}}"),
            format!("{{{{lookup vars \"env\" x=(lookup this {id})}}}}"),
            "{{(lookup vars \"env\")}}".to_owned(),
            "{{[target].name}}{{this.dispatch_id}}{{./dispatch_id}}{{this/dispatch_id}}".to_owned(),
            "{{@root.dispatch_id}}{{@root/target/name}}".to_owned(),
            "{{#each vars}}{{@root.target.name}}{{../dispatch_id}}{{/each}}".to_owned(),
            "{{#if false}}x{{else if dispatch_id}}{{dispatch_id}}{{/if}}".to_owned(),
            "{{#unless true}}x{{else each target}}{{this}}{{/unless}}".to_owned(),
            "{{#with source}}{{#with ../target}}{{name}}{{/with}}{{/with}}".to_owned(),
            "{{#with this as |r|}}{{r.dispatch_id}}{{/with}}".to_owned(),
            "{{#with vars as |dispatch_id|}}{{@root.dispatch_id}}{{/with}}".to_owned(),
            "{{#each (lookup this vars.k)}}{{@key}}={{this}}{{/each}}".to_owned(),
            "{{#if (eq (lookup this vars.d) \"1111\")}}one{{else}}two{{/if}}".to_owned(),
            "{{lookup this vars.d}}{{lookup @root vars.d}}".to_owned(),
            "{{lookup (lookup @root vars.k) \"name\"}}".to_owned(),
            "{{#each vars as |v k|}}{{lookup @root v}}{{/each}}".to_owned(),
            "{{~dispatch_id~}} {{{dispatch_id}}} {{&dispatch_id}} \\{{dispatch_id}}".to_owned(),
            "{{{{raw}}}}{{dispatch_id}}{{{{/raw}}}}{{dispatch_id}}".to_owned(),
            "{{len this}}{{and dispatch_id version}}{{not dispatch_id}}{{log dispatch_id}}"
                .to_owned(),
            "{{#each vars}}{{@key}}{{@index}}{{#if @first}}f{{/if}}{{/each}}".to_owned(),
            "{{version}} {{!-- {{dispatch_id}} --}}".to_owned(),
            "{{#dispatch_id}}{{this}}{{/dispatch_id}}".to_owned(),
        ];
        let targets = [("web", "o/web", "1111"), ("docs", "p/docs", "2222")];
        let mut release = ctx("1.2.3").0;
        release.insert(
            "vars".into(),
            json!({"env": "prod", "k": "target", "d": "dispatch_id"}),
        );
        let for_target = |memo: &mut Memo, (name, repository, id): (&str, &str, &str)| {
            let (owner, repo) = repository.split_once('/').unwrap();
            let vars = RepoVars {
                name,
                repository,
                owner,
                repo,
            };
            memo.set_target(&vars, id);
        };
        for source in sources {
            let mut templates = Templates::default();
            let text = templates.text("t", &source).unwrap();
            let mut work = Work::default();
            let mut shared = Memo::new(release.clone(), &mut work);
            let mut fresh_work = Work::default();
            for target in targets {
                for_target(&mut shared, target);
                let mut fresh = Memo::new(release.clone(), &mut fresh_work);
                for_target(&mut fresh, target);
                assert_eq!(
                    templates.render_text(&text, &mut shared),
                    templates.render_text(&text, &mut fresh),
                    "{source} for {}",
                    target.0
                );
            }
        }
    }
}
