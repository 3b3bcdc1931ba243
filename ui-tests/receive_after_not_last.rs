use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        after std::time::Duration::from_secs(1) => (),
        n => println!("{n}"),
    });
}

fn main() {}
