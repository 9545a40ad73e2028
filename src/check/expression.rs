//! GitHub Actions expressions (`${{ … }}`) in a workflow's text, read as far as `check` needs:
//! whether a `run-name` renders a `client_payload` property into the run's title. Pure; the
//! text comes from a server, so the reading is linear and never fails.
//!
//! A property counts when the title shows its value: the expression is the property access
//! itself (`github.event.client_payload.dispatch_id`, `…['dispatch_id']`, `…["dispatch_id"]`,
//! with any spacing),
//! an operand of `||` (shown when it is set), or an argument of `format(…)`. A longer name
//! (`dispatch_identity`), a deeper access (`dispatch_id.x`) or a comparison
//! (`dispatch_id == ''`, which shows `true` or `false`) does not count.

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Token<'a> {
    Name(&'a str),
    Str(String),
    Punct(char),
    /// `||`.
    Or,
    /// Anything else: numbers, other operators, `*`.
    Other,
}

/// The insides of each `${{ … }}` of `text`; a `}}` inside a string literal does not end one.
pub fn expressions(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let inside = &rest[start + 3..];
        let mut in_string = false;
        let mut end = None;
        let bytes = inside.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\'' => in_string = !in_string,
                b'}' if !in_string && bytes.get(i + 1) == Some(&b'}') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(end) = end else { break };
        found.push(&inside[..end]);
        rest = &inside[end + 2..];
    }
    found
}

/// Whether `text` (a `run-name`) shows `github.event.client_payload.<key>`.
pub fn shows_payload_key(text: &str, key: &str) -> bool {
    let wanted = ["github", "event", "client_payload", key];
    expressions(text).into_iter().any(|expression| {
        let tokens = tokens(expression);
        split(unwrap(&tokens), &Token::Or)
            .into_iter()
            .map(unwrap)
            .any(|operand| {
                is_access(operand, &wanted)
                    || format_arguments(operand)
                        .into_iter()
                        .any(|argument| is_access(unwrap(argument), &wanted))
            })
    })
}

fn tokens(expression: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = expression.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if !(n.is_ascii_alphanumeric() || n == '_' || n == '-') {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                tokens.push(Token::Name(&expression[at..end]));
            }
            '\'' => {
                let mut text = String::new();
                while let Some((_, n)) = chars.next() {
                    match n {
                        '\'' if chars.peek().map(|p| p.1) == Some('\'') => {
                            chars.next();
                            text.push('\'');
                        }
                        '\'' => break,
                        n => text.push(n),
                    }
                }
                tokens.push(Token::Str(text));
            }
            // GitHub documents single quotes only; a double-quoted key is read alike.
            '"' => {
                let text: String = chars
                    .by_ref()
                    .map(|(_, n)| n)
                    .take_while(|n| *n != '"')
                    .collect();
                tokens.push(Token::Str(text));
            }
            '|' if chars.peek().map(|p| p.1) == Some('|') => {
                chars.next();
                tokens.push(Token::Or);
            }
            '.' | '[' | ']' | '(' | ')' | ',' => tokens.push(Token::Punct(c)),
            _ => tokens.push(Token::Other),
        }
    }
    tokens
}

/// The tokens inside outer parentheses that enclose all of them.
fn unwrap<'t, 'a>(mut tokens: &'t [Token<'a>]) -> &'t [Token<'a>] {
    while let [Token::Punct('('), inner @ .., Token::Punct(')')] = tokens {
        if !balanced(inner) {
            break;
        }
        tokens = inner;
    }
    tokens
}

fn balanced(tokens: &[Token<'_>]) -> bool {
    let mut depth: usize = 0;
    for token in tokens {
        match token {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
    }
    depth == 0
}

/// `tokens` split at each `separator` outside brackets and parentheses.
fn split<'t, 'a>(tokens: &'t [Token<'a>], separator: &Token<'_>) -> Vec<&'t [Token<'a>]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Punct('(' | '[') => depth += 1,
            Token::Punct(')' | ']') => depth = depth.saturating_sub(1),
            t if depth == 0 && t == separator => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

/// The arguments of `format(…)` when `tokens` is one call of it.
fn format_arguments<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<&'t [Token<'a>]> {
    match tokens {
        [Token::Name(name), Token::Punct('('), inside @ .., Token::Punct(')')]
            if name.eq_ignore_ascii_case("format") && balanced(inside) =>
        {
            split(inside, &Token::Punct(','))
        }
        _ => Vec::new(),
    }
}

/// Whether `tokens` are exactly the property access `wanted` (`a.b`, `a['b']`).
fn is_access(tokens: &[Token<'_>], wanted: &[&str]) -> bool {
    let mut path: Vec<String> = Vec::new();
    let mut rest = tokens;
    loop {
        rest = match rest {
            [] => return path == wanted,
            [Token::Name(name), tail @ ..] if path.is_empty() => {
                path.push((*name).to_owned());
                tail
            }
            [Token::Punct('.'), Token::Name(name), tail @ ..] if !path.is_empty() => {
                path.push((*name).to_owned());
                tail
            }
            [Token::Punct('['), Token::Str(name), Token::Punct(']'), tail @ ..]
                if !path.is_empty() =>
            {
                path.push(name.clone());
                tail
            }
            _ => return false,
        };
        if path.len() > wanted.len() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_end_at_the_first_closing_braces_outside_a_string() {
        assert_eq!(
            expressions("a ${{ x }} b ${{ format('}}{0}', y) }} c ${{ open"),
            [" x ", " format('}}{0}', y) "]
        );
    }

    #[test]
    fn only_a_shown_dispatch_id_counts() {
        for shown in [
            "Rebuild ${{ github.event.client_payload.dispatch_id }}",
            "${{github.event.client_payload.dispatch_id}}",
            "x ${{ github.event.client_payload['dispatch_id'] }}",
            "x ${{ github . event . client_payload [ 'dispatch_id' ] }}",
            "x ${{ github['event']['client_payload']['dispatch_id'] }}",
            "x ${{ github.event.client_payload[\"dispatch_id\"] }}",
            "x ${{ (github.event.client_payload.dispatch_id) }}",
            "x ${{ github.event.client_payload.dispatch_id || 'manual' }}",
            "x ${{ format('{0} [{1}]', github.event.action, github.event.client_payload.dispatch_id) }}",
        ] {
            assert!(shows_payload_key(shown, "dispatch_id"), "{shown}");
        }
        for hidden in [
            "Rebuild ${{ github.event.client_payload.dispatch_identity }}",
            "Rebuild ${{ github.event.client_payload.dispatch_id_old }}",
            "Rebuild ${{ github.event.client_payload.dispatch_id.x }}",
            "Rebuild ${{ github.event.client_payload['dispatch_id_old'] }}",
            "Rebuild ${{ github.event.client_payload.dispatch_id == '' }}",
            "Rebuild ${{ !github.event.client_payload.dispatch_id }}",
            "Rebuild ${{ contains(github.event.client_payload.dispatch_id, 'x') }}",
            "Rebuild ${{ mygithub.event.client_payload.dispatch_id }}",
            "Rebuild github.event.client_payload.dispatch_id",
            "Rebuild ${{ 'github.event.client_payload.dispatch_id' }}",
            "Rebuild ${{ github.event.client_payload.dispatch_id",
        ] {
            assert!(!shows_payload_key(hidden, "dispatch_id"), "{hidden}");
        }
    }
}
