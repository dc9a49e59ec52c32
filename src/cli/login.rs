//! `terraform-provider-partnercenter login`: one interactive sign-in that yields a Secure Application Model
//! refresh token, printed or written to a file only its owner can read.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use partnercenter_microsoft::login::AuthCodeOptions;
use partnercenter_microsoft::{CallContext, Client, ClientOptions, Credentials, Environment, Secret};
use tokio_util::sync::CancellationToken;

use crate::provider::{errors, validation};

const HELP: &str = "\
Usage: terraform-provider-partnercenter login --tenant-id TENANT --client-id APP_ID [options]

Signs in as a partner user (with MFA) and prints a refresh token for the provider's `refresh_token`
(or writes it to --out). The web app needs http://localhost redirect URIs for the browser flow.

Options:
  --tenant-id ID             partner tenant (or PARTNERCENTER_TENANT_ID)
  --client-id ID             the web app's App ID (or PARTNERCENTER_CLIENT_ID)
  --client-secret-file FILE  the web app's secret, needed to redeem codes for web apps
                             (or PARTNERCENTER_CLIENT_SECRET)
  --device-code              sign in on another device with a code instead of a local browser
  --port N                   local redirect port (default: a free port in 8400-8999)
  --out FILE                 write the token to FILE (mode 0600; on Windows the folder's
                             permissions apply) instead of printing it
  --environment ENV          public (default), usgovernment or china
  --login-endpoint URL       override the login endpoint (or PARTNERCENTER_LOGIN_ENDPOINT)
  --timeout SECONDS          give up after this long (default 600)
";

/// Writes a line for the person at the terminal. A closed stderr (the reader went away) must not kill the
/// sign-in: `eprintln!` would panic and take the redirect listener with it.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Debug, Default)]
struct Options {
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<String>,
    device_code: bool,
    port: Option<u16>,
    out: Option<String>,
    environment: Option<String>,
    login_endpoint: Option<String>,
    timeout: Option<u64>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "--tenant-id" => o.tenant_id = Some(value(flag)?),
            "--client-id" => o.client_id = Some(value(flag)?),
            "--client-secret-file" => o.client_secret_file = Some(value(flag)?),
            "--device-code" => o.device_code = true,
            "--port" => {
                o.port = Some(
                    value(flag)?
                        .parse()
                        .map_err(|_| "--port needs a number".to_owned())?,
                )
            }
            "--out" => o.out = Some(value(flag)?),
            "--environment" => o.environment = Some(value(flag)?),
            "--login-endpoint" => o.login_endpoint = Some(value(flag)?),
            "--timeout" => {
                o.timeout = Some(
                    value(flag)?
                        .parse()
                        .map_err(|_| "--timeout needs seconds".to_owned())?,
                )
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

pub fn run(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("error: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            say!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(login(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn login(o: Options) -> Result<(), String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let tenant_id = o
        .tenant_id
        .or_else(|| env("PARTNERCENTER_TENANT_ID"))
        .ok_or("--tenant-id is required")?;
    let client_id = o
        .client_id
        .or_else(|| env("PARTNERCENTER_CLIENT_ID"))
        .ok_or("--client-id is required")?;
    if !validation::is_guid(&client_id) {
        return Err(format!(
            "--client-id \"{client_id}\" is not a GUID; use the web app's App ID"
        ));
    }
    let client_secret = match o.client_secret_file {
        Some(path) => Some(Secret::new(
            std::fs::read_to_string(&path)
                .map_err(|e| format!("reading --client-secret-file {path}: {e}"))?
                .trim_end_matches(['\r', '\n']),
        )),
        None => env("PARTNERCENTER_CLIENT_SECRET").map(Secret::new),
    };
    let environment: Environment = o
        .environment
        .or_else(|| env("PARTNERCENTER_ENVIRONMENT"))
        .unwrap_or_else(|| "public".into())
        .parse()
        .map_err(|e: partnercenter_microsoft::Error| e.to_string())?;
    let mut options = ClientOptions::new(
        environment,
        Credentials {
            tenant_id,
            client_id,
            client_secret,
            ..Default::default()
        },
    );
    if let Some(url) = o.login_endpoint.or_else(|| env("PARTNERCENTER_LOGIN_ENDPOINT")) {
        options.endpoints.login = validation::endpoint_url(&url)?;
    }
    let client = Client::new(options).map_err(|e| errors::describe(&e))?;
    let ctx = CallContext::new(CancellationToken::new())
        .with_timeout(Duration::from_secs(o.timeout.unwrap_or(600)));

    let token = if o.device_code {
        client
            .login()
            .device_code(&ctx, |prompt| say!("{}", prompt.message))
            .await
    } else {
        let auth = AuthCodeOptions { port: o.port, ..Default::default() };
        client
            .login()
            .authorization_code(&ctx, auth, |url| {
                say!("Open this URL in a browser (a private window avoids signing in as the wrong user):\n\n{url}\n");
                say!("Waiting for the sign-in to finish...");
            })
            .await
    }
    .map_err(|e| errors::describe(&e))?;

    match o.out {
        Some(path) => {
            write_private(&path, token.expose()).map_err(|e| format!("writing {path}: {e}"))?;
            say!("Refresh token written to {path}. Use it with refresh_token_file_path = \"{path}\".");
        }
        None => println!("{}", token.expose()),
    }
    Ok(())
}

/// Writes `content` to a new file readable only by its owner: mode 0600 from the start, never wider, and an
/// existing file is replaced rather than reused with its old permissions.
///
/// Windows has no mode bits: a new file gets the access list inherited from its folder. Under the user's
/// profile (where a token file belongs) that is the user, SYSTEM and Administrators, as for every other
/// credential file there (Azure CLI's, Terraform's own credentials.tfrc.json); in a shared folder it is
/// whatever that folder grants, which `login --help` says. Narrowing the list ourselves would take the Win32
/// security API through unsafe FFI, which this crate forbids. The Windows build is compiled by the release
/// workflow only: the project's machines are Linux, so no test here covers it.
fn write_private(path: &str, content: &str) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_in_both_forms() {
        let args: Vec<String> = [
            "--tenant-id",
            "t",
            "--client-id=c",
            "--device-code",
            "--port",
            "8401",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = parse(&args).unwrap();
        assert_eq!(o.tenant_id.as_deref(), Some("t"));
        assert_eq!(o.client_id.as_deref(), Some("c"));
        assert!(o.device_code);
        assert_eq!(o.port, Some(8401));
        assert!(parse(&["--bogus".to_string()]).unwrap_err().contains("--bogus"));
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rt");
        write_private(path.to_str().unwrap(), "x").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
