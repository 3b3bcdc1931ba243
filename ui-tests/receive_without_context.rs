use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<u32>) {
    receive!({
        n => println!("{n}"),
    });
}

fn main() {}
