//! Keeps any template cheap to render, whatever the file holds.
//!
//! Handlebars renders recursively and loops with `{{#each}}`, so a hostile template could
//! overflow the stack (thousands of nested blocks), recurse forever (a partial that includes
//! itself or another template) or loop for hours (`{{#each}}` nested in `{{#each}}`, even with no
//! output). The checks here rule those out when the template is compiled, and [`Bounded`] stops
//! a render whose output grows past the limit. Handlebars also compiles in time quadratic in a
//! template's length, so [`Budget`] caps the size of each template and of all of them.

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{Path, PathSeg, Template};
use std::io;

/// Blocks (`{{#if}}`, `{{#with}}`, ...) and subexpressions nested deeper than this are refused.
pub(super) const MAX_NESTING: usize = 16;

/// A template (a string with `{{`) longer than this is refused; real ones are a line.
pub(super) const MAX_TEMPLATE_BYTES: usize = 4 * 1024;
/// All templates of one file together; the size of the largest body GitHub accepts.
pub(super) const MAX_TOTAL_TEMPLATE_BYTES: usize = 64 * 1024;

/// What is left of the file's template allowance.
#[derive(Debug, Default)]
pub(super) struct Budget {
    used: usize,
}

impl Budget {
    /// Accounts for `source`, or says why it is too big.
    pub(super) fn take(&mut self, source: &str) -> Result<(), String> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(format!(
                "the template is {} bytes long; a template can be at most {MAX_TEMPLATE_BYTES}",
                source.len()
            ));
        }
        self.used += source.len();
        if self.used > MAX_TOTAL_TEMPLATE_BYTES {
            return Err(format!(
                "the file's templates add up to more than {MAX_TOTAL_TEMPLATE_BYTES} bytes"
            ));
        }
        Ok(())
    }
}

/// What rendering a template can depend on, learnt while checking it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traits {
    /// It has an `{{#each}}`, whose body runs once per item of what it walks.
    pub each: bool,
    /// It calls a helper (`eq`, `lookup`, `len`, ...) whose result depends on the *values* in
    /// the context, not only on which keys exist and how long the values are. Blocks `if`,
    /// `unless`, `each` and `with` over plain paths do not count: the values that differ from
    /// one source to the next (names, repositories, ids) are never empty, so they only decide
    /// truthiness the same way for every source.
    pub reads_values: bool,
    /// It may read what differs from one target to the next (`target.*`, `dispatch_id`), or
    /// the whole context (`this`, `@root`, `../`). Otherwise it renders
    /// alike for every target of a release, and is rendered once per release.
    pub reads_target: bool,
}

/// The keys of the context that change from one target to the next.
const PER_TARGET_KEYS: &[&str] = &["target", "dispatch_id"];

/// Whether `path` may reach a per-target key: it names one first, or it does not start with
/// a plain name (`this`, `.`, `@root`, `../`), so it could reach anything.
fn path_reads_target(path: &Path) -> bool {
    match path {
        Path::Relative((segs, _)) => match segs.first() {
            Some(PathSeg::Named(first)) => PER_TARGET_KEYS.contains(&first.as_str()),
            _ => true,
        },
        // `@key`, `@index`, ...: what the enclosing block walks, whose own parameter says.
        Path::Local(_) => false,
    }
}

fn name_reads_target(name: &str) -> bool {
    let first = name.split(['.', '/']).next().unwrap_or(name);
    PER_TARGET_KEYS.contains(&first) || first == "this" || first.starts_with(['@', '.'])
}

/// Notes whether a helper or block's name, parameters or hash may read a per-target key.
fn note_target(helper: &HelperTemplate, traits: &mut Traits) {
    let reads = helper
        .params
        .iter()
        .chain(helper.hash.values())
        .chain(std::iter::once(&helper.name))
        .any(|param| match param {
            Parameter::Name(name) => name_reads_target(name),
            Parameter::Path(path) => path_reads_target(path),
            // A subexpression (in the name's place too) is walked by `parameters`.
            Parameter::Literal(_) | Parameter::Subexpression(_) => false,
            #[allow(unreachable_patterns)]
            _ => true,
        });
    traits.reads_target |= reads;
}

/// Why `template` is not allowed, if it is not; otherwise what its rendering depends on.
pub(super) fn check(template: &Template) -> Result<Traits, String> {
    let mut traits = Traits::default();
    elements(template, 0, false, &mut traits)?;
    Ok(traits)
}

fn elements(
    template: &Template,
    depth: usize,
    in_each: bool,
    traits: &mut Traits,
) -> Result<(), String> {
    template
        .elements
        .iter()
        .try_for_each(|element| element_ok(element, depth, in_each, traits))
}

/// Blocks whose effect depends only on the shape of the context when their parameters are
/// plain paths.
const SHAPE_BLOCKS: &[&str] = &["if", "unless", "each", "with"];

fn element_ok(
    element: &TemplateElement,
    depth: usize,
    in_each: bool,
    traits: &mut Traits,
) -> Result<(), String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "template nests blocks or subexpressions more than {MAX_NESTING} levels deep"
        ));
    }
    match element {
        TemplateElement::RawString(_) | TemplateElement::Comment(_) => Ok(()),
        TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
            note_target(helper, traits);
            if !helper.params.is_empty() || !helper.hash.is_empty() {
                traits.reads_values = true;
            }
            parameters(helper_parts(helper), depth, traits)
        }
        TemplateElement::HelperBlock(helper) => {
            let name = helper.name.as_name();
            let each = name == Some("each");
            if each && in_each {
                return Err(
                    "`{{#each}}` inside another `{{#each}}` is not supported (its cost multiplies)"
                        .into(),
                );
            }
            traits.each |= each;
            note_target(helper, traits);
            if !name.is_some_and(|n| SHAPE_BLOCKS.contains(&n)) || !helper.hash.is_empty() {
                traits.reads_values = true;
            }
            parameters(helper_parts(helper), depth + 1, traits)?;
            for inner in [&helper.template, &helper.inverse].into_iter().flatten() {
                elements(inner, depth + 1, in_each || each, traits)?;
            }
            Ok(())
        }
        TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => Err(
            "partials (`{{> name}}`) are not supported: a template cannot include another".into(),
        ),
        TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
            Err("decorators (`{{* ...}}`) and inline partials are not supported".into())
        }
        _ => Err("this template construct is not supported".into()),
    }
}

/// A helper's name, parameters and hash values. The name is a subexpression in
/// `{{(lookup this "dispatch_id")}}`, which Handlebars evaluates (and prints): it is checked
/// like any other subexpression.
fn helper_parts(helper: &HelperTemplate) -> impl Iterator<Item = &Parameter> {
    std::iter::once(&helper.name)
        .chain(&helper.params)
        .chain(helper.hash.values())
}

fn parameters<'a>(
    mut params: impl Iterator<Item = &'a Parameter>,
    depth: usize,
    traits: &mut Traits,
) -> Result<(), String> {
    params.try_for_each(|param| match param {
        Parameter::Subexpression(sub) => {
            traits.reads_values = true;
            element_ok(&sub.element, depth + 1, false, traits)
        }
        _ => Ok(()),
    })
}

/// A writer that keeps at most `limit` bytes and fails once more are written.
pub(super) struct Bounded {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl Bounded {
    pub(super) fn new(limit: usize) -> Bounded {
        Bounded {
            bytes: Vec::new(),
            limit,
            overflowed: false,
        }
    }

    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    pub(super) fn into_string(self) -> String {
        String::from_utf8(self.bytes)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    }
}

impl io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("rendered output is too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(source: &str) -> Result<(), String> {
        check(&Template::compile(source).expect("compiles")).map(|_| ())
    }

    fn traits(source: &str) -> Traits {
        check(&Template::compile(source).expect("compiles")).expect("allowed")
    }

    #[test]
    fn templates_that_may_read_the_target_are_told_from_those_that_cannot() {
        for source in [
            "{{version}}",
            "{{source.name}}@{{tag}}",
            "{{#if is_prerelease}}pre{{else}}{{vars.channel}}{{/if}}",
            "{{#each vars}}{{@key}}{{/each}}",
            "{{lookup vars \"env\"}}",
        ] {
            assert!(!traits(source).reads_target, "{source}");
        }
        for source in [
            "{{target.name}}",
            "{{dispatch_id}}",
            "{{this}}",
            "{{./target}}",
            "{{@root.target.name}}",
            "{{lookup this \"target\"}}",
            "{{#with target}}{{name}}{{/with}}",
            "{{#with source}}{{../target.repo}}{{/with}}",
            "{{#each this}}{{@key}}{{/each}}",
            "{{#if (eq target.owner \"o\")}}x{{/if}}",
            "{{version}}-{{target/repo}}",
            "{{(lookup this \"dispatch_id\")}}",
            "{{{(lookup @root.target \"name\")}}}",
            "{{#if version}}{{else}}{{(lookup this \"target\")}}{{/if}}",
        ] {
            assert!(traits(source).reads_target, "{source}");
        }
    }

    #[test]
    fn helpers_that_compare_or_look_up_values_are_noticed() {
        for source in [
            "{{version}}",
            "{{#if is_prerelease}}pre{{else}}{{source.name}}{{/if}}",
            "{{#each this}}{{@key}}={{this}};{{/each}}",
            "{{#with target}}{{repo}}{{/with}}",
        ] {
            assert!(!traits(source).reads_values, "{source}");
        }
        for source in [
            "{{#if (eq source.name \"app\")}}x{{/if}}",
            "{{lookup vars source.name}}",
            "{{len source.name}}",
            "{{#unless (not version)}}x{{/unless}}",
        ] {
            assert!(traits(source).reads_values, "{source}");
        }
        assert!(traits("{{#each ci}}{{this}}{{/each}}").each);
        assert!(!traits("{{#if ci}}x{{/if}}").each);
    }

    #[test]
    fn ordinary_templates_pass() {
        for source in [
            "{{version}}",
            "{{#if is_prerelease}}pre{{else}}{{major}}.{{minor}}{{/if}}",
            "{{#each vars}}{{@key}}={{this}};{{/each}}",
            "{{lookup vars (concat \"a\" \"b\")}}",
        ] {
            assert_eq!(verdict(source), Ok(()), "{source}");
        }
    }

    #[test]
    fn partials_and_decorators_are_refused() {
        assert!(verdict("{{> other}}").unwrap_err().contains("partials"));
        assert!(verdict("{{#> layout}}x{{/layout}}").is_err());
        assert!(verdict("{{#*inline \"x\"}}y{{/inline}}").is_err());
    }

    #[test]
    fn nested_each_is_refused_even_through_other_blocks() {
        let err = verdict("{{#each ci}}{{#if true}}{{#each ../ci}}x{{/each}}{{/if}}{{/each}}")
            .unwrap_err();
        assert!(err.contains("each"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "{{#if version}}".repeat(MAX_NESTING + 2) + &"{{/if}}".repeat(MAX_NESTING + 2);
        assert!(verdict(&deep).unwrap_err().contains("levels deep"));
        let fine = "{{#if version}}".repeat(MAX_NESTING) + &"{{/if}}".repeat(MAX_NESTING);
        assert_eq!(verdict(&fine), Ok(()));
    }

    #[test]
    fn a_subexpression_in_the_helpers_place_is_checked_like_any_other() {
        let name = traits("{{(lookup vars \"env\")}}");
        assert!(!name.reads_target && name.reads_values, "{name:?}");
        let deep = "(lookup ".repeat(MAX_NESTING + 2) + "vars" + &" \"x\")".repeat(MAX_NESTING + 2);
        assert!(verdict(&format!("{{{{{deep}}}}}"))
            .unwrap_err()
            .contains("levels deep"));
    }

    #[test]
    fn the_budget_caps_each_template_and_all_of_them() {
        let mut budget = Budget::default();
        assert!(budget.take(&"x".repeat(MAX_TEMPLATE_BYTES + 1)).is_err());
        for _ in 0..MAX_TOTAL_TEMPLATE_BYTES / MAX_TEMPLATE_BYTES {
            assert_eq!(budget.take(&"x".repeat(MAX_TEMPLATE_BYTES)), Ok(()));
        }
        assert!(budget.take("{{version}}").unwrap_err().contains("add up"));
    }

    #[test]
    fn the_writer_stops_at_its_limit() {
        use std::io::Write;
        let mut out = Bounded::new(4);
        assert!(out.write_all(b"abc").is_ok());
        assert!(out.write_all(b"de").is_err());
        assert!(out.overflowed());
    }
}
