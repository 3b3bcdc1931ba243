use fauxtp::prelude::*;

struct Holder<T> {
    value: Option<T>,
}

#[genserver(remote)]
impl<T: Send + 'static> Holder<T> {
    fn init() -> Self {
        Holder { value: None }
    }

    #[call]
    fn has(&self) -> bool {
        self.value.is_some()
    }
}

fn main() {}
