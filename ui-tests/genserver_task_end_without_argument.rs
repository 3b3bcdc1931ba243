// A #[task_end] handler does not take the task's result.
use fauxtp::prelude::*;

struct Fetcher {
    done: u32,
}

#[genserver]
impl Fetcher {
    fn init() -> Self {
        Fetcher { done: 0 }
    }

    #[task_end]
    fn fetched(&mut self) {
        self.done += 1;
    }
}

fn main() {}
