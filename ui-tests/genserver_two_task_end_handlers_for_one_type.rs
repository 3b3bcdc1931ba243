// Two #[task_end] handlers take the result of tasks with the same output type.
use fauxtp::prelude::*;

struct Fetcher {
    total: u64,
}

#[genserver]
impl Fetcher {
    fn init() -> Self {
        Fetcher { total: 0 }
    }

    #[task_end]
    fn counted(&mut self, result: Result<u64, TaskError>) {
        self.total += result.unwrap_or(0);
    }

    #[task_end]
    fn summed(&mut self, result: Result<u64, TaskError>) {
        self.total += result.unwrap_or(0);
    }
}

fn main() {}
