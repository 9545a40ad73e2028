//! `Link: rel="next"` (RFC 8288) and the request for the next page, rebuilt on the caller's own
//! URL: only the page number is taken from what the server sent.

use reqwest::Url;

/// The target of the `rel="next"` link in a `Link` header (RFC 8288), as written: `Ok(None)`
/// when the header names no next page, `Err` when part of it cannot be read (a next link
/// could hide behind it, so the list cannot be called whole).
pub(crate) fn next_link(header: &str) -> Result<Option<&str>, String> {
    let unreadable = || {
        "GitHub's `Link` header cannot be read, so whether a next page follows is not known"
            .to_owned()
    };
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Ok(None);
        }
        let inner = rest.strip_prefix('<').ok_or_else(unreadable)?;
        let close = inner.find('>').ok_or_else(unreadable)?;
        let target = &inner[..close];
        let (params, after) = link_params(&inner[close + 1..]);
        if params_say_next(params) {
            return Ok(Some(target));
        }
        rest = after;
    }
}

/// Splits a link-value's parameters from the rest of the header at the first `,` outside a
/// quoted string.
fn link_params(text: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return (&text[..i], &text[i + 1..]),
            _ => {}
        }
    }
    (text, "")
}

/// Whether `; rel="next"` (or `rel=next`, or a list of relations that holds `next`) is among
/// the parameters.
fn params_say_next(params: &str) -> bool {
    params.split(';').any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    })
}

/// The request for page `page + 1`: `request` with its `page` set, when `target` (a next link
/// as GitHub sent it) has `request`'s origin and path and names exactly that page.
pub(crate) fn next_page_url(request: &Url, page: u32, target: &str) -> Result<Url, String> {
    let named = request
        .join(target)
        .map_err(|_| "the next page's link is not a URL".to_owned())?;
    if named.origin() != request.origin() || !named.origin().is_tuple() {
        return Err(format!(
            "the next page's link points to {}, not to the API's origin",
            crate::github::outbound::origin_of(&named)
        ));
    }
    if !same_list(request.path(), named.path()) {
        return Err("the next page's link names another list".to_owned());
    }
    let wanted = page.saturating_add(1);
    let named_page = named
        .query_pairs()
        .find(|(name, _)| name == "page")
        .and_then(|(_, value)| value.parse::<u32>().ok());
    if named_page != Some(wanted) {
        return Err(format!("the next page's link does not name page {wanted}"));
    }
    let kept: Vec<(String, String)> = request
        .query_pairs()
        .filter(|(name, _)| name != "page")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut next = request.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &wanted.to_string());
    Ok(next)
}

/// The same path, or GitHub's `/repositories/{id}/…` for `/repos/{owner}/{name}/…`.
fn same_list(asked: &str, named: &str) -> bool {
    if asked == named {
        return true;
    }
    let asked: Vec<&str> = asked.split('/').collect();
    let named: Vec<&str> = named.split('/').collect();
    let Some(at) = asked.iter().position(|s| *s == "repos") else {
        return false;
    };
    asked.len() == named.len() + 1
        && asked.len() > at + 3
        && asked[..at] == named[..at]
        && named[at] == "repositories"
        && !named[at + 1].is_empty()
        && named[at + 1].bytes().all(|b| b.is_ascii_digit())
        && asked[at + 3..] == named[at + 2..]
}
