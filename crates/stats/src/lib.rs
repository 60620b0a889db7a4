#![forbid(unsafe_code)]
//! Pure numbers for rdmabench: parsing what users type (sizes, counts, durations), turning
//! per-iteration samples into the summary every report shows, and the seed table's formatting.

pub mod parse;
pub mod precision;
pub mod quality;
pub mod summary;
pub mod units;

pub use parse::{
    parse_count, parse_duration, parse_percent, parse_size, parse_size_list, sweep_sizes,
    ParseError, SEED_SIZES,
};
pub use precision::{assess, Assessment, Precision, StopReason};
pub use quality::{noise_flags, noise_warning, HostInterference, NoiseFlag, NoiseSign, Quality};
pub use summary::{BandwidthSummary, Figure, LatencySummary, SizeMeasurement};
