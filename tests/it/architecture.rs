//! Layers only point down: no two top-level modules of `src/` may depend on each other, however
//! indirectly (see ARCHITECTURE.md). A new cycle fails here, naming the modules and the files
//! that make each edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// The top-level module a file belongs to (`src/dispatch/wait.rs` → `dispatch`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The top-level modules `text` names as `crate::name` or inside `crate::{a, b::c}`.
fn referenced(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        names.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // edges[a][b] = files of module a that name module b
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for to in referenced(&text) {
            if to != from && to != "self" && to != "super" {
                let shown = file.strip_prefix(&src).unwrap().display().to_string();
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(shown);
            }
        }
    }
    let problems = cycles(&edges);
    assert!(
        problems.is_empty(),
        "top-level modules depend on each other in a cycle (see ARCHITECTURE.md for where code goes):\n{}",
        problems.join("\n")
    );
}

type Edges = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Each module that reaches itself, with the outgoing edges that lead back to it, so the fix
/// is plain.
fn cycles(edges: &Edges) -> Vec<String> {
    let reaches = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_owned()];
        while let Some(m) = stack.pop() {
            for next in edges.get(&m).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let mut problems = Vec::new();
    for module in edges.keys() {
        if reaches(module).contains(module) {
            let back: Vec<String> = edges[module]
                .iter()
                .filter(|(to, _)| reaches(to).contains(module))
                .map(|(to, files)| format!("{module} → {to} (in {files:?})"))
                .collect();
            problems.push(back.join("; "));
        }
    }
    problems
}

/// Inside `config`, too, the stages only point down (walk → load → sections → kinds →
/// compile): none of its files may reach itself through the others. Tests inside a file may
/// use any stage.
#[test]
fn the_configuration_stages_form_no_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
    let mut edges = Edges::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(from) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".rs"))
            .filter(|n| *n != "mod")
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let code = code
            .replace("crate::config::", "crate::")
            .replace("super::", "crate::");
        for to in referenced(&code) {
            if to != from && dir.join(format!("{to}.rs")).exists() {
                edges
                    .entry(from.to_owned())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .insert(format!("config/{from}.rs"));
            }
        }
    }
    assert!(edges.len() > 5, "the reader sees the stages: {edges:?}");
    let problems = cycles(&edges);
    assert!(
        problems.is_empty(),
        "the configuration's files depend on each other in a cycle:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_reference_reader_sees_grouped_imports() {
    let names = referenced(
        "use crate::{config::{Config, Repo}, plan};\nlet x = crate::github::USER_AGENT;",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["config", "github", "plan"]
    );
}

/// Every YAML file the product reads (dispatch.yaml, its base from git, workflow files a
/// server sends) goes through the one bounded reader, `src/yaml.rs`: no other file may call the
/// YAML library, so no new reader can skip its limits.
#[test]
fn only_the_yaml_reader_names_the_yaml_library() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
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
