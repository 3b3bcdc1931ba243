// The genserver option `name` is given twice on the impl block.
use fauxtp::prelude::*;

struct Counter;

#[genserver(name = "counter", name = "counter2")]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
