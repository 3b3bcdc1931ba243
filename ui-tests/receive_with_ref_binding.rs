use fauxtp::prelude::*;

async fn body(mut ctx: Ctx<String>) {
    receive!(ctx, {
        ref text => println!("{text}"),
    });
}

fn main() {}
