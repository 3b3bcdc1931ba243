//! Two processes play ping-pong with selective receive, under a monitor.
//!
//! `cargo run --example pingpong`

use std::time::Duration;

use fauxtp::prelude::*;

#[derive(Debug)]
enum Ball {
    Ping { from: Pid<Ball>, hits: u32 },
    Pong { hits: u32 },
    Noise(&'static str),
}

/// Returns every ping until `rounds` have been played, then ends normally.
async fn ponger(mut ctx: Ctx<Ball>, rounds: u32) -> ProcessResult {
    loop {
        receive!(ctx, {
            Ball::Ping { from, hits } => {
                println!("{} got ping #{hits} from {from}", ctx.pid());
                from.send(Ball::Pong { hits })?;
                if hits == rounds {
                    return Ok(());
                }
            }
            after Duration::from_secs(1) => return Err(ExitReason::error("nobody is playing")),
        });
    }
}

/// What the example saw, for `tests/examples.rs` to check.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Pongs received, each for its ping.
    pub pongs: u32,
    /// How the ponger ended.
    pub ponger_ended: ExitReason,
    /// The message the pong receives skipped, still in the mailbox.
    pub left_in_mailbox: &'static str,
}

pub async fn run() -> Report {
    // The caller takes part as a process too, with a detached context.
    let mut me = Ctx::<Ball>::detached();
    let (pong, monitor) = me.spawn_monitor(|ctx| ponger(ctx, 3));

    // Noise arrives first; the pongs below skip it, and it stays in the
    // mailbox, in order, for the receive at the end.
    me.pid().send(Ball::Noise("crowd cheering")).unwrap();

    let mut pongs = 0;
    for hits in 1..=3 {
        pong.send(Ball::Ping {
            from: me.pid(),
            hits,
        })
        .unwrap();
        receive!(me, {
            Ball::Pong { hits: n } if n == hits => println!("{} got pong #{n}", me.pid()),
            after Duration::from_secs(1) => panic!("no pong"),
        });
        pongs += 1;
    }

    let reason = receive!(me, {
        Down(d) if d.monitor == monitor => d.reason,
        after Duration::from_secs(1) => panic!("the ponger did not stop"),
    });
    println!("{pong} ended: {reason}");
    assert_eq!(reason, ExitReason::Normal);

    let noise = receive!(me, {
        Ball::Noise(text) => text,
        after Duration::ZERO => "nothing",
    });
    println!("still in the mailbox: {noise}");
    Report {
        pongs,
        ponger_ended: reason,
        left_in_mailbox: noise,
    }
}

#[tokio::main]
async fn main() {
    run().await;
}
