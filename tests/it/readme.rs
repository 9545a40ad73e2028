//! Docs that cannot rot: every `dispatch.yaml` in README.md (a ```yaml block that starts with
//! `version: 1` or `# yaml-language-server`) passes `orchestrator validate`, and every other
//! ```yaml block is at least YAML. A block preceded by `<!-- not-validated: why -->` is skipped.

use crate::support::cli::{config_dir, repo_file, Cli};

struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    text: String,
    skipped: Option<String>,
}

fn yaml_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```yaml" {
            i += 1;
            continue;
        }
        let skipped = i
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .and_then(|l| l.strip_prefix("<!-- not-validated:"))
            .map(|why| why.trim_end_matches("-->").trim().to_owned());
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or_else(|| panic!("README.md:{}: unclosed ```yaml block", i + 1));
        blocks.push(Block {
            line: i + 1,
            text: lines[start..end].join("\n") + "\n",
            skipped,
        });
        i = end + 1;
    }
    blocks
}

fn is_dispatch_file(block: &Block) -> bool {
    let first = block.text.lines().next().unwrap_or("");
    first.starts_with("version: 1") || first.starts_with("# yaml-language-server")
}

#[test]
fn every_dispatch_yaml_in_the_readme_validates() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    let mut validated = 0;
    for block in blocks.iter().filter(|b| is_dispatch_file(b)) {
        if let Some(why) = &block.skipped {
            eprintln!("README.md:{}: not validated: {why}", block.line);
            continue;
        }
        let dir = config_dir(&block.text);
        let output = Cli::in_dir(dir.path()).arg("validate").output();
        assert_eq!(
            output.code,
            0,
            "README.md:{}: the block does not validate:\n{}\n{}",
            block.line,
            output.all(),
            block.text
        );
        validated += 1;
    }
    assert!(
        validated >= 4,
        "only {validated} dispatch.yaml block(s) found: is the extraction broken?"
    );
}

#[test]
fn every_yaml_block_in_the_readme_is_yaml() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    for block in yaml_blocks(&readme) {
        if let Err(err) = serde_norway::from_str::<serde_norway::Value>(&block.text) {
            panic!("README.md:{}: not YAML: {err}\n{}", block.line, block.text);
        }
    }
}

#[test]
fn a_marked_block_is_skipped_and_an_unmarked_one_is_not() {
    let text =
        "<!-- not-validated: pending -->\n```yaml\nversion: 1\n```\n\n```yaml\nversion: 1\n```\n";
    let blocks = yaml_blocks(text);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].skipped.as_deref(), Some("pending"));
    assert_eq!(blocks[1].skipped, None);
    assert_eq!(blocks[1].line, 6);
}

#[test]
fn the_readme_documents_every_template_helper() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| helper |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    for helper in orchestrator::render::HELPERS {
        let named = format!("`{helper}`");
        assert!(
            table
                .iter()
                .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&named))),
            "README.md's helper table does not list {named}"
        );
    }
}

/// Every `tests/…` or `src/…` path written in `text` (a glob such as `src/**` is not a path).
fn cited_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for root in ["tests/", "src/"] {
        for (at, _) in text.match_indices(root) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')) {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
                .collect();
            let rest = &text[at + path.len()..];
            if rest.starts_with('*') || rest.starts_with('{') || rest.starts_with('<') {
                continue;
            }
            paths.push(path.trim_end_matches('.').to_owned());
        }
    }
    paths
}

#[test]
fn every_source_and_test_path_the_readme_cites_exists() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let cited = cited_paths(&readme);
    assert!(cited.iter().any(|p| p == "tests/it/readme.rs"), "{cited:?}");
    let missing: Vec<&String> = cited.iter().filter(|p| !repo_file(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "README.md cites paths that do not exist: {missing:?}"
    );
}

#[test]
fn a_cited_path_is_read_up_to_its_last_character() {
    assert_eq!(
        cited_paths("see `tests/it/readme.rs`. And [yaml](src/yaml.rs), not a/src/x or src/**"),
        ["tests/it/readme.rs", "src/yaml.rs"]
    );
}

/// `actions/NAME@vN` in `text`: (NAME, N).
fn action_refs(text: &str) -> Vec<(String, String)> {
    text.match_indices("actions/")
        .filter_map(|(at, _)| {
            let rest = &text[at + "actions/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let version = rest[name.len()..].strip_prefix("@v")?;
            let version: String = version.chars().take_while(char::is_ascii_digit).collect();
            Some((name, version))
        })
        .collect()
}

#[test]
fn the_readme_uses_the_versions_of_githubs_actions_that_the_workflows_use() {
    let mut used = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(repo_file(".github/workflows")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (name, version) in action_refs(&text) {
            used.insert(name, version);
        }
    }
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    for (name, version) in action_refs(&readme) {
        if let Some(workflows) = used.get(&name) {
            assert_eq!(
                &version, workflows,
                "README.md uses actions/{name}@v{version}; the workflows use @v{workflows}"
            );
        }
    }
}

/// The files a user reads to find the project, install it or use the action.
const HOME_FILES: &[&str] = &[
    "README.md",
    "CONTRIBUTING.md",
    "action.yml",
    "Cargo.toml",
    "scripts/install.sh",
    ".github/workflows/release.yml",
    ".github/workflows/release-example.yml",
    ".github/workflows/validate-dispatch.yml",
];

#[test]
fn the_project_has_one_home_everywhere() {
    const HOME: &str = "vfarcic/orchestrator";
    for file in HOME_FILES {
        let text = std::fs::read_to_string(repo_file(file)).unwrap();
        assert!(
            !text.contains("<owner>"),
            "{file} names the project `<owner>/…`, not {HOME}"
        );
        assert!(text.contains(HOME), "{file} does not name {HOME}");
    }
}

#[test]
fn the_install_instructions_pin_the_checksums_of_the_release_they_install() {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let install = readme.split("## Install").nth(1).unwrap();
    let block = install
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert!(
        block.contains("raw/main/checksums/v$VERSION.sha256")
            && block.contains("--version \"$VERSION\"")
            && block.contains("--checksums \"v$VERSION.sha256\""),
        "{block}"
    );
    // No release is named whose pinned checksums are not committed.
    for word in block.split(|c: char| c.is_whitespace() || c == '/' || c == '"') {
        if let Some(version) = word
            .strip_prefix('v')
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            let pinned = repo_file(&format!("checksums/v{version}.sha256"));
            assert!(
                pinned.exists(),
                "the README installs v{version}, which has no {}",
                pinned.display()
            );
        }
    }
}

#[test]
fn the_benchmarks_speak_of_features_not_issue_numbers() {
    let mut files = vec![repo_file("BENCHMARKS.md")];
    for entry in std::fs::read_dir(repo_file("benches/fanout")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap().to_lowercase();
        for (at, _) in text.match_indices("issue") {
            let next = text[at + "issue".len()..].trim_start_matches(['s', ' ']);
            assert!(
                !next.starts_with(|c: char| c.is_ascii_digit()),
                "{} speaks of an issue number: {:?}",
                file.display(),
                &text[at..(at + 20).min(text.len())]
            );
        }
    }
}
