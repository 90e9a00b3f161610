//! `test-oom`: allocates and touches memory without bound in `evaluate` (or in `init` when its
//! configuration is the JSON string `"init"`), so the host's memory limit must stop it.
//! When the host refuses to grow memory, the allocator aborts, which traps.

use sluice_policy_sdk::prelude::*;

/// The plugin.
struct Hog;

/// Keeps 1 MiB chunks, each written to so that every page is really used.
fn hog_forever() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for (i, byte) in chunk.iter_mut().enumerate().step_by(4096) {
            *byte = (i % 251) as u8 | 1;
        }
        chunks.push(std::hint::black_box(chunk));
    }
}

impl Policy for Hog {
    fn init(config: &str) -> Result<Self, String> {
        if config.trim() == "\"init\"" {
            hog_forever();
        }
        Ok(Hog)
    }

    fn evaluate(&self, _query: &Query) -> Decision {
        hog_forever()
    }
}

sluice_policy_sdk::export_policy!(Hog);
