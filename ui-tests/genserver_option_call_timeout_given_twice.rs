// The genserver option `call_timeout` is given twice on the impl block.
use fauxtp::prelude::*;

struct Counter;

#[genserver(call_timeout = "1s", call_timeout = "5s")]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
