// A GenServer's impl block has a lifetime parameter: the server cannot borrow.
use fauxtp::prelude::*;

struct Greeter<'a> {
    greeting: &'a str,
}

#[genserver]
impl<'a> Greeter<'a> {
    fn init() -> Self {
        Greeter { greeting: "hello" }
    }

    #[call]
    fn greet(&self) -> String {
        self.greeting.to_owned()
    }
}

fn main() {}
