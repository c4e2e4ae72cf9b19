//! `prikke`: Prikke's command line. Jobs, executions, monitors, schedule previews and jobs as
//! code (`prikke sync jobs.toml`), over the REST API only. Tables for people, `--json` for
//! scripts, documented exit codes for CI.

mod client;
mod commands;
mod credentials;
mod files;
mod sync;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use client::{Client, Failure, exit};

/// The public API (the edge forwards `/api/*` to api-fn).
pub const DEFAULT_API_URL: &str = "https://prikke.eu";

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the API refused the request (validation errors, not found, plan limits, 4xx), or a local error
  2  usage error: bad arguments, or a file that cannot be read or parsed (nothing was sent)
  3  authentication: no API key, or the key was refused (401/403)
  4  the API could not be reached, or failed (5xx)

Environment:
  PRIKKE_API_KEY  the API key (overrides the one `prikke login` stored)
  PRIKKE_API_URL  the API's base URL (default https://prikke.eu)";

#[derive(Debug, Parser)]
#[command(name = "prikke", version, about = "Prikke from the command line: jobs, executions, monitors, schedule previews and jobs as code.", after_help = EXIT_CODES)]
pub struct Cli {
    /// Base URL of the API [default: the one given at login, else https://prikke.eu]
    #[arg(long, global = true, env = "PRIKKE_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// Print the API's JSON instead of tables (for scripts)
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an API key and store it in your config directory (prikke/credentials.toml, mode 0600)
    #[command(after_help = "The key is read from --key, or from standard input (e.g. `echo \"$KEY\" | prikke login`).\nIt is checked against the API before it is stored, and never printed.")]
    Login(LoginArgs),
    /// Forget the stored API key
    Logout,
    /// List, read, create, run, pause, resume and delete jobs
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Execution history: list, read, redeliver
    #[command(subcommand)]
    Executions(ExecutionsCommand),
    /// Heartbeat monitors: list, read, create, delete
    #[command(subcommand)]
    Monitors(MonitorsCommand),
    /// Show the next runs of a cron expression and what it means in words
    Preview(PreviewArgs),
    /// Make the organization's keyed jobs match a file (jobs as code)
    #[command(after_help = SYNC_HELP)]
    Sync(SyncArgs),
    /// Print a shell completion script (e.g. `prikke completions bash > /etc/bash_completion.d/prikke`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const SYNC_HELP: &str = "\
The file lists the desired jobs as [[jobs]] tables, each with a `key` (letters, digits, . _ -)
and the API's job fields (name, url, schedule, method, headers, body, timeout_secs, enabled,
retry, catch_up, overlap, completion_window_secs, notifications). Jobs with a key that the file
does not list are deleted; jobs without a key (made by hand) are never touched. A file ending in
.json is read as JSON ({\"jobs\": [...]}). Example: cli/examples/jobs.toml.

prikke sync first asks the API what would change (a dry run) and shows it, then applies it in
one transaction: after a yes at the prompt, or with --yes (needed when standard input is not a
terminal, e.g. in CI). A file that does not parse, or jobs the API finds invalid, change nothing.

Exit codes: 0 in sync (or applied), 1 the API refused the jobs (each field is listed),
2 the file is bad or --yes is missing, 3 authentication, 4 network or server error.";

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The API key (pk_live_….sk_live_…); read from standard input when left out
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct Paging {
    /// Items per page (1 to 100; the API's default is 20)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: Option<u32>,
    /// Follow next_cursor until the last page
    #[arg(long)]
    pub all: bool,
    /// Start after this cursor (a previous page's next_cursor)
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first
    List(Paging),
    /// Show a job
    Get { id: String },
    /// Create a job from flags or from a file (TOML or JSON, the API's job fields)
    Create(Box<CreateJob>),
    /// Run a job now
    Trigger { id: String },
    /// Pause a job (no new runs; its scheduled runs are cancelled)
    Pause { id: String },
    /// Resume a paused job
    Resume { id: String },
    /// Delete a job (its history stays)
    Delete { id: String },
}

#[derive(Debug, Args)]
pub struct CreateJob {
    /// Read the job from a TOML or JSON file (the API's job fields) instead of flags
    #[arg(long, short = 'f', value_name = "FILE",
        conflicts_with_all = ["name", "url", "schedule", "at", "tz", "method", "headers", "body", "key", "timeout", "max_attempts", "disabled"])]
    pub file: Option<PathBuf>,
    /// Name of the job
    #[arg(long, required_unless_present = "file")]
    pub name: Option<String>,
    /// The URL to call
    #[arg(long, required_unless_present = "file")]
    pub url: Option<String>,
    /// Cron expression (five fields, or @hourly, @daily, @weekly, @monthly)
    #[arg(long, value_name = "CRON", required_unless_present_any = ["file", "at"], conflicts_with = "at")]
    pub schedule: Option<String>,
    /// Run once at this instant instead (RFC 3339, e.g. 2026-12-24T18:00:00Z)
    #[arg(long, value_name = "INSTANT")]
    pub at: Option<String>,
    /// IANA time zone of the cron expression (default UTC)
    #[arg(long, value_name = "ZONE", requires = "schedule")]
    pub tz: Option<String>,
    /// HTTP method (default POST)
    #[arg(long, short = 'X')]
    pub method: Option<String>,
    /// A request header, "Name: value" (repeat for more)
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Request body, sent as given
    #[arg(long)]
    pub body: Option<String>,
    /// A key for jobs as code (`prikke sync` manages keyed jobs)
    #[arg(long)]
    pub key: Option<String>,
    /// Request timeout in seconds (default 30)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u32>,
    /// Attempts per run, 1 to 10 (1 = no retries)
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u8>,
    /// Create the job paused
    #[arg(long)]
    pub disabled: bool,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.trim().to_owned())),
        _ => Err(format!("{s:?} is not a header; write it as \"Name: value\"")),
    }
}

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, latest scheduled first
    List(ListExecutions),
    /// Show an execution with its request, response and earlier attempts
    Get { id: String },
    /// Deliver a finished execution's message again (same webhook-id)
    Redeliver { id: String },
}

#[derive(Debug, Args)]
pub struct ListExecutions {
    /// Only this job's executions
    #[arg(long, value_name = "JOB_ID")]
    pub job: Option<String>,
    /// Only these statuses, comma-separated (pending, running, waiting, success, failed, timeout, cancelled, skipped)
    #[arg(long)]
    pub status: Option<String>,
    /// Only this source (schedule, manual, queue, redelivery)
    #[arg(long)]
    pub source: Option<String>,
    /// Scheduled at or after this instant (RFC 3339)
    #[arg(long, value_name = "INSTANT")]
    pub from: Option<String>,
    /// Scheduled before this instant (RFC 3339)
    #[arg(long, value_name = "INSTANT")]
    pub to: Option<String>,
    #[command(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Subcommand)]
pub enum MonitorsCommand {
    /// List monitors
    List(Paging),
    /// Show a monitor with its latest pings
    Get { id: String },
    /// Create a monitor that expects pings on a cron schedule or every N seconds
    Create(CreateMonitor),
    /// Delete a monitor
    Delete { id: String },
}

#[derive(Debug, Args)]
pub struct CreateMonitor {
    /// Name of the monitor
    #[arg(long)]
    pub name: String,
    /// Expect a ping on this cron schedule
    #[arg(long, value_name = "CRON", required_unless_present = "every", conflicts_with = "every")]
    pub schedule: Option<String>,
    /// IANA time zone of the cron schedule (default UTC)
    #[arg(long, value_name = "ZONE", requires = "schedule")]
    pub tz: Option<String>,
    /// Expect a ping every this many seconds (60 to 2678400)
    #[arg(long, value_name = "SECS")]
    pub every: Option<u32>,
    /// How late a ping may be before the monitor goes down (default 300)
    #[arg(long, value_name = "SECS")]
    pub grace: Option<u32>,
    /// Longest run after a /start ping
    #[arg(long, value_name = "SECS")]
    pub max_runtime: Option<u32>,
    /// Create it paused
    #[arg(long)]
    pub paused: bool,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// Cron expression, e.g. "0 3 * * *" or @daily
    pub expr: String,
    /// IANA time zone (default UTC)
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// How many runs to show (1 to 100)
    #[arg(long, short = 'n', default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub count: u32,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The jobs file (TOML, or JSON when it ends in .json)
    pub file: PathBuf,
    /// Only show what would change
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Where the key and URL come from: `PRIKKE_API_KEY` over the stored key; `--api-url` /
/// `PRIKKE_API_URL` over the URL stored at login over the default.
fn client(cli: &Cli) -> Result<Client, Failure> {
    let env_key = std::env::var("PRIKKE_API_KEY").ok().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
    // with the key in the environment a damaged file does not matter
    let stored = match (&env_key, &cli.api_url) {
        (Some(_), Some(_)) => None,
        (Some(_), None) => credentials::load().ok().flatten(),
        (None, _) => credentials::load()?,
    };
    let url = cli
        .api_url
        .clone()
        .or_else(|| stored.as_ref().and_then(|c| c.api_url.clone()))
        .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let key = env_key.or_else(|| stored.map(|c| c.api_key));
    Client::new(&url, key)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "prikke", &mut std::io::stdout());
            Ok(())
        }
        Command::Login(args) => commands::login(&cli, args).await,
        Command::Logout => commands::logout(),
        Command::Jobs(cmd) => commands::jobs(&client(&cli)?, cli.json, cmd).await,
        Command::Executions(cmd) => commands::executions(&client(&cli)?, cli.json, cmd).await,
        Command::Monitors(cmd) => commands::monitors(&client(&cli)?, cli.json, cmd).await,
        Command::Preview(args) => commands::preview(&client(&cli)?, cli.json, args).await,
        Command::Sync(args) => sync::run(&client(&cli)?, cli.json, args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(exit::API);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Failure::Reported(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{}", e.render(&|f| f.to_owned()));
            ExitCode::from(e.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_need_a_name_and_a_colon() {
        assert_eq!(parse_header("X-Env: prod").unwrap(), ("X-Env".to_owned(), "prod".to_owned()));
        assert_eq!(parse_header("Authorization: Bearer a:b").unwrap().1, "Bearer a:b");
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header(": v").is_err());
    }
}
