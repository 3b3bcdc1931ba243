use fauxtp::prelude::*;

async fn body(queue: Vec<u32>) {
    receive!(queue, {
        n => println!("{n}"),
    });
}

fn main() {}
