use fauxtp::prelude::*;

struct Counter;

#[genserver(timeout = "1s")]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
