use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[cast]
    fn get(&mut self) {
        self.count = 0;
    }
}

fn main() {}
