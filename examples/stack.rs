//! The smallest GenServer: a stack of strings with `push` and `pop`.
//!
//! A rendering of the Python library's `examples/human/stack.py`. It shows the
//! three parts every GenServer has:
//!
//! - state owned by one process (`Stack`): no lock, one request at a time;
//! - a cast, `push`, which sends and returns at once;
//! - a call, `pop`, which waits for its reply.
//!
//! Popping an empty stack is not a crash. `pop` replies with a typed error,
//! `EmptyStack`, that the caller handles, and the server goes on serving. The
//! caller sees two layers of `Result`: the outer `CallError` says the call
//! itself failed (the server is gone, or did not answer in time), the inner
//! one is the server's answer.
//!
//! `cargo run --example stack`

use std::fmt;
use std::time::Duration;

use fauxtp::prelude::*;

/// What `pop` answers when there is nothing to pop: an ordinary error value,
/// sent back as the reply. (A panic in the handler would end the server
/// instead; see the `counter` example.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyStack;

impl fmt::Display for EmptyStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the stack is empty")
    }
}

impl std::error::Error for EmptyStack {}

/// The server's state. It lives in the server's process, so handlers change
/// it through `&mut self`, one message at a time.
struct Stack {
    /// The top of the stack is the end of the vector.
    items: Vec<String>,
}

#[genserver]
impl Stack {
    /// Starts with comma-separated elements, the first one on top, as the
    /// Python's `Stack.start(elements="hello,world")`.
    fn init(elements: &'static str) -> Self {
        let items = elements
            .split(',')
            .filter(|item| !item.is_empty())
            .rev()
            .map(str::to_owned)
            .collect();
        Stack { items }
    }

    /// A cast: the sender does not wait, and learns nothing of the outcome.
    #[cast]
    fn push(&mut self, item: String) {
        self.items.push(item);
    }

    /// A call: the return value is the reply. An empty stack is an answer,
    /// not a failure of the server.
    #[call]
    fn pop(&mut self) -> Result<String, EmptyStack> {
        self.items.pop().ok_or(EmptyStack)
    }

    /// How many items the stack holds.
    #[call]
    fn depth(&self) -> usize {
        self.items.len()
    }
}

/// What the example checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The items popped, in order.
    pub popped: Vec<String>,
    /// How many pops found the stack empty.
    pub empty_pops: usize,
    /// Items left on the stack at the end.
    pub left: usize,
}

/// Pops once and prints the answer.
async fn pop(stack: &Pid<StackMsg>) -> Result<String, EmptyStack> {
    // The outer `Result` is the call's: `expect` it, since this server is
    // running. The inner one is the stack's answer, which we keep.
    let answer = stack
        .pop()
        .timeout(Duration::from_secs(1))
        .await
        .expect("the stack server runs and answers within 1 s");
    match &answer {
        Ok(item) => println!("pop       -> {item:?}"),
        Err(error) => println!("pop       -> error: {error}"),
    }
    answer
}

/// Pushes one item (a cast: nothing to wait for).
fn push(stack: &Pid<StackMsg>, item: &str) {
    stack
        .push(item.to_owned())
        .expect("the stack server runs, so its mailbox is open");
    println!("push {item:?}");
}

/// Runs the example: prints what happens, checks it, returns the figures.
pub async fn run() -> Report {
    println!("=== stack: the smallest GenServer ===");
    let stack = Stack::start("hello,world").await.expect("the stack starts");
    println!("started {stack} holding [hello, world], hello on top");

    let mut answers = Vec::new();
    answers.push(pop(&stack).await); // hello

    // Casts and calls from one sender are handled in the order they were
    // sent, so the pop below sees the push.
    push(&stack, "fauxtp");
    answers.push(pop(&stack).await); // fauxtp
    answers.push(pop(&stack).await); // world

    // Empty now: the caller gets `Err(EmptyStack)`, and the server runs on.
    answers.push(pop(&stack).await);
    push(&stack, "again");
    answers.push(pop(&stack).await); // again

    let left = stack.depth().await.expect("the stack server answers");
    println!("depth     -> {left}");

    // Stop the server and wait until it has ended. A call now fails with
    // the outer error: there is no server left to answer.
    genserver::stop(&stack, ExitReason::Shutdown, Duration::from_secs(1))
        .await
        .expect("the stack stops within 1 s");
    let after = stack
        .pop()
        .await
        .expect_err("a stopped server cannot answer");
    println!("after stop: {after}");

    let mut popped = Vec::new();
    let mut empty_pops = 0;
    for answer in answers {
        match answer {
            Ok(item) => popped.push(item),
            Err(EmptyStack) => empty_pops += 1,
        }
    }
    let report = Report {
        popped,
        empty_pops,
        left,
    };
    assert_eq!(report.popped, ["hello", "fauxtp", "world", "again"]);
    assert_eq!(report.empty_pops, 1, "one pop found the stack empty");
    assert_eq!(report.left, 0);
    println!(
        "popped {:?}, {} empty pop, {} left",
        report.popped, report.empty_pops, report.left
    );
    report
}

#[tokio::main]
async fn main() {
    run().await;
}
