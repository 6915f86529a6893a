//! The console's files, compiled into the binary: it needs no CDN and works offline.

#[derive(Clone, Copy)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

pub const INDEX: Asset = Asset {
    content_type: HTML,
    body: include_bytes!("assets/index.html"),
};

/// Every file under `/console/assets/`.
const FILES: &[(&str, Asset)] = &[
    (
        "console.js",
        Asset {
            content_type: JS,
            body: include_bytes!("assets/console.js"),
        },
    ),
    (
        "graph.js",
        Asset {
            content_type: JS,
            body: include_bytes!("assets/graph.js"),
        },
    ),
    (
        "console.css",
        Asset {
            content_type: CSS,
            body: include_bytes!("assets/console.css"),
        },
    ),
    (
        "vendor/elk-0.12.1.bundled.js",
        Asset {
            content_type: JS,
            body: include_bytes!("assets/vendor/elk-0.12.1.bundled.js"),
        },
    ),
];

pub fn find(path: &str) -> Option<Asset> {
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, asset)| *asset)
}
