//! `rill-server [CONFIG_FILE] [--name value...]`, e.g. `rill-server --port 7000 --shards 4`
//!
//! Reads the configuration (built-in defaults, which `conf/rill.conf` spells out, then the file, then the command
//! line, where every directive works as `--name value` as with redis-server, through the one directive table) and
//! runs the server. clap answers `--help` and `--version`.

use clap::Parser;
use rill::config::{parse_cli_overrides, Config};
use std::path::PathBuf;

/// A Redis-compatible server for short-lived messages.
///
/// Every configuration directive is also an option: `--port 7000`, `--bind 127.0.0.1 ::1`, `--shards 4`,
/// `--loglevel warning`, `--save ""`, as with redis-server. conf/rill.conf lists them with their defaults.
#[derive(Parser, Debug)]
#[command(
    name = "rill-server",
    version,
    about,
    after_help = "Every configuration directive is also an option, as with redis-server: --port 7000, \
                  --bind 127.0.0.1 ::1, --shards 4, --loglevel warning, --save \"\". conf/rill.conf lists them."
)]
struct Cli {
    /// A configuration file in redis.conf syntax (see conf/rill.conf).
    config_file: Option<PathBuf>,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let asks_clap = |a: &String| matches!(a.as_str(), "--help" | "-h" | "--version" | "-V");
    if argv[1..].iter().any(asks_clap) {
        // Prints the help or the version, and exits.
        Cli::parse_from(argv.iter().take(1).chain(argv[1..].iter().filter(|a| asks_clap(a))));
    }
    let (config_file, overrides) = match parse_cli_overrides(&argv[1..]) {
        Ok(r) => r,
        Err(e) => fail(&e),
    };
    let config = match Config::load(config_file.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    init_logging(&config.loglevel);
    if config.dir != "." {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            fail(&format!("Can't chdir to '{}': {e}", config.dir));
        }
    }
    let file = config_file.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    if let Err(e) = rill::server::run(config, file) {
        fail(&e);
    }
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
