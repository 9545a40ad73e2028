//! The helpers templates may call beyond Handlebars' own: small string functions everyone
//! reaches for (`lower`, `upper`, `trim`, `replace`, `default`, `json`).
//!
//! Each works on the values it is given and nothing else: none reads the environment or a file.
//! Each keeps strict mode (a missing value is an error, except `default`'s first, which is the
//! point of it) and refuses a result larger than a payload can hold before building it, so the
//! render guard's bounds hold for them too.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, JsonRender, RenderContext, RenderError,
    RenderErrorReason, ScopedJson,
};
use serde_json::Value;

/// Every helper a template can call, in the README's order: Handlebars' built-ins and ours.
pub const HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or",
    "not", "len", "lower", "upper", "trim", "replace", "default", "json", "raw", "log",
];

/// One of our helpers: its name, how many values it takes, and what it makes of them.
struct StringHelper {
    name: &'static str,
    arity: usize,
    apply: fn(&[&Value]) -> Result<Value, String>,
}

/// Registers our helpers on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    let ours = [
        StringHelper {
            name: "lower",
            arity: 1,
            apply: |v| Ok(text(v[0]).to_lowercase().into()),
        },
        StringHelper {
            name: "upper",
            arity: 1,
            apply: |v| Ok(text(v[0]).to_uppercase().into()),
        },
        StringHelper {
            name: "trim",
            arity: 1,
            apply: |v| Ok(text(v[0]).trim().into()),
        },
        StringHelper {
            name: "replace",
            arity: 3,
            apply: |v| replace(&text(v[0]), &text(v[1]), &text(v[2])).map(Value::from),
        },
        StringHelper {
            name: "json",
            arity: 1,
            apply: |v| json(v[0]).map(Value::from),
        },
    ];
    for helper in ours {
        registry.register_helper(helper.name, Box::new(helper));
    }
    registry.register_helper("default", Box::new(DefaultHelper));
}

/// A value as templates print it: a string as it is, anything else as JSON.
fn text(value: &Value) -> String {
    value.render()
}

/// `text` with each `from` replaced by `to`, refused before it is built when it would be larger
/// than a payload can hold (a short `from` and a long `to` multiply).
fn replace(text: &str, from: &str, to: &str) -> Result<String, String> {
    if from.is_empty() {
        return Err("`replace` needs something to find: its second value is empty".into());
    }
    let count = text.matches(from).count();
    let size = text.len() - count * from.len() + count.saturating_mul(to.len());
    if size > super::MAX_RENDERED_BYTES {
        return Err(too_large("replace"));
    }
    Ok(text.replace(from, to))
}

fn json(value: &Value) -> Result<String, String> {
    let encoded = serde_json::to_string(value).map_err(|err| err.to_string())?;
    if encoded.len() > super::MAX_RENDERED_BYTES {
        return Err(too_large("json"));
    }
    Ok(encoded)
}

fn too_large(helper: &str) -> String {
    format!(
        "`{helper}` would make more than the {} bytes a payload can hold",
        super::MAX_RENDERED_BYTES
    )
}

impl HelperDef for StringHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        if h.params().len() != self.arity {
            return Err(RenderErrorReason::Other(arity_message(self.name, self.arity)).into());
        }
        let mut values = Vec::with_capacity(self.arity);
        for param in h.params() {
            if param.is_value_missing() {
                return Err(RenderError::strict_error(param.relative_path()));
            }
            values.push(param.value());
        }
        let made = (self.apply)(&values).map_err(RenderErrorReason::Other)?;
        Ok(ScopedJson::Derived(made))
    }
}

fn arity_message(name: &str, arity: usize) -> String {
    let example = match name {
        "replace" => "`{{replace version \".\" \"-\"}}`",
        "default" => "`{{default vars.channel \"stable\"}}`",
        "json" => "`{{json vars}}`",
        _ => return format!("`{name}` takes one value, e.g. `{{{{{name} version}}}}`"),
    };
    format!("`{name}` takes {arity} values, e.g. {example}")
}

/// `{{default value fallback}}`: `value` unless it is missing, null or empty.
struct DefaultHelper;

impl HelperDef for DefaultHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let (Some(value), Some(fallback), 2) = (h.param(0), h.param(1), h.params().len()) else {
            return Err(RenderErrorReason::Other(arity_message("default", 2)).into());
        };
        if fallback.is_value_missing() {
            return Err(RenderError::strict_error(fallback.relative_path()));
        }
        let unset = value.is_value_missing()
            || matches!(value.value(), Value::Null)
            || value.value().as_str().is_some_and(str::is_empty);
        let chosen = if unset { fallback } else { value };
        Ok(ScopedJson::Derived(chosen.value().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_refuses_an_empty_pattern_and_a_result_too_large_to_send() {
        assert_eq!(replace("1.2.3", ".", "-").as_deref(), Ok("1-2-3"));
        assert!(replace("abc", "", "x").unwrap_err().contains("empty"));
        let long = "x".repeat(4096);
        assert!(replace(&"a".repeat(100), "a", &long)
            .unwrap_err()
            .contains("bytes a payload can hold"));
    }
}
