// The genserver option `trace` is given twice on the impl block.
use fauxtp::prelude::*;

struct Counter;

#[genserver(trace, trace)]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
