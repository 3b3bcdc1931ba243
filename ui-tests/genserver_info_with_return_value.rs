// An #[info] handler returns a value (nobody receives it).
use fauxtp::prelude::*;

struct Tick;

struct Clock {
    ticks: u64,
}

#[genserver]
impl Clock {
    fn init() -> Self {
        Clock { ticks: 0 }
    }

    #[info]
    fn tick(&mut self, _tick: Tick) -> u64 {
        self.ticks += 1;
        self.ticks
    }
}

fn main() {}
