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
