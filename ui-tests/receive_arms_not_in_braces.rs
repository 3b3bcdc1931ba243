// The arms of receive! are not in braces.
use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, n => println!("{n}"));
}

fn main() {}
