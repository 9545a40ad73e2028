//! Every event type a repository_dispatch target can send, for `check` and `receiver`.
//!
//! A templated `event_type` renders anew for each release: `lib-{{major}}.x-release` is
//! `lib-1.x-release` for 1.4.0 and `lib-2.x-release` for 2.0.0. Rendering it for one sample
//! version, as a plan does, would make a receiving workflow that hears one major series only.
//! So the template's reads are taken apart ([`super::template_reads`]) and it is rendered for
//! every combination of what it reads that a release can bring:
//!
//! - the source and the target are fixed; flags (`{{#if x}}`) are tried truthy and falsy;
//! - `major` takes every major version the target's `when.version` allows, when it bounds
//!   them (at most [`MAX_LISTED`]); `is_prerelease` is `false` only under
//!   `when.prerelease: false`;
//! - anything else printed (the version's other digits, `vars.*` from `run --set`, `ci.*`,
//!   `dispatch_id`) can take any value, so the event type is a [`Pattern`]: it cannot be listed,
//!   and a receiving workflow must listen to every type and filter in the job.

use super::template_reads::{self, Reads, Use};
use crate::config::kinds::{Action, MAX_EVENT_TYPE_CHARS};
use crate::config::{Config, VersionCondition};
use crate::release::Release;
use crate::render::{release_context, Memo, RepoVars, Text, Work};
use serde_json::{json, Map, Value};

/// Event types listed at most; a template that renders more is a [`Pattern`].
pub(crate) const MAX_LISTED: usize = 16;
/// Contexts a template is rendered in at most to list its values.
const MAX_PROBES: usize = 256;

/// What a target can send as its event type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sent {
    /// Every event type a release can send: one for a literal.
    Listed {
        types: Vec<String>,
        /// The template as written, when it is one.
        template: Option<String>,
    },
    /// Depends on what cannot be listed.
    Pattern(Pattern),
}

/// An event type that cannot be listed: the fixed text around what varies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    pub template: String,
    /// What it depends on, as a phrase: "the minor version", "`vars.kind` (from `run --set`)".
    pub depends_on: String,
    /// Text every value starts with (plain characters only; may be empty).
    pub prefix: String,
    /// Text every value ends with (plain characters only; may be empty).
    pub suffix: String,
}

impl Sent {
    pub(crate) fn literal(event_type: &str) -> Sent {
        Sent::Listed {
            types: vec![event_type.to_owned()],
            template: None,
        }
    }

    /// For a message: "`a`", "`a`, `b` and `c`" or "any event type `t{{x}}` renders".
    pub(crate) fn shown(&self) -> String {
        match self {
            Sent::Listed { types, .. } => ticked(types),
            Sent::Pattern(p) => format!("any event type `{}` renders", p.template),
        }
    }
}

impl Pattern {
    /// Whether `event_type` has the pattern's shape (it may be one of its values).
    pub(crate) fn fits(&self, event_type: &str) -> bool {
        // What varies may render empty: the shortest value is the prefix and suffix alone.
        event_type.len() >= self.prefix.len() + self.suffix.len()
            && event_type.starts_with(&self.prefix)
            && event_type.ends_with(&self.suffix)
    }
}

/// `types` in backticks, joined for a sentence.
pub(crate) fn ticked(types: &[String]) -> String {
    let ticked: Vec<String> = types.iter().map(|t| format!("`{t}`")).collect();
    match ticked.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => ticked.concat(),
    }
}

/// What `target` sends as its event type for releases of `release.source` (a source's name or
/// repository), `release` being the sample a plan renders (its `--set` values and CI context
/// are only a base: what varies is tried). `None` for a target that is not a
/// repository_dispatch.
pub(crate) fn sent(config: &Config, release: &Release, target: &str) -> Option<Sent> {
    let spec = config.targets.get(target)?;
    let Action::RepositoryDispatch { event_type, .. } = &spec.action else {
        return None;
    };
    let (template, compiled) = match (event_type, config.templates.source_of(event_type)) {
        (Text::Literal(literal), _) => return Some(Sent::literal(literal)),
        (_, Some(found)) => found,
        (_, None) => return None,
    };
    let source = config.sources.get(&release.source).or_else(|| {
        config.sources.values().find(|s| {
            s.repository
                .to_string()
                .eq_ignore_ascii_case(&release.source)
        })
    })?;
    let source_vars = RepoVars {
        name: &source.name,
        repository: &source.repository.to_string(),
        owner: &source.repository.owner,
        repo: &source.repository.name,
    };
    let repository = spec.repository.as_ref().map(|r| r.to_string());
    let renderer = Renderer {
        config,
        text: event_type,
        base: release_context(release, &source_vars),
        target: RepoVars {
            name: target,
            repository: repository.as_deref().unwrap_or_default(),
            owner: spec.repository.as_ref().map_or("", |r| &r.owner),
            repo: spec.repository.as_ref().map_or("", |r| &r.name),
        },
    };
    let listed = list(&renderer, compiled, &spec.condition);
    Some(match listed {
        Ok(types) => Sent::Listed {
            types,
            template: Some(template.to_owned()),
        },
        Err(depends_on) => {
            let sample = renderer.render(renderer.base.clone());
            Sent::Pattern(pattern(template, compiled, depends_on, sample.as_deref()))
        }
    })
}

/// A target's event type, rendered in the contexts a release can bring.
struct Renderer<'a> {
    config: &'a Config,
    text: &'a Text,
    /// The sample release's context.
    base: Map<String, Value>,
    target: RepoVars<'a>,
}

impl Renderer<'_> {
    /// The event type rendered in `context`, when a plan would send it (it renders, and
    /// GitHub takes its length).
    fn render(&self, context: Map<String, Value>) -> Option<String> {
        let mut work = Work::default();
        let mut memo = Memo::new(context, &mut work);
        memo.set_target(&self.target, "0");
        let rendered = self
            .config
            .templates
            .render_text(self.text, &mut memo)
            .ok()?;
        (1..=MAX_EVENT_TYPE_CHARS)
            .contains(&rendered.chars().count())
            .then_some(rendered)
    }
}

/// Every value of the event type, or what it depends on that cannot be listed.
fn list(
    renderer: &Renderer<'_>,
    compiled: &handlebars::Template,
    when: &VersionCondition,
) -> Result<Vec<String>, String> {
    let reads = template_reads::reads(compiled);
    if let Some(why) = &reads.opaque {
        return Err(format!(
            "what cannot be read from the template alone ({why})"
        ));
    }
    let mut types: Vec<String> = Vec::new();
    for context in probes(&reads, when, &renderer.base)? {
        let Some(rendered) = renderer.render(context) else {
            continue;
        };
        if !types.contains(&rendered) {
            types.push(rendered);
        }
        if types.len() > MAX_LISTED {
            return Err(format!("more than {MAX_LISTED} values"));
        }
    }
    if types.is_empty() {
        return Err("no release its `when` allows renders it".to_owned());
    }
    Ok(types)
}

/// A pattern for `template`: the plain text before and after its first and last tag, as far
/// as `sample` (a value it rendered) bears it out.
fn pattern(
    template: &str,
    compiled: &handlebars::Template,
    depends_on: String,
    sample: Option<&str>,
) -> Pattern {
    use handlebars::template::TemplateElement::RawString;
    let raw = |element: Option<&handlebars::template::TemplateElement>| match element {
        Some(RawString(text)) => text.clone(),
        _ => String::new(),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/+@".contains(c);
    let mut prefix: String = raw(compiled.elements.first())
        .chars()
        .take_while(|c| plain(*c))
        .collect();
    let tail: Vec<char> = raw(compiled.elements.last()).chars().collect();
    let keep = tail.iter().rev().take_while(|c| plain(**c)).count();
    let mut suffix: String = tail[tail.len() - keep..].iter().collect();
    if compiled.elements.len() < 2 {
        suffix.clear();
    }
    let borne_out = sample.is_some_and(|s| {
        s.len() >= prefix.len() + suffix.len() && s.starts_with(&prefix) && s.ends_with(&suffix)
    });
    if !borne_out {
        prefix.clear();
        suffix.clear();
    }
    Pattern {
        template: template.to_owned(),
        depends_on,
        prefix,
        suffix,
    }
}

/// One way to set part of the context: a key (or `vars`/`ci` entry), and its value (`None`
/// removes it).
type Setting = (String, Option<Value>);

/// Every context a release can bring, as far as the template reads it; `Err` says what it
/// reads that cannot be listed.
fn probes(
    reads: &Reads,
    when: &VersionCondition,
    base: &Map<String, Value>,
) -> Result<Vec<Map<String, Value>>, String> {
    let mut dimensions: Vec<Vec<Vec<Setting>>> = vec![version_shapes(reads, when)?];
    for (key, how) in &reads.keys {
        let set = |value: Option<Value>| vec![(key.clone(), value)];
        match (key.split_once('.'), how) {
            (Some(("vars", name)), Use::Value) => {
                return Err(format!(
                    "`vars.{name}`, whatever `run --set {name}=…` gives"
                ))
            }
            (Some(("ci", name)), Use::Value) => {
                return Err(format!("`ci.{name}`, which comes from the CI run"))
            }
            (Some(("vars", _)), Use::Flag) => {
                dimensions.push(vec![set(None), set(Some(json!(""))), set(Some(json!("1")))])
            }
            (Some(("ci", _)), Use::Flag) => dimensions.push(vec![set(None), set(Some(json!("x")))]),
            (None, _) if key == "vars" => return Err("every `run --set` value".to_owned()),
            (None, _) if key == "ci" => return Err("the CI run".to_owned()),
            (None, Use::Value) if key == "version" || key == "tag" => {
                return Err("the version".to_owned())
            }
            (None, Use::Value) if key == "dispatch_id" => {
                return Err("the dispatch id, new for every release".to_owned())
            }
            // The source and target are fixed, and the version, its tag and the dispatch id
            // are never empty; the version's parts are in `version_shapes`.
            _ => {}
        }
    }
    let mut contexts = vec![base.clone()];
    for dimension in dimensions {
        if contexts.len().saturating_mul(dimension.len()) > MAX_PROBES {
            return Err(format!(
                "more than {MAX_PROBES} combinations of what it reads"
            ));
        }
        contexts = contexts
            .iter()
            .flat_map(|context| dimension.iter().map(move |choice| apply(context, choice)))
            .collect();
    }
    Ok(contexts)
}

fn apply(context: &Map<String, Value>, choice: &[Setting]) -> Map<String, Value> {
    let mut context = context.clone();
    for (key, value) in choice {
        let slot = match key.split_once('.') {
            Some((map, entry)) => match context
                .entry(map.to_owned())
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                Some(inner) => (inner, entry.to_owned()),
                None => continue,
            },
            None => (&mut context, key.clone()),
        };
        match value {
            Some(value) => slot.0.insert(slot.1, value.clone()),
            None => slot.0.remove(&slot.1),
        };
    }
    context
}

/// The semver parts a release can bring, as far as the template reads them.
fn version_shapes(reads: &Reads, when: &VersionCondition) -> Result<Vec<Vec<Setting>>, String> {
    const PARTS: [&str; 6] = [
        "major",
        "minor",
        "patch",
        "prerelease",
        "is_prerelease",
        "build",
    ];
    let read = |key: &str| reads.keys.get(key).copied();
    if PARTS.iter().all(|part| read(part).is_none()) {
        return Ok(vec![Vec::new()]);
    }
    let majors = match (read("major"), majors(when.requirement.as_ref())) {
        (None, _) => vec![1],
        (Some(_), Ok(bounded)) => bounded,
        // Only its truthiness matters: 0, or any other.
        (Some(Use::Flag), Err(_)) => vec![0, 1],
        (Some(Use::Value), Err(why)) => return Err(why),
    };
    let digits = |name: &str| match read(name) {
        None => Ok(vec![0]),
        Some(Use::Flag) => Ok(vec![0, 1]),
        Some(Use::Value) => Err(format!("the {name} version")),
    };
    let (minors, patches) = (digits("minor")?, digits("patch")?);
    let pre: &[&str] = match (when.prerelease, read("prerelease")) {
        (false, _) => &[""],
        (true, Some(Use::Value)) => return Err("the pre-release label".to_owned()),
        (true, _) => &["", "rc.1"],
    };
    let builds: &[&str] = match read("build") {
        None => &[""],
        Some(Use::Flag) => &["", "b"],
        Some(Use::Value) => return Err("the build metadata".to_owned()),
    };
    let mut shapes = Vec::new();
    for (major, minor, patch) in triples(&majors, &minors, &patches) {
        for (pre, build) in pre.iter().flat_map(|p| builds.iter().map(move |b| (p, b))) {
            shapes.push(vec![
                ("major".to_owned(), Some(json!(major))),
                ("minor".to_owned(), Some(json!(minor))),
                ("patch".to_owned(), Some(json!(patch))),
                ("prerelease".to_owned(), Some(json!(pre))),
                ("is_prerelease".to_owned(), Some(json!(!pre.is_empty()))),
                ("build".to_owned(), Some(json!(build))),
            ]);
        }
    }
    // A version that is not semver has none of the parts; `when.version` refuses one.
    if when.requirement.is_none() {
        let mut plain: Vec<Setting> = PARTS.iter().map(|p| ((*p).to_owned(), None)).collect();
        plain.push(("is_prerelease".to_owned(), Some(json!(false))));
        shapes.push(plain);
    }
    Ok(shapes)
}

fn triples(a: &[u64], b: &[u64], c: &[u64]) -> Vec<(u64, u64, u64)> {
    a.iter()
        .flat_map(|x| {
            b.iter()
                .flat_map(move |y| c.iter().map(move |z| (*x, *y, *z)))
        })
        .collect()
}

/// Every major version `requirement` allows, when it bounds them to a few.
///
/// A requirement is a conjunction of comparators, each an interval of versions, so what it
/// allows is one interval: its majors are every major between the lowest and the highest it
/// allows. Within one major, the lowest allowed version is that major's `.0.0` or a
/// comparator's own bound (or the version just after it), so those candidates find it.
fn majors(requirement: Option<&semver::VersionReq>) -> Result<Vec<u64>, String> {
    let unbounded = || "the major version, which `when.version` does not bound".to_owned();
    let requirement = requirement.ok_or_else(unbounded)?;
    let comparators = &requirement.comparators;
    let above = comparators
        .iter()
        .map(|c| c.major)
        .max()
        .unwrap_or(0)
        .saturating_add(2);
    if above == u64::MAX || requirement.matches(&semver::Version::new(above, 0, 0)) {
        return Err(unbounded());
    }
    let allows = |major: u64| {
        let mut candidates = vec![(0, 0), (u64::MAX, u64::MAX)];
        for c in comparators.iter().filter(|c| c.major == major) {
            let (minor, patch) = (c.minor.unwrap_or(0), c.patch.unwrap_or(0));
            candidates.extend([
                (minor, patch),
                (minor, patch.saturating_add(1)),
                (minor.saturating_add(1), 0),
                (minor, 0),
            ]);
        }
        candidates
            .iter()
            .any(|(minor, patch)| requirement.matches(&semver::Version::new(major, *minor, *patch)))
    };
    let mut candidates: Vec<u64> = comparators
        .iter()
        .flat_map(|c| {
            [
                c.major.saturating_sub(1),
                c.major,
                c.major.saturating_add(1),
            ]
        })
        .chain([0])
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let allowed: Vec<u64> = candidates.into_iter().filter(|m| allows(*m)).collect();
    let (Some(&low), Some(&high)) = (allowed.first(), allowed.last()) else {
        return Ok(Vec::new());
    };
    if high - low >= MAX_LISTED as u64 {
        return Err(format!(
            "the major version, which `when.version` lets take more than {MAX_LISTED} values"
        ));
    }
    Ok((low..=high).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Settings;
    use crate::release::Version;

    fn config(event_type: &str, when: &str) -> Config {
        let yaml = format!(
            "version: 1\nsources:\n  lib: {{repository: acme/lib, targets: [app]}}\ntargets:\n  app: {{repository: acme/app, event_type: '{event_type}', token_env: T{when}}}\n"
        );
        let none = figment::providers::Serialized::defaults(Settings::default());
        let checked = crate::config::check(yaml.as_bytes(), none, &Settings::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        checked.config.unwrap()
    }

    fn sent_for(event_type: &str, when: &str) -> Sent {
        let release = Release::sample("lib", &Version::parse("1.2.3").unwrap(), Default::default());
        sent(&config(event_type, when), &release, "app").unwrap()
    }

    fn listed(types: &[&str]) -> Vec<String> {
        types.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn a_literal_is_itself() {
        assert_eq!(
            sent_for("upstream-release", ""),
            Sent::literal("upstream-release")
        );
    }

    #[test]
    fn fixed_reads_and_flags_are_listed() {
        let Sent::Listed { types, template } = sent_for("{{source.name}}-to-{{target.repo}}", "")
        else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-to-app"]));
        assert_eq!(
            template.as_deref(),
            Some("{{source.name}}-to-{{target.repo}}")
        );
        let pre = "{{#if is_prerelease}}lib-preview{{else}}lib-release{{/if}}";
        let Sent::Listed { types, .. } = sent_for(pre, "") else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-release", "lib-preview"]));
        let Sent::Listed { types, .. } = sent_for(pre, ", when: {prerelease: false}") else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-release"]));
        let Sent::Listed { types, .. } = sent_for("{{#if vars.beta}}beta{{else}}stable{{/if}}", "")
        else {
            panic!()
        };
        assert_eq!(types, listed(&["stable", "beta"]));
        let flag = "{{#if major}}lib{{else}}lib-zero{{/if}}";
        let Sent::Listed { types, .. } = sent_for(flag, "") else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-zero", "lib"]));
    }

    #[test]
    fn major_is_listed_only_when_when_bounds_it() {
        let t = "lib-{{major}}.x-release";
        let Sent::Listed { types, .. } = sent_for(t, ", when: {version: '>=1, <3'}") else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-1.x-release", "lib-2.x-release"]));
        let Sent::Listed { types, .. } = sent_for(t, ", when: {version: '^2.4'}") else {
            panic!()
        };
        assert_eq!(types, listed(&["lib-2.x-release"]));
        let Sent::Pattern(p) = sent_for(t, "") else {
            panic!()
        };
        assert_eq!(
            (p.prefix.as_str(), p.suffix.as_str()),
            ("lib-", ".x-release")
        );
        assert!(p.depends_on.contains("major"), "{p:?}");
        assert!(
            p.fits("lib-7.x-release") && !p.fits("lib.x-release") && !p.fits("app-1.x-release")
        );
        let Sent::Pattern(p) = sent_for(t, ", when: {version: '>=1'}") else {
            panic!()
        };
        assert!(p.depends_on.contains("does not bound"), "{p:?}");
    }

    #[test]
    fn what_varies_freely_makes_a_pattern() {
        for (template, depends_on) in [
            ("lib-{{minor}}", "minor"),
            ("lib-{{version}}", "the version"),
            ("{{vars.kind}}-release", "vars.kind"),
            ("e-{{ci.sha}}", "ci.sha"),
            ("e-{{dispatch_id}}", "dispatch id"),
            ("{{#each vars}}{{this}}{{/each}}-x", "block"),
        ] {
            let Sent::Pattern(p) = sent_for(template, "") else {
                panic!("{template}")
            };
            assert!(p.depends_on.contains(depends_on), "{template}: {p:?}");
        }
        let Sent::Pattern(p) = sent_for("{{vars.kind}}", "") else {
            panic!()
        };
        assert_eq!((p.prefix.as_str(), p.suffix.as_str()), ("", ""));
        assert!(p.fits("anything"));
    }

    #[test]
    fn majors_are_read_from_any_requirement() {
        let majors_of = |req: &str| majors(Some(&semver::VersionReq::parse(req).unwrap()));
        assert_eq!(majors_of(">=1.2.0, <3.0.0"), Ok(vec![1, 2]));
        assert_eq!(majors_of("<=3"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(majors_of("~0.3"), Ok(vec![0]));
        assert_eq!(majors_of(">1, <2"), Ok(vec![]));
        assert_eq!(majors_of("=4.1.*"), Ok(vec![4]));
        assert_eq!(majors_of(">2.9.9, <4"), Ok(vec![2, 3]));
        assert_eq!(majors_of(">2, <4"), Ok(vec![3]));
        assert!(majors_of(">=1").is_err());
        assert!(majors_of("*").is_err());
        assert!(majors_of("<100").unwrap_err().contains("more than 16"));
        assert!(majors_of(&format!("<={}", u64::MAX)).is_err());
    }
}
