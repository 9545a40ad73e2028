//! A target's `await:` checks (its source's first, then its own), rendered for the release and
//! read into what the sender asks: which registry, which artifact, with which token. A value
//! that cannot be an artifact of its kind is a problem at the check's key path.

use super::Planning;
use crate::config::gates::{GateKind, GateSpec, RegistrySpec};
use crate::config::kinds::url_problem;
use crate::config::{Repo, TargetSpec};
use crate::diagnostic::{join, shown, Code, Diagnostic};
use crate::render::Memo;
use crate::secret::Secret;
use std::time::Duration;

/// The longest name, version or tag a check may render to.
const MAX_PART: usize = 256;

/// What a job waits for before it is sent.
#[derive(Debug, Clone)]
pub struct Gates {
    pub checks: Vec<Gate>,
    /// `await_timeout_secs`: then the target fails.
    pub timeout: Duration,
    /// `await_interval_secs`: the first wait between two looks.
    pub interval: Duration,
}

/// One artifact to look up.
#[derive(Debug, Clone)]
pub struct Gate {
    pub kind: GateKind,
    pub artifact: Artifact,
    /// Where it is looked up: the registry's base URL (npm, PyPI, crates, GitHub's API), the
    /// image's registry (`https://ghcr.io`), the chart repository, or the URL itself.
    pub base: url::Url,
    /// Sent only to `base`'s origin, which the configuration names.
    pub token: Option<Secret>,
}

/// The artifact, as rendered and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Artifact {
    /// npm, PyPI, crates.
    Package {
        name: String,
        version: String,
    },
    /// An image: its repository (`vfarcic/dot-ai`) and tag or digest, and its host as written.
    Image {
        host: String,
        repository: String,
        reference: String,
    },
    Chart {
        chart: String,
        version: String,
    },
    Release {
        repository: Repo,
        tag: String,
        asset: Option<String>,
    },
    Url,
}

impl Gate {
    /// The same artifact on the same registry (whoever asked for it).
    fn same_artifact(&self, other: &Gate) -> bool {
        self.kind == other.kind && self.artifact == other.artifact && self.base == other.base
    }

    /// How reports and the progress line name it: `npm @vfarcic/dot-ai@1.2.3`.
    pub fn label(&self) -> String {
        let what = match &self.artifact {
            Artifact::Package { name, version } if self.kind == GateKind::Pypi => {
                format!("{name}=={version}")
            }
            Artifact::Package { name, version }
            | Artifact::Chart {
                chart: name,
                version,
            } => {
                format!("{name}@{version}")
            }
            Artifact::Image {
                host,
                repository,
                reference,
            } => image_name(host, repository, reference),
            Artifact::Release {
                repository,
                tag,
                asset,
            } => match asset {
                Some(asset) => format!("{repository}@{tag} ({asset})"),
                None => format!("{repository}@{tag}"),
            },
            Artifact::Url => shown_url(&self.base),
        };
        format!("{} {what}", self.kind.as_str())
    }
}

fn image_name(host: &str, repository: &str, reference: &str) -> String {
    let separator = if reference.contains(':') { '@' } else { ':' };
    format!("{host}/{repository}{separator}{reference}")
}

/// A URL without its query (which may carry a key).
fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

impl Planning<'_> {
    /// The job's gates, rendered; `None` when it has none or one has a problem (reported).
    pub(super) fn gates(
        &mut self,
        source: &str,
        target: &TargetSpec,
        token: Option<&Secret>,
        memo: &mut Memo<'_>,
    ) -> Option<Box<Gates>> {
        let from_source = self
            .config
            .sources
            .get(source)
            .map(|s| std::sync::Arc::clone(&s.gates))
            .unwrap_or_else(|| std::sync::Arc::from(Vec::new()));
        if from_source.is_empty() && target.gates.is_empty() {
            return None;
        }
        let source_path = join("sources", source);
        let target_path = self.path.clone();
        let mut checks = Vec::new();
        let specs = (from_source.iter().map(|spec| (spec, &source_path)))
            .chain(target.gates.iter().map(|spec| (spec, &target_path)));
        for (spec, owner) in specs {
            // A source's check the target repeats is looked up, waited for and shown once.
            if let Some(gate) = self.gate(spec, owner, target, token, memo) {
                if !checks.iter().any(|seen: &Gate| seen.same_artifact(&gate)) {
                    checks.push(gate);
                }
            }
        }
        Some(Box::new(Gates {
            checks,
            timeout: target.await_timeout,
            interval: self.config.await_interval,
        }))
    }

    fn gate(
        &mut self,
        spec: &GateSpec,
        owner: &str,
        target: &TargetSpec,
        token: Option<&Secret>,
        memo: &mut Memo<'_>,
    ) -> Option<Gate> {
        let mut parts = Vec::with_capacity(spec.texts.len());
        for text in &spec.texts {
            match self.config.templates.render_text(text, memo) {
                Ok(part) => parts.push(part),
                Err(problem) => {
                    self.problems.push(super::render_problem(owner, problem));
                    return None;
                }
            }
        }
        let at = join(owner, &spec.path);
        let registry = self.config.registries.of(spec.kind);
        let read = read_artifact(spec.kind, &parts, registry, target);
        let (artifact, base) = match read {
            Ok(read) => read,
            Err(why) => {
                self.problems
                    .push(Diagnostic::error(Code::InvalidValue, at, why.0).with_help(why.1));
                return None;
            }
        };
        let token = self.gate_token(spec.kind, registry, &base, target, token)?;
        Some(Gate {
            kind: spec.kind,
            artifact,
            base,
            token,
        })
    }

    /// The registry's token, read once per check (a few per target); for a GitHub release on
    /// the target's own API, the target's token. `None` after a problem (reported).
    fn gate_token(
        &mut self,
        kind: GateKind,
        registry: &RegistrySpec,
        base: &url::Url,
        target: &TargetSpec,
        token: Option<&Secret>,
    ) -> Option<Option<Secret>> {
        if let Some(env) = &registry.token_env {
            // An image on another registry than the configured one is looked up anonymously.
            if kind == GateKind::Oci && registry.url.as_ref() != Some(base) {
                return Some(None);
            }
            return self.registry_token(kind, env);
        }
        let own_api = kind == GateKind::GithubRelease
            && registry.url.is_none()
            && target.kind.is_github()
            && base.as_str().trim_end_matches('/') == target.api_url.as_str().trim_end_matches('/');
        Some(if own_api { token.cloned() } else { None })
    }

    fn registry_token(&mut self, kind: GateKind, env: &str) -> Option<Option<Secret>> {
        let path = join(&join("registries", kind.as_str()), "token_env");
        match (self.lookup)(env).filter(|v| !v.trim().is_empty()) {
            Some(value) if value.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(Some(Secret::new(value)))
            }
            Some(_) => {
                self.problems.push(Diagnostic::error(
                    Code::MissingToken,
                    path,
                    format!("`{env}` contains spaces, line breaks or other characters it cannot have (its value is not shown)"),
                ));
                None
            }
            None if self.mode != super::PlanMode::Send => Some(None),
            None => {
                self.problems.push(
                    Diagnostic::error(
                        Code::MissingToken,
                        path,
                        format!("environment variable `{env}` is not set"),
                    )
                    .with_help(format!("set it to the {} registry's token", kind.as_str())),
                );
                None
            }
        }
    }
}

/// A problem's message and help.
type Why = (String, String);

/// The artifact `parts` name, and where it is looked up.
fn read_artifact(
    kind: GateKind,
    parts: &[String],
    registry: &RegistrySpec,
    target: &TargetSpec,
) -> Result<(Artifact, url::Url), Why> {
    let first = parts.first().map_or("", String::as_str);
    let base = || default_base(kind, registry, target);
    match kind {
        GateKind::Npm | GateKind::Crate => {
            let (name, version) =
                split_last(first, '@').ok_or_else(|| missing_version(kind, first, "@"))?;
            Ok((package(name, version)?, base()?))
        }
        GateKind::Pypi => {
            let (name, version) = first
                .split_once("==")
                .ok_or_else(|| missing_version(kind, first, "=="))?;
            Ok((package(name, version)?, base()?))
        }
        GateKind::Oci => image(first, registry),
        GateKind::Helm => {
            let repo = url_of(first, "the chart repository")?;
            let (chart, version) = (part(parts, 1, "chart")?, part(parts, 2, "version")?);
            Ok((Artifact::Chart { chart, version }, repo))
        }
        GateKind::GithubRelease => release(parts, base()?),
        GateKind::Url => Ok((Artifact::Url, url_of(first, "the URL")?)),
    }
}

fn default_base(
    kind: GateKind,
    registry: &RegistrySpec,
    target: &TargetSpec,
) -> Result<url::Url, Why> {
    let text = match (&registry.url, kind.default_base()) {
        (Some(url), _) => return Ok(url.clone()),
        (None, Some(default)) => default,
        (None, None) => target.api_url.as_str(),
    };
    url::Url::parse(text).map_err(|e| (format!("no registry URL ({e})"), "set `registries`".into()))
}

/// `name@version`: split at the last `@` after the first character (a scope starts with one).
fn split_last(text: &str, at: char) -> Option<(&str, &str)> {
    let index = text.rfind(at).filter(|&i| i > 0)?;
    Some((&text[..index], &text[index + at.len_utf8()..]))
}

fn missing_version(kind: GateKind, text: &str, separator: &str) -> Why {
    (
        format!(
            "`{}` names no version: write NAME{separator}VERSION",
            shown(text)
        ),
        format!(
            "e.g. `{}: \"dot-ai{separator}{{{{version}}}}\"`",
            kind.as_str()
        ),
    )
}

fn package(name: &str, version: &str) -> Result<Artifact, Why> {
    Ok(Artifact::Package {
        name: plain(name, "name")?,
        version: plain(version, "version")?,
    })
}

/// A name, version or tag: 1 to 256 visible ASCII characters.
fn plain(text: &str, what: &str) -> Result<String, Why> {
    if text.is_empty() || text.len() > MAX_PART || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err((
            format!(
                "the {what} `{}` is not 1 to {MAX_PART} visible ASCII characters",
                shown(text)
            ),
            "check the template and the release's version".into(),
        ));
    }
    Ok(text.to_owned())
}

fn part(parts: &[String], index: usize, what: &str) -> Result<String, Why> {
    plain(parts.get(index).map_or("", String::as_str), what)
}

fn url_of(text: &str, what: &str) -> Result<url::Url, Why> {
    let refused = |why: String| {
        (
            format!("{what} `{}` cannot be used: {why}", shown(text)),
            "write an https URL (http only for loopback addresses)".to_owned(),
        )
    };
    if let Some(why) = url_problem(text) {
        return Err(refused(why));
    }
    url::Url::parse(text).map_err(|e| refused(e.to_string()))
}

fn release(parts: &[String], base: url::Url) -> Result<(Artifact, url::Url), Why> {
    let repository = parts.first().map_or("", String::as_str);
    let repository = Repo::parse(repository).map_err(|why| {
        (
            why,
            "write the repository as `owner/name`, e.g. `\"{{source.repository}}\"`".to_owned(),
        )
    })?;
    let tag = part(parts, 1, "tag")?;
    let asset = parts.get(2).map(|_| part(parts, 2, "asset")).transpose()?;
    Ok((
        Artifact::Release {
            repository,
            tag,
            asset,
        },
        base,
    ))
}

/// `HOST/NAME:TAG` or `HOST/NAME@sha256:...`; a name without a registry host is Docker Hub's
/// (`library/` in front of a single name), as `docker pull` reads it.
fn image(text: &str, registry: &RegistrySpec) -> Result<(Artifact, url::Url), Why> {
    let text = plain(text, "image")?;
    let no_tag = || {
        (
            format!(
                "the image `{}` names no tag: write HOST/NAME:TAG",
                shown(&text)
            ),
            "e.g. `oci: \"ghcr.io/vfarcic/dot-ai:{{version}}\"`".to_owned(),
        )
    };
    let (name, reference) = match text.split_once('@') {
        Some((name, digest)) => (name, digest.to_owned()),
        None => {
            let (name, tag) = split_last(&text, ':').ok_or_else(no_tag)?;
            if tag.contains('/') {
                return Err(no_tag());
            }
            (name, tag.to_owned())
        }
    };
    let (host, repository) = match name.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => {
            (host.to_owned(), rest.to_owned())
        }
        Some(_) => ("docker.io".to_owned(), name.to_owned()),
        None => ("docker.io".to_owned(), format!("library/{name}")),
    };
    if repository.is_empty() || reference.is_empty() {
        return Err(no_tag());
    }
    let base = registry_base(&host, registry).map_err(|e| {
        (
            format!(
                "the image's registry `{}` is not a host ({e})",
                shown(&host)
            ),
            "write HOST/NAME:TAG".into(),
        )
    })?;
    Ok((
        Artifact::Image {
            host,
            repository,
            reference,
        },
        base,
    ))
}

/// Where an image's registry is reached: the configured registry when it is that host (its
/// scheme: http on loopback), Docker Hub's API for `docker.io`, https elsewhere, http on
/// loopback.
fn registry_base(host: &str, registry: &RegistrySpec) -> Result<url::Url, url::ParseError> {
    let https = url::Url::parse(&format!("https://{host}"))?;
    let named = |c: &&url::Url| c.host_str() == https.host_str() && c.port() == https.port();
    if let Some(configured) = registry.url.as_ref().filter(named) {
        return Ok(configured.clone());
    }
    if host == "docker.io" {
        return url::Url::parse("https://registry-1.docker.io");
    }
    if crate::config::values::is_loopback(&https) {
        return url::Url::parse(&format!("http://{host}"));
    }
    Ok(https)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<(Artifact, url::Url), Why> {
        image(text, &RegistrySpec::default())
    }

    #[test]
    fn an_image_names_its_registry_or_is_docker_hubs() {
        let (artifact, base) = read("ghcr.io/vfarcic/dot-ai:1.2.3").unwrap();
        assert_eq!(base.as_str(), "https://ghcr.io/");
        assert_eq!(
            artifact,
            Artifact::Image {
                host: "ghcr.io".into(),
                repository: "vfarcic/dot-ai".into(),
                reference: "1.2.3".into(),
            }
        );
        let (artifact, base) = read("nginx:1.27").unwrap();
        assert_eq!(base.as_str(), "https://registry-1.docker.io/");
        assert!(
            matches!(artifact, Artifact::Image { repository, .. } if repository == "library/nginx")
        );
        let (_, base) = read("127.0.0.1:5000/app@sha256:abc").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:5000/");
        assert!(read("ghcr.io/vfarcic/dot-ai").is_err(), "no tag");
        assert!(read("localhost:5000/app").is_err(), "a port is not a tag");
    }

    #[test]
    fn a_scoped_npm_name_splits_at_its_last_at_sign() {
        assert_eq!(
            split_last("@vfarcic/dot-ai@1.2.3", '@'),
            Some(("@vfarcic/dot-ai", "1.2.3"))
        );
        assert_eq!(split_last("@vfarcic/dot-ai", '@'), None);
    }

    #[test]
    fn a_rendered_name_or_version_is_visible_ascii_of_bounded_length() {
        assert!(plain("1.2.3", "version").is_ok());
        assert!(plain("1.2.3 beta", "version").is_err());
        assert!(plain("1.2.3\u{1b}[2J", "version").is_err());
        assert!(plain(&"9".repeat(MAX_PART + 1), "version").is_err());
        assert!(plain("", "version").is_err());
    }
}
