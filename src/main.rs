//! The `logferry` command line: parses arguments and hands each command to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use logferry::commands::normalise::{normalise, NormaliseRequest};
use logferry::commands::send::{send, SendRequest};
use logferry::commands::validate::validate;
use logferry::config::{self, Encoding, Format, SourceSettings};

#[derive(Parser)]
#[command(
    name = "logferry",
    version,
    about = "Collects logs, normalises them to the LogPoint taxonomy and ships them over syslog/TLS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent (without --config: the embedded demo configuration, sample logs to stdout).
    Run {
        /// The configuration file. SIGHUP reloads it (docs/operations.md).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Also reload when the configuration file changes.
        #[arg(long, requires = "config")]
        watch_config: bool,
    },
    /// Check a configuration file; prints each problem with file, line and column.
    Validate {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print the normalised event of every record in FILE (or stdin), one per line.
    Normalise(NormaliseArgs),
    /// Ship existing files (plain or .gz) once through the configuration's sinks, with progress;
    /// interrupted, the same command resumes. Exit 0 when every file was delivered, 1 otherwise.
    Send(SendArgs),
    /// Run pipeline tests: records, source settings, and expected fields or LogPoint queries
    /// (docs/testing-pipelines.md). Exit 0 when all pass, 1 on failures, 2 on a bad test file.
    Test {
        /// Test files (TOML, `[[tests]]` tables).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the normalised events of the running agent, live, as JSON lines (Ctrl-C stops).
    Tap {
        #[command(flatten)]
        agent: AgentArgs,
        /// Only the events of this source.
        #[arg(long, conflicts_with = "sink")]
        source: Option<String>,
        /// Only the events of the sources this sink takes.
        #[arg(long)]
        sink: Option<String>,
        /// A LogPoint query the events must match, e.g. label="Login" user=root (several words are
        /// joined by spaces).
        query: Vec<String>,
    },
    /// A live view of the running agent: per source and sink events/s, bytes/s, read lag, buffer
    /// fill, connection state, drops and latency.
    Top {
        #[command(flatten)]
        agent: AgentArgs,
        /// Time between two views.
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// Print one view (over one interval) and exit.
        #[arg(long)]
        once: bool,
    },
}

/// Which running agent `tap` and `top` talk to.
#[derive(Args)]
struct AgentArgs {
    /// The agent's configuration (its data_dir holds the control socket); default
    /// /etc/logferry/logferry.toml if it exists, else the embedded demo configuration.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The control socket itself, instead of finding it through a configuration.
    #[arg(long, conflicts_with = "config")]
    socket: Option<PathBuf>,
}

impl AgentArgs {
    /// The control socket these arguments name.
    fn socket(&self) -> anyhow::Result<PathBuf> {
        if let Some(socket) = &self.socket {
            return Ok(socket.clone());
        }
        let installed = PathBuf::from("/etc/logferry/logferry.toml");
        let config = match &self.config {
            Some(path) => config::load_file(path)?,
            None if installed.exists() => config::load_file(&installed)?,
            None => config::parse(config::EMBEDDED_DEFAULT, "<embedded default>")?,
        };
        Ok(logferry::control::socket_path(&config.data_dir))
    }
}

/// How records are read and normalised: the settings of a source, as flags of the same name.
#[derive(Args)]
struct SourceArgs {
    /// The source format.
    #[arg(long)]
    format: Format,
    /// The server's access-log layout (apache_access, nginx_access): an Apache LogFormat or Nginx
    /// log_format string, or common, combined, vhost_combined.
    #[arg(long)]
    log_format: Option<String>,
    /// IANA timezone for times without an offset (default: the host's).
    #[arg(long)]
    timezone: Option<String>,
    /// device_name of the events (default: the host name).
    #[arg(long)]
    device_name: Option<String>,
    /// source_name of the events (default: the file's path, or "-" for stdin).
    #[arg(long)]
    source_name: Option<String>,
    /// Site key file for CPR pseudonymisation (without it: CPR:REDACTED).
    #[arg(long)]
    cpr_key_file: Option<PathBuf>,
    /// Pseudonymise CPR numbers (true) or leave them as they are (false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    redact_cpr: bool,
    /// Longer records are cut to this size and labelled Truncated, as a file source does (e.g. 64KiB).
    #[arg(long, value_parser = parse_size, default_value = "1MiB")]
    max_line_bytes: usize,
    /// A line matching this regex starts a record; the lines after it join it (default for
    /// --format java: a line that begins with a timestamp).
    #[arg(long, value_parser = parse_regex)]
    multiline_start: Option<regex::bytes::Regex>,
}

impl SourceArgs {
    fn settings(&self) -> SourceSettings {
        SourceSettings {
            format: self.format,
            log_format: self.log_format.clone(),
            timezone: self.timezone.clone(),
            device_name: self.device_name.clone(),
            source_name: self.source_name.clone(),
            cpr_key_file: self.cpr_key_file.clone(),
            redact_cpr: self.redact_cpr,
            multiline_start: self.multiline_start.clone(),
        }
    }
}

#[derive(Args)]
struct NormaliseArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The reading time, RFC 3339 (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Payload encoding.
    #[arg(long, value_enum, default_value_t = EncodingArg::Json)]
    encoding: EncodingArg,
    /// Wrap each event in the RFC 5424 header a syslog sink sends.
    #[arg(long)]
    rfc5424: bool,
    /// The records to read (default: stdin).
    file: Option<PathBuf>,
}

#[derive(Args)]
struct SendArgs {
    /// The configuration whose sinks receive the events (its sources are not started); progress
    /// is kept in its data_dir/send.
    #[arg(long, short)]
    config: PathBuf,
    /// Send only to this sink (repeatable; default: every sink of the configuration).
    #[arg(long = "sink")]
    sinks: Vec<String>,
    #[command(flatten)]
    source: SourceArgs,
    /// Forget what earlier runs delivered and send every file from its beginning.
    #[arg(long)]
    restart: bool,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    quiet: bool,
    /// The files to send, plain or gzip-compressed (recognised by content), in this order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum EncodingArg {
    Json,
    Kv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            config,
            watch_config,
        } => run(config, watch_config),
        Command::Validate { config } => {
            return if validate(&config) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Normalise(args) => normalise_command(args),
        Command::Send(args) => return send_command(args),
        Command::Tap {
            agent,
            source,
            sink,
            query,
        } => agent.socket().and_then(|socket| {
            let request = logferry::commands::tap::TapRequest {
                source,
                sink,
                query: (!query.is_empty()).then(|| query.join(" ")),
            };
            logferry::commands::tap::tap(&socket, &request, &mut std::io::stdout().lock())
        }),
        Command::Top {
            agent,
            interval,
            once,
        } => agent.socket().and_then(|socket| {
            logferry::commands::top::top(&socket, interval, once, &mut std::io::stdout().lock())
        }),
        Command::Test { files } => {
            let outcome = logferry::commands::test::run(
                &files,
                &mut std::io::stdout().lock(),
                &mut std::io::stderr().lock(),
            );
            return ExitCode::from(outcome.exit_code());
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logferry: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: Option<PathBuf>, watch: bool) -> anyhow::Result<()> {
    use logferry::reload::Origin;
    logferry::telemetry::init();
    let (config, origin) = match path {
        Some(path) => (config::load_file(&path)?, Origin::File { path, watch }),
        None => (
            config::parse(config::EMBEDDED_DEFAULT, "<embedded default>")?,
            Origin::Embedded,
        ),
    };
    logferry::reload::run(config, origin)
}

fn normalise_command(args: NormaliseArgs) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(text) => Some(
            logferry::normalise::time::parse_rfc3339(text)
                .with_context(|| format!("--now {text:?} is not an RFC 3339 time"))?,
        ),
        None => None,
    };
    let request = NormaliseRequest {
        settings: args.source.settings(),
        now,
        input: args.file,
        encoding: match args.encoding {
            EncodingArg::Json => Encoding::Json,
            EncodingArg::Kv => Encoding::Kv,
        },
        rfc5424: args.rfc5424,
        max_line_bytes: args.source.max_line_bytes,
    };
    normalise(&request, &mut std::io::stdout().lock())
}

fn send_command(args: SendArgs) -> ExitCode {
    use std::io::IsTerminal;
    logferry::telemetry::init();
    let request = SendRequest {
        config: args.config,
        sinks: args.sinks,
        files: args.files,
        settings: args.source.settings(),
        max_line_bytes: args.source.max_line_bytes,
        restart: args.restart,
        progress_bar: !args.quiet && std::io::stderr().is_terminal(),
    };
    match send(request) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("logferry: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    logferry::config::parse_size(text)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text:?} is not a size (e.g. 65536, \"64KiB\", \"1MiB\")"))
}

fn parse_regex(text: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::Regex::new(text).map_err(|e| format!("invalid regex: {e}"))
}
