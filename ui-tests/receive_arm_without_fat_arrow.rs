use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        n if n > 1 println!("{n}"),
    });
}

fn main() {}
