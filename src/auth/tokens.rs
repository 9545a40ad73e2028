//! Installation tokens on demand: minted at send time, one request per installation however
//! many targets ask at once, reused until shortly before they expire.

use super::api::{self, Endpoint, Minted};
use super::error::{Request, Step};
use super::slot::Slot;
use super::{AppCredentials, AuthError};
use crate::config::Repo;
use crate::secret::Secret;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// A cached token is minted again once it has less than this left, so a request that takes
/// it never races its expiry.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a token whose `expires_at` could not be read is trusted (GitHub's are good for 1 h).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// One target that authenticates as a GitHub App.
#[derive(Debug, Clone)]
pub struct AppTarget {
    pub repository: Repo,
    /// GitHub's API base URL, e.g. `https://api.github.com` (a trailing `/` is ignored).
    pub api_url: String,
    /// `X-GitHub-Api-Version`.
    pub api_version: String,
    /// For each request to GitHub.
    pub timeout: Duration,
    pub app: AppCredentials,
    /// When `None`, it is looked up from the repository.
    pub installation_id: Option<u64>,
}

/// The current time; injectable so tests are deterministic.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl Clock {
    pub fn system() -> Clock {
        Clock(Arc::new(SystemTime::now))
    }

    pub fn new(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// Hears every token as soon as it is minted, before it is stored or returned: under GitHub
/// Actions it tells the runner to mask it in the log.
#[derive(Clone)]
pub struct Mask(Arc<dyn Fn(&str) + Send + Sync>);

impl Mask {
    pub fn new(hear: impl Fn(&str) + Send + Sync + 'static) -> Mask {
        Mask(Arc::new(hear))
    }

    pub fn none() -> Mask {
        Mask::new(|_| {})
    }
}

impl fmt::Debug for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mask")
    }
}

/// Installation tokens for every target that authenticates as an App. Share it (e.g. in an
/// `Arc`) between all the requests of a run: the cache is what makes one token request per
/// installation.
pub struct AppTokens {
    client: reqwest::Client,
    clock: Clock,
    mask: Mask,
    targets: HashMap<Repo, Registered>,
    tokens: Mutex<HashMap<TokenKey, Arc<Slot<Token>>>>,
}

struct Registered {
    target: AppTarget,
    api_url: String,
    /// The looked-up installation id, when none is configured.
    installation: Slot<u64>,
}

/// A token is shared by the targets of one App, installation and owner: an installation
/// belongs to one account, so the owner splits only a misconfigured `installation_id` off.
#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    api_url: String,
    app_id: String,
    installation: u64,
    owner: String,
}

#[derive(Clone)]
struct Token {
    secret: Secret,
    expires_at: SystemTime,
    repositories: BTreeSet<String>,
}

impl AppTokens {
    /// Registers every App target of the run up front: a token is narrowed to the registered
    /// repositories of its installation. A repository registered twice must have the same
    /// settings. Uses the system clock and masks nothing (see [`AppTokens::with_mask`]).
    pub fn new(
        client: reqwest::Client,
        targets: impl IntoIterator<Item = AppTarget>,
    ) -> Result<AppTokens, AuthError> {
        let mut registered: HashMap<Repo, Registered> = HashMap::new();
        for target in targets {
            let api_url = target.api_url.trim_end_matches('/').to_owned();
            if let Some(existing) = registered.get(&target.repository) {
                let same = existing.api_url == api_url
                    && existing.target.app.app_id() == target.app.app_id()
                    && existing.target.installation_id == target.installation_id;
                if !same {
                    return Err(AuthError::Conflict {
                        repository: target.repository.to_string(),
                    });
                }
                continue;
            }
            registered.insert(
                target.repository.clone(),
                Registered {
                    target,
                    api_url,
                    installation: Slot::new(),
                },
            );
        }
        Ok(AppTokens {
            client,
            clock: Clock::system(),
            mask: Mask::none(),
            targets: registered,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn with_clock(mut self, clock: Clock) -> AppTokens {
        self.clock = clock;
        self
    }

    pub fn with_mask(mut self, mask: Mask) -> AppTokens {
        self.mask = mask;
        self
    }

    /// An installation token that can act on `repo`: the cached one while it has more than
    /// [`REFRESH_MARGIN`] left, else a new one. Concurrent callers for one installation share
    /// one token request.
    pub async fn token_for(&self, repo: &Repo) -> Result<Secret, AuthError> {
        let entry = self
            .targets
            .get(repo)
            .ok_or_else(|| AuthError::NotRegistered {
                repository: repo.to_string(),
            })?;
        let installation = self.installation_of(entry).await?;
        let names = self.names_in(entry, installation).await;
        let key = TokenKey {
            api_url: entry.api_url.clone(),
            app_id: entry.target.app.app_id().to_owned(),
            installation,
            owner: repo.owner.clone(),
        };
        let slot = Arc::clone(
            self.tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_insert_with(|| Arc::new(Slot::new())),
        );
        let accept = |token: &Token, just_minted: bool| {
            let left = token
                .expires_at
                .duration_since(self.clock.now())
                .unwrap_or_default();
            let enough = if just_minted {
                !left.is_zero()
            } else {
                left > REFRESH_MARGIN
            };
            enough && token.repositories.contains(&repo.name)
        };
        let token = slot
            .get(accept, || self.mint(entry, installation, names))
            .await?;
        Ok(token.secret)
    }

    async fn installation_of(&self, entry: &Registered) -> Result<u64, AuthError> {
        if let Some(id) = entry.target.installation_id {
            return Ok(id);
        }
        entry
            .installation
            .get(|_, _| true, || self.look_up(entry))
            .await
    }

    /// The names of the registered repositories of `entry`'s owner in `installation`, looking
    /// up the installation of each that has none configured.
    async fn names_in(&self, entry: &Registered, installation: u64) -> BTreeSet<String> {
        let app_id = entry.target.app.app_id();
        let siblings = self.targets.values().filter(|other| {
            other.api_url == entry.api_url
                && other.target.app.app_id() == app_id
                && other.target.repository.owner == entry.target.repository.owner
        });
        let found = futures::future::join_all(siblings.map(|other| async move {
            let id = self.installation_of(other).await.ok()?;
            (id == installation).then(|| other.target.repository.name.clone())
        }))
        .await;
        let mut names: BTreeSet<String> = found.into_iter().flatten().collect();
        names.insert(entry.target.repository.name.clone());
        names
    }

    fn endpoint<'a>(&'a self, entry: &'a Registered) -> Endpoint<'a> {
        Endpoint {
            client: &self.client,
            api_url: &entry.api_url,
            api_version: &entry.target.api_version,
            timeout: entry.target.timeout,
            now: self.clock.now(),
        }
    }

    async fn look_up(&self, entry: &Registered) -> Result<u64, AuthError> {
        let app = &entry.target.app;
        let jwt = app.jwt(self.clock.now())?;
        let request = Request {
            step: Step::InstallationLookup,
            app_id: app.app_id(),
            repository: &entry.target.repository,
            installation: None,
            repositories: &[],
        };
        api::installation_id(&self.endpoint(entry), &jwt, &request)
            .await
            .map_err(|failure| api_error(&request, failure))
    }

    async fn mint(
        &self,
        entry: &Registered,
        installation: u64,
        names: BTreeSet<String>,
    ) -> Result<Token, AuthError> {
        let app = &entry.target.app;
        let jwt = app.jwt(self.clock.now())?;
        let repositories: Vec<String> = names.iter().cloned().collect();
        let request = Request {
            step: Step::TokenRequest,
            app_id: app.app_id(),
            repository: &entry.target.repository,
            installation: Some(installation),
            repositories: &repositories,
        };
        let Minted { token, expires_at } =
            api::create_token(&self.endpoint(entry), &jwt, installation, &request)
                .await
                .map_err(|failure| api_error(&request, failure))?;
        (self.mask.0)(token.expose());
        let expires_at = expires_at.unwrap_or_else(|| {
            tracing::warn!("GitHub's installation token has an unreadable expires_at; it will be renewed in a few minutes");
            self.clock.now() + ASSUMED_LIFETIME
        });
        tracing::debug!(
            installation,
            repositories = ?repositories,
            "minted a GitHub App installation token"
        );
        Ok(Token {
            secret: token,
            expires_at,
            repositories: names,
        })
    }
}

impl fmt::Debug for AppTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut repositories: Vec<String> = self.targets.keys().map(Repo::to_string).collect();
        repositories.sort();
        f.debug_struct("AppTokens")
            .field("repositories", &repositories)
            .finish_non_exhaustive()
    }
}

fn api_error(request: &Request<'_>, failure: crate::github::classify::Failure) -> AuthError {
    AuthError::Api {
        app_id: request.app_id.to_owned(),
        step: request.step,
        repository: request.repository.to_string(),
        failure: Box::new(failure),
    }
}
