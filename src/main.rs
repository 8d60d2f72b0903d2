//! `rill-server [CONFIG_FILE] [--port N] [--bind ADDR...] [--shards N] [--loglevel L] [--dir D] [--name value...]`
//!
//! Reads the configuration (built-in defaults, which `conf/rill.conf` spells out, then the file, then the command
//! line; any directive works as `--name value`, as with redis-server) and runs the server.

use clap::Parser;
use rill::config::{parse_cli_overrides, Config};
use std::path::PathBuf;

/// A Redis-compatible server for short-lived messages.
#[derive(Parser, Debug)]
#[command(name = "rill-server", version, about)]
struct Cli {
    /// A configuration file in redis.conf syntax (see conf/rill.conf).
    config_file: Option<PathBuf>,
    /// TCP port to listen on (0 picks a free one and logs it).
    #[arg(long)]
    port: Option<u16>,
    /// Addresses to listen on.
    #[arg(long, num_args = 1..)]
    bind: Vec<String>,
    /// Number of shard threads (0 = one per core).
    #[arg(long)]
    shards: Option<usize>,
    /// debug, verbose, notice, warning or nothing.
    #[arg(long)]
    loglevel: Option<String>,
    /// Working directory for snapshots and the append-only file.
    #[arg(long)]
    dir: Option<String>,
}

/// Options clap parses itself; every other `--name value...` is a configuration directive.
const CLAP_OPTIONS: &[&str] =
    &["--port", "--bind", "--shards", "--loglevel", "--dir", "--help", "-h", "--version", "-V"];

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let (clap_args, directive_args) = split_argv(&argv[1..]);
    let cli = Cli::parse_from(std::iter::once(argv[0].clone()).chain(clap_args));
    let (_, directives) = match parse_cli_overrides(&directive_args) {
        Ok(r) => r,
        Err(e) => fail(&e),
    };
    let mut overrides: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(p) = cli.port {
        overrides.push(("port".into(), vec![p.to_string()]));
    }
    if !cli.bind.is_empty() {
        overrides.push(("bind".into(), cli.bind.clone()));
    }
    if let Some(s) = cli.shards {
        overrides.push(("shards".into(), vec![s.to_string()]));
    }
    if let Some(l) = &cli.loglevel {
        overrides.push(("loglevel".into(), vec![l.clone()]));
    }
    if let Some(d) = &cli.dir {
        overrides.push(("dir".into(), vec![d.clone()]));
    }
    overrides.extend(directives);
    let config = match Config::load(cli.config_file.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    init_logging(&config.loglevel);
    if config.dir != "." {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            fail(&format!("Can't chdir to '{}': {e}", config.dir));
        }
    }
    let file = cli.config_file.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    if let Err(e) = rill::server::run(config, file) {
        fail(&e);
    }
}

/// Splits argv into what clap parses (the config file and clap's options with their values) and the rest.
fn split_argv(args: &[String]) -> (Vec<String>, Vec<String>) {
    let mut clap_args = Vec::new();
    let mut rest = Vec::new();
    let mut i = 0;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            clap_args.push(first.clone());
            i = 1;
        }
    }
    let mut to_clap = false;
    while i < args.len() {
        let a = &args[i];
        if a.starts_with('-') && a.len() > 1 && !a.chars().nth(1).is_some_and(|c| c.is_ascii_digit()) {
            to_clap = CLAP_OPTIONS.contains(&a.split('=').next().unwrap_or(a));
        }
        if to_clap {
            clap_args.push(a.clone());
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    (clap_args, rest)
}

fn init_logging(level: &str) {
    let filter = match level {
        "debug" | "verbose" => tracing::Level::DEBUG,
        "warning" => tracing::Level::WARN,
        "nothing" => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    use std::io::IsTerminal;
    let ansi = std::io::stdout().is_terminal();
    tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stdout)
        .init();
}

fn fail(msg: &str) -> ! {
    eprintln!("*** FATAL CONFIG FILE ERROR ***\n{msg}");
    std::process::exit(1);
}
