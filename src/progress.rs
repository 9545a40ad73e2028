//! A live progress line on stderr for long fan-outs: `12/40 done · 11 delivered · 1 failed`.
//! Only on a terminal, never in CI or a pipe, never with `--no-progress` or `-q`.
//!
//! Log lines go through [`LogWriter`], which lifts the bar while a line is written, so the two
//! never tear each other.

use crate::dispatch::{Observer, Outcome, Status};
use crate::github::classify::Failure;
use crate::plan::Job;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The bar being drawn, if any, for [`LogWriter`].
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Whether to draw a bar at all.
pub(crate) fn wanted(
    no_progress: bool,
    quiet: bool,
    stderr_tty: bool,
    env: impl Fn(&str) -> Option<String>,
) -> bool {
    let ci = ["CI", "GITHUB_ACTIONS"]
        .iter()
        .any(|name| env(name).is_some_and(|v| !v.is_empty() && v != "false" && v != "0"));
    !no_progress && !quiet && stderr_tty && !ci && env("TERM").as_deref() != Some("dumb")
}

/// The progress of one fan-out; hidden (and free) when not [`wanted`].
pub(crate) struct Progress {
    bar: ProgressBar,
    total: usize,
    /// How long the rate limits alone make the fan-out take (the plan's pacing estimate).
    expected: Duration,
    started: std::time::Instant,
    done: AtomicUsize,
    delivered: AtomicUsize,
    failed: AtomicUsize,
    retrying: AtomicUsize,
    /// When the latest retry's backoff ends, in milliseconds after `started`: the ETA is never
    /// shorter than a wait already decided.
    backoff_until_ms: AtomicU64,
    /// A stop (`--max-duration`, a signal) left targets unsent: they are not "done", and no
    /// ETA is told any more.
    stopped: AtomicBool,
    /// The target that last said it waits for an artifact, and what it said: `waiting for npm
    /// @vfarcic/dot-ai@1.2.3 (3 min)`.
    waiting: Mutex<Option<(String, String)>>,
}

impl Progress {
    /// A bar for `total` targets, drawn when `show` (see [`wanted`]).
    pub(crate) fn new(total: usize, show: bool) -> Progress {
        Progress::drawn_on(total, show, ProgressDrawTarget::stderr_with_hz(10))
    }

    /// The same, drawn on `target`: stderr for [`Progress::new`], a recording terminal in tests.
    fn drawn_on(total: usize, show: bool, target: ProgressDrawTarget) -> Progress {
        let bar = if show && total > 0 {
            let bar = ProgressBar::with_draw_target(Some(total as u64), target);
            let style =
                ProgressStyle::with_template("{spinner} {pos}/{len} done {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            *ACTIVE.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            total,
            expected: Duration::ZERO,
            started: std::time::Instant::now(),
            done: AtomicUsize::new(0),
            delivered: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            retrying: AtomicUsize::new(0),
            backoff_until_ms: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            waiting: Mutex::new(None),
        }
    }

    /// The ETA counts with the time the rate limits alone impose on the whole fan-out.
    pub(crate) fn with_expected(mut self, expected: Duration) -> Progress {
        self.expected = expected;
        self
    }

    /// The ETA's text now, e.g. `ETA 54 min`.
    fn eta(&self) -> Option<String> {
        if self.stopped.load(Ordering::Relaxed) {
            return None;
        }
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let backoff = Duration::from_millis(self.backoff_until_ms.load(Ordering::Relaxed))
            .saturating_sub(elapsed);
        let rest = remaining(self.expected, elapsed, done, self.total);
        match rest {
            Some(rest) => Some(rest.max(backoff)),
            None if done < self.total && !backoff.is_zero() => Some(backoff),
            None => None,
        }
        .map(eta_text)
    }

    /// A retry waits `delay` before its next attempt.
    fn backing_off(&self, delay: Duration) {
        let until = self.started.elapsed().saturating_add(delay);
        let until = u64::try_from(until.as_millis()).unwrap_or(u64::MAX);
        self.backoff_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// A target left unsent by a stop: not counted as done, and the ETA is no longer told.
    fn not_sent(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.update();
    }

    /// Clears the line, before the report is printed.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
        ACTIVE.lock().unwrap_or_else(PoisonError::into_inner).take();
    }

    fn update(&self) {
        let mut message = format!("· {} delivered", self.delivered.load(Ordering::Relaxed));
        let failed = self.failed.load(Ordering::Relaxed);
        if failed > 0 {
            message.push_str(&format!(" · {failed} failed"));
        }
        let retrying = self.retrying.load(Ordering::Relaxed);
        if retrying > 0 {
            message.push_str(&format!(" · {retrying} retrying"));
        }
        if let Some(eta) = self.eta() {
            message.push_str(&format!(" · {eta}"));
        }
        if let Some((_, waiting)) = &*self.waiting.lock().unwrap_or_else(PoisonError::into_inner) {
            message.push_str(&format!(" · {waiting}"));
        }
        self.bar.set_message(message);
    }

    /// A log line at every tenth of a fan-out of 20 or more, so a CI log shows the ETA too.
    fn log_step(&self, done: usize) {
        if self.total < 20 || done == self.total {
            return;
        }
        let step = self.total.div_ceil(10);
        if done.is_multiple_of(step) {
            let eta = self.eta().unwrap_or_default();
            tracing::info!("{done}/{} done; {eta}", self.total);
        }
    }
}

/// What is left of a fan-out after `elapsed` with `done` of `total` finished: the rest of the
/// pacing schedule (`expected` in all), or the pace so far carried on, whichever is longer.
/// `None` before anything finished when nothing paces the run, or once all is done.
pub(crate) fn remaining(
    expected: Duration,
    elapsed: Duration,
    done: usize,
    total: usize,
) -> Option<Duration> {
    if done >= total {
        return None;
    }
    let schedule = expected.saturating_sub(elapsed);
    let pace = (done > 0).then(|| {
        let left = u32::try_from(total - done).unwrap_or(u32::MAX);
        let done = u32::try_from(done).unwrap_or(u32::MAX);
        elapsed
            .checked_mul(left)
            .map_or(Duration::MAX, |d| d.checked_div(done).unwrap_or_default())
    });
    match pace {
        Some(pace) => Some(pace.max(schedule)),
        None if !schedule.is_zero() => Some(schedule),
        None => None,
    }
}

/// `waiting for npm @vfarcic/dot-ai@1.2.3 (3 min)`: how the log and the progress line name a
/// target that waits for an artifact (the name was checked to be visible ASCII when planned).
pub(crate) fn waiting_text(artifact: &str, waited: Duration) -> String {
    let secs = waited.as_secs();
    let waited = match secs {
        0..60 => format!("{secs} s"),
        _ => format!("{} min", secs / 60),
    };
    format!("waiting for {artifact} ({waited})")
}

/// `ETA 54 min`, in the words of [`crate::policy::approx`].
pub(crate) fn eta_text(remaining: Duration) -> String {
    format!("ETA {}", crate::policy::approx(remaining))
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Observer for Progress {
    fn retrying(&self, _job: &Job, _failure: &Failure, delay: Duration) {
        self.retrying.fetch_add(1, Ordering::Relaxed);
        self.backing_off(delay);
        self.update();
    }

    fn sending(&self, _job: &Job, attempt: u32) {
        if attempt > 1 {
            let _ = self
                .retrying
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            self.update();
        }
    }

    fn waiting(&self, job: &Job, artifact: &str, waited: Duration) {
        let text = waiting_text(artifact, waited);
        *self.waiting.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((job.target.clone(), text));
        self.update();
    }

    fn finished(&self, job: &Job, outcome: &Outcome) {
        {
            let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            if waiting
                .as_ref()
                .is_some_and(|(target, _)| *target == job.target)
            {
                *waiting = None;
            }
        }
        match outcome.status {
            Status::NotSent { .. } => self.not_sent(),
            _ => self.count(matches!(outcome.status, Status::Delivered { .. })),
        }
    }
}

impl Progress {
    /// One more target finished, delivered or not.
    fn count(&self, delivered: bool) {
        if delivered {
            &self.delivered
        } else {
            &self.failed
        }
        .fetch_add(1, Ordering::Relaxed);
        let done = self.done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        self.bar.inc(1);
        self.update();
        self.log_step(done);
    }
}

/// stderr for `tracing`: while a bar is drawn, each log line is written with the bar lifted.
#[derive(Clone, Copy, Default)]
pub(crate) struct LogWriter;

/// Each log line is redacted whole (see [`crate::secret::Redacting`]) before it is written.
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = crate::secret::Redacting<LogWriter>;
    fn make_writer(&'a self) -> Self::Writer {
        crate::secret::Redacting::new(LogWriter)
    }
}

/// A log group (GitHub Actions' `::group::`) titled and waiting for its first line, or open.
enum Group {
    None,
    Pending(String),
    Open,
}

static GROUP: Mutex<Group> = Mutex::new(Group::None);

/// Folds the log lines that follow into a group titled `title`, opened with the first of them:
/// a run with nothing to log leaves no empty group behind.
pub(crate) fn group_log_lines(title: String) {
    *GROUP.lock().unwrap_or_else(PoisonError::into_inner) = Group::Pending(title);
}

/// Ends the group of [`group_log_lines`], if a line opened it.
pub(crate) fn end_log_group() {
    let mut group = GROUP.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*group, Group::Open) {
        let _ = crate::actions::end_group(&mut std::io::stderr());
    }
    *group = Group::None;
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        {
            let mut group = GROUP.lock().unwrap_or_else(PoisonError::into_inner);
            if let Group::Pending(title) = &*group {
                crate::actions::start_group(&mut std::io::stderr(), title)?;
                *group = Group::Open;
            }
        }
        let active = ACTIVE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match active {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether this process's stderr is a terminal.
pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_waiting_target_is_named_with_its_artifact_and_the_minutes_waited() {
        assert_eq!(
            waiting_text("npm @vfarcic/dot-ai@1.2.3", Duration::from_secs(200)),
            "waiting for npm @vfarcic/dot-ai@1.2.3 (3 min)"
        );
        assert_eq!(
            waiting_text(
                "oci ghcr.io/vfarcic/dot-ai:1.2.3",
                Duration::from_millis(40)
            ),
            "waiting for oci ghcr.io/vfarcic/dot-ai:1.2.3 (0 s)"
        );
    }

    #[test]
    fn a_bar_is_drawn_only_on_a_terminal_outside_ci() {
        assert!(wanted(false, false, true, env(&[])));
        assert!(!wanted(false, false, false, env(&[])), "a pipe");
        assert!(!wanted(true, false, true, env(&[])), "--no-progress");
        assert!(!wanted(false, true, true, env(&[])), "-q");
        assert!(!wanted(false, false, true, env(&[("CI", "true")])));
        assert!(!wanted(
            false,
            false,
            true,
            env(&[("GITHUB_ACTIONS", "true")])
        ));
        assert!(wanted(false, false, true, env(&[("CI", "false")])));
        assert!(!wanted(false, false, true, env(&[("TERM", "dumb")])));
    }

    #[test]
    fn the_eta_is_the_rest_of_the_schedule_or_the_pace_so_far_whichever_is_longer() {
        let s = Duration::from_secs;
        // 1,000 targets at 80/min,500/h: 500 done in the first 6 min, the hour still to wait.
        let expected = s(3672 + 367);
        assert_eq!(remaining(expected, s(367), 500, 1000), Some(s(3672)));
        assert_eq!(eta_text(s(3672)), "ETA 1 h 1 min");
        // Unpaced: the pace so far, carried on.
        assert_eq!(remaining(Duration::ZERO, s(10), 100, 400), Some(s(30)));
        assert_eq!(eta_text(s(30)), "ETA 30 s");
        // Slower than the schedule (a slow server): the pace wins.
        assert_eq!(remaining(s(60), s(50), 10, 100), Some(s(450)));
        // Nothing known yet, or nothing left.
        assert_eq!(remaining(Duration::ZERO, s(1), 0, 10), None);
        assert_eq!(remaining(s(60), s(1), 0, 10), Some(s(59)));
        assert_eq!(remaining(s(60), s(70), 10, 10), None);
    }

    /// A terminal that keeps what is written to it, for the tests to read.
    #[derive(Debug, Clone, Default)]
    struct Screen(std::sync::Arc<Mutex<String>>);

    impl Screen {
        fn target(&self) -> ProgressDrawTarget {
            ProgressDrawTarget::term_like(Box::new(self.clone()))
        }

        fn text(&self) -> String {
            self.0.lock().unwrap().clone()
        }

        fn write(&self, text: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(text);
            Ok(())
        }
    }

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.write(&format!("{line}\n"))
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            self.write(text)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.write("\r")
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_progress_line_counts_what_is_done_delivered_and_failed() {
        let screen = Screen::default();
        let progress = Progress::drawn_on(3, true, screen.target());
        progress.count(true);
        progress.count(false);
        progress.bar.tick();
        let text = screen.text();
        assert!(
            text.contains("2/3 done · 1 delivered · 1 failed"),
            "{text:?}"
        );
        progress.finish();
    }

    #[test]
    fn during_a_backoff_the_eta_is_at_least_the_wait_already_decided() {
        let progress = Progress::drawn_on(2, false, ProgressDrawTarget::hidden());
        progress.count(true);
        progress.backing_off(Duration::from_secs(3));
        let eta = progress.eta().unwrap();
        assert!(eta == "ETA 3 s" || eta == "ETA 2 s", "{eta}");
    }

    #[test]
    fn after_a_stop_unsent_targets_are_not_done_and_no_eta_is_told() {
        let progress = Progress::drawn_on(30, false, ProgressDrawTarget::hidden());
        progress.count(true);
        assert!(progress.eta().is_some());
        progress.not_sent();
        assert_eq!(progress.done.load(Ordering::Relaxed), 1);
        assert_eq!(progress.eta(), None);
    }

    #[test]
    fn a_bar_that_is_not_wanted_draws_nothing_even_on_a_terminal() {
        let screen = Screen::default();
        let progress = Progress::drawn_on(3, false, screen.target());
        progress.count(true);
        progress.count(false);
        progress.bar.tick();
        progress.finish();
        assert_eq!(screen.text(), "", "nothing is drawn");
    }
}
