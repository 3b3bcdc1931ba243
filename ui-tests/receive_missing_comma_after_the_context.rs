// The context of receive! is followed by `;` instead of a comma.
use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx; {
        n => println!("{n}"),
    });
}

fn main() {}
