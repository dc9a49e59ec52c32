//! `partnercenter-emulator [--port N] [--customers N] [--seed FILE] [--replication-seed N]`: serves until
//! SIGINT or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use partnercenter_emulator::{EmulatorConfig, Seed};

const USAGE: &str = "usage: partnercenter-emulator [--port N] [--customers N] [--seed FILE] [--replication-seed N]

  --port N                TCP port on 127.0.0.1 (default 0: any free port)
  --customers N           generate N realistic, deterministic customers instead of the 25 demo customers
  --seed FILE             JSON seed file (format: emulator/README.md); --customers then adds N generated customers
  --replication-seed N    random replication lag (replicas flap), reproducible by N";

#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("{flag}: '{value}' is not a number")]
    NotANumber { flag: String, value: String },
    #[error("unknown argument '{0}'")]
    Unknown(String),
}

#[derive(Debug, Default)]
struct Args {
    port: u16,
    customers: Option<usize>,
    seed: Option<PathBuf>,
    replication_seed: Option<u64>,
    help: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, ArgsError> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| ArgsError::MissingValue(flag.clone()))
        };
        match flag.as_str() {
            "--port" => {
                let text = value()?;
                parsed.port = text.parse().map_err(|_| ArgsError::NotANumber {
                    flag: flag.clone(),
                    value: text,
                })?;
            }
            "--customers" => {
                let text = value()?;
                parsed.customers = Some(text.parse().map_err(|_| ArgsError::NotANumber {
                    flag: flag.clone(),
                    value: text,
                })?);
            }
            "--seed" => parsed.seed = Some(PathBuf::from(value()?)),
            "--replication-seed" => {
                let text = value()?;
                parsed.replication_seed = Some(text.parse().map_err(|_| ArgsError::NotANumber {
                    flag: flag.clone(),
                    value: text,
                })?);
            }
            "-h" | "--help" => parsed.help = true,
            _ => return Err(ArgsError::Unknown(arg)),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("partnercenter-emulator: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let seed = match (&args.seed, args.customers) {
        (Some(path), customers) => match Seed::from_file(path) {
            Ok(mut seed) => {
                seed.generate_customers = customers;
                seed.expanded()
            }
            Err(error) => {
                eprintln!("partnercenter-emulator: {error}");
                return ExitCode::FAILURE;
            }
        },
        (None, Some(count)) => Seed::generated(count),
        (None, None) => Seed::demo(),
    };
    let mut config = EmulatorConfig {
        port: args.port,
        seed,
        ..EmulatorConfig::default()
    };
    if let Some(seed) = args.replication_seed {
        config = config.with_random_replication(seed);
    }
    let running = match partnercenter_emulator::spawn(config).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("partnercenter-emulator: binding 127.0.0.1:{}: {error}", args.port);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "partnercenter-emulator listening on {}",
        running.base_url()
    );
    let _ = stdout.flush();
    wait_for_signal().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
