//! The command line: one `Args` struct per subcommand.

use crate::config::model::for_each_setting;
use crate::config::model::Settings;
use crate::config::seconds::Seconds;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `orchestrator --version`: the crate's version, and the commit it was built from when known
/// (see build.rs), e.g. `orchestrator 0.1.0 (0c691ff1a2b3)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    env!("ORCHESTRATOR_VERSION_SUFFIX")
);

/// The heading of the options every subcommand takes (`-v`, `-q`), shown after its own.
const GLOBAL_OPTIONS: &str = "Global options";
/// The heading of the delivery settings' flags.
const DELIVERY_SETTINGS: &str = "Delivery settings";

#[derive(Debug, Parser)]
#[command(
    name = "orchestrator",
    version = VERSION,
    about = "Turn one release into every downstream dispatch it should cause",
    long_about = "Reads dispatch.yaml, renders the request of every target the released \
source feeds (a repository_dispatch event, a workflow_dispatch or a webhook), sends them \
concurrently and reports each one: delivered, failed (with why) or skipped (with why).\n\n\
Exit codes: 0 all delivered, 1 a target failed (or validate found errors), 2 a configuration \
or usage error (nothing was sent), 130 interrupted by Ctrl-C or SIGTERM.",
    after_help = "Examples:\n  orchestrator run --source dot-ai --version 1.2.3 --dry-run\n  \
WEBSITE_DISPATCH_TOKEN=... orchestrator run --source dot-ai --version \"$VERSION\"\n  \
orchestrator validate --config dispatch.yaml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log detail on stderr (-v: each request, -vv: everything of ours, -vvv: the HTTP stack too).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true, help_heading = GLOBAL_OPTIONS)]
    pub verbose: u8,
    /// Less log detail: only errors.
    #[arg(long, short = 'q', action = clap::ArgAction::Count, global = true, help_heading = GLOBAL_OPTIONS)]
    pub quiet: u8,
}

impl Cli {
    pub fn verbosity(&self) -> i8 {
        self.verbose.min(10) as i8 - self.quiet.min(10) as i8
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render and send the dispatches for one release of one source.
    Run(Box<RunArgs>),
    /// Show what a change to dispatch.yaml changes in what releases send, against a git
    /// revision: targets added, removed or renamed, settings, conditions and request bodies.
    Diff(Box<DiffArgs>),
    /// Check dispatch.yaml without sending anything: structure, references, templates, limits.
    Validate(Box<ValidateArgs>),
    /// Before release day: check, read-only, that every target would start what it should
    /// (access, the workflow listening or taking the inputs, the token's expiry).
    Check(Box<CheckArgs>),
    /// Print the workflow the receiving repository of TARGET needs.
    Receiver(ReceiverArgs),
    /// Print the JSON Schema of dispatch.yaml.
    Schema,
    /// Write a commented starter dispatch.yaml (and its schema, for editors) that validates as
    /// written.
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish).
    Completions(CompletionsArgs),
    /// Print the manual page as roff (`orchestrator man > orchestrator.1`), or with --dir write
    /// one page per subcommand (`orchestrator-run.1`, ...).
    Man(ManArgs),
    /// Post a Markdown report (`run --dry-run --output markdown`, `diff --output markdown`) as
    /// a pull request's comment, updating the one posted before instead of adding another.
    Comment(CommentArgs),
    /// Split a release's fan-out into shards by identity, for a GitHub Actions matrix of
    /// `run --shard I/N` jobs.
    Plan(Box<PlanArgs>),
    /// Work with JSON reports: `report merge` the reports of a sharded run.
    Report(ReportArgs),
}

/// Which command's report a comment holds: each has a comment of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportOf {
    Run,
    Diff,
    Check,
    Validate,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The token is read from GITHUB_TOKEN and needs `pull-requests: write` (in a \
workflow: `permissions: { pull-requests: write }` and `env: GITHUB_TOKEN: ${{ github.token }}`). \
Our comment starts with a hidden line, `<!-- orchestrator:CONFIG:COMMAND -->`, and is updated \
only when github-actions[bot] (or an --author) wrote it. A report longer than GitHub's 65,536 \
characters is cut at a line, with a note.\n\n\
Exit codes: 0 posted or updated, 1 GitHub refused or the comments could not be read whole \
(nothing was posted), 2 a usage error.\n\nExamples:\n  \
orchestrator diff --output markdown > diff.md\n  \
orchestrator comment --pr 42 --for diff --file diff.md"
)]
pub struct CommentArgs {
    /// The pull request's number.
    #[arg(long, value_name = "NUMBER", value_parser = clap::value_parser!(u64).range(1..))]
    pub pr: u64,
    /// The Markdown report to post.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// The command whose report this is: each command's report has its own comment.
    #[arg(
        long = "for",
        value_enum,
        value_name = "COMMAND",
        default_value = "run"
    )]
    pub report_of: ReportOf,
    /// The repository of the pull request. Default: $GITHUB_REPOSITORY.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Also take comments by LOGIN (the user of a personal token) as ours; those by
    /// github-actions[bot] always are. Repeatable.
    #[arg(long, value_name = "LOGIN")]
    pub author: Vec<String>,
    /// GitHub's API. Default: $GITHUB_API_URL, else https://api.github.com.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    /// The configuration file the report is of (it names the comment, so two files have two).
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 written, 2 the file exists already (nothing is overwritten) or \
the values given are not valid.\n\nExamples:\n  orchestrator init\n  \
orchestrator init --source-repo acme/api --target-repo acme/website --event-type api-release\n  \
orchestrator init --config .github/dispatch.yaml"
)]
pub struct InitArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The upstream repository that makes releases (default: the one the `origin` remote
    /// names, else a your-org/your-app placeholder).
    #[arg(long, value_name = "OWNER/NAME")]
    pub source_repo: Option<String>,
    /// A downstream repository that receives the event, one target each; repeatable
    /// (default: a placeholder).
    #[arg(long, value_name = "OWNER/NAME")]
    pub target_repo: Vec<String>,
    /// The repository_dispatch event type the target listens for. Default `upstream-release`.
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestrator completions bash > ~/.local/share/bash-completion/completions/orchestrator\n  \
orchestrator completions zsh > \"${fpath[1]}/_orchestrator\"\n  \
orchestrator completions fish > ~/.config/fish/completions/orchestrator.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestrator man > orchestrator.1 && man ./orchestrator.1\n  \
orchestrator man --dir ~/.local/share/man/man1 && man orchestrator-run"
)]
pub struct ManArgs {
    /// Write `orchestrator.1` and one page per subcommand (`orchestrator-run.1`, ...) into DIR
    /// (created if missing; pages there are replaced) instead of printing one page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
    /// GitHub-flavoured Markdown tables, for a pull-request comment or a job summary.
    Markdown,
}

/// `run`'s report formats: every command's, and a compact table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RunOutput {
    /// Each planned target in full (its request and body) up to 5 targets, one line per
    /// target beyond that.
    #[default]
    Text,
    Json,
    /// GitHub-flavoured Markdown tables, for a pull-request comment or a job summary.
    Markdown,
    /// One line per planned target, however few: no request bodies.
    Table,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "dispatch.yaml"
    )]
    pub config: PathBuf,
}

/// `SettingsArgs`, one flag per declared setting.
macro_rules! settings_args {
    ($({
        key: $key:ident, env: $_e:tt, flag: $flag:literal, type: $ty:ty, parse: [$($parse:path)?],
        range: $_r:tt, default: $_d:tt, per_target: $_t:tt, file: $_f:tt, target: $_g:tt,
        cli: { $(#[$cli:meta])* },
    })*) => {
        /// Delivery settings; each overrides the file's `defaults` and `ORCHESTRATOR_*` variables.
        #[derive(Debug, Args, Default)]
        pub struct SettingsArgs {
            $(
                $(#[$cli])*
                #[arg(long = $flag)]
                $(#[arg(value_parser = $parse)])?
                pub $key: Option<$ty>,
            )*
        }

        impl SettingsArgs {
            /// The clap ids of the settings' flags.
            const IDS: &[&str] = &[$(stringify!($key)),*];

            pub fn to_settings(&self) -> Settings {
                Settings {
                    $($key: self.$key.clone(),)*
                    github_app: None,
                }
            }
        }
    };
}
for_each_setting!(settings_args!);

// `run --help` in groups, as cargo and uv group theirs: what to send first (no heading), then
// how it is shown, how a run is recovered, waiting for workflow runs, and `when.changed`.
const OUTPUT: &str = "Output";
const RECOVERY: &str = "Recovery";
const WAITING: &str = "Waiting for workflow runs";
const CHANGES: &str = "when.changed";

#[derive(Debug, Args)]
#[command(
    override_usage = "orchestrator run [OPTIONS] --source <SOURCE> --version <VERSION>\n       \
orchestrator run [OPTIONS] --resume <FILE> | --retry-failed <REPORT>",
    after_help = "Examples:\n  orchestrator run --source dot-ai --version 1.2.3 --dry-run\n  \
orchestrator run --source \"$GITHUB_REPOSITORY\" --version \"$GITHUB_REF_NAME\" --output json\n  \
orchestrator run --source dot-ai --version 1.2.3 --set channel=stable"
)]
pub struct RunArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Print what would be sent, and send nothing. Needs no token and no network.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub chosen: ChosenArgs,
    /// Report format.
    #[arg(long, value_enum, default_value_t, help_heading = OUTPUT)]
    pub output: RunOutput,
    /// A dry run's text report shows every planned target's request and body, however many
    /// (by default only up to 5 targets; beyond that, one line per target).
    #[arg(long, help_heading = OUTPUT)]
    pub bodies: bool,
    /// Also write the JSON report to FILE (for `--retry-failed`, or to keep as an artifact).
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub report: Option<PathBuf>,
    /// Record every send and outcome to FILE as JSON lines, flushed as they happen, so an
    /// interrupted run can be resumed. Appends when FILE exists. One run at a time: a run on a
    /// journal another run holds stops with exit 2 and sends nothing.
    #[arg(long, value_name = "FILE", help_heading = RECOVERY)]
    pub journal: Option<PathBuf>,
    /// Send only what the journal FILE does not record as delivered (and keep journaling to it
    /// unless --journal names another file).
    #[arg(long, value_name = "FILE", conflicts_with = "retry_failed", help_heading = RECOVERY)]
    pub resume: Option<PathBuf>,
    /// Send only the targets that a JSON report (from --report or --output json) lists as
    /// failed or not sent.
    #[arg(long, value_name = "REPORT", help_heading = RECOVERY)]
    pub retry_failed: Option<PathBuf>,
    #[command(flatten)]
    pub changes: ChangesArgs,
    /// After sending, wait for the workflow runs the dispatches started and report their
    /// conclusions: every workflow_dispatch target's, and every tracked (`track: true`)
    /// repository_dispatch target's, not only those with `wait: true`.
    #[arg(long, help_heading = WAITING)]
    pub wait: bool,
    /// Give up waiting for runs after this many seconds (or a duration: `500ms`, `2m`). Default
    /// 1800.
    #[arg(long, value_name = "SECS", value_parser = parse_wait_timeout, help_heading = WAITING)]
    pub wait_timeout: Option<std::time::Duration>,
    /// Report runs that did not succeed, but do not fail the command for them.
    #[arg(long, help_heading = WAITING)]
    pub ignore_run_failures: bool,
    /// Milliseconds between the first polls of a waited-for run; the pause grows by half each
    /// time, up to 30 s. Default 5000.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..=600_000), help_heading = WAITING)]
    pub poll_interval_ms: Option<u64>,
    /// Give up on a followed run still queued (no runner took it) after this many seconds (or a
    /// duration: `500ms`, `10m`), apart from --wait-timeout for the whole wait: it fails as
    /// "queued too long". Default: only --wait-timeout.
    #[arg(long, value_name = "SECS", value_parser = parse_wait_timeout, help_heading = WAITING)]
    pub queue_timeout: Option<std::time::Duration>,
    /// Colour the outcome words of the text report: `auto` (on a terminal, unless NO_COLOR is
    /// set), `always` or `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t, help_heading = OUTPUT)]
    pub color: crate::style::ColorChoice,
    /// No live progress line on stderr (it is only drawn on a terminal, never in CI).
    #[arg(long, help_heading = OUTPUT)]
    pub no_progress: bool,
    /// Stop sending after this long (e.g. `5h30m`, `90m`, `45s`, `500ms`), counted from the first
    /// request: no new request starts, those in flight finish, the rest are `not_sent` and
    /// the exit code is 130, as for an interruption. With `--journal`, a later
    /// `--resume JOURNAL` sends the rest (see the README's hand-over between jobs).
    #[arg(long, value_name = "DURATION", value_parser = parse_max_duration, help_heading = RECOVERY)]
    pub max_duration: Option<std::time::Duration>,
    /// Warn (and annotate under Actions) when GitHub says a token expires within this many
    /// days.
    #[arg(long, value_name = "DAYS", default_value_t = 14, value_parser = clap::value_parser!(u64).range(0..=3650))]
    pub expiry_warning_days: u64,
    /// Send only shard I of N (`orchestrator plan --shards N` prints the matrix): the targets of
    /// the identities (token variables, App installations) that shard holds, split again here
    /// as `plan` splits them. The report records the shard for `orchestrator report merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, help_heading = SHARDS)]
    pub shard: Option<crate::plan::ShardOf>,
    /// The split's fingerprint from the plan job's matrix (`${{ matrix.fingerprint }}`): the run
    /// refuses, before sending anything, when it splits the plan another way (the configuration
    /// or the `--set` values changed since the plan job, or another orchestrator release).
    #[arg(long, value_name = "FINGERPRINT", value_parser = parse_shard_fingerprint, requires = "shard", help_heading = SHARDS)]
    pub shard_fingerprint: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten, next_help_heading = DELIVERY_SETTINGS)]
    pub settings: SettingsArgs,
}

// Sharding: the release and `when.changed` flags `run` and `plan` share, `plan`, and
// `report merge`.
const SHARDS: &str = "Sharding across jobs";

/// The release to plan: `run`'s and `plan`'s.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The source that was released: its name in dispatch.yaml, or its repository (owner/name).
    /// With --resume or --retry-failed, default: the one the file records.
    #[arg(long, short = 's', required_unless_present_any = ["resume", "retry_failed"])]
    pub source: Option<String>,
    /// The released version, e.g. 1.2.3, v1.2.3 or refs/tags/v1.2.3 (read as the tag v1.2.3; a
    /// leading `v` is dropped for {{version}}). With --resume or --retry-failed, default: the
    /// one the file records.
    #[arg(
        long = "version",
        value_name = "VERSION",
        required_unless_present_any = ["resume", "retry_failed"]
    )]
    pub release_version: Option<String>,
}

/// The targets and template values to plan with: `run`'s and `plan`'s.
#[derive(Debug, Args)]
pub struct ChosenArgs {
    /// Send only to this target of the source (its name in dispatch.yaml), with everything
    /// else as a full run would do it. Repeatable. Default: every target the source feeds.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// A value for templates, used as {{vars.KEY}}. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Where `when.changed` reads the files a release changed.
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// For `when.changed`: the previous release to compare with (a version, tag or commit).
    /// Default: the highest semver tag below this version in the checkout.
    #[arg(long, value_name = "REF", help_heading = CHANGES)]
    pub previous_version: Option<String>,
    /// For `when.changed`: the checkout of the source repository.
    #[arg(long, value_name = "DIR", default_value = ".", help_heading = CHANGES)]
    pub repo_dir: PathBuf,
}

/// `plan`'s formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanOutput {
    /// A table: each shard, its identities, targets and requests.
    #[default]
    Text,
    /// The JSON for a workflow's `strategy.matrix` (`fromJSON`), one line.
    Matrix,
}

#[derive(Debug, Args)]
#[command(
    override_usage = "orchestrator plan [OPTIONS] --source <SOURCE> --version <VERSION> --shards <N>",
    after_help = "Every identity (a token variable, or a GitHub App installation) is in exactly one shard, so each shard paces its identities alone; shards are balanced by requests and are the same for the same configuration and release. Under GitHub Actions the matrix is also written as the step output `matrix`.\n\nExit codes: 0 planned, 2 a configuration or usage error.\n\n\
Examples:\n  orchestrator plan --source dot-ai --version 1.2.3 --shards 4\n  \
orchestrator plan --source dot-ai --version \"$VERSION\" --shards 8 --output matrix",
    mut_args = plan_args
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    #[command(flatten)]
    pub chosen: ChosenArgs,
    /// How many jobs to split the fan-out across (at most the identities it uses; at most 256,
    /// GitHub's matrix limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub shards: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: PlanOutput,
    #[command(flatten)]
    pub changes: ChangesArgs,
    #[command(flatten)]
    pub config: ConfigArg,
    /// Taken as `run` takes them, so a configuration that needs one still loads; the split
    /// does not depend on them: hidden from `plan --help`.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the JSON reports of a sharded run (`run --shard I/N --report FILE`) into the
    /// report, job summary, step outputs and exit code of one run over every target.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Refuses reports of different releases or configurations, a shard given twice \
or a target in two reports, and names each shard no report is given for.\n\n\
Exit codes: as one run over every target: 0 all delivered, 1 a target failed, 130 a shard was \
interrupted or stopped at --max-duration; 2 the reports cannot be merged.\n\n\
Examples:\n  orchestrator report merge reports/*.json\n  \
orchestrator report merge --output markdown shard-1.json shard-2.json"
)]
pub struct MergeArgs {
    /// The JSON reports, one per shard.
    #[arg(value_name = "FILE", required = true, num_args = 1..=256)]
    pub files: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub output: RunOutput,
    /// Also write the merged JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Report runs that did not succeed, but do not fail the command for them (as `run`).
    #[arg(long)]
    pub ignore_run_failures: bool,
    /// Colour the outcome words of the text report: `auto`, `always` or `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t)]
    pub color: crate::style::ColorChoice,
}

/// `plan`'s flags from `run`'s groups: `--source` and `--version` always needed (it reads no
/// journal or report), and the delivery settings, which change nothing in a split, hidden.
fn plan_args(arg: clap::Arg) -> clap::Arg {
    let help = match arg.get_id().as_str() {
        "source" => {
            "The source that was released: its name in dispatch.yaml, or its repository \
(owner/name)"
        }
        "release_version" => {
            "The released version, e.g. 1.2.3, v1.2.3 or refs/tags/v1.2.3 (read \
as the tag v1.2.3), as `run` will be given it"
        }
        _ => return hide_delivery_settings(arg),
    };
    arg.required_unless_present(clap::builder::Resettable::<clap::Id>::Reset)
        .required(true)
        .help(help)
        .long_help(None::<&str>)
}

fn parse_shard(text: &str) -> Result<crate::plan::ShardOf, String> {
    crate::plan::ShardOf::parse(text)
}

fn parse_shard_fingerprint(text: &str) -> Result<String, String> {
    crate::plan::parse_fingerprint(text)
}

#[derive(Debug, Args)]
#[command(
    after_help = "Needs no token and no network: both sides are planned for sample releases \
without reading any variable (tokens and url_env URLs show as their variable's name).\n\n\
Exit codes: 0 compared (whether or not anything changed), 1 something changed and --exit-code \
was given, 2 either side is not valid, or the base cannot be read.\n\n\
Under GitHub Actions (GITHUB_ACTIONS=true) the Markdown diff is also appended to the job \
summary.\n\nExamples:\n  orchestrator diff\n  \
orchestrator diff --base origin/main --output markdown\n  \
orchestrator diff --base \"origin/$GITHUB_BASE_REF\" --exit-code",
    mut_args = hide_delivery_settings
)]
pub struct DiffArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The git revision to compare with: a branch, tag or commit (the same --config path is
    /// read there). Default: origin/HEAD, else main, else origin/main.
    #[arg(long, value_name = "REF")]
    pub base: Option<String>,
    /// The sample version both sides are planned for (a pre-release after it is planned too
    /// when a target has a `when.prerelease` or `when.version` condition).
    #[arg(long = "version", value_name = "VERSION", default_value = "1.2.3")]
    pub sample_version: String,
    /// A sample value for templates that use {{vars.KEY}}, as `run --set` would pass. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Output format: text, Markdown (a collapsible section per source, for a pull-request
    /// comment) or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// Exit 1 when anything releases send has changed, like `git diff --exit-code`.
    #[arg(long)]
    pub exit_code: bool,
    /// Colour the text diff: `auto` (on a terminal, unless NO_COLOR is set), `always` or
    /// `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t)]
    pub color: crate::style::ColorChoice,
    /// Taken as `run` would take them, on both sides alike, so they change nothing compared:
    /// hidden from `diff --help`.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Read-only: only GET requests, with each target's own token (an App's minted). Webhooks are not checked (that would call them).\n\nExit codes: 0 every checkable target is ready, 1 a target is not ready or cannot be told (a token lacks a read permission), or a token has expired, 2 a configuration or usage error.\n\nExamples:\n  orchestrator check\n  orchestrator check --source dot-ai --output markdown\n  orchestrator check --expiry-warning-days 30 --output json"
)]
pub struct CheckArgs {
    /// Check only the targets of this source (its name, or its repository). Default: all.
    #[arg(long, short = 's')]
    pub source: Option<String>,
    /// Check only this target (its name in dispatch.yaml). Repeatable. Default: all.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// The sample version templates are rendered with (workflow_dispatch inputs are checked
    /// as rendered).
    #[arg(long = "version", value_name = "VERSION", default_value = "1.2.3")]
    pub sample_version: String,
    /// A value for templates that use {{vars.KEY}}, as `run --set` would pass. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Warn when a token expires within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 14, value_parser = clap::value_parser!(u64).range(0..=3650))]
    pub expiry_warning_days: u64,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten, next_help_heading = DELIVERY_SETTINGS)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  orchestrator receiver dot-ai-website > upstream-release.yml\n  orchestrator receiver dot-ai-cli --config dispatch.yaml"
)]
pub struct ReceiverArgs {
    /// The target (its name in dispatch.yaml).
    pub target: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 valid (warnings allowed), 1 invalid (or warnings with --strict), \
2 the file cannot be read (missing, a directory, or larger than 8 MiB).\n\n\
Under GitHub Actions (GITHUB_ACTIONS=true) each problem is also printed to stderr as a workflow \
command, so it shows on the pull request's diff.\n\nExamples:\n  orchestrator validate --strict\n  \
orchestrator validate --config dispatch.yaml --output json\n  \
orchestrator validate --version 2.0.0-rc.1 --set channel=beta"
)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The sample version templates are rendered with.
    #[arg(long = "version", value_name = "VERSION", default_value = "1.2.3")]
    pub sample_version: String,
    /// A sample value for templates that use {{vars.KEY}}, as `run --set` would pass. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Report format: text, JSON (every problem in a list) or Markdown.
    #[arg(long, value_enum, default_value_t)]
    pub output: Output,
    /// Checked as `run` would read them (validate sends nothing).
    #[command(flatten, next_help_heading = "Delivery settings (only checked)")]
    pub settings: SettingsArgs,
}

/// Hides a delivery setting's flag (where it is accepted but changes nothing to show).
fn hide_delivery_settings(arg: clap::Arg) -> clap::Arg {
    let setting = SettingsArgs::IDS.contains(&arg.get_id().as_str());
    arg.hide(setting)
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(format!(
            "`{key}` is not a usable key (letters, digits and `_`)"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_max_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::policy::parse_duration(text)
}

/// Whole seconds as the flag always took them (clap's own words for a number out of range),
/// or a duration with a unit, up to a day.
fn parse_wait_timeout(text: &str) -> Result<std::time::Duration, String> {
    const MOST: std::time::Duration = std::time::Duration::from_secs(86400);
    let wait = crate::policy::parse_seconds_or_duration(text)?;
    if wait.is_zero() || wait > MOST {
        return Err(format!("{} is not in 1..=86400", text.trim()));
    }
    Ok(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_wait_timeout_is_whole_seconds_or_a_duration_up_to_a_day() {
        use std::time::Duration;
        assert_eq!(parse_wait_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait_timeout("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_wait_timeout("0"), Err("0 is not in 1..=86400".into()));
        assert!(parse_wait_timeout("86401").is_err());
        assert!(parse_wait_timeout("25h").is_err());
    }

    #[test]
    fn parses_set_values() {
        assert_eq!(parse_var("a_b=x=y"), Ok(("a_b".into(), "x=y".into())));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("a.b=1").is_err());
    }
}
