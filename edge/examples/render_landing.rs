//! Prints the landing page exactly as the Worker serves it; scripts/edge/build.sh measures it
//! against the size budget.

use edge::pages::static_page;
use edge::routes::Page;

fn main() {
    print!("{}", static_page(Page::Landing).unwrap_or_default());
}
