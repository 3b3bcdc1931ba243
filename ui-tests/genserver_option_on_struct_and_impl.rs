use fauxtp::prelude::*;

#[genserver(name = "counter")]
struct Counter;

#[genserver(name = "other")]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
