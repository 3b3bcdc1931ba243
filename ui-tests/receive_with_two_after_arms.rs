use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!(ctx, {
        n => println!("{n}"),
        after std::time::Duration::from_secs(1) => (),
        after std::time::Duration::from_secs(2) => (),
    });
}

fn main() {}
