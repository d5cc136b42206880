//! `completions SHELL`: print a completion script to stdout.

use clap::CommandFactory;

use super::Error;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Result<i32, Error> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "mcp-warden", &mut std::io::stdout());
    Ok(0)
}
