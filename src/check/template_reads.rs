//! Which variables a compiled template reads, and how: printed or compared (a *value*), or only
//! tested by `{{#if}}`/`{{#unless}}` (a *flag*, whose value matters only by being truthy).
//! [`super::event_types`] lists an event type's values from this. Pure.
//!
//! Anything whose reads cannot be known from the template alone (`{{#each}}` and `{{#with}}`
//! change what a name refers to; `this`, `../`, `@root` and `@index` reach the whole context)
//! makes the template *opaque*, so nothing is listed from a guess.

use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{Path, PathSeg, Template};
use std::collections::BTreeMap;

/// How a variable is read. A value read counts over a flag read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Use {
    /// Only as the condition of `{{#if}}`/`{{#unless}}`: only its truthiness matters.
    Flag,
    /// Printed, or handed to a helper that reads its value (`eq`, `lookup`...).
    Value,
}

/// Every variable a template reads.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Reads {
    /// By key: the first name (`major`, `source`, `dispatch_id`), or two for the maps whose
    /// entries differ in kind (`vars.channel`, `ci.sha`); `vars` alone is the whole map.
    pub keys: BTreeMap<String, Use>,
    /// Why the reads cannot be known, when they cannot.
    pub opaque: Option<String>,
}

impl Reads {
    fn note(&mut self, key: String, how: Use) {
        let kept = self.keys.entry(key).or_insert(how);
        *kept = (*kept).max(how);
    }

    fn opaque(&mut self, why: impl Into<String>) {
        self.opaque.get_or_insert_with(|| why.into());
    }
}

/// Helpers whose result depends on their parameters' values only (Handlebars' built-ins).
const VALUE_HELPERS: &[&str] = &[
    "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len", "lookup",
];

/// The variables `template` reads.
pub(crate) fn reads(template: &Template) -> Reads {
    let mut reads = Reads::default();
    elements(template, &mut reads);
    reads
}

fn elements(template: &Template, reads: &mut Reads) {
    for element in &template.elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                expression(helper, Use::Value, reads)
            }
            TemplateElement::HelperBlock(helper) => block(helper, reads),
            // Refused when the file is compiled; nothing to list from here.
            _ => reads.opaque("it uses a partial or a decorator"),
        }
    }
}

/// `{{name}}` (a variable) or `{{helper params...}}`, its result used as `how`.
fn expression(helper: &HelperTemplate, how: Use, reads: &mut Reads) {
    if !helper.params.is_empty() || !helper.hash.is_empty() {
        return call(helper, reads);
    }
    match &helper.name {
        Parameter::Subexpression(sub) => subexpression(&sub.element, how, reads),
        name => parameter(name, how, reads),
    }
}

/// A helper call: a built-in that reads its parameters' values, or something unknown.
fn call(helper: &HelperTemplate, reads: &mut Reads) {
    match helper.name.as_name() {
        Some(name) if VALUE_HELPERS.contains(&name) => {
            for param in helper.params.iter().chain(helper.hash.values()) {
                parameter(param, Use::Value, reads);
            }
        }
        _ => reads.opaque("it calls a helper whose reads are not known"),
    }
}

/// `{{#if x}}…{{else}}…{{/if}}` and `unless` (an `{{else if}}` chain is an `if` in the
/// inverse): `x` is a flag. Every other block changes what names refer to.
fn block(helper: &HelperTemplate, reads: &mut Reads) {
    let condition = matches!(helper.name.as_name(), Some("if" | "unless"));
    match (condition, helper.params.as_slice()) {
        (true, [param]) if helper.hash.is_empty() && helper.block_param.is_none() => {
            parameter(param, Use::Flag, reads)
        }
        _ => return reads.opaque("it uses a block that changes what names refer to"),
    }
    for inner in [&helper.template, &helper.inverse].into_iter().flatten() {
        elements(inner, reads);
    }
}

fn subexpression(element: &TemplateElement, how: Use, reads: &mut Reads) {
    match element {
        TemplateElement::Expression(helper) => expression(helper, how, reads),
        _ => reads.opaque("it uses a subexpression whose reads are not known"),
    }
}

fn parameter(param: &Parameter, how: Use, reads: &mut Reads) {
    match param {
        Parameter::Literal(_) => {}
        Parameter::Subexpression(sub) => subexpression(&sub.element, how, reads),
        Parameter::Name(name) => {
            let names: Vec<&str> = name.split(['.', '/']).collect();
            named(&names, how, reads)
        }
        Parameter::Path(Path::Relative((segs, _))) => {
            let mut names = Vec::new();
            for seg in segs {
                match seg {
                    PathSeg::Named(name) => names.push(name.as_str()),
                    _ => return reads.opaque("it reads `this`, `../` or `@root`"),
                }
            }
            named(&names, how, reads)
        }
        _ => reads.opaque("it reads a block's local variable (`@index`, `@key`)"),
    }
}

fn named(names: &[&str], how: Use, reads: &mut Reads) {
    let key = match names {
        [] => return reads.opaque("it reads the whole context"),
        [first, ..] if *first == "this" || first.starts_with(['@', '.']) || first.is_empty() => {
            return reads.opaque("it reads `this`, `../` or `@root`")
        }
        [map @ ("vars" | "ci"), entry, ..] => format!("{map}.{entry}"),
        [first, ..] => (*first).to_owned(),
    };
    reads.note(key, how);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(source: &str) -> Reads {
        reads(&Template::compile(source).unwrap())
    }

    fn keys(source: &str) -> Vec<(String, Use)> {
        let reads = of(source);
        assert_eq!(reads.opaque, None, "{source}");
        reads.keys.into_iter().collect()
    }

    #[test]
    fn printed_variables_are_values_and_conditions_are_flags() {
        let value = |k: &str| (k.to_owned(), Use::Value);
        let flag = |k: &str| (k.to_owned(), Use::Flag);
        assert_eq!(keys("lib-{{major}}.x-release"), [value("major")]);
        assert_eq!(
            keys("{{source.name}}-{{{vars.kind}}}"),
            [value("source"), value("vars.kind")]
        );
        assert_eq!(
            keys("{{#if is_prerelease}}pre{{else if vars.beta}}beta{{else}}{{target/repo}}{{/if}}"),
            [flag("is_prerelease"), value("target"), flag("vars.beta")]
        );
        assert_eq!(
            keys("{{#unless (eq major 2)}}{{#if major}}x{{/if}}{{/unless}}"),
            [value("major")]
        );
        assert_eq!(keys("{{lookup vars \"k\"}}"), [value("vars")]);
        assert_eq!(keys("{{(lookup ci \"sha\")}}"), [value("ci")]);
        assert_eq!(keys("plain {{! a comment }}"), []);
        // No block changes the context, so `this` is the root.
        assert_eq!(keys("{{this.major}}"), [value("major")]);
    }

    #[test]
    fn what_a_name_refers_to_must_be_known() {
        for source in [
            "{{#each vars}}{{this}}{{/each}}",
            "{{#with source}}{{name}}{{/with}}",
            "{{this}}",
            "{{@root.major}}",
            "{{#if major}}{{../major}}{{/if}}",
            "{{log major}}",
            "{{#if major includeZero=true}}x{{/if}}",
        ] {
            assert!(of(source).opaque.is_some(), "{source}");
        }
    }
}
