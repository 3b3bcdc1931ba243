//! `fauxtp::application`: a tree run as the program, stopped in order on a
//! signal or when its work is done, with an outcome that says how it ended.

mod common;

use std::process::Stdio;
use std::time::Duration;

use fauxtp::application::{self, Stopped};
use fauxtp::prelude::*;
use fauxtp::supervisor::{Strategy, Supervisor, SupervisorSpec};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A server that says when its `terminate` runs.
struct Worker {
    report: Pid<String>,
    label: &'static str,
}

#[genserver]
impl Worker {
    fn init(report: Pid<String>, label: &'static str) -> Self {
        Worker { report, label }
    }

    #[cast]
    fn crash(&mut self) {
        panic!("the worker crashed");
    }

    fn terminate(&mut self, reason: &ExitReason) {
        let _ = self.report.send(format!("{} {reason}", self.label));
    }
}

fn spec(report: &Pid<String>) -> SupervisorSpec {
    SupervisorSpec::new(Strategy::OneForOne)
        .intensity(0, Duration::from_secs(5))
        .child(Worker::child((report.clone(), "first")).id("first"))
        .child(Worker::child((report.clone(), "second")).id("second"))
}

#[tokio::test]
async fn a_trigger_stops_the_tree_in_order_and_cleanly() {
    let mut me = Ctx::<String>::detached();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(application::run_with_trigger(
        Supervisor::start(spec(&me.pid())),
        |_| std::future::pending(),
        async {
            let _ = stopped.await;
        },
    ));
    stop.send(()).unwrap();
    let outcome = run.await.unwrap();
    assert!(outcome.is_clean(), "{outcome}");
    // Last started, first stopped, each with its terminate.
    assert_eq!(common::next(&mut me).await, "second shutdown");
    assert_eq!(common::next(&mut me).await, "first shutdown");
}

#[tokio::test]
async fn the_tree_stops_when_the_work_is_done() {
    let mut me = Ctx::<String>::detached();
    let outcome = application::run_until(Supervisor::start(spec(&me.pid())), |tree| async move {
        assert_eq!(tree.which_children().await.unwrap().len(), 2);
    })
    .await;
    assert!(matches!(outcome, Stopped::Clean), "{outcome}");
    assert_eq!(outcome.exit_code(), std::process::ExitCode::SUCCESS);
    assert_eq!(common::next(&mut me).await, "second shutdown");
}

#[tokio::test]
async fn a_tree_that_gives_up_is_the_outcome() {
    let me = Ctx::<String>::detached();
    let outcome = application::run(async {
        let tree = Supervisor::start(spec(&me.pid())).await?;
        let first: Pid<WorkerMsg> = tree
            .which_children()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.id == "first")
            .and_then(|c| c.pid)
            .and_then(|pid| pid.downcast())
            .unwrap();
        // No restart is allowed: the supervisor gives up.
        first.crash().unwrap();
        Ok(tree)
    })
    .await;
    assert!(matches!(outcome, Stopped::TreeEnded(_)), "{outcome}");
    assert_eq!(outcome.exit_code(), std::process::ExitCode::FAILURE);
}

/// A child whose `init` fails.
struct Broken;

#[genserver]
impl Broken {
    fn init() -> Result<Self, ExitReason> {
        Err(ExitReason::error("no config"))
    }
}

#[tokio::test]
async fn a_tree_that_does_not_start_is_the_outcome() {
    let spec = SupervisorSpec::new(Strategy::OneForOne).child(Broken::child(()).id("broken"));
    let outcome = application::run(Supervisor::start(spec)).await;
    assert!(matches!(outcome, Stopped::StartFailed(_)), "{outcome}");
    assert!(outcome.to_string().contains("did not start"), "{outcome}");
}

/// The observer example, built by `cargo test` beside this test.
fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = debug.join("examples").join(name);
    assert!(path.exists(), "{} is built by `cargo test`", path.display());
    path
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_a_program_cleanly_with_a_zero_exit() {
    let mut child = tokio::process::Command::new(example("observer"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = fauxtp::testing::with_timeout(common::WAIT, lines.next_line())
        .await
        .expect("the example starts")
        .unwrap()
        .unwrap();
    assert!(
        first.starts_with("observer on http://127.0.0.1:"),
        "{first}"
    );
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = fauxtp::testing::with_timeout(common::WAIT, child.wait())
        .await
        .expect("the example stops on SIGTERM")
        .unwrap();
    let last = lines.next_line().await.unwrap().unwrap_or_default();
    assert_eq!(last, "stopped: the application stopped cleanly");
    assert!(status.success(), "{status}");
}
