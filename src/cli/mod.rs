//! The command line when the binary is run by a person rather than by Terraform: what it is, `version`,
//! `schema` and `login`. Hand-parsed: a handful of flags do not justify an argument-parser dependency in a
//! binary whose size Terraform pays for (it hashes the binary on every command).

pub mod login;

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::protocol::ProviderServer;
use crate::protocol::schema::terraform_json;
use crate::provider::{PartnerCenter, SOURCE_ADDRESS};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const HELP: &str = "\
terraform-provider-partnercenter: the Terraform provider for Microsoft Partner Center.

This is a Terraform plugin: Terraform starts it itself. Use it from a configuration with

  terraform {
    required_providers {
      partnercenter = { source = \"cspkit/partnercenter\" }
    }
  }

Commands for people:
  version     print the provider version
  schema      print the provider's schema as `terraform providers schema -json` does
  login       sign in once to get a Secure Application Model refresh token
              (login --help for its options)
";

/// Runs a subcommand; with none, explains what the binary is and exits 1 like any go-plugin binary.
pub fn run(args: Vec<String>) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("version" | "--version" | "-v") => {
            println!("terraform-provider-partnercenter {VERSION} (plugin protocol 6)");
            ExitCode::SUCCESS
        }
        Some("schema") => {
            let _ = writeln!(std::io::stdout(), "{}", schema_json());
            ExitCode::SUCCESS
        }
        Some("login") => login::run(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprint!("unknown command \"{other}\"\n\n{HELP}");
            ExitCode::from(2)
        }
        None => {
            eprint!("{HELP}");
            ExitCode::from(1)
        }
    }
}

/// The provider's schema in the format of `terraform providers schema -json`.
pub fn schema_json() -> String {
    let server = ProviderServer::new(PartnerCenter::new());
    let schemas = server.schemas();
    let map = |items: &[(&'static str, &crate::protocol::Schema)]| {
        items
            .iter()
            .map(|(name, s)| (name.to_string(), terraform_json::schema(s)))
            .collect::<serde_json::Map<_, _>>()
    };
    // Like Terraform, leave out empty maps.
    let mut provider = serde_json::Map::new();
    provider.insert("provider".into(), terraform_json::schema(schemas.provider));
    for (key, items) in [
        ("resource_schemas", &schemas.resources),
        ("data_source_schemas", &schemas.data_sources),
    ] {
        if !items.is_empty() {
            provider.insert(key.into(), map(items).into());
        }
    }
    let out = json!({ "format_version": "1.0", "provider_schemas": { SOURCE_ADDRESS: provider } });
    serde_json::to_string_pretty(&out).unwrap_or_default()
}
