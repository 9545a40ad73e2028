use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = orchestrator::cli::Cli::parse();
    ExitCode::from(orchestrator::app::main(cli) as u8)
}
