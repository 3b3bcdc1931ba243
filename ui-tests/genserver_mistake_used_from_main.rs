// A GenServer with one mistake (a #[cast] that returns a value), used from main as a user would.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init(start: u64) -> Self {
        Counter { count: start }
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }

    #[cast]
    fn reset(&mut self) -> u64 {
        std::mem::take(&mut self.count)
    }
}

#[tokio::main]
async fn main() {
    let counter = Counter::start(0).await.unwrap();
    let count = counter.get().await.unwrap();
    let _m: Option<CounterMsg> = None;
    println!("{count}");
}
