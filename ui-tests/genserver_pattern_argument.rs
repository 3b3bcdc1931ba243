use fauxtp::prelude::*;

struct Canvas;

#[genserver]
impl Canvas {
    fn init() -> Self {
        Canvas
    }

    #[cast]
    fn draw(&mut self, (x, y): (i32, i32)) {
        let _ = (x, y);
    }
}

fn main() {}
