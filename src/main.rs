//! The `faos` command line (CONTRACT §1): `serve`, `keys create`,
//! `openapi`, `migrate` and `orgs set-plan`. Exit codes: 0 success, 2 bad
//! usage, 1 anything else, with a one-line reason on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use faos::access::{Mode, Tenant};
use faos::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "faos",
    version,
    about = "FAOS: a self-hosted agent platform server"
)]
struct Cli {
    /// TOML configuration file (default `faos.toml`, optional; env FAOS_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the OpenAPI document on stdout.
    Openapi,
    /// Run the database migrations and exit.
    Migrate(DatabaseArg),
    /// Manage organizations.
    #[command(subcommand)]
    Orgs(OrgsCommand),
}

#[derive(Args)]
struct DatabaseArg {
    /// Database URL: sqlite://PATH or postgres://… (env FAOS_DATABASE_URL; default sqlite://faos.db).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (env FAOS_ADDR; default 127.0.0.1:8080).
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    #[command(flatten)]
    database: DatabaseArg,
    /// Model for agents that name none (env FAOS_DEFAULT_MODEL; default builtin/assistant).
    #[arg(long, value_name = "PROVIDER/MODEL")]
    default_model: Option<String>,
    /// Apply no migrations; refuse to start if one is pending (env FAOS_MIGRATE_ON_START=false).
    #[arg(long)]
    no_migrate: bool,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a secret key and print it on stdout.
    Create(KeysCreateArgs),
}

#[derive(Args)]
struct KeysCreateArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Organization name; created if missing.
    #[arg(long, default_value = "default", value_parser = org_name)]
    org: String,
    /// live or test.
    #[arg(long, value_enum, default_value_t = ModeArg::Live)]
    mode: ModeArg,
    /// Set the organization's plan.
    #[arg(long, value_enum)]
    plan: Option<Plan>,
    /// A name to recognise the key by.
    #[arg(long)]
    name: Option<String>,
}

#[derive(Subcommand)]
enum OrgsCommand {
    /// Set an organization's plan.
    SetPlan(SetPlanArgs),
}

#[derive(Args)]
struct SetPlanArgs {
    #[command(flatten)]
    database: DatabaseArg,
    /// Organization name.
    #[arg(long, value_parser = org_name)]
    org: String,
    #[arg(long, value_enum)]
    plan: Plan,
    /// Requests per minute (enterprise only).
    #[arg(long, required_if_eq("plan", "enterprise"), value_parser = clap::value_parser!(i64).range(1..))]
    per_minute: Option<i64>,
    /// Requests per day (enterprise only).
    #[arg(long, required_if_eq("plan", "enterprise"), value_parser = clap::value_parser!(i64).range(1..))]
    per_day: Option<i64>,
}

/// Organization names: 1–100 characters, no control characters.
fn org_name(value: &str) -> Result<String, String> {
    let chars = value.chars().count();
    if chars == 0 || chars > 100 || value.chars().any(char::is_control) {
        Err("organization names are 1 to 100 characters without control characters".into())
    } else {
        Ok(value.to_string())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Live,
    Test,
}

#[derive(Clone, Copy, ValueEnum)]
enum Plan {
    Starter,
    Growth,
    Enterprise,
}

impl Plan {
    fn as_str(self) -> &'static str {
        match self {
            Plan::Starter => "starter",
            Plan::Growth => "growth",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// A mistake in how `faos` was called: exit code 2.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                let _ = err.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("faos: {} (see 'faos --help')", clap_reason(&err));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("faos: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let line = format!("{err:#}").replace('\n', " ");
            eprintln!("faos: {line}");
            if err.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// clap's error as one line: its message with any listed arguments, without
/// the usage and tips that follow.
fn clap_reason(err: &clap::Error) -> String {
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a command is required: serve, keys, openapi, migrate or orgs".to_string();
    }
    let rendered = err.render().to_string();
    rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_string()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Openapi => {
            faos::app::print_stdout(&faos::api::openapi::document().to_pretty_json()?)
        }
        Command::Serve(args) => {
            let config = Config::load(
                cli.config,
                Overrides {
                    addr: args.addr,
                    database_url: args.database.database,
                    default_model: args.default_model,
                    migrate_on_start: args.no_migrate.then_some(false),
                },
            )?;
            check_addr(&config.addr)?;
            check_database_url(&config)?;
            init_logging(&config)?;
            faos::app::serve(config).await
        }
        Command::Migrate(args) => {
            let config = database_config(cli.config, args)?;
            faos::store::open(&config.database_url, faos::store::Migrations::Apply).await?;
            eprintln!("faos: the database is migrated (every migration applied)");
            Ok(())
        }
        Command::Keys(KeysCommand::Create(args)) => {
            let config = database_config(cli.config, args.database)?;
            let store =
                faos::store::open(&config.database_url, faos::store::Migrations::Apply).await?;
            let plan = args.plan.unwrap_or(Plan::Starter).as_str();
            let org = store.ensure_organization(&args.org, plan).await?;
            if let Some(plan) = args.plan {
                store.set_plan(&org.id, plan.as_str(), None, None).await?;
            }
            let mode = match args.mode {
                ModeArg::Live => Mode::Live,
                ModeArg::Test => Mode::Test,
            };
            let key = faos::app::new_key(
                &Tenant {
                    org_id: org.id,
                    mode,
                },
                args.name,
            );
            store.insert_api_key(&key.record).await?;
            faos::app::print_stdout(&key.secret)
        }
        Command::Orgs(OrgsCommand::SetPlan(args)) => {
            let (per_minute, per_day) = match args.plan {
                Plan::Enterprise => (args.per_minute, args.per_day),
                _ if args.per_minute.is_some() || args.per_day.is_some() => {
                    return Err(usage(
                        "--per-minute and --per-day are for the enterprise plan; the other plans have fixed limits",
                    ));
                }
                _ => (None, None),
            };
            let config = database_config(cli.config, args.database)?;
            let store =
                faos::store::open(&config.database_url, faos::store::Migrations::Apply).await?;
            let org = store
                .ensure_organization(&args.org, args.plan.as_str())
                .await?;
            store
                .set_plan(&org.id, args.plan.as_str(), per_minute, per_day)
                .await?;
            eprintln!(
                "faos: organization '{}' is now on the {} plan",
                org.name,
                args.plan.as_str()
            );
            Ok(())
        }
    }
}

/// A listen address must be `host:port` with a valid port.
fn check_addr(addr: &str) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .map(|_| ())
        .map_err(|err| usage(format!("invalid listen address '{addr}': {err}")))
}

fn database_config(file: Option<PathBuf>, args: DatabaseArg) -> anyhow::Result<Config> {
    let config = Config::load(
        file,
        Overrides {
            database_url: args.database,
            ..Overrides::default()
        },
    )?;
    check_database_url(&config)?;
    Ok(config)
}

/// A database URL FAOS cannot use is a usage mistake (exit code 2).
fn check_database_url(config: &Config) -> anyhow::Result<()> {
    faos::store::check_url(&config.database_url).map_err(|err| usage(err.public_message()))
}

/// Structured logs on stderr: `FAOS_LOG` filter, `FAOS_LOG_FORMAT=json`.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .map_err(|err| anyhow::anyhow!("invalid log filter '{}': {err}", config.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.log_format.as_str() {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("invalid log format '{other}': expected text or json"),
    }
    Ok(())
}
