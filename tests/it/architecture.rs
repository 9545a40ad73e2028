//! Layers only point down, as ARCHITECTURE.md's table says: this file reads that table (the
//! document is the rule) and every file under `src/`, nested ones included, and fails on an
//! import the table does not allow, naming the file, the line, the edge and the rule. An
//! import is `use crate::x`, a `crate::x::` path or a `super::` path that reaches another
//! top-level module; comments, doc comments (and their links) and string literals are not.
//! Test code (`#[cfg(test)]` items and the files they declare) may use anything.
//! It also fails on a cycle between top-level modules or between `config`'s files, on the
//! HTTP client or the runtime named in the core layers, and on YAML read past `src/yaml.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers with neither network nor runtime: their files may not name these crates, so
/// the core could become a crate of its own without tokio or reqwest.
const CORE_LAYERS: [&str; 3] = ["plain data", "configuration", "planning"];
const CLIENT_CRATES: [&str; 3] = ["reqwest", "tokio", "hyper"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// A word or a punctuation mark of code, with its line. Comments, strings and character
/// literals leave no token, so a doc link or a message that spells `crate::x` is no import.
#[derive(Debug, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

impl Token {
    fn new(text: &str, line: usize) -> Self {
        let text = text.to_owned();
        Token { text, line }
    }
}

/// The tokens of Rust source: identifiers, `::`, and single punctuation characters.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let (mut i, mut line) = (0, 1);
    let word = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after = match (c, next) {
            (c, _) if c.is_whitespace() => i + 1,
            ('/', Some('/')) => chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(chars.len(), |n| i + n),
            ('/', Some('*')) => block_comment_end(&chars, i),
            ('"', _) => string_end(&chars, i + 1, 0),
            ('\'', _) => char_end(&chars, i),
            (':', Some(':')) => {
                found.push(Token::new("::", line));
                i + 2
            }
            (c, _) if word(c) => {
                let end = i + chars[i..].iter().take_while(|c| word(**c)).count();
                let text: String = chars[i..end].iter().collect();
                if let Some((quote, hashes)) = raw_string_start(&text, &chars, end) {
                    string_end(&chars, quote + 1, hashes)
                } else if text == "b" && chars.get(end) == Some(&'\'') {
                    char_end(&chars, end)
                } else {
                    found.push(Token::new(&text, line));
                    end
                }
            }
            (c, _) => {
                found.push(Token::new(&c.to_string(), line));
                i + 1
            }
        };
        // A comment or a string may span lines; the lines after it still count.
        line += chars[i..after].iter().filter(|c| **c == '\n').count();
        i = after;
    }
    found
}

/// The index after a (nested) block comment that starts at `at`.
fn block_comment_end(chars: &[char], at: usize) -> usize {
    let (mut depth, mut i) = (0usize, at);
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index after a string whose text starts at `from`: `"` then `hashes` `#`s ends it;
/// a plain string (no hashes) knows backslash escapes.
fn string_end(chars: &[char], from: usize, hashes: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' if hashes == 0 => i += 2,
            '"' if chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes =>
            {
                return i + 1 + hashes;
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// `r"`, `r#"`, `br##"`…: where the quote is and how many `#`s close the string.
fn raw_string_start(word: &str, chars: &[char], end: usize) -> Option<(usize, usize)> {
    if !matches!(word, "r" | "br" | "cr") {
        return None;
    }
    let hashes = chars[end..].iter().take_while(|c| **c == '#').count();
    (chars.get(end + hashes) == Some(&'"')).then_some((end + hashes, hashes))
}

/// The index after a character literal at `at` (`'a'`, `'\n'`, `'\u{1F600}'`), or just after
/// the quote of a lifetime (`'a`), whose name is then read as a word.
fn char_end(chars: &[char], at: usize) -> usize {
    match (chars.get(at + 1), chars.get(at + 2)) {
        (Some('\\'), _) => chars[at + 3..]
            .iter()
            .position(|c| *c == '\'')
            .map_or(chars.len(), |n| at + 4 + n),
        (Some(_), Some('\'')) => at + 3,
        _ => at + 1,
    }
}

/// A file of the product: its path under `src/` and its module path
/// (`config/node/de.rs` → `config::node::de`, `config/mod.rs` → `config`).
struct SourceFile {
    shown: String,
    module: Vec<String>,
    tokens: Vec<Token>,
}

/// Every file under `src/` but the crate roots (`lib.rs`, `main.rs`).
fn source_files() -> Vec<SourceFile> {
    let src = src();
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let relative = path.strip_prefix(&src).unwrap();
        let mut module: Vec<String> = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_str().unwrap().to_owned())
            .collect();
        if module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        if matches!(module.as_slice(), [root] if root == "lib" || root == "main") {
            continue;
        }
        let shown = relative.display().to_string().replace('\\', "/");
        let tokens = tokens(&std::fs::read_to_string(&path).unwrap());
        files.push(SourceFile {
            shown,
            module,
            tokens,
        });
    }
    files
}

/// A path in a file's product code that leaves for a top-level module: `use crate::x`,
/// `crate::x::f()`, `crate::{x, y::z}`, or `super::`s up to the crate root.
#[derive(Debug)]
struct Import {
    line: usize,
    /// The module it reaches, from the crate root, cut at two segments (`config::walk`).
    path: Vec<String>,
}

impl Import {
    /// The top-level module it reaches.
    fn to(&self) -> &str {
        &self.path[0]
    }
}

/// A file's product code read for what it names.
#[derive(Default)]
struct Scan {
    imports: Vec<Import>,
    /// The words of its product code (for the crates the core may not name).
    words: Vec<(usize, String)>,
    /// The files its `#[cfg(test)] mod name;` declare: test code, not product code.
    test_modules: Vec<Vec<String>>,
}

/// Reads a file's product code: `#[cfg(test)]` items are skipped, inline `mod x { }` are
/// followed so a `super::` inside one resolves from there.
fn scan(file: &SourceFile) -> Scan {
    let t = &file.tokens;
    let mut scan = Scan::default();
    let mut inline: Vec<(String, usize)> = Vec::new();
    let (mut depth, mut i) = (0usize, 0);
    while i < t.len() {
        let at = |k: usize| t.get(i + k).map_or("", |t| t.text.as_str());
        let mut module = file.module.clone();
        module.extend(inline.iter().map(|(name, _)| name.clone()));
        if (0..7).map(at).eq(["#", "[", "cfg", "(", "test", ")", "]"]) {
            let (end, declared) = item_end(t, i + 7);
            if let Some(name) = declared {
                scan.test_modules.push([module, vec![name]].concat());
            }
            i = end;
            continue;
        }
        match at(0) {
            "mod" if at(2) == "{" => {
                inline.push((at(1).to_owned(), depth));
                depth += 1;
                i += 3;
                continue;
            }
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "crate" | "super" if at(1) == "::" => {
                let (base, rest) = path_base(&module, t, i);
                scan.imports.extend(path_heads(t, rest, &base));
                i = rest;
                continue;
            }
            _ => {}
        }
        scan.words.push((t[i].line, t[i].text.clone()));
        i += 1;
    }
    scan
}

/// Where a path starting at `at` (`crate::` or `super::super::`) stands in `module`, and
/// the index of the token after its last leading `::`.
fn path_base(module: &[String], t: &[Token], at: usize) -> (Vec<String>, usize) {
    if t[at].text == "crate" {
        return (Vec::new(), at + 2);
    }
    let mut up = 0;
    let mut i = at;
    while t.get(i).is_some_and(|t| t.text == "super")
        && t.get(i + 1).is_some_and(|t| t.text == "::")
    {
        up += 1;
        i += 2;
    }
    // A path that climbs past the root is the compiler's to refuse; it stays at the root.
    (module[..module.len().saturating_sub(up)].to_vec(), i)
}

/// The modules a path names from `at`, on top of `base`, each cut at two segments:
/// `x::y::f` → `x::y`, `{x, y::{z, w}}` → `x`, `y::z`, `y::w`.
fn path_heads(t: &[Token], at: usize, base: &[String]) -> Vec<Import> {
    let Some(first) = t.get(at) else {
        return Vec::new();
    };
    let here = |line| Import {
        line,
        path: base.to_vec(),
    };
    if base.len() >= 2 {
        return vec![here(first.line)];
    }
    if first.text != "{" {
        let word = first.text.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !word || first.text == "self" || first.text == "*" {
            return (!base.is_empty())
                .then(|| here(first.line))
                .into_iter()
                .collect();
        }
        let path = [base, std::slice::from_ref(&first.text)].concat();
        if t.get(at + 1).is_some_and(|t| t.text == "::") {
            return path_heads(t, at + 2, &path);
        }
        return vec![Import {
            line: first.line,
            path,
        }];
    }
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, true);
    for (i, token) in t.iter().enumerate().skip(at + 1) {
        match token.text.as_str() {
            "{" => depth += 1,
            "}" if depth == 0 => break,
            "}" => depth -= 1,
            "," if depth == 0 => start = true,
            _ if start && depth == 0 => {
                heads.extend(path_heads(t, i, base));
                start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The index after the item that starts at `at` (after an attribute), past any further
/// attributes, and the module it declares if it is `mod name;`.
fn item_end(t: &[Token], at: usize) -> (usize, Option<String>) {
    let mut depth = 0usize;
    let mut i = at;
    while i < t.len() {
        match t[i].text.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (i + 1, None);
                }
            }
            ";" if depth == 0 => {
                let declared = (i >= 2 && t[i - 2].text == "mod").then(|| t[i - 1].text.clone());
                return (i + 1, declared);
            }
            _ => {}
        }
        i += 1;
    }
    (i, None)
}

/// Every file of the product code with what it imports and names; files declared by
/// `#[cfg(test)] mod x;` are left out. Read once for all the tests here.
fn product() -> &'static [(SourceFile, Scan)] {
    static PRODUCT: std::sync::OnceLock<Vec<(SourceFile, Scan)>> = std::sync::OnceLock::new();
    PRODUCT.get_or_init(read_product)
}

fn read_product() -> Vec<(SourceFile, Scan)> {
    let files = source_files();
    let modules: BTreeSet<String> = files.iter().map(|f| f.module[0].clone()).collect();
    let scans: Vec<(SourceFile, Scan)> = files
        .into_iter()
        .map(|file| {
            let scan = scan(&file);
            (file, scan)
        })
        .collect();
    let tests: Vec<Vec<String>> = scans
        .iter()
        .flat_map(|(_, s)| s.test_modules.clone())
        .collect();
    let product: Vec<(SourceFile, Scan)> = scans
        .into_iter()
        .filter(|(file, _)| !tests.iter().any(|t| file.module.starts_with(t)))
        .collect();
    for (file, scan) in &product {
        for import in &scan.imports {
            assert!(
                modules.contains(import.to()),
                "{}:{}: the reader takes `{}` for a top-level module, and there is none",
                file.shown,
                import.line,
                import.to()
            );
        }
    }
    product
}

/// (from, to) → the places (`file:line`) of each import between two top-level modules.
type Edges = BTreeMap<(String, String), Vec<String>>;

fn top_level_edges(product: &[(SourceFile, Scan)]) -> Edges {
    let mut edges = Edges::new();
    for (file, scan) in product {
        let from = &file.module[0];
        for import in scan.imports.iter().filter(|i| i.to() != from) {
            let place = format!("src/{}:{}", file.shown, import.line);
            let places = edges
                .entry((from.clone(), import.to().to_owned()))
                .or_default();
            if places.last() != Some(&place) {
                places.push(place);
            }
        }
    }
    edges
}

/// The file of `config` that `file` is, or is nested in (`node` for `config/node/de.rs`).
fn config_file(file: &SourceFile) -> Option<&String> {
    match file.module.as_slice() {
        [top, name, ..] if top == "config" => Some(name),
        _ => None,
    }
}

fn config_files(product: &[(SourceFile, Scan)]) -> BTreeSet<&String> {
    product.iter().filter_map(|(f, _)| config_file(f)).collect()
}

/// The same between the files of `config` (`config/node/de.rs` counts as `node`); its
/// `mod.rs`, the facade, is left out.
fn config_edges(product: &[(SourceFile, Scan)]) -> Edges {
    let stages = config_files(product);
    let mut edges = Edges::new();
    for (file, scan) in product {
        let Some(from) = config_file(file) else {
            continue;
        };
        for import in &scan.imports {
            let [top, to] = import.path.as_slice() else {
                continue;
            };
            if top == "config" && to != from && stages.contains(to) {
                let place = format!("src/{}:{}", file.shown, import.line);
                let places = edges.entry((from.clone(), to.clone())).or_default();
                if places.last() != Some(&place) {
                    places.push(place);
                }
            }
        }
    }
    edges
}

/// A row of ARCHITECTURE.md's layer table: its modules bottom to top, and what they may use.
#[derive(Debug)]
struct Layer {
    name: String,
    modules: Vec<String>,
    /// The "may use" cell as written, for messages.
    rule: String,
    /// The layers below it that it may use (all of them for "everything below").
    may_use: Vec<String>,
    /// "earlier modules of its row": a module may use those listed before it in its row.
    own_row: bool,
}

fn architecture_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap()
}

/// The names in backticks in `text`, in order.
fn quoted(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The table under "## Layers, bottom to top". A "may use" cell lists layers below it,
/// "everything below" and "earlier modules of its row", split by commas; words in
/// parentheses explain and are not read. Anything else fails, so the table stays a rule.
fn layer_table(doc: &str) -> Vec<Layer> {
    let section = doc
        .split("\n## Layers, bottom to top\n")
        .nth(1)
        .expect("ARCHITECTURE.md has a section \"## Layers, bottom to top\"");
    let rows = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2);
    let mut layers: Vec<Layer> = Vec::new();
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let [name, modules, rule] = cells.as_slice() else {
            panic!("a row of the layer table has three cells: {row}");
        };
        let mut layer = Layer {
            name: (*name).to_owned(),
            modules: quoted(modules),
            rule: (*rule).to_owned(),
            may_use: Vec::new(),
            own_row: false,
        };
        for phrase in without_parentheses(rule).split(',').map(str::trim) {
            match phrase {
                "everything below" => layer.may_use = layers.iter().map(|l| l.name.clone()).collect(),
                "earlier modules of its row" => layer.own_row = true,
                below if layers.iter().any(|l| l.name == below) => layer.may_use.push(below.to_owned()),
                other => panic!(
                    "ARCHITECTURE.md's layer table: in the row of {name}, \"{other}\" is neither a layer above that row, \"everything below\" nor \"earlier modules of its row\""
                ),
            }
        }
        layers.push(layer);
    }
    assert!(layers.len() > 5, "the layer table is read: {layers:?}");
    layers
}

fn without_parentheses(text: &str) -> String {
    let mut depth = 0usize;
    let mut kept = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth == 0 => kept.push(c),
            _ => {}
        }
    }
    kept
}

/// Where a module stands: its layer's index and its place in the row.
fn place(layers: &[Layer], module: &str) -> Option<(usize, usize)> {
    layers.iter().enumerate().find_map(|(l, layer)| {
        let at = layer.modules.iter().position(|m| m == module)?;
        Some((l, at))
    })
}

/// Why an import of `to` from `from` breaks the table, or `None` when the table allows it.
fn broken_rule(layers: &[Layer], from: &str, to: &str) -> Option<String> {
    let ((fl, fp), (tl, tp)) = (place(layers, from)?, place(layers, to)?);
    let layer = &layers[fl];
    let allowed = if fl == tl {
        layer.own_row && tp < fp
    } else {
        tl < fl && layer.may_use.contains(&layers[tl].name)
    };
    let upward = if (tl, tp) > (fl, fp) {
        "an import up the layers"
    } else {
        "an import the table does not allow"
    };
    (!allowed).then(|| {
        format!(
            "`{from}` → `{to}`, {upward}: `{from}` is in layer \"{}\", which may use: {}; `{to}` is in \"{}\"",
            layer.name, layer.rule, layers[tl].name
        )
    })
}

/// Each import that breaks the table, as `file:line: edge: rule`.
fn breaches(layers: &[Layer], edges: &Edges) -> Vec<String> {
    let mut found = Vec::new();
    for ((from, to), places) in edges {
        if let Some(rule) = broken_rule(layers, from, to) {
            found.extend(places.iter().map(|p| format!("{p}: {rule}")));
        }
    }
    found
}

#[test]
fn every_import_between_top_level_modules_is_one_the_layer_table_allows() {
    let layers = layer_table(&architecture_md());
    let found = breaches(&layers, &top_level_edges(product()));
    assert!(
        found.is_empty(),
        "imports that ARCHITECTURE.md's layer table (\"Layers, bottom to top\") does not allow; \
         move the code down, or change the table and say why:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layer_table_places_every_top_level_module_once() {
    let layers = layer_table(&architecture_md());
    let listed: Vec<&String> = layers.iter().flat_map(|l| &l.modules).collect();
    let modules: BTreeSet<String> = source_files()
        .into_iter()
        .map(|f| f.module[0].clone())
        .collect();
    let unique: BTreeSet<&String> = listed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "a module is in two places of the layer table: {listed:?}"
    );
    assert_eq!(
        unique,
        modules.iter().collect(),
        "the layer table of ARCHITECTURE.md lists exactly the top-level modules of src/"
    );
}

/// A planted import up the layers fails with its file, line, edge and the rule it breaks.
#[test]
fn an_import_up_the_layers_is_named_with_its_place_and_the_rule() {
    let layers = layer_table(&architecture_md());
    let planted = Edges::from([(
        ("plan".to_owned(), "dispatch".to_owned()),
        vec!["src/plan/mod.rs:3".to_owned()],
    )]);
    let found = breaches(&layers, &planted);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/plan/mod.rs:3: `plan` → `dispatch`, an import up the layers: `plan` is in layer \"planning\", which may use: "), "{}", found[0]);
    assert!(
        found[0].ends_with("; `dispatch` is in \"delivery\""),
        "{}",
        found[0]
    );
    // Downward, and inside a row in its order, is allowed; a row's order is one way.
    assert_eq!(broken_rule(&layers, "dispatch", "plan"), None);
    assert_eq!(broken_rule(&layers, "journal", "dispatch"), None);
    assert!(broken_rule(&layers, "dispatch", "journal").is_some());
    // A layer that names only some layers below it may not use the others.
    assert!(broken_rule(&layers, "github", "plan").is_some());
}

/// The core (plain data, configuration, planning) speaks `url` and `http` types: none of its
/// files names the HTTP client or the async runtime, so it could be a crate without them.
#[test]
fn the_core_layers_name_no_http_client_or_runtime() {
    let layers = layer_table(&architecture_md());
    let core: Vec<&String> = CORE_LAYERS
        .iter()
        .flat_map(|name| {
            let layer = layers.iter().find(|l| l.name == *name);
            &layer
                .unwrap_or_else(|| panic!("the layer table has a row \"{name}\""))
                .modules
        })
        .collect();
    let mut found = Vec::new();
    for (file, scan) in product()
        .iter()
        .filter(|(f, _)| core.contains(&&f.module[0]))
    {
        for (line, word) in scan
            .words
            .iter()
            .filter(|(_, w)| CLIENT_CRATES.contains(&w.as_str()))
        {
            found.push(format!("src/{}:{line}: `{word}`", file.shown));
        }
    }
    assert!(
        found.is_empty(),
        "the core layers ({CORE_LAYERS:?}) name the HTTP client or the runtime; use `url::Url` \
         and the `http` crate's types, and leave sending to `github`/`dispatch`:\n{}",
        found.join("\n")
    );
}

#[test]
fn top_level_modules_form_no_cycle() {
    let problems = cycles(&top_level_edges(product()));
    assert!(
        problems.is_empty(),
        "top-level modules depend on each other in a cycle (see ARCHITECTURE.md for where code goes):\n{}",
        problems.join("\n")
    );
}

/// Each module that reaches itself, with the outgoing edges that lead back to it, so the fix
/// is plain.
fn cycles(edges: &Edges) -> Vec<String> {
    let reaches = |start: &str| -> BTreeSet<&String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(m) = stack.pop() {
            for ((_, next), _) in edges.iter().filter(|((from, _), _)| from == m) {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let modules: BTreeSet<&String> = edges.keys().map(|(from, _)| from).collect();
    let mut problems = Vec::new();
    for module in modules {
        if reaches(module).contains(module) {
            let back: Vec<String> = edges
                .iter()
                .filter(|((from, to), _)| from == module && reaches(to).contains(module))
                .map(|((from, to), places)| format!("{from} → {to} (at {places:?})"))
                .collect();
            problems.push(back.join("; "));
        }
    }
    problems
}

/// Where ARCHITECTURE.md orders `config`'s files.
const CONFIG_ORDER: &str = "`config`'s files, bottom to top:";

/// Inside `config`, too, the files only point down, in the order ARCHITECTURE.md gives
/// (a nested file counts as its parent: `config/node/de.rs` is `node`).
#[test]
fn the_configuration_files_use_only_those_before_them() {
    let doc = architecture_md();
    let listed = doc
        .split(CONFIG_ORDER)
        .nth(1)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md says {CONFIG_ORDER}"));
    // The list runs to the sentence's end and may wrap.
    let order = quoted(listed.split('.').next().unwrap_or_default());
    let product = product();
    let files = config_files(product);
    assert_eq!(
        order.iter().collect::<BTreeSet<_>>(),
        files,
        "{CONFIG_ORDER} lists every file of src/config"
    );
    let rank = |file: &str| order.iter().position(|o| o == file);
    let mut found = Vec::new();
    for ((from, to), places) in config_edges(product) {
        if rank(&to) > rank(&from) {
            let rule = format!("`config::{from}` → `config::{to}`: {to} comes after {from} in ARCHITECTURE.md's {CONFIG_ORDER} {order:?}");
            found.extend(places.iter().map(|p| format!("{p}: {rule}")));
        }
    }
    assert!(
        found.is_empty(),
        "imports up config's files:\n{}",
        found.join("\n")
    );
    let problems = cycles(&config_edges(product));
    assert!(
        problems.is_empty(),
        "the configuration's files depend on each other in a cycle:\n{}",
        problems.join("\n")
    );
}

/// The reader counts what the compiler counts, and only that.
#[test]
fn the_import_reader_sees_paths_and_skips_comments_strings_and_tests() {
    let file = |module: &[&str], text: &str| SourceFile {
        shown: "x.rs".into(),
        module: module.iter().map(|m| (*m).to_owned()).collect(),
        tokens: tokens(text),
    };
    let read = |module: &[&str], text: &str| -> Vec<(usize, String)> {
        scan(&file(module, text))
            .imports
            .iter()
            .map(|i| (i.line, i.path.join("::")))
            .collect()
    };
    let own = |s: &str| s.to_owned();
    assert_eq!(
        read(
            &["report"],
            "use crate::{config::{Config, walk::Tree}, plan};\nlet x = crate::github::USER_AGENT;"
        ),
        [
            (1, own("config::Config")),
            (1, own("config::walk")),
            (1, own("plan")),
            (2, own("github::USER_AGENT"))
        ]
    );
    // Doc comments and their links, comments and strings are no imports.
    let quiet = "//! [`crate::secret::Secret`]\n/// see crate::plan\n// crate::dispatch\n/* crate::a /* crate::b */ */\nlet s = \"crate::journal\"; let r = r#\"crate::app\"#; let c = '\"'; fn f<'a>() {}";
    assert_eq!(read(&["github"], quiet), []);
    // `super::` climbs from the file's module, and from an inline `mod x { }` inside it.
    assert_eq!(
        read(&["config", "node", "de"], "use super::Node;"),
        [(1, own("config::node"))]
    );
    assert_eq!(
        read(&["policy"], "use super::secret::Secret;"),
        [(1, own("secret::Secret"))]
    );
    assert_eq!(
        read(&["config", "kinds"], "use super::super::plan::Job;"),
        [(1, own("plan::Job"))]
    );
    assert_eq!(
        read(
            &["config", "settings"],
            "pub mod range { use super::MAX; }\nuse super::model;"
        ),
        [(1, own("config::settings")), (2, own("config::model"))]
    );
    // Test code may use anything; a test file it declares is left out too.
    let scanned = scan(&file(&["plan"], "#[cfg(test)]\nmod tests { use crate::dispatch; }\n#[cfg(test)]\nmod more;\nuse crate::render;"));
    assert_eq!(
        scanned
            .imports
            .iter()
            .map(|i| i.path.join("::"))
            .collect::<Vec<_>>(),
        ["render"]
    );
    assert_eq!(scanned.test_modules, [vec![own("plan"), own("more")]]);
    assert_eq!(
        tokens("a\n/* b\n c */ d \"e\nf\" g")
            .iter()
            .map(|t| t.line)
            .collect::<Vec<_>>(),
        [1, 3, 4]
    );
}

/// Every YAML file the product reads (dispatch.yaml, its base from git, workflow files a
/// server sends) goes through the one bounded reader, `src/yaml.rs`: no other file may call the
/// YAML library, so no new reader can skip its limits.
#[test]
fn only_the_yaml_reader_names_the_yaml_library() {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let reader = src.join("yaml.rs");
    assert!(files.contains(&reader), "the reader is at src/yaml.rs");
    let others: Vec<String> = files
        .iter()
        .filter(|file| **file != reader)
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            text.contains("yaml_rust2")
        })
        .map(|file| file.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        others.is_empty(),
        "only src/yaml.rs may call the YAML library; read YAML through `crate::yaml` in: {others:?}"
    );
}
