//! The one reader for GitHub's lists (`actions/workflows`, `actions/runs`, a directory's
//! contents): every page, within budgets, and an answer that says whether the list is whole.
//!
//! - Pages are followed through `Link: rel="next"` (RFC 8288), as GitHub documents. The next
//!   URL is never requested as sent: a link is accepted only when it has the origin of the
//!   request and its path (or GitHub's `/repositories/{id}/…` form of it), and only its
//!   `page` number is taken, which must be the next one; the URL requested is the caller's own,
//!   with that number. So nothing in an answer decides where a token goes.
//! - Budgets ([`Limits`]): at most [`DEFAULT_MAX_PAGES`] pages, [`DEFAULT_MAX_PAGE_BYTES`] and
//!   [`DEFAULT_MAX_ENTRIES`] entries a page, and an optional time for the whole list.
//! - The result ([`Listing`]) keeps apart a list read whole ([`End::Complete`]), one stopped by
//!   a budget ([`End::StoppedByBudget`]), one whose reader was told it had enough
//!   ([`End::Enough`]), a page GitHub refused ([`End::Refused`]) and one that could not be read
//!   ([`End::Unreadable`]: no answer, a body that is not the JSON expected, a link elsewhere).
//!   A verdict on anything but a complete list is "cannot tell".
//! - An entry that does not parse as the caller's type is skipped and counted; the rest of its
//!   page is kept. Only the caller's type is kept of each entry (declare only the fields used).
//!
//! Callers drive a [`ListReader`] step by step (each sends its own request, so it can borrow
//! what it likes); the unit tests drive it with `read_all` and a fetch function.

use reqwest::Url;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;
use tokio::time::Instant;

/// Pages read of one list at most, by default: GitHub's largest page is 100 entries, so this
/// is 1,000 workflows or runs.
pub(crate) const DEFAULT_MAX_PAGES: u32 = 10;
/// A page's body at most, by default: a contents listing of 1,000 files is under 1 MiB.
pub(crate) const DEFAULT_MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Entries on one page at most, by default: GitHub sends at most 100 a page of a list and
/// 1,000 entries for a directory.
pub(crate) const DEFAULT_MAX_ENTRIES: usize = 1000;

/// How much of a list is read at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max_pages: u32,
    /// A longer body makes the list unreadable (read the body with a cap above this).
    pub max_page_bytes: usize,
    /// More entries on one page make the list unreadable.
    pub max_entries: usize,
    /// The whole list, from [`ListReader::new`]; `None`: the caller bounds each request.
    pub time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: DEFAULT_MAX_PAGES,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            time: None,
        }
    }
}

/// Where a page holds its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The body is the array (`GET …/contents/{dir}`).
    Array,
    /// The body is an object whose field of this name is the array, beside an optional
    /// `total_count` (`{"total_count": 2, "workflows": […]}`).
    Field(&'static str),
}

/// How reading a list ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Every page was read.
    Complete,
    /// The caller's `enough` said it had what it looked for; later pages were not read.
    Enough,
    /// A budget (pages or time) ran out first: the entries are a part of the list.
    StoppedByBudget(String),
    /// A page was answered with a status other than 2xx (page 1 is the first).
    Refused { page: u32, status: u16 },
    /// A page could not be read: no answer, a body that is not the list, a link elsewhere.
    Unreadable(String),
}

/// What was read of a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listing<T> {
    pub entries: Vec<T>,
    /// Entries that did not parse as `T` (and were skipped).
    pub skipped: usize,
    /// Pages read and taken in.
    pub pages: u32,
    /// `total_count` as the first page said, when it did.
    pub total_count: Option<u64>,
    pub end: End,
}

impl<T> Listing<T> {
    /// Whether every entry of the list was read (skipped ones aside).
    pub(crate) fn is_complete(&self) -> bool {
        self.end == End::Complete
    }

    /// Why the list is not whole, in words; `None` when it is.
    pub(crate) fn incomplete(&self) -> Option<String> {
        match &self.end {
            End::Complete | End::Enough => None,
            End::StoppedByBudget(why) | End::Unreadable(why) => Some(why.clone()),
            End::Refused { page, status } => Some(format!("page {page} was answered {status}")),
        }
    }
}

/// An answer to one page's request, as the reader needs it.
pub(crate) trait ListPage {
    fn status(&self) -> u16;
    /// The `Link` header, every value joined with `, `.
    fn link(&self) -> Option<&str>;
    fn body(&self) -> &str;
}

impl ListPage for super::response::Answered {
    fn status(&self) -> u16 {
        self.status
    }
    fn link(&self) -> Option<&str> {
        super::response::Answered::link(self)
    }
    fn body(&self) -> &str {
        &self.body
    }
}

/// Why a page's request gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unfetched {
    /// The caller's own time budget ran out (the list is stopped by the budget).
    OutOfTime(String),
    /// No answer came (transport failure, refused redirect): the list is unreadable.
    NoAnswer(String),
}

/// A list read page by page: ask [`ListReader::next_page`] for the URL, send it, give the
/// answer to [`ListReader::take`] (and take out its entries with [`ListReader::drain`] to hold
/// one page at a time), until `next_page` says `None`; then [`ListReader::finish`].
pub(crate) struct ListReader<T> {
    shape: Shape,
    limits: Limits,
    deadline: Option<Instant>,
    next: Option<Url>,
    listing: Listing<T>,
    /// Entries parsed so far, drained ones included.
    parsed: usize,
    /// Set once the end is known.
    ended: bool,
}

impl<T: DeserializeOwned> ListReader<T> {
    /// Starts at `first` (built by the caller from its configured API base). The time limit,
    /// if any, runs from now.
    pub(crate) fn new(first: Url, shape: Shape, limits: Limits) -> Self {
        ListReader {
            shape,
            limits,
            deadline: limits.time.map(|t| Instant::now() + t),
            next: Some(first),
            listing: Listing {
                entries: Vec::new(),
                skipped: 0,
                pages: 0,
                total_count: None,
                end: End::Complete,
            },
            parsed: 0,
            ended: false,
        }
    }

    /// When the time limit runs out, if there is one: bound each request by it.
    #[cfg(test)]
    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The URL of the next page to read, or `None` when reading is over (a budget included).
    pub(crate) fn next_page(&mut self) -> Option<Url> {
        if self.ended {
            return None;
        }
        let url = self.next.clone()?;
        if self.listing.pages >= self.limits.max_pages {
            return self.end(End::StoppedByBudget(format!(
                "stopped after {} pages, the most read of one list",
                self.limits.max_pages
            )));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return self.end(self.out_of_time());
        }
        Some(url)
    }

    /// Takes in the answer to the URL [`ListReader::next_page`] gave. A refused answer (not
    /// 2xx) ends the list and is given back, so the caller can read why (permissions, say).
    pub(crate) fn take<A: ListPage>(&mut self, answer: Result<A, Unfetched>) -> Option<A> {
        let url = self.next.take()?;
        let page = self.listing.pages.saturating_add(1);
        let answer = match answer {
            Ok(answer) => answer,
            Err(Unfetched::OutOfTime(why)) => return self.end(End::StoppedByBudget(why)),
            Err(Unfetched::NoAnswer(why)) => {
                return self.end(End::Unreadable(format!("page {page} got no answer: {why}")))
            }
        };
        if !(200..300).contains(&answer.status()) {
            let status = answer.status();
            self.end::<()>(End::Refused { page, status });
            return Some(answer);
        }
        if let Err(why) = self.take_page(&url, page, &answer) {
            self.end::<()>(End::Unreadable(format!("page {page}: {why}")));
        }
        None
    }

    /// Reads `enough` after each page: when it says so, the list ends as [`End::Enough`].
    pub(crate) fn enough_if(&mut self, enough: impl FnOnce(&[T]) -> bool) {
        if !self.ended && enough(&self.listing.entries) {
            self.end::<()>(End::Enough);
        }
    }

    /// Takes out the entries read so far: a caller that folds them page by page (keeping only
    /// what it needs) holds one page's entries at a time, not the whole list's.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, T> {
        self.listing.entries.drain(..)
    }

    /// What was read, and how it ended.
    pub(crate) fn finish(mut self) -> Listing<T> {
        if !self.ended && self.next.is_some() {
            // Finished before the next page was read: the caller stopped early.
            self.listing.end = End::StoppedByBudget("stopped before the last page".to_owned());
        }
        self.listing
    }

    fn take_page(&mut self, url: &Url, page: u32, answer: &impl ListPage) -> Result<(), String> {
        let body = answer.body();
        if body.len() > self.limits.max_page_bytes {
            return Err(format!(
                "the answer is larger than {} bytes",
                self.limits.max_page_bytes
            ));
        }
        let read = parse_page::<T>(body, self.shape, self.limits.max_entries)?;
        let next = match answer.link().map(next_link).transpose()?.flatten() {
            Some(target) => Some(next_page_url(url, page, target)?),
            None => None,
        };
        self.listing.pages = page;
        self.listing.skipped = self.listing.skipped.saturating_add(read.skipped);
        if page == 1 {
            self.listing.total_count = read.total_count;
        }
        self.parsed = self.parsed.saturating_add(read.entries.len());
        self.listing.entries.extend(read.entries);
        match next {
            Some(next) => self.next = Some(next),
            None => self.last_page()?,
        }
        Ok(())
    }

    /// No next link: the list is whole, unless the first page counted more than the pages held
    /// (a proxy that drops `Link` would otherwise make page 1 look like all of it).
    fn last_page(&mut self) -> Result<(), String> {
        let seen = self.parsed.saturating_add(self.listing.skipped);
        if let Some(total) = self.listing.total_count {
            if total > seen as u64 {
                return Err(format!(
                    "GitHub counts {total} entries, but its pages held {seen} and named no next page"
                ));
            }
        }
        self.ended = true;
        self.listing.end = End::Complete;
        Ok(())
    }

    fn out_of_time(&self) -> End {
        let secs = crate::policy::shown_secs(self.limits.time.unwrap_or_default());
        End::StoppedByBudget(format!(
            "stopped after {secs} s with {} page(s) read",
            self.listing.pages
        ))
    }

    fn end<R>(&mut self, end: End) -> Option<R> {
        self.ended = true;
        self.next = None;
        self.listing.end = end;
        None
    }
}

/// Reads every page of a list with `fetch` (each request bounded by the list's time limit,
/// if any), until it ends or `enough` says the entries read hold what is looked for. Gives
/// back the answer that refused a page, if one did.
#[cfg(test)]
async fn read_all<T, A, F, Fut>(
    mut reader: ListReader<T>,
    mut fetch: F,
    mut enough: impl FnMut(&[T]) -> bool,
) -> (Listing<T>, Option<A>)
where
    T: DeserializeOwned,
    A: ListPage,
    F: FnMut(Url) -> Fut,
    Fut: std::future::Future<Output = Result<A, Unfetched>>,
{
    while let Some(url) = reader.next_page() {
        let answer = match reader.deadline() {
            Some(deadline) => match tokio::time::timeout_at(deadline, fetch(url)).await {
                Ok(answer) => answer,
                Err(_) => Err(Unfetched::OutOfTime(reader.out_of_time_text())),
            },
            None => fetch(url).await,
        };
        if let Some(refused) = reader.take(answer) {
            return (reader.finish(), Some(refused));
        }
        reader.enough_if(&mut enough);
    }
    (reader.finish(), None)
}

#[cfg(test)]
impl<T: DeserializeOwned> ListReader<T> {
    fn out_of_time_text(&self) -> String {
        match self.out_of_time() {
            End::StoppedByBudget(why) => why,
            _ => String::new(),
        }
    }
}

/// The entries of one page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PageEntries<T> {
    pub entries: Vec<T>,
    pub skipped: usize,
    pub total_count: Option<u64>,
}

/// Reads one page's body: `Err` when it is not the JSON `shape` describes (cut short, not
/// JSON, no list where the entries should be, more than `max_entries`); an entry that is JSON
/// but not a `T` is skipped and counted.
pub(crate) fn parse_page<T: DeserializeOwned>(
    body: &str,
    shape: Shape,
    max_entries: usize,
) -> Result<PageEntries<T>, String> {
    let mut de = serde_json::Deserializer::from_str(body);
    let read = match shape {
        Shape::Array => {
            EntriesSeed::<T>::new(max_entries)
                .deserialize(&mut de)
                .map(|(entries, skipped)| PageEntries {
                    entries,
                    skipped,
                    total_count: None,
                })
        }
        Shape::Field(field) => de::Deserializer::deserialize_map(
            &mut de,
            PageVisitor::<T> {
                field,
                max_entries,
                entries: PhantomData,
            },
        ),
    };
    let read = read.map_err(|e| unreadable(&e))?;
    de.end().map_err(|e| unreadable(&e))?;
    Ok(read)
}

fn unreadable(e: &serde_json::Error) -> String {
    // serde_json's message names only positions and our own words, never the body's text.
    format!("the answer is not the list expected ({e})")
}

/// The entries of a JSON array, each tried as a `T`.
struct EntriesSeed<T> {
    max: usize,
    entries: PhantomData<T>,
}

impl<T> EntriesSeed<T> {
    fn new(max: usize) -> Self {
        EntriesSeed {
            max,
            entries: PhantomData,
        }
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for EntriesSeed<T> {
    type Value = (Vec<T>, usize);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for EntriesSeed<T> {
    type Value = (Vec<T>, usize);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let (mut entries, mut skipped, mut seen) = (Vec::new(), 0usize, 0usize);
        // One entry at a time as the text it is (a slice of the page, never built into a
        // tree), then as `T`, which keeps only the fields it names: an entry that is not a `T`
        // cannot spoil the parse of the others, nor cost more than its own bytes.
        while let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? {
            seen += 1;
            if seen > self.max {
                return Err(de::Error::custom(format_args!(
                    "more than {} entries on one page",
                    self.max
                )));
            }
            match serde_json::from_str::<T>(raw.get()) {
                Ok(entry) => entries.push(entry),
                Err(_) => skipped += 1,
            }
        }
        Ok((entries, skipped))
    }
}

/// `{"total_count": N, "<field>": [...], ...}`.
struct PageVisitor<T> {
    field: &'static str,
    max_entries: usize,
    entries: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for PageVisitor<T> {
    type Value = PageEntries<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with a `{}` list", self.field)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut found: Option<(Vec<T>, usize)> = None;
        let mut total_count = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.field {
                if found.is_some() {
                    return Err(de::Error::custom(format_args!(
                        "`{}` appears twice",
                        self.field
                    )));
                }
                found = Some(map.next_value_seed(EntriesSeed::new(self.max_entries))?);
            } else if key == "total_count" {
                total_count = map.next_value::<serde_json::Value>()?.as_u64();
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        let (entries, skipped) =
            found.ok_or_else(|| de::Error::custom(format_args!("no `{}` list", self.field)))?;
        Ok(PageEntries {
            entries,
            skipped,
            total_count,
        })
    }
}

mod link;

pub(crate) use link::{next_link, next_page_url};

#[cfg(test)]
mod tests;
