//! The list reader's pure parts (pages, links) and its loop against scripted answers.

use super::*;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Workflow {
    path: String,
    state: String,
}

fn workflows(body: &str) -> Result<PageEntries<Workflow>, String> {
    parse_page(body, Shape::Field("workflows"), 100)
}

#[test]
fn an_entry_that_does_not_parse_is_skipped_and_counted_and_the_rest_is_kept() {
    let body = r#"{"total_count": 4, "workflows": [
        {"path": "a.yml", "state": "active", "id": 1, "badge_url": "x"},
        {"path": 7, "state": "active"},
        "not an object",
        {"path": "b.yml", "state": "disabled_manually"}
    ], "extra": {"nested": [1, 2]}}"#;
    let page = workflows(body).unwrap();
    assert_eq!(page.skipped, 2);
    assert_eq!(page.total_count, Some(4));
    let paths: Vec<&str> = page.entries.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["a.yml", "b.yml"]);
}

#[test]
fn a_page_that_is_cut_short_or_not_the_list_is_unreadable() {
    let cut = r#"{"total_count": 2, "workflows": [{"path": "a.yml", "state": "active"}, {"pa"#;
    for body in [
        cut,
        "",
        "null",
        "[]",
        r#"{"total_count": 0}"#,
        r#"{"workflows": {"path": "a"}}"#,
        r#"{"workflows": [], "workflows": []}"#,
        r#"{"workflows": []} trailing"#,
        "<html>502 Bad Gateway</html>",
    ] {
        let read = workflows(body);
        assert!(read.is_err(), "{body:?} gave {read:?}");
        assert!(read.unwrap_err().contains("not the list expected"));
    }
    assert_eq!(workflows(r#"{"workflows": []}"#).unwrap().entries, []);
}

#[test]
fn a_page_may_hold_only_so_many_entries() {
    let many = format!("[{}]", ["{}"; 11].join(","));
    let read = parse_page::<serde_json::Value>(&many, Shape::Array, 10);
    assert!(read.unwrap_err().contains("more than 10 entries"));
    let ten = format!("[{}]", ["{}"; 10].join(","));
    assert_eq!(
        parse_page::<serde_json::Value>(&ten, Shape::Array, 10)
            .unwrap()
            .entries
            .len(),
        10
    );
}

#[test]
fn the_next_link_is_found_as_rfc_8288_writes_it() {
    let github = r#"<https://api.github.com/repositories/1/actions/workflows?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/actions/workflows?per_page=100&page=3>; rel="last""#;
    assert_eq!(
        next_link(github),
        Some("https://api.github.com/repositories/1/actions/workflows?per_page=100&page=2")
    );
    assert_eq!(
        next_link(r#"<a?page=1>; rel="prev", <b?page=3>; rel=next"#),
        Some("b?page=3")
    );
    assert_eq!(
        next_link(r#"<x>; title="a, rel=next", <y>; REL="last next""#),
        Some("y")
    );
    assert_eq!(next_link(r#"<a>; rel="last", <b>; rel="first""#), None);
    assert_eq!(next_link(r#"<a>; rel="nextish""#), None);
    assert_eq!(next_link("garbage"), None);
    assert_eq!(next_link(""), None);
}

#[test]
fn a_next_link_is_taken_only_for_its_page_number_on_the_same_list() {
    let asked =
        Url::parse("https://ghe.example/api/v3/repos/o/r/actions/workflows?per_page=100").unwrap();
    let ok = next_page_url(
        &asked,
        1,
        "https://ghe.example/api/v3/repositories/42/actions/workflows?per_page=100&page=2&token=x",
    )
    .unwrap();
    // Rebuilt from the request: nothing else of the link is kept.
    assert_eq!(
        ok.as_str(),
        "https://ghe.example/api/v3/repos/o/r/actions/workflows?per_page=100&page=2"
    );
    let relative = next_page_url(&asked, 1, "workflows?page=2").unwrap();
    assert!(relative
        .as_str()
        .ends_with("/repos/o/r/actions/workflows?per_page=100&page=2"));
    let refused = [
        (
            "https://evil.example/api/v3/repos/o/r/actions/workflows?page=2",
            "points to https://evil.example",
        ),
        (
            "http://ghe.example/api/v3/repos/o/r/actions/workflows?page=2",
            "not to the API's origin",
        ),
        (
            "https://ghe.example:8443/api/v3/repos/o/r/actions/workflows?page=2",
            "not to the API's origin",
        ),
        (
            "https://ghe.example/api/v3/repos/o/other/actions/workflows?page=2",
            "another list",
        ),
        (
            "https://ghe.example/api/v3/repositories/x1/actions/workflows?page=2",
            "another list",
        ),
        (
            "https://ghe.example/api/v3/repos/o/r/actions/runs?page=2",
            "another list",
        ),
        (
            "https://ghe.example/api/v3/repos/o/r/actions/workflows?page=1",
            "does not name page 2",
        ),
        (
            "https://ghe.example/api/v3/repos/o/r/actions/workflows?page=9",
            "does not name page 2",
        ),
        (
            "https://ghe.example/api/v3/repos/o/r/actions/workflows?after=abc",
            "does not name page 2",
        ),
        ("file:///etc/passwd?page=2", "points to a `file:` URL"),
    ];
    for (target, why) in refused {
        let message = next_page_url(&asked, 1, target).unwrap_err();
        assert!(message.contains(why), "{target}: {message}");
        assert!(
            !message.contains("passwd") && !message.contains("/repos/"),
            "{message}"
        );
    }
}

/// A scripted answer.
#[derive(Debug)]
struct Page {
    status: u16,
    link: Option<String>,
    body: String,
}

impl ListPage for Page {
    fn status(&self) -> u16 {
        self.status
    }
    fn link(&self) -> Option<&str> {
        self.link.as_deref()
    }
    fn body(&self) -> &str {
        &self.body
    }
}

const FIRST: &str = "http://127.0.0.1:1/repos/o/r/actions/workflows?per_page=100";

/// Page `n` of an endless list: one workflow, and a link to page `n + 1`.
fn endless(url: &Url) -> Page {
    let n: u32 = url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .map_or(1, |(_, v)| v.parse().unwrap());
    Page {
        status: 200,
        link: Some(format!("<{FIRST}&page={}>; rel=\"next\"", n + 1)),
        body: format!(r#"{{"workflows": [{{"path": "{n}.yml", "state": "active"}}]}}"#),
    }
}

async fn read(
    limits: Limits,
    fetch: impl FnMut(Url) -> std::future::Ready<Result<Page, Unfetched>>,
) -> (Listing<Workflow>, Option<Page>) {
    let reader = ListReader::new(
        Url::parse(FIRST).unwrap(),
        Shape::Field("workflows"),
        limits,
    );
    read_all(reader, fetch, |_| false).await
}

#[tokio::test]
async fn every_page_is_read_until_no_next_link() {
    let (listing, refused) = read(Limits::default(), |url| {
        let mut page = endless(&url);
        if url.as_str().ends_with("page=3") {
            page.link = Some(format!("<{FIRST}&page=1>; rel=\"first\""));
        }
        std::future::ready(Ok(page))
    })
    .await;
    assert!(refused.is_none());
    assert_eq!(listing.end, End::Complete);
    assert_eq!(listing.pages, 3);
    let paths: Vec<&str> = listing.entries.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["1.yml", "2.yml", "3.yml"]);
}

#[tokio::test]
async fn an_endless_list_stops_at_the_page_budget_and_says_so() {
    let limits = Limits {
        max_pages: 4,
        ..Limits::default()
    };
    let (listing, _) = read(limits, |url| std::future::ready(Ok(endless(&url)))).await;
    assert_eq!(listing.pages, 4);
    assert!(!listing.is_complete());
    assert!(matches!(&listing.end, End::StoppedByBudget(why) if why.contains("4 pages")));
}

#[tokio::test(start_paused = true)]
async fn a_slow_list_stops_at_the_time_budget() {
    let limits = Limits {
        time: Some(Duration::from_secs(10)),
        ..Limits::default()
    };
    let reader: ListReader<Workflow> = ListReader::new(
        Url::parse(FIRST).unwrap(),
        Shape::Field("workflows"),
        limits,
    );
    let started = Instant::now();
    let (listing, _) = read_all(
        reader,
        |url| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok::<_, Unfetched>(endless(&url))
        },
        |_| false,
    )
    .await;
    assert_eq!(listing.pages, 2);
    assert!(matches!(&listing.end, End::StoppedByBudget(why) if why.contains("10 s")));
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[tokio::test]
async fn a_refused_page_a_missing_answer_and_a_lying_count_are_told_apart() {
    let (listing, refused) = read(Limits::default(), |url| {
        let mut page = endless(&url);
        if url.as_str().ends_with("page=2") {
            page.status = 403;
        }
        std::future::ready(Ok(page))
    })
    .await;
    assert_eq!(
        listing.end,
        End::Refused {
            page: 2,
            status: 403
        }
    );
    assert_eq!(refused.unwrap().status, 403);
    let (listing, _) = read(Limits::default(), |_| {
        std::future::ready(Err(Unfetched::NoAnswer("operation timed out".into())))
    })
    .await;
    assert!(
        matches!(&listing.end, End::Unreadable(why) if why.contains("page 1 got no answer: operation timed out"))
    );
    let (listing, _) = read(Limits::default(), |_| {
        std::future::ready(Ok(Page {
            status: 200,
            link: None,
            body: r#"{"total_count": 101, "workflows": []}"#.into(),
        }))
    })
    .await;
    assert!(
        matches!(&listing.end, End::Unreadable(why) if why.contains("counts 101 entries, but its pages held 0"))
    );
}

#[tokio::test]
async fn a_page_larger_than_the_cap_is_unreadable() {
    let limits = Limits {
        max_page_bytes: 64,
        ..Limits::default()
    };
    let (listing, _) = read(limits, |_| {
        std::future::ready(Ok(Page {
            status: 200,
            link: None,
            body: format!(r#"{{"workflows": [], "pad": "{}"}}"#, "x".repeat(64)),
        }))
    })
    .await;
    assert!(matches!(&listing.end, End::Unreadable(why) if why.contains("larger than 64 bytes")));
    assert!(listing.incomplete().is_some());
}

#[test]
fn entries_taken_out_page_by_page_still_count_toward_the_total() {
    let mut reader: ListReader<Workflow> = ListReader::new(
        Url::parse(FIRST).unwrap(),
        Shape::Field("workflows"),
        Limits::default(),
    );
    let mut kept = Vec::new();
    while let Some(url) = reader.next_page() {
        let mut page = endless(&url);
        page.body = page.body.replace('{', r#"{"total_count": 2, "#);
        if url.as_str().ends_with("page=2") {
            page.link = None;
        }
        assert!(reader.take(Ok::<_, Unfetched>(page)).is_none());
        kept.extend(reader.drain().map(|w| w.path));
    }
    let listing = reader.finish();
    assert_eq!(listing.end, End::Complete, "{listing:?}");
    assert_eq!(kept, ["1.yml", "2.yml"]);
    assert!(listing.entries.is_empty());
}
