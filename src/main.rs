//! Entry point: serve Terraform when it started us, otherwise the command line for people.

use std::process::ExitCode;
use std::time::Duration;

use terraform_provider_partnercenter::protocol::{ProviderServer, logging, serve};
use terraform_provider_partnercenter::{cli, provider::PartnerCenter};

fn main() -> ExitCode {
    if !serve::started_by_terraform() {
        return cli::run(std::env::args().skip(1).collect());
    }
    logging::init(logging::level_from_env());
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("terraform-provider-partnercenter: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve::serve(ProviderServer::new(PartnerCenter::new())));
    // Terraform is done with us: do not wait for stray tasks.
    runtime.shutdown_timeout(Duration::from_millis(50));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-partnercenter: {e}");
            ExitCode::FAILURE
        }
    }
}
