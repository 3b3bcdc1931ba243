use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        n => println!("{n}"),
        after => println!("timed out"),
    });
}

fn main() {}
