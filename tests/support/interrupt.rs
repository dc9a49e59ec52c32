//! Ctrl-C as a terminal sends it: SIGINT to Terraform's whole process group (the provider included), at
//! a moment the test picks, then waiting for Terraform to exit on its own.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{Run, Workdir};

/// How long Terraform may take to exit after the interrupt before the test fails.
const EXIT_BOUND: Duration = Duration::from_secs(90);

/// Runs `terraform <args>` in its own process group, sends SIGINT to the group once `now(output so far)`
/// says so (or when the command has run for `latest`), and returns the run and how long Terraform took to
/// exit after the signal. A command that ends before the moment comes is returned as it ended.
pub fn interrupted(
    w: &Workdir,
    args: &[&str],
    latest: Duration,
    mut now: impl FnMut(&str) -> bool,
) -> (Run, Option<Duration>) {
    let out_path = w.path().join("interrupted.out");
    let out = std::fs::File::create(&out_path).expect("output file");
    let mut cmd = w.command(args);
    cmd.stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .stdin(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("terraform");
    let started = Instant::now();
    let read_output = || std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut sent: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if sent.is_none() && (now(&read_output()) || started.elapsed() >= latest) {
            let kill = std::process::Command::new("kill")
                .args(["-s", "INT", "--", &format!("-{}", child.id())])
                .status()
                .expect("kill");
            assert!(kill.success(), "SIGINT to the process group");
            sent = Some(Instant::now());
        }
        if let Some(at) = sent {
            if at.elapsed() > EXIT_BOUND {
                let _ = std::process::Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.wait();
                panic!(
                    "terraform {args:?} did not exit within {EXIT_BOUND:?} of SIGINT:\n{}",
                    read_output()
                );
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: read_output(),
        stderr: String::new(),
    };
    (run, sent.map(|at| at.elapsed()))
}
