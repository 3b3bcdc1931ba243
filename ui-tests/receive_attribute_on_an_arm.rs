// An arm of receive! carries an attribute.
use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        #[cfg(debug_assertions)]
        0 => println!("zero"),
        n => println!("{n}"),
    });
}

fn main() {}
