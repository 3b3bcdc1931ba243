// A #[task_end] handler takes the task's output instead of `Result<T, TaskError>`.
use fauxtp::prelude::*;

struct Fetcher {
    pages: Vec<String>,
}

#[genserver]
impl Fetcher {
    fn init() -> Self {
        Fetcher { pages: Vec::new() }
    }

    #[task_end]
    fn fetched(&mut self, page: String) {
        self.pages.push(page);
    }
}

fn main() {}
