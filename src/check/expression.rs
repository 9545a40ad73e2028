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
pub(crate) fn expressions(text: &str) -> Vec<&str> {
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
pub(crate) fn shows_payload_key(text: &str, key: &str) -> bool {
    let wanted = ["github", "event", "client_payload", key];
    expressions(text).into_iter().any(|expression| {
        let parsed = Parsed::new(tokens(expression));
        if !parsed.balanced() {
            return false;
        }
        let whole = parsed.unwrap(0..parsed.tokens.len());
        parsed.split(whole, &Token::Or).into_iter().any(|operand| {
            let operand = parsed.unwrap(operand);
            parsed.is_access(operand.clone(), &wanted)
                || parsed
                    .format_arguments(operand)
                    .into_iter()
                    .any(|argument| parsed.is_access(parsed.unwrap(argument), &wanted))
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

/// An expression's tokens, each bracket with its partner: every step below is linear in the
/// tokens, however deeply a hostile run-name nests its parentheses.
struct Parsed<'a> {
    tokens: Vec<Token<'a>>,
    partner: Vec<Option<usize>>,
}

type Span = std::ops::Range<usize>;

impl<'a> Parsed<'a> {
    fn new(tokens: Vec<Token<'a>>) -> Parsed<'a> {
        let mut partner = vec![None; tokens.len()];
        let mut open: Vec<(usize, char)> = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                Token::Punct(c @ ('(' | '[')) => open.push((i, *c)),
                Token::Punct(c @ (')' | ']')) => {
                    let opener = if *c == ')' { '(' } else { '[' };
                    if let Some(&(at, _)) = open.last().filter(|(_, o)| *o == opener) {
                        open.pop();
                        partner[at] = Some(i);
                        partner[i] = Some(at);
                    }
                }
                _ => {}
            }
        }
        Parsed { tokens, partner }
    }

    /// Every bracket has its partner: GitHub refuses an expression that does not.
    fn balanced(&self) -> bool {
        self.tokens
            .iter()
            .zip(&self.partner)
            .all(|(token, partner)| {
                partner.is_some() || !matches!(token, Token::Punct('(' | ')' | '[' | ']'))
            })
    }

    /// `span` without the parentheses that enclose all of it.
    fn unwrap(&self, mut span: Span) -> Span {
        while span.len() >= 2
            && self.tokens[span.start] == Token::Punct('(')
            && self.partner[span.start] == Some(span.end - 1)
        {
            span = span.start + 1..span.end - 1;
        }
        span
    }

    /// `span` split at each `separator` outside brackets and parentheses.
    fn split(&self, span: Span, separator: &Token<'_>) -> Vec<Span> {
        let mut parts = Vec::new();
        let (mut i, mut start) = (span.start, span.start);
        while i < span.end {
            match (&self.tokens[i], self.partner[i]) {
                (Token::Punct('(' | '['), Some(close)) if close < span.end => i = close,
                (token, _) if token == separator => {
                    parts.push(start..i);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        parts.push(start..span.end);
        parts
    }

    /// The arguments of `format(…)` when `span` is one call of it.
    fn format_arguments(&self, span: Span) -> Vec<Span> {
        match &self.tokens[span.clone()] {
            [Token::Name(name), Token::Punct('('), .., Token::Punct(')')]
                if name.eq_ignore_ascii_case("format")
                    && self.partner[span.start + 1] == Some(span.end - 1) =>
            {
                self.split(span.start + 2..span.end - 1, &Token::Punct(','))
            }
            _ => Vec::new(),
        }
    }

    /// Whether `span` is exactly the property access `wanted` (`a.b`, `a['b']`).
    fn is_access(&self, span: Span, wanted: &[&str]) -> bool {
        let mut path: Vec<&str> = Vec::new();
        let mut rest = &self.tokens[span];
        loop {
            rest = match rest {
                [] => return path == wanted,
                [Token::Name(name), tail @ ..] if path.is_empty() => {
                    path.push(name);
                    tail
                }
                [Token::Punct('.'), Token::Name(name), tail @ ..] if !path.is_empty() => {
                    path.push(name);
                    tail
                }
                [Token::Punct('['), Token::Str(name), Token::Punct(']'), tail @ ..]
                    if !path.is_empty() =>
                {
                    path.push(name);
                    tail
                }
                _ => return false,
            };
            if path.len() > wanted.len() {
                return false;
            }
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
    fn deep_nesting_is_read_in_linear_time() {
        let deep = format!(
            "${{{{ {}github.event.client_payload.dispatch_id{} }}}}",
            "(".repeat(200_000),
            ")".repeat(200_000)
        );
        let started = std::time::Instant::now();
        assert!(shows_payload_key(&deep, "dispatch_id"));
        assert!(!shows_payload_key(&deep[..deep.len() - 10], "dispatch_id"));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
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
            "x ${{ (github.event.client_payload.dispatch_id) || (x }}",
            "x ${{ format('{0}', github.event.client_payload.dispatch_id }}",
        ] {
            assert!(!shows_payload_key(hidden, "dispatch_id"), "{hidden}");
        }
    }
}
