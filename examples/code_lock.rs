//! The code lock of OTP's gen_statem user's guide, with `#[statem]`.
//!
//! - The lock is `Locked` or `Open`. In `Locked`, each button press is
//!   checked against the code; the right code opens the door.
//! - Entering `Open` (a state enter call) sets a state timeout: the door
//!   relocks by itself after a while, unless the state changes first.
//! - Buttons pressed while the door is open are postponed: they are
//!   handled, in order, once it has locked again.
//! - `main` types a wrong digit, the code, presses a button while the door
//!   is open, and waits for the door to relock: every step is a call, so
//!   it waits on replies, never on a guess.
//!
//! `cargo run --example code_lock`

use std::time::Duration;

use fauxtp::prelude::*;
use fauxtp::statem::{keep, next, EnterCtx, Transition};

/// The lock's states.
#[derive(Debug, Clone, PartialEq)]
pub enum Door {
    Locked,
    Open,
}

/// The state timeout's event: time to lock again.
#[derive(Debug)]
pub struct Relock;

/// The lock's data: the code, what has been typed, and how often it
/// opened.
#[derive(Debug)]
pub struct CodeLock {
    code: Vec<u8>,
    typed: Vec<u8>,
    opened: u32,
    open_for: Duration,
}

#[fauxtp::statem]
impl CodeLock {
    fn init(code: Vec<u8>, open_for: Duration) -> (Door, Self) {
        let lock = CodeLock {
            code,
            typed: Vec::new(),
            opened: 0,
            open_for,
        };
        (Door::Locked, lock)
    }

    /// Runs each time the door opens: it will lock again by itself.
    #[enter(Door::Open)]
    fn opened(&mut self, ctx: &mut EnterCtx<'_, Self>) {
        self.opened += 1;
        println!("[lock] open for {:?}", self.open_for);
        ctx.state_timeout(self.open_for, Relock);
    }

    #[enter(Door::Locked)]
    fn locked(&mut self) {
        println!("[lock] locked");
        self.typed.clear();
    }

    /// A button press; replies whether it opened the door. While the door
    /// is open, presses wait for it to lock again.
    #[call(Door::Locked)]
    #[postpone(Door::Open)]
    fn button(&mut self, digit: u8) -> Transition<Door, bool> {
        self.typed.push(digit);
        if self.typed == self.code {
            return next(Door::Open).reply(true);
        }
        if !self.code.starts_with(&self.typed) {
            println!("[lock] wrong code, starting over");
            self.typed.clear();
        }
        keep().reply(false)
    }

    #[info(Door::Open)]
    fn relock(&mut self, _relock: Relock) -> Transition<Door> {
        next(Door::Locked)
    }

    /// How often the door has opened, in any state.
    #[call(_)]
    fn times_opened(&mut self) -> Transition<Door, u32> {
        keep().reply(self.opened)
    }
}

/// What the example saw, for `tests/examples.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Replies to the presses of `9, 1, 2, 3`.
    pub presses: Vec<bool>,
    /// The reply to the press made while the door was open.
    pub postponed_press: bool,
    /// How often the door opened.
    pub opened: u32,
}

/// Runs the example with the door open for `open_for`.
pub async fn run(open_for: Duration) -> Report {
    let lock = CodeLock::start((vec![1, 2, 3], open_for))
        .await
        .expect("the lock starts");
    let mut presses = Vec::new();
    for digit in [9, 1, 2, 3] {
        let opened = lock.button(digit).await.expect("the lock answers");
        println!(
            "[main] pressed {digit}: {}",
            if opened { "open!" } else { "still locked" }
        );
        presses.push(opened);
    }
    // The door is open: this press waits until it has locked again, then
    // starts a new code.
    let postponed_press = lock
        .button(1)
        .timeout(open_for * 4)
        .await
        .expect("the press is handled once the door has locked");
    println!("[main] the press made while open was handled after relocking");
    let opened = lock.times_opened().await.expect("the lock answers");
    fauxtp::genserver::stop(&lock, ExitReason::Shutdown, Duration::from_secs(5))
        .await
        .expect("the lock stops");
    Report {
        presses,
        postponed_press,
        opened,
    }
}

#[tokio::main]
async fn main() {
    let report = run(Duration::from_secs(2)).await;
    assert_eq!(report.presses, [false, false, false, true]);
    println!("{report:?}");
}
