// `terminate` does not take the exit reason.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    async fn terminate(&mut self) {
        println!("ending at {}", self.count);
    }
}

fn main() {}
