// `terminate` has no `self` receiver.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    async fn terminate(reason: &ExitReason) {
        println!("ending: {reason}");
    }
}

fn main() {}
