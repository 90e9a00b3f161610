//! `test-loop`: never returns from `evaluate` (or from `init` when its configuration is the
//! JSON string `"init"`), so the host's deadline must stop it.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct Spin;

/// Loops forever; `black_box` keeps the optimiser from proving the loop useless.
fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

impl Policy for Spin {
    fn init(config: &str) -> Result<Self, String> {
        if config.trim() == "\"init\"" {
            spin_forever();
        }
        Ok(Spin)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        spin_forever()
    }
}

sluice_policy_sdk::export_policy!(Spin);
