// A genserver option is written as a list, `name("counter")`, instead of `name = "counter"`.
use fauxtp::prelude::*;

struct Counter;

#[genserver(name("counter"))]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
