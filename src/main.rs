use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match orchestrator::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap quotes the value it refused; a token pasted into a flag must not reach a log.
            if orchestrator::secret::holds_token(&err.to_string()) {
                eprintln!("error: a command-line value looks like a token and was refused (it is not shown); tokens belong in the variables `token_env` names");
                return ExitCode::from(2);
            }
            err.exit()
        }
    };
    ExitCode::from(orchestrator::app::main(cli) as u8)
}
