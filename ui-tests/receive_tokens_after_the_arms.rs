// The `after` arm is written after the braces of receive! instead of inside them.
use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        n => println!("{n}"),
    }, after std::time::Duration::from_secs(1) => ());
}

fn main() {}
