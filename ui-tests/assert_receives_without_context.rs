// assert_receives! is given no context before the pattern.
use fauxtp::prelude::*;

#[derive(Debug)]
enum Msg {
    Pong(u32),
}

async fn check() {
    assert_receives!(, Msg::Pong(n));
}

fn main() {}
