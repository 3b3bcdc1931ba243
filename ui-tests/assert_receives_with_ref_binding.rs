// assert_receives! binds part of the message with `ref`.
use fauxtp::prelude::*;

#[derive(Debug)]
enum Msg {
    Text(String),
}

async fn check(mut ctx: Ctx<Msg>) {
    assert_receives!(ctx, Msg::Text(ref text));
}

fn main() {}
