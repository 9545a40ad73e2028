//! A cached value that many tasks may ask for at once, fetched by one of them while the rest
//! wait for its result (no stampede).

use super::AuthError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

pub(super) struct Slot<T> {
    state: Mutex<State<T>>,
    /// Fetches finished so far: a caller that sees it change while it waited shares the
    /// result of that fetch instead of starting another.
    settled: AtomicU64,
}

struct State<T> {
    value: Option<T>,
    /// The failure of the latest fetch; cleared by a success.
    failure: Option<AuthError>,
}

impl<T: Clone> Slot<T> {
    pub(super) fn new() -> Slot<T> {
        Slot {
            state: Mutex::new(State {
                value: None,
                failure: None,
            }),
            settled: AtomicU64::new(0),
        }
    }

    /// The cached value if `accept` takes it, else the result of `fetch`, which runs while
    /// every other caller waits. `accept`'s second argument is true when the value was
    /// fetched while this caller waited (a caller may then take a value it would not reuse
    /// later). A permanent failure is kept and returned from then on; a transient one is
    /// shared with the callers that waited for it, and the next caller fetches again.
    pub(super) async fn get<F, Fut>(
        &self,
        accept: impl Fn(&T, bool) -> bool,
        fetch: F,
    ) -> Result<T, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AuthError>>,
    {
        let arrived = self.settled.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        let waited = self.settled.load(Ordering::Acquire) != arrived;
        if let Some(value) = &state.value {
            if accept(value, waited) {
                return Ok(value.clone());
            }
        }
        if let Some(failure) = &state.failure {
            if waited || !failure.is_transient() {
                return Err(failure.clone());
            }
        }
        let result = fetch().await;
        match &result {
            Ok(value) => {
                state.value = Some(value.clone());
                state.failure = None;
            }
            Err(failure) => state.failure = Some(failure.clone()),
        }
        self.settled.fetch_add(1, Ordering::Release);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::classify::{Failure, Retry};
    use std::sync::atomic::AtomicUsize;

    fn failure(retry: Retry) -> AuthError {
        AuthError::Api {
            app_id: "1".to_owned(),
            step: super::super::Step::TokenRequest,
            repository: "o/r".to_owned(),
            failure: Box::new(Failure {
                http_status: Some(500),
                reason: "boom".to_owned(),
                hint: None,
                retry,
            }),
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let slot = Slot::new();
        let fetches = AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<u32, AuthError>(7)
        };
        let results =
            futures::future::join_all((0..10).map(|_| slot.get(|_, _| true, fetch))).await;
        assert!(results.iter().all(|r| r == &Ok(7)));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_transient_failure_is_shared_by_waiters_then_retried() {
        let slot: Slot<u32> = Slot::new();
        let fetches = AtomicUsize::new(0);
        let failing = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Err(failure(Retry::Later { after: None }))
        };
        let results =
            futures::future::join_all((0..5).map(|_| slot.get(|_, _| true, failing))).await;
        assert!(results.iter().all(Result::is_err));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let later = slot.get(|_, _| true, || async { Ok(3) }).await;
        assert_eq!(later, Ok(3));
    }

    #[tokio::test]
    async fn a_permanent_failure_is_kept() {
        let slot: Slot<u32> = Slot::new();
        let first = slot
            .get(|_, _| true, || async { Err(failure(Retry::Never)) })
            .await;
        let second = slot.get(|_, _| true, || async { Ok(3) }).await;
        assert!(first.is_err());
        assert_eq!(second, first);
    }

    #[tokio::test]
    async fn a_value_accept_turns_down_is_fetched_again() {
        let slot = Slot::new();
        assert_eq!(slot.get(|_, _| false, || async { Ok(1) }).await, Ok(1));
        assert_eq!(slot.get(|v, _| *v > 1, || async { Ok(2) }).await, Ok(2));
        assert_eq!(slot.get(|v, _| *v > 1, || async { Ok(3) }).await, Ok(2));
    }
}
